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
use tokio::time::Instant;

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
    let task_log = log.clone();
    let handle = tokio::spawn(async move {
        run(spec, task_log, stop, deadline).await;
    });
    (log, handle)
}

/// Exponential backoff with jitter, for errors: the library's, from 250 ms
/// doubling to 8 s, each ±25 %.
pub fn backoff() -> Attempts {
    Attempts::new(meet_ai::backoff::Backoff::LOAD)
}

/// Sleeps, returning early (true) if the run stops or the deadline passes.
async fn pause(d: Duration, stop: &mut watch::Receiver<bool>, deadline: Instant) -> bool {
    let until = (Instant::now() + d).min(deadline);
    tokio::select! {
        _ = tokio::time::sleep_until(until) => Instant::now() >= deadline || *stop.borrow(),
        _ = stop.changed() => true,
    }
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

async fn run(
    spec: ListenerSpec,
    log: SharedLog,
    mut stop: watch::Receiver<bool>,
    deadline: Instant,
) {
    let mut backoff = backoff();
    // EventSource's reconnection time until the server sends `retry:`.
    let mut retry_ms: u64 = 1_000;
    let mut refusals = 0;
    for stream_no in 0..MAX_STREAMS {
        if *stop.borrow() || Instant::now() >= deadline {
            break;
        }
        {
            let mut l = lock(&log);
            l.streams.push(StreamRecord {
                opened_us: now_us(),
                ..StreamRecord::default()
            });
        }
        let outcome = match spec.transport {
            Transport::Sse => {
                sse_stream(&spec, &log, stream_no, &mut stop, deadline, &mut retry_ms).await
            }
            Transport::Ws => ws_stream(&spec, &log, stream_no, &mut stop, deadline).await,
        };
        {
            let mut l = lock(&log);
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
                match (spec.reconnect, spec.transport) {
                    (Reconnect::Immediate, _) => Duration::ZERO,
                    (Reconnect::Eventsource, Transport::Sse) => Duration::from_millis(retry_ms),
                    // A WebSocket client reconnects at once after a clean close.
                    (Reconnect::Eventsource, Transport::Ws) => Duration::from_millis(100),
                }
            }
            Outcome::Failed { refused } => {
                if refused {
                    refusals += 1;
                    if refusals >= MAX_REFUSALS {
                        lock(&log).fatal =
                            Some(format!("gave up after {refusals} refusals in a row"));
                        break;
                    }
                } else {
                    refusals = 0;
                }
                backoff.next_delay()
            }
        };
        if pause(wait, &mut stop, deadline).await {
            break;
        }
    }
}

/// Marks the current stream's end.
fn end_stream(log: &SharedLog, end: StreamEnd) {
    if let Some(s) = lock(log).streams.last_mut() {
        s.end = end;
    }
}

/// Records a message that arrived on the current stream.
fn arrive(log: &SharedLog, stream_no: usize, message: &Message) {
    let recv_us = now_us();
    let mut l = lock(log);
    let connected_us = l.streams.last().and_then(|s| s.connected_us).unwrap_or(0);
    let stamp = content::decode(&message.content);
    l.arrivals.push(Arrival {
        id: message.id.clone(),
        recv_us,
        stamp,
        stream: stream_no,
        across_reconnect: stamp.is_some_and(|s| s.sent_us < connected_us),
    });
    l.last_event_id = Some(message.id.clone());
    if let Some(s) = l.streams.last_mut() {
        s.messages += 1;
    }
}

fn connected(log: &SharedLog, setup: Option<ServerTiming>) {
    let mut l = lock(log);
    l.connected = true;
    if let Some(s) = l.streams.last_mut() {
        s.connected_us = Some(now_us());
        s.setup = setup;
    }
}

fn refused(status: u16) -> bool {
    (400..500).contains(&status) && status != 429 && status != 408
}

/// Runs `fut` until it finishes, the run stops or the deadline passes
/// (`None`: the current stream is marked stopped).
async fn unless_stopped<T>(
    fut: impl Future<Output = T>,
    log: &SharedLog,
    stop: &mut watch::Receiver<bool>,
    deadline: Instant,
) -> Option<T> {
    tokio::select! {
        r = fut => Some(r),
        _ = stop.changed() => { end_stream(log, StreamEnd::Stopped); None }
        _ = tokio::time::sleep_until(deadline) => { end_stream(log, StreamEnd::Stopped); None }
    }
}

