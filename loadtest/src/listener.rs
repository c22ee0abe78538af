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
//!   which is what lets a listener ride out a server restart.
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
use meet_ai::ws::WsConnection;
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
            .filter(|s| matches!(s.end, StreamEnd::Error(_)))
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
/// Consecutive refusals (4xx other than 429) after which a listener gives up.
const MAX_REFUSALS: u32 = 5;

/// Starts a listener that runs until it gives up or is aborted.
pub fn spawn(spec: ListenerSpec) -> (SharedLog, tokio::task::JoinHandle<()>) {
    let log: SharedLog = Arc::default();
    let mut run = Run {
        spec,
        log: log.clone(),
        // EventSource's reconnection time until the server sends `retry:`.
        retry_ms: 1_000,
        // Exponential backoff with jitter, for errors: from 250 ms doubling
        // to 8 s, each ±25 %.
        backoff: Attempts::new(Backoff::LOAD),
        refusals: 0,
    };
    let handle = tokio::spawn(async move {
        let api = run.spec.client.streams(&run.spec.key);
        let (room, transport) = (run.spec.room.clone(), run.spec.transport);
        match transport {
            Transport::Sse => follow(&Sse { client: &api }, &room, &mut run).await,
            Transport::Ws => follow(&WsFromNow(&api), &room, &mut run).await,
        }
    });
    (log, handle)
}

/// The library's WebSocket from the last message received, or from now at
/// first: no history read, the log keeps the resume point.
struct WsFromNow<'a>(&'a meet_ai::client::Client);

impl meet_ai::transport::Transport for WsFromNow<'_> {
    type Conn = WsConnection;

    fn name(&self) -> &'static str {
        "ws"
    }

    async fn connect(&self, room: &str, after: Option<&str>) -> meet_ai::error::Result<Self::Conn> {
        WsConnection::open(self.0, room, after).await
    }
}

fn refused(status: u16) -> bool {
    (400..500).contains(&status) && status != 429 && status != 408
}

/// One listener: the library's follow loop, every connection logged.
struct Run {
    spec: ListenerSpec,
    log: SharedLog,
    /// The `retry:` hint in force.
    retry_ms: u64,
    backoff: Attempts,
    refusals: u32,
}

impl Run {
    /// Marks the current stream's end.
    fn end_stream(&self, end: StreamEnd) {
        if let Some(s) = lock(&self.log).streams.last_mut() {
            s.end = end;
        }
    }

    /// Waits `wait` before the next connection, or stops after the last
    /// allowed one.
    fn again(&self, wait: Duration) -> ControlFlow<(), Duration> {
        if lock(&self.log).streams.len() >= MAX_STREAMS {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(wait)
    }

    /// After an error: back off, or give up after too many refusals.
    fn back_off(&mut self, refused: bool) -> ControlFlow<(), Duration> {
        self.refusals = if refused { self.refusals + 1 } else { 0 };
        if self.refusals >= MAX_REFUSALS {
            let why = format!("gave up after {} refusals in a row", self.refusals);
            lock(&self.log).fatal = Some(why);
            return ControlFlow::Break(());
        }
        let wait = self.backoff.next_delay();
        self.again(wait)
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
        let retry_ms = conn.retry().unwrap_or(self.retry_ms);
        self.retry_ms = retry_ms;
        if let Ended::Dropped(why) = ended {
            self.end_stream(StreamEnd::Error(why));
            return self.back_off(false);
        }
        let sse = self.spec.transport == Transport::Sse;
        if let Some(s) = lock(&self.log).streams.last_mut() {
            s.retry_ms = sse.then_some(retry_ms);
            s.end = conn
                .bye()
                .cloned()
                .map_or(StreamEnd::Closed, StreamEnd::Bye);
        }
        self.backoff.reset();
        self.refusals = 0;
        self.again(match (self.spec.reconnect, self.spec.transport) {
            (Reconnect::Immediate, _) => Duration::ZERO,
            (Reconnect::Eventsource, Transport::Sse) => Duration::from_millis(retry_ms),
            // A WebSocket client reconnects at once after a clean close.
            (Reconnect::Eventsource, Transport::Ws) => Duration::from_millis(100),
        })
    }

    /// A refusal (4xx but 408 and 429) counts towards giving up.
    fn failed(&mut self, e: CliError) -> ControlFlow<(), Duration> {
        if e.status().is_some() {
            self.spec.client.cost.record(None);
        }
        self.end_stream(StreamEnd::Error(e.to_string()));
        self.back_off(e.status().is_some_and(refused))
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

/// Waits until every listener has an open stream (true) or `within` passes.
pub async fn wait_connected(logs: &[SharedLog], within: Duration) -> bool {
    let every = Duration::from_millis(50);
    poll(within, every, || logs.iter().all(|l| lock(l).connected())).await
}

/// Waits until every listener has received `last_id` (true) or `within` passes.
pub async fn wait_caught_up(logs: &[SharedLog], last_id: &str, within: Duration) -> bool {
    let has = |l: &SharedLog| lock(l).arrivals.iter().rev().any(|a| a.id == last_id);
    poll(within, Duration::from_millis(100), || logs.iter().all(has)).await
}
