//! Black-box smoke test: the real binary against a real `wrangler dev`, a few
//! seconds per scenario, checking that the JSON it prints is consistent.

use std::process::Command;
use std::sync::OnceLock;

use meet_ai_e2e::{Server, ServerOptions};
use serde_json::Value;

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let var = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        Server::start(ServerOptions {
            vars: vec![
                var("RATE_KEYS_PER_HOUR", "0"),
                var("RATE_ROOMS_PER_DAY", "0"),
                var("RATE_MESSAGES_PER_MINUTE", "0"),
                var("RATE_MESSAGES_PER_DAY", "0"),
            ],
            env: None,
        })
    })
}

/// Runs the binary and returns its one JSON object (stdout must hold exactly one).
fn run(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_meet-ai-loadtest"))
        .arg("--url")
        .arg(&server().base)
        .args(["--runner", "wrangler-dev (e2e harness)"])
        .args(args)
        .output()
        .expect("run meet-ai-loadtest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{args:?} exited {:?}\nstdout: {stdout}\nstderr: {stderr}\nserver log:\n{}",
        out.status,
        server().log()
    );
    // Not a terminal: no table or progress bar, only the JSON.
    assert_eq!(
        stdout.lines().count(),
        1,
        "one JSON line expected: {stdout}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn u(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{pointer} missing in {v}"))
}

fn f(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} missing in {v}"))
}

#[test]
fn send_counts_add_up() {
    let v = run(&["send", "--senders", "2", "--seconds", "3"]);
    assert_eq!(v["scenario"], "send");
    assert_eq!(v["ok"], true);
    assert_eq!(v["runner"], "wrangler-dev (e2e harness)");
    let accepted = u(&v, "/result/accepted");
    assert!(accepted > 0, "{v}");
    assert_eq!(u(&v, "/result/statuses/201"), accepted);
    assert_eq!(
        u(&v, "/result/requests"),
        accepted,
        "every request accepted: {v}"
    );
    assert_eq!(u(&v, "/result/latency_ms/count"), accepted);
    let p50 = f(&v, "/result/latency_ms/p50");
    let p99 = f(&v, "/result/latency_ms/p99");
    assert!(p50 > 0.0 && p50 <= p99 && p99 <= f(&v, "/result/latency_ms/max"));
    let rate = f(&v, "/result/accepted_per_s");
    let elapsed = f(&v, "/result/elapsed_s");
    assert!((rate * elapsed - accepted as f64).abs() < 1.0);
    // Every send reported its D1 queries in Server-Timing.
    assert_eq!(u(&v, "/cost/timed_responses"), accepted);
    assert!(u(&v, "/cost/d1_queries") >= accepted);
}

#[test]
fn sse_fanout_delivers_everything_once() {
    let v = run(&[
        "fanout",
        "--transport",
        "sse",
        "--listeners",
        "3",
        "--rate",
        "5",
        "--seconds",
        "3",
    ]);
    assert_eq!(v["scenario"], "fanout");
    assert_eq!(v["ok"], true, "{v}");
    let stored = u(&v, "/result/stored");
    assert_eq!(u(&v, "/result/sent"), 15);
    assert_eq!(u(&v, "/result/send_statuses/201"), 15);
    // The 15 timed sends and the warm-up message.
    assert_eq!(u(&v, "/result/warmup_messages"), 1);
    assert_eq!(stored, 16);
    assert_eq!(u(&v, "/result/warmup_delivery_ms/count"), 3);
    assert_eq!(u(&v, "/result/totals/expected"), 3 * stored);
    assert_eq!(u(&v, "/result/totals/received"), 3 * stored);
    for field in ["lost", "duplicated", "out_of_order", "unknown"] {
        assert_eq!(u(&v, &format!("/result/totals/{field}")), 0, "{field}: {v}");
    }
    let listeners = v["result"]["listeners"].as_array().expect("listeners");
    assert_eq!(listeners.len(), 3);
    for l in listeners {
        assert_eq!(u(l, "/received"), stored);
    }
    // Latency counts the stamped (timed) messages only.
    assert_eq!(u(&v, "/result/delivery_ms/count"), 3 * 15);
    let p50 = f(&v, "/result/delivery_ms/p50");
    assert!(p50 > 0.0 && p50 < 5_000.0, "{v}");
}

