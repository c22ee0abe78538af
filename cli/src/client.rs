//! The REST API over HTTP: one method per endpoint, every failure mapped to a
//! [`CliError`] with the server's own sentence where it sent one.

use std::future::Future;
use std::time::Duration;

use protocol::validate::parse_id;
use protocol::wire::{ErrorBody, Health, KeyCreated, Message, SenderType};
use protocol::ErrorCode;
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request as WsRequest;

use crate::backoff::{jitter, retry_delay, Backoff};
use crate::config::Config;
use crate::error::{CliError, Kind, Result};

/// How long a REST call may take in all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A decoded answer plus the exact JSON the server sent, which JSON output
/// prints unchanged.
#[derive(Debug, Clone)]
pub struct Fetched<T> {
    pub value: T,
    pub raw: String,
}

/// A message and its JSON exactly as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    pub message: Message,
    pub raw: String,
}

impl RawMessage {
    /// Decodes one message; `raw` is kept (made single-line if it somehow was not).
    pub fn parse(raw: &str) -> std::result::Result<RawMessage, serde_json::Error> {
        let message: Message = serde_json::from_str(raw)?;
        let raw = raw.trim();
        let raw = if raw.contains(['\n', '\r']) {
            let value: serde_json::Value = serde_json::from_str(raw)?;
            value.to_string()
        } else {
            raw.to_owned()
        };
        Ok(RawMessage { message, raw })
    }
}

/// A room: the shared wire type (its `public` defaults to false, so older
/// servers read fine).
pub use protocol::wire::Room;

/// `POST /api/rooms/:id/messages` body.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NewMessage {
    pub sender: String,
    pub content: String,
    pub sender_type: SenderType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    pub base: String,
    key: Option<String>,
}

impl Client {
    pub fn new(config: &Config) -> Result<Client> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("meet-ai-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| CliError::other(format!("cannot set up HTTP: {e}")))?;
        Ok(Client {
            http,
            base: config.url.clone(),
            key: config.key.clone(),
        })
    }

    /// The configured key; a missing or malformed one fails here, before
    /// any request (both exit as "bad or missing key").
    pub fn key(&self) -> Result<&str> {
        let key = self.key.as_deref().ok_or_else(CliError::no_key)?;
        if !protocol::key::is_well_formed(key) {
            return Err(CliError::api(
                ErrorCode::Unauthorized,
                401,
                "the API key is malformed (a key is mai_ followed by 24 letters, digits, - or _)",
            ));
        }
        Ok(key)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    fn authed(&self, method: Method, path: &str) -> Result<RequestBuilder> {
        Ok(self.request(method, path).bearer_auth(self.key()?))
    }

    /// For reads a public room allows without a key: the key when there is
    /// one (it must then be well-formed), no header otherwise.
    fn maybe_authed(&self, method: Method, path: &str) -> Result<RequestBuilder> {
        match self.key {
            Some(_) => self.authed(method, path),
            None => Ok(self.request(method, path)),
        }
    }

    /// Sends a request and returns the response if its status is a success.
    pub async fn send(&self, req: RequestBuilder) -> Result<Response> {
        let resp = req.send().await.map_err(|e| self.network_error(&e))?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(error_from_response(resp).await)
        }
    }

    async fn call<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<Fetched<T>> {
        let resp = self.send(req.timeout(REQUEST_TIMEOUT)).await?;
        let raw = resp.text().await.map_err(|e| self.network_error(&e))?;
        let value = serde_json::from_str(&raw).map_err(|e| {
            CliError::other(format!(
                "the server at {} answered with something that is not meet-ai JSON ({e})",
                self.base
            ))
        })?;
        Ok(Fetched { value, raw })
    }

    /// A transport failure, as one sentence.
    pub fn network_error(&self, e: &reqwest::Error) -> CliError {
        let cause = root_cause(e);
        if e.is_timeout() {
            return CliError::unreachable(format!(
                "the server at {} did not answer in time",
                self.base
            ));
        }
        if e.is_builder() {
            return CliError::other(format!("cannot build a request for {}: {cause}", self.base));
        }
        CliError::unreachable(format!("cannot reach the server at {}: {cause}", self.base))
    }

    /// `GET /api/health`: whether the server is up, and what it offers.
    pub async fn health(&self) -> Result<Health> {
        Ok(self
            .call(self.request(Method::GET, "/api/health"))
            .await?
            .value)
    }

