//! `meet-ai listen`: follow a room for as long as it takes.
//!
//! It asks `/api/health` once which transport to use (WebSocket where the
//! server offers one, else SSE; `--transport` decides otherwise). The
//! library's follow loop (`meet_ai::follow`) connects through that
//! transport; this module prints each new message ([`feed`] decides which)
//! and, when the connection ends, has it reconnect, resuming after the last message
//! it received, or where the first connection started if none came yet
//! (`Last-Event-ID` for SSE, `?after=` for WebSocket): at once after a clean
//! end (the free server closes streams on purpose every 20-80 s), otherwise
//! after an exponential backoff with jitter. Messages are also deduplicated
//! by id, so a server that replays too much still prints each message once.
//!
//! stdout carries messages only; connection events go to stderr as JSON lines.

use std::cell::Cell;
use std::future::Future;
use std::ops::ControlFlow;
use std::time::Duration;

use protocol::validate::START;
use serde::Serialize;
use tokio::time::Instant;

use crate::args::TransportArg;
use crate::args::{choose, Chosen};
use crate::backoff::{jitter, Backoff};
use crate::client::{Client, RawMessage};
use crate::error::{CliError, Kind, Result};
use crate::follow::{follow, Follower, Read};
use crate::output::Output;
use crate::transport::{Connection, Ended, Incoming, Sse};
use crate::ws::Ws;

mod feed;
pub use feed::{Feed, Verdict};

#[derive(Debug, Clone, Default)]
pub struct ListenOptions {
    pub exclude: Vec<String>,
    /// Only messages mentioning this handle (or `all`).
    pub mentions: Option<String>,
    pub after: Option<String>,
    pub count: Option<u64>,
    pub timeout_secs: Option<u64>,
    pub transport: TransportArg,
}

/// A connection event, written to stderr as one JSON line.
#[derive(Debug, Serialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Lifecycle<'a> {
    /// The first connection is open.
    Connected {
        room: &'a str,
        /// `sse` or `ws`.
        transport: &'a str,
        /// The message id it starts after (`null`: the start of the room,
        /// which was empty).
        after: Option<&'a str>,
    },
    /// A connection ended. `reason` is `server_ended` (on purpose, e.g. the
    /// free tier's per-stream budget) or `dropped` (network, restart, silence).
    Disconnected { reason: &'a str, detail: &'a str },
    /// Waiting `delay_ms` before connection attempt `attempt` (1 after a
    /// working connection ended; higher while attempts fail).
    Reconnecting {
        attempt: u32,
        delay_ms: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a str>,
    },
    /// Connected again, resuming after message `after`.
    Resumed {
        transport: &'a str,
        after: Option<&'a str>,
    },
    /// Something was skipped (an unreadable event).
    Warning { message: &'a str },
    /// listen is exiting: `count`, `timeout`, `sigint` or `sigterm`.
    Stopped { reason: &'a str, printed: u64 },
}

impl Lifecycle<'_> {
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"event":"warning"}"#.to_owned())
    }
}

/// Writes a lifecycle event to stderr (a closed stderr is ignored).
pub fn report(event: &Lifecycle) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", event.to_line());
    let _ = err.flush();
}

/// How long to wait before retry number `attempt` after `e` (the backoff,
/// or longer if the server said so), announced on stderr.
pub fn announce_retry(attempt: u32, e: &CliError) -> Duration {
    let mut delay = Backoff::LISTEN.delay(attempt, jitter());
    if let Some(after) = e.retry_after() {
        delay = delay.max(after);
    }
    let error = e.to_string();
    report(&Lifecycle::Reconnecting {
        attempt,
        delay_ms: delay.as_millis() as u64,
        error: Some(&error),
    });
    delay
}

/// After a connection ended: the next attempt number and the wait before it.
/// A clean end of a connection that worked for a while reconnects at once;
/// anything else backs off (a server that ends streams instantly must not
/// be hammered).
pub fn reconnect_wait(ended: &Ended, lived: Duration, jitter: f64) -> (u32, Duration) {
    match ended {
        Ended::Clean(_) if lived >= Duration::from_secs(1) => (1, Duration::ZERO),
        _ => (1, Backoff::LISTEN.delay(1, jitter)),
    }
}

