//! The default rate limits (3 keys per IP per hour, 5 rooms per key per day,
//! 60 messages per key per minute) against the real server: a refused request
//! gets 429 with Retry-After and changes nothing; limits are per scope; reads
//! are never refused.

use reqwest::Method;
use serde_json::json;

use crate::helpers::api;
use meet_ai_e2e::api::{fresh_ip, Reply};
use meet_ai_e2e::Api;

fn assert_limited(reply: &Reply, max_retry_secs: u64, mentions: &str) {
    reply.assert_error(429);
    assert_eq!(reply.json()["code"], "rate_limited");
    let msg = reply.json()["error"].as_str().unwrap_or("").to_owned();
    assert!(msg.contains(mentions), "the error says which limit: {msg}");
    let retry: u64 = reply
        .header("Retry-After")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in whole seconds");
    assert!((1..=max_retry_secs).contains(&retry), "Retry-After {retry}");
}

#[tokio::test]
async fn the_fourth_key_from_one_ip_in_an_hour_is_refused() {
    let api = api();
    let ip = fresh_ip();
    for i in 0..3 {
        let reply = api.create_key_from(&ip).await;
        assert_eq!(reply.status, 201, "key {i}: {}", reply.body);
    }
    let fourth = api.create_key_from(&ip).await;
    assert_limited(&fourth, 3600, "key");
    assert!(fourth.json().get("key").is_none(), "no key was made");
    // Another IP is not affected.
    assert_eq!(api.create_key_from(&fresh_ip()).await.status, 201);
    // And the refused IP stays refused.
    assert_eq!(api.create_key_from(&ip).await.status, 429);
}

#[tokio::test]
async fn the_sixth_room_of_a_key_in_a_day_is_refused_and_not_created() {
    let api = api();
    let key = api.new_key().await;
    for i in 0..5 {
        api.create_room(&key, &format!("room {i}")).await;
    }
    let sixth = api
        .call(
            Method::POST,
            "/api/rooms",
            Some(&key),
            Some(json!({ "name": "one too many" })),
        )
        .await;
    assert_limited(&sixth, 24 * 3600, "room");
    let rooms = api.call(Method::GET, "/api/rooms", Some(&key), None).await;
    let names: Vec<String> = rooms
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["room 0", "room 1", "room 2", "room 3", "room 4"]);
    // Another key still creates rooms.
    let other = api.new_key().await;
    api.create_room(&other, "fine").await;
}

#[tokio::test]
async fn the_61st_message_in_a_minute_is_refused_and_not_stored() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let path = format!("/api/rooms/{}/messages", room.id);
    let mut last_idem = String::new();
    for i in 0..60 {
        last_idem = format!("idem-{i}");
        let reply = Api::send_req(
            api.request(Method::POST, &path, Some(&key))
                .header("Idempotency-Key", last_idem.clone())
                .json(&json!({ "sender": "fast", "content": format!("m{i}") })),
        )
        .await;
        assert_eq!(reply.status, 201, "message {i}: {}", reply.body);
    }
    let over = api
        .call(
            Method::POST,
            &path,
            Some(&key),
            Some(json!({ "sender": "fast", "content": "m60" })),
        )
        .await;
    assert_limited(&over, 60, "message");
    let history = api.history(&key, &room.id, "?limit=500").await;
    assert_eq!(history.len(), 60, "the refused message was not stored");
    assert!(history.iter().all(|m| m.content != "m60"));

    // A retry of an already stored message still gets its original back.
    let retry = Api::send_req(
        api.request(Method::POST, &path, Some(&key))
            .header("Idempotency-Key", last_idem)
            .json(&json!({ "sender": "fast", "content": "m59" })),
    )
    .await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.json()["content"], "m59");

    // Reads are never refused by the limits.
    assert_eq!(
        api.call(Method::GET, &path, Some(&key), None).await.status,
        200
    );
    assert_eq!(
        api.call(Method::GET, "/api/rooms", Some(&key), None)
            .await
            .status,
        200
    );
    let events = format!("/api/rooms/{}/events", room.id);
    let stream = meet_ai_e2e::SseStream::open(&api.base, &events, Some(&key), None).await;
    assert_eq!(stream.status, 200);

    // Another key is not affected.
    let (other, other_room) = api.key_and_room().await;
    api.send(&other, &other_room.id, "calm", "still fine").await;
}

/// `0` turns a limit off: a deployment (or the benchmarks) can lift each one.
#[tokio::test]
async fn a_limit_of_zero_is_off() {
    let vars = [
        "RATE_KEYS_PER_HOUR",
        "RATE_ROOMS_PER_DAY",
        "RATE_MESSAGES_PER_MINUTE",
    ]
    .map(|name| (name.to_owned(), "0".to_owned()));
    let server = meet_ai_e2e::Server::start(meet_ai_e2e::ServerOptions {
        vars: vars.to_vec(),
        ..meet_ai_e2e::ServerOptions::for_variant()
    });
    let api = Api::new(&server.base);
    let ip = fresh_ip();
    for _ in 0..4 {
        assert_eq!(api.create_key_from(&ip).await.status, 201);
    }
    let key = api.new_key().await;
    let mut last = None;
    for i in 0..6 {
        last = Some(api.create_room(&key, &format!("room {i}")).await);
    }
    let room = last.expect("a room");
    for i in 0..61 {
        api.send(&key, &room.id, "fast", &format!("m{i}")).await;
    }
    assert_eq!(api.history(&key, &room.id, "?limit=500").await.len(), 61);
}