    pub async fn create_key(&self) -> Result<Fetched<KeyCreated>> {
        self.call(self.request(Method::POST, "/api/keys")).await
    }

    pub async fn revoke_key(&self) -> Result<()> {
        let req = self.authed(Method::DELETE, "/api/keys")?;
        self.send(req.timeout(REQUEST_TIMEOUT)).await?;
        Ok(())
    }

    pub async fn rooms(&self) -> Result<Fetched<Vec<Room>>> {
        self.call(self.authed(Method::GET, "/api/rooms")?).await
    }

    pub async fn create_room(&self, name: &str) -> Result<Fetched<Room>> {
        let req = self
            .authed(Method::POST, "/api/rooms")?
            .json(&serde_json::json!({ "name": name }));
        self.call(req).await
    }

    /// A room id from what the user typed: an id as it is, otherwise the one
    /// room of theirs with exactly that name.
    pub async fn resolve_room(&self, arg: &str) -> Result<String> {
        let arg = arg.trim();
        if let Some(id) = parse_id(arg) {
            return Ok(id);
        }
        let rooms = self.rooms().await?.value;
        pick_room(arg, &rooms)
    }

    /// One attempt at posting a message.
    pub async fn send_message(
        &self,
        room: &str,
        message: &NewMessage,
        idempotency_key: &str,
    ) -> Result<Fetched<Message>> {
        let req = self
            .authed(Method::POST, &format!("/api/rooms/{room}/messages"))?
            .header("Idempotency-Key", idempotency_key)
            .json(message);
        self.call(req).await
    }

    /// History, oldest first: the latest `limit` messages, or those after `after`.
    pub async fn history(
        &self,
        room: &str,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<RawMessage>> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(after) = after {
            query.push(("after", after.to_owned()));
        }
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        let req = self
            .maybe_authed(Method::GET, &format!("/api/rooms/{room}/messages"))?
            .query(&query);
        let page: Fetched<Vec<Box<RawValue>>> = self.call(req).await?;
        page.value
            .iter()
            .map(|raw| {
                RawMessage::parse(raw.get()).map_err(|e| {
                    CliError::other(format!(
                        "the server sent a message this CLI cannot read ({e})"
                    ))
                })
            })
            .collect()
    }

    /// The request that opens a room's event stream.
    pub fn events_request(&self, room: &str, cursor: Option<&str>) -> Result<RequestBuilder> {
        let mut req = self
            .maybe_authed(Method::GET, &format!("/api/rooms/{room}/events"))?
            .header("Accept", "text/event-stream")
            .header("Cache-Control", "no-cache");
        if let Some(cursor) = cursor {
            req = req.header("Last-Event-ID", cursor);
        }
        Ok(req)
    }

    /// The handshake that opens a room's WebSocket, delivering what follows
    /// message `after` (or `START`). The key, when there is one, goes in the
    /// Authorization header, never in the URL.
    pub fn ws_request(&self, room: &str, after: &str) -> Result<WsRequest> {
        let url = ws_url(&self.base, room, after)?;
        let mut req = url.as_str().into_client_request().map_err(|e| {
            CliError::other(format!("cannot build a WebSocket request for {url}: {e}"))
        })?;
        let headers = req.headers_mut();
        headers.insert(
            "User-Agent",
            concat!("meet-ai-cli/", env!("CARGO_PKG_VERSION"))
                .parse()
                .expect("a valid header value"),
        );
        if self.key.is_some() {
            let value = format!("Bearer {}", self.key()?);
            // A well-formed key is ASCII letters, digits, - and _.
            let value = value
                .parse()
                .map_err(|_| CliError::other("the API key cannot go in a header"))?;
            headers.insert("Authorization", value);
        }
        Ok(req)
    }

    /// The body of the refusal a WebSocket handshake got with `status`,
    /// asked again without the upgrade (the route refuses before it looks
    /// for one); `None` if the answer differs or does not come.
    pub async fn ws_refusal(&self, room: &str, after: &str, status: u16) -> Option<String> {
        let req = self
            .maybe_authed(Method::GET, &ws_http_path(room, after))
            .ok()?
            .timeout(REQUEST_TIMEOUT);
        let resp = req.send().await.ok()?;
        if resp.status().as_u16() != status {
            return None;
        }
        resp.text().await.ok()
    }
}

