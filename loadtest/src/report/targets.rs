//! The checks: each target's verdict, from the results. The row's goal,
//! measure and reasons are sentences that templates/targets.md.j2 writes
//! from the same numbers; what they mean for the Worker lives in
//! docs/FINDINGS.md.

use serde::Serialize;

use super::FanoutRun;
use super::{Found, Results};

/// The targets of issue 8 (issue 16 for the idle listener's budget), also
/// the goals the targets table states.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Goals {
    pub send_n4_msgs_per_s: f64,
    pub send_n4_p99_ms: f64,
    /// Added to the active poll interval for the SSE p99 target.
    pub sse_p99_slack_ms: f64,
    pub idle_queries_per_s: f64,
    /// 100 always-on listeners beside 20,000 sends a day on the free plan's
    /// 100,000 requests: (100,000 - 20,000) / 100 / 24.
    pub idle_requests_per_hour: f64,
    /// The same 100 listeners within 5,000,000 rows read a day, leaving
    /// ~450,000 for the sends (~15 rows each) and history.
    pub idle_rows_read_per_hour: f64,
    pub ws_p99_ms: f64,
    pub rss_mb: f64,
    pub history_ratio: f64,
    /// The benchmark's 250 KB target, in bytes (256,000); `make bundle-check`
    /// now allows more (see docs/free-tier.md, Bundle).
    pub wasm_gz_bytes: f64,
}

pub const GOALS: Goals = Goals {
    send_n4_msgs_per_s: 400.0,
    send_n4_p99_ms: 30.0,
    sse_p99_slack_ms: 100.0,
    idle_queries_per_s: 1.0,
    idle_requests_per_hour: 33.0,
    idle_rows_read_per_hour: 1_900.0,
    ws_p99_ms: 38.0,
    rss_mb: 300.0,
    history_ratio: 2.0,
    wasm_gz_bytes: 256_000.0,
};

/// One target's verdict: met or missed, or why it was not measured
/// (targets.md.j2 words it).
pub type Check = Result<bool, String>;

/// Every target's verdict, in the order of the targets table, with the
/// figures its reasons quote that no result holds as such.
#[derive(Debug, Clone, Serialize)]
pub struct Checks {
    pub send: Check,
    pub sse: Check,
    pub idle: Check,
    pub ws: Check,
    pub rss: Check,
    pub history: Check,
    pub wasm: Check,
    /// Only when the paid variant was built: its Worker and its room objects.
    pub wasm_paid: Option<Check>,
    pub wasm_rooms: Option<Check>,
    pub soak: Check,
    pub sse_poll_ms: f64,
    /// The SSE p99 limit: the active poll interval plus the slack.
    pub sse_limit_ms: f64,
    /// The `retry:` streams asked for before a planned end.
    pub sse_retry_ms: f64,
    /// Whether the 20 s run alone met the SSE target, and the long run.
    pub sse_met_short: bool,
    pub sse_met_long: bool,
    /// [`across_share`] of the 20 s run and of the long one.
    pub sse_share: f64,
    pub sse_long_share: f64,
}

/// The run for size `n` in a list, or why there is none.
pub(super) fn find<T>(list: &[(u32, Found<T>)], n: u32) -> Result<&T, String> {
    let found = list.iter().find(|(k, _)| *k == n).map(|(_, f)| f);
    found.map_or(Err("not in the set".into()), Found::get)
}

/// Share of deliveries (0..1) of messages sent while a listener was between streams.
pub fn across_share(v: &FanoutRun) -> f64 {
    let d = &v.result.delivery;
    // The across-reconnect deliveries are some of all of them: none when none.
    let (n, a) = (d.delivery_ms.count, d.delivery_across_reconnect_ms.count);
    a as f64 / n.max(1) as f64
}

