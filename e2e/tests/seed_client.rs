//! Speaks exactly as the seed's original meet-ai CLI does (the TypeScript
//! client of the plan this product grew from, /work/shared/seed-plan.md §6):
//! `create-room`, `send-message`, `poll --exclude` over plain JSON with a
//! Bearer key, and `listen` over a WebSocket whose key rides in the URL
//! (`?token=`), reading every frame but `{"type":"pong"}` as the message
//! object itself. Our own clients are tested elsewhere; this file holds the
//! server to the shapes that old client reads, so it keeps working.
//!
//! The socket half runs against the paid variant only (`MEET_AI_E2E_ENV=paid`,
//! make test-paid), as e2e/tests/ws.rs does; the HTTP half runs in both.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use meet_ai_e2e::{paid_variant, Api, Server};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as Frame;

/// How long a frame may take before the test gives up (not a timing
/// assertion: only a bound on waiting).
const WAIT: Duration = Duration::from_secs(15);

/// The seed client's HTTP calls: `Content-Type: application/json` and
/// `Authorization: Bearer <key>`, nothing else.
struct SeedClient {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl SeedClient {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .header("Authorization", format!("Bearer {}", self.key));
        if let Some(body) = body {
            req = req.body(body.to_string());
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `meet-ai create-room <name>`: `{ name }` → 201 `{ id, name, … }`.
    async fn create_room(&self, name: &str) -> String {
        let (status, room) = self
            .call(
                reqwest::Method::POST,
                "/api/rooms",
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(status, 201, "{room}");
        assert_eq!(room["name"], name);
        room["id"].as_str().expect("room id").to_owned()
    }

    /// `meet-ai send-message <room> <sender> <content>`: `{ sender, content }`.
    async fn send_message(&self, room: &str, sender: &str, content: &str) -> Value {
        let body = json!({ "sender": sender, "content": content });
        let path = format!("/api/rooms/{room}/messages");
        let (status, message) = self.call(reqwest::Method::POST, &path, Some(body)).await;
        assert_eq!(status, 201, "{message}");
        message
    }

    /// `meet-ai poll <room> [--after <id>] [--exclude <sender>]`.
    async fn poll(&self, room: &str, after: Option<&str>, exclude: Option<&str>) -> Vec<Value> {
        let mut query = Vec::new();
        if let Some(after) = after {
            query.push(format!("after={after}"));
        }
        if let Some(exclude) = exclude {
            query.push(format!("exclude={exclude}"));
        }
        let path = format!("/api/rooms/{room}/messages?{}", query.join("&"));
        let (status, list) = self.call(reqwest::Method::GET, &path, None).await;
        assert_eq!(status, 200, "{list}");
        list.as_array().expect("a JSON array").clone()
    }
}

/// Id, sender and content of messages as the seed prints them.
fn said(messages: &[Value]) -> Vec<(String, String)> {
    messages
        .iter()
        .map(|m| {
            let text = |k: &str| {
                m[k].as_str()
                    .unwrap_or_else(|| panic!("{k} in {m}"))
                    .to_owned()
            };
            (text("sender"), text("content"))
        })
        .collect()
}

async fn seed_client() -> SeedClient {
    let base = Server::shared().base.clone();
    // The key is the one thing not made the seed's way: the tests' helper
    // spreads keys over client networks (the per-network key limit).
    let key = Api::new(&base).new_key().await;
    SeedClient {
        base,
        key,
        http: reqwest::Client::new(),
    }
}

#[tokio::test]
async fn the_seed_cli_creates_sends_and_polls_with_exclude() {
    let seed = seed_client().await;
    let room = seed.create_room("seed-room").await;
    let hi = seed.send_message(&room, "alice", "hi bob").await;
    for field in ["id", "room_id", "sender", "content", "created_at"] {
        assert!(hi[field].is_string(), "{field} in {hi}");
    }
    seed.send_message(&room, "bob", "hi alice").await;
    seed.send_message(&room, "alice", "how are you?").await;
    seed.send_message(&room, "bob", "fine").await;

    let all = seed.poll(&room, None, None).await;
    assert_eq!(all.len(), 4);
    // `poll --exclude alice`: bob's side of it only.
    let bobs = seed.poll(&room, None, Some("alice")).await;
    assert_eq!(
        said(&bobs),
        [
            ("bob".into(), "hi alice".into()),
            ("bob".into(), "fine".into())
        ]
    );
    // `poll --after <first> --exclude bob`.
    let first = hi["id"].as_str().unwrap();
    let alices = seed.poll(&room, Some(first), Some("bob")).await;
    assert_eq!(said(&alices), [("alice".into(), "how are you?".into())]);
}

#[tokio::test]
async fn the_seed_cli_listens_over_a_websocket_with_the_key_in_the_url() {
    if !paid_variant() {
        return;
    }
    let seed = seed_client().await;
    let room = seed.create_room("seed-listen").await;
    // `listen`: no header, the key as `?token=` (seed-plan §4.3).
    let url = format!(
        "{}/api/rooms/{room}/ws?token={}",
        seed.base.replacen("http://", "ws://", 1),
        seed.key
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("the socket opens with ?token=");

    seed.send_message(&room, "alice", "first").await;
    seed.send_message(&room, "bob", "second").await;
    seed.send_message(&room, "alice", "third").await;
    socket
        .send(Frame::text(r#"{"type":"ping"}"#))
        .await
        .expect("ping");

    // The seed's onmessage: parse, skip a pong, else it is the message; with
    // `--exclude alice` it drops alice's by `msg.sender`.
    let mut printed = Vec::new();
    let mut seen = 0;
    let mut ponged = false;
    while seen < 3 || !ponged {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a frame in time")
            .expect("the socket stays open")
            .expect("a frame");
        let Frame::Text(text) = frame else {
            continue;
        };
        let msg: Value = serde_json::from_str(text.as_str()).expect("JSON frame");
        if msg["type"] == "pong" {
            assert_eq!(text.as_str(), r#"{"type":"pong"}"#, "exactly the pong");
            ponged = true;
            continue;
        }
        // Bare: the message's own fields at the top level, not wrapped.
        for field in ["id", "sender", "content", "room_id", "created_at"] {
            assert!(msg[field].is_string(), "{field} at the top level of {msg}");
        }
        assert_eq!(msg["room_id"], room.as_str());
        seen += 1;
        if msg["sender"] != "alice" {
            printed.push(msg);
        }
    }
    assert_eq!(said(&printed), [("bob".into(), "second".into())]);
}
