//! Per-client limits on anonymous reads and stream opens (the Workers Rate
//! Limiting binding, as `wrangler dev` simulates it: READ_LIMITER 120 and
//! STREAM_LIMITER 150 a minute, see wrangler.toml). A client is an IPv4
//! address or an IPv6 /64, sent as `CF-Connecting-IP`.
//!
//! The binding counts in fixed windows, so a burst that straddles a window's
//! end may pass up to twice the limit before its first refusal: the tests
//! accept the first refusal anywhere in `limit..=2*limit`, and a check that
//! depends on staying inside one window is retried once with a new client.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{api, UNKNOWN_ID};
use meet_ai_e2e::api::{fresh_ip, Reply};
use meet_ai_e2e::Api;

const READ_LIMIT: usize = 120;
const STREAM_LIMIT: usize = 150;

/// A client address no other test uses, in its own IPv6 /64.
fn fresh_v6_net() -> String {
    let ip = fresh_ip(); // 198.a.b.c, unique per call
    let parts: Vec<u32> = ip.split('.').map(|p| p.parse().unwrap()).collect();
    format!("2001:db8:{:x}:{:x}", parts[1], parts[2] * 256 + parts[3])
}

async fn get_from(api: &Api, path: &str, ip: &str, key: Option<&str>) -> Reply {
    Api::send_req(
        api.request(Method::GET, path, key)
            .header("CF-Connecting-IP", ip),
    )
    .await
}

fn assert_refused(reply: &Reply, code: &str) {
    reply.assert_error(429);
    assert_eq!(reply.json()["code"], code, "{}", reply.body);
    let retry: u64 = reply
        .header("Retry-After")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in whole seconds");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
}

/// Sends `path` from `ip` until the first 429, asserting every earlier
/// answer was `ok`; returns how many passed and the refusal.
async fn burst(api: &Api, path: &str, ip: &str, limit: usize, ok: u16) -> (usize, Reply) {
    for i in 0..=2 * limit {
        let reply = get_from(api, path, ip, None).await;
        if reply.status == 429 {
            return (i, reply);
        }
        assert_eq!(reply.status, ok, "request {i}: {}", reply.body);
    }
    panic!(
        "{path} from {ip}: no refusal within {} requests",
        2 * limit + 1
    );
}

async fn public_room(api: &Api) -> (String, String) {
    let (key, room) = api.key_and_room().await;
    let reply = api
        .call(
            Method::PATCH,
            &format!("/api/rooms/{}", room.id),
            Some(&key),
            Some(json!({ "public": true })),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    api.send(&key, &room.id, "ada", "hello").await;
    (key, room.id)
}

#[tokio::test]
async fn a_burst_of_anonymous_history_reads_from_one_ip_is_refused_and_others_are_not() {
    let api = api();
    let (key, room) = public_room(&api).await;
    let path = format!("/api/rooms/{room}/messages");
    for attempt in 0..2 {
        let ip = fresh_ip();
        let (passed, refusal) = burst(&api, &path, &ip, READ_LIMIT, 200).await;
        assert!(passed >= READ_LIMIT, "refused after only {passed}");
        assert_refused(&refusal, "read_rate_limited");
        assert!(refusal.json()["error"].as_str().unwrap().contains("key"));
        // Another client is not affected, nor a keyed reader at the same IP.
        assert_eq!(get_from(&api, &path, &fresh_ip(), None).await.status, 200);
        assert_eq!(get_from(&api, &path, &ip, Some(&key)).await.status, 200);
        // The refused client stays refused (unless its window just ended).
        if get_from(&api, &path, &ip, None).await.status == 429 || attempt == 1 {
            return;
        }
    }
}

#[tokio::test]
async fn ipv6_clients_are_counted_per_64() {
    let api = api();
    for attempt in 0..2 {
        let net = fresh_v6_net();
        let (passed, refusal) =
            burst(&api, "/api/featured", &format!("{net}::1"), READ_LIMIT, 404).await;
        assert!(passed >= READ_LIMIT, "refused after only {passed}");
        assert_refused(&refusal, "read_rate_limited");
        // A different /64 is a different client.
        let next = fresh_v6_net();
        assert_eq!(
            get_from(&api, "/api/featured", &format!("{next}::1"), None)
                .await
                .status,
            404
        );
        // Another address in the same /64 is the same client.
        let same = get_from(
            &api,
            "/api/featured",
            &format!("{net}:ffff:ffff:ffff:ffff"),
            None,
        )
        .await;
        if same.status == 429 {
            assert_refused(&same, "read_rate_limited");
            return;
        }
        assert!(attempt == 0, "the same /64 was not refused: {}", same.body);
    }
}

#[tokio::test]
async fn a_burst_of_stream_opens_is_refused_per_network_not_per_key() {
    let api = api();
    let (key, room) = public_room(&api).await;
    // Opens of a room that does not exist cost no stream but count the same.
    let path = format!("/api/rooms/{UNKNOWN_ID}/events");
    for attempt in 0..2 {
        let ip = fresh_ip();
        let (passed, refusal) = burst(&api, &path, &ip, STREAM_LIMIT, 401).await;
        assert!(passed >= STREAM_LIMIT, "refused after only {passed}");
        assert_refused(&refusal, "stream_rate_limited");
        // A keyed stream from the same network counts against its key.
        let keyed = api
            .request(
                Method::GET,
                &format!("/api/rooms/{room}/events"),
                Some(&key),
            )
            .header("CF-Connecting-IP", ip.clone())
            .send()
            .await
            .expect("stream request");
        assert_eq!(keyed.status(), 200);
        drop(keyed);
        if get_from(&api, &path, &ip, None).await.status == 429 || attempt == 1 {
            return;
        }
    }
}
