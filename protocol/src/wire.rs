//! The JSON shapes of the API. One type serves both directions: the Worker
//! serializes them, the CLI and load generator deserialize them.

use serde::{Deserialize, Serialize};

use crate::decision::Decision;
use crate::error::ErrorCode;
pub use crate::role::{Role, SenderType};
use crate::time::rfc3339_millis;

/// The loop guard of a new room: at most this many agent messages in a row.
pub const DEFAULT_LOOP_GUARD: u32 = 20;

/// A room, as every route shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    pub id: String,
    pub name: String,
    /// Readable without a key (by link); writing still needs the owner's key.
    /// Defaults to false when absent (servers before public rooms).
    #[serde(default)]
    pub public: bool,
    /// At most this many agent messages in a row with no human message
    /// between; 0 is off. Absent on servers before the guard: the default.
    #[serde(default = "default_loop_guard")]
    pub loop_guard: u32,
    pub created_at: String,
}

fn default_loop_guard() -> u32 {
    DEFAULT_LOOP_GUARD
}

/// What a message is: something a person or agent said, or a notice the
/// server posted (the loop guard tripping). Clients show notices as such,
/// never as someone's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    #[default]
    Message,
    Notice,
    /// A decision request or a change of its state; carries `decision`.
    Decision,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Message => "message",
            MessageKind::Notice => "notice",
            MessageKind::Decision => "decision",
        }
    }
}

/// The send body, defined beside the rules that check it.
pub use crate::validate::SendBody;

/// The sender name the server posts its notices under.
pub const NOTICE_SENDER: &str = "meet-ai";

/// A message, the same shape wherever it appears (REST, SSE `data:`, CLI output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    pub room_id: String,
    pub sender: String,
    pub sender_type: SenderType,
    pub color: Option<String>,
    pub content: String,
    pub created_at: String,
    /// The server vouches for `sender` and `sender_type`: the message was sent
    /// with a member token, whose handle and role they are (or it is a notice).
    /// Absent on servers before members: false.
    #[serde(default)]
    pub verified: bool,
    /// The handles this message mentions (`all` for `@all`), as the room
    /// knows them. Absent on servers before mentions: none.
    #[serde(default)]
    pub mentions: Vec<String>,
    #[serde(default)]
    pub kind: MessageKind,
    /// For `kind: decision`: the decision as it stood when this was posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Box<Decision>>,
}

impl Message {
    /// Whether this message addresses `handle`: it mentions it or `all`, and
    /// `handle` did not send it. Case-insensitive, as handles are.
    pub fn mentions_handle(&self, handle: &str) -> bool {
        !self.sender.eq_ignore_ascii_case(handle)
            && self
                .mentions
                .iter()
                .any(|m| m == crate::mention::ALL || m.eq_ignore_ascii_case(handle))
    }
}

impl Message {
    /// Whether this message wakes a `wait` for `handle`: not its own, and it
    /// mentions the handle (or `all`), or with `any` whatever it says.
    pub fn addresses(&self, handle: &str, any: bool) -> bool {
        !self.sender.eq_ignore_ascii_case(handle) && (any || self.mentions_handle(handle))
    }
}

/// A room member, as `GET /api/rooms/:id/members` shows it. Members see
/// handles and roles; the owner also sees the times and the token's prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub handle: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When its token was last used (refreshed at most every few minutes);
    /// `null` if never. Shown to the owner only.
    /// Absent (`None`) is not the same as `null` (`Some(None)`): serde's
    /// default reads both as `None`, hence `present`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub last_seen_at: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_prefix: Option<String>,
}

/// `POST /api/rooms/:id/members` and its re-issue: the token, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCreated {
    pub room_id: String,
    pub handle: String,
    pub role: Role,
    pub token: String,
    pub token_prefix: String,
    pub created_at: String,
}

/// `GET /api/whoami`: what the presented credential is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum WhoAmI {
    Owner,
    Member {
        room_id: String,
        handle: String,
        role: Role,
    },
}

/// `GET /api/rooms/:id/inbox`: what is unread for one handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    pub handle: String,
    /// The last message read (START when nothing is).
    pub cursor: String,
    /// Messages after the cursor that the handle did not send, counted up to
    /// [`UNREAD_COUNT_CAP`].
    pub unread: u32,
    /// Unread messages that mention the handle or `all`, oldest first.
    pub mentions: Vec<Message>,
    /// More unread mentions follow the last one shown (page on with `after`).
    pub has_more: bool,
}

/// Unread counts stop here: counting costs a row read per message.
pub const UNREAD_COUNT_CAP: u32 = 1000;

