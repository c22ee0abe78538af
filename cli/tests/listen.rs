//! Black-box tests of `meet-ai listen` against the real Worker (one server
//! shared by this file): what is printed, in what order, and how it exits.
//! They run against the variant `MEET_AI_E2E_ENV` names, so in auto mode over
//! SSE on the free one and over WebSocket on the paid one; a few pin a
//! transport, and those that need WebSocket skip the free run.

mod common;

use std::time::Duration;

use common::*;
use meet_ai_e2e::{paid_variant, Api, Server};
use protocol::wire::Message;
use serde_json::Value;

const LONG: Duration = Duration::from_secs(60);

fn base() -> String {
    Server::shared().base.clone()
}

fn api() -> Api {
    Api::new(&base())
}

fn json(m: &Message) -> Value {
    serde_json::to_value(m).unwrap()
}

fn lines_json(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test]
async fn listen_prints_only_the_others_messages_in_order_as_json_lines() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    // Sent before listen starts: not printed (listen starts from now).
    api.send(&key, &room.id, "ada", "old news").await;
    let cli = Cli::new(&base(), Some(&key));
    let mut me = cli.spawn(&["listen", &room.id, "--exclude", "me", "--count", "3"]);
    let mut two = cli.spawn(&[
        "listen",
        &room.id,
        "--exclude",
        "me",
        "--exclude",
        "bob",
        "--count",
        "2",
    ]);
    let connected = me.event("connected", LONG);
    assert_eq!(connected["room"], room.id.as_str());
    assert_eq!(connected["transport"], auto_transport());
    two.event("connected", LONG);

    let mut sent = Vec::new();
    for (sender, content) in [
        ("me", "m1"),
        ("ada", "a1"),
        ("me", "m2"),
        ("bob", "b1"),
        ("ada", "a2"),
    ] {
        sent.push(api.send(&key, &room.id, sender, content).await);
    }

    let (status, lines) = me.wait(LONG);
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", me.stderr_seen);
    assert_eq!(
        lines_json(&lines),
        vec![json(&sent[1]), json(&sent[3]), json(&sent[4])]
    );
    // One compact object per line, exactly the server's JSON.
    assert!(lines.iter().all(|l| l.starts_with("{\"id\":")));
    assert_eq!(me.events_seen().last().map(String::as_str), Some("stopped"));

    let (status, lines) = two.wait(LONG);
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", two.stderr_seen);
    assert_eq!(lines_json(&lines), vec![json(&sent[1]), json(&sent[4])]);
    // Lifecycle never reaches stdout; stderr is only lifecycle JSON.
    for line in &two.stderr_seen {
        let v: Value = serde_json::from_str(line).expect("stderr line is JSON");
        assert!(v["event"].is_string(), "{line}");
    }
}

#[tokio::test]
async fn listen_after_replays_what_followed_then_keeps_following() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let each = [("ada", "one"), ("ada", "two"), ("bob", "three")];
    let [m1, m2, m3] = api.send_each(&key, &room.id, each).await;
    let cli = Cli::new(&base(), Some(&key));
    let mut l = cli.spawn(&["listen", &room.id, "--after", &m1.id, "--count", "3"]);
    assert_eq!(l.event("connected", LONG)["after"], m1.id.as_str());
    assert_eq!(l.message(LONG), json(&m2));
    assert_eq!(l.message(LONG), json(&m3));
    let m4 = api.send(&key, &room.id, "ada", "four").await;
    let (status, rest) = l.wait(LONG);
    assert_eq!(status.code(), Some(0));
    assert_eq!(lines_json(&rest), vec![json(&m4)]);
}

#[tokio::test]
async fn waiting_for_one_reply_with_count_and_timeout() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let cli = Cli::new(&base(), Some(&key));
    let mut l = cli.spawn(&[
        "listen",
        &room.id,
        "--exclude",
        "me",
        "--count",
        "1",
        "--timeout",
        "60",
    ]);
    l.event("connected", LONG);
    api.send(&key, &room.id, "me", "a question").await;
    let reply = api.send(&key, &room.id, "ada", "the answer").await;
    api.send(&key, &room.id, "ada", "an afterthought").await;
    let (status, lines) = l.wait(LONG);
    assert_eq!(status.code(), Some(0));
    assert_eq!(lines_json(&lines), vec![json(&reply)]);
}

