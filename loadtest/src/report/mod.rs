//! `report`: turns a directory of results (what scripts/bench.sh collects)
//! into docs/BENCHMARKS.md, in three steps:
//!
//! - loading (this module): each result file into its type from
//!   crate::results, or why it is missing;
//! - checks ([`targets`]): each target's verdict, and ([`findings`]) which
//!   findings the results hold evidence for and the run-wide figures;
//! - rendering ([`render`]): the templates in loadtest/templates, which write
//!   the goals, measures, reasons and findings from the same numbers.
//!
//! What the numbers mean for the Worker is not here: a person keeps that
//! true in docs/FINDINGS.md, which the report links to.
//!
//! The directory holds one JSON object per scenario run, named
//! `send-<N>.json`, `fanout-<sse|ws>-<L>.json`, `history.json`, `idle.json`,
//! `soak.json`, `wake.json`, `waiting.json`, `waiting-history.json`, each
//! possibly with a `.err` beside it holding what the run printed on stderr,
//! and `meta.json` with what only the script knows (runner, machine, memory,
//! bundle size, commands).

pub mod findings;
pub mod render;
pub mod targets;

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::results::{
    Envelope, FanoutResult, HistoryResult, IdleResult, Meta, SendResult, SoakResult, WaitingResult,
    WakeResult,
};
use crate::scenarios::{
    fanout::FanoutArgs, history::HistoryArgs, idle::IdleArgs, send::SendArgs, soak::SoakArgs,
    waiting::WaitingArgs, wake::WakeArgs,
};

/// Each scenario's run as the report reads it: its arguments (the clap
/// structs, which are also its params) and its result.
pub type SendRun = Envelope<SendArgs, SendResult>;
pub type FanoutRun = Envelope<FanoutArgs, FanoutResult>;
pub type HistoryRun = Envelope<HistoryArgs, HistoryResult>;
pub type IdleRun = Envelope<IdleArgs, IdleResult>;
pub type SoakRun = Envelope<SoakArgs, SoakResult>;
pub type WakeRun = Envelope<WakeArgs, WakeResult>;
pub type WaitingRun = Envelope<WaitingArgs, WaitingResult>;

#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// The results directory.
    #[arg(long)]
    pub results: PathBuf,
    /// Where to write the markdown (stdout when absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only the mentions section, from wake.json and waiting*.json (no
    /// meta.json needed): what `scripts/bench.sh --mentions` prints.
    #[arg(long)]
    pub mentions_only: bool,
}

/// One scenario's outcome as found on disk. Serialized for the templates as
/// `{"ran": …}` or `{"missing": "why"}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Found<T> {
    Ran(T),
    /// It did not produce a result: why (the end of its stderr), or a
    /// reason the script recorded for skipping it.
    Missing(String),
}

impl<T> Found<T> {
    /// The run, or why there is none.
    pub fn get(&self) -> Result<&T, String> {
        match self {
            Found::Ran(v) => Ok(v),
            Found::Missing(w) => Err(w.clone()),
        }
    }
}

/// Everything the report is made from.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub meta: Meta,
    pub send: Vec<(u32, Found<SendRun>)>,
    pub fanout_sse: Vec<(u32, Found<FanoutRun>)>,
    pub fanout_ws: Vec<(u32, Found<FanoutRun>)>,
    /// Diagnostic: 50 SSE listeners reconnecting at once (no retry wait).
    pub fanout_sse_immediate: Found<FanoutRun>,
    /// Diagnostic: 50 SSE listeners for three times as long (steady state).
    pub fanout_sse_long: Found<FanoutRun>,
    pub history: Found<HistoryRun>,
    pub idle: Found<IdleRun>,
    pub soak: Found<SoakRun>,
    pub mentions: Mentions,
}

/// The mentions section's runs: wake latency and a waiting agent's cost.
#[derive(Debug, Clone, Serialize)]
pub struct Mentions {
    pub wake: Found<WakeRun>,
    /// A waiting agent in an empty room, and in one with read history.
    pub waiting: [Found<WaitingRun>; 2],
}