/// Opens a connection with `open`, bounded by [`CONNECT_TIMEOUT`], or says
/// how the attempt ended. A server's answer counts as a request; a refusal
/// (4xx but 408 and 429) counts towards giving up.
async fn connect<T>(
    open: impl Future<Output = meet_ai::error::Result<T>>,
    spec: &ListenerSpec,
    log: &SharedLog,
    stop: &mut watch::Receiver<bool>,
    deadline: Instant,
) -> Result<T, Outcome> {
    let opened = tokio::time::timeout(CONNECT_TIMEOUT, open);
    let e = match unless_stopped(opened, log, stop, deadline).await {
        None => return Err(Outcome::Stopped),
        Some(Err(_)) => {
            let why = format!("not connected within {} s", CONNECT_TIMEOUT.as_secs());
            end_stream(log, StreamEnd::Error(why));
            return Err(Outcome::Failed { refused: false });
        }
        Some(Ok(Ok(conn))) => {
            spec.client.cost.record(None);
            return Ok(conn);
        }
        Some(Ok(Err(e))) => e,
    };
    if e.status().is_some() {
        spec.client.cost.record(None);
    }
    end_stream(log, StreamEnd::Error(e.to_string()));
    Err(Outcome::Failed {
        refused: e.status().is_some_and(refused),
    })
}

/// Logs what a connection yields until it ends; `clean` says how a clean
/// end is recorded.
async fn follow<C: Connection>(
    conn: &mut C,
    log: &SharedLog,
    stream_no: usize,
    stop: &mut watch::Receiver<bool>,
    deadline: Instant,
    clean: impl FnOnce(&C) -> StreamEnd,
) -> Outcome {
    loop {
        let Some(next) = unless_stopped(conn.next(), log, stop, deadline).await else {
            return Outcome::Stopped;
        };
        match next {
            Ok(Incoming::Message(m)) => arrive(log, stream_no, &m.message),
            Ok(Incoming::Warning(why)) | Err(Ended::Dropped(why)) => {
                end_stream(log, StreamEnd::Error(why));
                return Outcome::Failed { refused: false };
            }
            Err(Ended::Clean(_)) => {
                end_stream(log, clean(conn));
                return Outcome::Ended;
            }
        }
    }
}

/// One connection opened by `open`, followed until it ends. An SSE
/// stream's setup queries are counted from its goodbye, which includes the
/// setup its `Server-Timing` reports.
async fn stream<C: Connection>(
    open: impl Future<Output = meet_ai::error::Result<C>>,
    (spec, log, stream_no): (&ListenerSpec, &SharedLog, usize),
    stop: &mut watch::Receiver<bool>,
    deadline: Instant,
    clean: impl FnOnce(&C) -> StreamEnd,
) -> (Outcome, Option<C>) {
    let mut conn = match connect(open, spec, log, stop, deadline).await {
        Ok(conn) => conn,
        Err(outcome) => return (outcome, None),
    };
    connected(log, conn.timing());
    let outcome = follow(&mut conn, log, stream_no, stop, deadline, clean).await;
    (outcome, Some(conn))
}

/// One SSE connection, resumed with `Last-Event-ID`; its `retry:` hint is
/// kept for the next reconnect.
async fn sse_stream(
    spec: &ListenerSpec,
    log: &SharedLog,
    stream_no: usize,
    stop: &mut watch::Receiver<bool>,
    deadline: Instant,
    retry_ms: &mut u64,
) -> Outcome {
    let last = lock(log).last_event_id.clone();
    let api = spec.client.streams(&spec.key);
    let sse = Sse { client: &api };
    let open = sse.connect(&spec.room, last.as_deref());
    let (outcome, conn) = stream(open, (spec, log, stream_no), stop, deadline, |conn| {
        let bye = conn.decoder().bye.clone();
        if let Some(s) = lock(log).streams.last_mut() {
            s.retry_ms = Some(conn.decoder().retry.unwrap_or(*retry_ms));
            s.bye_queries = bye.as_ref().map(|b| b.queries);
            s.bye_rows_read = bye.as_ref().map(|b| b.rows_read);
        }
        bye.map_or(StreamEnd::Closed, |b| {
            StreamEnd::Bye(b.reason.as_str().to_owned())
        })
    })
    .await;
    if let Some(r) = conn.and_then(|c| c.decoder().retry) {
        *retry_ms = r;
    }
    outcome
}

/// One WebSocket, from the last message received (from now at first).
async fn ws_stream(
    spec: &ListenerSpec,
    log: &SharedLog,
    stream_no: usize,
    stop: &mut watch::Receiver<bool>,
    deadline: Instant,
) -> Outcome {
    let last = lock(log).last_event_id.clone();
    let api = spec.client.streams(&spec.key);
    let open = WsConnection::open(&api, &spec.room, last.as_deref());
    let ended = |_: &WsConnection| StreamEnd::Closed;
    stream(open, (spec, log, stream_no), stop, deadline, ended).await.0
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
