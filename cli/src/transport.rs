//! How `listen` receives a room's messages. [`Transport`] is the seam: every
//! server streams over Server-Sent Events ([`Sse`]); the paid variant, which
//! announces `features.websocket` in `/api/health`, also pushes over a
//! WebSocket ([`crate::ws::Ws`]). The reconnect, resume, dedupe and output
//! logic in `listen` is the same for both.

use std::time::Duration;

use protocol::sse::{Bye, Decoder, Event};
use protocol::timing::D1Timing;

use crate::client::{error_from_response, server_timing, Client, RawMessage};
use crate::error::{CliError, Result};
use crate::sse::{EventReader, Stop};

/// The server sends a heartbeat at least every 15 s; this much silence means
/// the connection is dead even if TCP has not noticed.
const IDLE_LIMIT: Duration = Duration::from_secs(45);

/// What a connection yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Message(Box<RawMessage>),
    /// Something arrived that is not a message to print (an unreadable
    /// event, an error frame): reported, skipped.
    Warning(String),
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The server closed the stream on purpose (free-tier budget, access
    /// lost): reconnect at once.
    Clean(String),
    /// The connection failed or went silent: reconnect with backoff.
    Dropped(String),
}

// The listeners run on one current-thread runtime: their futures need not be
// `Send`, so the plain `async fn` form is the right one.
#[allow(async_fn_in_trait)]
pub trait Transport {
    type Conn: Connection;
    /// Short name for lifecycle events.
    fn name(&self) -> &'static str;
    /// Opens a live feed of `room` that starts after message `cursor`
    /// (`START`: the start of the room), or from now. Fails with the
    /// server's error (401, 404: permanent) or a network error (transient).
    async fn connect(&self, room: &str, cursor: Option<&str>) -> Result<Self::Conn>;
}

#[allow(async_fn_in_trait)]
pub trait Connection {
    /// Where this connection starts: the message id (or `START`) it delivers
    /// what follows of. Resuming from here after a drop loses nothing, even
    /// before the first message. `None` only from a server that does not say.
    fn start(&self) -> Option<&str>;
    /// What opening it cost in D1 (the response's `Server-Timing`), for
    /// callers that measure the server.
    fn timing(&self) -> Option<D1Timing>;
    /// The server's goodbye, if it said one before ending (SSE).
    fn bye(&self) -> Option<&Bye> {
        None
    }
    /// The reconnection time the server asked for, in ms (SSE's `retry:`).
    fn retry(&self) -> Option<u64> {
        None
    }
    /// The next thing that arrived, or how the connection ended.
    async fn next(&mut self) -> std::result::Result<Incoming, Ended>;
}

/// `GET /api/rooms/:id/events`, resumed with `Last-Event-ID`.
pub struct Sse<'a> {
    pub client: &'a Client,
}

pub struct SseConnection {
    events: EventReader,
    /// The resume point the stream announced as it opened.
    start: Option<String>,
    /// What opening the stream cost in D1 (its response's `Server-Timing`).
    pub timing: Option<D1Timing>,
}

impl SseConnection {
    /// The stream's state so far: its `retry:` hint, its goodbye.
    pub fn decoder(&self) -> &Decoder {
        &self.events.decoder
    }
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
        let timing = server_timing(resp.headers());
        let mut events = EventReader::new(resp);
        // The stream opens with its resume point (a bare `id:`), then a
        // `: connected` comment: read up to either, so the caller knows where
        // this stream starts before it reports being connected.
        while events.decoder.last_event_id().is_none()
            && events.decoder.comments == 0
            && !events.has_pending()
        {
            if let Err(stop) = events.read(IDLE_LIMIT).await {
                let why = match stop {
                    Stop::Ended => "it ended".to_owned(),
                    Stop::Silent(idle) => format!("nothing received for {} s", idle.as_secs()),
                    Stop::Broken(why) => why,
                };
                return Err(CliError::unreachable(format!(
                    "the event stream from {} broke as it opened: {why}",
                    self.client.base
                )));
            }
        }
        Ok(SseConnection {
            start: events.decoder.last_event_id().map(str::to_owned),
            events,
            timing,
        })
    }
}

impl Connection for SseConnection {
    fn start(&self) -> Option<&str> {
        self.start.as_deref()
    }

    fn timing(&self) -> Option<D1Timing> {
        self.timing
    }

    fn bye(&self) -> Option<&Bye> {
        self.events.decoder.bye.as_ref()
    }

    fn retry(&self) -> Option<u64> {
        self.events.decoder.retry
    }

    async fn next(&mut self) -> std::result::Result<Incoming, Ended> {
        loop {
            match self.events.next(IDLE_LIMIT).await {
                Ok(event) => {
                    if let Some(incoming) = read_event(&event) {
                        return Ok(incoming);
                    }
                }
                Err(Stop::Silent(idle)) => {
                    return Err(Ended::Dropped(format!(
                        "nothing received for {} s",
                        idle.as_secs()
                    )))
                }
                Err(Stop::Broken(why)) => return Err(Ended::Dropped(why)),
                Err(Stop::Ended) => return Err(end_of_stream(&self.events.decoder)),
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
        Ok(m) => Incoming::Message(Box::new(m)),
        Err(e) => Incoming::Warning(format!("unreadable message event ({e})")),
    })
}

/// A stream that ends after the server's goodbye (`Decoder::bye`) ended on
/// purpose, noted as the server worded it; any other end is a drop.
pub fn end_of_stream(decoder: &Decoder) -> Ended {
    match &decoder.bye {
        Some(bye) => Ended::Clean(match decoder.last_comment.as_deref() {
            Some(note) if Bye::parse(note).is_some() => note.to_owned(),
            _ => bye.comment(),
        }),
        None => Ended::Dropped("the server closed the connection".to_owned()),
    }
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
        assert!(matches!(read[2], Some(Incoming::Warning(_))));
    }
}
