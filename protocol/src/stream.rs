//! The SSE poll schedule, its budget, and the stream's step decisions.
//!
//! On the free plan there is no push: each stream polls D1 with a cursor.
//! Three facts shape the schedule:
//! - A Worker invocation on the free plan may make at most 50 D1 queries
//!   ([`FREE_TIER_QUERY_LIMIT`]; Cloudflare's D1 limits page, "Queries per
//!   Worker invocation": 50 on Free, 1,000 on Paid). Waiting costs no CPU (the
//!   10 ms limit counts CPU only) and an HTTP invocation has no wall-clock
//!   limit while its client stays connected, so the query count is what ends
//!   a stream. A stream counts every query it makes, auth included, and ends
//!   itself cleanly before the limit; `EventSource` then reconnects with
//!   `Last-Event-ID`, so nothing is lost across the seam.
//! - Latency is what people feel in an active room, cost is what idle
//!   listeners add up to. So polls are fast while the room has had a message
//!   recently and back off (doubling) towards a slower idle interval otherwise,
//!   which also stretches a stream (and so its one request) over more time.
//! - Re-checking access (key revoked, member removed, room made private) reads
//!   three rows; looking for new messages reads ~1 when there are none. So a
//!   poll that finds nothing re-checks access only every
//!   [`PollConfig::access_check_ms`], while a poll that finds messages always
//!   re-checks before writing them ([`Schedule::verify_before_delivery`]).
//!   A reader that lost access never receives a message, and its idle stream
//!   ends at most that period plus one idle interval later
//!   ([`PollConfig::revocation_bound_ms`]).
//!
//! [`Schedule`] is the stream's whole decision logic as a pure state machine:
//! the Worker only waits, queries and writes what it says
//! ([`Schedule::after_poll`] turns each poll's result into deliver, re-check
//! or end). Where a stream starts is `crate::cursor`.

use crate::sse::ByeReason;

/// D1 queries one free-plan invocation may make.
pub const FREE_TIER_QUERY_LIMIT: u32 = 50;
/// Queries a stream spends before its first poll: auth, then opening the room
/// (ownership, head cursor and the client's cursor in one statement), at most
/// one `last_used` refresh, and, only for a cursor that is not found, the
/// room's purge mark.
pub const STREAM_SETUP_QUERIES: u32 = 4;
/// Queries a stream leaves unspent for work beside it in the same invocation:
/// the daily budget's refresh after the response (`src/budget.rs`), and one
/// spare. [`Schedule::cap_to_budget`] keeps them.
pub const RESERVED_QUERIES: u32 = 2;

/// How a stream polls. Every field is configurable through wrangler vars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollConfig {
    /// Interval while the room is active (`SSE_ACTIVE_POLL_MS`).
    pub active_ms: u32,
    /// Slowest interval, reached by doubling once the room goes quiet (`SSE_IDLE_POLL_MS`).
    pub idle_ms: u32,
    /// How long after its last message a room counts as active (`SSE_ACTIVE_WINDOW_MS`).
    pub active_window_ms: u32,
    /// Longest silence before a comment heartbeat (`SSE_HEARTBEAT_MS`).
    pub heartbeat_ms: u32,
    /// Polls per stream before it ends itself (`SSE_MAX_POLLS`), capped so setup
    /// plus polls stay under [`FREE_TIER_QUERY_LIMIT`].
    pub max_polls: u32,
    /// The `retry:` hint sent to clients (`SSE_RETRY_MS`).
    pub retry_ms: u32,
    /// How often a poll also re-checks the reader's access
    /// (`SSE_ACCESS_CHECK_MS`); the polls between only look for new messages.
    pub access_check_ms: u32,
}

impl Default for PollConfig {
    /// 500 ms active polls give a median delay of ~250 ms, which reads as live;
    /// 4 s idle polls (a quiet room's first message waits 2 s on average) keep
    /// an idle stream alive ~3 minutes on its 45 polls; an access re-check
    /// every 30 s bounds revocation at 34 s; 45 polls and at most 4 setup
    /// queries leave a margin of 1 under the free plan's 50.
    fn default() -> PollConfig {
        PollConfig {
            active_ms: 500,
            idle_ms: 4_000,
            active_window_ms: 10_000,
            heartbeat_ms: 15_000,
            max_polls: 45,
            retry_ms: 1_000,
            access_check_ms: 30_000,
        }
    }
}