#[tokio::test]
async fn timeout_exits_7_when_nothing_arrives() {
    let (key, room) = api().key_and_room().await;
    let cli = Cli::new(&base(), Some(&key));
    let mut l = cli.spawn(&["listen", &room.id, "--timeout", "3"]);
    let (status, lines) = l.wait(LONG);
    assert_eq!(status.code(), Some(7), "stderr: {:#?}", l.stderr_seen);
    assert!(lines.is_empty(), "{lines:?}");
    assert_eq!(
        l.stderr_seen.last().map(String::as_str),
        Some("meet-ai: error: no message arrived within 3 seconds (--timeout)")
    );
    assert!(l
        .stderr_seen
        .iter()
        .any(|s| s == r#"{"event":"stopped","reason":"timeout","printed":0}"#));
}

#[tokio::test]
async fn the_timeout_restarts_with_every_printed_message() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let cli = Cli::new(&base(), Some(&key));
    // 8 s of silence ends it; messages 3 s apart keep it alive well past 8 s.
    let mut l = cli.spawn(&["listen", &room.id, "--timeout", "8"]);
    l.event("connected", LONG);
    let mut sent = Vec::new();
    for i in 0..4 {
        if i > 0 {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        sent.push(api.send(&key, &room.id, "ada", &format!("tick {i}")).await);
    }
    let (status, lines) = l.wait(LONG);
    assert_eq!(status.code(), Some(7));
    assert_eq!(
        lines_json(&lines),
        sent.iter().map(json).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn sigterm_exits_0_and_sigint_exits_130() {
    let (key, room) = api().key_and_room().await;
    let cli = Cli::new(&base(), Some(&key));
    for (signal, code, reason) in [(libc::SIGTERM, 0, "sigterm"), (libc::SIGINT, 130, "sigint")] {
        let mut l = cli.spawn(&["listen", &room.id]);
        l.event("connected", LONG);
        l.signal(signal);
        let (status, lines) = l.wait(LONG);
        assert_eq!(status.code(), Some(code), "stderr: {:#?}", l.stderr_seen);
        assert!(lines.is_empty());
        let last: Value = serde_json::from_str(l.stderr_seen.last().unwrap()).unwrap();
        assert_eq!(last["event"], "stopped");
        assert_eq!(last["reason"], reason);
    }
}

#[tokio::test]
async fn a_closed_stdout_ends_listen_quietly_with_0() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let cli = Cli::new(&base(), Some(&key));
    let mut l = Spawned::start_with(cli.command(&["listen", &room.id]), false);
    l.event("connected", LONG);
    api.send(&key, &room.id, "ada", "nobody reads this").await;
    let (status, _) = l.wait(LONG);
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", l.stderr_seen);
    assert!(
        !l.stderr_seen.iter().any(|s| s.contains("error")),
        "{:#?}",
        l.stderr_seen
    );
}

#[tokio::test]
async fn auto_picks_websocket_where_the_server_offers_it_and_sse_pins_sse() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let cli = Cli::new(&base(), Some(&key));
    let mut auto = cli.spawn(&["listen", &room.id, "--count", "1"]);
    let mut sse = cli.spawn(&["listen", &room.id, "--count", "1", "--transport", "sse"]);
    let connected = auto.event("connected", LONG);
    assert_eq!(connected["transport"], auto_transport(), "{connected}");
    assert_eq!(connected["after"], Value::Null, "the room was empty");
    assert_eq!(sse.event("connected", LONG)["transport"], "sse");
    let sent = api.send(&key, &room.id, "ada", "one for both").await;
    for l in [&mut auto, &mut sse] {
        let (status, lines) = l.wait(LONG);
        assert_eq!(status.code(), Some(0), "stderr: {:#?}", l.stderr_seen);
        assert_eq!(lines_json(&lines), vec![json(&sent)]);
    }
}

#[tokio::test]
async fn websocket_prints_exactly_what_was_posted_in_order() {
    if !paid_variant() {
        eprintln!("skipped: the free variant has no WebSocket (run with MEET_AI_E2E_ENV=paid)");
        return;
    }
    let api = api();
    let (key, room) = api.key_and_room().await;
    let before = api.send(&key, &room.id, "ada", "before listen").await;
    let cli = Cli::new(&base(), Some(&key));
    let mut l = cli.spawn(&[
        "listen",
        &room.id,
        "--transport",
        "ws",
        "--exclude",
        "me",
        "--count",
        "12",
    ]);
    let connected = l.event("connected", LONG);
    assert_eq!(connected["transport"], "ws");
    assert_eq!(connected["after"], before.id.as_str(), "starts from now");
    // A replay from the start of the room over the socket, alongside.
    let mut replay = cli.spawn(&[
        "listen",
        &room.id,
        "--transport",
        "ws",
        "--after",
        protocol::validate::START,
        "--count",
        "16",
    ]);
    assert_eq!(replay.event("connected", LONG)["after"], Value::Null);

    let mut sent = Vec::new();
    for i in 0..15 {
        let sender = if i % 5 == 2 { "me" } else { "ada" };
        sent.push(api.send(&key, &room.id, sender, &format!("n{i}")).await);
    }
    let (status, lines) = l.wait(LONG);
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", l.stderr_seen);
    let expected: Vec<Value> = sent.iter().filter(|m| m.sender != "me").map(json).collect();
    assert_eq!(expected.len(), 12);
    assert_eq!(lines_json(&lines), expected);
    assert!(lines.iter().all(|l| l.starts_with("{\"id\":")));
    assert!(
        !l.events_seen().iter().any(|e| e == "warning"),
        "{:#?}",
        l.stderr_seen
    );

    let (status, lines) = replay.wait(LONG);
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", replay.stderr_seen);
    let history: Vec<Value> = api
        .full_history(&key, &room.id)
        .await
        .iter()
        .map(json)
        .collect();
    assert_eq!(lines_json(&lines), history);
}

#[tokio::test]
async fn websocket_on_a_server_without_it_exits_8_with_one_line() {
    if paid_variant() {
        eprintln!("skipped: the paid variant offers WebSocket (this checks the free one)");
        return;
    }
    let (key, room) = api().key_and_room().await;
    let cli = Cli::new(&base(), Some(&key));
    let err = cli.run(&["listen", &room.id, "--transport", "ws"]).error(8);
    assert_eq!(
        err,
        format!(
            "the server at {} does not offer WebSocket (its /api/health does not announce \
             features.websocket); use --transport sse or auto",
            base()
        )
    );
}

#[tokio::test]
async fn losing_access_ends_listen_with_3() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let public = api.set_public(&key, &room.id, true).await;
    assert_eq!(public.status.as_u16(), 200, "{}", public.body);
    // An anonymous reader of the public room.
    let anonymous = Cli::new(&base(), None);
    let mut l = anonymous.spawn(&["listen", &room.id]);
    assert_eq!(l.event("connected", LONG)["transport"], auto_transport());
    let first = api.send(&key, &room.id, "ada", "still public").await;
    assert_eq!(l.message(LONG), json(&first));

    let private = api.set_public(&key, &room.id, false).await;
    assert_eq!(private.status.as_u16(), 200, "{}", private.body);
    // The socket learns at its next delivery, the stream at its next poll.
    api.send(&key, &room.id, "ada", "now private").await;
    let (status, rest) = l.wait(LONG);
    assert_eq!(status.code(), Some(3), "stderr: {:#?}", l.stderr_seen);
    assert!(rest.is_empty(), "{rest:?}");
    let last = l.stderr_seen.last().unwrap();
    assert!(last.starts_with("meet-ai: error: "), "{last}");
}

#[tokio::test]
async fn a_quiet_websocket_is_kept_open_by_its_pings() {
    if !paid_variant() {
        eprintln!("skipped: the free variant has no WebSocket (run with MEET_AI_E2E_ENV=paid)");
        return;
    }
    let api = api();
    let (key, room) = api.key_and_room().await;
    let cli = Cli::new(&base(), Some(&key));
    let mut l = cli.spawn(&["listen", &room.id, "--transport", "ws", "--count", "1"]);
    l.event("connected", LONG);
    // Past the first ping (30 s) and the wait for its answer (15 s more): a
    // server that did not answer would have been given up on by now.
    tokio::time::sleep(Duration::from_secs(50)).await;
    let sent = api.send(&key, &room.id, "ada", "still there?").await;
    let (status, lines) = l.wait(LONG);
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", l.stderr_seen);
    assert_eq!(lines_json(&lines), vec![json(&sent)]);
    assert_eq!(
        l.events_seen(),
        vec!["connected", "stopped"],
        "{:#?}",
        l.stderr_seen
    );
}
