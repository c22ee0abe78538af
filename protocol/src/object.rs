//! The requests the Worker sends a room's Durable Object (paid variant), and
//! their encoding as headers: one definition, read strictly. A malformed
//! request is refused (the object answers 400), never read leniently: an
//! unreadable cursor read as 0 would replay the whole room to the socket.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::role::Role;

/// The room the socket reads.
pub const H_ROOM: &str = "X-Meet-Room";
/// The key that owns the room.
pub const H_OWNER: &str = "X-Meet-Owner";
/// The reader's key id; empty for an anonymous reader.
pub const H_READER: &str = "X-Meet-Reader";
/// The `seq` the socket has every message up to (0: none).
pub const H_AFTER: &str = "X-Meet-After";
/// A member reader: `id hash role handle`, percent-encoded (the handle last:
/// it may hold spaces, and non-ASCII).
pub const H_MEMBER: &str = "X-Meet-Member";
/// The socket's send limits, `per_minute per_day` (0: none): the Worker's
/// configuration, which the room objects' own script does not share.
pub const H_LIMITS: &str = "X-Meet-Limits";
/// A notification that carries its message: the message's `seq` and its
/// predecessor's in the room (`crate::push`); the body is the frame.
pub const H_SEQ: &str = "X-Meet-Seq";
pub const H_PREV: &str = "X-Meet-Prev";

/// A request the object cannot read: the header at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("malformed room object request: {0}")]
pub struct Malformed(pub &'static str);

/// A member reading over a socket: enough to re-check it and to send as it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketMember {
    pub id: String,
    pub token_hash: String,
    pub role: Role,
    pub handle: String,
}

/// What a socket may send: the Worker's `RATE_MESSAGES_PER_MINUTE` and
/// `RATE_MESSAGES_PER_DAY`, handed over with the socket because the room
/// objects run in a Worker script of their own, with no view of these vars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketLimits {
    pub per_minute: u32,
    pub per_day: u32,
}

/// `GET /ws`: hand an authorised upgrade to the room's object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSocket {
    pub room: String,
    pub owner: String,
    /// The reader's key id (a member's is the owner's); None: anonymous.
    pub reader: Option<String>,
    pub member: Option<SocketMember>,
    /// Deliver the messages after this `seq`.
    pub after_seq: i64,
    pub limits: SocketLimits,
}

/// Controls and non-ASCII are escaped, and `%` so that decoding is exact.
const HEADER_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%');

impl OpenSocket {
    /// The headers that carry it (header values are Latin-1 at most, so the
    /// member's handle is percent-encoded UTF-8).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            (H_ROOM, self.room.clone()),
            (H_OWNER, self.owner.clone()),
            (H_READER, self.reader.clone().unwrap_or_default()),
            (H_AFTER, self.after_seq.to_string()),
            (
                H_LIMITS,
                format!("{} {}", self.limits.per_minute, self.limits.per_day),
            ),
        ];
        if let Some(m) = &self.member {
            let value = format!("{} {} {} {}", m.id, m.token_hash, m.role.as_str(), m.handle);
            out.push((
                H_MEMBER,
                percent_encoding::utf8_percent_encode(&value, HEADER_ESCAPES).to_string(),
            ));
        }
        out
    }

    /// Reads it back from `header` (a header's value by name).
    pub fn from_headers(header: impl Fn(&str) -> Option<String>) -> Result<OpenSocket, Malformed> {
        let required = |name: &'static str| {
            header(name)
                .filter(|v| !v.is_empty())
                .ok_or(Malformed(name))
        };
        let after_seq = required(H_AFTER)?
            .parse::<i64>()
            .ok()
            .filter(|seq| *seq >= 0)
            .ok_or(Malformed(H_AFTER))?;
        let member = match header(H_MEMBER).filter(|v| !v.is_empty()) {
            None => None,
            Some(raw) => Some(member_from(&raw).ok_or(Malformed(H_MEMBER))?),
        };
        let limits = required(H_LIMITS)?;
        let limits = match limits.split_once(' ') {
            Some((minute, day)) => minute.parse().ok().zip(day.parse().ok()),
            None => None,
        }
        .map(|(per_minute, per_day)| SocketLimits {
            per_minute,
            per_day,
        })
        .ok_or(Malformed(H_LIMITS))?;
        Ok(OpenSocket {
            room: required(H_ROOM)?,
            owner: required(H_OWNER)?,
            reader: header(H_READER).filter(|r| !r.is_empty()),
            member,
            after_seq,
            limits,
        })
    }
}

fn member_from(raw: &str) -> Option<SocketMember> {
    let value = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    let mut parts = value.splitn(4, ' ');
    let mut next = || parts.next().filter(|p| !p.is_empty());
    Some(SocketMember {
        id: next()?.to_owned(),
        token_hash: next()?.to_owned(),
        role: Role::parse(next()?)?,
        handle: next()?.to_owned(),
    })
}

