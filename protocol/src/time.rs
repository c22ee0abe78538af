//! Timestamps. The database keeps milliseconds since the Unix epoch (an integer,
//! exact in JavaScript below 2^53); the API shows RFC 3339 UTC with milliseconds.
//! `created_at` is for display only: ordering uses the message sequence.

use chrono::{DateTime, SecondsFormat};

/// Formats epoch milliseconds as `2026-01-02T03:04:05.678Z`.
///
/// Out-of-range values (beyond year 262143) fall back to the epoch rather than
/// panic: a timestamp is never worth killing a request over.
pub fn rfc3339_millis(epoch_ms: i64) -> String {
    DateTime::from_timestamp_millis(epoch_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_milliseconds_and_z() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(1_767_323_045_678),
            "2026-01-02T03:04:05.678Z"
        );
    }

    #[test]
    fn absurd_values_do_not_panic() {
        assert_eq!(rfc3339_millis(i64::MAX), "1970-01-01T00:00:00.000Z");
    }
}
