//! WebSocket frames of the paid variant (`GET /api/rooms/:id/ws`). JSON text
//! frames tagged by `type`, one type per direction.

use serde::{Deserialize, Serialize};

use crate::validate::{NewMessage, ValidationError};
use crate::wire::{Message, SendBody};

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerFrame {
    /// A stored message, in history order: the message object itself, the
    /// REST API's shape, with `"type":"message"` beside its fields. Bare, so
    /// a client that treats every frame as a message (the seed's `listen`)
    /// reads it as one.
    Message(Message),
    /// A frame the client sent was refused; the socket stays open.
    Error {
        error: String,
    },
    Pong,
    /// The answer to a `stats` frame: what the room's object has done since
    /// it last woke (a diagnostic for `make bench`; counts, no content).
    Stats(PushStats),
}

/// The text of `ServerFrame::Message` for a borrowed message: the same JSON
/// (the test checks), without cloning the message to build the frame.
pub fn message_frame(message: &Message) -> serde_json::Result<String> {
    let object = serde_json::to_string(message)?;
    // A message serializes as a non-empty object, so `{` opens it; the tag
    // goes first, as serde's internal tagging writes it.
    let fields = object.strip_prefix('{').unwrap_or(&object);
    Ok(format!(r#"{{"type":"message",{fields}"#))
}

/// The message object inside a message frame's text: the frame without its
/// `type`, so a client can keep the server's JSON as sent. The server puts
/// the tag first ([`message_frame`]), which is a cut; a frame written in
/// another order is re-serialized without the tag. `None` when `frame` is
/// not a JSON object tagged `message`.
pub fn message_json(frame: &str) -> Option<String> {
    const TAG: &str = r#"{"type":"message","#;
    let trimmed = frame.trim();
    if let Some(rest) = trimmed.strip_prefix(TAG) {
        return Some(format!("{{{rest}"));
    }
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(trimmed).ok()?;
    if object.remove("type")? != "message" {
        return None;
    }
    serde_json::to_string(&object).ok()
}

/// The room object's counters since it last woke from hibernation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushStats {
    /// Messages the object was told of with the message attached.
    pub notified: u64,
    /// Of those, the ones every connected socket got without a D1 read.
    pub pushed_without_read: u64,
    /// D1 queries the object made to push (catch-up pages and access checks).
    pub d1_queries: u64,
    /// Rows those queries read.
    pub d1_rows_read: u64,
}

/// What a client may send.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ClientFrame {
    /// Same fields and rules as `POST /api/rooms/:id/messages` (a member
    /// token's socket may leave out `sender`).
    Message(SendBody),
    Ping,
    /// Asks for the object's [`PushStats`].
    Stats,
}

/// The exact text of a ping frame. The room's object registers it as an
/// automatic response, so a ping is answered without waking the object.
pub const PING: &str = r#"{"type":"ping"}"#;
pub const PONG: &str = r#"{"type":"pong"}"#;

/// Why a client frame was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    Json(String),
    Invalid(ValidationError),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Json(e) => write!(f, "invalid frame: {e}"),
            FrameError::Invalid(e) => write!(f, "{e}"),
        }
    }
}

/// A decoded client frame, with a message already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Message(NewMessage),
    Ping,
    Stats,
}

/// Parses and validates one text frame.
pub fn parse_client_frame(text: &str) -> Result<Incoming, FrameError> {
    if text.len() > crate::validate::MAX_BODY_BYTES {
        return Err(FrameError::Invalid(ValidationError::BodyTooLarge));
    }
    let frame: ClientFrame =
        serde_json::from_str(text).map_err(|e| FrameError::Json(e.to_string()))?;
    match frame {
        ClientFrame::Ping => Ok(Incoming::Ping),
        ClientFrame::Stats => Ok(Incoming::Stats),
        ClientFrame::Message(body) => NewMessage::from_body(body)
            .map(Incoming::Message)
            .map_err(FrameError::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_frames_have_the_documented_shape() {
        let m = Message {
            id: "i".into(),
            room_id: "r".into(),
            sender: "s".into(),
            sender_type: crate::wire::SenderType::Agent,
            color: None,
            content: "c".into(),
            created_at: "t".into(),
            verified: false,
            mentions: vec![],
            kind: crate::wire::MessageKind::Message,
            decision: None,
        };
        assert_eq!(
            message_frame(&m).unwrap(),
            serde_json::to_string(&ServerFrame::Message(m.clone())).unwrap()
        );
        let json = serde_json::to_value(ServerFrame::Message(m.clone())).unwrap();
        assert_eq!(json["type"], "message");
        assert_eq!(json["sender_type"], "agent");
        assert_eq!(json["id"], "i");
        // The message object, whole, is the frame minus its tag.
        let mut bare = json.clone();
        bare.as_object_mut().unwrap().remove("type");
        assert_eq!(bare, serde_json::to_value(&m).unwrap());
        let back: ServerFrame = serde_json::from_str(&message_frame(&m).unwrap()).unwrap();
        assert_eq!(back, ServerFrame::Message(m.clone()));
        let plain = serde_json::to_string(&m).unwrap();
        assert_eq!(message_json(&message_frame(&m).unwrap()).unwrap(), plain);
        let reordered = format!(r#"{{{},"type":"message"}}"#, &plain[1..plain.len() - 1]);
        let again: Message = serde_json::from_str(&message_json(&reordered).unwrap()).unwrap();
        assert_eq!(again, m);
        assert_eq!(message_json(PONG), None);
        assert_eq!(message_json("[1]"), None);
        assert_eq!(serde_json::to_string(&ServerFrame::Pong).unwrap(), PONG);
        let err = serde_json::to_value(ServerFrame::Error { error: "x".into() }).unwrap();
        assert_eq!(err, serde_json::json!({"type": "error", "error": "x"}));
        let stats = ServerFrame::Stats(PushStats {
            notified: 3,
            pushed_without_read: 2,
            d1_queries: 4,
            d1_rows_read: 9,
        });
        let text = serde_json::to_string(&stats).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            serde_json::json!({"type": "stats", "notified": 3, "pushed_without_read": 2,
                "d1_queries": 4, "d1_rows_read": 9})
        );
        assert_eq!(serde_json::from_str::<ServerFrame>(&text).unwrap(), stats);
    }

    #[test]
    fn client_frames_parse_and_validate() {
        assert_eq!(parse_client_frame(PING), Ok(Incoming::Ping));
        assert_eq!(
            parse_client_frame(r#"{"type":"stats"}"#),
            Ok(Incoming::Stats)
        );
        let Incoming::Message(m) = parse_client_frame(
            r##"{"type":"message","sender":" a ","content":"hi","color":"#ABCDEF"}"##,
        )
        .unwrap() else {
            panic!("not a message")
        };
        assert_eq!(m.sender.as_ref().map(AsRef::as_ref), Some("a"));
        assert_eq!(m.color.unwrap().as_ref(), "#abcdef");
        for bad in [
            "not json",
            r#"{"type":"shout"}"#,
            r#"{"type":"message","sender":"a"}"#,
            r#"{"type":"message","sender":"","content":"x"}"#,
            r#"{"type":"message","sender":"a","content":"x","sender_type":"robot"}"#,
        ] {
            assert!(parse_client_frame(bad).is_err(), "{bad}");
        }
    }
}
