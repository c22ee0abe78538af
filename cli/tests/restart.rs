//! `listen` and `send-message` across a server that goes away and comes back
//! (wrangler dev stopped and started again on the same port and state), and
//! across streams the server ends on purpose. A dedicated server: this test
//! stops it. In auto mode, so over SSE on the free variant and over
//! WebSocket on the paid one.

mod common;

use std::time::Duration;

use common::*;
use meet_ai_e2e::{Api, Server, ServerOptions};
use protocol::wire::Message;
use serde_json::Value;

const LONG: Duration = Duration::from_secs(120);

fn json(m: &Message) -> Value {
    serde_json::to_value(m).unwrap()
}

#[tokio::test]
async fn listen_survives_a_restart_and_prints_everything_exactly_once_in_order() {
    // Few polls per stream: the server ends streams every few seconds, so
    // clean ends and resumes happen on top of the restart.
    let mut server = Server::start(ServerOptions {
        vars: vec![("SSE_MAX_POLLS".into(), "6".into())],
        ..ServerOptions::for_variant()
    });
    let api = Api::new(&server.base);
    let (key, room) = api.key_and_room().await;
    let empty = api.create_room(&key, "empty at start").await;
    let cli = Cli::new(&server.base, Some(&key));

    let mut busy = cli.spawn(&["listen", &room.id, "--count", "7"]);
    let mut quiet = cli.spawn(&["listen", &empty.id, "--count", "2"]);
    let transport = busy.event("connected", LONG)["transport"].clone();
    assert_eq!(transport, auto_transport());
    let connected = quiet.event("connected", LONG);
    assert_eq!(connected["after"], Value::Null, "the room was empty");

    // Before the restart.
    let b1 = api.send(&key, &room.id, "ada", "before 1").await;
    let b2 = api.send(&key, &room.id, "bob", "before 2").await;
    assert_eq!(busy.message(LONG), json(&b1));
    assert_eq!(busy.message(LONG), json(&b2));

    if transport == "sse" {
        // A stream the server ends by itself is resumed at once. (wrangler
        // dev also reloads when someone rebuilds build/, which drops streams:
        // those "dropped" ends are skipped here and survived like any other.)
        let ended = busy.event_where("disconnected", |v| v["reason"] == "server_ended", LONG);
        assert!(
            ended["detail"].as_str().unwrap().starts_with("bye "),
            "{ended}"
        );
        let again = busy.event("reconnecting", LONG);
        assert_eq!(again["delay_ms"], 0, "{again}");
        assert_eq!(busy.event("resumed", LONG)["after"], b2.id.as_str());
    }

    // The server goes away.
    server.stop();
    // (A clean end may still slip in first on a slow machine: skip those.)
    busy.event_where("disconnected", |v| v["reason"] == "dropped", LONG);
    // Failed attempts back off, and say why.
    let retry = busy.event_where("reconnecting", |v| v["error"].is_string(), LONG);
    assert!(retry["delay_ms"].as_u64().unwrap() > 0, "{retry}");
    assert!(retry["attempt"].as_u64().unwrap() >= 2, "{retry}");
    // A send while it is down retries until it is back.
    let mut sender = cli.spawn(&[
        "send-message",
        &room.id,
        "carol",
        "sent while the server was down",
        "--retries",
        "30",
    ]);

    server.start_again();
    // A new HTTP client: the old one's pooled connections died with the server.
    let api = Api::new(&server.base);
    // During the gap: sent before the listeners are back.
    let g1 = api.send(&key, &room.id, "ada", "gap 1").await;
    let g2 = api.send(&key, &room.id, "bob", "gap 2").await;
    let q1 = api
        .send(&key, &empty.id, "ada", "first in the empty room")
        .await;

    let (status, out) = sender.wait(LONG);
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", sender.stderr_seen);
    let carol: Value = serde_json::from_str(&out[0]).unwrap();
    assert_eq!(carol["content"], "sent while the server was down");

    assert_eq!(busy.event("resumed", LONG)["after"], b2.id.as_str());
    quiet.event("resumed", LONG);
    // After the restart.
    let a1 = api.send(&key, &room.id, "ada", "after 1").await;
    let a2 = api.send(&key, &room.id, "bob", "after 2").await;
    let q2 = api
        .send(&key, &empty.id, "bob", "second in the empty room")
        .await;

    let (status, rest) = busy.wait(LONG);
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", busy.stderr_seen);
    let printed: Vec<Value> = [json(&b1), json(&b2)]
        .into_iter()
        .chain(rest.iter().map(|l| serde_json::from_str(l).unwrap()))
        .collect();
    // Exactly the room's history, in the server's order: nothing lost,
    // nothing twice, carol's retried send stored once.
    let history = api.full_history(&key, &room.id).await;
    assert_eq!(history.len(), 7, "{history:#?}");
    assert_eq!(printed, history.iter().map(json).collect::<Vec<_>>());
    for m in [&g1, &g2, &a1, &a2] {
        assert_eq!(printed.iter().filter(|p| **p == json(m)).count(), 1);
    }
    assert_eq!(printed.iter().filter(|p| **p == carol).count(), 1);
    assert_eq!(printed[5], json(&a1));
    assert_eq!(printed[6], json(&a2));

    let (status, rest) = quiet.wait(LONG);
    assert_eq!(status.code(), Some(0), "stderr: {:#?}", quiet.stderr_seen);
    let printed: Vec<Value> = rest
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(printed, vec![json(&q1), json(&q2)]);
}
