//! Listeners: clients that follow a room live, over SSE or WebSocket, and
//! reconnect the way real clients do.
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

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use protocol::sse::Decoder;
use protocol::wire::Message;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::client::{error_chain, parse_server_timing, Client, ServerTiming};
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum StreamEnd {
    /// Still open.
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
#[derive(Debug, Clone)]
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
/// Longest silence on an SSE stream: the server writes a heartbeat at least
/// every 15 s, so three missed beats means the stream is dead.
const SSE_READ_TIMEOUT: Duration = Duration::from_secs(45);
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

/// Exponential backoff with jitter, for errors.
#[derive(Debug)]
pub struct Backoff {
    next_ms: u64,
}

impl Backoff {
    const FIRST_MS: u64 = 250;
    const MAX_MS: u64 = 8_000;

    pub fn new() -> Backoff {
        Backoff {
            next_ms: Backoff::FIRST_MS,
        }
    }

    /// The next wait: 250 ms doubling to 8 s, each ±25 %.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next_ms;
        self.next_ms = (self.next_ms * 2).min(Backoff::MAX_MS);
        let jitter = fastrand::u64(0..=base / 2);
        Duration::from_millis(base - base / 4 + jitter)
    }

    pub fn reset(&mut self) {
        self.next_ms = Backoff::FIRST_MS;
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new()
    }
}

/// Sleeps, returning early (true) if the run stops or the deadline passes.
async fn pause(d: Duration, stop: &mut watch::Receiver<bool>, deadline: Instant) -> bool {
    let until = (Instant::now() + d).min(deadline);
    tokio::select! {
        _ = tokio::time::sleep_until(until) => Instant::now() >= deadline || *stop.borrow(),
        _ = stop.changed() => true,
    }
}

/// Reads `: bye queries=N reason=R` (the comment text after the colon).
pub fn parse_bye(comment: &str) -> Option<(u32, String)> {
    let rest = comment.trim().strip_prefix("bye")?;
    let mut queries = None;
    let mut reason = String::new();
    for part in rest.split_whitespace() {
        if let Some(v) = part.strip_prefix("queries=") {
            queries = v.parse().ok();
        } else if let Some(v) = part.strip_prefix("reason=") {
            reason = v.to_owned();
        }
    }
    Some((queries?, reason))
}

/// The `rows_read=N` of a goodbye comment (`None` for another comment).
pub fn bye_rows_read(comment: &str) -> Option<u64> {
    comment
        .trim()
        .strip_prefix("bye")?
        .split_whitespace()
        .find_map(|p| p.strip_prefix("rows_read="))?
        .parse()
        .ok()
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
    let mut backoff = Backoff::new();
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
                connected_us: None,
                ended_us: None,
                end: StreamEnd::Open,
                setup: None,
                bye_queries: None,
                bye_rows_read: None,
                retry_ms: None,
                messages: 0,
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

/// `MEET_AI_LOADTEST_TRACE=1` prints every connection's end on stderr.
fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("MEET_AI_LOADTEST_TRACE").is_some_and(|v| v != "0"))
}

/// Marks the current stream's end.
fn end_stream(log: &SharedLog, end: StreamEnd) {
    let mut l = lock(log);
    let n = l.streams.len();
    if let Some(s) = l.streams.last_mut() {
        if tracing() {
            let now = now_us();
            eprintln!(
                "trace: connection {n} ended after {:.1} s (open {:.1} s): {end:?}, {} messages, bye queries {:?}",
                (now - s.opened_us) as f64 / 1e6,
                s.connected_us.map_or(0.0, |c| (now - c) as f64 / 1e6),
                s.messages,
                s.bye_queries,
            );
        }
        s.end = end;
    }
}

