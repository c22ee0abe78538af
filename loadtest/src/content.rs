//! What the load generator writes in a message: which run sent it, its
//! sequence number and when it was sent, so a listener can measure delivery
//! latency and order from the message alone.
//!
//! Format: the [`Stamp`] as compact JSON, `{"lt":<run>,"seq":<n>,"us":<sent
//! unix µs>}`, then optionally a space and filler up to a requested length.
//! Runs tag their messages so a listener can tell them from anything else
//! in the room.

use serde::{Deserialize, Serialize};

/// What a load-generator message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stamp {
    /// The run's tag (random per run).
    #[serde(rename = "lt")]
    pub run: u32,
    /// Position in the sender's sequence, from 0.
    pub seq: u64,
    /// Microseconds since the Unix epoch when the send started.
    #[serde(rename = "us")]
    pub sent_us: i64,
}

/// The content for `stamp`, padded with filler to at least `min_len` bytes.
pub fn encode(stamp: Stamp, min_len: usize) -> String {
    let mut out = serde_json::to_string(&stamp).unwrap_or_default();
    let filler = " the quick brown fox jumps over the lazy dog".chars();
    out.extend(filler.cycle().take(min_len.saturating_sub(out.len())));
    out
}

/// Content length in bytes of every stamped message the scenarios send.
pub const SIZE: usize = 120;

/// The content of message `seq` of run `run`, stamped now, [`SIZE`] long.
pub fn stamped(run: u32, seq: u64) -> String {
    let sent_us = now_us();
    encode(Stamp { run, seq, sent_us }, SIZE)
}

/// Reads a stamp back; `None` for content that is not a load-generator stamp.
pub fn decode(content: &str) -> Option<Stamp> {
    serde_json::from_str(content.split(' ').next()?).ok()
}

/// Microseconds since the Unix epoch, now. Sender and listeners run in one
/// process, so they read the same clock.
pub fn now_us() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_padded_or_not() {
        let (run, seq, sent_us) = (0xdead_beef, 42, 1_732_612_345_678_901);
        let s = Stamp { run, seq, sent_us };
        let text = encode(s, 0);
        assert_eq!(text, r#"{"lt":3735928559,"seq":42,"us":1732612345678901}"#);
        assert_eq!(decode(&text), Some(s));
        let padded = encode(s, 200);
        assert_eq!((padded.len(), decode(&padded)), (200, Some(s)));
        assert!(padded.starts_with(&format!("{text} the quick")));
        // Already longer than asked: no filler.
        assert_eq!(encode(s, 3), text);
    }

    #[test]
    fn rejects_other_content() {
        let stamp = r#"{"lt":1,"seq":1,"us":2}"#;
        assert!(decode(stamp).is_some());
        for text in [
            "",
            "hello",
            "seed message 7",
            "{}",
            r#"{"lt":1,"seq":-1,"us":2}"#,
            r#"{"lt":1,"seq":1,"us":2,"x":3}"#,
            &format!(" {stamp}"),
        ] {
            assert_eq!(decode(text), None, "{text:?}");
        }
    }
}
