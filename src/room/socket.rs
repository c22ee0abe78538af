//! What the room object keeps per socket, and how the Worker hands it over:
//! everything a socket needs (room, reader, owner, cursor) lives in its
//! attachment, so nothing is needed in memory when the object wakes.

use protocol::wire::Role;
use protocol::ws::ServerFrame;
use serde::{Deserialize, Serialize};
use worker::{console_error, Request, WebSocket};

/// Headers that carry what the Worker established to the object.
pub const H_ROOM: &str = "X-Meet-Room";
pub const H_OWNER: &str = "X-Meet-Owner";
pub const H_READER: &str = "X-Meet-Reader";
pub const H_AFTER: &str = "X-Meet-After";
/// A member reader: `id hash role handle` (the handle last: it may hold spaces).
pub const H_MEMBER: &str = "X-Meet-Member";
/// A notification that carries its message: the message's `seq` and its
/// predecessor's in the room (`protocol::push`); the body is the frame.
pub const H_SEQ: &str = "X-Meet-Seq";
pub const H_PREV: &str = "X-Meet-Prev";

/// Close code for a socket whose key was revoked or whose room went private.
pub const POLICY_VIOLATION: u16 = 1008;

/// Controls and non-ASCII are escaped, and `%` so that decoding is exact.
const HEADER_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%');

pub fn encode_header(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, HEADER_ESCAPES).to_string()
}

fn decode_header(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

/// A member reading over a socket: enough to re-check it and to send as it.
#[derive(Clone, Serialize, Deserialize)]
pub struct SocketMember {
    pub id: String,
    pub token_hash: String,
    pub role: Role,
    pub handle: String,
}

impl SocketMember {
    fn from_header(value: &str) -> Option<SocketMember> {
        let value = decode_header(value);
        let mut parts = value.splitn(4, ' ');
        Some(SocketMember {
            id: parts.next()?.to_owned(),
            token_hash: parts.next()?.to_owned(),
            role: Role::parse(parts.next()?)?,
            handle: parts.next()?.to_owned(),
        })
    }
}

/// Per-socket state, kept by the runtime across hibernation.
#[derive(Clone, Serialize, Deserialize)]
pub struct Attachment {
    pub room: String,
    pub owner: String,
    /// The reader's key id (a member's is the owner's); None for an
    /// anonymous reader of a public room.
    pub reader: Option<String>,
    /// Set when the reader is a member token.
    #[serde(default)]
    pub member: Option<SocketMember>,
    /// The `seq` of the last message this socket was given: it has every
    /// message of the room up to this one, in order, and none after.
    pub last_seq: i64,
}

impl Attachment {
    /// From the headers the Worker's [`super::connect`] set; None if the
    /// room or owner is missing.
    pub fn from_request(req: &Request) -> Option<Attachment> {
        let h = req.headers();
        let header = |name: &str| h.get(name).ok().flatten().unwrap_or_default();
        let attachment = Attachment {
            room: header(H_ROOM),
            owner: header(H_OWNER),
            reader: Some(header(H_READER)).filter(|r| !r.is_empty()),
            member: Some(header(H_MEMBER))
                .filter(|m| !m.is_empty())
                .and_then(|m| SocketMember::from_header(&m)),
            last_seq: header(H_AFTER).parse().unwrap_or(0),
        };
        (!attachment.room.is_empty() && !attachment.owner.is_empty()).then_some(attachment)
    }

    pub fn is_owner(&self) -> bool {
        self.member.is_none() && self.reader.as_deref() == Some(self.owner.as_str())
    }

    /// A key other than the room's reads it (a public room): its revocation
    /// does not notify this object, so it is re-checked before each message.
    pub fn is_foreign_key(&self) -> bool {
        self.member.is_none() && self.reader.as_ref().is_some_and(|r| *r != self.owner)
    }

    pub fn can_write(&self) -> bool {
        self.is_owner() || self.member.as_ref().is_some_and(|m| m.role.can_send())
    }
}

/// The object's sockets with their attachments, as they are now.
pub fn sockets(state: &worker::State) -> Vec<(WebSocket, Attachment)> {
    state
        .get_websockets()
        .into_iter()
        .filter_map(|ws| match ws.deserialize_attachment::<Attachment>() {
            Ok(Some(a)) => Some((ws, a)),
            _ => None,
        })
        .collect()
}

pub fn error_frame(text: &str) -> ServerFrame {
    ServerFrame::Error {
        error: text.to_owned(),
    }
}

/// Sends a frame; a socket that went away meanwhile is not an error.
pub fn send(ws: &WebSocket, frame: &ServerFrame) {
    match serde_json::to_string(frame) {
        Ok(text) => {
            let _ = ws.send_with_str(text);
        }
        Err(e) => console_error!("serialize frame: {e}"),
    }
}
