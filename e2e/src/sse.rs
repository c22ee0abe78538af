//! Reading a room's event stream the way EventSource does: the request is
//! the library client's, the body is read by its `EventReader` (whose
//! `decoder` a test reads through this stream, e.g. `stream.decoder.retry`).

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use meet_ai::sse::EventReader;
use protocol::sse::Event;
use protocol::wire::Message;
use reqwest::{Method, StatusCode};

pub struct SseStream {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    events: EventReader,
    /// The stream ended (cleanly or not).
    pub ended: bool,
}

impl Deref for SseStream {
    type Target = EventReader;
    fn deref(&self) -> &EventReader {
        &self.events
    }
}

impl DerefMut for SseStream {
    fn deref_mut(&mut self) -> &mut EventReader {
        &mut self.events
    }
}

impl SseStream {
    /// Opens `path` (with query) as an event stream. `key` goes in the
    /// Authorization header; `last_event_id` as `Last-Event-ID`. Any path
    /// and any key: tests open streams the server must refuse, too.
    pub async fn open(
        base: &str,
        path: &str,
        key: Option<&str>,
        last_event_id: Option<&str>,
    ) -> SseStream {
        let mut req = crate::api::Api::new(base)
            .request(Method::GET, path, key)
            .header("Accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req.send().await.expect("stream request reaches the server");
        SseStream {
            status: resp.status(),
            headers: resp.headers().clone(),
            events: EventReader::new(resp),
            ended: false,
        }
    }

    /// The next event, or `None` if the stream ended or `within` passed.
    pub async fn next_event(&mut self, within: Duration) -> Option<Event> {
        match tokio::time::timeout(within, self.events.next(within)).await {
            Err(_) => None,
            Ok(Ok(event)) => Some(event),
            Ok(Err(meet_ai::sse::Stop::Silent(_))) => None,
            Ok(Err(_)) => {
                self.ended = true;
                None
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