#[test]
fn websocket_fanout_fails_clearly_without_the_paid_variant() {
    let out = Command::new(env!("CARGO_BIN_EXE_meet-ai-loadtest"))
        .args(["--url", &server().base])
        .args([
            "fanout",
            "--transport",
            "ws",
            "--listeners",
            "1",
            "--seconds",
            "1",
        ])
        .output()
        .expect("run meet-ai-loadtest");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("features.websocket=false"), "{stderr}");
}

#[test]
fn refuses_remote_urls_without_consent() {
    let out = Command::new(env!("CARGO_BIN_EXE_meet-ai-loadtest"))
        .args([
            "--url",
            "https://meet-ai.example.com",
            "send",
            "--seconds",
            "1",
        ])
        .output()
        .expect("run meet-ai-loadtest");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
}

#[test]
fn wake_returns_each_mention_to_the_waiting_member() {
    let v = run(&[
        "wake",
        "--rounds",
        "3",
        "--min-pause",
        "0.2",
        "--max-pause",
        "1.5",
    ]);
    assert_eq!(v["scenario"], "wake");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(u(&v, "/result/rounds"), 3);
    assert_eq!(u(&v, "/result/errors"), 0, "{v}");
    // Every round's wait returned exactly the message sent (else an error).
    assert_eq!(u(&v, "/result/woken"), 3);
    assert_eq!(u(&v, "/result/wake_ms/count"), 3);
    let rounds = v["result"]["per_round"].as_array().expect("per_round");
    assert_eq!(rounds.len(), 3);
    for r in rounds {
        assert_eq!(r["wait_status"], 200, "{r}");
        assert!(u(r, "/queries") >= 1, "{r}");
    }
    let p50 = f(&v, "/result/wake_ms/p50");
    assert!(p50 > 0.0 && p50 <= f(&v, "/result/wake_ms/max"), "{v}");
    // 3 sends and 3 waits, each with its Server-Timing.
    assert_eq!(u(&v, "/cost/requests"), 6);
    assert_eq!(u(&v, "/cost/timed_responses"), 6);
}

#[test]
fn a_waiting_agent_costs_what_its_timeouts_report() {
    let v = run(&[
        "waiting",
        "--seconds",
        "5",
        "--timeout",
        "2",
        "--history",
        "3",
    ]);
    assert_eq!(v["scenario"], "waiting");
    assert_eq!(v["ok"], true, "{v}");
    let calls = u(&v, "/result/calls");
    assert!(calls >= 2, "{v}");
    // A quiet room: every call ran out its timeout.
    assert_eq!(u(&v, "/result/statuses/204"), calls);
    assert_eq!(u(&v, "/result/errors"), 0);
    assert_eq!(u(&v, "/result/timed_responses"), calls);
    assert_eq!(u(&v, "/cost/requests"), calls);
    let queries = u(&v, "/cost/d1_queries") as f64;
    assert!(queries >= calls as f64, "{v}");
    assert!((f(&v, "/result/queries_per_call") * calls as f64 - queries).abs() < 1e-6);
    let hours = f(&v, "/result/elapsed_s") / 3600.0;
    assert!((f(&v, "/result/requests_per_hour") * hours - calls as f64).abs() < 1e-6);
    let rows = u(&v, "/cost/d1_rows_read") as f64;
    assert!((f(&v, "/result/rows_read_per_hour") * hours - rows).abs() < 1e-3);
    let agents = f(&v, "/result/free_plan_agents");
    let by_requests = 100_000.0 / (f(&v, "/result/requests_per_hour") * 24.0);
    assert!(agents > 0.0 && agents <= by_requests + 1e-9, "{v}");
}
