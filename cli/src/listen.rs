//! `meet-ai listen`: follow a room for as long as it takes.
//!
//! It asks `/api/health` once which transport to use (WebSocket where the
//! server offers one, else SSE; `--transport` decides otherwise). The loop
//! connects through that [`Transport`], prints each new message, and when
//! the connection ends reconnects by itself, resuming after the last message
//! it received, or where the first connection started if none came yet
//! (`Last-Event-ID` for SSE, `?after=` for WebSocket): at once after a clean
//! end (the free server closes streams on purpose every 20-80 s), otherwise
//! after an exponential backoff with jitter. Messages are also deduplicated
//! by id, so a server that replays too much still prints each message once.
//!
//! stdout carries messages only; connection events go to stderr as JSON lines.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::time::Duration;

use protocol::validate::START;
use serde::Serialize;
use tokio::time::Instant;

use crate::args::TransportArg;
use crate::args::{choose, Chosen};
use crate::backoff::{jitter, Backoff};
use crate::client::{Client, RawMessage};
use crate::error::{CliError, Kind, Result};
use crate::output::{is_excluded, Output};
use crate::transport::{Connection, Ended, Incoming, Sse, Transport};
use crate::ws::Ws;

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

/// Ids already seen, bounded (oldest forgotten first).
#[derive(Debug)]
struct Seen {
    set: HashSet<String>,
    order: VecDeque<String>,
    cap: usize,
}

