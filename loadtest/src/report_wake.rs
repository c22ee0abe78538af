//! The report's section on mentions (issue 13): mention-to-wake latency from
//! `wake.json` and a waiting agent's cost from `waiting.json`. Kept apart
//! from report.rs, which renders everything else.

use std::fmt::Write as _;

use serde_json::Value;

use crate::report_values::{cell, int, ms, num, text, Found};

pub const SECTION: &str = "## Mentions: wake latency and a waiting agent's cost";

fn per_call(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), |x| format!("{x:.1}"))
}

/// Appends the section to `o`.
pub fn render(o: &mut String, wake: &Found, waiting: &[&Found]) {
    let _ = writeln!(o, "\n{SECTION}\n");
    match wake.value() {
        Some(v) => {
            let _ = writeln!(
                o,
                "A room with an agent member `waiter` and a human member `caller`. Each round the \
                 waiter calls `GET …/wait?for=waiter&timeout={}&ack=1` with its token; after a \
                 random pause of {}–{} s (so the wait's poll schedule, which doubles its interval up \
                 to 2 s while nothing changes, is caught at every phase) the caller posts a message mentioning `@waiter`. \
                 Mention-to-wake latency runs from the start of that POST to the wait's whole 200 \
                 response; \"after the send's response\" subtracts the send itself (negative when \
                 the wait answered first). Every wait must return exactly the message sent; \
                 anything else (another message, a 204, a failure) is an error. Queries and rows \
                 are the wait's own Server-Timing (all its polls, auth and the ack).\n",
                text(v, "/params/timeout"),
                text(v, "/params/min_pause"),
                text(v, "/params/max_pause"),
            );
            let _ = writeln!(
                o,
                "| rounds | woken | errors | p50 ms | p90 ms | p99 ms | max ms | after the send's response p50 / p99 ms | send p50 ms | wait queries/call | wait rows read/call |"
            );
            let _ = writeln!(
                o,
                "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
            );
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {} | {} |",
                int(num(v, "/result/rounds")),
                int(num(v, "/result/woken")),
                int(num(v, "/result/errors")),
                ms(num(v, "/result/wake_ms/p50")),
                ms(num(v, "/result/wake_ms/p90")),
                ms(num(v, "/result/wake_ms/p99")),
                ms(num(v, "/result/wake_ms/max")),
                ms(num(v, "/result/wake_after_send_response_ms/p50")),
                ms(num(v, "/result/wake_after_send_response_ms/p99")),
                ms(num(v, "/result/send_latency_ms/p50")),
                per_call(num(v, "/result/wait_queries_per_call")),
                per_call(num(v, "/result/wait_rows_read_per_call")),
            );
            if let Some(errs) = v.pointer("/result/sample_errors").and_then(Value::as_array) {
                for e in errs.iter().filter_map(Value::as_str) {
                    let _ = writeln!(o, "\n- error: {}", cell(e));
                }
            }
        }
        None => {
            let _ = writeln!(o, "wake did not run: {}", wake.why_missing());
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "A waiting agent's cost: the same kind of room, nobody speaking, the waiter calling \
         `wait?for=waiter&timeout=50&ack=1` back to back, run alongside the other scenarios \
         on its own room; once in an empty room and once caught up (everything read) in a room \
         holding some history. Every call ends in a 204 whose Server-Timing reports all its D1 \
         queries and rows read. \"Agents on the free plan\" is how many such agents, waiting \
         around the clock, fit the free plan's daily allowances: min(100,000 requests / \
         (requests per hour × 24), 5,000,000 rows read / (rows read per hour × 24)).\n"
    );
    let _ = writeln!(
        o,
        "| messages in the room (read) | seconds | timeout s | calls | statuses | mean call s | queries/call | rows read/call | requests/hour | D1 queries/s | rows read/hour | rows written/hour | agents on the free plan |"
    );
    let _ = writeln!(
        o,
        "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for f in waiting {
        match f.value() {
            Some(v) => {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    int(num(v, "/params/history")),
                    text(v, "/params/seconds"),
                    text(v, "/params/timeout"),
                    int(num(v, "/result/calls")),
                    cell(&text(v, "/result/statuses")),
                    ms(num(v, "/result/mean_call_s")),
                    per_call(num(v, "/result/queries_per_call")),
                    per_call(num(v, "/result/rows_read_per_call")),
                    ms(num(v, "/result/requests_per_hour")),
                    num(v, "/result/d1_queries_per_s").map_or("–".into(), |q| format!("{q:.3}")),
                    int(num(v, "/result/rows_read_per_hour")),
                    int(num(v, "/result/rows_written_per_hour")),
                    agents(num(v, "/result/free_plan_agents")),
                );
            }
            None => {
                let _ = writeln!(o, "| did not run: {} ||||||||||||", cell(&f.why_missing()));
            }
        }
    }
    if let Some((history, per_message, per_query)) = history_growth(waiting) {
        if per_message >= 0.5 {
            let _ = writeln!(
                o,
                "\nRows read grow with the room: with {history:.0} messages in it, all read, each call \
                 read {per_message:.1} more rows per message than in the empty room, {per_query:.2} per \
                 query, so every poll reads the whole room rather than what is new. A waiting \
                 agent's cost, and the free plan's room for such agents, falls with the size of its \
                 room."
            );
        }
    }
}

