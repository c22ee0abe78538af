//! Issue 11 item 7: an Idempotency-Key names one message. The exact retry
//! gets the original back (200); the same key with a different body is
//! refused (422 `idempotency_conflict`) and stores nothing.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::api;
use meet_ai_e2e::api::Reply;
use meet_ai_e2e::Api;

async fn send(api: &Api, cred: &str, room: &str, idem: &str, body: Value) -> Reply {
    Api::send_req(
        api.request(
            Method::POST,
            &format!("/api/rooms/{room}/messages"),
            Some(cred),
        )
        .header("Idempotency-Key", idem.to_owned())
        .json(&body),
    )
    .await
}

fn assert_conflict(reply: &Reply) {
    reply.assert_error(422);
    assert_eq!(
        reply.json()["code"],
        "idempotency_conflict",
        "{}",
        reply.body
    );
    assert!(reply.json()["error"]
        .as_str()
        .unwrap_or("")
        .contains("Idempotency-Key"));
}

#[tokio::test]
async fn a_reused_key_with_another_body_is_refused_and_stores_nothing() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let body = json!({ "sender": "ada", "content": "deploy at noon" });
    let first = send(&api, &key, &room.id, "k-1", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);

    // The exact retry: the original, 200.
    let retry = send(&api, &key, &room.id, "k-1", body).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.json()["id"], first.json()["id"]);
    assert_eq!(retry.json()["content"], "deploy at noon");

    // Any field that differs is another message.
    for other in [
        json!({ "sender": "ada", "content": "deploy at one" }),
        json!({ "sender": "bob", "content": "deploy at noon" }),
        json!({ "sender": "ada", "content": "deploy at noon", "color": "#112233" }),
        json!({ "sender": "ada", "content": "deploy at noon", "sender_type": "agent" }),
    ] {
        assert_conflict(&send(&api, &key, &room.id, "k-1", other).await);
    }
    let history = api.history(&key, &room.id, "").await;
    assert_eq!(history.len(), 1, "nothing more was stored: {history:?}");
    assert_eq!(history[0].content, "deploy at noon");

    // The key is scoped to its room: another room takes it afresh.
    let other_room = api.create_room(&key, "elsewhere").await;
    let elsewhere = send(
        &api,
        &key,
        &other_room.id,
        "k-1",
        json!({ "sender": "ada", "content": "deploy at one" }),
    )
    .await;
    assert_eq!(elsewhere.status, 201, "{}", elsewhere.body);
    assert_ne!(elsewhere.json()["id"], first.json()["id"]);
}

#[tokio::test]
async fn a_member_reusing_a_key_is_refused_too() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let token = api.add_member(&key, &room.id, "bot", "agent").await;
    let first = send(&api, &token, &room.id, "m-1", json!({ "content": "one" })).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let retry = send(&api, &token, &room.id, "m-1", json!({ "content": "one" })).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.json()["id"], first.json()["id"]);
    assert_conflict(&send(&api, &token, &room.id, "m-1", json!({ "content": "two" })).await);
    assert_eq!(api.history(&key, &room.id, "").await.len(), 1);
}
