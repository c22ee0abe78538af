//! The checks: each target's verdict with the reason. Every sentence here is
//! computed from the results; what they mean for the Worker lives in
//! docs/FINDINGS.md.

use serde::Serialize;

use super::render::{fixed, int, mb, ms, pct};
use super::{Found, Results};
use crate::results::{FanoutRun, Meta};

/// The targets of issue 8 (issue 16 for the idle listener's budget).
pub mod target {
    pub const SEND_N4_MSGS_PER_S: f64 = 400.0;
    pub const SEND_N4_P99_MS: f64 = 30.0;
    /// Added to the active poll interval for the SSE p99 target.
    pub const SSE_P99_SLACK_MS: f64 = 100.0;
    pub const IDLE_QUERIES_PER_S: f64 = 1.0;
    /// 100 always-on listeners beside 20,000 sends a day on the free plan's
    /// 100,000 requests: (100,000 - 20,000) / 100 / 24.
    pub const IDLE_REQUESTS_PER_HOUR: f64 = 33.0;
    /// The same 100 listeners within 5,000,000 rows read a day, leaving
    /// ~450,000 for the sends (~15 rows each) and history.
    pub const IDLE_ROWS_READ_PER_HOUR: f64 = 1_900.0;
    pub const WS_P99_MS: f64 = 38.0;
    pub const RSS_MB: f64 = 300.0;
    pub const HISTORY_RATIO: f64 = 2.0;
    /// The benchmark's 250 KB target, in bytes (256,000); `make bundle-check`
    /// now allows more (see docs/free-tier.md, Bundle).
    pub const WASM_GZ_BYTES: f64 = 256_000.0;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    #[serde(rename = "met")]
    Met,
    #[serde(rename = "**missed**")]
    Missed,
    #[serde(rename = "not measured")]
    NotMeasured,
}

