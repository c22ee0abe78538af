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

    fn ids(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn perfect_delivery() {
        let c = check(&ids("a b c d"), &ids("a b c d"));
        assert_eq!(
            c,
            DeliveryCheck {
                expected: 4,
                received: 4,
                unique: 4,
                ..Default::default()
            }
        );
        assert!(c.exactly_once_in_order());
    }

    #[test]
    fn counts_lost_messages() {
        let c = check(&ids("a b c d e"), &ids("a c e"));
        assert_eq!((c.lost, c.unique, c.out_of_order), (2, 3, 0));
        assert!(!c.exactly_once_in_order());
        // Nothing at all arrived.
        let c = check(&ids("a b"), &Vec::<String>::new());
        assert_eq!((c.lost, c.received), (2, 0));
    }

    #[test]
    fn counts_duplicates_once_each_extra_arrival() {
        // A reconnect that replays from too far back repeats b and c.
        let c = check(&ids("a b c d"), &ids("a b c b c d d"));
        assert_eq!(c.duplicated, 3);
        assert_eq!(c.lost, 0);
        // Repeats are not also counted as out of order.
        assert_eq!(c.out_of_order, 0);
        assert_eq!(c.received, 7);
    }

    #[test]
    fn counts_out_of_order_first_arrivals() {
        // c arrives before b: b is out of order (stored before c, which had arrived).
        let c = check(&ids("a b c d"), &ids("a c b d"));
        assert_eq!((c.out_of_order, c.lost, c.duplicated), (1, 0, 0));
        // Fully reversed: every arrival after the first is out of order.
        let c = check(&ids("a b c d"), &ids("d c b a"));
        assert_eq!(c.out_of_order, 3);
    }

    #[test]
    fn counts_unknown_ids() {
        let c = check(&ids("a b"), &ids("a x b y"));
        assert_eq!((c.unknown, c.unique, c.lost), (2, 2, 0));
        assert!(!c.exactly_once_in_order());
    }

    #[test]
    fn totals_add_up() {
        let mut t = DeliveryCheck::default();
        t.add(&check(&ids("a b"), &ids("a")));
        t.add(&check(&ids("a b"), &ids("b a a")));
        assert_eq!(
            (t.expected, t.received, t.lost, t.duplicated, t.out_of_order),
            (4, 4, 1, 1, 1)
        );
    }
}