/// `dir/name.json` as a `T`; else the reason the script recorded (`skipped`),
/// else the last line of `dir/name.err`.
pub fn load<T: DeserializeOwned>(dir: &Path, name: &str, skipped: Option<&str>) -> Found<T> {
    let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap_or_default();
    let value: Option<serde_json::Value> = serde_json::from_str(text.trim()).ok();
    if let Some(v) = value.filter(|v| v.get("scenario").is_some()) {
        return match serde_json::from_value(v) {
            Ok(run) => Found::Ran(run),
            Err(e) => Found::Missing(format!("{name}.json: {e}")),
        };
    }
    if let Some(reason) = skipped {
        return Found::Missing(reason.to_owned());
    }
    let err = std::fs::read_to_string(dir.join(format!("{name}.err"))).unwrap_or_default();
    let last = err.lines().rev().find(|l| !l.trim().is_empty());
    Found::Missing(last.unwrap_or("no result file").trim().to_owned())
}

/// `dir/prefix-N.json` for each size N.
fn sizes<T: DeserializeOwned>(
    dir: &Path,
    prefix: &str,
    list: &[u32],
    skipped: Option<&str>,
) -> Vec<(u32, Found<T>)> {
    list.iter()
        .map(|&n| (n, load(dir, &format!("{prefix}-{n}"), skipped)))
        .collect()
}

impl Mentions {
    pub fn read(dir: &Path) -> Mentions {
        Mentions {
            wake: load(dir, "wake", None),
            waiting: [
                load(dir, "waiting", None),
                load(dir, "waiting-history", None),
            ],
        }
    }
}

impl Results {
    pub fn read(dir: &Path) -> Result<Results, String> {
        let path = dir.join("meta.json");
        let meta_text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let meta: Meta = serde_json::from_str(&meta_text).map_err(|e| format!("meta.json: {e}"))?;
        let ws_skip = meta.ws_skipped.as_deref();
        // The standard set's sizes (scripts/bench.sh runs these).
        let listeners = [1, 10, 50];
        Ok(Results {
            send: sizes(dir, "send", &[1, 4, 16], None),
            fanout_sse: sizes(dir, "fanout-sse", &listeners, None),
            fanout_ws: sizes(dir, "fanout-ws", &listeners, ws_skip),
            fanout_sse_immediate: load(dir, "fanout-sse-50-immediate", None),
            fanout_sse_long: load(dir, "fanout-sse-50-long", None),
            history: load(dir, "history", None),
            idle: load(dir, "idle", None),
            soak: load(dir, "soak", None),
            mentions: Mentions::read(dir),
            meta,
        })
    }
}

pub fn run(args: &ReportArgs) -> Result<(), String> {
    let md = if args.mentions_only {
        render::mentions(&Mentions::read(&args.results))?
    } else {
        render::benchmarks(&Results::read(&args.results)?)?
    };
    match &args.out {
        Some(path) => std::fs::write(path, md).map_err(|e| format!("{}: {e}", path.display())),
        None => {
            print!("{md}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_results_directory() {
        let dir = std::env::temp_dir().join(format!("lt-report-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in [
            ("meta.json", r#"{"ws_skipped": "paid env absent"}"#),
            (
                "send-4.json",
                r#"{"scenario":"send","result":{"accepted":7}}"#,
            ),
            (
                "send-1.json",
                r#"{"scenario":"send","result":{"accepted":"x"}}"#,
            ),
            ("idle.err", "meet-ai-loadtest: connection refused\n\n"),
        ] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let r = Results::read(&dir).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(targets::find(&r.send, 4).unwrap().result.accepted, 7);
        for (why, want) in [
            (
                targets::find(&r.send, 1).err(),
                "send-1.json: invalid type: string \"x\", expected u64",
            ),
            (r.idle.get().err(), "meet-ai-loadtest: connection refused"),
            (targets::find(&r.fanout_ws, 10).err(), "paid env absent"),
            (r.soak.get().err(), "no result file"),
        ] {
            assert_eq!(why.as_deref(), Some(want));
        }
    }
}