/// Why listen returned normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Count,
}

/// A deadline for `--timeout`, reset by every printed message.
#[derive(Debug)]
struct Deadline {
    secs: Option<u64>,
    at: Cell<Option<Instant>>,
}

impl Deadline {
    fn new(secs: Option<u64>) -> Deadline {
        let d = Deadline {
            secs,
            at: Cell::new(None),
        };
        d.reset();
        d
    }

    fn reset(&self) {
        self.at
            .set(self.secs.map(|s| Instant::now() + Duration::from_secs(s)));
    }

    /// Runs `f` unless the deadline passes first.
    async fn bound<F: Future>(&self, f: F) -> Result<F::Output> {
        tokio::select! {
            biased;
            out = f => Ok(out),
            e = self.passed() => Err(e),
        }
    }

    /// Resolves once the deadline passes (never without one), however
    /// often it was reset meanwhile.
    async fn passed(&self) -> CliError {
        loop {
            match self.at.get() {
                None => std::future::pending::<()>().await,
                Some(at) if Instant::now() >= at => {
                    return CliError::timeout(self.secs.unwrap_or(0))
                }
                Some(at) => tokio::time::sleep_until(at).await,
            }
        }
    }
}

/// A cursor as lifecycle events show it: `START` (the start of the room)
/// as `null`.
fn shown(cursor: Option<&str>) -> Option<&str> {
    cursor.filter(|c| *c != START)
}

/// Follows `room` until `--count` is reached (Ok), `--timeout` passes, or a
/// permanent error (bad key, unknown room) ends it.
pub async fn run(client: &Client, room: &str, opts: &ListenOptions, out: &Output) -> Result<Stop> {
    let deadline = Deadline::new(opts.timeout_secs);
    let websocket = match opts.transport {
        TransportArg::Sse => false,
        requested => match deadline.bound(client.health()).await? {
            Ok(health) => health.features.websocket,
            // A wrong URL fails fast, as on any first request.
            Err(e) if e.kind == Kind::Unreachable => return Err(e),
            Err(e) if requested == TransportArg::Ws => return Err(e),
            // Every server streams SSE.
            Err(_) => false,
        },
    };
    let chosen = choose(opts.transport, websocket, &client.base)?;
    let transport = match chosen {
        Chosen::Sse => "sse",
        Chosen::Ws => "ws",
    };
    let mut listener = Listener {
        // No cursor yet means "from now": the first connection says where
        // that is, and the feed keeps it, so that a reconnect before the
        // first message still resumes from there rather than from a later
        // "now".
        feed: Feed::filtered(
            opts.after.clone(),
            opts.exclude.clone(),
            opts.mentions.clone(),
            opts.count,
        ),
        room,
        transport,
        out,
        deadline: &deadline,
        attempt: 0,
        connected_once: false,
    };
    let followed = async {
        match chosen {
            Chosen::Sse => follow(&Sse { client }, room, &mut listener).await,
            Chosen::Ws => follow(&Ws { client }, room, &mut listener).await,
        }
    };
    deadline.bound(followed).await?
}

/// listen's side of the library's follow loop: it prints, reports its
/// lifecycle, and retries transient failures with its backoff.
struct Listener<'a> {
    feed: Feed,
    room: &'a str,
    transport: &'static str,
    out: &'a Output,
    deadline: &'a Deadline,
    attempt: u32,
    connected_once: bool,
}

