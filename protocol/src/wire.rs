//! The JSON shapes of the API. One type serves both directions: the Worker
//! serializes them, the CLI and load generator deserialize them.

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;
use crate::time::rfc3339_millis;

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

/// A room, as every route shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    pub id: String,
    pub name: String,
    /// Readable without a key (by link); writing still needs the owner's key.
    /// Defaults to false when absent (servers before public rooms).
    #[serde(default)]
    pub public: bool,
    pub created_at: String,
}

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
}

/// `POST /api/keys`: the plaintext key, shown exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCreated {
    pub key: String,
    pub prefix: String,
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
}

/// A room as D1 returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct RoomRow {
    pub id: String,
    pub name: String,
    /// SQLite has no booleans: 0 or 1.
    pub public: i64,
    pub created_ms: i64,
}

impl From<RoomRow> for Room {
    fn from(row: RoomRow) -> Room {
        Room {
            id: row.id,
            name: row.name,
            public: row.public != 0,
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                "color": null, "content": "hi", "created_at": "1970-01-01T00:00:01.000Z"
            })
        );
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