impl PollConfig {
    /// Repairs a configuration so it cannot break the invariants: heartbeat
    /// from 1 to 15 s, intervals from 50 ms up to the heartbeat (a poll is when
    /// the stream can speak), idle no faster than active, access re-checked
    /// at least once a minute, and the query budget under the free-plan limit.
    pub fn sanitized(self) -> PollConfig {
        let heartbeat_ms = self.heartbeat_ms.clamp(1_000, 15_000);
        let active_ms = self.active_ms.clamp(50, heartbeat_ms);
        PollConfig {
            active_ms,
            idle_ms: self.idle_ms.clamp(active_ms, heartbeat_ms),
            active_window_ms: self.active_window_ms,
            heartbeat_ms,
            max_polls: self
                .max_polls
                .clamp(1, FREE_TIER_QUERY_LIMIT - STREAM_SETUP_QUERIES - 1),
            retry_ms: self.retry_ms.clamp(100, 60_000),
            access_check_ms: self.access_check_ms.min(60_000),
        }
    }

    /// Most D1 queries one stream can make, setup included.
    pub fn max_queries_per_stream(&self) -> u32 {
        STREAM_SETUP_QUERIES + self.max_polls
    }

    /// Longest a reader that lost access keeps receiving: the re-check period
    /// plus the one idle interval before the poll that re-checks.
    pub fn revocation_bound_ms(&self) -> u32 {
        self.access_check_ms.saturating_add(self.idle_ms)
    }

    /// The wait before the next poll, given how long ago the room last had a
    /// message (`None`: never, as far as this stream knows) and the previous wait.
    pub fn next_interval(&self, since_activity_ms: Option<u64>, previous_ms: u32) -> u32 {
        match since_activity_ms {
            Some(since) if since < u64::from(self.active_window_ms) => self.active_ms,
            _ => previous_ms
                .max(self.active_ms)
                .saturating_mul(2)
                .min(self.idle_ms),
        }
    }
}

/// What a stream does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Wait this long, then call [`Schedule::begin_poll`] and poll.
    Poll { wait_ms: u32 },
    /// The poll budget is spent: say goodbye and end (the client reconnects).
    End,
}

/// What a stream writes after a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// The messages the poll found.
    Messages,
    /// Nothing new for a heartbeat period: a comment keeps proxies open.
    Heartbeat,
    /// Nothing: poll again.
    Nothing,
}

/// One stream's schedule: when to poll, when a poll re-checks access, when to
/// write a heartbeat and when to end. Times are epoch milliseconds.
#[derive(Debug, Clone)]
pub struct Schedule {
    config: PollConfig,
    polls_left: u32,
    interval_ms: u32,
    /// Poll without waiting: a replay or a backlog is pending.
    backlog: bool,
    last_activity_ms: Option<i64>,
    /// When access was last verified (opening the stream verifies it).
    last_check_ms: i64,
    last_write_ms: i64,
}

impl Schedule {
    /// A stream opened (and its access verified) at `now_ms`. `backlog`: the
    /// client's cursor is behind the room's head, so replay at once.
    /// `last_activity_ms`: when the room's newest message was sent.
    pub fn new(
        config: PollConfig,
        now_ms: i64,
        backlog: bool,
        last_activity_ms: Option<i64>,
    ) -> Schedule {
        Schedule {
            config,
            polls_left: config.max_polls,
            interval_ms: config.active_ms,
            backlog,
            last_activity_ms,
            last_check_ms: now_ms,
            last_write_ms: now_ms,
        }
    }

    /// The next step: a poll after some wait, or the end of the budget.
    pub fn next(&self) -> Step {
        if self.polls_left == 0 {
            Step::End
        } else if self.backlog {
            Step::Poll { wait_ms: 0 }
        } else {
            Step::Poll {
                wait_ms: self.interval_ms,
            }
        }
    }