/// Records a message that arrived on the current stream.
fn arrive(log: &SharedLog, stream_no: usize, message: &Message, event_id: Option<&str>) {
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
    l.last_event_id = Some(event_id.unwrap_or(&message.id).to_owned());
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

async fn sse_stream(
    spec: &ListenerSpec,
    log: &SharedLog,
    stream_no: usize,
    stop: &mut watch::Receiver<bool>,
    deadline: Instant,
    retry_ms: &mut u64,
) -> Outcome {
    let last = lock(log).last_event_id.clone();
    let mut req = spec
        .client
        .stream_http
        .get(spec.client.url(&format!("/api/rooms/{}/events", spec.room)))
        .bearer_auth(&spec.key)
        .header("Accept", "text/event-stream")
        .header("Cache-Control", "no-cache");
    if let Some(id) = &last {
        req = req.header("Last-Event-ID", id);
    }
    let sent = tokio::select! {
        r = tokio::time::timeout(CONNECT_TIMEOUT, req.send()) => r,
        _ = stop.changed() => { end_stream(log, StreamEnd::Stopped); return Outcome::Stopped; }
        _ = tokio::time::sleep_until(deadline) => { end_stream(log, StreamEnd::Stopped); return Outcome::Stopped; }
    };
    let resp = match sent {
        Err(_) => {
            end_stream(
                log,
                StreamEnd::Error("no response headers within 15 s".into()),
            );
            return Outcome::Failed { refused: false };
        }
        Ok(Err(e)) => {
            end_stream(log, StreamEnd::Error(error_chain(&e)));
            return Outcome::Failed { refused: false };
        }
        Ok(Ok(r)) => r,
    };
    let status = resp.status().as_u16();
    let setup = resp
        .headers()
        .get("server-timing")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_server_timing);
    // Counted as a request; its queries are counted from the goodbye comment,
    // which includes the setup the header reports.
    spec.client.cost.record(None);
    if status != 200 {
        let body = resp.text().await.unwrap_or_default();
        end_stream(
            log,
            StreamEnd::Error(format!(
                "status {status}: {}",
                body.chars().take(200).collect::<String>()
            )),
        );
        return Outcome::Failed {
            refused: refused(status),
        };
    }
    connected(log, setup);
    let mut body = resp.bytes_stream();
    let mut decoder = Decoder::new();
    let mut comments_seen = 0;
    let mut bye: Option<(u32, String)> = None;
    loop {
        let next = tokio::select! {
            n = tokio::time::timeout(SSE_READ_TIMEOUT, body.next()) => n,
            _ = stop.changed() => { end_stream(log, StreamEnd::Stopped); return Outcome::Stopped; }
            _ = tokio::time::sleep_until(deadline) => { end_stream(log, StreamEnd::Stopped); return Outcome::Stopped; }
        };
        match next {
            Err(_) => {
                end_stream(log, StreamEnd::Error("no bytes for 45 s".into()));
                return Outcome::Failed { refused: false };
            }
            Ok(Some(Err(e))) => {
                end_stream(log, StreamEnd::Error(error_chain(&e)));
                return Outcome::Failed { refused: false };
            }
            Ok(None) => {
                if let Some(s) = lock(log).streams.last_mut() {
                    s.retry_ms = Some(*retry_ms);
                }
                let end = match bye {
                    Some((_, reason)) => StreamEnd::Bye(reason),
                    None => StreamEnd::Closed,
                };
                end_stream(log, end);
                return Outcome::Ended;
            }
            Ok(Some(Ok(chunk))) => {
                for event in decoder.push(&chunk) {
                    if event.event != "message" {
                        continue;
                    }
                    match serde_json::from_str::<Message>(&event.data) {
                        Ok(m) => arrive(log, stream_no, &m, event.id.as_deref()),
                        Err(e) => {
                            end_stream(log, StreamEnd::Error(format!("bad event data ({e})")));
                            return Outcome::Failed { refused: false };
                        }
                    }
                }
                if let Some(r) = decoder.retry {
                    *retry_ms = r;
                }
                if decoder.comments > comments_seen {
                    comments_seen = decoder.comments;
                    if let Some(b) = decoder.last_comment.as_deref().and_then(parse_bye) {
                        if let Some(s) = lock(log).streams.last_mut() {
                            s.bye_queries = Some(b.0);
                            s.bye_rows_read =
                                decoder.last_comment.as_deref().and_then(bye_rows_read);
                        }
                        bye = Some(b);
                    }
                }
            }
        }
    }
}

