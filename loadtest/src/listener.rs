//! Listeners: clients that follow a room live, over SSE or WebSocket, and
//! reconnect the way real clients do. The connections themselves are the
//! `meet_ai` library's transports (the ones `meet-ai listen` uses: the key
//! in the Authorization header, the goodbye read by `protocol::sse`); this
//! module only schedules them and logs what arrives.
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

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use meet_ai::backoff::Attempts;
use meet_ai::transport::{Connection, Ended, Incoming, Sse, Transport as _};
use meet_ai::ws::WsConnection;
use protocol::wire::Message;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::{timeout, Instant};

use crate::client::{Client, ServerTiming};
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
    /// Index of the stream (connection) it arrived on.
    pub stream: usize,
    /// It was sent before the stream it arrived on was connected: its
    /// latency includes waiting out a reconnect.
    pub across_reconnect: bool,
}

impl Arrival {
    /// Send start to receipt, in milliseconds.
    pub fn latency_ms(&self) -> Option<f64> {
        self.stamp
            .map(|s| (self.recv_us - s.sent_us) as f64 / 1000.0)
    }
}

/// How a stream (one connection) ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum StreamEnd {
    /// Still open.
    #[default]
    Open,
    /// The server said goodbye (`: bye ... reason=<reason>`) and closed.
    Bye(String),
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
    pub ended_us: Option<i64>,
    pub end: StreamEnd,
    /// `Server-Timing` of the response: the stream's setup queries.
    pub setup: Option<ServerTiming>,
    /// From the goodbye comment: every D1 query the stream made.
    pub bye_queries: Option<u32>,
    /// From the goodbye comment: every D1 row the stream read, setup included.
    pub bye_rows_read: Option<u64>,
    /// The `retry:` hint in force when the server ended the stream cleanly
    /// (what EventSource waits before reconnecting).
    pub retry_ms: Option<u64>,
    pub messages: usize,
}

#[derive(Debug, Default)]
pub struct ListenerLog {
    pub arrivals: Vec<Arrival>,
    pub streams: Vec<StreamRecord>,
    /// A stream is open right now.
    pub connected: bool,
    pub last_event_id: Option<String>,
    /// Why the listener gave up, if it did.
    pub fatal: Option<String>,
}

impl ListenerLog {
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

/// Starts a listener that runs until `stop` turns true or `deadline` passes.
pub fn spawn(
    spec: ListenerSpec,
    stop: watch::Receiver<bool>,
    deadline: Instant,
) -> (SharedLog, tokio::task::JoinHandle<()>) {
    let log: SharedLog = Arc::default();
    let run = Run {
        spec,
        log: log.clone(),
        stop,
        deadline,
        stream_no: 0,
        // EventSource's reconnection time until the server sends `retry:`.
        retry_ms: 1_000,
    };
    (log, tokio::spawn(run.run()))
}

/// Exponential backoff with jitter, for errors: the library's, from 250 ms
/// doubling to 8 s, each ±25 %.
pub fn backoff() -> Attempts {
    Attempts::new(meet_ai::backoff::Backoff::LOAD)
}

/// What one connection attempt came to.
enum Outcome {
    /// The server ended it cleanly: reconnect per the reconnect mode.
    Ended,
    /// An error: back off.
    Failed { refused: bool },
    /// The run is over.
    Stopped,
}

fn refused(status: u16) -> bool {
    (400..500).contains(&status) && status != 429 && status != 408
}

/// One listener's task: its connections one after another, logged.
struct Run {
    spec: ListenerSpec,
    log: SharedLog,
    stop: watch::Receiver<bool>,
    deadline: Instant,
    /// Index of the current connection.
    stream_no: usize,
    /// The `retry:` hint in force.
    retry_ms: u64,
}

impl Run {
    async fn run(mut self) {
        let mut backoff = backoff();
        let mut refusals = 0;
        for stream_no in 0..MAX_STREAMS {
            if *self.stop.borrow() || Instant::now() >= self.deadline {
                break;
            }
            self.stream_no = stream_no;
            lock(&self.log).streams.push(StreamRecord {
                opened_us: now_us(),
                ..StreamRecord::default()
            });
            let outcome = match self.spec.transport {
                Transport::Sse => self.sse_stream().await,
                Transport::Ws => self.ws_stream().await,
            };
            {
                let mut l = lock(&self.log);
                l.connected = false;
                if let Some(s) = l.streams.last_mut() {
                    s.ended_us = Some(now_us());
                }
            }
            let wait = match outcome {
                Outcome::Stopped => break,
                Outcome::Ended => {
                    backoff.reset();
                    refusals = 0;
                    match (self.spec.reconnect, self.spec.transport) {
                        (Reconnect::Immediate, _) => Duration::ZERO,
                        (Reconnect::Eventsource, Transport::Sse) => {
                            Duration::from_millis(self.retry_ms)
                        }
                        // A WebSocket client reconnects at once after a clean close.
                        (Reconnect::Eventsource, Transport::Ws) => Duration::from_millis(100),
                    }
                }
                Outcome::Failed { refused } => {
                    refusals = if refused { refusals + 1 } else { 0 };
                    if refusals >= MAX_REFUSALS {
                        let why = format!("gave up after {refusals} refusals in a row");
                        lock(&self.log).fatal = Some(why);
                        break;
                    }
                    backoff.next_delay()
                }
            };
            if self.pause(wait).await {
                break;
            }
        }
    }

