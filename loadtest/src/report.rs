//! `report`: turns a directory of results (what scripts/bench.sh collects)
//! into docs/BENCHMARKS.md: the setup, each target met or missed with the
//! reason, the result tables, and how to reproduce.
//!
//! The directory holds one JSON object per scenario run, named
//! `send-<N>.json`, `fanout-<sse|ws>-<L>.json`, `history.json`, `idle.json`,
//! `soak.json`, `wake.json`, `waiting.json`, `waiting-history.json`, each
//! possibly with a `.err` beside it holding what the run
//! printed on stderr, and `meta.json` with what only the script knows
//! (runner, machine, memory, bundle size, commands).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use crate::report_values::Found;
use crate::report_values::{cell, int, ms, num, text};

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

/// The standard set's sizes (scripts/bench.sh runs these).
pub const SEND_SENDERS: [u32; 3] = [1, 4, 16];
pub const FANOUT_LISTENERS: [u32; 3] = [1, 10, 50];

/// The targets of issue 8.
pub mod target {
    pub const SEND_N4_MSGS_PER_S: f64 = 400.0;
    pub const SEND_N4_P99_MS: f64 = 30.0;
    /// Added to the active poll interval for the SSE p99 target.
    pub const SSE_P99_SLACK_MS: f64 = 100.0;
    pub const IDLE_QUERIES_PER_S: f64 = 1.0;
    /// Issue 16: 100 always-on listeners beside 20,000 sends a day on the
    /// free plan's 100,000 requests: (100,000 - 20,000) / 100 / 24.
    pub const IDLE_REQUESTS_PER_HOUR: f64 = 33.0;
    /// Issue 16: the same 100 listeners within 5,000,000 rows read a day,
    /// leaving ~450,000 for the sends (~15 rows each) and history.
    pub const IDLE_ROWS_READ_PER_HOUR: f64 = 1_900.0;
    pub const WS_P99_MS: f64 = 38.0;
    pub const RSS_MB: f64 = 300.0;
    pub const HISTORY_RATIO: f64 = 2.0;
    /// The benchmark's 250 KB target, in bytes (256,000); `make bundle-check` now allows more (see docs/free-tier.md, Bundle).
    pub const WASM_GZ_BYTES: f64 = 256_000.0;
}

/// Everything the report is made from.
#[derive(Debug, Clone)]
pub struct Results {
    pub meta: Value,
    pub send: Vec<(u32, Found)>,
    pub fanout_sse: Vec<(u32, Found)>,
    pub fanout_ws: Vec<(u32, Found)>,
    /// Diagnostic: 50 SSE listeners reconnecting at once (no retry wait).
    pub fanout_sse_immediate: Found,
    /// Diagnostic: 50 SSE listeners for three times as long (steady state).
    pub fanout_sse_long: Found,
    pub history: Found,
    pub idle: Found,
    pub soak: Found,
    /// Mentions: wake latency and a waiting agent's cost (report_wake.rs).
    pub wake: Found,
    /// A waiting agent in an empty room, and in one with read history.
    pub waiting: Found,
    pub waiting_history: Found,
}

fn load(dir: &Path, name: &str, skipped: Option<&str>) -> Found {
    let path = dir.join(format!("{name}.json"));
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(v) = serde_json::from_str::<Value>(text.trim()) {
            if v.is_object() && v.get("scenario").is_some() {
                return Found::Ran(v);
            }
        }
    }
    if let Some(reason) = skipped {
        return Found::Missing(reason.to_owned());
    }
    let err = std::fs::read_to_string(dir.join(format!("{name}.err"))).unwrap_or_default();
    let last = err
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no result file")
        .trim()
        .to_owned();
    Found::Missing(last)
}

