//! Retry and reconnect timing, as pure functions of the attempt number and a
//! jitter sample (so they are tested without clocks or randomness).

use std::time::Duration;

/// Exponential backoff with jitter: attempt 1 waits about `base`, each next
/// attempt about twice as long, never more than `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// `listen` reconnecting after an error: ~1 s, 2, 4, 8, then 15 s.
    pub const LISTEN: Backoff = Backoff {
        base: Duration::from_secs(1),
        cap: Duration::from_secs(15),
    };

    /// `send-message` retrying: ~0.5 s, 1, 2, 4, then 8 s.
    pub const SEND: Backoff = Backoff {
        base: Duration::from_millis(500),
        cap: Duration::from_secs(8),
    };

    /// The load generator's listeners and sender reconnecting after an
    /// error: ~250 ms, 500, 1 s, 2, 4, then 8 s.
    pub const LOAD: Backoff = Backoff {
        base: Duration::from_millis(250),
        cap: Duration::from_secs(8),
    };

    /// The wait before attempt number `attempt` (1 for the first retry).
    /// `jitter` is a sample from [0, 1); it spreads the wait over 75-125 % of
    /// the nominal value (never above `cap`), so clients that lost the same
    /// server do not come back in lockstep.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let nominal = self.base.saturating_mul(1u32 << exp).min(self.cap);
        let factor = 0.75 + 0.5 * jitter.clamp(0.0, 1.0);
        nominal.mul_f64(factor).min(self.cap)
    }
}

/// A [`Backoff`] that counts its own attempts: for a loop that retries until
/// it succeeds, then [`Attempts::reset`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    backoff: Backoff,
    attempt: u32,
}

impl Attempts {
    pub fn new(backoff: Backoff) -> Attempts {
        Attempts {
            backoff,
            attempt: 0,
        }
    }

    /// The wait before the next attempt, jittered.
    pub fn next_delay(&mut self) -> Duration {
        self.attempt = self.attempt.saturating_add(1);
        self.backoff.delay(self.attempt, jitter())
    }

    /// Back to the first, shortest wait.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Longest `Retry-After` a send waits out by itself; beyond it, it gives up
/// and says when to come back.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The wait before retry number `retry` of a send that failed transiently, or
/// `None` to give up. A server's `Retry-After` is obeyed exactly (it says when
/// the rate-limit window frees up); otherwise the backoff applies.
pub fn retry_delay(
    backoff: Backoff,
    retry: u32,
    max_retries: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Option<Duration> {
    if retry > max_retries {
        return None;
    }
    match retry_after {
        Some(after) if after > MAX_RETRY_AFTER => None,
        Some(after) => Some(after),
        None => Some(backoff.delay(retry, jitter)),
    }
}

/// A jitter sample in [0, 1).
pub fn jitter() -> f64 {
    fastrand::f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> u128 {
        d.as_millis()
    }

    #[test]
    fn listen_backoff_doubles_from_one_second_to_fifteen() {
        let b = Backoff::LISTEN;
        let mid: Vec<u128> = (1..=7).map(|a| ms(b.delay(a, 0.5))).collect();
        assert_eq!(mid, vec![1000, 2000, 4000, 8000, 15000, 15000, 15000]);
        assert_eq!(ms(b.delay(1, 0.0)), 750);
        assert_eq!(ms(b.delay(1, 0.999_999)), 1249);
        // Jitter never pushes past the cap.
        assert_eq!(ms(b.delay(5, 0.999)), 15000);
        assert_eq!(ms(b.delay(5, 0.0)), 11250);
        // Huge attempt numbers do not overflow.
        assert_eq!(ms(b.delay(u32::MAX, 0.5)), 15000);
        // Attempt 0 is treated like the first.
        assert_eq!(ms(b.delay(0, 0.5)), 1000);
    }

    #[test]
    fn send_backoff_is_shorter() {
        let b = Backoff::SEND;
        let mid: Vec<u128> = (1..=6).map(|a| ms(b.delay(a, 0.5))).collect();
        assert_eq!(mid, vec![500, 1000, 2000, 4000, 8000, 8000]);
    }

    #[test]
    fn retry_delay_obeys_retry_after_and_the_retry_budget() {
        let b = Backoff::SEND;
        assert_eq!(retry_delay(b, 1, 3, None, 0.5), Some(b.delay(1, 0.5)));
        assert_eq!(retry_delay(b, 3, 3, None, 0.5), Some(b.delay(3, 0.5)));
        assert_eq!(retry_delay(b, 4, 3, None, 0.5), None);
        assert_eq!(retry_delay(b, 1, 0, None, 0.5), None);
        let after = Duration::from_secs(7);
        assert_eq!(retry_delay(b, 1, 3, Some(after), 0.9), Some(after));
        assert_eq!(
            retry_delay(b, 1, 3, Some(MAX_RETRY_AFTER), 0.9),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            retry_delay(b, 1, 3, Some(MAX_RETRY_AFTER + Duration::from_secs(1)), 0.9),
            None
        );
    }

    #[test]
    fn attempts_count_up_and_reset() {
        let mut a = Attempts::new(Backoff::LOAD);
        let waits: Vec<u128> = (0..7).map(|_| ms(a.next_delay())).collect();
        for (i, w) in waits.iter().enumerate() {
            let nominal = (250u128 << i).min(8_000);
            assert!(*w >= nominal * 3 / 4 && *w <= nominal * 5 / 4, "{i}: {w}");
        }
        a.reset();
        assert!(ms(a.next_delay()) <= 313);
    }

    #[test]
    fn jitter_is_in_range() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