/// `POST /api/rooms/:id/read`: where a handle's cursor now stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadCursor {
    pub handle: String,
    pub cursor: String,
}

/// `GET /api/rooms/:id/wait` when something arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waited {
    pub handle: String,
    pub messages: Vec<Message>,
    /// The handle's cursor after the call (moved only with `ack=1`).
    pub cursor: String,
}

/// `POST /api/keys`: the plaintext key, shown exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCreated {
    pub key: String,
    pub prefix: String,
}

/// `POST /api/rooms/:id/ticket`: a single-use pass to that room's `/events`
/// or `/ws` (`?ticket=`), valid for `expires_in` seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamTicket {
    pub ticket: String,
    pub expires_in: u32,
}

/// Every 4xx/5xx body: a sentence for a human and a stable code for a program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
}

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub ok: bool,
    /// Absent on servers before features existed: nothing beyond the baseline.
    #[serde(default)]
    pub features: Features,
}

/// What this deployment offers beyond the free-tier baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Features {
    /// `GET /api/rooms/:id/ws` exists (the `durable-objects` build).
    pub websocket: bool,
    /// Member tokens, verified senders (`/members`, `/api/whoami`).
    #[serde(default)]
    pub members: bool,
    /// Mentions, read cursors, `/inbox`, `/read`, `/wait`, the loop guard.
    #[serde(default)]
    pub mentions: bool,
    /// Decision requests and answers (`/decisions`).
    #[serde(default)]
    pub decisions: bool,
}

/// A room as D1 returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct RoomRow {
    pub id: String,
    pub name: String,
    /// SQLite has no booleans: 0 or 1.
    pub public: i64,
    pub loop_guard: i64,
    pub created_ms: i64,
}

impl From<RoomRow> for Room {
    fn from(row: RoomRow) -> Room {
        Room {
            id: row.id,
            name: row.name,
            public: row.public != 0,
            loop_guard: u32::try_from(row.loop_guard).unwrap_or(0),
            created_at: rfc3339_millis(row.created_ms),
        }
    }
}

/// A message as D1 returns it. `seq` is its position in commit order, the only
/// thing cursors compare; it never leaves the server.
#[derive(Debug, Clone, Deserialize)]
pub struct MessageRow {
    pub seq: i64,
    pub id: String,
    pub room_id: String,
    pub sender: String,
    pub sender_type: SenderType,
    pub color: Option<String>,
    pub content: String,
    pub created_ms: i64,
    /// 0 or 1.
    #[serde(default)]
    pub verified: i64,
    /// A JSON array of handles, or NULL for none.
    #[serde(default)]
    pub mentions: Option<String>,
    #[serde(default)]
    pub kind: MessageKind,
    /// JSON of a [`Decision`] snapshot (kind `decision`), else NULL.
    #[serde(default)]
    pub payload: Option<String>,
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Message {
        Message {
            id: row.id,
            room_id: row.room_id,
            sender: row.sender,
            sender_type: row.sender_type,
            color: row.color,
            content: row.content,
            created_at: rfc3339_millis(row.created_ms),
            verified: row.verified != 0,
            // Written by our own INSERT as a JSON array; anything else is none.
            mentions: row
                .mentions
                .and_then(|m| serde_json::from_str(&m).ok())
                .unwrap_or_default(),
            kind: row.kind,
            decision: row
                .payload
                .filter(|_| row.kind == MessageKind::Decision)
                .and_then(|p| serde_json::from_str(&p).ok()),
        }
    }
}

