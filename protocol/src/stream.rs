//! The SSE poll schedule and its budget.
//!
//! On the free plan there is no push: each stream polls D1 with a cursor. Two
//! facts shape the schedule:
//! - A Worker invocation on the free plan may make at most 50 D1 queries
//!   ([`FREE_TIER_QUERY_LIMIT`]). A stream counts every query it makes, auth
//!   included, and ends itself cleanly before the limit; `EventSource` then
//!   reconnects with `Last-Event-ID`, so nothing is lost across the seam.
//! - Latency is what people feel in an active room, cost is what idle listeners
//!   add up to. So polls are fast while the room has had a message recently and
//!   back off (doubling) towards a slower idle interval otherwise.

/// D1 queries one free-plan invocation may make.
pub const FREE_TIER_QUERY_LIMIT: u32 = 50;
/// Queries a stream spends before its first poll: auth, then opening the room
/// (ownership, head cursor and the client's cursor in one statement), and at
/// most one `last_used` refresh.
pub const STREAM_SETUP_QUERIES: u32 = 3;

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
}

impl Default for PollConfig {
    /// 500 ms active polls give a median delay of ~250 ms, which reads as live;
    /// 2 s idle polls keep an idle listener near 0.5 queries/s; 40 polls leave
    /// a margin of 7 queries under the free plan's 50.
    fn default() -> PollConfig {
        PollConfig {
            active_ms: 500,
            idle_ms: 2_000,
            active_window_ms: 10_000,
            heartbeat_ms: 15_000,
            max_polls: 40,
            retry_ms: 1_000,
        }
    }
}

impl PollConfig {
    /// Repairs a configuration so it cannot break the invariants: heartbeat
    /// from 1 to 15 s, intervals from 50 ms up to the heartbeat (a poll is when
    /// the stream can speak), idle no faster than active, and the query budget
    /// under the free-plan limit.
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
        }
    }

    /// Most D1 queries one stream can make, setup included.
    pub fn max_queries_per_stream(&self) -> u32 {
        STREAM_SETUP_QUERIES + self.max_polls
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

#[cfg(test)]
mod tests {
    use super::*;

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
        }
        .sanitized();
        assert!(wild.max_queries_per_stream() < FREE_TIER_QUERY_LIMIT);
        assert_eq!(wild.active_ms, 50);
        assert_eq!(wild.idle_ms, 50);
        assert_eq!(wild.heartbeat_ms, 15_000);
    }

    #[test]
    fn polls_fast_while_active_and_back_off_to_idle() {
        let c = PollConfig::default();
        assert_eq!(c.next_interval(Some(0), 2_000), 500);
        assert_eq!(c.next_interval(Some(9_999), 2_000), 500);
        assert_eq!(c.next_interval(Some(10_000), 500), 1_000);
        assert_eq!(c.next_interval(None, 1_000), 2_000);
        assert_eq!(c.next_interval(None, 2_000), 2_000);
        assert_eq!(c.next_interval(None, 0), 1_000);
    }
}
