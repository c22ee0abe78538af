//! Issue 11 item 2: each key's daily send quota (`RATE_MESSAGES_PER_DAY`),
//! counted in the send's own writes, exact under a burst, refused with 429
//! `daily_quota` and a `Retry-After` pointing at the next 00:00 UTC. And the
//! per-minute limit, now kept in the key's row too, under a burst.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;

use crate::helpers::api;
use meet_ai_e2e::api::Reply;
use meet_ai_e2e::{Api, Server, ServerOptions};

async fn burst(api: &Api, cred: &str, room: &str, n: usize) -> Vec<Reply> {
    let path = format!("/api/rooms/{room}/messages");
    join_all((0..n).map(|i| {
        Api::send_req(
            api.request(Method::POST, &path, Some(cred))
                .json(&json!({ "sender": "burst", "content": format!("b{i}") })),
        )
    }))
    .await
}

fn count(replies: &[Reply], status: u16) -> usize {
    replies.iter().filter(|r| r.status == status).count()
}

#[tokio::test]
async fn the_daily_quota_holds_exactly_under_a_burst() {
    let server = Server::start(ServerOptions {
        vars: vec![
            ("RATE_MESSAGES_PER_DAY".to_owned(), "5".to_owned()),
            ("RATE_MESSAGES_PER_MINUTE".to_owned(), "0".to_owned()),
        ],
        ..ServerOptions::for_variant()
    });
    let api = Api::new(&server.base);
    let (key, room) = api.key_and_room().await;
    // Two sends first, one of them a member's: they count against the same key.
    api.send(&key, &room.id, "early", "one").await;
    let token = api.add_member(&key, &room.id, "bot", "agent").await;
    api.send_as_member(&token, &room.id, "two").await;

    // 12 at once at the edge: exactly 3 more fit.
    let replies = burst(&api, &key, &room.id, 12).await;
    assert_eq!(
        count(&replies, 201),
        3,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert_eq!(count(&replies, 429), 9);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let expected = protocol::send_quota::secs_until_next_utc_day(now_ms);
    for refused in replies.iter().filter(|r| r.status == 429) {
        assert_eq!(refused.json()["code"], "daily_quota", "{}", refused.body);
        let retry: u64 = refused
            .header("Retry-After")
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in whole seconds");
        // The next 00:00 UTC, as this machine's clock (the server's) sees it.
        assert!(
            retry.abs_diff(expected) <= 60,
            "Retry-After {retry}, expected {expected}"
        );
    }
    assert_eq!(
        api.history(&key, &room.id, "").await.len(),
        5,
        "nothing refused was stored"
    );

    // A member is refused too; reads go on; another key has its own quota.
    let member = Api::send_req(
        api.request(
            Method::POST,
            &format!("/api/rooms/{}/messages", room.id),
            Some(&token),
        )
        .json(&json!({ "content": "three" })),
    )
    .await;
    member.assert_error(429);
    assert_eq!(member.json()["code"], "daily_quota");
    assert_eq!(
        api.call(
            Method::GET,
            &format!("/api/rooms/{}/messages", room.id),
            Some(&key),
            None
        )
        .await
        .status,
        200
    );
    let (other, other_room) = api.key_and_room().await;
    api.send(&other, &other_room.id, "calm", "still fine").await;
}

/// The per-minute limit, counted in the key's row, under a burst on the
/// shared server (60 a minute): exactly 60 of 70 concurrent sends pass.
#[tokio::test]
async fn the_minute_limit_holds_exactly_under_a_burst() {
    let api = api();
    let (key, room) = api.key_and_room().await;
    let replies = burst(&api, &key, &room.id, 70).await;
    assert_eq!(count(&replies, 201), 60);
    assert_eq!(count(&replies, 429), 10);
    for refused in replies.iter().filter(|r| r.status == 429) {
        assert_eq!(refused.json()["code"], "rate_limited", "{}", refused.body);
    }
    assert_eq!(api.history(&key, &room.id, "?limit=500").await.len(), 60);
}
