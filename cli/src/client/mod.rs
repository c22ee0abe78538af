//! The REST API over HTTP: one request builder per endpoint
//! (`requests.rs`), typed with `protocol::wire`, and two ways to send one:
//! the CLI's calls, which map every failure to a [`CliError`] with the
//! server's own sentence, and [`Client::timed`] (`timed.rs`), which measures
//! a call and reads its `Server-Timing` for the load generator.

mod cursor;
mod decisions;
mod errors;
mod history;
mod members;
mod requests;
#[cfg(test)]
pub(crate) mod tests;
mod timed;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use protocol::bookmark::BOOKMARK_HEADER;
use protocol::validate::parse_id;
use protocol::wire::{Health, KeyCreated, Message, SendBody};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, Url};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request as WsRequest;

pub use errors::{
    error_chain, error_from_parts, error_from_response, retry_after, root_cause, send_whole,
    unhandled_wait, with_retries, Answer, UNHANDLED_RETRIES,
};
pub use requests::{HistoryQuery, WaitQuery};
pub use timed::{server_timing, Cost, CostTotals, Timed};

use crate::config::Config;
use protocol::ErrorCode;

use crate::error::{CliError, Result};
use protocol::key::CredentialKind;

/// How long a REST call may take in all.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
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

/// One server, one credential (or none), one connection pool. Clones share
/// the pool and the bookmark; [`Client::with_key`] is a clone speaking with
/// another credential (the load generator holds hundreds of keys).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    pub base: String,
    key: Option<String>,
    /// The newest D1 bookmark a response carried, presented on every later
    /// request so a read after a send sees the send even where reads go to
    /// replicas (shared by clones: one process, one session).
    bookmark: Arc<Mutex<Option<String>>>,
}

impl Client {
    pub fn new(config: &Config) -> Result<Client> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("meet-ai-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| CliError::other(format!("cannot set up HTTP: {e}")))?;
        Ok(Client::with_http(config, http))
    }

    /// A client over an HTTP client of the caller's (its own timeouts,
    /// pool and user agent).
    pub fn with_http(config: &Config, http: reqwest::Client) -> Client {
        Client {
            http,
            base: config.url.clone(),
            key: config.key.clone(),
            bookmark: Arc::default(),
        }
    }

    /// The same server and pool, speaking with `key` (an owner key or a
    /// member token).
    pub fn with_key(&self, key: &str) -> Client {
        Client {
            key: Some(key.to_owned()),
            ..self.clone()
        }
    }

    /// Adds the bookmark held, if any, to a request.
    fn with_bookmark(&self, req: RequestBuilder) -> RequestBuilder {
        match self.bookmark.lock().ok().and_then(|b| b.clone()) {
            Some(b) => req.header(BOOKMARK_HEADER, b),
            None => req,
        }
    }