impl Verdict {
    fn of(met: bool) -> Verdict {
        if met {
            Verdict::Met
        } else {
            Verdict::Missed
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetRow {
    pub name: String,
    pub target: String,
    pub measured: String,
    pub verdict: Verdict,
    pub why: String,
}

/// A target's measure, whether it met the goal, and why; or why it was not
/// measured.
type Judged = Result<(String, bool, String), String>;

/// The run for size `n` in a list, or why there is none.
pub(super) fn find<T>(list: &[(u32, Found<T>)], n: u32) -> Result<&T, String> {
    match list.iter().find(|(k, _)| *k == n) {
        Some((_, f)) => f.get(),
        None => Err("not in the set".into()),
    }
}

/// The active poll interval the server ran with (wrangler var), default 500.
fn active_poll_ms(meta: &Meta) -> f64 {
    meta.sse_active_poll_ms.unwrap_or(500.0)
}

fn send(r: &Results) -> Judged {
    use target::*;
    let v = &find(&r.send, 4)?.result;
    let (rate, p99, mean) = (v.accepted_per_s, v.latency_ms.p99, v.latency_ms.mean);
    let (d1_p99, share) = (v.d1_ms.p99, v.d1_share_of_latency);
    let met = rate >= SEND_N4_MSGS_PER_S && p99 <= SEND_N4_P99_MS;
    let mut why = format!(
        "mean POST {} ms of which D1 {} (Server-Timing); D1 p50 {} / p99 {} ms; {} queries per \
         send; GET /api/health (no D1) at the same concurrency p50 {} / p99 {} ms",
        ms(Some(mean)),
        pct(share),
        ms(Some(v.d1_ms.p50)),
        ms(Some(d1_p99)),
        ms(v.d1_queries_per_message),
        ms(Some(v.health_baseline_ms.p50)),
        ms(Some(v.health_baseline_ms.p99)),
    );
    if !met {
        let mut parts = Vec::new();
        if rate < SEND_N4_MSGS_PER_S {
            parts.push(format!(
                "throughput is bounded by 4 senders / mean latency = {:.0} msg/s",
                4000.0 / mean
            ));
        }
        if p99 > SEND_N4_P99_MS {
            parts.push(match share {
                Some(s) if d1_p99 < p99 / 2.0 => format!(
                    "the tail is outside D1 (D1 p99 {} ms vs POST p99 {} ms; D1 is {:.0}% of the \
                     mean): workerd/isolate and the shared CPU",
                    ms(Some(d1_p99)),
                    ms(Some(p99)),
                    s * 100.0
                ),
                _ => "the tail is in D1 (Server-Timing dur)".to_owned(),
            });
        }
        why = format!("{}. {why}", parts.join("; "));
    }
    let measured = format!("{rate:.0} msg/s, p99 {} ms", ms(Some(p99)));
    Ok((measured, met, why))
}

/// Nothing lost, repeated or out of order.
fn clean(v: &FanoutRun) -> bool {
    let t = &v.result.delivery.totals;
    t.lost == 0 && t.duplicated == 0 && t.out_of_order == 0
}

/// Share of deliveries (0..1) of messages sent while a listener was between streams.
pub(super) fn across_share(v: &FanoutRun) -> f64 {
    let (n, a) = (
        v.result.delivery.delivery_ms.count,
        v.result.delivery.delivery_across_reconnect_ms.count,
    );
    if n > 0 {
        a as f64 / n as f64
    } else {
        0.0
    }
}

fn sse(r: &Results) -> Judged {
    let poll = active_poll_ms(&r.meta);
    let limit = poll + target::SSE_P99_SLACK_MS;
    let run = find(&r.fanout_sse, 50)?;
    let v = &run.result;
    let t = &v.delivery.totals;
    let p99 = v.delivery.delivery_ms.p99;
    let mut met = clean(run) && p99 <= limit;
    let measured = format!(
        "lost {}, dup {}, out of order {}; p99 {} ms",
        t.lost,
        t.duplicated,
        t.out_of_order,
        ms(Some(p99))
    );
    let across = v.delivery.delivery_across_reconnect_ms.count;
    let share = across_share(run);
    let connected_p99 = v.delivery.delivery_connected_ms.p99;
    let retry = v
        .delivery
        .streams
        .retry_after_bye_ms
        .or(r.meta.sse_retry_ms)
        .unwrap_or(1000.0);
    let mut parts = vec![format!(
        "messages sent while the listener's stream was open: p99 {} ms (the stream polls every \
         {poll:.0} ms after the previous poll ends, and latency includes the POST)",
        ms(Some(connected_p99)),
    )];
    if across > 0 {
        parts.push(format!(
            "{:.1}% of deliveries ({across}) were of messages sent while the listener was between \
             streams (p50 {} ms, max {} ms): a stream ends itself after its poll budget (about 20 s \
             in an active room) and EventSource waits the server's retry: hint ({retry:.0} ms \
             after a planned end) before reconnecting",
            share * 100.0,
            ms(Some(v.delivery.delivery_across_reconnect_ms.p50)),
            ms(Some(v.delivery.delivery_across_reconnect_ms.max)),
        ));
    }
    if p99 > limit {
        if share > 0.01 && connected_p99 <= limit {
            parts.push(
                "more than 1% of deliveries waited out a reconnect, so the reconnect wait sets p99"
                    .to_owned(),
            );
        } else if connected_p99 > limit {
            parts.push(format!(
                "even between reconnects p99 is over {limit:.0} ms: poll period plus D1, POST and \
                 scheduling delay on the shared CPU (see the load average above)"
            ));
        }
    }
    let mut why = parts.join("; ");
    if let Some(d) = r.fanout_sse_long.value() {
        let long_p99 = d.result.delivery.delivery_ms.p99;
        let long_met = clean(d) && long_p99 <= limit;
        let verdict = if long_met {
            "also within the target"
        } else if met {
            "over the target: the 20 s run's verdict does not hold in steady state, so the \
             target counts as missed"
        } else {
            "over the target too"
        };
        met &= long_met;
        why = format!(
            "{why}. Over {} s (diagnostic, same setup) p99 was {} ms with {:.1}% of deliveries \
             across a reconnect, lost {}, dup {}: {verdict}",
            int(Some(d.params.seconds)),
            ms(Some(long_p99)),
            across_share(d) * 100.0,
            d.result.delivery.totals.lost,
            d.result.delivery.totals.duplicated,
        );
    }
    if let Some(d) = r.fanout_sse_immediate.value() {
        why = format!(
            "{why}. Diagnostic run with listeners reconnecting at once instead: p99 {} ms \
             (across reconnect p99 {} ms), lost {}, dup {}",
            ms(Some(d.result.delivery.delivery_ms.p99)),
            ms(Some(d.result.delivery.delivery_across_reconnect_ms.p99)),
            d.result.delivery.totals.lost,
            d.result.delivery.totals.duplicated,
        );
    }
    if !clean(run) {
        why = format!("delivery was not exactly once in order. {why}");
    }
    Ok((measured, met, why))
}

fn idle(r: &Results) -> Judged {
    use target::*;
    let v = &r.idle.get()?.result;
    let (Some(q), Some(h)) = (v.d1_queries_per_s, v.requests_per_hour) else {
        return Err("no stream completed a cycle".into());
    };
    let rows = v.rows_read_per_hour;
    let met = q <= IDLE_QUERIES_PER_S
        && h <= IDLE_REQUESTS_PER_HOUR
        && rows.is_some_and(|r| r <= IDLE_ROWS_READ_PER_HOUR);
    let measured = format!(
        "{q:.2} query/s, {h:.0} requests/hour, {} rows read/hour",
        rows.map_or("?".into(), |r| format!("{r:.0}"))
    );
    let why = format!(
        "{} queries per stream (from `: bye queries=N`), one stream every {} s over {} complete cycles",
        ms(v.queries_per_stream),
        ms(v.mean_cycle_s),
        v.complete_cycles,
    );
    Ok((measured, met, why))
}

fn ws(r: &Results) -> Judged {
    let run = find(&r.fanout_ws, 50)?;
    let v = &run.result;
    let (lost, p99) = (v.delivery.totals.lost, v.delivery.delivery_ms.p99);
    let met = lost == 0 && p99 <= target::WS_P99_MS;
    let (post_p99, push_p99) = (v.post_latency_ms.p99, v.delivery_after_ack_ms.p99);
    let mut why = format!(
        "latency runs from the start of the send: the POST (p50 {} / p99 {} ms, of which D1 p99 {} \
         ms) is inside every delivery; after the sender's response the push took p50 {} / p99 {} \
         ms more; delivery p50 {} ms, max {} ms; duplicates {}",
        ms(Some(v.post_latency_ms.p50)),
        ms(Some(post_p99)),
        ms(Some(v.post_d1_ms.p99)),
        ms(Some(v.delivery_after_ack_ms.p50)),
        ms(Some(push_p99)),
        ms(Some(v.delivery.delivery_ms.p50)),
        ms(Some(v.delivery.delivery_ms.max)),
        v.delivery.totals.duplicated,
    );
    if let Some(o) = &v.object {
        // The room object's own counters ({"type":"stats"}): what it pushed
        // without reading D1, and what D1 it read (the handshakes included).
        let sends = run.cost.d1_queries as f64;
        why.push_str(&format!(
            "; the room's object pushed {} of {} notified messages without a D1 read, with {} \
             D1 queries ({} rows read) in all, the listeners' handshakes included; each send \
             read {} rows",
            o.pushed_without_read,
            o.notified,
            o.d1_queries,
            o.d1_rows_read,
            ms(Some(run.cost.d1_rows_read as f64 / sends)),
        ));
    }
    if !met && post_p99 > push_p99 {
        why = format!(
            "the tail is the send itself (POST p99 {} ms), not the push (p99 {} ms after the \
             response). {why}",
            ms(Some(post_p99)),
            ms(Some(push_p99))
        );
    }
    let measured = format!("lost {lost}; p99 {} ms", ms(Some(p99)));
    Ok((measured, met, why))
}

fn rss(r: &Results) -> Judged {
    let rss = &r.meta.rss_kb;
    let Some(after) = rss.after_load else {
        return Err("no RSS sample".into());
    };
    let mb_after = after / 1024.0;
    let split = r.meta.rss_series.iter().rev().find(|s| s.after == "idle");
    let split = split.map_or(String::new(), |s| {
        format!(
            " ({:.0} MB in wrangler's local proxy process, which a deployment does not have; \
             {:.0} MB in the runtime process: the Worker's isolate and the local D1/KV/Durable \
             Object simulators)",
            s.proxy_kb / 1024.0,
            s.runtime_kb / 1024.0
        )
    });
    let why = format!(
        "sum of the workerd processes in the runner's process group (/proc VmRSS): {} MB at \
         start, {mb_after:.0} MB after send, fanout, history and idle{split}, peak {} MB; after \
         the soak (which restarts the server) {} MB. See the memory table for the growth by \
         scenario",
        mb(rss.before),
        mb(rss.peak),
        mb(rss.after_soak),
    );
    let measured = format!("{mb_after:.0} MB");
    Ok((measured, mb_after <= target::RSS_MB, why))
}

fn history(r: &Results) -> Judged {
    let v = &r.history.get()?.result;
    let q = &v.p50_ratio_largest_to_smallest;
    let worst = [q.latest, q.after, q.before]
        .into_iter()
        .flatten()
        .fold(f64::NAN, f64::max);
    if worst.is_nan() {
        return Err("no ratio".into());
    }
    let d1 =
        |room: Option<&crate::results::HistoryRoom>| ms(room.map(|r| r.pages.latest.d1_ms.p50));
    let measured = format!(
        "p50 ratio latest {}x, after {}x, before {}x",
        fixed(q.latest, 2),
        fixed(q.after, 2),
        fixed(q.before, 2)
    );
    let why = format!(
        "each page is one indexed range read on messages(room_id, seq); D1 p50 (latest) {} ms at \
         the smallest room, {} ms at the largest",
        d1(v.rooms.first()),
        d1(v.rooms.last()),
    );
    Ok((measured, worst <= target::HISTORY_RATIO, why))
}

fn wasm(bytes: Option<f64>) -> Judged {
    let b = bytes.ok_or("no build")?;
    let measured = format!("{:.0} bytes ({:.0} KB)", b, b / 1024.0);
    let why = "gzip -9c of the built index_bg.wasm".to_owned();
    Ok((measured, b <= target::WASM_GZ_BYTES, why))
}

fn soak(r: &Results) -> Judged {
    let run = r.soak.get()?;
    let v = &run.result;
    let restart = v.restart.as_ref().map_or("no restart".to_owned(), |h| {
        let exit = h.exit.map_or(String::new(), |e| e.to_string());
        format!(
            "restart at {} s took {} s (exit {exit})",
            int(Some(h.at_s)),
            ms(Some(h.duration_s))
        )
    });
    let notes = if run.notes.is_empty() {
        String::new()
    } else {
        format!("; {}", run.notes.join("; "))
    };
    let measured = format!(
        "{} stored; lost {}, dup {}, out of order {}",
        v.stored,
        v.delivery.totals.lost,
        v.delivery.totals.duplicated,
        v.delivery.totals.out_of_order,
    );
    let why = format!(
        "{restart}; {} connections, stream ends {}{notes}",
        v.delivery.streams.connections,
        serde_json::to_string(&v.delivery.streams.ends).unwrap_or_default(),
    );
    Ok((measured, run.ok, why))
}

/// Every target, judged: one row each, from its name, its goal and its check.
pub fn evaluate(r: &Results) -> Vec<TargetRow> {
    use target::*;
    let sse_limit = active_poll_ms(&r.meta) + SSE_P99_SLACK_MS;
    let wasm_goal = || "<= 250 KB gzipped (256,000 bytes)".to_owned();
    let mut table = vec![
        (
            "send, 4 senders",
            format!(">= {SEND_N4_MSGS_PER_S:.0} msg/s, POST p99 <= {SEND_N4_P99_MS:.0} ms"),
            send(r),
        ),
        (
            "SSE fanout, 50 listeners at 5 msg/s",
            format!("nothing lost or repeated, delivery p99 <= {sse_limit:.0} ms (active poll + 100)"),
            sse(r),
        ),
        (
            "idle SSE listener",
            format!(
                "<= {IDLE_QUERIES_PER_S:.0} D1 query/s, <= {IDLE_REQUESTS_PER_HOUR:.0} requests/hour, \
                 <= {IDLE_ROWS_READ_PER_HOUR:.0} rows read/hour"
            ),
            idle(r),
        ),
        (
            "WS fanout, 50 listeners at 10 msg/s",
            format!("delivery p99 <= {WS_P99_MS:.0} ms, nothing lost"),
            ws(r),
        ),
        (
            "workerd memory",
            format!("RSS after the standard set <= {RSS_MB:.0} MB"),
            rss(r),
        ),
        (
            "history at 100,000 messages",
            format!("latency <= {HISTORY_RATIO:.0}x that at 100"),
            history(r),
        ),
        ("wasm bundle (free)", wasm_goal(), wasm(r.meta.wasm_gz_bytes)),
    ];
    // The paid variant's bundle only when it was built.
    if r.meta.wasm_paid_gz_bytes.is_some() {
        table.push((
            "wasm bundle (paid)",
            wasm_goal(),
            wasm(r.meta.wasm_paid_gz_bytes),
        ));
    }
    table.push((
        "soak with a server restart",
        "every listener saw every stored message exactly once, in order".to_owned(),
        soak(r),
    ));
    let row = |(name, target, judged): (&str, String, Judged)| {
        let (measured, verdict, why) = match judged {
            Ok((measured, met, why)) => (measured, Verdict::of(met), why),
            Err(why) => ("–".to_owned(), Verdict::NotMeasured, why),
        };
        let name = name.to_owned();
        TargetRow {
            name,
            target,
            measured,
            verdict,
            why,
        }
    };
    table.into_iter().map(row).collect()
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

    fn verdict(rows: &[TargetRow], prefix: &str) -> Verdict {
        rows.iter()
            .find(|r| r.name.starts_with(prefix))
            .unwrap_or_else(|| panic!("no row {prefix}"))
            .verdict
    }

    fn why(rows: &[TargetRow], prefix: &str) -> String {
        rows.iter()
            .find(|r| r.name.starts_with(prefix))
            .unwrap()
            .why
            .clone()
    }

    #[test]
    fn judges_each_target() {
        let rows = evaluate(&results());
        for (prefix, v) in [
            ("send", Verdict::Met),
            ("SSE", Verdict::Met),
            ("idle", Verdict::Met),
            ("WS", Verdict::NotMeasured),
            ("workerd", Verdict::Met),
            ("history", Verdict::Met),
            ("wasm bundle (free)", Verdict::Met),
            ("soak", Verdict::NotMeasured),
        ] {
            assert_eq!(verdict(&rows, prefix), v, "{prefix}");
        }
        assert_eq!(why(&rows, "WS"), "no paid variant");
        assert!(!rows.iter().any(|r| r.name == "wasm bundle (paid)"));
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
        let rows = evaluate(&r);
        for prefix in ["send", "SSE", "idle", "workerd", "history", "wasm"] {
            assert_eq!(verdict(&rows, prefix), Verdict::Missed, "{prefix}");
        }
        assert!(why(&rows, "send").contains("outside D1"));
        assert!(why(&rows, "SSE").starts_with("delivery was not exactly once"));
    }

    #[test]
    fn the_long_sse_run_can_overturn_a_met_target() {
        let mut r = results();
        r.fanout_sse_long = ran(json!({"params": {"seconds": 60}, "result": {
            "delivery_ms": {"p99": 900.0, "count": 300},
            "delivery_across_reconnect_ms": {"count": 15}}}));
        let rows = evaluate(&r);
        assert_eq!(verdict(&rows, "SSE"), Verdict::Missed);
        let why = why(&rows, "SSE");
        assert!(why.contains("does not hold in steady state"), "{why}");
        assert!(why.contains("5.0%"), "{why}");
    }

    #[test]
    fn sse_limit_follows_the_poll_interval() {
        let mut r = results();
        r.meta.sse_active_poll_ms = Some(400.0);
        // 590 ms > 400 + 100.
        assert_eq!(verdict(&evaluate(&r), "SSE"), Verdict::Missed);
    }
}
