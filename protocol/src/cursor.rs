//! Room ids, message ids and cursors as types, and where a live reader
//! starts. The Worker takes them at its boundaries (route parsing, cursor
//! resolution, the room object's requests), where a room id, a key id and a
//! message id, all strings, could be passed one for another.
//!
//! A cursor is [`START`] (before every message) or a message id. The SSE
//! stream and the WebSocket resolve one the same way: the client's
//! `Last-Event-ID` (what EventSource sends on reconnect) wins over the
//! `?after=` of the URL it was first opened with; a cursor found in the room
//! starts after its message, START after nothing, no cursor "from now"; a
//! cursor not found resumes after the purge if the room lost history, and is
//! refused otherwise (never read as "from now" when the client named one).

use std::fmt;

use crate::validate::{parse_id, ValidationError, START};

/// A room id: a UUID in canonical lowercase form. Reads as a `&str`
/// (`Deref`), so code below the boundary keeps its `&str` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoomId(String);

impl RoomId {
    /// A room id from a path or a tool argument; `None` when malformed.
    pub fn parse(raw: &str) -> Option<RoomId> {
        parse_id(raw).map(RoomId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for RoomId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<RoomId> for String {
    fn from(id: RoomId) -> String {
        id.0
    }
}

/// A message id: a UUID in canonical lowercase form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageId(String);

impl MessageId {
    pub fn parse(raw: &str) -> Option<MessageId> {
        parse_id(raw).filter(|id| id != START).map(MessageId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a reader stands: before every message, or after one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cursor {
    Start,
    After(MessageId),
}

impl Cursor {
    /// A message id or START (the nil UUID); anything else is `None`.
    pub fn parse(raw: &str) -> Option<Cursor> {
        match parse_id(raw)? {
            id if id == START => Some(Cursor::Start),
            id => Some(Cursor::After(MessageId(id))),
        }
    }

    /// The message to look up: none for START, which needs no lookup.
    pub fn message(&self) -> Option<&MessageId> {
        match self {
            Cursor::Start => None,
            Cursor::After(id) => Some(id),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Cursor::Start => START,
            Cursor::After(id) => id.as_str(),
        }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The cursor a live client asks to resume after: a non-blank
/// `Last-Event-ID` wins over `?after=`, which is older. Malformed: 400.
pub fn requested(
    last_event_id: Option<&str>,
    after: Option<&str>,
) -> Result<Option<Cursor>, ValidationError> {
    let raw = last_event_id
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .or(after.map(str::trim));
    raw.map(|r| Cursor::parse(r).ok_or(ValidationError::Cursor("the cursor")))
        .transpose()
}

/// What the room said about a live reader's start: its newest message, and
/// the cursor's message if it was looked up and found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Head<'a> {
    /// The newest message's `seq` and id; None in an empty room.
    pub newest: Option<(i64, &'a str)>,
    /// The cursor's message `seq`, when found in this room.
    pub cursor_seq: Option<i64>,
}

/// Where delivery starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Deliver the messages after this `seq`; a reconnect resumes after
    /// `resume_id` (the client's cursor, else the newest message, else START).
    After { seq: i64, resume_id: String },
    /// The cursor names no message of the room: if the room lost history,
    /// start after the purge point and tell the client; else refuse (404).
    Missing,
}

/// Resolves a live reader's cursor against the room's head.
pub fn resolve(cursor: Option<&Cursor>, head: Head<'_>) -> Start {
    let seq = match cursor {
        Some(Cursor::Start) => 0,
        Some(Cursor::After(_)) => match head.cursor_seq {
            Some(seq) => seq,
            None => return Start::Missing,
        },
        None => head.newest.map_or(0, |(seq, _)| seq),
    };
    let resume_id = match (cursor, head.newest) {
        (Some(c), _) => c.as_str().to_owned(),
        (None, Some((_, id))) => id.to_owned(),
        (None, None) => START.to_owned(),
    };
    Start::After { seq, resume_id }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0190b6f4-58a0-7c3e-9a1b-2c3d4e5f6a7b";

    #[test]
    fn a_room_id_is_a_canonical_uuid() {
        let id = RoomId::parse(&ID.to_uppercase()).unwrap();
        assert_eq!(id.as_str(), ID);
        assert_eq!(&*id, ID);
        assert_eq!(RoomId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(String::from(id), ID);
        assert_eq!(RoomId::parse("general"), None);
    }

    #[test]
    fn a_cursor_is_start_or_a_message_and_round_trips() {
        assert_eq!(Cursor::parse(START), Some(Cursor::Start));
        let upper = ID.to_uppercase();
        let c = Cursor::parse(&upper).unwrap();
        assert_eq!(c.as_str(), ID);
        assert_eq!(Cursor::parse(c.as_str()), Some(c.clone()));
        assert_eq!(c.message().map(MessageId::as_str), Some(ID));
        assert_eq!(Cursor::Start.message(), None);
        assert_eq!(Cursor::Start.to_string(), START);
        for bad in ["", "42", "not-a-uuid", &ID[..35], &format!("{{{ID}}}")] {
            assert_eq!(Cursor::parse(bad), None, "{bad:?}");
        }
        assert_eq!(MessageId::parse(START), None, "START is no message");
    }

    #[test]
    fn last_event_id_wins_over_after_unless_blank() {
        let other = "0190b6f4-58a0-7c3e-9a1b-000000000001";
        let got = requested(Some(ID), Some(other)).unwrap();
        assert_eq!(got.unwrap().as_str(), ID);
        let got = requested(Some("  "), Some(other)).unwrap();
        assert_eq!(got.unwrap().as_str(), other);
        assert_eq!(requested(None, None), Ok(None));
        assert_eq!(
            requested(Some("nope"), Some(other)),
            Err(ValidationError::Cursor("the cursor"))
        );
        assert!(requested(None, Some("nope")).is_err());
    }

    #[test]
    fn resolution_starts_after_the_cursor_start_or_the_head() {
        let head = Head {
            newest: Some((9, ID)),
            cursor_seq: Some(4),
        };
        let msg = Cursor::parse("0190b6f4-58a0-7c3e-9a1b-000000000001").unwrap();
        assert_eq!(
            resolve(Some(&msg), head),
            Start::After {
                seq: 4,
                resume_id: msg.as_str().into()
            }
        );
        assert_eq!(
            resolve(Some(&Cursor::Start), head),
            Start::After {
                seq: 0,
                resume_id: START.into()
            }
        );
        // No cursor: from now, resuming after the newest message.
        assert_eq!(
            resolve(None, head),
            Start::After {
                seq: 9,
                resume_id: ID.into()
            }
        );
        // An empty room resumes from START.
        assert_eq!(
            resolve(None, Head::default()),
            Start::After {
                seq: 0,
                resume_id: START.into()
            }
        );
        // A cursor the room does not hold is never read as "from now".
        let missing = Head {
            cursor_seq: None,
            ..head
        };
        assert_eq!(resolve(Some(&msg), missing), Start::Missing);
    }
}