/// `ws_url` over plain HTTP.
fn ws_http_path(room: &str, after: &str) -> String {
    format!("/api/rooms/{room}/ws?after={after}")
}

/// `wss://host/api/rooms/:id/ws?after=...` for a server at `https://host`
/// (`ws://` for `http://`).
pub fn ws_url(base: &str, room: &str, after: &str) -> Result<String> {
    let socket_base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        return Err(CliError::other(format!(
            "the server URL must start with http:// or https:// (got {base:?})"
        )));
    };
    Ok(format!("{socket_base}{}", ws_http_path(room, after)))
}

/// The one room named `name`, or why there is not one.
pub fn pick_room(name: &str, rooms: &[Room]) -> Result<String> {
    let matches: Vec<&Room> = rooms.iter().filter(|r| r.name == name).collect();
    match matches.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(CliError::api(
            ErrorCode::NotFound,
            404,
            format!("room not found: no room id or room name {name:?} for this key (`meet-ai rooms` lists yours)"),
        )),
        many => Err(CliError::other(format!(
            "{} rooms are named {name:?}; use an id: {}",
            many.len(),
            many.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Reads an error response: the server's sentence and code, or the status.
pub async fn error_from_response(resp: Response) -> CliError {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("Retry-After")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = resp.text().await.unwrap_or_default();
    error_from_parts(status, retry_after, &body)
}

/// [`error_from_response`] without the I/O.
pub fn error_from_parts(status: u16, retry_after: Option<Duration>, body: &str) -> CliError {
    let parsed: Option<ErrorBody> = serde_json::from_str(body).ok();
    let code = parsed
        .as_ref()
        .and_then(|b| b.code)
        .unwrap_or_else(|| ErrorCode::from_status(status));
    let message = match parsed {
        Some(b) if !b.error.trim().is_empty() => b.error.trim().to_owned(),
        _ => format!("the server answered HTTP {status}"),
    };
    CliError {
        kind: Kind::Api {
            code,
            status,
            retry_after,
        },
        message,
    }
}

/// The innermost cause of an error, which is the informative one for
/// networking ("Connection refused", "dns error: ..."), without "(os error N)".
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let text = cur.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Runs `op` until it succeeds, fails for good, or `max_retries` retries are
/// spent. Transient failures (network, 5xx, 429) are retried after the
/// server's Retry-After or the backoff; `on_retry(retry, delay, error)` is
/// told before each wait. `op` must be safe to repeat (a send reuses its
/// Idempotency-Key).
pub async fn with_retries<T, F, Fut>(
    max_retries: u32,
    backoff: Backoff,
    mut op: F,
    mut on_retry: impl FnMut(u32, Duration, &CliError),
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut retry = 0;
    loop {
        let err = match op().await {
            Ok(v) => return Ok(v),
            Err(e) if !e.is_transient() => return Err(e),
            Err(e) => e,
        };
        retry += 1;
        let Some(delay) = retry_delay(backoff, retry, max_retries, err.retry_after(), jitter())
        else {
            return Err(gave_up(err, retry - 1));
        };
        on_retry(retry, delay, &err);
        tokio::time::sleep(delay).await;
    }
}

fn gave_up(mut err: CliError, retries: u32) -> CliError {
    if retries > 0 {
        err.message = format!("{} (gave up after {} attempts)", err.message, retries + 1);
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[test]
    fn error_bodies_become_sentences_and_codes() {
        let e = error_from_parts(
            404,
            None,
            r#"{"error":"room not found","code":"not_found"}"#,
        );
        assert_eq!(e.message, "room not found");
        assert_eq!(e.code(), Some(ErrorCode::NotFound));
        assert_eq!(e.exit_code(), 4);

        let e = error_from_parts(
            429,
            Some(Duration::from_secs(9)),
            r#"{"error":"slow down","code":"rate_limited"}"#,
        );
        assert_eq!(e.exit_code(), 5);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(9)));
        assert_eq!(e.to_string(), "slow down (retry after 9 s)");

        // No body (a proxy, a crashed Worker): the status decides.
        let e = error_from_parts(502, None, "<html>bad gateway</html>");
        assert_eq!(e.message, "the server answered HTTP 502");
        assert_eq!(e.code(), Some(ErrorCode::Internal));
        assert!(e.is_transient());
        let e = error_from_parts(401, None, "");
        assert_eq!(e.exit_code(), 3);
    }

    fn room(id: &str, name: &str) -> Room {
        Room {
            id: id.into(),
            name: name.into(),
            public: false,
            created_at: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    #[test]
    fn rooms_parse_with_or_without_public() {
        let old: Room = serde_json::from_str(r#"{"id":"a","name":"n","created_at":"t"}"#).unwrap();
        assert!(!old.public);
        let new: Room =
            serde_json::from_str(r#"{"id":"a","name":"n","public":true,"created_at":"t"}"#)
                .unwrap();
        assert!(new.public);
    }

    #[test]
    fn rooms_are_picked_by_exact_name() {
        let rooms = [room("a", "general"), room("b", "dev"), room("c", "dev")];
        assert_eq!(pick_room("general", &rooms).unwrap(), "a");
        let e = pick_room("General", &rooms).unwrap_err();
        assert_eq!(e.exit_code(), 4);
        let e = pick_room("dev", &rooms).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert!(e.message.contains("b, c"), "{}", e.message);
    }

    #[test]
    fn raw_messages_keep_the_server_bytes() {
        let raw = r#"{"id":"m","room_id":"r","sender":"a","sender_type":"agent","color":null,"content":"x\ny","created_at":"t"}"#;
        let m = RawMessage::parse(raw).unwrap();
        assert_eq!(m.raw, raw);
        assert_eq!(m.message.content, "x\ny");
        assert!(RawMessage::parse(r#"{"id":"m"}"#).is_err());
    }

    #[test]
    fn a_malformed_key_fails_before_any_request() {
        for key in [
            None,
            Some("mai_short"),
            Some("nope_abcdefghijklmnopqrstuvwx"),
        ] {
            let c = Client::new(&Config {
                url: "http://127.0.0.1:9".into(),
                key: key.map(str::to_owned),
            })
            .unwrap();
            assert_eq!(c.key().unwrap_err().exit_code(), 3, "{key:?}");
        }
    }

    #[test]
    fn socket_urls_follow_the_server_scheme() {
        let id = "0b6f3c1e-8a7d-4f7e-9c55-7f0e0b2c9d11";
        assert_eq!(
            ws_url("https://meet-ai.cc", "r1", id).unwrap(),
            format!("wss://meet-ai.cc/api/rooms/r1/ws?after={id}")
        );
        assert_eq!(
            ws_url("http://127.0.0.1:8787", "r1", protocol::validate::START).unwrap(),
            "ws://127.0.0.1:8787/api/rooms/r1/ws?after=00000000-0000-0000-0000-000000000000"
        );
        assert!(ws_url("ftp://x", "r", id).is_err());
    }

    #[test]
    fn socket_requests_carry_the_key_in_a_header() {
        let with_key = client("http://127.0.0.1:9");
        let req = with_key.ws_request("r", "m").unwrap();
        assert_eq!(
            req.uri().to_string(),
            "ws://127.0.0.1:9/api/rooms/r/ws?after=m"
        );
        assert_eq!(
            req.headers()["Authorization"],
            "Bearer mai_abcdefghijklmnopqrstuvwx"
        );
        assert!(!req.uri().to_string().contains("mai_"));
        let anonymous = Client::new(&Config {
            url: "https://example.com".into(),
            key: None,
        })
        .unwrap();
        let req = anonymous.ws_request("r", "m").unwrap();
        assert!(req.headers().get("Authorization").is_none());
        assert_eq!(req.headers()["Upgrade"], "websocket");
        let malformed = Client::new(&Config {
            url: "http://x".into(),
            key: Some("nope".into()),
        })
        .unwrap();
        assert_eq!(malformed.ws_request("r", "m").unwrap_err().exit_code(), 3);
    }

    #[test]
    fn root_cause_drops_os_error_numbers() {
        let io = std::io::Error::from_raw_os_error(111);
        assert_eq!(root_cause(&io), "Connection refused");
    }

    /// A one-route HTTP server: answers each request with the next canned
    /// response and records the request heads it saw.
    async fn fake_server(responses: Vec<String>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            for response in responses {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and the (small, Content-Length) body.
                loop {
                    let n = sock.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len || n == 0 {
                            log.lock().unwrap().push(text);
                            break;
                        }
                    }
                }
                sock.write_all(response.as_bytes()).await.unwrap();
                sock.shutdown().await.unwrap();
            }
        });
        (base, seen)
    }

    fn http(status: &str, extra: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
            body.len()
        )
    }

    fn idempotency_keys(seen: &[String]) -> Vec<String> {
        seen.iter()
            .map(|req| {
                req.lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .starts_with("idempotency-key:")
                            .then(|| l.split_once(':').unwrap().1.trim().to_owned())
                    })
                    .expect("request carries an Idempotency-Key")
            })
            .collect()
    }

    const MSG: &str = r#"{"id":"0b6f3c1e-8a7d-4f7e-9c55-7f0e0b2c9d11","room_id":"r","sender":"me","sender_type":"agent","color":null,"content":"hi","created_at":"t"}"#;

    fn client(base: &str) -> Client {
        Client::new(&Config {
            url: base.to_owned(),
            key: Some("mai_abcdefghijklmnopqrstuvwx".into()),
        })
        .unwrap()
    }

    #[tokio::test]
    async fn send_retries_5xx_and_429_with_the_same_idempotency_key() {
        let (base, seen) = fake_server(vec![
            http(
                "503 Service Unavailable",
                "",
                r#"{"error":"try later","code":"internal"}"#,
            ),
            http(
                "429 Too Many Requests",
                "Retry-After: 1\r\n",
                r#"{"error":"slow down","code":"rate_limited"}"#,
            ),
            http("201 Created", "", MSG),
        ])
        .await;
        let c = client(&base);
        let msg = NewMessage {
            sender: "me".into(),
            content: "hi".into(),
            sender_type: SenderType::Agent,
            color: None,
        };
        let mut waits = Vec::new();
        let sent = with_retries(
            5,
            Backoff::SEND,
            || c.send_message("r", &msg, "idem-1"),
            |retry, delay, err| waits.push((retry, delay, err.exit_code())),
        )
        .await
        .unwrap();
        assert_eq!(sent.value.content, "hi");
        assert_eq!(sent.raw, MSG);
        assert_eq!(waits.len(), 2);
        assert_eq!(waits[0].0, 1);
        assert_eq!(waits[0].2, 1);
        // The 429 waits exactly its Retry-After.
        assert_eq!(waits[1], (2, Duration::from_secs(1), 5));
        let seen = seen.lock().unwrap().clone();
        assert_eq!(idempotency_keys(&seen), vec!["idem-1"; 3]);
        assert!(seen[0].starts_with("POST /api/rooms/r/messages "));
        assert!(seen[0].contains("\"sender_type\":\"agent\""));
    }

    #[tokio::test]
    async fn send_stops_at_permanent_errors_and_at_the_retry_budget() {
        let (base, seen) = fake_server(vec![http(
            "404 Not Found",
            "",
            r#"{"error":"room not found","code":"not_found"}"#,
        )])
        .await;
        let c = client(&base);
        let msg = NewMessage {
            sender: "me".into(),
            content: "hi".into(),
            sender_type: SenderType::Human,
            color: Some("#aabbcc".into()),
        };
        let mut retries = 0;
        let err = with_retries(
            5,
            Backoff::SEND,
            || c.send_message("r", &msg, "k"),
            |_, _, _| retries += 1,
        )
        .await
        .unwrap_err();
        assert_eq!((err.exit_code(), retries), (4, 0));
        assert_eq!(err.message, "room not found");
        assert_eq!(seen.lock().unwrap().len(), 1);

        let (base, seen) = fake_server(vec![
            http(
                "500 Internal Server Error",
                "",
                r#"{"error":"boom","code":"internal"}"#,
            ),
            http(
                "500 Internal Server Error",
                "",
                r#"{"error":"boom","code":"internal"}"#,
            ),
        ])
        .await;
        let c = client(&base);
        let err = with_retries(
            1,
            Backoff::SEND,
            || c.send_message("r", &msg, "k"),
            |_, _, _| {},
        )
        .await
        .unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert_eq!(err.message, "boom (gave up after 2 attempts)");
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let c = client(&format!("http://127.0.0.1:{port}"));
        let err = c.rooms().await.unwrap_err();
        assert_eq!(err.exit_code(), 6);
        assert!(
            err.message.starts_with(&format!(
                "cannot reach the server at http://127.0.0.1:{port}"
            )),
            "{}",
            err.message
        );
    }
}