    /// Spends one poll at `now_ms` (after the wait); true when this poll must
    /// also re-check the reader's access (and then counts as the check).
    pub fn begin_poll(&mut self, now_ms: i64) -> bool {
        self.polls_left = self.polls_left.saturating_sub(1);
        let due = now_ms - self.last_check_ms >= i64::from(self.config.access_check_ms);
        if due {
            self.last_check_ms = now_ms;
        }
        due
    }

    /// A poll without the access check found messages: before they are
    /// written the stream must poll again with the check, so that nothing
    /// reaches a reader that lost access, however recently. Spends one poll
    /// and counts as the check; false when the budget is spent (then end
    /// without writing them: the reconnect authenticates and replays them).
    pub fn verify_before_delivery(&mut self, now_ms: i64) -> bool {
        if self.polls_left == 0 {
            return false;
        }
        self.polls_left -= 1;
        self.last_check_ms = now_ms;
        true
    }

    /// Records what the poll at `now_ms` found: `delivered` messages, and
    /// whether they filled a page (more are waiting). Says what to write.
    pub fn polled(&mut self, now_ms: i64, delivered: usize, page_full: bool) -> Write {
        self.backlog = page_full;
        if delivered > 0 {
            self.last_activity_ms = Some(now_ms);
            self.interval_ms = self.config.active_ms;
            self.last_write_ms = now_ms;
            return Write::Messages;
        }
        self.interval_ms = self.following_interval(now_ms, self.interval_ms);
        if now_ms - self.last_write_ms >= i64::from(self.config.heartbeat_ms) {
            self.last_write_ms = now_ms;
            return Write::Heartbeat;
        }
        Write::Nothing
    }

    /// Caps the polls to what the invocation's query limit leaves once setup
    /// has spent `spent` queries (auth, a stream ticket, opening the room, a
    /// purged cursor's lookup, a `last_used` refresh, a cold isolate's
    /// budget read: which of them run depends on the request), keeping
    /// [`RESERVED_QUERIES`] for what may run beside the stream.
    pub fn cap_to_budget(&mut self, spent: u32) {
        let room = FREE_TIER_QUERY_LIMIT.saturating_sub(spent + RESERVED_QUERIES);
        self.polls_left = self.polls_left.min(room);
    }

    /// Polls left in this stream's budget.
    pub fn polls_left(&self) -> u32 {
        self.polls_left
    }

    fn following_interval(&self, now_ms: i64, previous_ms: u32) -> u32 {
        let since = self
            .last_activity_ms
            .map(|t| u64::try_from(now_ms - t).unwrap_or(0));
        self.config.next_interval(since, previous_ms)
    }
}

/// What a poll came back with, as the stream's step sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polled {
    /// This many messages (maybe none).
    Found(usize),
    /// The access check failed: the reader's key or token was revoked, or
    /// the room went private or away.
    AccessLost,
    /// The poll itself failed (D1 error).
    Failed,
}

/// What the stream does with a poll's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterPoll {
    /// Write what was found (or nothing: see [`Schedule::polled`]).
    Deliver,
    /// Messages were found by a poll that did not re-check access: poll again
    /// with the check before writing them.
    Recheck,
    /// Say goodbye for this reason and end; the client resumes from its last
    /// id, so ending loses nothing.
    End(ByeReason),
}

