//! Listeners: clients that follow a room live, over SSE or WebSocket, and
//! reconnect the way real clients do. The connections and the loop over
//! them are the `meet_ai` library's (its transports and `follow`, which
//! `meet-ai listen` runs too); this module decides when to reconnect and
//! logs every connection and what arrives on it.
//!
//! - SSE behaves like `EventSource`: when the server ends a stream (its
//!   `: bye queries=N reason=...` comment, then end of body) it waits the
//!   server's `retry:` hint and reconnects with `Last-Event-ID`; on errors
//!   (refused connection, 5xx, a broken body) it backs off exponentially,
//!   which is what lets a listener ride out a server restart. An error
//!   the library calls permanent (a refusal: bad key, room gone) ends it.
//! - WebSocket reconnects with `?after=<last id>` at once after a close, with
//!   the same backoff on errors.
//!
//! Each listener appends to a [`ListenerLog`] shared with the scenario, which
//! watches it while the run goes on and judges it at the end.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use meet_ai::backoff::{Attempts, Backoff};
use meet_ai::error::CliError;
use meet_ai::follow::{follow, Follower, Read};
use meet_ai::transport::{Connection, Ended, Incoming, Sse};
use meet_ai::ws::Ws;
use protocol::sse::Bye;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::client::Client;
use crate::content::{self, now_us, Stamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Sse,
    Ws,
}

/// What a listener does when the server ends a stream cleanly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reconnect {
    /// Wait the server's `retry:` hint first, as `EventSource` does.
    #[default]
    Eventsource,
    /// Reconnect at once.
    Immediate,
}

/// One message event as it arrived.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub id: String,
    pub recv_us: i64,
    /// The load-generator stamp in its content, if it has one.
    pub stamp: Option<Stamp>,
    /// It was sent before the stream it arrived on was connected: its
    /// latency includes waiting out a reconnect.
    pub across_reconnect: bool,
}

/// How a stream (one connection) ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StreamEnd {
    /// Still open.
    #[default]
    Open,
    /// The server said goodbye and closed: its comment counts every D1
    /// query and row the stream cost, setup included.
    Bye(Bye),
    /// The body ended without a goodbye (or a WebSocket closed).
    Closed,
    /// A transport error, a timeout or a non-success status.
    Error(String),
    /// The run stopped it.
    Stopped,
}

impl StreamEnd {
    /// How the stream ended, as the results count it ("bye:budget", "error", …).
    pub fn label(&self) -> String {
        match self {
            StreamEnd::Open => "open".to_owned(),
            StreamEnd::Bye(bye) => format!("bye:{}", bye.reason.as_str()),
            StreamEnd::Closed => "closed".to_owned(),
            StreamEnd::Error(_) => "error".to_owned(),
            StreamEnd::Stopped => "stopped".to_owned(),
        }
    }

    pub fn error(&self) -> Option<&String> {
        match self {
            StreamEnd::Error(e) => Some(e),
            _ => None,
        }
    }
}

/// One connection of a listener.
#[derive(Debug, Clone, Default)]
pub struct StreamRecord {
    pub opened_us: i64,
    /// When the response (or upgrade) arrived.
    pub connected_us: Option<i64>,
    pub end: StreamEnd,
    /// The `retry:` hint in force when the server ended the stream cleanly
    /// (what EventSource waits before reconnecting).
    pub retry_ms: Option<u64>,
}

#[derive(Debug, Default)]
pub struct ListenerLog {
    pub arrivals: Vec<Arrival>,
    pub streams: Vec<StreamRecord>,
    /// Why the listener gave up, if it did.
    pub fatal: Option<String>,
}

impl ListenerLog {
    /// A stream is open right now: it has connected and not ended.
    pub fn connected(&self) -> bool {
        let last = self.streams.last();
        last.is_some_and(|s| s.connected_us.is_some() && s.end == StreamEnd::Open)
    }

    pub fn ids(&self) -> Vec<String> {
        self.arrivals.iter().map(|a| a.id.clone()).collect()
    }

    pub fn errors(&self) -> usize {
        self.streams
            .iter()
            .filter(|s| s.end.error().is_some())
            .count()
    }
}

pub type SharedLog = Arc<Mutex<ListenerLog>>;

pub fn lock(log: &SharedLog) -> std::sync::MutexGuard<'_, ListenerLog> {
    log.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Clone)]
pub struct ListenerSpec {
    pub client: Client,
    pub key: String,
    pub room: String,
    pub transport: Transport,
    pub reconnect: Reconnect,
}

/// Most connections one listener makes in a run (a bound on the loop; a
/// healthy SSE listener makes about one per 20-80 s).
const MAX_STREAMS: usize = 20_000;
/// Longest wait for response headers or a WebSocket upgrade.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Starts a listener that runs until it gives up or is aborted. Over
/// WebSocket it is the library's `Ws`, which pins "from now" with a one-row
/// history read before the first message has arrived.
pub fn spawn(spec: ListenerSpec) -> (SharedLog, tokio::task::JoinHandle<()>) {
    let log: SharedLog = Arc::default();
    let mut run = Run {
        spec,
        log: log.clone(),
        // EventSource's reconnection time until the server sends `retry:`.
        retry_ms: 1_000,
        // For errors: from 250 ms doubling to 8 s, each ±25 %.
        backoff: Attempts::new(Backoff::LOAD),
    };
    let handle = tokio::spawn(async move {
        let client = run.spec.client.streams(&run.spec.key);
        let room = run.spec.room.clone();
        match run.spec.transport {
            Transport::Sse => follow(&Sse { client: &client }, &room, &mut run).await,
            Transport::Ws => follow(&Ws { client: &client }, &room, &mut run).await,
        }
    });
    (log, handle)
}

