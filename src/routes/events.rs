//! `GET /api/rooms/:id/events`: a room's new messages as Server-Sent Events.
//!
//! The free plan has no push, so the stream polls D1 with a cursor (`seq`), on
//! the schedule [`protocol::stream::Schedule`] decides: fast while the room is
//! active, backing off while it is quiet, and re-checking the reader's access
//! every `SSE_ACCESS_CHECK_MS` and before every delivery (the polls between
//! read ~1 row when nothing is new). It ends itself before the
//! invocation's query limit with a final `: bye queries=N` comment; the client
//! reconnects with `Last-Event-ID` (the last message id it saw) and the new
//! stream replays everything after it first, so nothing is lost or repeated
//! across the seam.

use std::time::Duration;

use futures_util::stream;
use protocol::retention::PURGED_EVENT;
use protocol::sse::{encode_comment, encode_cursor, encode_event, encode_retry, Bye, ByeReason};
use protocol::stream::{AfterPoll, Polled, Schedule, Step, Write};
use protocol::wire::{Message, MessageRow};
use worker::{console_error, Delay, Response};

use crate::context::{now_ms, Ctx};
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::store::d1::Db;
use crate::store::live;
use crate::store::messages::{self, Reader};

/// Messages per poll. A full page means a backlog: the next poll runs at once.
const PAGE: u32 = 100;
/// The `retry:` sent just before a stream ends on its budget.
const RECONNECT_AT_ONCE_MS: u32 = 100;

/// Streams the owner's room, or any public room (with or without a key).
pub async fn stream(ctx: &Ctx, raw_id: &str) -> AppResult<Response> {
    let ops::live::Opened {
        room,
        reader,
        member,
        touched,
        start,
        after_seq,
        resume_id,
        purged,
    } = ops::live::open(ctx, raw_id).await?;
    let config = ctx.config.poll;
    let backlog = after_seq < start.head_seq.unwrap_or(0);
    let mut state = Stream {
        db: ctx.db.clone(),
        room: room.into(),
        reader,
        member_hash: member.map(|m| m.token_hash),
        cursor: after_seq,
        retry_ms: config.retry_ms,
        extra_queries: u32::from(touched),
        schedule: Schedule::new(config, now_ms(), backlog, start.head_ms),
        phase: Phase::Open { resume_id, purged },
    };
    // What setup spent (it varies: a ticket, a purged cursor, a cold budget
    // read) comes out of the polls, so the stream ends under the limit.
    let spent = state.queries();
    state.schedule.cap_to_budget(spent);
    let body = stream::unfold(state, Stream::step);
    let mut response = Response::from_stream(body)?;
    let headers = response.headers_mut();
    headers.set("Content-Type", "text/event-stream; charset=utf-8")?;
    headers.set("Cache-Control", "no-cache, no-transform")?;
    // Tells nginx-style proxies not to buffer the stream.
    headers.set("X-Accel-Buffering", "no")?;
    Ok(response)
}

enum Phase {
    /// Not yet started; holds the cursor to announce, and whether it was purged.
    Open {
        resume_id: String,
        purged: bool,
    },
    Live,
    Done,
}

struct Stream {
    db: Db,
    room: String,
    /// The reader's key id; None for an anonymous reader of a public room.
    reader: Option<String>,
    /// A member reader's token hash: removal or re-issue ends the stream.
    member_hash: Option<String>,
    /// The `seq` of the last message sent (or the start point).
    cursor: i64,
    retry_ms: u32,
    /// Queries made outside `db` (a scheduled `last_used` refresh).
    extra_queries: u32,
    /// When to poll, re-check access, beat and end: all decided here.
    schedule: Schedule,
    phase: Phase,
}

type Chunk = Result<Vec<u8>, worker::Error>;

impl Stream {
    fn queries(&self) -> u32 {
        self.db.stats().round_trips + self.extra_queries
    }

    fn finish(mut self, why: ByeReason) -> Option<(Chunk, Stream)> {
        self.phase = Phase::Done;
        let rows_read = self.db.stats().rows_read;
        let mut text = String::new();
        if why == ByeReason::Budget {
            // A planned end, not a failure: ask EventSource to come back at
            // once rather than after the usual retry hint (the next stream
            // restores it), so messages sent across the seam are not held up.
            text.push_str(&encode_retry(RECONNECT_AT_ONCE_MS));
        }
        let bye = Bye {
            queries: self.queries(),
            rows_read,
            reason: why,
        };
        text.push_str(&encode_comment(&bye.comment()));
        Some((Ok(text.into_bytes()), self))
    }

