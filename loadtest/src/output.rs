//! What a run prints: one JSON object on stdout.

use serde::Serialize;

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
