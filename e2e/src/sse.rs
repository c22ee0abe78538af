//! Reading a room's event stream the way EventSource does.

use std::time::Duration;

use futures_util::StreamExt;
use protocol::sse::{Decoder, Event};
use protocol::wire::Message;
use reqwest::StatusCode;

pub struct SseStream {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    body: Option<futures_util::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>>,
    pub decoder: Decoder,
    pending: std::collections::VecDeque<Event>,
    /// The stream ended (cleanly or not).
    pub ended: bool,
}

impl SseStream {
    /// Opens `path` (with query) as an event stream. `key` goes in the
    /// Authorization header; `last_event_id` as `Last-Event-ID`.
    pub async fn open(
        base: &str,
        path: &str,
        key: Option<&str>,
        last_event_id: Option<&str>,
    ) -> SseStream {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("http client");
        let mut req = client
            .get(format!("{base}{path}"))
            .header("Accept", "text/event-stream");
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req.send().await.expect("stream request reaches the server");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes_stream().map(|r| r.map(|b| b.to_vec())).boxed();
        SseStream {
            status,
            headers,
            body: Some(body),
            decoder: Decoder::new(),
            pending: Default::default(),
            ended: false,
        }
    }

    /// The next event, or `None` if the stream ended or `within` passed.
    pub async fn next_event(&mut self, within: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let body = self.body.as_mut()?;
            match tokio::time::timeout_at(deadline, body.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(chunk))) => self.pending.extend(self.decoder.push(&chunk)),
                Ok(Some(Err(_))) | Ok(None) => {
                    self.ended = true;
                    self.body = None;
                    return self.pending.pop_front();
                }
            }
        }
    }

    /// The next `message` event, decoded.
    pub async fn next_message(&mut self, within: Duration) -> Option<Message> {
        loop {
            let event = self.next_event(within).await?;
            if event.event == "message" {
                let message: Message = serde_json::from_str(&event.data).unwrap_or_else(|e| {
                    panic!("event data is not a message ({e}): {}", event.data)
                });
                assert_eq!(
                    event.id.as_deref(),
                    Some(message.id.as_str()),
                    "event id is the message id"
                );
                return Some(message);
            }
        }
    }

    /// Reads until the server ends the stream (or `within` passes), returning
    /// the messages that arrived.
    pub async fn drain(&mut self, within: Duration) -> Vec<Message> {
        let deadline = tokio::time::Instant::now() + within;
        let mut out = Vec::new();
        while !self.ended {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            match self.next_message(left).await {
                Some(m) => out.push(m),
                None => break,
            }
        }
        out
    }
}
