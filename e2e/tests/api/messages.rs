use std::collections::HashMap;

use protocol::timing::D1Timing;
use protocol::wire::{Message, SenderType};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{api, assert_timestamp, contents, ids, UNKNOWN_ID};
use meet_ai_e2e::Api;

fn path(room: &str) -> String {
    format!("/api/rooms/{room}/messages")
}

#[tokio::test]
async fn a_message_is_stored_and_shown_in_one_shape() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let content = "```rust\n    fn main() {}\n```\n\ttrailing  ";
    let reply = api
        .call(
            Method::POST,
            &path(&room.id),
            Some(&key),
            Some(json!({ "sender": "  claude ", "content": content, "sender_type": "agent", "color": "#A0B1C2" })),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let sent = reply.json();
    assert_eq!(
        sent.as_object().unwrap().keys().collect::<Vec<_>>(),
        vec![
            "color",
            "content",
            "created_at",
            "id",
            "kind",
            "mentions",
            "room_id",
            "sender",
            "sender_type",
            "verified"
        ]
    );
    let sent: Message = serde_json::from_value(sent).unwrap();
    assert_eq!(sent.sender, "claude");
    assert_eq!(sent.content, content, "content is kept byte for byte");
    assert_eq!(sent.sender_type, SenderType::Agent);
    assert_eq!(sent.color.as_deref(), Some("#a0b1c2"));
    assert_eq!(sent.room_id, room.id);
    assert_timestamp(&sent.created_at);

    let plain = api.send(&key, &room.id, "ada", "hi").await;
    assert_eq!(plain.sender_type, SenderType::Human, "default sender type");
    assert_eq!(plain.color, None);

    assert_eq!(api.history(&key, &room.id, "").await, vec![sent, plain]);
    // The Server-Timing budget: a send is 1 D1 round trip, a history page 2.
    let send = api
        .call(
            Method::POST,
            &path(&room.id),
            Some(&key),
            Some(json!({ "sender": "a", "content": "b" })),
        )
        .await;
    let timing = send.header("Server-Timing").unwrap_or_default().to_owned();
    // A send is one round trip: the key lookup and the INSERT are one batch.
    assert_eq!(d1_timing(&timing).queries, 1, "{timing}");
    // docs/free-tier.md's per-message write cost (send_cost.rs covers the rest).
    assert_eq!(d1_timing(&timing).rows_written, 3, "{timing}");
    let page = api
        .call(Method::GET, &path(&room.id), Some(&key), None)
        .await;
    let timing = page.header("Server-Timing").unwrap_or_default().to_owned();
    assert_eq!(d1_timing(&timing).queries, 2, "{timing}");
    assert_eq!(d1_timing(&timing).rows_written, 0, "{timing}");
}

/// What D1 cost a response, read from its `Server-Timing` with the one
/// parser (protocol::timing); panics when the header is missing or malformed.
pub fn d1_timing(timing: &str) -> D1Timing {
    D1Timing::parse(timing).unwrap_or_else(|| panic!("no D1 timing in {timing:?}"))
}

