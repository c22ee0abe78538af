//! Sliding-window rate limits, as pure decisions.
//!
//! Two storage shapes use them:
//! - Rare events (keys per IP, rooms per key) keep a small log of timestamps in
//!   one KV value: [`decide_log`] prunes it, decides, and returns the log to store.
//! - Message sends are counted from the rows D1 already holds, inside the INSERT
//!   itself; when it refuses, [`retry_after_secs`] turns the oldest send in the
//!   window into a `Retry-After`.

/// A limit: at most `max` events in any `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window_ms: i64,
}

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;

impl Limit {
    pub const fn new(max: u32, window_ms: i64) -> Limit {
        Limit { max, window_ms }
    }

    /// Start of the window ending now: events at or before it no longer count.
    pub fn window_start(&self, now_ms: i64) -> i64 {
        now_ms - self.window_ms
    }
}

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead; store this log (the pruned old one plus now).
    Allow { log: Vec<i64> },
    /// Refused; come back after this many seconds.
    Deny { retry_after_secs: u64 },
}

/// Seconds until the oldest event in the window leaves it, rounded up and at
/// least 1 (a `Retry-After: 0` invites a hot loop).
pub fn retry_after_secs(limit: Limit, oldest_in_window_ms: i64, now_ms: i64) -> u64 {
    let wait_ms = (oldest_in_window_ms + limit.window_ms - now_ms).max(0);
    (wait_ms as u64).div_ceil(1000).max(1)
}

/// Decides one event against a timestamp log. The returned log holds only the
/// events still inside the window, so the stored value never grows past `max`.
pub fn decide_log(limit: Limit, log: &[i64], now_ms: i64) -> Decision {
    let start = limit.window_start(now_ms);
    let mut live: Vec<i64> = log.iter().copied().filter(|&t| t > start).collect();
    live.sort_unstable();
    if live.len() >= limit.max as usize {
        // The event that must expire before one more fits.
        let idx = live.len() - limit.max as usize;
        let oldest = live.get(idx).copied().unwrap_or(now_ms);
        return Decision::Deny {
            retry_after_secs: retry_after_secs(limit, oldest, now_ms),
        };
    }
    live.push(now_ms);
    Decision::Allow { log: live }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE_PER_HOUR: Limit = Limit::new(3, HOUR_MS);

    #[test]
    fn allows_up_to_the_limit_then_denies() {
        let mut log = Vec::new();
        for i in 0..3 {
            match decide_log(THREE_PER_HOUR, &log, 1_000 + i) {
                Decision::Allow { log: next } => log = next,
                other => panic!("event {i} refused: {other:?}"),
            }
        }
        assert_eq!(log, vec![1_000, 1_001, 1_002]);
        // The 4th, one minute later, waits until the first leaves the window.
        let now = 1_000 + MINUTE_MS;
        assert_eq!(
            decide_log(THREE_PER_HOUR, &log, now),
            Decision::Deny {
                retry_after_secs: 59 * 60
            }
        );
    }

    #[test]
    fn events_leave_the_window_exactly_at_its_end() {
        let log = vec![0, 10, 20];
        assert!(matches!(
            decide_log(THREE_PER_HOUR, &log, HOUR_MS - 1),
            Decision::Deny { .. }
        ));
        match decide_log(THREE_PER_HOUR, &log, HOUR_MS) {
            Decision::Allow { log } => assert_eq!(log, vec![10, 20, HOUR_MS]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        let l = Limit::new(60, MINUTE_MS);
        assert_eq!(retry_after_secs(l, 0, 59_001), 1);
        assert_eq!(retry_after_secs(l, 0, 58_999), 2);
        assert_eq!(retry_after_secs(l, 0, 60_000), 1);
        assert_eq!(retry_after_secs(l, 0, 0), 60);
    }

    #[test]
    fn a_lowered_limit_counts_the_right_event() {
        // Five stored, limit now 2: wait for the 4th-oldest to expire.
        let l = Limit::new(2, 100);
        let d = decide_log(l, &[10, 20, 30, 40, 50], 60);
        assert_eq!(
            d,
            Decision::Deny {
                retry_after_secs: 1
            }
        );
    }

    #[test]
    fn unsorted_and_stale_logs_are_handled() {
        match decide_log(
            THREE_PER_HOUR,
            &[5 * HOUR_MS, 0, 4 * HOUR_MS + 2],
            5 * HOUR_MS + 1,
        ) {
            Decision::Allow { log } => {
                assert_eq!(log, vec![4 * HOUR_MS + 2, 5 * HOUR_MS, 5 * HOUR_MS + 1])
            }
            other => panic!("{other:?}"),
        }
    }
}