    /// Sleeps, returning early (true) if the run stops or the deadline passes.
    async fn pause(&mut self, d: Duration) -> bool {
        let until = (Instant::now() + d).min(self.deadline);
        tokio::select! {
            _ = tokio::time::sleep_until(until) => {
                Instant::now() >= self.deadline || *self.stop.borrow()
            }
            _ = self.stop.changed() => true,
        }
    }

    /// Marks the current stream's end.
    fn end_stream(&self, end: StreamEnd) {
        if let Some(s) = lock(&self.log).streams.last_mut() {
            s.end = end;
        }
    }

    /// Records a message that arrived on the current stream.
    fn arrive(&self, message: &Message) {
        let recv_us = now_us();
        let mut l = lock(&self.log);
        let connected_us = l.streams.last().and_then(|s| s.connected_us).unwrap_or(0);
        let stamp = content::decode(&message.content);
        l.arrivals.push(Arrival {
            id: message.id.clone(),
            recv_us,
            stamp,
            stream: self.stream_no,
            across_reconnect: stamp.is_some_and(|s| s.sent_us < connected_us),
        });
        l.last_event_id = Some(message.id.clone());
        if let Some(s) = l.streams.last_mut() {
            s.messages += 1;
        }
    }

    /// Runs `fut` until it finishes, the run stops or the deadline passes
    /// (`None`: the current stream is marked stopped).
    async fn unless_stopped<T>(&mut self, fut: impl Future<Output = T>) -> Option<T> {
        let stopped = tokio::select! {
            r = fut => return Some(r),
            _ = self.stop.changed() => StreamEnd::Stopped,
            _ = tokio::time::sleep_until(self.deadline) => StreamEnd::Stopped,
        };
        self.end_stream(stopped);
        None
    }

