//! Reading an event stream (`text/event-stream`): a response body through
//! `protocol::sse::Decoder`, one event at a time, with a bound on silence.
//! `listen`'s [`Sse`](crate::transport::Sse) transport, the load
//! generator's listeners and the black-box tests all read streams with it;
//! the decoder keeps the stream's state (`retry:`, the last id, the
//! goodbye in [`Decoder::bye`]).

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use protocol::sse::{Decoder, Event};

use crate::client::error_chain;

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Vec<u8>>> + Send>>;

/// Why no event came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The body ended; the decoder's `bye` says whether on purpose.
    Ended,
    /// Nothing at all arrived (not even a heartbeat) for this long.
    Silent(Duration),
    /// The connection broke (the error chain, on one line).
    Broken(String),
}

/// The events of one response body.
pub struct EventReader {
    body: Option<Body>,
    pub decoder: Decoder,
    pending: VecDeque<Event>,
}

impl EventReader {
    pub fn new(resp: reqwest::Response) -> EventReader {
        EventReader {
            body: Some(resp.bytes_stream().map(|r| r.map(|b| b.to_vec())).boxed()),
            decoder: Decoder::new(),
            pending: VecDeque::new(),
        }
    }

    /// The next event; `Err` once the body ended or broke (for good), or
    /// when nothing arrived for `idle`.
    pub async fn next(&mut self, idle: Duration) -> Result<Event, Stop> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(event);
            }
            self.read(idle).await?;
        }
    }

    /// Reads one chunk into the decoder (its events queue for
    /// [`EventReader::next`]); for a caller that watches the decoder's
    /// state rather than events.
    pub async fn read(&mut self, idle: Duration) -> Result<(), Stop> {
        let body = self.body.as_mut().ok_or(Stop::Ended)?;
        let chunk = match tokio::time::timeout(idle, body.next()).await {
            Err(_) => return Err(Stop::Silent(idle)),
            Ok(Some(Ok(chunk))) => chunk,
            Ok(Some(Err(e))) => {
                self.body = None;
                return Err(Stop::Broken(error_chain(&e)));
            }
            Ok(None) => {
                self.body = None;
                return Err(Stop::Ended);
            }
        };
        let events = self.decoder.push(&chunk);
        self.pending.extend(events);
        Ok(())
    }

    /// Whether events are queued, not yet taken.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }
}