#[tokio::test]
async fn bad_messages_are_refused_and_store_nothing() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let cases = [
        (json!({ "content": "x" }), 400),
        (json!({ "sender": "a" }), 400),
        (json!({ "sender": "", "content": "x" }), 400),
        (json!({ "sender": "   ", "content": "x" }), 400),
        (json!({ "sender": "a", "content": "" }), 400),
        (json!({ "sender": "a", "content": " \n " }), 400),
        (json!({ "sender": "s".repeat(65), "content": "x" }), 400),
        (json!({ "sender": 5, "content": "x" }), 400),
        (json!({ "sender": "a", "content": ["x"] }), 400),
        (
            json!({ "sender": "a", "content": "x", "sender_type": "robot" }),
            400,
        ),
        (
            json!({ "sender": "a", "content": "x", "color": "red" }),
            400,
        ),
        (
            json!({ "sender": "a", "content": "x", "color": "#12345" }),
            400,
        ),
        (
            json!({ "sender": "a", "content": "x".repeat(32 * 1024 + 1) }),
            413,
        ),
        (json!("just a string"), 400),
    ];
    for (body, status) in cases {
        let reply = api
            .call(
                Method::POST,
                &path(&room.id),
                Some(&key),
                Some(body.clone()),
            )
            .await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        reply.assert_error(status);
    }
    for raw in [
        &b"{\"sender\":\"a\",\"content\":"[..],
        b"{\"sender\":\"\xc3\x28\",\"content\":\"x\"}",
        b"",
        b"null",
    ] {
        let reply = Api::send_req(
            api.request(Method::POST, &path(&room.id), Some(&key))
                .body(raw.to_vec()),
        )
        .await;
        reply.assert_error(400);
    }
    // A body far beyond any valid message is refused before it is parsed.
    let huge = Api::send_req(
        api.request(Method::POST, &path(&room.id), Some(&key))
            .body(vec![b' '; 1024 * 1024]),
    )
    .await;
    huge.assert_error(413);
    assert!(
        api.history(&key, &room.id, "").await.is_empty(),
        "nothing stored"
    );
    // The limit is inclusive: exactly 32 KiB is fine.
    let max = "y".repeat(32 * 1024);
    assert_eq!(api.send(&key, &room.id, "a", &max).await.content, max);
    let s64 = "s".repeat(64);
    assert_eq!(api.send(&key, &room.id, &s64, "x").await.sender, s64);
}

#[tokio::test]
async fn history_pages_with_after_before_and_limit() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let mut sent = Vec::new();
    for i in 0..7 {
        sent.push(api.send(&key, &room.id, "ada", &format!("m{i}")).await);
    }
    let id = |i: usize| sent[i].id.clone();
    let h = |q: String| {
        let api = api.clone();
        let (key, room) = (key.clone(), room.id.clone());
        async move { contents(&api.history(&key, &room, &q).await) }
    };
    assert_eq!(
        h(String::new()).await,
        ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]
    );
    assert_eq!(
        h("?limit=3".into()).await,
        ["m4", "m5", "m6"],
        "latest, oldest first"
    );
    assert_eq!(h(format!("?after={}&limit=2", id(2))).await, ["m3", "m4"]);
    assert_eq!(h(format!("?after={}", id(4))).await, ["m5", "m6"]);
    assert_eq!(h(format!("?before={}&limit=2", id(5))).await, ["m3", "m4"]);
    assert_eq!(h(format!("?before={}", id(2))).await, ["m0", "m1"]);
    assert!(h(format!("?after={}", id(6))).await.is_empty());
    assert!(h(format!("?before={}", id(0))).await.is_empty());
    assert_eq!(
        h("?limit=501".into()).await.len(),
        7,
        "limit is capped, not refused"
    );

    for q in [
        "?limit=0",
        "?limit=-1",
        "?limit=abc",
        "?limit=",
        "?after=nope",
    ] {
        let reply = api
            .call(
                Method::GET,
                &format!("{}{q}", path(&room.id)),
                Some(&key),
                None,
            )
            .await;
        reply.assert_error(400);
    }
    let both = format!("{}?after={}&before={}", path(&room.id), id(1), id(3));
    api.call(Method::GET, &both, Some(&key), None)
        .await
        .assert_error(400);

    // A cursor that is not a message of this room.
    let other = api.create_room(&key, "other").await;
    let foreign = api.send(&key, &other.id, "ada", "elsewhere").await;
    for cursor in [UNKNOWN_ID.to_owned(), foreign.id] {
        for dir in ["after", "before"] {
            let q = format!("{}?{dir}={cursor}", path(&room.id));
            api.call(Method::GET, &q, Some(&key), None)
                .await
                .assert_error(404);
        }
    }
}