    /// Opens a connection with `open`, bounded by [`CONNECT_TIMEOUT`], and
    /// follows it until it ends; `clean` says how a clean end is recorded.
    /// A server's answer counts as a request; a refusal (4xx but 408 and
    /// 429) counts towards giving up.
    async fn stream<C: Connection>(
        &mut self,
        open: impl Future<Output = meet_ai::error::Result<C>>,
        clean: impl FnOnce(&Self, &C) -> StreamEnd,
    ) -> (Outcome, Option<C>) {
        let cost = &self.spec.client.cost.clone();
        let mut conn = match self.unless_stopped(timeout(CONNECT_TIMEOUT, open)).await {
            None => return (Outcome::Stopped, None),
            Some(Err(_)) => {
                let why = format!("not connected within {} s", CONNECT_TIMEOUT.as_secs());
                self.end_stream(StreamEnd::Error(why));
                return (Outcome::Failed { refused: false }, None);
            }
            Some(Ok(Err(e))) => {
                if e.status().is_some() {
                    cost.record(None);
                }
                self.end_stream(StreamEnd::Error(e.to_string()));
                let refused = e.status().is_some_and(refused);
                return (Outcome::Failed { refused }, None);
            }
            Some(Ok(Ok(conn))) => conn,
        };
        cost.record(None);
        {
            let mut l = lock(&self.log);
            l.connected = true;
            if let Some(s) = l.streams.last_mut() {
                s.connected_us = Some(now_us());
                s.setup = conn.timing();
            }
        }
        loop {
            let Some(next) = self.unless_stopped(conn.next()).await else {
                return (Outcome::Stopped, Some(conn));
            };
            match next {
                Ok(Incoming::Message(m)) => self.arrive(&m.message),
                Ok(Incoming::Warning(why)) | Err(Ended::Dropped(why)) => {
                    self.end_stream(StreamEnd::Error(why));
                    return (Outcome::Failed { refused: false }, Some(conn));
                }
                Err(Ended::Clean(_)) => {
                    self.end_stream(clean(self, &conn));
                    return (Outcome::Ended, Some(conn));
                }
            }
        }
    }

    /// One SSE connection, resumed with `Last-Event-ID`. Its setup queries
    /// are counted from the goodbye, which includes the setup its
    /// `Server-Timing` reports; its `retry:` hint is kept for the next
    /// reconnect.
    async fn sse_stream(&mut self) -> Outcome {
        let last = lock(&self.log).last_event_id.clone();
        let api = self.spec.client.streams(&self.spec.key);
        let (sse, room) = (Sse { client: &api }, self.spec.room.clone());
        let open = sse.connect(&room, last.as_deref());
        let (outcome, conn) = self
            .stream(open, |run, conn| {
                let bye = conn.decoder().bye.clone();
                if let Some(s) = lock(&run.log).streams.last_mut() {
                    s.retry_ms = Some(conn.decoder().retry.unwrap_or(run.retry_ms));
                    s.bye_queries = bye.as_ref().map(|b| b.queries);
                    s.bye_rows_read = bye.as_ref().map(|b| b.rows_read);
                }
                bye.map_or(StreamEnd::Closed, |b| {
                    StreamEnd::Bye(b.reason.as_str().to_owned())
                })
            })
            .await;
        if let Some(r) = conn.and_then(|c| c.decoder().retry) {
            self.retry_ms = r;
        }
        outcome
    }

    /// One WebSocket, from the last message received (from now at first).
    async fn ws_stream(&mut self) -> Outcome {
        let last = lock(&self.log).last_event_id.clone();
        let api = self.spec.client.streams(&self.spec.key);
        let room = self.spec.room.clone();
        let open = WsConnection::open(&api, &room, last.as_deref());
        let clean = |_: &Self, _: &WsConnection| StreamEnd::Closed;
        self.stream(open, clean).await.0
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
    poll(within, every, || logs.iter().all(|l| lock(l).connected)).await
}

/// Waits until every listener has received `last_id` (true) or `within` passes.
pub async fn wait_caught_up(logs: &[SharedLog], last_id: &str, within: Duration) -> bool {
    let has = |l: &SharedLog| lock(l).arrivals.iter().rev().any(|a| a.id == last_id);
    poll(within, Duration::from_millis(100), || logs.iter().all(has)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_needs_a_stamp() {
        let a = Arrival {
            id: "m".into(),
            recv_us: 1_500_000,
            stamp: Some(Stamp {
                run: 1,
                seq: 0,
                sent_us: 1_000_000,
            }),
            stream: 0,
            across_reconnect: false,
        };
        assert_eq!(a.latency_ms(), Some(500.0));
        let b = Arrival { stamp: None, ..a };
        assert_eq!(b.latency_ms(), None);
    }
}
