//! How the paid variant's room object places a freshly stored message: the
//! Worker's notification carries the message, its `seq` and the `seq` of the
//! message before it in the same room (read in the send's own batch), so the
//! object can push it at once to every socket that has everything up to that
//! predecessor, and reads D1 only for sockets that lag.
//!
//! `seq` is global (one autoincrement across rooms), so "the next message of
//! this room" cannot be told from the numbers alone; the predecessor can.

/// What one socket does with a notified message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The socket's cursor is the message's predecessor: push it now.
    Next,
    /// The socket already has it (a repeated or late notification).
    Has,
    /// The socket is behind the predecessor: it must catch up from D1 first,
    /// in order, so the message is not pushed here.
    Behind,
}

/// Where a socket whose last delivered message is `cursor` stands relative to
/// a message `seq` whose predecessor in the room is `prev` (0 for none).
pub fn place(cursor: i64, seq: i64, prev: i64) -> Place {
    if cursor >= seq {
        Place::Has
    } else if cursor >= prev {
        // No message of this room lies in (prev, seq): a cursor there has
        // everything before `seq`.
        Place::Next
    } else {
        Place::Behind
    }
}

/// The predecessor from the send batch's `SELECT seq ... ORDER BY seq DESC
/// LIMIT 2`, run after the INSERT in the same transaction: the newest row must
/// be the one just stored, and the one below it (if any) is its predecessor.
/// None if the rows do not start with `seq` (then the object reads D1).
pub fn predecessor(seq: i64, newest_first: &[i64]) -> Option<i64> {
    match newest_first {
        [head, rest @ ..] if *head == seq => Some(rest.first().copied().unwrap_or(0)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_at_the_predecessor_gets_it_others_wait_or_skip() {
        // Room messages 3, 7, 12 (seq is global: 4..6 and 8..11 are other rooms').
        assert_eq!(place(7, 12, 7), Place::Next);
        assert_eq!(place(9, 12, 7), Place::Next, "a cursor between rooms' seqs");
        assert_eq!(place(3, 12, 7), Place::Behind);
        assert_eq!(place(0, 12, 7), Place::Behind);
        assert_eq!(place(12, 12, 7), Place::Has);
        assert_eq!(place(20, 12, 7), Place::Has);
        // The room's first message: every cursor is at or past its predecessor.
        assert_eq!(place(0, 3, 0), Place::Next);
    }

    #[test]
    fn the_predecessor_comes_from_the_batch_only_if_the_head_is_ours() {
        assert_eq!(predecessor(12, &[12, 7]), Some(7));
        assert_eq!(predecessor(3, &[3]), Some(0));
        assert_eq!(predecessor(12, &[13, 12]), None);
        assert_eq!(predecessor(12, &[]), None);
    }
}
