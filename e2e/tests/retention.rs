//! The retention purge, through the real Cron Trigger: a server of its own
//! with a short retention (`RETENTION_*` vars) under `wrangler dev
//! --test-scheduled` (as every harness server runs), where `GET /__scheduled` runs the scheduled handler.
//! Asserts what was deleted (by age, by the per-room cap, a revoked key's
//! room) and what a cursor into purged history returns, over REST and SSE.

use std::time::Duration;

use meet_ai_e2e::{Api, Server, ServerOptions, SseStream};
use protocol::retention::{HISTORY_PURGED_HEADER, PURGED_EVENT};
use protocol::wire::Message;
use reqwest::Method;
use serde_json::json;

/// Messages older than this are purged.
const MAX_AGE_S: u64 = 12;

fn server() -> Server {
    // Every harness server runs `wrangler dev --test-scheduled`.
    let mut options = ServerOptions::for_variant();
    for (k, v) in [
        ("RETENTION_MAX_AGE", format!("{MAX_AGE_S}s")),
        ("RETENTION_MAX_PER_ROOM", "3".to_owned()),
        ("RETENTION_REVOKED_GRACE", "1s".to_owned()),
        ("RETENTION_PER_RUN", "1000".to_owned()),
    ] {
        options.vars.push((k.to_owned(), v));
    }
    Server::start(options)
}

fn contents(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.content.as_str()).collect()
}