/// `POST /notify`: something changed in the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Access may have changed (revoked, made private, member removed), or
    /// a message was sent that the notification does not carry: re-check and
    /// read.
    Plain,
    /// A message, carried in the body as its frame: its `seq` and its
    /// predecessor's.
    Carried { seq: i64, prev: i64 },
}

impl Notice {
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Notice::Plain => Vec::new(),
            Notice::Carried { seq, prev } => {
                vec![(H_SEQ, seq.to_string()), (H_PREV, prev.to_string())]
            }
        }
    }

    /// Neither header: plain. Both, as numbers: carried. Anything else is
    /// malformed.
    pub fn from_headers(header: impl Fn(&str) -> Option<String>) -> Result<Notice, Malformed> {
        let number = |name: &'static str| {
            header(name)
                .map(|v| v.parse::<i64>().map_err(|_| Malformed(name)))
                .transpose()
        };
        match (number(H_SEQ)?, number(H_PREV)?) {
            (None, None) => Ok(Notice::Plain),
            (Some(seq), Some(prev)) => Ok(Notice::Carried { seq, prev }),
            (None, Some(_)) => Err(Malformed(H_SEQ)),
            (Some(_), None) => Err(Malformed(H_PREV)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(headers: &[(&'static str, String)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn open() -> OpenSocket {
        OpenSocket {
            room: "room-1".into(),
            owner: "key-1".into(),
            reader: Some("key-1".into()),
            member: Some(SocketMember {
                id: "mem-1".into(),
                token_hash: "abc123".into(),
                role: Role::Agent,
                handle: "Zoë the 100% bot".into(),
            }),
            after_seq: 42,
            limits: SocketLimits {
                per_minute: 60,
                per_day: 0,
            },
        }
    }

    #[test]
    fn an_open_socket_round_trips_through_its_headers() {
        let req = open();
        let headers = req.headers();
        assert!(headers.iter().all(|(_, v)| v.is_ascii()), "{headers:?}");
        assert_eq!(OpenSocket::from_headers(read(&headers)), Ok(req));
        let anonymous = OpenSocket {
            reader: None,
            member: None,
            after_seq: 0,
            ..open()
        };
        assert_eq!(
            OpenSocket::from_headers(read(&anonymous.headers())),
            Ok(anonymous)
        );
    }

    /// `open()`'s request with one header replaced (or left out: None),
    /// read back.
    fn with(name: &'static str, value: Option<&str>) -> Result<OpenSocket, Malformed> {
        let mut headers = open().headers();
        headers.retain(|(k, _)| *k != name);
        headers.extend(value.map(|v| (name, v.to_owned())));
        OpenSocket::from_headers(read(&headers))
    }

    #[test]
    fn a_malformed_cursor_is_refused_never_read_as_zero() {
        for bad in ["", "abc", "-1", "4.5", "9999999999999999999999"] {
            assert_eq!(with(H_AFTER, Some(bad)), Err(Malformed(H_AFTER)), "{bad:?}");
        }
        assert_eq!(with(H_AFTER, None), Err(Malformed(H_AFTER)));
    }

    #[test]
    fn missing_room_owner_or_a_bad_member_is_refused() {
        for (name, value) in [
            (H_ROOM, ""),
            (H_OWNER, ""),
            (H_MEMBER, "mem-1 abc"),
            (H_MEMBER, "mem-1 abc boss ada"),
            (H_MEMBER, "%FF%FE"),
            (H_LIMITS, ""),
            (H_LIMITS, "60"),
            (H_LIMITS, "60 -1"),
            (H_LIMITS, "60  2000"),
            (H_LIMITS, "sixty 2000"),
        ] {
            assert_eq!(
                with(name, Some(value)),
                Err(Malformed(name)),
                "{name}: {value:?}"
            );
        }
        assert_eq!(with(H_ROOM, None), Err(Malformed(H_ROOM)));
        assert_eq!(with(H_LIMITS, None), Err(Malformed(H_LIMITS)));
    }

    #[test]
    fn a_notice_round_trips_and_half_a_carried_one_is_refused() {
        for notice in [Notice::Plain, Notice::Carried { seq: 7, prev: 5 }] {
            assert_eq!(Notice::from_headers(read(&notice.headers())), Ok(notice));
        }
        let seq_only = [(H_SEQ, "7".to_owned())];
        assert_eq!(
            Notice::from_headers(read(&seq_only)),
            Err(Malformed(H_PREV))
        );
        let bad = [(H_SEQ, "x".to_owned()), (H_PREV, "5".to_owned())];
        assert_eq!(Notice::from_headers(read(&bad)), Err(Malformed(H_SEQ)));
    }
}
