//! A key's send limits, decided from the counters its own `api_keys` row
//! keeps (migration 0005): a log of its send times within the last minute
//! (the exact per-minute limit, as a sliding window) and a count for the
//! current UTC day (the daily quota). A send checks both inside its INSERT
//! and bumps them in the same transaction, so they hold under bursts at the
//! cost of one row write and no index entry; these functions decide the
//! `Retry-After` when the database has refused.

use crate::ratelimit::{decide_log, Decision, Limit, DAY_MS};

/// The UTC day `now_ms` falls in: days since the Unix epoch.
pub fn utc_day(now_ms: i64) -> i64 {
    now_ms.div_euclid(DAY_MS)
}

/// Seconds from `now_ms` to the next 00:00 UTC, when the daily quota resets;
/// rounded up and at least 1 (a `Retry-After: 0` invites a hot loop).
pub fn secs_until_next_utc_day(now_ms: i64) -> u64 {
    let next = (utc_day(now_ms) + 1) * DAY_MS;
    ((next - now_ms).max(0) as u64).div_ceil(1000).max(1)
}

/// What a key's row holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendCounters {
    /// The most recent send times (ms), as `send_log` stores them; those
    /// still inside the window are what counts.
    pub log: Vec<i64>,
    /// The UTC day `today` counts (None: never sent).
    pub day: Option<i64>,
    pub today: u32,
}

impl SendCounters {
    /// Reads the stored columns; a malformed or missing log is empty.
    pub fn from_columns(log: Option<&str>, day: Option<i64>, today: i64) -> SendCounters {
        SendCounters {
            log: log
                .and_then(|l| serde_json::from_str(l).ok())
                .unwrap_or_default(),
            day,
            today: u32::try_from(today.max(0)).unwrap_or(u32::MAX),
        }
    }

    /// Sends counted for the day `now_ms` falls in.
    pub fn sent_today(&self, now_ms: i64) -> u32 {
        if self.day == Some(utc_day(now_ms)) {
            self.today
        } else {
            0
        }
    }
}

/// Why a send is refused, and when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendVerdict {
    Allow,
    /// `daily_cap` sends today already; retry at the next 00:00 UTC.
    DailyQuota {
        retry_after_secs: u64,
    },
    /// The per-minute limit; retry when the blocking send leaves the window.
    PerMinute {
        retry_after_secs: u64,
    },
}

/// Decides one send. The daily quota is asked first: its wait is the longer
/// one, and the true one. A limit or cap of 0 is off.
pub fn decide(
    counters: &SendCounters,
    per_minute: Limit,
    daily_cap: u32,
    now_ms: i64,
) -> SendVerdict {
    if daily_cap > 0 && counters.sent_today(now_ms) >= daily_cap {
        return SendVerdict::DailyQuota {
            retry_after_secs: secs_until_next_utc_day(now_ms),
        };
    }
    if per_minute.max > 0 {
        if let Decision::Deny { retry_after_secs } = decide_log(per_minute, &counters.log, now_ms) {
            return SendVerdict::PerMinute { retry_after_secs };
        }
    }
    SendVerdict::Allow
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::MINUTE_MS;

    /// 2026-11-29T12:00:00Z.
    const NOON: i64 = 1_796_040_000_000;

    #[test]
    fn days_split_at_utc_midnight() {
        let midnight = utc_day(NOON) * DAY_MS;
        assert_eq!(midnight, NOON - 12 * 3_600_000);
        assert_eq!(utc_day(midnight), utc_day(midnight - 1) + 1);
        assert_eq!(utc_day(0), 0);
        assert_eq!(utc_day(-1), -1);
    }

    #[test]
    fn retry_after_points_at_the_next_midnight() {
        assert_eq!(secs_until_next_utc_day(NOON), 12 * 3600);
        let midnight = (utc_day(NOON) + 1) * DAY_MS;
        assert_eq!(secs_until_next_utc_day(midnight - 1), 1);
        assert_eq!(secs_until_next_utc_day(midnight - 1500), 2);
        // Exactly at midnight the new day has just begun: a whole day to wait.
        assert_eq!(secs_until_next_utc_day(midnight), 86_400);
    }

    #[test]
    fn counters_read_from_columns() {
        let c = SendCounters::from_columns(Some("[1,2,3]"), Some(5), 7);
        assert_eq!(c.log, vec![1, 2, 3]);
        assert_eq!(c.today, 7);
        let empty = SendCounters::from_columns(None, None, 0);
        assert_eq!(empty, SendCounters::default());
        assert_eq!(
            SendCounters::from_columns(Some("not json"), None, -3),
            SendCounters::default()
        );
    }

    #[test]
    fn the_day_count_only_counts_today() {
        let c = SendCounters {
            log: vec![],
            day: Some(utc_day(NOON) - 1),
            today: 500,
        };
        assert_eq!(c.sent_today(NOON), 0);
        assert_eq!(
            decide(&c, Limit::new(60, MINUTE_MS), 500, NOON),
            SendVerdict::Allow
        );
    }

    #[test]
    fn the_daily_quota_outranks_the_minute() {
        let c = SendCounters {
            log: vec![NOON - 10; 3],
            day: Some(utc_day(NOON)),
            today: 3,
        };
        assert_eq!(
            decide(&c, Limit::new(3, MINUTE_MS), 3, NOON),
            SendVerdict::DailyQuota {
                retry_after_secs: 12 * 3600
            }
        );
        assert_eq!(
            decide(&c, Limit::new(3, MINUTE_MS), 4, NOON),
            SendVerdict::PerMinute {
                retry_after_secs: 60
            }
        );
        assert_eq!(
            decide(&c, Limit::new(4, MINUTE_MS), 4, NOON),
            SendVerdict::Allow
        );
        // Zero turns either off.
        assert_eq!(
            decide(&c, Limit::new(0, MINUTE_MS), 0, NOON),
            SendVerdict::Allow
        );
    }
}