impl Follower for Listener<'_> {
    type Done = Result<Stop>;

    fn resume_point(&mut self) -> Option<String> {
        self.feed.cursor().map(str::to_owned)
    }

    fn opened(&mut self, conn: &impl Connection) {
        self.feed.started_at(conn.start());
        let after = shown(self.feed.cursor());
        report(&if self.connected_once {
            Lifecycle::Resumed {
                transport: self.transport,
                after,
            }
        } else {
            Lifecycle::Connected {
                room: self.room,
                transport: self.transport,
                after,
            }
        });
        self.connected_once = true;
    }

    fn incoming(&mut self, incoming: Incoming) -> Read<Result<Stop>> {
        match incoming {
            Incoming::Message(m) => match deliver(&mut self.feed, &m, self.out, self.deadline) {
                Ok(false) => Read::More,
                Ok(true) => Read::Stop(Ok(Stop::Count)),
                Err(e) => Read::Stop(Err(e)),
            },
            Incoming::Warning(why) => {
                report(&Lifecycle::Warning { message: &why });
                Read::More
            }
        }
    }

    fn ended(
        &mut self,
        _: &impl Connection,
        ended: Ended,
        lived: Duration,
    ) -> ControlFlow<Result<Stop>, Duration> {
        let (reason, detail) = match &ended {
            Ended::Clean(note) => ("server_ended", note.as_str()),
            Ended::Dropped(why) => ("dropped", why.as_str()),
        };
        report(&Lifecycle::Disconnected { reason, detail });
        let (next, delay) = reconnect_wait(&ended, lived, jitter());
        self.attempt = next;
        report(&Lifecycle::Reconnecting {
            attempt: next,
            delay_ms: delay.as_millis() as u64,
            error: None,
        });
        ControlFlow::Continue(delay)
    }

    fn failed(&mut self, e: CliError) -> ControlFlow<Result<Stop>, Duration> {
        // A wrong URL should fail fast; a server that was there comes back.
        if !e.is_transient() || (!self.connected_once && e.kind == Kind::Unreachable) {
            return ControlFlow::Break(Err(e));
        }
        self.attempt += 1;
        ControlFlow::Continue(announce_retry(self.attempt, &e))
    }
}

/// Prints a new, wanted message; true when `--count` is reached.
fn deliver(feed: &mut Feed, m: &RawMessage, out: &Output, deadline: &Deadline) -> Result<bool> {
    if feed.accept(m) != Verdict::Print {
        return Ok(false);
    }
    out.message(m)?;
    deadline.reset();
    Ok(feed.printed_one())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_of_a_room_shows_as_null() {
        assert_eq!(shown(Some(START)), None);
        assert_eq!(shown(None), None);
        assert_eq!(shown(Some("m1")), Some("m1"));
    }

    #[test]
    fn clean_ends_reconnect_at_once_and_drops_back_off() {
        let long = Duration::from_secs(30);
        let clean = Ended::Clean("bye queries=43 reason=budget".into());
        assert_eq!(reconnect_wait(&clean, long, 0.5), (1, Duration::ZERO));
        // A server that ends streams at once is not hammered.
        assert_eq!(
            reconnect_wait(&clean, Duration::from_millis(200), 0.5),
            (1, Duration::from_secs(1))
        );
        let dropped = Ended::Dropped("reset".into());
        assert_eq!(
            reconnect_wait(&dropped, long, 0.5),
            (1, Duration::from_secs(1))
        );
    }

    #[test]
    fn lifecycle_lines_are_tagged_json() {
        assert_eq!(
            Lifecycle::Connected {
                room: "r",
                transport: "sse",
                after: None
            }
            .to_line(),
            r#"{"event":"connected","room":"r","transport":"sse","after":null}"#
        );
        assert_eq!(
            Lifecycle::Reconnecting {
                attempt: 3,
                delay_ms: 4000,
                error: Some("down")
            }
            .to_line(),
            r#"{"event":"reconnecting","attempt":3,"delay_ms":4000,"error":"down"}"#
        );
        assert_eq!(
            Lifecycle::Reconnecting {
                attempt: 1,
                delay_ms: 0,
                error: None
            }
            .to_line(),
            r#"{"event":"reconnecting","attempt":1,"delay_ms":0}"#
        );
        assert_eq!(
            Lifecycle::Stopped {
                reason: "sigterm",
                printed: 2
            }
            .to_line(),
            r#"{"event":"stopped","reason":"sigterm","printed":2}"#
        );
    }
}
