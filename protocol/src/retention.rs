//! Retention: how long messages are kept, and what a client learns when its
//! cursor points at a purged message.
//!
//! A scheduled purge (the Worker's Cron Trigger) deletes, oldest first:
//! messages older than [`Retention::max_age_ms`], messages beyond
//! [`Retention::max_per_room`] in a room, and the rooms of keys revoked more
//! than [`Retention::revoked_grace_ms`] ago. Deletes are D1 row writes too
//! (the row and each index entry), so each run deletes at most
//! [`Retention::per_run`] messages: the purge's share of the daily write
//! budget is bounded whatever the backlog.
//!
//! Because a room always loses its oldest messages first, every message it
//! still holds is newer than the last one purged. A client resuming from a
//! purged message gets everything the room still holds, in order, and is told
//! older history is gone: the `X-History-Purged` header on a history page,
//! a `purged` event at the start of a stream.

/// Response header on a history page whose cursor pointed at purged history:
/// the page starts at the oldest message still kept.
pub const HISTORY_PURGED_HEADER: &str = "X-History-Purged";

/// SSE event sent before the replay when the stream's cursor pointed at
/// purged history. Its data is `{"purged": true}`; the events that follow are
/// the oldest message still kept and everything after it.
pub const PURGED_EVENT: &str = "purged";

/// The retention settings (wrangler vars `RETENTION_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Delete messages older than this (`RETENTION_MAX_AGE`); None: keep.
    pub max_age_ms: Option<u64>,
    /// Keep at most this many messages per room (`RETENTION_MAX_PER_ROOM`); None: no cap.
    pub max_per_room: Option<u32>,
    /// Delete a revoked key's rooms this long after revocation (`RETENTION_REVOKED_GRACE`).
    pub revoked_grace_ms: u64,
    /// Most messages one run deletes (`RETENTION_PER_RUN`).
    pub per_run: u32,
}

/// One day in milliseconds.
pub const DAY_MS: u64 = 86_400_000;

impl Default for Retention {
    /// 30 days fit the free plan's 500 MB at the free plan's write ceiling
    /// (about 600 bytes a message with its index entries: 20,000 a day × 30
    /// days ≈ 360 MB); no per-room cap (enforcing one reads that many index
    /// entries per active room per run); revoked keys' rooms go after 7 days;
    /// 1,000 messages a run, hourly, is 24,000 a day at most: more than the
    /// free plan's write budget lets anyone send (see docs/free-tier.md).
    fn default() -> Retention {
        Retention {
            max_age_ms: Some(30 * DAY_MS),
            max_per_room: None,
            revoked_grace_ms: 7 * DAY_MS,
            per_run: 1_000,
        }
    }
}

impl Retention {
    /// Keeps a run inside one free-plan invocation: at most 1,000 messages
    /// (a run reads about 7 rows per message it deletes).
    pub fn sanitized(self) -> Retention {
        Retention {
            per_run: self.per_run.clamp(1, 1_000),
            max_per_room: self.max_per_room.filter(|&n| n > 0),
            max_age_ms: self.max_age_ms.filter(|&n| n > 0),
            ..self
        }
    }

    /// Messages created before this are purged (None: no age limit).
    pub fn age_cutoff_ms(&self, now_ms: i64) -> Option<i64> {
        self.max_age_ms
            .map(|age| now_ms.saturating_sub(i64::try_from(age).unwrap_or(i64::MAX)))
    }

    /// Keys revoked before this have their rooms deleted.
    pub fn revoked_cutoff_ms(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(i64::try_from(self.revoked_grace_ms).unwrap_or(i64::MAX))
    }
}

/// Parses a duration setting: a number and a unit, `s`, `m`, `h` or `d`
/// (`30d`, `12h`, `90s`); a bare number is seconds. `0` or `off` turn the
/// limit off (`Some(None)`). `None`: unparsable (the default applies).
pub fn parse_duration(raw: &str) -> Option<Option<u64>> {
    let s = raw.trim().to_ascii_lowercase();
    if s == "off" {
        return Some(None);
    }
    let (number, unit_ms) = match s.char_indices().last()? {
        (i, 's') => (&s[..i], 1_000),
        (i, 'm') => (&s[..i], 60_000),
        (i, 'h') => (&s[..i], 3_600_000),
        (i, 'd') => (&s[..i], DAY_MS),
        _ => (s.as_str(), 1_000),
    };
    let n: u64 = number.trim().parse().ok()?;
    let ms = n.checked_mul(unit_ms)?;
    Some((ms > 0).then_some(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_turn_off_at_zero() {
        assert_eq!(parse_duration("30d"), Some(Some(30 * DAY_MS)));
        assert_eq!(parse_duration(" 12H "), Some(Some(12 * 3_600_000)));
        assert_eq!(parse_duration("5m"), Some(Some(300_000)));
        assert_eq!(parse_duration("90s"), Some(Some(90_000)));
        assert_eq!(parse_duration("2"), Some(Some(2_000)));
        assert_eq!(parse_duration("0"), Some(None));
        assert_eq!(parse_duration("off"), Some(None));
        for bad in ["", "d", "-1d", "1.5h", "1w", "99999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cutoffs_follow_the_settings() {
        let r = Retention::default();
        let now = 100 * DAY_MS as i64;
        assert_eq!(r.age_cutoff_ms(now), Some(70 * DAY_MS as i64));
        assert_eq!(r.revoked_cutoff_ms(now), 93 * DAY_MS as i64);
        let keep = Retention {
            max_age_ms: None,
            ..r
        };
        assert_eq!(keep.age_cutoff_ms(now), None);
    }

    #[test]
    fn a_run_stays_bounded() {
        let wild = Retention {
            max_age_ms: Some(0),
            max_per_room: Some(0),
            revoked_grace_ms: 0,
            per_run: 1_000_000,
        }
        .sanitized();
        assert_eq!(wild.per_run, 1_000);
        assert_eq!(wild.max_per_room, None);
        assert_eq!(wild.max_age_ms, None);
        assert_eq!(Retention::default(), Retention::default().sanitized());
    }
}