/// Reads a field that is there, `null` included, as `Some`; an absent one
/// falls to `#[serde(default)]`'s `None`.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_never_seen_is_not_a_member_whose_last_sight_is_hidden() {
        for seen in [
            None,
            Some(None),
            Some(Some("2026-01-02T04:00:00.000Z".into())),
        ] {
            let m = Member {
                handle: "ada".into(),
                role: Role::Agent,
                created_at: None,
                last_seen_at: seen,
                token_prefix: None,
            };
            let text = serde_json::to_string(&m).unwrap();
            assert_eq!(serde_json::from_str::<Member>(&text).unwrap(), m, "{text}");
        }
    }

    #[test]
    fn send_bodies_round_trip_and_leave_out_what_is_absent() {
        let full = SendBody {
            sender: Some("ada".into()),
            content: "hi".into(),
            sender_type: Some(SenderType::Human),
            color: Some("#abcdef".into()),
        };
        let text = serde_json::to_string(&full).unwrap();
        assert_eq!(serde_json::from_str::<SendBody>(&text).unwrap(), full);
        let bare = SendBody {
            content: "hi".into(),
            ..SendBody::default()
        };
        assert_eq!(serde_json::to_string(&bare).unwrap(), r#"{"content":"hi"}"#);
        // What the server reads is what a client wrote.
        let m = crate::validate::NewMessage::from_json(text.as_bytes()).unwrap();
        assert_eq!(m.sender.map(|s| s.as_ref().to_owned()), Some("ada".into()));
    }

    #[test]
    fn message_row_becomes_the_public_shape_without_seq() {
        let row: MessageRow = serde_json::from_value(serde_json::json!({
            "seq": 7, "id": "m", "room_id": "r", "sender": "ada", "sender_type": "agent",
            "color": null, "content": "hi", "created_ms": 1000
        }))
        .unwrap();
        let json = serde_json::to_value(Message::from(row)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "m", "room_id": "r", "sender": "ada", "sender_type": "agent",
                "color": null, "content": "hi", "created_at": "1970-01-01T00:00:01.000Z",
                "verified": false, "mentions": [], "kind": "message"
            })
        );
    }

    #[test]
    fn stream_ticket_round_trips() {
        let t = StreamTicket {
            ticket: "tkt_AAAAAAAAAAAAAAAAAAAAAAAA".into(),
            expires_in: 60,
        };
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"ticket": "tkt_AAAAAAAAAAAAAAAAAAAAAAAA", "expires_in": 60})
        );
        assert_eq!(serde_json::from_value::<StreamTicket>(json).unwrap(), t);
    }

    #[test]
    fn verified_mentions_and_kind_round_trip() {
        let row: MessageRow = serde_json::from_value(serde_json::json!({
            "seq": 7, "id": "m", "room_id": "r", "sender": "meet-ai", "sender_type": "agent",
            "color": null, "content": "stop", "created_ms": 1000, "verified": 1,
            "mentions": "[\"ada\",\"all\"]", "kind": "notice"
        }))
        .unwrap();
        let message = Message::from(row);
        assert!(message.verified);
        assert_eq!(message.mentions, ["ada", "all"]);
        assert_eq!(message.kind, MessageKind::Notice);
        let back: Message =
            serde_json::from_str(&serde_json::to_string(&message).unwrap()).unwrap();
        assert_eq!(back, message);
        assert!(message.mentions_handle("bob"), "@all mentions everyone");
        assert!(!message.mentions_handle("meet-ai"), "never its own sender");
        assert!(message.addresses("bob", false));
        assert!(message.addresses("ADA", false));
        assert!(!message.addresses("meet-ai", true), "never its own message");
        let plain = Message {
            mentions: vec![],
            ..message
        };
        assert!(!plain.addresses("bob", false));
        assert!(plain.addresses("bob", true));
    }

    #[test]
    fn old_servers_messages_still_parse() {
        let m: Message = serde_json::from_value(serde_json::json!({
            "id": "m", "room_id": "r", "sender": "ada", "sender_type": "human",
            "color": null, "content": "hi", "created_at": "x"
        }))
        .unwrap();
        assert!(!m.verified && m.mentions.is_empty() && m.kind == MessageKind::Message);
    }

    #[test]
    fn members_and_whoami_have_the_documented_shape() {
        let seen_by_member = Member {
            handle: "ada".into(),
            role: Role::Agent,
            created_at: None,
            last_seen_at: None,
            token_prefix: None,
        };
        assert_eq!(
            serde_json::to_value(&seen_by_member).unwrap(),
            serde_json::json!({"handle": "ada", "role": "agent"})
        );
        let seen_by_owner = Member {
            last_seen_at: Some(None),
            created_at: Some("t".into()),
            token_prefix: Some("mem_abcd".into()),
            ..seen_by_member
        };
        assert_eq!(
            serde_json::to_value(&seen_by_owner).unwrap(),
            serde_json::json!({"handle": "ada", "role": "agent", "created_at": "t",
                "last_seen_at": null, "token_prefix": "mem_abcd"})
        );
        let who = WhoAmI::Member {
            room_id: "r".into(),
            handle: "ada".into(),
            role: Role::Viewer,
        };
        let json = serde_json::to_value(&who).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "member", "room_id": "r", "handle": "ada", "role": "viewer"})
        );
        assert_eq!(serde_json::from_value::<WhoAmI>(json).unwrap(), who);
        assert_eq!(
            serde_json::to_value(WhoAmI::Owner).unwrap(),
            serde_json::json!({"kind": "owner"})
        );
        for role in [Role::Agent, Role::Human, Role::Viewer] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert!(!Role::Viewer.can_send());
    }

    #[test]
    fn error_body_omits_absent_code() {
        let body = ErrorBody {
            error: "x".into(),
            code: None,
        };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"error":"x"}"#);
    }
}
