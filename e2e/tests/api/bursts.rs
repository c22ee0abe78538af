//! Limits hold under bursts (issue 11, item 4): twelve concurrent requests
//! never create more than the limit allows, because the count is taken inside
//! the INSERT from rows D1 holds (statements run one at a time).

use futures_util::future::join_all;
use meet_ai_e2e::api::fresh_ip;
use reqwest::Method;
use serde_json::json;

use crate::helpers::api;

/// The defaults of wrangler.toml, which the shared server runs with.
const KEYS_PER_HOUR: usize = 3;
const ROOMS_PER_DAY: usize = 5;
const BURST: usize = 12;

#[tokio::test]
async fn twelve_concurrent_key_requests_from_one_ip_make_at_most_the_limit() {
    let api = api();
    let ip = fresh_ip();
    let replies = join_all((0..BURST).map(|_| api.create_key_from(&ip))).await;
    let made = replies.iter().filter(|r| r.status == 201).count();
    let refused = replies.iter().filter(|r| r.status == 429).count();
    assert_eq!(made, KEYS_PER_HOUR, "exactly the limit got in");
    assert_eq!(made + refused, BURST, "the rest were refused, not failed");
    for r in replies.iter().filter(|r| r.status == 429) {
        assert_eq!(r.json()["code"], "rate_limited");
        assert!(r.header("Retry-After").is_some());
    }
}

#[tokio::test]
async fn an_ipv6_client_counts_per_64() {
    let api = api();
    // A /64 no other test uses, made from a fresh IPv4 test address.
    let o: Vec<u32> = fresh_ip().split('.').map(|p| p.parse().unwrap()).collect();
    let net = format!("2001:db8:{:x}:{:x}", o[1] * 256 + o[2], o[3]);
    let replies = join_all(
        (0..BURST).map(|i| api.create_key_from_owned(format!("{net}:{:x}::{:x}", i + 1, i * 7))),
    )
    .await;
    let made = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        made, KEYS_PER_HOUR,
        "twelve addresses of one /64 are one client"
    );
    // The next /64 is another client.
    let next = format!("2001:db8:{:x}:{:x}::1", o[1] * 256 + o[2], o[3] + 0x100);
    assert_eq!(api.create_key_from(&next).await.status, 201);
}

#[tokio::test]
async fn twelve_concurrent_room_creations_with_one_key_make_at_most_the_limit() {
    let api = api();
    let key = api.new_key().await;
    let replies = join_all((0..BURST).map(|i| {
        api.call(
            Method::POST,
            "/api/rooms",
            Some(&key),
            Some(json!({ "name": format!("burst {i}") })),
        )
    }))
    .await;
    let made = replies.iter().filter(|r| r.status == 201).count();
    let refused = replies.iter().filter(|r| r.status == 429).count();
    assert_eq!(made, ROOMS_PER_DAY, "exactly the limit got in");
    assert_eq!(made + refused, BURST);
    let listed = api.call(Method::GET, "/api/rooms", Some(&key), None).await;
    assert_eq!(listed.json().as_array().unwrap().len(), ROOMS_PER_DAY);
}