async fn run_cron(api: &Api) {
    let reply = api.call(Method::GET, "/__scheduled", None, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// A history page and whether it said older history is gone.
async fn page(api: &Api, key: Option<&str>, room: &str, query: &str) -> (u16, Vec<Message>, bool) {
    let reply = api
        .call(
            Method::GET,
            &format!("/api/rooms/{room}/messages{query}"),
            key,
            None,
        )
        .await;
    let purged = reply.header(HISTORY_PURGED_HEADER) == Some("true");
    let list = if reply.status == 200 {
        serde_json::from_str(&reply.body).expect("a page")
    } else {
        Vec::new()
    };
    (reply.status.as_u16(), list, purged)
}

/// Rows of `room` in the server's local D1, read with `wrangler d1 execute`
/// on its state folder: a revoked key's room answers as missing before and
/// after the purge, so only the database can tell that the purge deleted it.
fn stored_rooms(server: &Server, room: &str) -> u64 {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(root.join("node_modules/.bin/wrangler"))
        .args([
            "d1",
            "execute",
            "meet-ai",
            "--local",
            "--json",
            "--persist-to",
        ])
        .arg(&server.state_dir)
        .arg("--command")
        .arg(format!(
            "SELECT COUNT(*) AS n FROM rooms WHERE id = '{room}'"
        ))
        .current_dir(&root)
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .expect("run wrangler d1 execute");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("wrangler's JSON");
    json[0]["results"][0]["n"].as_u64().expect("a count")
}

#[tokio::test]
async fn the_cron_purges_old_messages_capped_rooms_and_revoked_rooms_and_cursors_still_resume() {
    let server = server();
    let api = Api::new(&server.base);

    // Old: two messages in room A, one in a public room of a key then revoked.
    let key = api.new_key().await;
    let a = api.create_room(&key, "aged").await.id;
    let a1 = api.send(&key, &a, "ada", "a1").await;
    api.send(&key, &a, "ada", "a2").await;
    let gone_key = api.new_key().await;
    let p = api.create_room(&gone_key, "revoked").await.id;
    let public = api
        .call(
            Method::PATCH,
            &format!("/api/rooms/{p}"),
            Some(&gone_key),
            Some(json!({ "public": true })),
        )
        .await;
    assert_eq!(public.status, 200, "{}", public.body);
    api.send(&gone_key, &p, "bob", "p1").await;
    let revoked = api
        .call(Method::DELETE, "/api/keys", Some(&gone_key), None)
        .await;
    assert_eq!(revoked.status, 204);
    // A revoked key's public room is closed to readers at once (issue 11),
    // but its rows stay until the purge's grace period has passed.
    assert_eq!(page(&api, None, &p, "").await.0, 401);
    assert_eq!(stored_rooms(&server, &p), 1);

    tokio::time::sleep(Duration::from_secs(MAX_AGE_S + 2)).await;

    // Young: one more in A, five in C (over the cap of 3), two in D.
    let a3 = api.send(&key, &a, "ada", "a3").await;
    let c = api.create_room(&key, "capped").await.id;
    let mut c_sent = Vec::new();
    for i in 1..=5 {
        c_sent.push(api.send(&key, &c, "ada", &format!("c{i}")).await);
    }
    let d = api.create_room(&key, "untouched").await.id;
    api.send(&key, &d, "ada", "d1").await;
    api.send(&key, &d, "ada", "d2").await;

    run_cron(&api).await;

    // What was deleted.
    let (_, list, purged) = page(&api, Some(&key), &a, "").await;
    assert_eq!(contents(&list), ["a3"], "aged out");
    assert!(!purged, "a page without a cursor needs no flag");
    assert_eq!(
        contents(&page(&api, Some(&key), &c, "").await.1),
        ["c3", "c4", "c5"]
    );
    assert_eq!(
        contents(&page(&api, Some(&key), &d, "").await.1),
        ["d1", "d2"]
    );
    let unknown = page(&api, None, "00000000-0000-4000-8000-000000000000", "")
        .await
        .0;
    assert_eq!(
        page(&api, None, &p, "").await.0,
        unknown,
        "the revoked key's public room is gone: answered as a room that never was"
    );
    assert_eq!(stored_rooms(&server, &p), 0, "the purge deleted its rows");

    // A cursor into purged history: what follows, and the flag.
    let (status, list, purged) = page(&api, Some(&key), &a, &format!("?after={}", a1.id)).await;
    assert_eq!((status, contents(&list), purged), (200, vec!["a3"], true));
    let c1 = &c_sent[0].id;
    let (status, list, purged) = page(&api, Some(&key), &c, &format!("?after={c1}")).await;
    assert_eq!(
        (status, contents(&list), purged),
        (200, vec!["c3", "c4", "c5"], true)
    );
    let (status, list, purged) = page(&api, Some(&key), &c, &format!("?before={c1}")).await;
    assert_eq!(
        (status, list.len(), purged),
        (200, 0, true),
        "nothing older is kept"
    );
    // A kept cursor answers as always; an unknown one in a never-purged room is 404.
    let (_, list, purged) = page(&api, Some(&key), &c, &format!("?after={}", c_sent[2].id)).await;
    assert_eq!((contents(&list), purged), (vec!["c4", "c5"], false));
    let (status, _, _) = page(&api, Some(&key), &d, &format!("?after={}", a1.id)).await;
    assert_eq!(
        status, 404,
        "D lost nothing: a foreign cursor is still wrong"
    );

    // Over SSE: a purged Last-Event-ID gets the `purged` event, then the rest.
    let mut stream = SseStream::open(
        &server.base,
        &format!("/api/rooms/{a}/events"),
        Some(&key),
        Some(&a1.id),
    )
    .await;
    assert_eq!(stream.status, 200);
    let first = stream
        .next_event(Duration::from_secs(10))
        .await
        .expect("an event");
    assert_eq!(first.event, PURGED_EVENT);
    assert_eq!(
        first.id.as_deref(),
        Some(a1.id.as_str()),
        "the notice moves no cursor"
    );
    let next = stream
        .next_message(Duration::from_secs(10))
        .await
        .expect("the kept message");
    assert_eq!(next, a3);

    // A second run finds nothing more to delete.
    run_cron(&api).await;
    assert_eq!(
        contents(&page(&api, Some(&key), &c, "").await.1),
        ["c3", "c4", "c5"]
    );
    assert_eq!(contents(&page(&api, Some(&key), &a, "").await.1), ["a3"]);
}
