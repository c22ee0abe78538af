//! What `listen` does with an arriving message, without I/O: skip what was
//! seen, hold back what is excluded, move the resume point, count prints.

use std::collections::{HashSet, VecDeque};

use crate::client::RawMessage;
use crate::output::is_excluded;

/// Ids already seen, bounded (oldest forgotten first).
#[derive(Debug)]
struct Seen {
    set: HashSet<String>,
    order: VecDeque<String>,
    cap: usize,
}

impl Seen {
    fn new(cap: usize) -> Seen {
        Seen {
            set: HashSet::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    /// True if `id` is new.
    fn insert(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() == self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        true
    }
}

/// What to do with an arriving message: the pure part of listen.
#[derive(Debug)]
pub struct Feed {
    seen: Seen,
    cursor: Option<String>,
    exclude: Vec<String>,
    mentions: Option<String>,
    count: Option<u64>,
    pub printed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Already seen: nothing to do.
    Duplicate,
    /// New, but from an excluded sender (or not mentioning `--mentions`):
    /// only the cursor moves.
    Excluded,
    /// New: print it.
    Print,
}

impl Feed {
    #[cfg(test)]
    pub fn new(cursor: Option<String>, exclude: Vec<String>, count: Option<u64>) -> Feed {
        Feed::filtered(cursor, exclude, None, count)
    }

    /// A feed that also drops messages not mentioning `mentions` (nor `all`).
    pub fn filtered(
        cursor: Option<String>,
        exclude: Vec<String>,
        mentions: Option<String>,
        count: Option<u64>,
    ) -> Feed {
        let mut seen = Seen::new(10_000);
        if let Some(c) = &cursor {
            seen.insert(c);
        }
        Feed {
            seen,
            cursor,
            exclude,
            mentions,
            count,
            printed: 0,
        }
    }

    /// The id to resume after.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Adopts where a connection started as the cursor, if there is none
    /// yet: resuming from there loses nothing that came after.
    pub fn started_at(&mut self, start: Option<&str>) {
        if let (None, Some(start)) = (&self.cursor, start) {
            self.seen.insert(start);
            self.cursor = Some(start.to_owned());
        }
    }

    /// Classifies a message and advances the cursor past new ones (excluded
    /// or not: the cursor is where the room is, not what was shown).
    pub fn accept(&mut self, m: &RawMessage) -> Verdict {
        if !self.seen.insert(&m.message.id) {
            return Verdict::Duplicate;
        }
        self.cursor = Some(m.message.id.clone());
        let unmentioned = self
            .mentions
            .as_deref()
            .is_some_and(|handle| !m.message.mentions_handle(handle.trim()));
        if unmentioned || is_excluded(&m.message.sender, &self.exclude) {
            Verdict::Excluded
        } else {
            Verdict::Print
        }
    }

    /// Counts a printed message; true when `--count` is reached.
    pub fn printed_one(&mut self) -> bool {
        self.printed += 1;
        self.count.is_some_and(|c| self.printed >= c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::validate::START;
    use protocol::wire::SenderType;

    fn m(id: &str, sender: &str) -> RawMessage {
        mentioning(id, sender, &[])
    }

    fn mentioning(id: &str, sender: &str, mentions: &[&str]) -> RawMessage {
        let mut m = crate::output::tests::raw_message(
            sender,
            SenderType::Agent,
            &format!("from {sender}"),
            &format!("\"mentions\":{}", serde_json::json!(mentions)),
        );
        m.message.id = id.into();
        m.raw = format!("{{\"id\":\"{id}\"}}");
        m
    }

    #[test]
    fn mentions_keep_only_messages_naming_the_handle_or_all() {
        let mut feed = Feed::filtered(None, vec!["ada".into()], Some("Ada".into()), None);
        let verdicts: Vec<Verdict> = [
            mentioning("1", "bob", &["ada"]),
            mentioning("2", "bob", &["carl"]),
            mentioning("3", "bob", &["all"]),
            mentioning("4", "bob", &[]),
            mentioning("5", "ada", &["ada"]),
        ]
        .iter()
        .map(|msg| feed.accept(msg))
        .collect();
        use Verdict::*;
        assert_eq!(verdicts, vec![Print, Excluded, Print, Excluded, Excluded]);
        assert_eq!(feed.cursor(), Some("5"));
    }

    #[test]
    fn feed_excludes_dedupes_and_moves_the_cursor() {
        let mut feed = Feed::new(Some("m0".into()), vec!["me".into()], None);
        let mut printed = Vec::new();
        for msg in [
            m("m0", "ada"), // the start point itself is never printed
            m("m1", "ada"),
            m("m2", "me"),
            m("m1", "ada"), // replayed
            m("m3", "bob"),
            m("m2", "me"),
        ] {
            let verdict = feed.accept(&msg);
            if verdict == Verdict::Print {
                printed.push(msg.message.id.clone());
                feed.printed_one();
            }
        }
        assert_eq!(printed, vec!["m1", "m3"]);
        assert_eq!(feed.cursor(), Some("m3"));
        assert_eq!(feed.printed, 2);
    }

    #[test]
    fn excluded_messages_still_advance_the_cursor() {
        let mut feed = Feed::new(None, vec!["me".into()], None);
        assert_eq!(feed.accept(&m("a", "me")), Verdict::Excluded);
        assert_eq!(feed.cursor(), Some("a"));
        assert_eq!(feed.accept(&m("a", "me")), Verdict::Duplicate);
    }

    #[test]
    fn the_first_start_point_becomes_the_cursor() {
        let mut feed = Feed::new(None, vec![], None);
        feed.started_at(None);
        assert_eq!(feed.cursor(), None);
        feed.started_at(Some(START));
        assert_eq!(feed.cursor(), Some(START));
        // Later connections start where they were asked to: the cursor stays.
        feed.started_at(Some("m9"));
        assert_eq!(feed.cursor(), Some(START));
        assert_eq!(feed.accept(&m("m1", "ada")), Verdict::Print);
        feed.started_at(Some("m0"));
        assert_eq!(feed.cursor(), Some("m1"));
        let mut given = Feed::new(Some("m5".into()), vec![], None);
        given.started_at(Some("m5"));
        assert_eq!(given.cursor(), Some("m5"));
    }

    #[test]
    fn count_is_reached_on_the_nth_print() {
        let mut feed = Feed::new(None, vec![], Some(2));
        assert!(!feed.printed_one());
        assert!(feed.printed_one());
        let mut unbounded = Feed::new(None, vec![], None);
        assert!((0..100).all(|_| !unbounded.printed_one()));
    }

    #[test]
    fn seen_forgets_the_oldest_beyond_its_cap() {
        let mut seen = Seen::new(2);
        assert!(seen.insert("a"));
        assert!(seen.insert("b"));
        assert!(!seen.insert("a"));
        assert!(seen.insert("c"));
        assert!(seen.insert("a"), "a was forgotten");
        assert!(!seen.insert("c"));
    }
}
