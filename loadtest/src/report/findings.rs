//! The findings: which of them (what the numbers say beyond met or missed)
//! the results hold evidence for, and the run-wide figures of the Setup and
//! Memory sections. The templates word them; why they come out so is
//! docs/FINDINGS.md's business.

use super::targets::find;
use super::WaitingRun;
use super::{Found, Results};
use crate::results::{Cost, Envelope, FanoutResult, LoadAvg};

/// Which of the findings (templates/benchmarks.md.j2 words them) the
/// results hold evidence for: "seam" (SSE deliveries across a reconnect),
/// "first_message" (a quiet room's first message), "send_time" (where a
/// send's time goes).
pub fn findings(r: &Results) -> Vec<&'static str> {
    let mut out = Vec::new();
    if let Ok(v) = find(&r.fanout_sse, 50) {
        // The share of seam-crossing messages is steadier over the long run.
        let seam = r.fanout_sse_long.get().unwrap_or(v);
        if seam.result.delivery.delivery_across_reconnect_ms.count > 0 {
            out.push("seam");
        }
        if v.result.warmup_delivery_ms.count > 0 {
            out.push("first_message");
        }
    }
    if let Ok(v) = find(&r.send, 4) {
        let v = &v.result;
        if v.latency_ms.count > 0 && v.health_baseline_ms.count > 0 && v.d1_ms.count > 0 {
            out.push("send_time");
        }
    }
    out
}

/// When both an empty room and one with read history were measured and
/// rows read grow with the room: the room's messages, and how many more rows
/// a call read per message in it, and per query.
pub fn history_growth(waiting: &[Found<WaitingRun>]) -> Option<(f64, f64, f64)> {
    let runs: Vec<&WaitingRun> = waiting.iter().filter_map(|f| f.get().ok()).collect();
    let empty = runs.iter().find(|v| v.params.history == 0)?;
    let full = runs.iter().find(|v| v.params.history > 0)?;
    let history = f64::from(full.params.history);
    let extra = full.result.rows_read_per_call? - empty.result.rows_read_per_call?;
    let per_message = extra / history;
    let per_query = per_message / full.result.queries_per_call?.max(1.0);
    // Half a row per message or less is noise, not growth.
    (per_message >= 0.5).then_some((history, per_message, per_query))
}

/// One measured run, whatever its scenario: whether it is a latency run
/// (the mention scenarios run alongside, not counted in the noise), its load
/// average, its cost, and the D1 queries its completed streams reported in
/// their goodbyes.
type Phase<'a> = (bool, &'a LoadAvg, &'a Cost, u64);

fn phases(r: &Results) -> Vec<Phase<'_>> {
    fn of<P, R>(
        f: &Found<Envelope<P, R>>,
        latency: bool,
        streams: fn(&R) -> u64,
    ) -> Option<Phase<'_>> {
        let v = f.get().ok()?;
        Some((latency, &v.load_avg, &v.cost, streams(&v.result)))
    }
    let fanout = |x: &FanoutResult| x.delivery.streams.queries_in_completed_streams;
    let fanouts = r.fanout_sse.iter().chain(&r.fanout_ws).map(|(_, f)| f);
    let fanouts = fanouts.chain([&r.fanout_sse_immediate, &r.fanout_sse_long]);
    r.send
        .iter()
        .map(|(_, f)| of(f, true, |_| 0))
        .chain(fanouts.map(|f| of(f, true, fanout)))
        .chain([
            of(&r.history, true, |_| 0),
            of(&r.idle, true, |x| x.streams.queries_in_completed_streams),
            of(&r.soak, true, |x| {
                x.delivery.streams.queries_in_completed_streams
            }),
            of(&r.mentions.wake, false, |_| 0),
        ])
        .chain(r.mentions.waiting.iter().map(|f| of(f, false, |_| 0)))
        .flatten()
        .collect()
}

/// The 1-minute load average at the start and end of each latency run: its
/// median, least and most, and how many samples (none when not sampled).
pub fn load_range(r: &Results) -> Option<(f64, f64, f64, usize)> {
    let samples: Vec<f64> = phases(r)
        .iter()
        .filter(|p| p.0)
        .flat_map(|p| [p.1.start, p.1.end])
        .flatten()
        .map(|a| a[0])
        .collect();
    let min = samples.iter().copied().reduce(f64::min)?;
    let max = samples.iter().copied().reduce(f64::max)?;
    Some((crate::stats::median(&samples)?, min, max, samples.len()))
}

/// D1 queries and requests across every measured phase: Server-Timing of
/// every response, plus each completed event stream's `bye queries=N`.
pub fn d1_totals(r: &Results) -> (u64, u64) {
    phases(r)
        .iter()
        .fold((0, 0), |(q, n), (_, _, cost, streams)| {
            (q + cost.d1_queries + streams, n + cost.requests)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::render;
    use crate::report::targets::tests::{missing, ran, results};
    use serde_json::json;

    #[test]
    fn findings_are_computed_from_the_numbers() {
        let mut r = results();
        assert_eq!(findings(&r), ["send_time"]);
        let md = render::benchmarks(&r).unwrap();
        let send =
            "1. **Where a send's time goes (4 senders, medians).** POST 4.0 ms = runner and \
                    runtime path 1.0 ms (GET /api/health from 4 clients) + D1 2.0 ms \
                    (Server-Timing) + the rest 1.0 ms.\n";
        assert!(md.contains(send), "{md}");
        r.fanout_sse[0].1 = ran(json!({"params": {"seconds": 20}, "result": {
            "delivery_ms": {"p99": 520.0, "count": 100},
            "delivery_connected_ms": {"p50": 250.0},
            "delivery_across_reconnect_ms": {"count": 5, "p50": 300.0, "max": 500.0},
            "warmup_delivery_ms": {"count": 50, "p50": 150.0, "max": 450.0},
            "streams": {"retry_after_bye_ms": 100.0}}}));
        assert_eq!(findings(&r), ["seam", "first_message", "send_time"]);
        let md = render::benchmarks(&r).unwrap();
        for text in [
            "1. **The SSE seam.** Over 20 s, 5.0% of SSE",
            "(max 500 ms) against 250 ms for the rest. Streams",
            "asked for `retry: 100`.\n2. **A room's first",
            "after 450 ms (p50 150 ms)",
        ] {
            assert!(md.contains(text), "{text} in {md}");
        }
    }

    #[test]
    fn notices_rows_read_growing_with_the_room() {
        let run = |history: u32, rows: f64| {
            ran(json!({"params": {"history": history},
                "result": {"rows_read_per_call": rows, "queries_per_call": 28.0}}))
        };
        let (h, per_message, per_query) =
            history_growth(&[run(0, 245.0), run(1000, 27_245.0)]).unwrap();
        assert_eq!(h, 1000.0);
        assert!((per_message - 27.0).abs() < 1e-9);
        assert!((per_query - 27.0 / 28.0).abs() < 1e-9);
        // Flat cost, or one side missing: no growth.
        assert_eq!(history_growth(&[run(0, 245.0), run(1000, 250.0)]), None);
        assert_eq!(history_growth(&[run(0, 245.0), missing("x")]), None);
    }
}
