//! What the room object keeps per socket, and how the Worker hands it over:
//! everything a socket needs (room, reader, owner, cursor) lives in its
//! attachment, so nothing is needed in memory when the object wakes.

use protocol::object::{OpenSocket, SocketLimits, SocketMember};
use protocol::ws::ServerFrame;
use serde::{Deserialize, Serialize};
use worker::{console_error, WebSocket};

/// Close code for a socket whose key was revoked or whose room went private.
pub const POLICY_VIOLATION: u16 = 1008;

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
    /// What it may send: the Worker's limits (this script has no vars).
    pub limits: SocketLimits,
}

/// What the Worker's [`super::connect`] established, as the socket's state.
impl From<OpenSocket> for Attachment {
    fn from(open: OpenSocket) -> Attachment {
        Attachment {
            room: open.room,
            owner: open.owner,
            reader: open.reader,
            member: open.member,
            last_seq: open.after_seq,
            limits: open.limits,
        }
    }
}

impl Attachment {
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