impl Seen {
    fn new(cap: usize) -> Seen {
        Seen {
            set: HashSet::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    /// True if `id` is new.
    fn insert(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() == self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        true
    }
}

/// What to do with an arriving message: the pure part of listen.
#[derive(Debug)]
pub struct Feed {
    seen: Seen,
    cursor: Option<String>,
    exclude: Vec<String>,
    mentions: Option<String>,
    count: Option<u64>,
    pub printed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Already seen: nothing to do.
    Duplicate,
    /// New, but from an excluded sender (or not mentioning `--mentions`):
    /// only the cursor moves.
    Excluded,
    /// New: print it.
    Print,
}

impl Feed {
    #[cfg(test)]
    pub fn new(cursor: Option<String>, exclude: Vec<String>, count: Option<u64>) -> Feed {
        Feed::filtered(cursor, exclude, None, count)
    }

    /// A feed that also drops messages not mentioning `mentions` (nor `all`).
    pub fn filtered(
        cursor: Option<String>,
        exclude: Vec<String>,
        mentions: Option<String>,
        count: Option<u64>,
    ) -> Feed {
        let mut seen = Seen::new(10_000);
        if let Some(c) = &cursor {
            seen.insert(c);
        }
        Feed {
            seen,
            cursor,
            exclude,
            mentions,
            count,
            printed: 0,
        }
    }

    /// The id to resume after.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Adopts where a connection started as the cursor, if there is none
    /// yet: resuming from there loses nothing that came after.
    pub fn started_at(&mut self, start: Option<&str>) {
        if let (None, Some(start)) = (&self.cursor, start) {
            self.seen.insert(start);
            self.cursor = Some(start.to_owned());
        }
    }

    /// Classifies a message and advances the cursor past new ones (excluded
    /// or not: the cursor is where the room is, not what was shown).
    pub fn accept(&mut self, m: &RawMessage) -> Verdict {
        if !self.seen.insert(&m.message.id) {
            return Verdict::Duplicate;
        }
        self.cursor = Some(m.message.id.clone());
        let unmentioned = self
            .mentions
            .as_deref()
            .is_some_and(|handle| !m.message.mentions_handle(handle.trim()));
        if unmentioned || is_excluded(&m.message.sender, &self.exclude) {
            Verdict::Excluded
        } else {
            Verdict::Print
        }
    }

    /// Counts a printed message; true when `--count` is reached.
    pub fn printed_one(&mut self) -> bool {
        self.printed += 1;
        self.count.is_some_and(|c| self.printed >= c)
    }
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
#[derive(Debug, Clone, Copy)]
struct Deadline {
    secs: Option<u64>,
    at: Option<Instant>,
}

impl Deadline {
    fn new(secs: Option<u64>) -> Deadline {
        let mut d = Deadline { secs, at: None };
        d.reset();
        d
    }

    fn reset(&mut self) {
        self.at = self.secs.map(|s| Instant::now() + Duration::from_secs(s));
    }

    /// Runs `f` unless the deadline passes first.
    async fn bound<F: Future>(&self, f: F) -> Result<F::Output> {
        match self.at {
            None => Ok(f.await),
            Some(at) => tokio::time::timeout_at(at, f)
                .await
                .map_err(|_| CliError::timeout(self.secs.unwrap_or(0))),
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
    let mut deadline = Deadline::new(opts.timeout_secs);
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
    match choose(opts.transport, websocket, &client.base)? {
        Chosen::Sse => follow(&Sse { client }, room, opts, out, &mut deadline).await,
        Chosen::Ws => follow(&Ws { client }, room, opts, out, &mut deadline).await,
    }
}

async fn follow<T: Transport>(
    transport: &T,
    room: &str,
    opts: &ListenOptions,
    out: &Output,
    deadline: &mut Deadline,
) -> Result<Stop> {
    // No cursor yet means "from now": the first connection says where that
    // is, and the feed keeps it, so that a reconnect before the first
    // message still resumes from there rather than from a later "now".
    let mut feed = Feed::filtered(
        opts.after.clone(),
        opts.exclude.clone(),
        opts.mentions.clone(),
        opts.count,
    );
    let mut attempt: u32 = 0;
    let mut connected_once = false;

    loop {
        let e = match deadline
            .bound(transport.connect(room, feed.cursor()))
            .await?
        {
            Ok(mut conn) => {
                feed.started_at(conn.start());
                if connected_once {
                    report(&Lifecycle::Resumed {
                        transport: transport.name(),
                        after: shown(feed.cursor()),
                    });
                } else {
                    report(&Lifecycle::Connected {
                        room,
                        transport: transport.name(),
                        after: shown(feed.cursor()),
                    });
                }
                connected_once = true;
                let opened = Instant::now();
                let ended = loop {
                    match deadline.bound(conn.next()).await? {
                        Ok(Incoming::Message(m)) => {
                            if deliver(&mut feed, &m, out, deadline)? {
                                return Ok(Stop::Count);
                            }
                        }
                        Ok(Incoming::Warning(why)) => report(&Lifecycle::Warning { message: &why }),
                        Err(end) => break end,
                    }
                };
                drop(conn);
                let (reason, detail) = match &ended {
                    Ended::Clean(note) => ("server_ended", note.as_str()),
                    Ended::Dropped(why) => ("dropped", why.as_str()),
                };
                report(&Lifecycle::Disconnected { reason, detail });
                let (next, delay) = reconnect_wait(&ended, opened.elapsed(), jitter());
                attempt = next;
                report(&Lifecycle::Reconnecting {
                    attempt,
                    delay_ms: delay.as_millis() as u64,
                    error: None,
                });
                deadline.bound(tokio::time::sleep(delay)).await?;
                continue;
            }
            Err(e) => e,
        };

        if !e.is_transient() {
            return Err(e);
        }
        // A wrong URL should fail fast; a server that was there comes back.
        if !connected_once && e.kind == Kind::Unreachable {
            return Err(e);
        }
        attempt += 1;
        let delay = announce_retry(attempt, &e);
        deadline.bound(tokio::time::sleep(delay)).await?;
    }
}

/// Prints a new, wanted message; true when `--count` is reached.
fn deliver(feed: &mut Feed, m: &RawMessage, out: &Output, deadline: &mut Deadline) -> Result<bool> {
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
    use protocol::wire::SenderType;

    fn m(id: &str, sender: &str) -> RawMessage {
        mentioning(id, sender, &[])
    }

    fn mentioning(id: &str, sender: &str, mentions: &[&str]) -> RawMessage {
        let mut m = crate::output::tests::raw_message(
            sender,
            SenderType::Agent,
            &format!("from {sender}"),
            &format!("\"mentions\":{}", serde_json::json!(mentions)),
        );
        m.message.id = id.into();
        m.raw = format!("{{\"id\":\"{id}\"}}");
        m
    }

    #[test]
    fn mentions_keep_only_messages_naming_the_handle_or_all() {
        let mut feed = Feed::filtered(None, vec!["ada".into()], Some("Ada".into()), None);
        let verdicts: Vec<Verdict> = [
            mentioning("1", "bob", &["ada"]),
            mentioning("2", "bob", &["carl"]),
            mentioning("3", "bob", &["all"]),
            mentioning("4", "bob", &[]),
            mentioning("5", "ada", &["ada"]),
        ]
        .iter()
        .map(|msg| feed.accept(msg))
        .collect();
        use Verdict::*;
        assert_eq!(verdicts, vec![Print, Excluded, Print, Excluded, Excluded]);
        assert_eq!(feed.cursor(), Some("5"));
    }

    #[test]
    fn feed_excludes_dedupes_and_moves_the_cursor() {
        let mut feed = Feed::new(Some("m0".into()), vec!["me".into()], None);
        let mut printed = Vec::new();
        for msg in [
            m("m0", "ada"), // the start point itself is never printed
            m("m1", "ada"),
            m("m2", "me"),
            m("m1", "ada"), // replayed
            m("m3", "bob"),
            m("m2", "me"),
        ] {
            let verdict = feed.accept(&msg);
            if verdict == Verdict::Print {
                printed.push(msg.message.id.clone());
                feed.printed_one();
            }
        }
        assert_eq!(printed, vec!["m1", "m3"]);
        assert_eq!(feed.cursor(), Some("m3"));
        assert_eq!(feed.printed, 2);
    }

    #[test]
    fn excluded_messages_still_advance_the_cursor() {
        let mut feed = Feed::new(None, vec!["me".into()], None);
        assert_eq!(feed.accept(&m("a", "me")), Verdict::Excluded);
        assert_eq!(feed.cursor(), Some("a"));
        assert_eq!(feed.accept(&m("a", "me")), Verdict::Duplicate);
    }

    #[test]
    fn the_first_start_point_becomes_the_cursor() {
        let mut feed = Feed::new(None, vec![], None);
        feed.started_at(None);
        assert_eq!(feed.cursor(), None);
        feed.started_at(Some(START));
        assert_eq!(feed.cursor(), Some(START));
        // Later connections start where they were asked to: the cursor stays.
        feed.started_at(Some("m9"));
        assert_eq!(feed.cursor(), Some(START));
        assert_eq!(feed.accept(&m("m1", "ada")), Verdict::Print);
        feed.started_at(Some("m0"));
        assert_eq!(feed.cursor(), Some("m1"));
        let mut given = Feed::new(Some("m5".into()), vec![], None);
        given.started_at(Some("m5"));
        assert_eq!(given.cursor(), Some("m5"));
    }

    #[test]
    fn the_start_of_a_room_shows_as_null() {
        assert_eq!(shown(Some(START)), None);
        assert_eq!(shown(None), None);
        assert_eq!(shown(Some("m1")), Some("m1"));
    }

    #[test]
    fn count_is_reached_on_the_nth_print() {
        let mut feed = Feed::new(None, vec![], Some(2));
        assert!(!feed.printed_one());
        assert!(feed.printed_one());
        let mut unbounded = Feed::new(None, vec![], None);
        assert!((0..100).all(|_| !unbounded.printed_one()));
    }

    #[test]
    fn seen_forgets_the_oldest_beyond_its_cap() {
        let mut seen = Seen::new(2);
        assert!(seen.insert("a"));
        assert!(seen.insert("b"));
        assert!(!seen.insert("a"));
        assert!(seen.insert("c"));
        assert!(seen.insert("a"), "a was forgotten");
        assert!(!seen.insert("c"));
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
