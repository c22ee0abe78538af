//! Did a listener see every stored message exactly once, in order?
//!
//! The room's stored history (read back with `after` paging once sending has
//! stopped) is the truth; a listener's arrivals are compared against it.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// One listener's arrivals judged against the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DeliveryCheck {
    /// Messages in the history the listener should have seen.
    pub expected: usize,
    /// Message events that arrived, repeats included.
    pub received: usize,
    /// Distinct expected messages that arrived.
    pub unique: usize,
    /// Expected messages that never arrived.
    pub lost: usize,
    /// Arrivals of a message already seen.
    pub duplicated: usize,
    /// First arrivals of a message stored before one that had already arrived.
    pub out_of_order: usize,
    /// Arrivals of ids the history does not hold.
    pub unknown: usize,
}

impl DeliveryCheck {
    /// Every expected message exactly once, in history order, nothing else.
    pub fn exactly_once_in_order(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.out_of_order == 0 && self.unknown == 0
    }

    /// Adds another listener's counts (for totals across listeners).
    pub fn add(&mut self, other: &DeliveryCheck) {
        self.expected += other.expected;
        self.received += other.received;
        self.unique += other.unique;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.out_of_order += other.out_of_order;
        self.unknown += other.unknown;
    }
}

/// Judges `received` (ids in arrival order) against `history` (ids in
/// stored order, no repeats).
pub fn check<S: AsRef<str>, R: AsRef<str>>(history: &[S], received: &[R]) -> DeliveryCheck {
    let position: HashMap<&str, usize> = history
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_ref(), i))
        .collect();
    let mut seen: HashSet<usize> = HashSet::with_capacity(received.len());
    let mut out = DeliveryCheck {
        expected: history.len(),
        received: received.len(),
        ..DeliveryCheck::default()
    };
    let mut highest: Option<usize> = None;
    for id in received {
        let Some(&pos) = position.get(id.as_ref()) else {
            out.unknown += 1;
            continue;
        };
        if !seen.insert(pos) {
            out.duplicated += 1;
            continue;
        }
        if highest.is_some_and(|h| pos < h) {
            out.out_of_order += 1;
        }
        highest = Some(highest.map_or(pos, |h| h.max(pos)));
    }
    out.unique = seen.len();
    out.lost = out.expected - out.unique;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_arrivals_against_the_history() {
        let ids = |s: &'static str| s.split_whitespace().collect::<Vec<_>>();
        // history, arrivals: received, unique, lost, duplicated, out of order, unknown.
        let cases = [
            ("a b c d", "a b c d", [4, 4, 0, 0, 0, 0]),
            ("a b c d e", "a c e", [3, 3, 2, 0, 0, 0]),
            ("a b", "", [0, 0, 2, 0, 0, 0]),
            // A reconnect that replays from too far back repeats b and c (and
            // d arrives twice); repeats are not also counted as out of order.
            ("a b c d", "a b c b c d d", [7, 4, 0, 3, 0, 0]),
            // c before b: b is out of order (stored before c, which had
            // arrived); fully reversed, every arrival after the first.
            ("a b c d", "a c b d", [4, 4, 0, 0, 1, 0]),
            ("a b c d", "d c b a", [4, 4, 0, 0, 3, 0]),
            ("a b", "a x b y", [4, 2, 0, 0, 0, 2]),
        ];
        for (history, arrivals, want) in cases {
            let c = check(&ids(history), &ids(arrivals));
            let got = [c.received, c.unique, c.lost, c.duplicated];
            let got = [got[0], got[1], got[2], got[3], c.out_of_order, c.unknown];
            assert_eq!(
                (c.expected, got),
                (ids(history).len(), want),
                "{arrivals:?}"
            );
            assert_eq!(
                c.exactly_once_in_order(),
                want[2..] == [0; 4],
                "{arrivals:?}"
            );
        }
        let mut t = DeliveryCheck::default();
        t.add(&check(&ids("a b"), &ids("a")));
        t.add(&check(&ids("a b"), &ids("b a a")));
        let sums = (t.expected, t.received, t.lost, t.duplicated, t.out_of_order);
        assert_eq!(sums, (4, 4, 1, 1, 1));
    }
}
