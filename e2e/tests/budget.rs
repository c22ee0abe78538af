//! The account's daily D1 budget, against servers configured with tiny
//! budgets (`BUDGET_ROWS_*_PER_DAY`), so the day "runs low" within a test.
//! Each test drives real traffic and watches `GET /api/usage` until the next
//! shedding step is in force, then checks who is refused (429, the quota's
//! code, `Retry-After` at the next 00:00 UTC) and who is not.
//!
//! Locally one isolate serves everything, so its estimate is exact: it is the
//! flushed total plus its own pending rows.

use std::time::{SystemTime, UNIX_EPOCH};

use meet_ai_e2e::api::{fresh_ip, Reply};
use meet_ai_e2e::{Api, Server, ServerOptions, SseStream};
use reqwest::Method;
use serde_json::{json, Value};

fn server(vars: &[(&str, &str)]) -> Server {
    let mut options = ServerOptions::for_variant();
    options.vars = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    // The per-minute send limit would stop the test before the budget does.
    options
        .vars
        .push(("RATE_MESSAGES_PER_MINUTE".into(), "0".into()));
    Server::start(options)
}

/// The usage report, asked from a fresh client address each time (it is
/// counted against the per-client read limit).
async fn usage(api: &Api) -> Value {
    let reply = Api::send_req(
        api.request(Method::GET, "/api/usage", None)
            .header("CF-Connecting-IP", fresh_ip()),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn seconds_to_utc_midnight() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    86_400 - now % 86_400
}

fn assert_budget_refusal(reply: &Reply, code: &str) {
    reply.assert_error(429);
    assert_eq!(reply.json()["code"], code, "{}", reply.body);
    let retry: u64 = reply
        .header("Retry-After")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in whole seconds");
    let expected = seconds_to_utc_midnight();
    assert!(
        retry.abs_diff(expected) <= 5,
        "Retry-After {retry} should point at 00:00 UTC ({expected} s away)"
    );
}

async fn send(api: &Api, key: &str, room: &str, content: &str) -> Reply {
    api.call(
        Method::POST,
        &format!("/api/rooms/{room}/messages"),
        Some(key),
        Some(json!({ "sender": "ada", "content": content })),
    )
    .await
}

#[tokio::test]
async fn as_the_write_budget_runs_out_growth_goes_first_then_sends_and_reads_keep_working() {
    let srv = server(&[
        ("BUDGET_ROWS_WRITTEN_PER_DAY", "300"),
        ("BUDGET_ROWS_READ_PER_DAY", "0"),
    ]);
    let api = Api::new(&srv.base);
    let (key, room) = api.key_and_room().await;
    let room = room.id;
    let public = api
        .call(
            Method::PATCH,
            &format!("/api/rooms/{room}"),
            Some(&key),
            Some(json!({ "public": true })),
        )
        .await;
    assert_eq!(public.status, 200, "{}", public.body);

    let start = usage(&api).await;
    assert_eq!(start["writes"], "normal", "{start}");
    assert_eq!(start["rows_written"]["budget"], 300);
    assert!(
        start["rows_written"]["spent"].as_u64().unwrap() > 0,
        "{start}"
    );
    assert_eq!(start["rows_read"]["budget"], 0);
    // Light senders, made while growth is allowed: each will send once.
    let mut light = Vec::new();
    for _ in 0..8 {
        let (k, r) = api.key_and_room().await;
        light.push((k, r.id));
    }

    // Spend writes by sending until new keys and rooms are paused (80 %).
    let mut sent = 0;
    while usage(&api).await["writes"] == "normal" {
        let reply = send(&api, &key, &room, &format!("m{sent}")).await;
        assert_eq!(reply.status, 201, "send {sent}: {}", reply.body);
        sent += 1;
        assert!(sent < 300, "the budget never ran low");
    }
    let new_key = Api::send_req(
        api.request(Method::POST, "/api/keys", None)
            .header("CF-Connecting-IP", fresh_ip()),
    )
    .await;
    assert_budget_refusal(&new_key, "daily_budget_low");
    assert!(new_key.json().get("key").is_none());
    let new_room = api
        .call(
            Method::POST,
            "/api/rooms",
            Some(&key),
            Some(json!({ "name": "one more" })),
        )
        .await;
    assert_budget_refusal(&new_room, "daily_budget_low");
    let rooms = api.call(Method::GET, "/api/rooms", Some(&key), None).await;
    assert_eq!(
        rooms.json().as_array().unwrap().len(),
        1,
        "no room was made"
    );
    // Existing keys still send while only growth is shed.
    let still = send(&api, &key, &room, "still here").await;
    assert_eq!(still.status, 201, "{}", still.body);
    sent += 1;

    // Keep sending: from 90 % a key is held to its fair share (300 rows /
    // 3 / 100 keys: 1 message today), so this heavy sender is refused first.
    let refused = loop {
        let reply = send(&api, &key, &room, &format!("m{sent}")).await;
        if reply.status == 429 {
            break reply;
        }
        assert_eq!(reply.status, 201, "send {sent}: {}", reply.body);
        sent += 1;
        assert!(sent < 300, "sends were never refused");
    };
    assert_budget_refusal(&refused, "daily_quota");
    let fair = usage(&api).await;
    assert_eq!(fair["writes"], "fair_share", "{fair}");
    // Keys under their share still send, until the writes are spent (95 %).
    let mut light_sent = 0;
    let spent = loop {
        let (k, r) = light.get(light_sent).expect("writes were never spent");
        let reply = send(&api, k, r, "my one message").await;
        if reply.status == 429 {
            break reply;
        }
        assert_eq!(
            reply.status, 201,
            "light sender {light_sent}: {}",
            reply.body
        );
        light_sent += 1;
    };
    assert!(light_sent > 0, "a key under its fair share was refused");
    assert_budget_refusal(&spent, "daily_writes_spent");
    let now = usage(&api).await;
    assert_eq!(now["writes"], "writes_spent", "{now}");
    assert!(now["rows_written"]["percent"].as_u64().unwrap() >= 95);
    // A write of another kind is refused the same way.
    let update = api
        .call(
            Method::PATCH,
            &format!("/api/rooms/{room}"),
            Some(&key),
            Some(json!({ "loop_guard": 5 })),
        )
        .await;
    assert_budget_refusal(&update, "daily_writes_spent");

    // Reads keep working: history with the key, anonymously, and a stream.
    let history = api.history(&key, &room, "?limit=500").await;
    assert_eq!(history.len(), sent, "the refused send stored nothing");
    let anonymous = Api::send_req(
        api.request(Method::GET, &format!("/api/rooms/{room}/messages"), None)
            .header("CF-Connecting-IP", fresh_ip()),
    )
    .await;
    assert_eq!(anonymous.status, 200, "{}", anonymous.body);
    let stream = SseStream::open(
        &srv.base,
        &format!("/api/rooms/{room}/events"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(stream.status, 200);
    // Revoking a key is never refused: a leaked key must always be revocable.
    let revoke = api
        .call(Method::DELETE, "/api/keys", Some(&key), None)
        .await;
    assert_eq!(revoke.status, 204, "{}", revoke.body);
}

#[tokio::test]
async fn as_the_read_budget_runs_out_anonymous_readers_go_before_keyed_ones() {
    let srv = server(&[
        ("BUDGET_ROWS_WRITTEN_PER_DAY", "0"),
        ("BUDGET_ROWS_READ_PER_DAY", "2000"),
    ]);
    let api = Api::new(&srv.base);
    let (key, room) = api.key_and_room().await;
    let room = room.id;
    let public = api
        .call(
            Method::PATCH,
            &format!("/api/rooms/{room}"),
            Some(&key),
            Some(json!({ "public": true })),
        )
        .await;
    assert_eq!(public.status, 200, "{}", public.body);
    let path = format!("/api/rooms/{room}/messages");
    let anonymous = || async {
        Api::send_req(
            api.request(Method::GET, &path, None)
                .header("CF-Connecting-IP", fresh_ip()),
        )
        .await
    };

    // Spend reads with a key until anonymous reads are paused (90 %).
    let mut reads = 0;
    loop {
        let u = usage(&api).await;
        if u["reads"] == "anonymous_paused" {
            break;
        }
        assert_ne!(
            u["reads"], "reads_spent",
            "stepped over the 90 % stage: {u}"
        );
        if u["reads"] == "normal" {
            assert_eq!(anonymous().await.status, 200);
        }
        let reply = api.call(Method::GET, &path, Some(&key), None).await;
        assert_eq!(reply.status, 200, "read {reads}: {}", reply.body);
        reads += 1;
        assert!(reads < 2000, "the read budget never ran low");
    }
    // Growth was paused on the way (80 %).
    let new_room = api
        .call(
            Method::POST,
            "/api/rooms",
            Some(&key),
            Some(json!({ "name": "later" })),
        )
        .await;
    assert_budget_refusal(&new_room, "daily_budget_low");
    assert_budget_refusal(&anonymous().await, "daily_reads_low");
    // A keyed reader still reads, and still sends (writes are not limited).
    let keyed = api.call(Method::GET, &path, Some(&key), None).await;
    assert_eq!(keyed.status, 200, "{}", keyed.body);
    assert_eq!(send(&api, &key, &room, "hi").await.status, 201);

    // Until the read budget is spent (98 %): then keyed reads stop too.
    let refused = loop {
        let reply = api.call(Method::GET, &path, Some(&key), None).await;
        if reply.status == 429 {
            break reply;
        }
        assert_eq!(reply.status, 200, "read {reads}: {}", reply.body);
        reads += 1;
        assert!(reads < 2000, "keyed reads were never refused");
    };
    assert_budget_refusal(&refused, "daily_reads_spent");
    assert_eq!(usage(&api).await["reads"], "reads_spent");
}