impl Results {
    pub fn read(dir: &Path) -> Result<Results, String> {
        let meta_text = std::fs::read_to_string(dir.join("meta.json"))
            .map_err(|e| format!("{}: {e}", dir.join("meta.json").display()))?;
        let meta: Value =
            serde_json::from_str(&meta_text).map_err(|e| format!("meta.json: {e}"))?;
        let ws_skip = meta
            .get("ws_skipped")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(Results {
            send: SEND_SENDERS
                .iter()
                .map(|&n| (n, load(dir, &format!("send-{n}"), None)))
                .collect(),
            fanout_sse: FANOUT_LISTENERS
                .iter()
                .map(|&n| (n, load(dir, &format!("fanout-sse-{n}"), None)))
                .collect(),
            fanout_ws: FANOUT_LISTENERS
                .iter()
                .map(|&n| (n, load(dir, &format!("fanout-ws-{n}"), ws_skip.as_deref())))
                .collect(),
            fanout_sse_immediate: load(dir, "fanout-sse-50-immediate", None),
            fanout_sse_long: load(dir, "fanout-sse-50-long", None),
            history: load(dir, "history", None),
            idle: load(dir, "idle", None),
            soak: load(dir, "soak", None),
            wake: load(dir, "wake", None),
            waiting: load(dir, "waiting", None),
            waiting_history: load(dir, "waiting-history", None),
            meta,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    NotMeasured,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "**missed**",
            Verdict::NotMeasured => "not measured",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TargetRow {
    pub name: String,
    pub target: String,
    pub measured: String,
    pub verdict: Verdict,
    pub why: String,
}

fn row(name: &str, target: String, measured: String, verdict: Verdict, why: String) -> TargetRow {
    TargetRow {
        name: name.to_owned(),
        target,
        measured,
        verdict,
        why,
    }
}

fn not_measured(name: &str, target: String, why: String) -> TargetRow {
    row(name, target, "–".to_owned(), Verdict::NotMeasured, why)
}

fn find(list: &[(u32, Found)], n: u32) -> Option<&Found> {
    list.iter().find(|(k, _)| *k == n).map(|(_, f)| f)
}

/// The active poll interval the server ran with (wrangler var), default 500.
fn active_poll_ms(meta: &Value) -> f64 {
    num(meta, "/sse_active_poll_ms").unwrap_or(500.0)
}

fn send_target(r: &Results) -> TargetRow {
    use target::*;
    let name = "send, 4 senders";
    let goal = format!(">= {SEND_N4_MSGS_PER_S:.0} msg/s, POST p99 <= {SEND_N4_P99_MS:.0} ms");
    let Some(found) = find(&r.send, 4) else {
        return not_measured(name, goal, "not in the set".into());
    };
    let Some(v) = found.value() else {
        return not_measured(name, goal, found.why_missing());
    };
    let rate = num(v, "/result/accepted_per_s").unwrap_or(0.0);
    let p99 = num(v, "/result/latency_ms/p99").unwrap_or(f64::INFINITY);
    let met = rate >= SEND_N4_MSGS_PER_S && p99 <= SEND_N4_P99_MS;
    let measured = format!("{rate:.0} msg/s, p99 {} ms", ms(Some(p99)));
    let d1_p50 = num(v, "/result/d1_ms/p50");
    let d1_p99 = num(v, "/result/d1_ms/p99");
    let share = num(v, "/result/d1_share_of_latency");
    let mean = num(v, "/result/latency_ms/mean");
    let mut why = format!(
        "mean POST {} ms of which D1 {} (Server-Timing); D1 p50 {} / p99 {} ms; {} queries per \
         send; GET /api/health (no D1) at the same concurrency p50 {} / p99 {} ms",
        ms(mean),
        share.map_or("–".into(), |s| format!("{:.0}%", s * 100.0)),
        ms(d1_p50),
        ms(d1_p99),
        ms(num(v, "/result/d1_queries_per_message")),
        ms(num(v, "/result/health_baseline_ms/p50")),
        ms(num(v, "/result/health_baseline_ms/p99")),
    );
    if !met {
        let mut parts = Vec::new();
        if rate < SEND_N4_MSGS_PER_S {
            parts.push(format!(
                "throughput is bounded by 4 senders / mean latency = {:.0} msg/s",
                mean.map_or(0.0, |m| 4000.0 / m)
            ));
        }
        if p99 > SEND_N4_P99_MS {
            parts.push(match (share, d1_p99) {
                (Some(s), Some(d)) if d < p99 / 2.0 => format!(
                    "the tail is outside D1 (D1 p99 {} ms vs POST p99 {} ms; D1 is {:.0}% of the mean): \
                     workerd/isolate and the shared CPU",
                    ms(Some(d)),
                    ms(Some(p99)),
                    s * 100.0
                ),
                _ => "the tail is in D1 (Server-Timing dur)".to_owned(),
            });
        }
        why = format!("{}. {why}", parts.join("; "));
    }
    row(
        name,
        goal,
        measured,
        if met { Verdict::Met } else { Verdict::Missed },
        why,
    )
}

fn sse_target(r: &Results) -> TargetRow {
    let name = "SSE fanout, 50 listeners at 5 msg/s";
    let poll = active_poll_ms(&r.meta);
    let limit = poll + target::SSE_P99_SLACK_MS;
    let goal =
        format!("nothing lost or repeated, delivery p99 <= {limit:.0} ms (active poll + 100)");
    let Some(found) = find(&r.fanout_sse, 50) else {
        return not_measured(name, goal, "not in the set".into());
    };
    let Some(v) = found.value() else {
        return not_measured(name, goal, found.why_missing());
    };
    let lost = num(v, "/result/totals/lost").unwrap_or(f64::NAN);
    let dup = num(v, "/result/totals/duplicated").unwrap_or(f64::NAN);
    let ooo = num(v, "/result/totals/out_of_order").unwrap_or(f64::NAN);
    let p99 = num(v, "/result/delivery_ms/p99").unwrap_or(f64::INFINITY);
    let clean = lost == 0.0 && dup == 0.0 && ooo == 0.0;
    let met = clean && p99 <= limit;
    let measured = format!(
        "lost {lost:.0}, dup {dup:.0}, out of order {ooo:.0}; p99 {} ms",
        ms(Some(p99))
    );
    let total = num(v, "/result/delivery_ms/count").unwrap_or(0.0);
    let across = num(v, "/result/delivery_across_reconnect_ms/count").unwrap_or(0.0);
    let share = if total > 0.0 { across / total } else { 0.0 };
    let connected_p99 = num(v, "/result/delivery_connected_ms/p99").unwrap_or(0.0);
    let retry = num(v, "/result/streams/retry_after_bye_ms")
        .or_else(|| num(&r.meta, "/sse_retry_ms"))
        .unwrap_or(1000.0);
    let mut parts = vec![format!(
        "messages sent while the listener's stream was open: p99 {} ms (the stream polls every \
         {poll:.0} ms after the previous poll ends, and latency includes the POST)",
        ms(Some(connected_p99)),
    )];
    if across > 0.0 {
        parts.push(format!(
            "{:.1}% of deliveries ({across:.0}) were of messages sent while the listener was between \
             streams (p50 {} ms, max {} ms): a stream ends itself after its poll budget (about 20 s \
             in an active room) and EventSource waits the server's retry: hint ({retry:.0} ms \
             after a planned end) before reconnecting",
            share * 100.0,
            ms(num(v, "/result/delivery_across_reconnect_ms/p50")),
            ms(num(v, "/result/delivery_across_reconnect_ms/max")),
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
    let why = parts.join("; ");
    let mut met = met;
    let why = match r.fanout_sse_long.value() {
        Some(d) => {
            let long_p99 = num(d, "/result/delivery_ms/p99").unwrap_or(f64::INFINITY);
            let long_clean = ["lost", "duplicated", "out_of_order"]
                .iter()
                .all(|k| num(d, &format!("/result/totals/{k}")) == Some(0.0));
            let long_met = long_clean && long_p99 <= limit;
            let n = num(d, "/result/delivery_ms/count").unwrap_or(0.0);
            let a = num(d, "/result/delivery_across_reconnect_ms/count").unwrap_or(0.0);
            let verdict = if long_met {
                "also within the target"
            } else if met {
                "over the target: the 20 s run's verdict does not hold in steady state, so the \
                 target counts as missed"
            } else {
                "over the target too"
            };
            met &= long_met;
            format!(
                "{why}. Over {} s (diagnostic, same setup) p99 was {} ms with {:.1}% of \
                 deliveries across a reconnect, lost {}, dup {}: {verdict}",
                int(num(d, "/params/seconds")),
                ms(Some(long_p99)),
                if n > 0.0 { a / n * 100.0 } else { 0.0 },
                int(num(d, "/result/totals/lost")),
                int(num(d, "/result/totals/duplicated")),
            )
        }
        None => why,
    };
    let why = match r.fanout_sse_immediate.value() {
        Some(d) => format!(
            "{why}. Diagnostic run with listeners reconnecting at once instead: p99 {} ms \
             (across reconnect p99 {} ms), lost {}, dup {}",
            ms(num(d, "/result/delivery_ms/p99")),
            ms(num(d, "/result/delivery_across_reconnect_ms/p99")),
            int(num(d, "/result/totals/lost")),
            int(num(d, "/result/totals/duplicated")),
        ),
        None => why,
    };
    let why = if clean {
        why
    } else {
        format!("delivery was not exactly once in order. {why}")
    };
    row(
        name,
        goal,
        measured,
        if met { Verdict::Met } else { Verdict::Missed },
        why,
    )
}

fn idle_target(r: &Results) -> TargetRow {
    use target::*;
    let name = "idle SSE listener";
    let goal = format!(
        "<= {IDLE_QUERIES_PER_S:.0} D1 query/s, <= {IDLE_REQUESTS_PER_HOUR:.0} requests/hour, \
         <= {IDLE_ROWS_READ_PER_HOUR:.0} rows read/hour"
    );
    let Some(v) = r.idle.value() else {
        return not_measured(name, goal, r.idle.why_missing());
    };
    let (Some(q), Some(h)) = (
        num(v, "/result/d1_queries_per_s"),
        num(v, "/result/requests_per_hour"),
    ) else {
        return not_measured(name, goal, "no stream completed a cycle".into());
    };
    let rows = num(v, "/result/rows_read_per_hour");
    let met = q <= IDLE_QUERIES_PER_S
        && h <= IDLE_REQUESTS_PER_HOUR
        && rows.is_some_and(|r| r <= IDLE_ROWS_READ_PER_HOUR);
    row(
        name,
        goal,
        format!(
            "{q:.2} query/s, {h:.0} requests/hour, {} rows read/hour",
            rows.map_or("?".into(), |r| format!("{r:.0}"))
        ),
        if met { Verdict::Met } else { Verdict::Missed },
        format!(
            "{} queries per stream (from `: bye queries=N`), one stream every {} s over {} complete cycles",
            ms(num(v, "/result/queries_per_stream")),
            ms(num(v, "/result/mean_cycle_s")),
            int(num(v, "/result/complete_cycles")),
        ),
    )
}

fn ws_target(r: &Results) -> TargetRow {
    let name = "WS fanout, 50 listeners at 10 msg/s";
    let goal = format!("delivery p99 <= {:.0} ms, nothing lost", target::WS_P99_MS);
    let Some(found) = find(&r.fanout_ws, 50) else {
        return not_measured(name, goal, "not in the set".into());
    };
    let Some(v) = found.value() else {
        return not_measured(name, goal, found.why_missing());
    };
    let lost = num(v, "/result/totals/lost").unwrap_or(f64::NAN);
    let dup = num(v, "/result/totals/duplicated").unwrap_or(f64::NAN);
    let p99 = num(v, "/result/delivery_ms/p99").unwrap_or(f64::INFINITY);
    let met = lost == 0.0 && p99 <= target::WS_P99_MS;
    let post_p99 = num(v, "/result/post_latency_ms/p99");
    let push_p99 = num(v, "/result/delivery_after_ack_ms/p99");
    let mut why = format!(
        "latency runs from the start of the send: the POST (p50 {} / p99 {} ms, of which D1 p99 {} \
         ms) is inside every delivery; after the sender's response the push took p50 {} / p99 {} \
         ms more; delivery p50 {} ms, max {} ms; duplicates {dup:.0}",
        ms(num(v, "/result/post_latency_ms/p50")),
        ms(post_p99),
        ms(num(v, "/result/post_d1_ms/p99")),
        ms(num(v, "/result/delivery_after_ack_ms/p50")),
        ms(push_p99),
        ms(num(v, "/result/delivery_ms/p50")),
        ms(num(v, "/result/delivery_ms/max")),
    );
    if let Some(notified) = num(v, "/result/object/notified") {
        // The room object's own counters ({"type":"stats"}): what it pushed
        // without reading D1, and what D1 it read (the handshakes included).
        let sends = num(v, "/cost/d1_queries").unwrap_or(f64::NAN);
        why.push_str(&format!(
            "; the room's object pushed {} of {} notified messages without a D1 read, with {} \
             D1 queries ({} rows read) in all, the listeners' handshakes included; each send \
             read {} rows",
            int(num(v, "/result/object/pushed_without_read")),
            int(Some(notified)),
            int(num(v, "/result/object/d1_queries")),
            int(num(v, "/result/object/d1_rows_read")),
            ms(num(v, "/cost/d1_rows_read").map(|r| r / sends)),
        ));
    }
    if !met {
        if let (Some(post), Some(push)) = (post_p99, push_p99) {
            if post > push {
                why = format!(
                    "the tail is the send itself (POST p99 {} ms), not the push (p99 {} ms after \
                     the response). {why}",
                    ms(Some(post)),
                    ms(Some(push))
                );
            }
        }
    }
    row(
        name,
        goal,
        format!("lost {lost:.0}; p99 {} ms", ms(Some(p99))),
        if met { Verdict::Met } else { Verdict::Missed },
        why,
    )
}

fn rss_target(r: &Results) -> TargetRow {
    let name = "workerd memory";
    let goal = format!("RSS after the standard set <= {:.0} MB", target::RSS_MB);
    let Some(after) = num(&r.meta, "/rss_kb/after_load") else {
        return not_measured(name, goal, "no RSS sample".into());
    };
    let mb = after / 1024.0;
    let met = mb <= target::RSS_MB;
    let split = rss_series(&r.meta)
        .into_iter()
        .rev()
        .find(|s| s.0 == "idle")
        .map_or(String::new(), |(_, _, proxy, runtime)| {
            format!(
                " ({:.0} MB in wrangler's local proxy process, which a deployment does not have; \
                 {:.0} MB in the runtime process: the Worker's isolate and the local D1/KV/Durable \
                 Object simulators)",
                proxy / 1024.0,
                runtime / 1024.0
            )
        });
    row(
        name,
        goal,
        format!("{mb:.0} MB"),
        if met { Verdict::Met } else { Verdict::Missed },
        format!(
            "sum of the workerd processes in the runner's process group (/proc VmRSS): {} MB at \
             start, {mb:.0} MB after send, fanout, history and idle{split}, peak {} MB; after the \
             soak (which restarts the server) {} MB. See the memory table for the growth by scenario",
            int(num(&r.meta, "/rss_kb/before").map(|k| k / 1024.0)),
            int(num(&r.meta, "/rss_kb/peak").map(|k| k / 1024.0)),
            int(num(&r.meta, "/rss_kb/after_soak").map(|k| k / 1024.0)),
        ),
    )
}

/// `(after, total_kb, proxy_kb, runtime_kb)` samples from meta.
fn rss_series(meta: &Value) -> Vec<(String, f64, f64, f64)> {
    meta.get("rss_series")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| {
            (
                text(s, "/after"),
                num(s, "/total_kb").unwrap_or(0.0),
                num(s, "/proxy_kb").unwrap_or(0.0),
                num(s, "/runtime_kb").unwrap_or(0.0),
            )
        })
        .collect()
}

fn history_target(r: &Results) -> TargetRow {
    let name = "history at 100,000 messages";
    let goal = format!("latency <= {:.0}x that at 100", target::HISTORY_RATIO);
    let Some(v) = r.history.value() else {
        return not_measured(name, goal, r.history.why_missing());
    };
    let latest = num(v, "/result/p50_ratio_largest_to_smallest/latest");
    let after = num(v, "/result/p50_ratio_largest_to_smallest/after");
    let before = num(v, "/result/p50_ratio_largest_to_smallest/before");
    let worst = [latest, after, before]
        .into_iter()
        .flatten()
        .fold(f64::NAN, f64::max);
    if worst.is_nan() {
        return not_measured(name, goal, "no ratio".into());
    }
    let met = worst <= target::HISTORY_RATIO;
    let rooms = v
        .pointer("/result/rooms")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let d1 = |i: usize, kind: &str| {
        rooms
            .get(i)
            .and_then(|r| num(r, &format!("/pages/{kind}/d1_ms/p50")))
    };
    let last = rooms.len().saturating_sub(1);
    row(
        name,
        goal,
        format!(
            "p50 ratio latest {}x, after {}x, before {}x",
            ratio(latest),
            ratio(after),
            ratio(before)
        ),
        if met { Verdict::Met } else { Verdict::Missed },
        format!(
            "each page is one indexed range read on messages(room_id, seq); D1 p50 (latest) {} ms at \
             the smallest room, {} ms at the largest",
            ms(d1(0, "latest")),
            ms(d1(last, "latest")),
        ),
    )
}

fn ratio(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), |x| format!("{x:.2}"))
}

fn wasm_target(r: &Results) -> Vec<TargetRow> {
    let mut out = Vec::new();
    for (key, label) in [("wasm_gz_bytes", "free"), ("wasm_paid_gz_bytes", "paid")] {
        let name = format!("wasm bundle ({label})");
        let goal = "<= 250 KB gzipped (256,000 bytes)".to_owned();
        match num(&r.meta, &format!("/{key}")) {
            Some(b) => out.push(row(
                &name,
                goal,
                format!("{:.0} bytes ({:.0} KB)", b, b / 1024.0),
                if b <= target::WASM_GZ_BYTES {
                    Verdict::Met
                } else {
                    Verdict::Missed
                },
                "gzip -9c of the built index_bg.wasm".to_owned(),
            )),
            None if label == "free" => out.push(not_measured(&name, goal, "no build".into())),
            None => {}
        }
    }
    out
}

fn soak_target(r: &Results) -> TargetRow {
    let name = "soak with a server restart";
    let goal = "every listener saw every stored message exactly once, in order".to_owned();
    let Some(v) = r.soak.value() else {
        return not_measured(name, goal, r.soak.why_missing());
    };
    let ok = v.get("ok").and_then(Value::as_bool).unwrap_or(false);
    let restart = if v.pointer("/result/restart").is_some_and(|x| !x.is_null()) {
        format!(
            "restart at {} s took {} s (exit {})",
            int(num(v, "/result/restart/at_s")),
            ms(num(v, "/result/restart/duration_s")),
            text(v, "/result/restart/exit")
        )
    } else {
        "no restart".to_owned()
    };
    let notes = v
        .get("notes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    row(
        name,
        goal,
        format!(
            "{} stored; lost {}, dup {}, out of order {}",
            int(num(v, "/result/stored")),
            int(num(v, "/result/totals/lost")),
            int(num(v, "/result/totals/duplicated")),
            int(num(v, "/result/totals/out_of_order")),
        ),
        if ok { Verdict::Met } else { Verdict::Missed },
        format!(
            "{restart}; {} connections, stream ends {}{}",
            int(num(v, "/result/streams/connections")),
            v.pointer("/result/streams/ends")
                .map(Value::to_string)
                .unwrap_or_default(),
            if notes.is_empty() {
                String::new()
            } else {
                format!("; {notes}")
            }
        ),
    )
}

/// Every target, judged.
pub fn evaluate(r: &Results) -> Vec<TargetRow> {
    let mut rows = vec![
        send_target(r),
        sse_target(r),
        idle_target(r),
        ws_target(r),
        rss_target(r),
        history_target(r),
    ];
    rows.extend(wasm_target(r));
    rows.push(soak_target(r));
    rows
}

fn load_range(r: &Results) -> String {
    let mut samples = Vec::new();
    let all: Vec<&Found> = r
        .send
        .iter()
        .chain(&r.fanout_sse)
        .chain(&r.fanout_ws)
        .map(|(_, f)| f)
        .chain([
            &r.fanout_sse_immediate,
            &r.fanout_sse_long,
            &r.history,
            &r.idle,
            &r.soak,
        ])
        .collect();
    for f in all {
        if let Some(v) = f.value() {
            for p in ["/load_avg/start/0", "/load_avg/end/0"] {
                if let Some(x) = num(v, p) {
                    samples.push(x);
                }
            }
        }
    }
    if samples.is_empty() {
        return "not sampled".to_owned();
    }
    let med = crate::stats::median(&samples).unwrap_or(0.0);
    let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "1-minute load average at scenario starts and ends: median {med:.2}, range {min:.2}–{max:.2} \
         ({} samples) on {} cores",
        samples.len(),
        text(&r.meta, "/machine/nproc")
    )
}

/// The whole markdown document.
pub fn render(r: &Results) -> String {
    let m = &r.meta;
    let mut o = String::new();
    let _ = writeln!(o, "# Benchmarks\n");
    let _ = writeln!(
        o,
        "Written by `make bench` (scripts/bench.sh, then `meet-ai-loadtest report`) on {} at commit \
         `{}`. Regenerate rather than edit: every number below comes from the result files of that run.\n",
        text(m, "/date"),
        text(m, "/commit")
    );
    let _ = writeln!(o, "## Setup\n");
    let _ = writeln!(o, "- **Runner:** {}", text(m, "/runner_detail"));
    let _ = writeln!(
        o,
        "- **Machine:** {} cores ({}), {} MB memory, {}",
        text(m, "/machine/nproc"),
        text(m, "/machine/cpu_model"),
        int(num(m, "/machine/mem_total_kb").map(|k| k / 1024.0)),
        text(m, "/machine/os")
    );
    let _ = writeln!(o, "- **Noise:** {}", load_range(r));
    let _ = writeln!(o, "- **Server settings:** {}", text(m, "/server_vars"));
    let _ = writeln!(
        o,
        "- **Load generator:** `meet-ai-loadtest` (release build) on the same machine, talking to \
         the Worker over loopback; latency runs from the start of a request (or of the send, for \
         delivery) to the last byte received."
    );
    if let Some(notes) = m.get("notes").and_then(Value::as_array) {
        for n in notes.iter().filter_map(Value::as_str) {
            let _ = writeln!(o, "- **Note:** {n}");
        }
    }
    let _ = writeln!(o, "\n## Targets\n");
    let _ = writeln!(o, "| Target | Goal | Measured | Verdict | Why |");
    let _ = writeln!(o, "| --- | --- | --- | --- | --- |");
    for t in evaluate(r) {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            t.name,
            cell(&t.target),
            cell(&t.measured),
            t.verdict.label(),
            cell(&t.why)
        );
    }

    let found = findings(r);
    if !found.is_empty() {
        let _ = writeln!(o, "\n## Findings\n");
        for (i, f) in found.iter().enumerate() {
            let _ = writeln!(o, "{}. {f}", i + 1);
        }
    }
    let _ = writeln!(o, "\n## send: N senders posting as fast as they can\n");
    let _ = writeln!(
        o,
        "Each sender has its own key and room and one request in flight. Latency is per accepted POST. \
         D1 time is what the Worker reports in Server-Timing (its D1 calls, as the Worker's clock \
         sees them). \"health\" is `GET /api/health` (no auth, no D1) from the same number of \
         clients just before: the cost of a request's path through the runner and runtime alone."
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "| senders | seconds | accepted msg/s | statuses | p50 ms | p90 ms | p99 ms | max ms | D1 p50 ms | D1 p99 ms | D1 share | queries/msg | health p50 / p99 ms |"
    );
    let _ = writeln!(
        o,
        "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for (n, f) in &r.send {
        match f.value() {
            Some(v) => {
                let _ = writeln!(
                    o,
                    "| {n} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |",
                    text(v, "/params/seconds"),
                    int(num(v, "/result/accepted_per_s")),
                    cell(&text(v, "/result/statuses")),
                    ms(num(v, "/result/latency_ms/p50")),
                    ms(num(v, "/result/latency_ms/p90")),
                    ms(num(v, "/result/latency_ms/p99")),
                    ms(num(v, "/result/latency_ms/max")),
                    ms(num(v, "/result/d1_ms/p50")),
                    ms(num(v, "/result/d1_ms/p99")),
                    num(v, "/result/d1_share_of_latency")
                        .map_or("–".into(), |s| format!("{:.0}%", s * 100.0)),
                    ms(num(v, "/result/d1_queries_per_message")),
                    ms(num(v, "/result/health_baseline_ms/p50")),
                    ms(num(v, "/result/health_baseline_ms/p99")),
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "| {n} | did not run: {} ||||||||||||",
                    cell(&f.why_missing())
                );
            }
        }
    }

    for (title, list) in [("SSE", &r.fanout_sse), ("WebSocket", &r.fanout_ws)] {
        let _ = writeln!(o, "\n## fanout over {title}: L listeners, one sender\n");
        if title == "SSE" {
            let _ = writeln!(
                o,
                "Delivery latency runs from the start of the send to the listener's receipt. \
                 \"connected\" counts messages sent while the listener's stream was open; \
                 \"across reconnect\" those sent while it was between streams (they wait for the \
                 reconnect and its replay). Before the timed sends one warm-up message goes to \
                 every listener, so the timed ones measure an active room; \"first message\" is \
                 that warm-up's latency, what the first message into a quiet room costs. Loss, \
                 repeats and order are judged against the room's stored history (warm-up \
                 included), read back with `after` paging.\n"
            );
        }
        let _ = writeln!(
            o,
            "| listeners | msg/s | stored | delivered | lost | dup | out of order | p50 ms | p90 ms | p99 ms | max ms | p99 connected | p99 across reconnect (n) | first message max ms | POST p99 ms | connections |"
        );
        let _ = writeln!(o, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        let mut rows: Vec<(String, &Found)> =
            list.iter().map(|(n, f)| (n.to_string(), f)).collect();
        if title == "SSE" && r.fanout_sse_immediate.value().is_some() {
            rows.push((
                "50, reconnecting at once (diagnostic)".to_owned(),
                &r.fanout_sse_immediate,
            ));
        }
        if title == "SSE" {
            if let Some(v) = r.fanout_sse_long.value() {
                rows.push((
                    format!("50, {} s (diagnostic)", int(num(v, "/params/seconds"))),
                    &r.fanout_sse_long,
                ));
            }
        }
        for (n, f) in rows {
            match f.value() {
                Some(v) => {
                    let _ = writeln!(
                        o,
                        "| {n} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) | {} | {} | {} |",
                        text(v, "/params/rate"),
                        int(num(v, "/result/stored")),
                        int(num(v, "/result/totals/received")),
                        int(num(v, "/result/totals/lost")),
                        int(num(v, "/result/totals/duplicated")),
                        int(num(v, "/result/totals/out_of_order")),
                        ms(num(v, "/result/delivery_ms/p50")),
                        ms(num(v, "/result/delivery_ms/p90")),
                        ms(num(v, "/result/delivery_ms/p99")),
                        ms(num(v, "/result/delivery_ms/max")),
                        ms(num(v, "/result/delivery_connected_ms/p99")),
                        ms(num(v, "/result/delivery_across_reconnect_ms/p99")),
                        int(num(v, "/result/delivery_across_reconnect_ms/count")),
                        ms(num(v, "/result/warmup_delivery_ms/max")),
                        ms(num(v, "/result/post_latency_ms/p99")),
                        int(num(v, "/result/streams/connections")),
                    );
                }
                None => {
                    let _ = writeln!(
                        o,
                        "| {n} | not run: {} |||||||||||||||",
                        cell(&f.why_missing())
                    );
                }
            }
        }
    }

    let _ = writeln!(o, "\n## history: page latency by room size\n");
    match r.history.value() {
        Some(v) => {
            let _ = writeln!(
                o,
                "Rooms seeded by {} ({} s). `latest` is the newest page; `after` and `before` start at \
                 a random message. {} requests of each kind per room, interleaved across rooms, {} \
                 messages a page.\n",
                text(v, "/result/seeding/method"),
                ms(num(v, "/result/seeding/seconds")),
                text(v, "/params/requests"),
                text(v, "/params/limit"),
            );
            let _ = writeln!(
                o,
                "| messages | page | p50 ms | p90 ms | p99 ms | max ms | D1 p50 ms | D1 rows read (p50) |"
            );
            let _ = writeln!(
                o,
                "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
            );
            for room in v
                .pointer("/result/rooms")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for kind in ["latest", "after", "before"] {
                    let p = |x: &str| num(room, &format!("/pages/{kind}/{x}"));
                    let _ = writeln!(
                        o,
                        "| {} | {kind} | {} | {} | {} | {} | {} | {} |",
                        int(num(room, "/messages")),
                        ms(p("latency_ms/p50")),
                        ms(p("latency_ms/p90")),
                        ms(p("latency_ms/p99")),
                        ms(p("latency_ms/max")),
                        ms(p("d1_ms/p50")),
                        if p("d1_rows_read/count").unwrap_or(0.0) > 0.0 {
                            int(p("d1_rows_read/p50"))
                        } else {
                            "–".to_owned()
                        },
                    );
                }
            }
        }
        None => {
            let _ = writeln!(o, "Did not run: {}", r.history.why_missing());
        }
    }

    let _ = writeln!(o, "\n## idle SSE listener\n");
    match r.idle.value() {
        Some(v) => {
            let _ = writeln!(
                o,
                "One listener on a room with no messages for {} s (run alongside the send, fanout \
                 and history scenarios, on its own room: a stream's poll schedule depends only on \
                 its own room).\n",
                text(v, "/params/seconds")
            );
            let _ = writeln!(
                o,
                "| complete cycles | cycle s | queries per stream | requests/hour | D1 queries/s \
                 | rows read per stream | rows read/hour |"
            );
            let _ = writeln!(o, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} |",
                int(num(v, "/result/complete_cycles")),
                ms(num(v, "/result/mean_cycle_s")),
                ms(num(v, "/result/queries_per_stream")),
                ms(num(v, "/result/requests_per_hour")),
                num(v, "/result/d1_queries_per_s").map_or("–".into(), |q| format!("{q:.3}")),
                ms(num(v, "/result/rows_read_per_stream")),
                int(num(v, "/result/rows_read_per_hour")),
            );
        }
        None => {
            let _ = writeln!(o, "Did not run: {}", r.idle.why_missing());
        }
    }

    let _ = writeln!(o, "\n## soak\n");
    match r.soak.value() {
        Some(v) => {
            let _ = writeln!(
                o,
                "{} listeners for {} minutes; the sender alternates {} s at {} msg/s with {} s quiet \
                 and retries failed sends with the same Idempotency-Key; restart hook at {} s.\n",
                text(v, "/params/listeners"),
                text(v, "/params/minutes"),
                text(v, "/params/active_seconds"),
                text(v, "/params/rate"),
                text(v, "/params/quiet_seconds"),
                text(v, "/params/restart_after"),
            );
            let _ = writeln!(o, "| stored | delivered | lost | dup | out of order | p50 ms | p99 ms | max ms | connections | stream ends | sender attempts / accepted / gave up | verdict |");
            let _ = writeln!(o, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |");
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} / {} | {} |",
                int(num(v, "/result/stored")),
                int(num(v, "/result/totals/received")),
                int(num(v, "/result/totals/lost")),
                int(num(v, "/result/totals/duplicated")),
                int(num(v, "/result/totals/out_of_order")),
                ms(num(v, "/result/delivery_ms/p50")),
                ms(num(v, "/result/delivery_ms/p99")),
                ms(num(v, "/result/delivery_ms/max")),
                int(num(v, "/result/streams/connections")),
                cell(&text(v, "/result/streams/ends")),
                int(num(v, "/result/sender/attempts")),
                int(num(v, "/result/sender/accepted")),
                int(num(v, "/result/sender/gave_up")),
                if v.get("ok").and_then(Value::as_bool) == Some(true) {
                    "ok"
                } else {
                    "**FAILED**"
                },
            );
        }
        None => {
            let _ = writeln!(o, "Did not run: {}", r.soak.why_missing());
        }
    }