    /// A poll after `after_seq` that also re-checks the reader's access:
    /// `None` if it was lost. From past every message (`i64::MAX`) it is the
    /// access check alone: its join keeps the room's row, so `Some` empty
    /// means readable, and no second query of its own costs the bundle.
    async fn poll_checked(&self, after_seq: i64, limit: u32) -> AppResult<Option<Vec<MessageRow>>> {
        let reader = Reader {
            key_id: self.reader.as_deref(),
            member_hash: self.member_hash.as_deref(),
        };
        messages::poll(&self.db, &self.room, reader, after_seq, limit).await
    }

    /// Produces the next chunk: the opening hint, a batch of events, a
    /// heartbeat, or the closing comment; `None` ends the stream.
    async fn step(mut self) -> Option<(Chunk, Stream)> {
        // Returning None ends the stream, so Done needs no state kept.
        match std::mem::replace(&mut self.phase, Phase::Live) {
            Phase::Done => return None,
            Phase::Open { resume_id, purged } => {
                // Something at once, so clients and proxies see the stream
                // open; and the resume point, so a reconnect before the first
                // message (even in an empty room) continues from here.
                let mut hello = encode_retry(self.retry_ms)
                    + &encode_cursor(&resume_id)
                    + &encode_comment("connected");
                if purged {
                    hello.push_str(&encode_event(
                        None,
                        Some(PURGED_EVENT),
                        r#"{"purged":true}"#,
                    ));
                }
                return Some((Ok(hello.into_bytes()), self));
            }
            Phase::Live => {}
        }
        loop {
            let wait_ms = match self.schedule.next() {
                Step::End => return self.finish(ByeReason::Budget),
                Step::Poll { wait_ms } => wait_ms,
            };
            if wait_ms > 0 {
                Delay::from(Duration::from_millis(u64::from(wait_ms))).await;
            }
            let checked = self.schedule.begin_poll(now_ms());
            let polled = if checked {
                self.poll_checked(self.cursor, PAGE).await
            } else {
                // Access was verified less than a check period ago: only
                // look for new messages (~1 row read when there are none).
                live::poll_new(&self.db, &self.room, self.cursor, PAGE)
                    .await
                    .map(Some)
            };
            let found = polled_as(polled.as_ref().map(|rows| rows.as_ref().map(Vec::len)));
            let rows = match self.schedule.after_poll(now_ms(), checked, found) {
                AfterPoll::Deliver => polled.ok().flatten().unwrap_or_default(),
                AfterPoll::Recheck => {
                    // Nothing reaches a reader unchecked: check access alone
                    // (~3 rows) rather than read the messages again.
                    let still = self.poll_checked(i64::MAX, 1).await;
                    let verdict = match polled_as(still.as_ref().map(|ok| ok.as_ref().map(|_| 0))) {
                        Polled::Found(_) => found,
                        lost_or_failed => lost_or_failed,
                    };
                    match self.schedule.after_poll(now_ms(), true, verdict) {
                        AfterPoll::Deliver => polled.ok().flatten().unwrap_or_default(),
                        AfterPoll::End(why) => return self.finish(why),
                        // A checked result is never sent back for a check.
                        AfterPoll::Recheck => return self.finish(ByeReason::Error),
                    }
                }
                AfterPoll::End(why) => return self.finish(why),
            };
            let full = rows.len() == PAGE as usize;
            match self.schedule.polled(now_ms(), rows.len(), full) {
                Write::Messages => {
                    let mut out = String::new();
                    for row in rows {
                        self.cursor = row.seq;
                        let id = row.id.clone();
                        match serde_json::to_string(&Message::from(row)) {
                            Ok(data) => {
                                out.push_str(&encode_event(Some(&id), Some("message"), &data))
                            }
                            Err(e) => console_error!("serialize message {id}: {e}"),
                        }
                    }
                    return Some((Ok(out.into_bytes()), self));
                }
                Write::Heartbeat => {
                    return Some((Ok(encode_comment("heartbeat").into_bytes()), self));
                }
                Write::Nothing => {}
            }
        }
    }
}

/// A poll's result (how many messages, `None`: access lost) or an access
/// check's (`Some(0)`: still readable) as the schedule reads it; an error
/// ends the stream, and the client resumes from its last id, losing nothing.
fn polled_as(result: Result<Option<usize>, &AppError>) -> Polled {
    match result {
        Ok(Some(n)) => Polled::Found(n),
        Ok(None) => Polled::AccessLost,
        Err(e) => {
            console_error!("stream poll failed: {e:?}");
            Polled::Failed
        }
    }
}