impl Schedule {
    /// Decides what a poll's result leads to. `checked`: the poll re-checked
    /// the reader's access ([`Schedule::begin_poll`] said so, or it is the
    /// re-check itself). Nothing reaches a reader unchecked: found messages
    /// are verified first, within the budget, or the stream ends.
    pub fn after_poll(&mut self, now_ms: i64, checked: bool, polled: Polled) -> AfterPoll {
        match polled {
            Polled::AccessLost => AfterPoll::End(ByeReason::AccessLost),
            Polled::Failed => AfterPoll::End(ByeReason::Error),
            Polled::Found(n) if n > 0 && !checked => {
                if self.verify_before_delivery(now_ms) {
                    AfterPoll::Recheck
                } else {
                    AfterPoll::End(ByeReason::Budget)
                }
            }
            Polled::Found(_) => AfterPoll::Deliver,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_queries_come_out_of_the_polls() {
        let c = PollConfig::default();
        let mut s = Schedule::new(c, 0, false, None);
        s.cap_to_budget(2);
        assert_eq!(s.polls_left(), c.max_polls, "a plain open leaves all polls");
        let mut s = Schedule::new(c, 0, false, None);
        // Auth, a ticket, open, a purged cursor, last_used, a cold budget read.
        s.cap_to_budget(6);
        assert_eq!(s.polls_left(), FREE_TIER_QUERY_LIMIT - 6 - RESERVED_QUERIES);
        assert!(6 + s.polls_left() + RESERVED_QUERIES <= FREE_TIER_QUERY_LIMIT);
        let mut s = Schedule::new(c, 0, false, None);
        s.cap_to_budget(60);
        assert_eq!(s.polls_left(), 0);
        assert_eq!(s.next(), Step::End);
    }

    #[test]
    fn default_budget_stays_under_the_free_tier_limit() {
        let c = PollConfig::default();
        assert_eq!(c, c.sanitized());
        assert!(c.max_queries_per_stream() < FREE_TIER_QUERY_LIMIT);
    }

    #[test]
    fn any_configuration_is_repaired_to_stay_under_the_limit() {
        let wild = PollConfig {
            active_ms: 0,
            idle_ms: 1,
            active_window_ms: 0,
            heartbeat_ms: 1_000_000,
            max_polls: 10_000,
            retry_ms: 0,
            access_check_ms: u32::MAX,
        }
        .sanitized();
        assert!(wild.max_queries_per_stream() < FREE_TIER_QUERY_LIMIT);
        assert_eq!(wild.active_ms, 50);
        assert_eq!(wild.idle_ms, 50);
        assert_eq!(wild.heartbeat_ms, 15_000);
        assert_eq!(wild.access_check_ms, 60_000);
    }

    #[test]
    fn polls_fast_while_active_and_back_off_to_idle() {
        let c = PollConfig::default();
        assert_eq!(c.next_interval(Some(0), 2_000), 500);
        assert_eq!(c.next_interval(Some(9_999), 2_000), 500);
        assert_eq!(c.next_interval(Some(10_000), 500), 1_000);
        assert_eq!(c.next_interval(None, 1_000), 2_000);
        assert_eq!(c.next_interval(None, 2_000), 4_000);
        assert_eq!(c.next_interval(None, 4_000), 4_000);
        assert_eq!(c.next_interval(None, 0), 1_000);
    }

    /// Drives a schedule through an idle room: returns (polls, access checks,
    /// heartbeats, stream length in ms).
    fn run_idle(c: PollConfig) -> (u32, u32, u32, i64) {
        let mut now = 1_000_000;
        let mut s = Schedule::new(c, now, false, None);
        let (mut polls, mut checks, mut beats) = (0, 0, 0);
        while let Step::Poll { wait_ms } = s.next() {
            now += i64::from(wait_ms);
            polls += 1;
            checks += u32::from(s.begin_poll(now));
            if s.polled(now, 0, false) == Write::Heartbeat {
                beats += 1;
            }
        }
        (polls, checks, beats, now - 1_000_000)
    }

    #[test]
    fn an_idle_stream_backs_off_lives_three_minutes_and_checks_access_every_30_s() {
        let c = PollConfig::default();
        let (polls, checks, beats, length) = run_idle(c);
        assert_eq!(polls, 45);
        // 0.5 + 1 + 2 s, then 42 polls 4 s apart.
        assert_eq!(length, 500 + 1_000 + 2_000 + 42 * 4_000);
        assert_eq!(checks, 5, "one access check per 30 s of a 171.5 s stream");
        assert_eq!(
            beats, 10,
            "a heartbeat at the first poll 15 s after the last write"
        );
        assert!(c.max_queries_per_stream() < FREE_TIER_QUERY_LIMIT);
        assert_eq!(c.revocation_bound_ms(), 34_000);
    }

    #[test]
    fn a_message_brings_fast_polls_back_and_a_full_page_polls_at_once() {
        let c = PollConfig::default();
        let mut now = 0;
        let mut s = Schedule::new(c, now, true, None);
        assert_eq!(s.next(), Step::Poll { wait_ms: 0 }, "replay at once");
        assert!(!s.begin_poll(now));
        assert_eq!(s.polled(now, 100, true), Write::Messages);
        assert_eq!(s.next(), Step::Poll { wait_ms: 0 }, "the backlog goes on");
        s.begin_poll(now);
        assert_eq!(s.polled(now, 3, false), Write::Messages);
        assert_eq!(s.next(), Step::Poll { wait_ms: 500 });
        // Quiet for 20 s: back off to the idle interval.
        while now < 20_000 {
            let Step::Poll { wait_ms } = s.next() else {
                panic!("budget")
            };
            now += i64::from(wait_ms);
            s.begin_poll(now);
            s.polled(now, 0, false);
        }
        assert_eq!(s.next(), Step::Poll { wait_ms: 4_000 });
        // A message: fast again at once, and while the room stays active.
        now += 4_000;
        s.begin_poll(now);
        assert_eq!(s.polled(now, 1, false), Write::Messages);
        assert_eq!(s.next(), Step::Poll { wait_ms: 500 });
        now += 500;
        s.begin_poll(now);
        assert_eq!(s.polled(now, 0, false), Write::Nothing);
        assert_eq!(s.next(), Step::Poll { wait_ms: 500 });
    }

    #[test]
    fn access_is_rechecked_once_per_period_whatever_the_poll_rate() {
        let c = PollConfig::default();
        let mut s = Schedule::new(c, 0, false, Some(0));
        assert!(!s.begin_poll(29_999));
        assert!(s.begin_poll(30_000));
        assert!(!s.begin_poll(30_500), "the check resets the period");
        assert!(s.begin_poll(60_000));
        let every_poll = PollConfig {
            access_check_ms: 0,
            ..c
        }
        .sanitized();
        let mut s = Schedule::new(every_poll, 0, false, None);
        assert!(s.begin_poll(0) && s.begin_poll(500));
    }

    /// A fresh stream, opened at 0 in a quiet room, with `max_polls` polls.
    fn with_polls(max_polls: u32) -> Schedule {
        let c = PollConfig {
            max_polls,
            ..PollConfig::default()
        };
        Schedule::new(c, 0, false, None)
    }

    #[test]
    fn messages_found_without_a_check_are_verified_first_within_the_budget() {
        let mut s = with_polls(2);
        assert!(!s.begin_poll(500), "no check due yet");
        // Found messages: verify, which spends the last poll and is the check.
        assert!(s.verify_before_delivery(500));
        assert_eq!(s.polls_left(), 0);
        assert!(!s.begin_poll(29_000), "the verification reset the period");
        // No poll left to verify with: end instead of writing unverified.
        assert!(!s.verify_before_delivery(29_000));
        assert_eq!(s.next(), Step::End);
    }

    #[test]
    fn the_budget_ends_the_stream() {
        let mut s = with_polls(2);
        for _ in 0..2 {
            assert!(matches!(s.next(), Step::Poll { .. }));
            s.begin_poll(0);
            s.polled(0, 0, false);
        }
        assert_eq!(s.polls_left(), 0);
        assert_eq!(s.next(), Step::End);
    }

    #[test]
    fn a_polls_result_is_delivered_rechecked_or_ends_the_stream() {
        let mut s = with_polls(3);
        assert!(!s.begin_poll(500));
        // Nothing new, unchecked: nothing to verify.
        assert_eq!(
            s.after_poll(500, false, Polled::Found(0)),
            AfterPoll::Deliver
        );
        // Found without the check: re-check first (spends a poll).
        assert!(!s.begin_poll(600));
        assert_eq!(
            s.after_poll(600, false, Polled::Found(2)),
            AfterPoll::Recheck
        );
        assert_eq!(
            s.after_poll(600, true, Polled::Found(2)),
            AfterPoll::Deliver
        );
        assert_eq!(s.polls_left(), 0);
        // No poll left to re-check with: end, never write unverified.
        assert_eq!(
            s.after_poll(700, false, Polled::Found(1)),
            AfterPoll::End(ByeReason::Budget)
        );
        assert_eq!(
            s.after_poll(700, true, Polled::AccessLost),
            AfterPoll::End(ByeReason::AccessLost)
        );
        assert_eq!(
            s.after_poll(700, false, Polled::Failed),
            AfterPoll::End(ByeReason::Error)
        );
    }
}