    crate::report_wake::render(&mut o, &r.wake, &[&r.waiting, &r.waiting_history]);

    let _ = writeln!(o, "\n## Memory and cost\n");
    let series = rss_series(m);
    if !series.is_empty() {
        let _ = writeln!(
            o,
            "workerd RSS of the free runner after each scenario (MB). \"proxy\" is wrangler's local \
             proxy process in front of the Worker; \"runtime\" the process running the Worker's \
             isolate with the local D1, KV and Durable Object simulators. The WebSocket rows ran \
             on a second (paid) runner; this one was idle meanwhile.\n"
        );
        let _ = writeln!(o, "| after | total | proxy | runtime |");
        let _ = writeln!(o, "| --- | ---: | ---: | ---: |");
        for (after, total, proxy, runtime) in &series {
            let _ = writeln!(
                o,
                "| {after} | {:.0} | {:.0} | {:.0} |",
                total / 1024.0,
                proxy / 1024.0,
                runtime / 1024.0
            );
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(
        o,
        "- workerd RSS (MB): start {}, after send/fanout/history/idle {}, peak {}, end of soak {}.",
        int(num(m, "/rss_kb/before").map(|k| k / 1024.0)),
        int(num(m, "/rss_kb/after_load").map(|k| k / 1024.0)),
        int(num(m, "/rss_kb/peak").map(|k| k / 1024.0)),
        int(num(m, "/rss_kb/after_soak").map(|k| k / 1024.0)),
    );
    let mut queries = 0.0;
    let mut requests = 0.0;
    for f in r
        .send
        .iter()
        .chain(&r.fanout_sse)
        .chain(&r.fanout_ws)
        .map(|(_, f)| f)
        .chain([
            &r.fanout_sse_immediate,
            &r.fanout_sse_long,
            &r.history,
            &r.idle,
            &r.soak,
            &r.wake,
            &r.waiting,
            &r.waiting_history,
        ])
    {
        if let Some(v) = f.value() {
            queries += num(v, "/cost/d1_queries").unwrap_or(0.0)
                + num(v, "/result/streams/queries_in_completed_streams").unwrap_or(0.0);
            requests += num(v, "/cost/requests").unwrap_or(0.0);
        }
    }
    let _ = writeln!(
        o,
        "- D1 queries seen across the measured phases: {queries:.0} over {requests:.0} requests \
         (Server-Timing of every response, plus each completed event stream's `bye queries=N`)."
    );

    let _ = writeln!(o, "\n## Reproduce\n");
    let _ = writeln!(o, "```sh");
    if let Some(cmds) = m.get("commands").and_then(Value::as_array) {
        for c in cmds.iter().filter_map(Value::as_str) {
            let _ = writeln!(o, "{c}");
        }
    }
    let _ = writeln!(o, "```");
    o
}

/// What the numbers say beyond met or missed, and the Worker changes they
/// point to. Each item appears only when its evidence is in the results.
pub fn findings(r: &Results) -> Vec<String> {
    let mut out = Vec::new();
    let limit_fallback = r
        .meta
        .get("notes")
        .and_then(Value::as_array)
        .is_some_and(|n| {
            n.iter()
                .filter_map(Value::as_str)
                .any(|t| t.contains("RATE_MESSAGES_PER_MINUTE=0"))
        });
    if limit_fallback {
        out.push(
            "**Limit \"off\" breaks sending.** With `RATE_MESSAGES_PER_MINUTE=0` every \
             `POST /api/rooms/:id/messages` answers 500 (`D1_ERROR: Wrong number of parameter \
             bindings`): `store::messages::insert` drops the rate-limit clause (the only user of \
             `?10` and `?11`) when `max == 0` but still binds all 11 arguments, and D1 refuses a \
             statement with more bindings than placeholders. Fix in the Worker: bind \
             `window_start_ms` and `max` only when the clause is present (or keep the clause and \
             write it as `AND (?11 = 0 OR (SELECT COUNT(*) ...) < ?11)`). These runs used a limit \
             of 10^9 instead, so every send still pays the limit's COUNT over the key's last \
             minute of messages (up to several thousand index entries per send at full speed)."
                .to_owned(),
        );
    }
    if let Some(v) = find(&r.fanout_sse, 50).and_then(Found::value) {
        // The share of seam-crossing messages is steadier over the long run.
        let (seam, seam_label) = match r.fanout_sse_long.value() {
            Some(l) => (l, format!("Over {} s", int(num(l, "/params/seconds")))),
            None => (v, format!("Over {} s", int(num(v, "/params/seconds")))),
        };
        let across = num(seam, "/result/delivery_across_reconnect_ms/count").unwrap_or(0.0);
        let total = num(seam, "/result/delivery_ms/count").unwrap_or(0.0);
        if across > 0.0 && total > 0.0 {
            let diag = r.fanout_sse_immediate.value().map_or(String::new(), |d| {
                format!(
                    " In the diagnostic run whose listeners reconnect at once, messages sent \
                     across a reconnect arrived with p99 {} ms ({} of them).",
                    ms(num(d, "/result/delivery_across_reconnect_ms/p99")),
                    int(num(d, "/result/delivery_across_reconnect_ms/count")),
                )
            });
            let share = across / total * 100.0;
            let waited = format!(
                "{seam_label}, {share:.1}% of SSE deliveries at 50 listeners were of messages sent \
                 while a listener was between streams (p99 is set by them once that share passes \
                 1%); they took a median {} ms (max {} ms) against {} ms for the rest",
                ms(num(seam, "/result/delivery_across_reconnect_ms/p50")),
                ms(num(seam, "/result/delivery_across_reconnect_ms/max")),
                ms(num(seam, "/result/delivery_connected_ms/p50")),
            );
            let retry = num(seam, "/result/streams/retry_after_bye_ms");
            match retry {
                Some(rt) if rt <= 200.0 => out.push(format!(
                    "**The SSE seam is short.** Streams that end on their poll budget ask for \
                     `retry: {rt:.0}` before their goodbye, so EventSource reconnects almost at \
                     once. {waited}.{diag}"
                )),
                _ => out.push(format!(
                    "**The SSE seam costs the retry wait.** {waited}. A stream ends itself on its \
                     poll budget every ~20 s in an active room, and EventSource then waits the \
                     `retry:` hint ({}) before reconnecting.{diag} Recommended Worker change: \
                     when a stream ends on its budget (a planned end, not an error), write a \
                     short `retry: 100` just before the `: bye` comment, so EventSource \
                     reconnects at once; the next stream's opening `retry:` restores the normal \
                     value for real errors. No change to the query budget.",
                    retry.map_or("SSE_RETRY_MS".to_owned(), |x| format!("{x:.0} ms")),
                )),
            }
        }
        if let Some(w) = num(v, "/result/warmup_delivery_ms/max") {
            out.push(format!(
                "**A room's first message.** The warm-up message (the first into the room, sent \
                 right after the 50 listeners connected) reached the last of them after {} ms \
                 (p50 {} ms). Streams speed up only once they see a message: in a room quiet for \
                 a while they poll at the idle interval (SSE_IDLE_POLL_MS, 2 s), so its first \
                 message can take up to that. This is the price of the idle budget, not a defect.",
                ms(Some(w)),
                ms(num(v, "/result/warmup_delivery_ms/p50")),
            ));
        }
    }
    if let Some(v) = find(&r.send, 4).and_then(Found::value) {
        if let (Some(post), Some(health), Some(d1)) = (
            num(v, "/result/latency_ms/p50"),
            num(v, "/result/health_baseline_ms/p50"),
            num(v, "/result/d1_ms/p50"),
        ) {
            out.push(format!(
                "**Where a send's time goes (4 senders, medians).** POST {} ms = runner and \
                 runtime path {} ms (GET /api/health from 4 clients) + D1 {} ms (one round trip: \
                 a batch of the key lookup and the INSERT, which authenticates the key by its \
                 hash and checks room and limit) + the Worker's own work {} ms. Locally the \
                 runner adds a hop (wrangler's proxy worker in front of the user worker), which \
                 a deployment does not have; against remote D1 the single round trip matters \
                 more than here.",
                ms(Some(post)),
                ms(Some(health)),
                ms(Some(d1)),
                ms(Some((post - health - d1).max(0.0))),
            ));
        }
    }
    out.push(
        "**Benchmarks serve a snapshot.** wrangler watches the assets folder even with watching \
         off (and so does `wrangler dev`, which the e2e harness runs): any rebuild of public/ by \
         another build in the same tree reloads the Worker and drops every open stream. \
         scripts/bench.sh serves copies of build/ and public/ for that reason; tests that hold \
         streams open while `make web` runs elsewhere can see unexpected reconnects."
            .to_owned(),
    );
    out
}

pub fn run(args: &ReportArgs) -> Result<(), String> {
    let md = if args.mentions_only {
        let dir = &args.results;
        let waiting = [
            load(dir, "waiting", None),
            load(dir, "waiting-history", None),
        ];
        let mut md = String::new();
        crate::report_wake::render(
            &mut md,
            &load(dir, "wake", None),
            &[&waiting[0], &waiting[1]],
        );
        md
    } else {
        render(&Results::read(&args.results)?)
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
    use serde_json::json;

    fn results() -> Results {
        Results {
            meta: json!({"sse_active_poll_ms": 500, "rss_kb": {"before": 100_000, "after_load": 200_000},
                         "wasm_gz_bytes": 200_000, "machine": {"nproc": 2}}),
            send: vec![(
                4,
                Found::Ran(json!({"scenario": "send", "result": {
                "accepted_per_s": 550.0, "latency_ms": {"p99": 21.0, "mean": 7.0},
                "d1_ms": {"p50": 2.0, "p99": 5.0}, "d1_share_of_latency": 0.3}})),
            )],
            fanout_sse: vec![(
                50,
                Found::Ran(json!({"scenario": "fanout", "result": {
                "totals": {"lost": 0, "duplicated": 0, "out_of_order": 0},
                "delivery_ms": {"p99": 590.0, "count": 100},
                "delivery_across_reconnect_ms": {"count": 0}}})),
            )],
            fanout_ws: vec![(50, Found::Missing("no paid variant".into()))],
            fanout_sse_immediate: Found::Missing("no result file".into()),
            fanout_sse_long: Found::Missing("no result file".into()),
            history: Found::Ran(json!({"scenario": "history", "result": {
                "p50_ratio_largest_to_smallest": {"latest": 1.1, "after": 1.3, "before": null}}})),
            idle: Found::Ran(json!({"scenario": "idle", "result": {
                "d1_queries_per_s": 0.27, "requests_per_hour": 20.7,
                "rows_read_per_hour": 1200.0}})),
            soak: Found::Missing("stopped".into()),
            wake: Found::Missing("no result file".into()),
            waiting: Found::Missing("no result file".into()),
            waiting_history: Found::Missing("no result file".into()),
        }
    }

    fn verdict(rows: &[TargetRow], prefix: &str) -> Verdict {
        rows.iter()
            .find(|r| r.name.starts_with(prefix))
            .unwrap_or_else(|| panic!("no row {prefix}"))
            .verdict
    }

    #[test]
    fn judges_each_target() {
        let rows = evaluate(&results());
        assert_eq!(verdict(&rows, "send"), Verdict::Met);
        assert_eq!(verdict(&rows, "SSE"), Verdict::Met);
        assert_eq!(verdict(&rows, "idle"), Verdict::Met);
        assert_eq!(verdict(&rows, "WS"), Verdict::NotMeasured);
        assert_eq!(verdict(&rows, "workerd"), Verdict::Met);
        assert_eq!(verdict(&rows, "history"), Verdict::Met);
        assert_eq!(verdict(&rows, "wasm bundle (free)"), Verdict::Met);
        assert_eq!(verdict(&rows, "soak"), Verdict::NotMeasured);
        let ws = rows.iter().find(|r| r.name.starts_with("WS")).unwrap();
        assert_eq!(ws.why, "no paid variant");
    }

    #[test]
    fn misses_are_misses() {
        let mut r = results();
        r.send[0].1 = Found::Ran(json!({"scenario": "send", "result": {
            "accepted_per_s": 550.0, "latency_ms": {"p99": 31.0, "mean": 7.0},
            "d1_ms": {"p50": 2.0, "p99": 5.0}, "d1_share_of_latency": 0.3}}));
        r.fanout_sse[0].1 = Found::Ran(json!({"scenario": "fanout", "result": {
            "totals": {"lost": 0, "duplicated": 1, "out_of_order": 0},
            "delivery_ms": {"p99": 100.0, "count": 100}}}));
        r.meta["rss_kb"]["after_load"] = json!(400 * 1024);
        r.meta["wasm_gz_bytes"] = json!(256_001);
        r.history = Found::Ran(json!({"scenario": "history", "result": {
            "p50_ratio_largest_to_smallest": {"latest": 1.1, "after": 2.5}}}));
        r.idle = Found::Ran(json!({"scenario": "idle", "result": {
            "d1_queries_per_s": 0.5, "requests_per_hour": 20.0, "rows_read_per_hour": 5600.0}}));
        let rows = evaluate(&r);
        for prefix in ["send", "SSE", "idle", "workerd", "history", "wasm"] {
            assert_eq!(verdict(&rows, prefix), Verdict::Missed, "{prefix}");
        }
        let send = rows.iter().find(|r| r.name.starts_with("send")).unwrap();
        assert!(send.why.contains("outside D1"), "{}", send.why);
    }

    #[test]
    fn whole_numbers_read_plainly() {
        let v = json!({"a": 250.0, "b": 2.5, "c": "x", "d": null, "e": [1]});
        assert_eq!(text(&v, "/a"), "250");
        assert_eq!(text(&v, "/b"), "2.5");
        assert_eq!(text(&v, "/c"), "x");
        assert_eq!(text(&v, "/d"), "");
        assert_eq!(text(&v, "/e"), "[1]");
    }

    #[test]
    fn findings_follow_the_evidence() {
        let mut r = results();
        let f = findings(&r);
        assert!(!f.iter().any(|x| x.contains("Limit")));
        assert!(f.iter().any(|x| x.contains("snapshot")));
        r.meta["notes"] = json!(["With RATE_MESSAGES_PER_MINUTE=0 (limit off) every send failed"]);
        r.fanout_sse[0].1 = Found::Ran(json!({"scenario": "fanout", "result": {
            "delivery_ms": {"p99": 900.0, "count": 100},
            "delivery_connected_ms": {"p50": 250.0},
            "delivery_across_reconnect_ms": {"count": 5, "p50": 600.0, "max": 1100.0}}}));
        let f = findings(&r);
        assert!(f
            .iter()
            .any(|x| x.contains("Wrong number of parameter bindings")));
        let seam = f.iter().find(|x| x.contains("seam")).expect("seam finding");
        assert!(seam.contains("5.0%"), "{seam}");
        assert!(seam.contains("Recommended Worker change"), "{seam}");
        // Once the server asks for a short retry on planned ends, no recommendation.
        r.fanout_sse[0].1 = Found::Ran(json!({"scenario": "fanout", "result": {
            "delivery_ms": {"p99": 520.0, "count": 100},
            "delivery_connected_ms": {"p50": 250.0},
            "delivery_across_reconnect_ms": {"count": 5, "p50": 300.0, "max": 500.0},
            "streams": {"retry_after_bye_ms": 100.0}}}));
        let f = findings(&r);
        let seam = f.iter().find(|x| x.contains("seam")).expect("seam finding");
        assert!(
            seam.contains("`retry: 100`") && !seam.contains("Recommended"),
            "{seam}"
        );
    }

    #[test]
    fn the_long_sse_run_can_overturn_a_met_target() {
        let mut r = results();
        assert_eq!(verdict(&evaluate(&r), "SSE"), Verdict::Met);
        r.fanout_sse_long = Found::Ran(json!({"scenario": "fanout", "params": {"seconds": 60},
            "result": {"totals": {"lost": 0, "duplicated": 0, "out_of_order": 0},
            "delivery_ms": {"p99": 900.0, "count": 300},
            "delivery_across_reconnect_ms": {"count": 15}}}));
        let rows = evaluate(&r);
        assert_eq!(verdict(&rows, "SSE"), Verdict::Missed);
        let why = &rows.iter().find(|x| x.name.starts_with("SSE")).unwrap().why;
        assert!(why.contains("does not hold in steady state"), "{why}");
        assert!(why.contains("5.0%"), "{why}");
    }

    #[test]
    fn sse_limit_follows_the_poll_interval() {
        let mut r = results();
        r.meta["sse_active_poll_ms"] = json!(400);
        // 590 ms > 400 + 100.
        assert_eq!(verdict(&evaluate(&r), "SSE"), Verdict::Missed);
    }

    #[test]
    fn renders_every_section_even_with_gaps() {
        let md = render(&results());
        for section in [
            "## Targets",
            "## send",
            "## fanout over SSE",
            "## fanout over WebSocket",
            "## history",
            "## idle",
            "## soak",
            "## Reproduce",
        ] {
            assert!(md.contains(section), "{section}");
        }
        assert!(md.contains("not run: no paid variant"));
        assert!(md.contains("Did not run: stopped"));
    }

    #[test]
    fn reads_a_results_directory() {
        let dir = std::env::temp_dir().join(format!("lt-report-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("meta.json"),
            r#"{"ws_skipped": "paid env absent"}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("send-4.json"),
            r#"{"scenario":"send","result":{}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("idle.err"),
            "meet-ai-loadtest: connection refused\n\n",
        )
        .unwrap();
        let r = Results::read(&dir).unwrap();
        assert!(find(&r.send, 4).unwrap().value().is_some());
        assert_eq!(r.idle.why_missing(), "meet-ai-loadtest: connection refused");
        assert_eq!(
            find(&r.fanout_ws, 10).unwrap().why_missing(),
            "paid env absent"
        );
        assert_eq!(r.soak.why_missing(), "no result file");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
