//! What a run prints: one JSON object on stdout (always), and on a terminal a
//! summary (loadtest/templates/summary.txt.j2) and a progress bar on stderr.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use crate::client::Client;
use crate::results::{Envelope, LoadAvg};
use crate::scenarios::{Ctx, Report};

/// The 1, 5 and 15 minute load averages (Linux), or `None` elsewhere.
pub fn loadavg() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    parse_loadavg(&text)
}

pub fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut it = text.split_whitespace().map(|s| s.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// A progress bar over `len` steps on stderr, hidden when stderr is not a
/// terminal.
pub fn progress(len: u64, prefix: &str) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr_with_hz(4)
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>10} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(prefix.to_owned());
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

/// Moves `bar` along the seconds from `start` until `end`, `message()`
/// beside it.
pub async fn tick(bar: &ProgressBar, start: Instant, end: Instant, message: impl Fn() -> String) {
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(250).min(end - Instant::now())).await;
        bar.set_position(start.elapsed().as_secs());
        bar.set_message(message());
    }
}

/// A scenario's run so far: what its envelope (crate::results) says
/// besides its params and result.
pub struct Run {
    pub scenario: &'static str,
    pub url: String,
    pub runner: String,
    pub started_unix: f64,
    pub load_start: Option<[f64; 3]>,
}

fn unix_now() -> f64 {
    crate::content::now_us() as f64 / 1e6
}

impl Run {
    pub fn start(scenario: &'static str, ctx: &Ctx) -> Run {
        Run {
            scenario,
            url: ctx.client.base.as_str().trim_end_matches('/').to_owned(),
            runner: ctx.runner.clone(),
            started_unix: unix_now(),
            load_start: loadavg(),
        }
    }

    /// A scenario's end: the one JSON object it prints, its typed params and
    /// result in the common envelope with what the measured client's
    /// requests cost.
    pub fn report<P: Serialize, R: Serialize>(
        &self,
        ok: bool,
        notes: &[String],
        params: P,
        result: R,
        client: &Client,
    ) -> Report {
        let envelope = Envelope {
            scenario: self.scenario.to_owned(),
            ok,
            url: self.url.clone(),
            runner: self.runner.clone(),
            started_unix: self.started_unix.floor(),
            duration_s: ((unix_now() - self.started_unix) * 10.0).round() / 10.0,
            load_avg: LoadAvg {
                start: self.load_start,
                end: loadavg(),
            },
            params,
            result,
            cost: client.cost.totals(),
            notes: notes.to_vec(),
        };
        let json = serde_json::to_value(envelope).unwrap_or_default();
        Report { json, ok }
    }
}

/// Prints the JSON on stdout and, on a terminal, its summary on stderr
/// (loadtest/templates/summary.txt.j2).
pub fn emit(json: &Value) {
    if std::io::stderr().is_terminal() {
        match crate::report::render::summary(json) {
            Ok(text) => eprintln!("{text}"),
            Err(e) => eprintln!("(no summary: {e})"),
        }
    }
    println!("{json}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_loadavg() {
        assert_eq!(
            parse_loadavg("0.52 1.03 0.99 2/345 6789\n"),
            Some([0.52, 1.03, 0.99])
        );
        assert_eq!(parse_loadavg("garbage"), None);
    }
}