async fn ws_stream(
    spec: &ListenerSpec,
    log: &SharedLog,
    stream_no: usize,
    stop: &mut watch::Receiver<bool>,
    deadline: Instant,
) -> Outcome {
    let last = lock(log).last_event_id.clone();
    let mut url = spec.client.base.clone();
    let secure = url.scheme() == "https";
    let _ = url.set_scheme(if secure { "wss" } else { "ws" });
    url.set_path(&format!("/api/rooms/{}/ws", spec.room));
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("token", &spec.key);
        if let Some(id) = &last {
            q.append_pair("after", id);
        }
    }
    let connect = crate::ws::connect(url);
    let conn = tokio::select! {
        r = tokio::time::timeout(CONNECT_TIMEOUT, connect) => r,
        _ = stop.changed() => { end_stream(log, StreamEnd::Stopped); return Outcome::Stopped; }
        _ = tokio::time::sleep_until(deadline) => { end_stream(log, StreamEnd::Stopped); return Outcome::Stopped; }
    };
    spec.client.cost.record(None);
    let mut ws = match conn {
        Err(_) => {
            end_stream(log, StreamEnd::Error("no upgrade within 15 s".into()));
            return Outcome::Failed { refused: false };
        }
        Ok(Err(e)) => {
            let refused = e.status.is_some_and(refused);
            end_stream(log, StreamEnd::Error(e.message));
            return Outcome::Failed { refused };
        }
        Ok(Ok(ws)) => ws,
    };
    connected(log, ws.timing);
    loop {
        let next = tokio::select! {
            n = ws.stream.next() => n,
            _ = stop.changed() => { end_stream(log, StreamEnd::Stopped); return Outcome::Stopped; }
            _ = tokio::time::sleep_until(deadline) => { end_stream(log, StreamEnd::Stopped); return Outcome::Stopped; }
        };
        use tokio_tungstenite::tungstenite::Message as Frame;
        match next {
            None | Some(Ok(Frame::Close(_))) => {
                end_stream(log, StreamEnd::Closed);
                return Outcome::Ended;
            }
            Some(Err(e)) => {
                end_stream(log, StreamEnd::Error(error_chain(&e)));
                return Outcome::Failed { refused: false };
            }
            Some(Ok(Frame::Text(text))) => match crate::ws::parse_frame(text.as_str()) {
                Ok(Some(m)) => arrive(log, stream_no, &m, None),
                Ok(None) => {}
                Err(e) => {
                    end_stream(log, StreamEnd::Error(e));
                    return Outcome::Failed { refused: false };
                }
            },
            Some(Ok(_)) => {}
        }
    }
}

/// Waits until every listener has an open stream (true) or `within` passes.
pub async fn wait_connected(logs: &[SharedLog], within: Duration) -> bool {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if logs.iter().all(|l| lock(l).connected) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Waits until every listener has received `last_id` (true) or `within` passes.
pub async fn wait_caught_up(logs: &[SharedLog], last_id: &str, within: Duration) -> bool {
    let until = Instant::now() + within;
    loop {
        let done = logs
            .iter()
            .all(|l| lock(l).arrivals.iter().rev().any(|a| a.id == last_id));
        if done {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_goodbye_comment() {
        assert_eq!(
            parse_bye("bye queries=42 reason=budget"),
            Some((42, "budget".to_owned()))
        );
        assert_eq!(parse_bye("bye queries=3"), Some((3, String::new())));
        assert_eq!(parse_bye("heartbeat"), None);
        assert_eq!(parse_bye("connected"), None);
        assert_eq!(parse_bye("bye reason=error"), None);
        assert_eq!(
            bye_rows_read("bye queries=47 rows_read=56 reason=budget"),
            Some(56)
        );
        assert_eq!(bye_rows_read("heartbeat rows_read=3"), None);
    }

    #[test]
    fn backoff_doubles_to_a_cap_with_jitter() {
        let mut b = Backoff::new();
        let waits: Vec<u128> = (0..8).map(|_| b.next_delay().as_millis()).collect();
        for (i, w) in waits.iter().enumerate() {
            let base = (250u128 << i).min(8_000);
            assert!(
                *w >= base * 3 / 4 && *w <= base * 5 / 4,
                "wait {i}: {w} vs {base}"
            );
        }
        b.reset();
        assert!(b.next_delay().as_millis() <= 313);
    }

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
