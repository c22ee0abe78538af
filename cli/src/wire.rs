//! Wire types of the members and mentions contract (issues 12 and 13) that
//! `protocol::wire` does not have yet. They are private to the CLI until the
//! shared crate carries them; every field the contract does not promise on
//! every server is read with a default, so older servers still read fine.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// An owner key starts with this (`protocol::key`).
pub const OWNER_PREFIX: &str = "mai_";
/// A member token starts with this (contract: `protocol::key::MEMBER_PREFIX`).
pub const MEMBER_PREFIX: &str = "mem_";
/// Characters after the prefix.
const SECRET_LEN: usize = 24;

/// What a credential is, by its form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// `mai_...`: owns rooms, manages members.
    Owner,
    /// `mem_...`: one member of one room; the handle is fixed by the token.
    Member,
}

impl Credential {
    /// The kind of a well-formed credential; `None` for anything else.
    pub fn of(key: &str) -> Option<Credential> {
        let (kind, rest) = if let Some(rest) = key.strip_prefix(OWNER_PREFIX) {
            (Credential::Owner, rest)
        } else if let Some(rest) = key.strip_prefix(MEMBER_PREFIX) {
            (Credential::Member, rest)
        } else {
            return None;
        };
        let well_formed = rest.len() == SECRET_LEN
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then_some(kind)
    }
}

/// The fields a message gained with members and mentions. Read beside
/// `protocol::wire::Message` from the same JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct MessageMeta {
    /// Sent with a member token: the sender is the member's handle.
    #[serde(default)]
    pub verified: bool,
    /// Canonical handles mentioned, `all` for @all.
    #[serde(default)]
    pub mentions: Vec<String>,
    /// `message`, or `notice` for a server notice (e.g. the loop guard).
    #[serde(default)]
    pub kind: Option<String>,
}

impl MessageMeta {
    pub fn is_notice(&self) -> bool {
        self.kind.as_deref() == Some("notice")
    }

    /// Whether the message mentions `handle` (case-insensitively) or `all`.
    pub fn mentions(&self, handle: &str) -> bool {
        let handle = handle.trim();
        self.mentions
            .iter()
            .any(|m| m.eq_ignore_ascii_case("all") || m.to_lowercase() == handle.to_lowercase())
    }
}

/// A member's role in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads and sends, as an agent.
    Agent,
    /// Reads and sends, as a human.
    Human,
    /// Reads only.
    Viewer,
}

/// `GET /api/rooms/:id/members`, one entry. The owner sees every field, a
/// member only `handle` and `role`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Member {
    pub handle: String,
    pub role: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub last_seen_at: Option<String>,
    #[serde(default)]
    pub token_prefix: Option<String>,
}

/// `POST /api/rooms/:id/members` (and `.../token`): the token, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MemberCreated {
    pub room_id: String,
    pub handle: String,
    pub role: String,
    pub token: String,
    #[serde(default)]
    pub token_prefix: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// `POST /api/rooms/:id/members` body.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NewMember<'a> {
    pub handle: &'a str,
    pub role: Role,
}

/// `GET /api/whoami`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Whoami {
    Owner,
    Member {
        room_id: String,
        handle: String,
        role: String,
    },
}

/// `GET /api/rooms/:id/inbox` (what the text output shows; JSON output
/// prints the server's object as is); the mentions stay raw.
#[derive(Debug, Deserialize)]
pub struct Inbox {
    pub handle: String,
    pub unread: u64,
    pub mentions: Vec<Box<RawValue>>,
    #[serde(default)]
    pub has_more: bool,
}

/// `GET /api/rooms/:id/wait` with 200: the messages (`handle` and `cursor`
/// are there too; `wait` prints messages only).
#[derive(Debug, Deserialize)]
pub struct WaitBatch {
    pub messages: Vec<Box<RawValue>>,
}

/// `POST /api/rooms/:id/read` body.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReadRequest<'a> {
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_handle: Option<&'a str>,
    pub through: &'a str,
}

/// `POST /api/rooms/:id/read` answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReadCursor {
    pub handle: String,
    pub cursor: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_told_apart_by_form() {
        assert_eq!(
            Credential::of("mai_abcdefghijklmnopqrstuvwx"),
            Some(Credential::Owner)
        );
        assert_eq!(
            Credential::of("mem_ABCDEFGHIJKLMNOPQRSTUV-_"),
            Some(Credential::Member)
        );
        for bad in [
            "",
            "mem_short",
            "mem_abcdefghijklmnopqrstuvwxy",
            "mem_abcdefghijklmnopqrstuv!x",
            "key_abcdefghijklmnopqrstuvwx",
            "MEM_abcdefghijklmnopqrstuvwx",
        ] {
            assert_eq!(Credential::of(bad), None, "{bad}");
        }
    }

    #[test]
    fn message_meta_defaults_for_older_servers_and_matches_mentions() {
        let old: MessageMeta = serde_json::from_str(r#"{"id":"m"}"#).unwrap();
        assert_eq!(old, MessageMeta::default());
        assert!(!old.is_notice() && !old.mentions("ada"));

        let new: MessageMeta = serde_json::from_str(
            r#"{"verified":true,"mentions":["ada","bob.x"],"kind":"message"}"#,
        )
        .unwrap();
        assert!(new.verified && !new.is_notice());
        assert!(new.mentions("Ada"));
        assert!(new.mentions(" BOB.X "));
        assert!(!new.mentions("ad"));
        let all: MessageMeta =
            serde_json::from_str(r#"{"mentions":["all"],"kind":"notice"}"#).unwrap();
        assert!(all.mentions("anyone") && all.is_notice());
    }

    #[test]
    fn whoami_reads_both_kinds() {
        let owner: Whoami = serde_json::from_str(r#"{"kind":"owner"}"#).unwrap();
        assert_eq!(owner, Whoami::Owner);
        let member: Whoami = serde_json::from_str(
            r#"{"kind":"member","room_id":"r","handle":"ada","role":"agent"}"#,
        )
        .unwrap();
        assert_eq!(
            member,
            Whoami::Member {
                room_id: "r".into(),
                handle: "ada".into(),
                role: "agent".into()
            }
        );
    }

    #[test]
    fn request_bodies_serialize_as_the_contract_says() {
        let body = NewMember {
            handle: "ada",
            role: Role::Viewer,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"handle":"ada","role":"viewer"}"#
        );
        let read = ReadRequest {
            for_handle: Some("ada"),
            through: "m1",
        };
        assert_eq!(
            serde_json::to_string(&read).unwrap(),
            r#"{"for":"ada","through":"m1"}"#
        );
        let read = ReadRequest {
            for_handle: None,
            through: "m1",
        };
        assert_eq!(serde_json::to_string(&read).unwrap(), r#"{"through":"m1"}"#);
    }
}
