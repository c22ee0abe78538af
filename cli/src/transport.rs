//! How `listen` receives a room's messages. [`Transport`] is the seam: the
//! free plan streams over Server-Sent Events ([`Sse`]); the paid variant will
//! announce `features.websocket` in `/api/health`, and a WebSocket transport
//! then only has to implement these two traits — the reconnect, resume,
//! dedupe and output logic in `listen` stays as it is.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use protocol::sse::{Decoder, Event};

use crate::client::{error_from_response, Client, RawMessage};
use crate::error::Result;

/// The server sends a heartbeat at least every 15 s; this much silence means
/// the connection is dead even if TCP has not noticed.
const IDLE_LIMIT: Duration = Duration::from_secs(45);

/// What a connection yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Message(RawMessage),
    /// Something arrived that is not a readable message (reported, skipped).
    Unreadable(String),
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The server closed the stream on purpose (free-tier budget): reconnect at once.
    Clean(String),
    /// The connection failed or went silent: reconnect with backoff.
    Dropped(String),
}

pub trait Transport {
    type Conn: Connection;
    /// Short name for lifecycle events.
    fn name(&self) -> &'static str;
    /// Opens a live feed of `room` that starts after message `cursor` (or
    /// from now). Fails with the server's error (401, 404: permanent) or a
    /// network error (transient).
    async fn connect(&self, room: &str, cursor: Option<&str>) -> Result<Self::Conn>;
}

pub trait Connection {
    /// The next thing that arrived, or how the connection ended.
    async fn next(&mut self) -> std::result::Result<Incoming, Ended>;
}

/// `GET /api/rooms/:id/events`, resumed with `Last-Event-ID`.
pub struct Sse<'a> {
    pub client: &'a Client,
}

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Vec<u8>>>>>;

pub struct SseConnection {
    body: Body,
    decoder: Decoder,
    pending: VecDeque<Event>,
}

impl Transport for Sse<'_> {
    type Conn = SseConnection;

    fn name(&self) -> &'static str {
        "sse"
    }

    async fn connect(&self, room: &str, cursor: Option<&str>) -> Result<SseConnection> {
        let req = self.client.events_request(room, cursor)?;
        let resp = req
            .send()
            .await
            .map_err(|e| self.client.network_error(&e))?;
        if !resp.status().is_success() {
            return Err(error_from_response(resp).await);
        }
        let body = resp
            .bytes_stream()
            .map(|r| r.map(|b| b.to_vec()))
            .boxed_local();
        Ok(SseConnection {
            body,
            decoder: Decoder::new(),
            pending: VecDeque::new(),
        })
    }
}

impl Connection for SseConnection {
    async fn next(&mut self) -> std::result::Result<Incoming, Ended> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                if let Some(incoming) = read_event(&event) {
                    return Ok(incoming);
                }
                continue;
            }
            match tokio::time::timeout(IDLE_LIMIT, self.body.next()).await {
                Err(_) => {
                    return Err(Ended::Dropped(format!(
                        "nothing received for {} s",
                        IDLE_LIMIT.as_secs()
                    )))
                }
                Ok(Some(Ok(chunk))) => self.pending.extend(self.decoder.push(&chunk)),
                Ok(Some(Err(e))) => return Err(Ended::Dropped(describe(&e))),
                Ok(None) => return Err(end_of_stream(&self.decoder)),
            }
        }
    }
}

/// A `message` event as a message; other event types are ignored (`None`).
pub fn read_event(event: &Event) -> Option<Incoming> {
    if event.event != "message" {
        return None;
    }
    Some(match RawMessage::parse(&event.data) {
        Ok(m) => Incoming::Message(m),
        Err(e) => Incoming::Unreadable(format!("unreadable message event ({e})")),
    })
}

/// A stream that ends after the server's `: bye ...` comment ended on
/// purpose; any other end is a drop.
pub fn end_of_stream(decoder: &Decoder) -> Ended {
    match decoder.last_comment.as_deref() {
        Some(note) if note.starts_with("bye") => Ended::Clean(note.to_owned()),
        _ => Ended::Dropped("the server closed the connection".to_owned()),
    }
}

fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        text = format!("{text}: {next}");
        cur = next;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bye_is_a_clean_end() {
        let mut d = Decoder::new();
        d.push(b": connected\n\n");
        assert!(matches!(end_of_stream(&d), Ended::Dropped(_)));
        d.push(b": heartbeat\n\n: bye queries=43 reason=budget\n\n");
        assert_eq!(
            end_of_stream(&d),
            Ended::Clean("bye queries=43 reason=budget".into())
        );
        assert!(matches!(end_of_stream(&Decoder::new()), Ended::Dropped(_)));
    }

    #[test]
    fn message_events_become_messages() {
        let data = r#"{"id":"m1","room_id":"r","sender":"a","sender_type":"human","color":null,"content":"hi","created_at":"t"}"#;
        let mut d = Decoder::new();
        let events = d.push(
            format!("retry: 1000\n\n: connected\n\nid: m1\nevent: message\ndata: {data}\n\nevent: other\ndata: x\n\nevent: message\ndata: nope\n\n")
                .as_bytes(),
        );
        let read: Vec<Option<Incoming>> = events.iter().map(read_event).collect();
        assert_eq!(read.len(), 3);
        match &read[0] {
            Some(Incoming::Message(m)) => {
                assert_eq!(m.raw, data);
                assert_eq!(m.message.id, "m1");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(read[1], None);
        assert!(matches!(read[2], Some(Incoming::Unreadable(_))));
    }
}
