//! What the load generator writes in a message: which run sent it, its
//! sequence number and when it was sent, so a listener can measure delivery
//! latency and order from the message alone.
//!
//! Format: `lt/<run>/<seq>/<sent unix µs>`, then optionally a space and
//! filler up to a requested length. Runs tag their messages so a listener can
//! tell them from anything else in the room.

/// What a load-generator message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The run's tag (random per run).
    pub run: u32,
    /// Position in the sender's sequence, from 0.
    pub seq: u64,
    /// Microseconds since the Unix epoch when the send started.
    pub sent_us: i64,
}

const PREFIX: &str = "lt/";

/// The content for `stamp`, padded with filler to at least `min_len` bytes.
pub fn encode(stamp: Stamp, min_len: usize) -> String {
    let mut out = format!("{PREFIX}{:08x}/{}/{}", stamp.run, stamp.seq, stamp.sent_us);
    let filler = " the quick brown fox jumps over the lazy dog"
        .chars()
        .cycle();
    out.extend(filler.take(min_len.saturating_sub(out.len())));
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
    let head = content.split(' ').next()?;
    let parts: Vec<&str> = head.strip_prefix(PREFIX)?.split('/').collect();
    let [run, seq, sent_us] = parts[..] else {
        return None;
    };
    Some(Stamp {
        run: u32::from_str_radix(run, 16)
            .ok()
            .filter(|_| run.len() == 8)?,
        seq: seq.parse().ok()?,
        sent_us: sent_us.parse().ok()?,
    })
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
        let s = Stamp {
            run: 0xdead_beef,
            seq: 42,
            sent_us: 1_732_612_345_678_901,
        };
        let text = encode(s, 0);
        assert_eq!(text, "lt/deadbeef/42/1732612345678901");
        assert_eq!(decode(&text), Some(s));
        let short = Stamp {
            run: 1,
            seq: 0,
            sent_us: 5,
        };
        let padded = encode(short, 200);
        assert_eq!(padded.len(), 200);
        assert!(padded.starts_with("lt/00000001/0/5 the quick"));
        assert_eq!(decode(&padded), Some(short));
        // Already longer than asked: no filler.
        assert_eq!(encode(short, 3), "lt/00000001/0/5");
    }

    #[test]
    fn rejects_other_content() {
        for text in [
            "",
            "hello",
            "lt/",
            "lt/xyz/1/2",
            "lt/0000000g/1/2",
            "lt/00000001/one/2",
            "lt/00000001/1",
            "lt/00000001/1/2/3",
            "lt/00000001/-1/2",
            " lt/00000001/1/2",
            "seed message 7",
        ] {
            assert_eq!(decode(text), None, "{text:?}");
        }
    }
}