/// When both an empty room and one with read history were measured: how
/// many more rows a call read per message in the room, and per query.
pub fn history_growth(waiting: &[&Found]) -> Option<(f64, f64, f64)> {
    let runs: Vec<&Value> = waiting.iter().filter_map(|f| f.value()).collect();
    let empty = runs
        .iter()
        .find(|v| num(v, "/params/history") == Some(0.0))?;
    let full = runs
        .iter()
        .find(|v| num(v, "/params/history").is_some_and(|h| h > 0.0))?;
    let history = num(full, "/params/history")?;
    let extra =
        num(full, "/result/rows_read_per_call")? - num(empty, "/result/rows_read_per_call")?;
    let per_message = extra / history;
    let per_query = per_message / num(full, "/result/queries_per_call")?.max(1.0);
    Some((history, per_message, per_query))
}

/// Whole agents; below one, the share of one agent's day the plan covers.
fn agents(v: Option<f64>) -> String {
    match v {
        Some(a) if a >= 10.0 => format!("{a:.0}"),
        Some(a) => format!("{a:.1}"),
        None => "–".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_both_tables() {
        let wake = Found::Ran(json!({"scenario": "wake",
            "params": {"timeout": 30, "min_pause": 0.3, "max_pause": 3.0},
            "result": {"rounds": 20, "woken": 20, "errors": 0,
                "wake_ms": {"p50": 612.3, "p90": 1400.0, "p99": 1980.0, "max": 1990.0},
                "wake_after_send_response_ms": {"p50": 600.0, "p99": 1950.0},
                "send_latency_ms": {"p50": 12.5},
                "wait_queries_per_call": 4.25, "wait_rows_read_per_call": 10.0,
                "sample_errors": []}}));
        let waiting = Found::Ran(json!({"scenario": "waiting",
            "params": {"timeout": 50, "seconds": 120.0, "history": 0},
            "result": {"calls": 3, "statuses": {"204": 3}, "mean_call_s": 50.1,
                "queries_per_call": 27.0, "rows_read_per_call": 60.0,
                "requests_per_hour": 71.9, "d1_queries_per_s": 0.54,
                "rows_read_per_hour": 4314.0, "rows_written_per_hour": 72.0,
                "free_plan_agents": 57.9}}));
        let mut o = String::new();
        render(&mut o, &wake, &[&waiting]);
        assert!(o.contains(SECTION));
        assert!(
            o.contains(
                "| 20 | 20 | 0 | 612 | 1400 | 1980 | 1990 | 600 / 1950 | 12.5 | 4.2 | 10.0 |"
            ),
            "{o}"
        );
        assert!(o.contains("timeout=30&ack=1"));
        assert!(
            o.contains("| 3 | {\"204\":3} | 50.1 | 27.0 | 60.0 | 71.9 | 0.540 | 4314 | 72 | 58 |"),
            "{o}"
        );
    }

    #[test]
    fn notices_rows_read_growing_with_the_room() {
        let run = |history: u32, rows: f64| {
            Found::Ran(
                json!({"scenario": "waiting", "params": {"history": history},
                "result": {"rows_read_per_call": rows, "queries_per_call": 28.0}}),
            )
        };
        let (empty, full) = (run(0, 245.0), run(1000, 27_245.0));
        let (h, per_message, per_query) = history_growth(&[&empty, &full]).unwrap();
        assert_eq!(h, 1000.0);
        assert!((per_message - 27.0).abs() < 1e-9);
        assert!((per_query - 27.0 / 28.0).abs() < 1e-9);
        let mut o = String::new();
        render(&mut o, &Found::Missing("x".into()), &[&empty, &full]);
        assert!(o.contains("Rows read grow with the room"), "{o}");
        // Flat cost: no such sentence.
        let mut o = String::new();
        render(
            &mut o,
            &Found::Missing("x".into()),
            &[&empty, &run(1000, 250.0)],
        );
        assert!(!o.contains("Rows read grow"), "{o}");
        assert_eq!(history_growth(&[&empty]), None);
    }

    #[test]
    fn says_why_a_scenario_is_missing() {
        let mut o = String::new();
        render(
            &mut o,
            &Found::Missing("no result file".into()),
            &[&Found::Missing(
                "meet-ai-loadtest: connection refused".into(),
            )],
        );
        assert!(o.contains("wake did not run: no result file"));
        assert!(o.contains("| did not run: meet-ai-loadtest: connection refused |"));
    }
}
