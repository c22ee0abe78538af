//! Black-box smoke test: the real binary against a real `wrangler dev`, a few
//! seconds per scenario, checking that the JSON it prints is consistent.

use std::process::Command;
use std::sync::OnceLock;

use meet_ai_e2e::{Server, ServerOptions};
use meet_ai_loadtest::report::{FanoutRun, SendRun, WaitingRun, WakeRun};
use serde::de::DeserializeOwned;

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

/// Runs the binary with `args` (space-separated) against `url`.
fn raw(url: &str, args: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_meet-ai-loadtest"))
        .args(["--url", url, "--runner", "wrangler-dev (e2e harness)"])
        .args(args.split(' '))
        .output()
        .expect("run meet-ai-loadtest")
}

/// Runs the binary and reads its one JSON object (stdout must hold exactly
/// one) as the scenario's typed result: the same types the report reads.
fn run<T: DeserializeOwned>(args: &str) -> T {
    let out = raw(&server().base, args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{args:?} exited {:?}\nstdout: {stdout}\nstderr: {stderr}\nserver log:\n{}",
        out.status,
        server().log()
    );
    // Only the JSON.
    assert_eq!(
        stdout.lines().count(),
        1,
        "one JSON line expected: {stdout}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not a result ({e}): {stdout}"))
}

#[test]
fn send_counts_add_up() {
    let v: SendRun = run("send --senders 2 --seconds 3");
    assert_eq!((v.scenario.as_str(), v.ok), ("send", true));
    assert_eq!(v.runner, "wrangler-dev (e2e harness)");
    let r = &v.result;
    assert!(r.accepted > 0, "{r:?}");
    // Every request accepted, each with its latency.
    assert_eq!(
        (r.statuses["201"], r.requests as u64),
        (r.accepted, r.accepted)
    );
    assert_eq!(r.latency_ms.count as u64, r.accepted);
    let l = r.latency_ms;
    assert!(l.p50 > 0.0 && l.p50 <= l.p99 && l.p99 <= l.max);
    assert!((r.accepted_per_s * r.elapsed_s - r.accepted as f64).abs() < 1.0);
    // Every send reported its D1 queries in Server-Timing.
    assert_eq!(v.cost.timed_responses, r.accepted);
    assert!(v.cost.d1_queries >= r.accepted);
}

#[test]
fn sse_fanout_delivers_everything_once() {
    let v: FanoutRun = run("fanout --transport sse --listeners 3 --rate 5 --seconds 3");
    assert_eq!((v.scenario.as_str(), v.ok), ("fanout", true), "{v:?}");
    let (r, d) = (&v.result, &v.result.delivery);
    assert_eq!((r.sent, r.send_statuses["201"]), (15, 15));
    // The 15 timed sends and the warm-up message.
    assert_eq!((r.warmup_messages, r.stored), (1, 16));
    assert_eq!(r.warmup_delivery_ms.count, 3);
    let t = d.totals;
    assert_eq!((t.expected, t.received), (3 * 16, 3 * 16));
    assert_eq!(
        (t.lost, t.duplicated, t.out_of_order, t.unknown),
        (0, 0, 0, 0)
    );
    assert_eq!(d.listeners.len(), 3);
    assert!(d.listeners.iter().all(|l| l.check.received == 16), "{r:?}");
    // Latency counts the stamped (timed) messages only.
    assert_eq!(d.delivery_ms.count, 3 * 15);
    assert!(
        d.delivery_ms.p50 > 0.0 && d.delivery_ms.p50 < 5_000.0,
        "{r:?}"
    );
}

#[test]
fn websocket_fanout_fails_clearly_without_the_paid_variant() {
    let out = raw(
        &server().base,
        "fanout --transport ws --listeners 1 --seconds 1",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The listener gave up at the refusal, instead of retrying for 60 s.
    let why = "listeners connected: gave up: WebSockets need the paid variant";
    assert!(stderr.contains(why), "{stderr}");
}

#[test]
fn refuses_remote_urls_without_consent() {
    let out = raw("https://meet-ai.example.com", "send --seconds 1");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
}

#[test]
fn wake_returns_each_mention_to_the_waiting_member() {
    let v: WakeRun = run("wake --rounds 3 --min-pause 0.2 --max-pause 1.5");
    assert_eq!((v.scenario.as_str(), v.ok), ("wake", true), "{v:?}");
    let r = &v.result;
    assert_eq!((r.rounds, r.errors), (3, 0), "{r:?}");
    // Every round's wait returned exactly the message sent (else an error).
    assert_eq!((r.woken, r.wake_ms.count, r.per_round.len()), (3, 3, 3));
    for round in &r.per_round {
        assert_eq!(round.wait_status, Some(200), "{round:?}");
        assert!(round.queries >= Some(1), "{round:?}");
    }
    assert!(
        r.wake_ms.p50 > 0.0 && r.wake_ms.p50 <= r.wake_ms.max,
        "{r:?}"
    );
    // 3 sends and 3 waits, each with its Server-Timing.
    assert_eq!((v.cost.requests, v.cost.timed_responses), (6, 6));
}

#[test]
fn a_waiting_agent_costs_what_its_timeouts_report() {
    let v: WaitingRun = run("waiting --seconds 5 --timeout 2 --history 3");
    assert_eq!((v.scenario.as_str(), v.ok), ("waiting", true), "{v:?}");
    let r = &v.result;
    let calls = r.calls;
    assert!(calls >= 2, "{r:?}");
    // A quiet room: every call ran out its timeout.
    assert_eq!(r.statuses["204"], calls);
    assert_eq!(
        (r.errors, r.timed_responses, v.cost.requests),
        (0, calls, calls)
    );
    let queries = v.cost.d1_queries as f64;
    assert!(queries >= calls as f64, "{r:?}");
    let per = |x: Option<f64>| x.expect("measured");
    assert!((per(r.queries_per_call) * calls as f64 - queries).abs() < 1e-6);
    let hours = r.elapsed_s / 3600.0;
    assert!((per(r.requests_per_hour) * hours - calls as f64).abs() < 1e-6);
    let rows = v.cost.d1_rows_read as f64;
    assert!((per(r.rows_read_per_hour) * hours - rows).abs() < 1e-3);
    let by_requests = 100_000.0 / (per(r.requests_per_hour) * 24.0);
    let agents = per(r.free_plan_agents);
    assert!(agents > 0.0 && agents <= by_requests + 1e-9, "{r:?}");
}