    /// Keeps a response's bookmark if it is well-formed and not older than
    /// the one held (D1's bookmarks order as strings).
    fn remember_bookmark(&self, headers: &HeaderMap) {
        let Some(new) = headers
            .get(BOOKMARK_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(protocol::bookmark::parse)
        else {
            return;
        };
        if let Ok(mut held) = self.bookmark.lock() {
            if held.as_deref().is_none_or(|old| new >= old) {
                *held = Some(new.to_owned());
            }
        }
    }

    /// The configured key (an owner key or a member token); a missing or
    /// malformed one fails here, before any request (both exit as "bad or
    /// missing key").
    pub fn key(&self) -> Result<&str> {
        self.key_and_kind().map(|(key, _)| key)
    }

    /// What the configured key is: an owner key or a member token.
    pub fn credential(&self) -> Result<CredentialKind> {
        self.key_and_kind().map(|(_, kind)| kind)
    }

    fn key_and_kind(&self) -> Result<(&str, CredentialKind)> {
        let key = self.key.as_deref().ok_or_else(CliError::no_key)?;
        match protocol::key::kind(key) {
            Some(kind) => Ok((key, kind)),
            None => Err(CliError::api(
                ErrorCode::Unauthorized,
                401,
                "the API key is malformed (an owner key is mai_, a member token mem_, followed \
                 by 24 letters, digits, - or _)",
            )),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The server URL plus these path segments, each percent-encoded (a
    /// handle may hold spaces, `/`, `?`...).
    pub fn segments_url(&self, segments: &[&str]) -> Result<Url> {
        let mut url = Url::parse(&self.base).map_err(|e| {
            CliError::other(format!("the server URL {} is not valid: {e}", self.base))
        })?;
        url.path_segments_mut()
            .map_err(|_| {
                CliError::other(format!("the server URL {} cannot take a path", self.base))
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// An authenticated request to `segments` (see [`Client::segments_url`]).
    pub fn authed_at(&self, method: Method, segments: &[&str]) -> Result<RequestBuilder> {
        let url = self.segments_url(segments)?;
        Ok(self.http.request(method, url).bearer_auth(self.key()?))
    }

    /// A request to `path` (with its query), no credential.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A request to `path` with the key, which must be there.
    pub fn authed(&self, method: Method, path: &str) -> Result<RequestBuilder> {
        Ok(self.request(method, path).bearer_auth(self.key()?))
    }

    /// For reads a public room allows without a key: the key when there is
    /// one (it must then be well-formed), no header otherwise.
    pub fn maybe_authed(&self, method: Method, path: &str) -> Result<RequestBuilder> {
        match self.key {
            Some(_) => self.authed(method, path),
            None => Ok(self.request(method, path)),
        }
    }

    /// Sends a request and returns the response if its status is a success.
    /// Sends a request and returns its answer, read whole, if its status is
    /// a success. A request refused in front of the Worker is sent again
    /// (see [`send_whole`]).
    pub async fn send(&self, req: RequestBuilder) -> Result<Answer> {
        let answer = send_whole(self.with_bookmark(req))
            .await
            .map_err(|e| self.network_error(&e))?;
        self.remember_bookmark(&answer.headers);
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(answer.error())
        }
    }

    async fn call<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<Fetched<T>> {
        let answer = self.send(req.timeout(REQUEST_TIMEOUT)).await?;
        self.read_json(answer)
    }

    /// Decodes a successful answer, keeping its exact text.
    fn read_json<T: DeserializeOwned>(&self, answer: Answer) -> Result<Fetched<T>> {
        let raw = answer.body;
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
        Ok(self.call(self.health_request()).await?.value)
    }

    pub async fn create_key(&self) -> Result<Fetched<KeyCreated>> {
        self.call(self.create_key_request()).await
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
        self.call(self.create_room_request(name)?).await
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
        message: &SendBody,
        idempotency_key: &str,
    ) -> Result<Fetched<Message>> {
        let req = self.send_message_request(room, message, Some(idempotency_key))?;
        self.call(req).await
    }

    /// History, oldest first: the latest `limit` messages, or those after `after`.
    pub async fn history(
        &self,
        room: &str,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<RawMessage>> {
        let query = HistoryQuery {
            after,
            limit,
            ..HistoryQuery::default()
        };
        let req = self.history_request(room, &query)?;
        let page: Fetched<Vec<Box<RawValue>>> = self.call(req).await?;
        parse_messages(&page.value)
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
        Ok(self.with_bookmark(req))
    }

    /// The handshake that opens a room's WebSocket, delivering what follows
    /// message `after` (or `START`). The key, when there is one, goes in the
    /// Authorization header, never in the URL.
    pub fn ws_request(&self, room: &str, after: &str) -> Result<WsRequest> {
        self.ws_request_at(room, Some(after))
    }

    /// [`Client::ws_request`], or from now without `after`.
    pub fn ws_request_at(&self, room: &str, after: Option<&str>) -> Result<WsRequest> {
        let url = ws_url_at(&self.base, room, after)?;
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
    pub async fn ws_refusal(&self, room: &str, after: Option<&str>, status: u16) -> Option<String> {
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

/// Decodes the messages of a list the server sent, keeping each one's JSON.
pub fn parse_messages(raw: &[Box<RawValue>]) -> Result<Vec<RawMessage>> {
    raw.iter()
        .map(|raw| {
            RawMessage::parse(raw.get()).map_err(|e| {
                CliError::other(format!(
                    "the server sent a message this CLI cannot read ({e})"
                ))
            })
        })
        .collect()
}

/// `ws_url` over plain HTTP.
fn ws_http_path(room: &str, after: Option<&str>) -> String {
    match after {
        Some(after) => format!("/api/rooms/{room}/ws?after={after}"),
        None => format!("/api/rooms/{room}/ws"),
    }
}

/// `wss://host/api/rooms/:id/ws?after=...` for a server at `https://host`
/// (`ws://` for `http://`).
pub fn ws_url(base: &str, room: &str, after: &str) -> Result<String> {
    ws_url_at(base, room, Some(after))
}

/// [`ws_url`], or from now without `after`.
pub fn ws_url_at(base: &str, room: &str, after: Option<&str>) -> Result<String> {
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