/// Every target, judged.
pub fn evaluate(r: &Results) -> Checks {
    let g = GOALS;
    let poll = r.meta.sse_active_poll_ms.unwrap_or(500.0);
    let limit = poll + g.sse_p99_slack_ms;
    // Nothing lost, repeated, out of order or unknown to the history.
    let clean = |v: &FanoutRun| v.result.delivery.totals.exactly_once_in_order();
    let sse_ok = |v: &FanoutRun| clean(v) && v.result.delivery.delivery_ms.p99 <= limit;
    let sse = find(&r.fanout_sse, 50);
    let sse_run = sse.as_ref().ok().copied();
    let sse_met_short = sse_run.is_some_and(sse_ok);
    let sse_long = r.fanout_sse_long.get().ok();
    // A long run over the target overturns the 20 s run's verdict.
    let sse_met_long = sse_long.is_none_or(sse_ok);
    let idle = r.idle.get().and_then(|v| {
        let v = &v.result;
        let (Some(q), Some(h)) = (v.d1_queries_per_s, v.requests_per_hour) else {
            return Err("no stream completed a cycle".to_owned());
        };
        let rows = v.rows_read_per_hour;
        Ok(q <= g.idle_queries_per_s
            && h <= g.idle_requests_per_hour
            && rows.is_some_and(|r| r <= g.idle_rows_read_per_hour))
    });
    let history = r.history.get().and_then(|v| {
        let q = &v.result.p50_ratio_largest_to_smallest;
        let worst = [q.latest, q.after, q.before]
            .into_iter()
            .flatten()
            .reduce(f64::max);
        Ok(worst.ok_or("no ratio")? <= g.history_ratio)
    });
    let wasm = |b: f64| Ok(b <= g.wasm_gz_bytes);
    Checks {
        send: find(&r.send, 4).map(|v| {
            let v = &v.result;
            v.accepted_per_s >= g.send_n4_msgs_per_s && v.latency_ms.p99 <= g.send_n4_p99_ms
        }),
        sse: sse.map(|_| sse_met_short && sse_met_long),
        idle,
        ws: find(&r.fanout_ws, 50).map(|v| {
            let d = &v.result.delivery;
            d.totals.lost == 0 && d.delivery_ms.p99 <= g.ws_p99_ms
        }),
        rss: match r.meta.rss_kb.after_load {
            Some(kb) => Ok(kb / 1024.0 <= g.rss_mb),
            None => Err("no RSS sample".into()),
        },
        history,
        wasm: r.meta.wasm_gz_bytes.map_or(Err("no build".into()), wasm),
        wasm_paid: r.meta.wasm_paid_gz_bytes.map(wasm),
        wasm_rooms: r.meta.wasm_rooms_gz_bytes.map(wasm),
        soak: r.soak.get().map(|v| v.ok),
        sse_poll_ms: poll,
        sse_limit_ms: limit,
        sse_retry_ms: sse_run
            .and_then(|v| v.result.delivery.streams.retry_after_bye_ms)
            .or(r.meta.sse_retry_ms)
            .unwrap_or(1000.0),
        sse_met_short,
        sse_met_long,
        sse_share: sse_run.map_or(0.0, across_share),
        sse_long_share: sse_long.map_or(0.0, across_share),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::Mentions;
    use serde_json::json;

    /// A run of any scenario from the JSON it would have printed.
    pub fn ran<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Found<T> {
        Found::Ran(serde_json::from_value(v).unwrap())
    }

    pub fn missing<T>(why: &str) -> Found<T> {
        Found::Missing(why.into())
    }

    pub fn results() -> Results {
        Results {
            meta: serde_json::from_value(json!({"sse_active_poll_ms": 500,
                "rss_kb": {"before": 100_000, "after_load": 200_000},
                "wasm_gz_bytes": 200_000, "machine": {"nproc": 2}}))
            .unwrap(),
            send: vec![(
                4,
                ran(json!({"result": {"accepted_per_s": 550.0,
                    "latency_ms": {"count": 9, "p50": 4.0, "p99": 21.0, "mean": 7.0},
                    "d1_ms": {"count": 9, "p50": 2.0, "p99": 5.0},
                    "health_baseline_ms": {"count": 9, "p50": 1.0},
                    "d1_share_of_latency": 0.3}})),
            )],
            fanout_sse: vec![(
                50,
                ran(json!({"params": {"seconds": 20}, "result": {
                    "delivery_ms": {"p99": 590.0, "count": 100}}})),
            )],
            fanout_ws: vec![(50, missing("no paid variant"))],
            fanout_sse_immediate: missing("no result file"),
            fanout_sse_long: missing("no result file"),
            history: ran(json!({"result": {"p50_ratio_largest_to_smallest":
                {"latest": 1.1, "after": 1.3, "before": null}}})),
            idle: ran(json!({"result": {"d1_queries_per_s": 0.27,
                "requests_per_hour": 20.7, "rows_read_per_hour": 1200.0}})),
            soak: missing("stopped"),
            mentions: Mentions {
                wake: missing("no result file"),
                waiting: [missing("no result file"), missing("no result file")],
            },
        }
    }

    /// The targets table's row that starts with `name`, if there is one.
    fn row(r: &Results, name: &str) -> Option<String> {
        let md = crate::report::render::benchmarks(r).unwrap();
        let row = md.lines().find(|l| l.starts_with(&format!("| {name}")));
        row.map(str::to_owned)
    }

    /// Asserts that the row starting with `name` holds `text`.
    fn assert_row(r: &Results, name: &str, text: &str) {
        let row = row(r, name);
        assert!(
            row.as_ref().is_some_and(|l| l.contains(text)),
            "{text} not in {row:?}"
        );
    }

    #[test]
    fn judges_each_target() {
        let c = evaluate(&results());
        let met = [c.send, c.sse, c.idle, c.rss, c.history, c.wasm];
        assert_eq!(met.to_vec(), vec![Ok(true); 6]);
        assert_eq!(c.ws, Err("no paid variant".into()));
        assert_eq!(c.soak, Err("stopped".into()));
        assert_eq!((c.wasm_paid, c.wasm_rooms), (None, None));
        let r = results();
        assert_row(&r, "WS", "| – | not measured | no paid variant |");
        assert_row(&r, "wasm bundle (free)", "| met |");
        assert_eq!(row(&r, "wasm bundle (paid"), None);
    }

    #[test]
    fn each_paid_script_gets_its_own_wasm_row() {
        let mut r = results();
        r.meta.wasm_paid_gz_bytes = Some(255_677.0);
        r.meta.wasm_rooms_gz_bytes = Some(256_001.0);
        let c = evaluate(&r);
        assert_eq!(c.wasm_paid, Some(Ok(true)));
        assert_eq!(c.wasm_rooms, Some(Ok(false)));
        let rooms = "| 256001 bytes (250 KB) | **missed** |";
        assert_row(&r, "wasm bundle (room objects)", rooms);
        assert_row(&r, "wasm bundle (paid Worker)", "| met |");
    }

    #[test]
    fn misses_are_misses() {
        let mut r = results();
        r.send[0].1 = ran(json!({"result": {"accepted_per_s": 550.0,
            "latency_ms": {"p99": 31.0, "mean": 7.0}, "d1_ms": {"p50": 2.0, "p99": 5.0},
            "d1_share_of_latency": 0.3}}));
        r.fanout_sse[0].1 = ran(json!({"result": {"totals": {"duplicated": 1},
            "delivery_ms": {"p99": 100.0, "count": 100}}}));
        r.meta.rss_kb.after_load = Some(400.0 * 1024.0);
        r.meta.wasm_gz_bytes = Some(256_001.0);
        r.history = ran(json!({"result": {"p50_ratio_largest_to_smallest":
            {"latest": 1.1, "after": 2.5}}}));
        r.idle = ran(json!({"result": {"d1_queries_per_s": 0.5,
            "requests_per_hour": 20.0, "rows_read_per_hour": 5600.0}}));
        let c = evaluate(&r);
        let missed = [c.send, c.sse, c.idle, c.rss, c.history, c.wasm];
        assert_eq!(missed.to_vec(), vec![Ok(false); 6]);
        assert_row(&r, "send", "| **missed** | the tail is outside D1");
        assert_row(&r, "SSE", "| **missed** | delivery was not exactly once");
    }

    #[test]
    fn the_long_sse_run_can_overturn_a_met_target() {
        let mut r = results();
        r.fanout_sse_long = ran(json!({"params": {"seconds": 60}, "result": {
            "delivery_ms": {"p99": 900.0, "count": 300},
            "delivery_across_reconnect_ms": {"count": 15}}}));
        assert_eq!(evaluate(&r).sse, Ok(false));
        assert_row(&r, "SSE", "does not hold in steady state");
        assert_row(&r, "SSE", "with 5.0% of deliveries");
    }

    #[test]
    fn sse_limit_follows_the_poll_interval() {
        let mut r = results();
        r.meta.sse_active_poll_ms = Some(400.0);
        // 590 ms > 400 + 100.
        assert_eq!(evaluate(&r).sse, Ok(false));
    }

    #[test]
    fn a_message_the_history_does_not_hold_is_a_miss() {
        let mut r = results();
        r.fanout_sse[0].1 = ran(json!({"result": {"totals": {"unknown": 1},
            "delivery_ms": {"p99": 100.0, "count": 100}}}));
        assert_eq!(evaluate(&r).sse, Ok(false));
    }
}
