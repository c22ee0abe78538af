//! Who speaks: a message's sender type and a member's role. Below the wire
//! types and the validators, which both use them.

use serde::{Deserialize, Serialize};

/// Who wrote a message: a person in a browser or a coding agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SenderType {
    #[default]
    Human,
    Agent,
}

impl SenderType {
    pub fn as_str(self) -> &'static str {
        match self {
            SenderType::Human => "human",
            SenderType::Agent => "agent",
        }
    }
}

/// What a member may do in its room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A coding agent: reads and sends; its messages are `sender_type: agent`.
    Agent,
    /// A person: reads and sends, and may answer for the room's humans.
    Human,
    /// Reads only.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Human => "human",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        match raw {
            "agent" => Some(Role::Agent),
            "human" => Some(Role::Human),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn can_send(self) -> bool {
        self != Role::Viewer
    }

    /// The `sender_type` of this role's messages (a viewer sends none).
    pub fn sender_type(self) -> SenderType {
        match self {
            Role::Agent => SenderType::Agent,
            Role::Human | Role::Viewer => SenderType::Human,
        }
    }
}
