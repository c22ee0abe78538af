//! Typed helpers over the REST API, speaking through the `meet_ai` client
//! library (its request builders). Each returns what arrived; assertions
//! stay in the tests. [`Api::call`] and [`Api::request`] take any method,
//! path, key and body, because many tests deliberately send what the
//! library would never build (bad JSON, wrong keys, odd queries).

use std::sync::atomic::{AtomicU32, Ordering};

use meet_ai::config::Config;
use protocol::wire::{KeyCreated, Message, Room, SendBody};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};

static IP_SEQ: AtomicU32 = AtomicU32::new(1);

/// A client IP no other test uses (TEST-NET-2 addresses; only ever a header).
pub fn fresh_ip() -> String {
    let n = IP_SEQ.fetch_add(1, Ordering::SeqCst) + std::process::id() % 1000 * 4096;
    format!(
        "198.{}.{}.{}",
        18 + (n >> 16) % 2,
        (n >> 8) & 0xff,
        n & 0xff
    )
}

#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    /// The library's client for this server, without a key.
    pub client: meet_ai::client::Client,
}

/// A response's status, headers and body, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a JSON error with this status and a non-empty message.
    pub fn assert_error(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        let json = self.json();
        let msg = json["error"].as_str().unwrap_or("");
        assert!(!msg.is_empty(), "error body lacks a message: {}", self.body);
    }
}

impl Api {
    pub fn new(base: &str) -> Api {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("build http client");
        let config = Config {
            url: base.to_owned(),
            key: None,
        };
        Api {
            base: base.to_owned(),
            client: meet_ai::client::Client::with_http(&config, http.clone()),
            http,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn request(&self, method: Method, path: &str, key: Option<&str>) -> RequestBuilder {
        let mut req = self.client.request(method, path);
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        req
    }

    /// Sends `req` and reads the whole answer, through the library's
    /// [`meet_ai::client::send_whole`]: a refusal made in front of the
    /// Worker (`wrangler dev`'s proxy losing its connection to it) is sent
    /// again, since the Worker never saw it and no test is about it.
    pub async fn send_req(req: RequestBuilder) -> Reply {
        let answer = meet_ai::client::send_whole(req)
            .await
            .expect("request reaches the server");
        Reply {
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.request(method, path, key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        Api::send_req(req).await
    }

    pub async fn create_key_from(&self, ip: &str) -> Reply {
        Api::send_req(
            self.client
                .create_key_request()
                .header("CF-Connecting-IP", ip),
        )
        .await
    }

    /// [`Api::create_key_from`] for an owned address (handy in `join_all`).
    pub async fn create_key_from_owned(&self, ip: String) -> Reply {
        self.create_key_from(&ip).await
    }

    /// A new key, from a fresh client IP.
    pub async fn new_key(&self) -> String {
        let reply = self.create_key_from(&fresh_ip()).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let created: KeyCreated = serde_json::from_str(&reply.body).expect("key body");
        created.key
    }

    pub async fn create_room(&self, key: &str, name: &str) -> Room {
        let req = self.as_key(key).create_room_request(name).expect("a key");
        let reply = Api::send_req(req).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        serde_json::from_str(&reply.body).expect("room body")
    }

    /// A new key with one room.
    pub async fn key_and_room(&self) -> (String, Room) {
        let key = self.new_key().await;
        let room = self.create_room(&key, "test room").await;
        (key, room)
    }

    pub async fn send(&self, key: &str, room: &str, sender: &str, content: &str) -> Message {
        let body = SendBody {
            sender: Some(sender.to_owned()),
            content: content.to_owned(),
            ..SendBody::default()
        };
        self.post_message(key, room, &body).await
    }

    /// The library's client speaking with `key`.
    pub fn as_key(&self, key: &str) -> meet_ai::client::Client {
        self.client.with_key(key)
    }

    /// Posts `body` and expects it stored.
    async fn post_message(&self, key: &str, room: &str, body: &SendBody) -> Message {
        let req = self
            .as_key(key)
            .send_message_request(room, body, None)
            .expect("a key");
        let reply = Api::send_req(req).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        serde_json::from_str(&reply.body).expect("message body")
    }

    pub async fn history(&self, key: &str, room: &str, query: &str) -> Vec<Message> {
        // The query as the test wrote it (any parameter, even one the
        // library's `HistoryQuery` does not know).
        let path = format!("/api/rooms/{room}/messages{query}");
        let reply = Api::send_req(self.request(Method::GET, &path, Some(key))).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        serde_json::from_str(&reply.body).expect("history body")
    }

    /// The whole history of a room, oldest first (the library's paging,
    /// back to the first message and forward again).
    pub async fn full_history(&self, key: &str, room: &str) -> Vec<Message> {
        self.as_key(key)
            .whole_history(room, usize::MAX)
            .await
            .expect("the whole history")
    }

    /// `PATCH /api/rooms/:id` with `{"public": …}`: what arrived.
    pub async fn set_public(&self, key: &str, room: &str, public: bool) -> Reply {
        let path = format!("/api/rooms/{room}");
        let req = self.request(Method::PATCH, &path, Some(key));
        Api::send_req(req.json(&json!({ "public": public }))).await
    }

    /// Sends each `(sender, content)` in turn; the messages as stored.
    pub async fn send_each<const N: usize>(
        &self,
        key: &str,
        room: &str,
        each: [(&str, &str); N],
    ) -> [Message; N] {
        let mut sent = Vec::with_capacity(N);
        for (sender, content) in each {
            sent.push(self.send(key, room, sender, content).await);
        }
        sent.try_into().expect("one message each")
    }

    /// Adds a member to the owner's room and returns its token.
    pub async fn add_member(&self, owner: &str, room: &str, handle: &str, role: &str) -> String {
        let reply = self
            .call(
                Method::POST,
                &format!("/api/rooms/{room}/members"),
                Some(owner),
                Some(json!({ "handle": handle, "role": role })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply.json()["token"]
            .as_str()
            .expect("a token in the reply")
            .to_owned()
    }

    /// Sends with a member token, leaving the sender to the token.
    pub async fn send_as_member(&self, token: &str, room: &str, content: &str) -> Message {
        let body = SendBody {
            content: content.to_owned(),
            ..SendBody::default()
        };
        self.post_message(token, room, &body).await
    }
}