#[tokio::test]
async fn concurrent_senders_are_all_stored_once_in_order() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    const SENDERS: usize = 4;
    const EACH: usize = 12; // 48 in all: under the 60/minute send limit.
    let tasks: Vec<_> = (0..SENDERS)
        .map(|s| {
            let (api, key, room) = (api.clone(), key.clone(), room.id.clone());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                for i in 0..EACH {
                    mine.push(
                        api.send(&key, &room, &format!("sender-{s}"), &format!("{s}:{i}"))
                            .await,
                    );
                }
                mine
            })
        })
        .collect();
    let mut sent = Vec::new();
    for t in tasks {
        sent.extend(t.await.expect("sender task"));
    }
    let history = api.history(&key, &room.id, "?limit=500").await;
    assert_eq!(
        history.len(),
        SENDERS * EACH,
        "every message stored exactly once"
    );
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for m in &history {
        *seen.entry(m.content.as_str()).or_default() += 1;
    }
    assert!(seen.values().all(|&n| n == 1), "no duplicates");
    for m in &sent {
        assert!(
            seen.contains_key(m.content.as_str()),
            "{} missing",
            m.content
        );
    }
    // Each sender's messages appear in the order it sent them.
    for s in 0..SENDERS {
        let order: Vec<String> = history
            .iter()
            .filter(|m| m.sender == format!("sender-{s}"))
            .map(|m| m.content.clone())
            .collect();
        let expected: Vec<String> = (0..EACH).map(|i| format!("{s}:{i}")).collect();
        assert_eq!(order, expected, "sender {s} order");
    }
    // Paging forward with `after` from the first message reproduces the
    // history exactly.
    let mut paged: Vec<Message> = vec![history[0].clone()];
    loop {
        let last = &paged[paged.len() - 1].id;
        let page = api
            .history(&key, &room.id, &format!("?limit=5&after={last}"))
            .await;
        if page.is_empty() {
            break;
        }
        paged.extend(page);
    }
    assert_eq!(ids(&paged), ids(&history));
    // And backwards with `before`.
    let mut back: Vec<Message> = vec![history[history.len() - 1].clone()];
    loop {
        let q = format!("?limit=7&before={}", back[0].id);
        let page = api.history(&key, &room.id, &q).await;
        if page.is_empty() {
            break;
        }
        back.splice(0..0, page);
    }
    assert_eq!(ids(&back), ids(&history));
}

#[tokio::test]
async fn an_idempotency_key_makes_a_retry_store_nothing_new() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let send = |idem: &str, content: &str| {
        api.request(Method::POST, &path(&room.id), Some(&key))
            .header("Idempotency-Key", idem.to_owned())
            .json(&json!({ "sender": "agent", "content": content }))
    };
    let first = Api::send_req(send("retry-1", "once")).await;
    assert_eq!(first.status, 201);
    let again = Api::send_req(send("retry-1", "once")).await;
    assert!(again.status == 200 || again.status == 201, "{}", again.body);
    assert_eq!(again.json(), first.json(), "the retry returns the original");
    let other = Api::send_req(send("retry-2", "twice")).await;
    assert_eq!(other.status, 201);
    assert_eq!(
        contents(&api.history(&key, &room.id, "").await),
        ["once", "twice"]
    );

    // The same idempotency key in another room is another message.
    let room2 = api.create_room(&key, "second").await;
    let elsewhere = Api::send_req(
        api.request(Method::POST, &path(&room2.id), Some(&key))
            .header("Idempotency-Key", "retry-1")
            .json(&json!({ "sender": "agent", "content": "once" })),
    )
    .await;
    assert_eq!(elsewhere.status, 201);
    assert_ne!(elsewhere.json()["id"], first.json()["id"]);

    for bad in ["x".repeat(65), "tab\tkey".to_owned()] {
        let reply = Api::send_req(send(&bad, "never")).await;
        reply.assert_error(400);
    }
    assert_eq!(api.history(&key, &room.id, "").await.len(), 2);
}