/// One listener: the library's follow loop, every connection logged.
struct Run {
    spec: ListenerSpec,
    log: SharedLog,
    /// The `retry:` hint in force.
    retry_ms: u64,
    backoff: Attempts,
}

impl Run {
    /// Marks the current stream's end and waits `wait` before the next
    /// connection, or stops after the last allowed one.
    fn next(&self, end: StreamEnd, wait: Duration) -> ControlFlow<(), Duration> {
        let mut l = lock(&self.log);
        if let Some(s) = l.streams.last_mut() {
            s.end = end;
        }
        match l.streams.len() >= MAX_STREAMS {
            true => ControlFlow::Break(()),
            false => ControlFlow::Continue(wait),
        }
    }

    /// After an error: the stream ends so, and the next waits out the backoff.
    fn error(&mut self, why: String) -> ControlFlow<(), Duration> {
        let wait = self.backoff.next_delay();
        self.next(StreamEnd::Error(why), wait)
    }
}

impl Follower for Run {
    type Done = ();

    fn resume_point(&mut self) -> Option<String> {
        let mut l = lock(&self.log);
        l.streams.push(StreamRecord {
            opened_us: now_us(),
            ..StreamRecord::default()
        });
        l.arrivals.last().map(|a| a.id.clone())
    }

    fn connect_within(&self) -> Option<Duration> {
        Some(CONNECT_TIMEOUT)
    }

    /// A server's answer counts as a request.
    fn opened(&mut self, _: &impl Connection) {
        self.spec.client.cost.record(None);
        if let Some(s) = lock(&self.log).streams.last_mut() {
            s.connected_us = Some(now_us());
        }
    }

    /// Records a message; anything else ends the stream as an error.
    fn incoming(&mut self, incoming: Incoming) -> Read<()> {
        let message = match incoming {
            Incoming::Message(m) => m.message,
            Incoming::Warning(why) => return Read::Close(Ended::Dropped(why)),
        };
        let recv_us = now_us();
        let mut l = lock(&self.log);
        let connected_us = l.streams.last().and_then(|s| s.connected_us).unwrap_or(0);
        let stamp = content::decode(&message.content);
        l.arrivals.push(Arrival {
            id: message.id,
            recv_us,
            stamp,
            across_reconnect: stamp.is_some_and(|s| s.sent_us < connected_us),
        });
        Read::More
    }

    /// An SSE stream's setup queries are counted from its goodbye, which
    /// includes the setup its `Server-Timing` reports.
    fn ended(
        &mut self,
        conn: &impl Connection,
        ended: Ended,
        _: Duration,
    ) -> ControlFlow<(), Duration> {
        self.retry_ms = conn.retry().unwrap_or(self.retry_ms);
        if let Ended::Dropped(why) = ended {
            return self.error(why);
        }
        self.backoff.reset();
        let sse = self.spec.transport == Transport::Sse;
        if let Some(s) = lock(&self.log).streams.last_mut() {
            s.retry_ms = sse.then_some(self.retry_ms);
        }
        let wait = match (self.spec.reconnect, self.spec.transport) {
            (Reconnect::Immediate, _) => Duration::ZERO,
            (Reconnect::Eventsource, Transport::Sse) => Duration::from_millis(self.retry_ms),
            // A WebSocket client reconnects at once after a clean close.
            (Reconnect::Eventsource, Transport::Ws) => Duration::from_millis(100),
        };
        let end = conn
            .bye()
            .cloned()
            .map_or(StreamEnd::Closed, StreamEnd::Bye);
        self.next(end, wait)
    }

    /// An error the library's own rule ([`CliError::is_transient`], which
    /// `meet-ai listen` follows too) calls permanent would come back on
    /// every attempt (a bad key, a room gone, a cursor refused): the
    /// listener gives up at once. Anything else waits out the backoff.
    fn failed(&mut self, e: CliError) -> ControlFlow<(), Duration> {
        if e.status().is_some() {
            self.spec.client.cost.record(None);
        }
        if e.is_transient() {
            return self.error(e.to_string());
        }
        let mut l = lock(&self.log);
        if let Some(s) = l.streams.last_mut() {
            s.end = StreamEnd::Error(e.to_string());
        }
        l.fatal = Some(format!("gave up: {e}"));
        ControlFlow::Break(())
    }
}

/// Polls `done` every `every` until it holds (true) or `within` passes.
async fn poll(within: Duration, every: Duration, done: impl Fn() -> bool) -> bool {
    let until = Instant::now() + within;
    while !done() {
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(every).await;
    }
    true
}

/// Waits until every listener has an open stream or has given up (true),
/// or `within` passes.
pub async fn wait_settled(logs: &[SharedLog], within: Duration) -> bool {
    let settled = |l: &SharedLog| {
        let l = lock(l);
        l.connected() || l.fatal.is_some()
    };
    poll(within, Duration::from_millis(50), || {
        logs.iter().all(settled)
    })
    .await
}

/// Waits until every listener has received `last_id` (true) or `within` passes.
pub async fn wait_caught_up(logs: &[SharedLog], last_id: &str, within: Duration) -> bool {
    let has = |l: &SharedLog| lock(l).arrivals.iter().rev().any(|a| a.id == last_id);
    poll(within, Duration::from_millis(100), || logs.iter().all(has)).await
}
