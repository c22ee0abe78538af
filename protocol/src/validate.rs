//! Parse, don't validate: every value a client sends becomes a newtype here, at
//! the edge, or a [`ValidationError`] that the Worker answers with a 4xx. A
//! handler that holds a `Sender` knows it is trimmed and 1-64 characters.

use serde::Deserialize;
use thiserror::Error;
use uuid::Uuid;

use crate::error::ErrorCode;
use crate::wire::SenderType;

/// Largest message content, in bytes of UTF-8.
pub const MAX_CONTENT_BYTES: usize = 32 * 1024;
/// Largest request body we read at all. JSON escaping can make content up to six
/// times longer on the wire (`\u0000`), so this leaves room for that and no more.
pub const MAX_BODY_BYTES: usize = 6 * MAX_CONTENT_BYTES + 4096;
pub const MAX_SENDER_CHARS: usize = 64;
pub const MAX_ROOM_NAME_CHARS: usize = 100;
pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 500;
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 64;

/// Why a client's input was refused. Each maps to one [`ErrorCode`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    #[error("request body is not valid UTF-8")]
    NotUtf8,
    #[error("invalid JSON body: {0}")]
    Json(String),
    #[error("request body is larger than {MAX_BODY_BYTES} bytes")]
    BodyTooLarge,
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} must be at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} must not contain control characters")]
    ControlChars { field: &'static str },
    #[error("content must be at most {MAX_CONTENT_BYTES} bytes")]
    ContentTooLarge,
    #[error("color must look like #rrggbb")]
    Color,
    #[error("limit must be an integer from 1 to {MAX_LIMIT}")]
    Limit,
    #[error("use either after or before, not both")]
    AfterAndBefore,
    #[error("{0} is not a valid message id")]
    Cursor(&'static str),
    #[error("Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters")]
    IdempotencyKey,
}

impl ValidationError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ValidationError::BodyTooLarge | ValidationError::ContentTooLarge => {
                ErrorCode::PayloadTooLarge
            }
            _ => ErrorCode::BadRequest,
        }
    }
}

/// The cursor that names the start of a room (the nil UUID): `after=START`
/// is the whole history, and a stream opened on an empty room tells its client
/// this as its resume point, so a reconnect before the first message misses
/// nothing.
pub const START: &str = "00000000-0000-0000-0000-000000000000";

/// A UUID in canonical lowercase form. Anything else is "not found" to the
/// routes (a malformed id must be indistinguishable from another tenant's).
pub fn parse_id(raw: &str) -> Option<String> {
    // Only the hyphenated 36-char form: ids are always shown that way.
    if raw.len() != 36 {
        return None;
    }
    Uuid::parse_str(raw)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

fn trimmed_text(
    raw: &str,
    field: &'static str,
    max_chars: usize,
) -> Result<String, ValidationError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    if text.chars().count() > max_chars {
        return Err(ValidationError::TooLong {
            field,
            max: max_chars,
        });
    }
    if text.chars().any(char::is_control) {
        return Err(ValidationError::ControlChars { field });
    }
    Ok(text.to_owned())
}

fn utf8_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ValidationError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ValidationError::BodyTooLarge);
    }
    let text = std::str::from_utf8(body).map_err(|_| ValidationError::NotUtf8)?;
    // serde would also accept a struct written as an array (`["x"]`): every
    // body we take is an object, so say so plainly.
    if !text.trim_start().starts_with('{') {
        return Err(ValidationError::Json("expected a JSON object".into()));
    }
    serde_json::from_str(text).map_err(|e| ValidationError::Json(e.to_string()))
}

/// A room name: trimmed, 1-100 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomName(String);

impl RoomName {
    pub fn parse(raw: &str) -> Result<RoomName, ValidationError> {
        trimmed_text(raw, "name", MAX_ROOM_NAME_CHARS).map(RoomName)
    }
}

impl AsRef<str> for RoomName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A sender name: trimmed, 1-64 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender(String);

impl Sender {
    pub fn parse(raw: &str) -> Result<Sender, ValidationError> {
        trimmed_text(raw, "sender", MAX_SENDER_CHARS).map(Sender)
    }
}

impl AsRef<str> for Sender {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Message content: 1 to 32,768 bytes, kept exactly as sent (markdown and code
/// depend on their whitespace). Content that is only whitespace is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content(String);

impl Content {
    pub fn parse(raw: String) -> Result<Content, ValidationError> {
        if raw.trim().is_empty() {
            return Err(ValidationError::Empty { field: "content" });
        }
        if raw.len() > MAX_CONTENT_BYTES {
            return Err(ValidationError::ContentTooLarge);
        }
        Ok(Content(raw))
    }
}

impl AsRef<str> for Content {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A display color `#rrggbb`, stored lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Color(String);

impl Color {
    pub fn parse(raw: &str) -> Result<Color, ValidationError> {
        let hex = raw.strip_prefix('#').ok_or(ValidationError::Color)?;
        if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Color(format!("#{}", hex.to_ascii_lowercase())))
        } else {
            Err(ValidationError::Color)
        }
    }
}

impl AsRef<str> for Color {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// `POST /api/rooms` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoom {
    pub name: RoomName,
}

#[derive(Deserialize)]
struct NewRoomBody {
    name: String,
}

impl NewRoom {
    pub fn from_json(body: &[u8]) -> Result<NewRoom, ValidationError> {
        let raw: NewRoomBody = utf8_json(body)?;
        Ok(NewRoom {
            name: RoomName::parse(&raw.name)?,
        })
    }
}

/// `PATCH /api/rooms/:id` body: the settings an owner may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomUpdate {
    pub public: bool,
}

impl RoomUpdate {
    pub fn from_json(body: &[u8]) -> Result<RoomUpdate, ValidationError> {
        utf8_json(body)
    }
}

/// `POST /api/rooms/:id/messages` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub sender: Sender,
    pub content: Content,
    pub sender_type: SenderType,
    pub color: Option<Color>,
}

#[derive(Deserialize)]
struct NewMessageBody {
    sender: String,
    content: String,
    #[serde(default)]
    sender_type: Option<SenderType>,
    #[serde(default)]
    color: Option<String>,
}

impl NewMessage {
    pub fn from_json(body: &[u8]) -> Result<NewMessage, ValidationError> {
        let raw: NewMessageBody = utf8_json(body)?;
        NewMessage::from_parts(raw.sender, raw.content, raw.sender_type, raw.color)
    }

    /// Validates the fields of a message however they arrived (a POST body or
    /// a WebSocket frame): one set of rules for both.
    pub fn from_parts(
        sender: String,
        content: String,
        sender_type: Option<SenderType>,
        color: Option<String>,
    ) -> Result<NewMessage, ValidationError> {
        Ok(NewMessage {
            sender: Sender::parse(&sender)?,
            content: Content::parse(content)?,
            sender_type: sender_type.unwrap_or_default(),
            color: color.as_deref().map(Color::parse).transpose()?,
        })
    }
}

/// Page size for history: defaults to 100, larger values are capped at 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u32);

impl Limit {
    pub fn parse(raw: Option<&str>) -> Result<Limit, ValidationError> {
        let Some(raw) = raw else {
            return Ok(Limit(DEFAULT_LIMIT));
        };
        // Parse as i64 so "-5" is a clear error rather than a u32 parse failure,
        // and huge numbers cap instead of failing.
        match raw.trim().parse::<i128>() {
            Ok(n) if n >= 1 => Ok(Limit(n.min(MAX_LIMIT as i128) as u32)),
            _ => Err(ValidationError::Limit),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// Where a history page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// The latest `limit` messages.
    Latest,
    /// The messages after this message id (oldest first).
    After(String),
    /// The messages before this message id (oldest first).
    Before(String),
}

impl Page {
    /// Reads `after` / `before` query values. An id that is not a UUID is a 400:
    /// it can never name a message.
    pub fn parse(after: Option<&str>, before: Option<&str>) -> Result<Page, ValidationError> {
        match (after, before) {
            (Some(_), Some(_)) => Err(ValidationError::AfterAndBefore),
            (Some(a), None) => parse_id(a)
                .map(Page::After)
                .ok_or(ValidationError::Cursor("after")),
            (None, Some(b)) => parse_id(b)
                .map(Page::Before)
                .ok_or(ValidationError::Cursor("before")),
            (None, None) => Ok(Page::Latest),
        }
    }
}

/// A client-chosen token that makes a send safe to retry: 1-64 printable ASCII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<IdempotencyKey, ValidationError> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_IDEMPOTENCY_KEY_LEN
            && raw.bytes().all(|b| (0x20..0x7f).contains(&b));
        if ok {
            Ok(IdempotencyKey(raw.to_owned()))
        } else {
            Err(ValidationError::IdempotencyKey)
        }
    }
}

impl AsRef<str> for IdempotencyKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_canonical_uuids() {
        let id = "0b6f3c1e-8a7d-4f7e-9c55-7f0e0b2c9d11";
        assert_eq!(parse_id(id).as_deref(), Some(id));
        assert_eq!(parse_id(&id.to_uppercase()).as_deref(), Some(id));
        assert_eq!(parse_id("0b6f3c1e8a7d4f7e9c557f0e0b2c9d11"), None);
        assert_eq!(parse_id("not-a-uuid"), None);
        assert_eq!(parse_id(""), None);
        assert_eq!(parse_id("zb6f3c1e-8a7d-4f7e-9c55-7f0e0b2c9d11"), None);
    }

    #[test]
    fn room_name_is_trimmed_and_bounded() {
        assert_eq!(RoomName::parse("  general ").unwrap().as_ref(), "general");
        assert_eq!(
            RoomName::parse("   "),
            Err(ValidationError::Empty { field: "name" })
        );
        assert!(RoomName::parse(&"é".repeat(100)).is_ok());
        assert_eq!(
            RoomName::parse(&"é".repeat(101)),
            Err(ValidationError::TooLong {
                field: "name",
                max: 100
            })
        );
        assert_eq!(
            RoomName::parse("a\nb"),
            Err(ValidationError::ControlChars { field: "name" })
        );
    }

    #[test]
    fn sender_counts_characters_not_bytes() {
        assert!(Sender::parse(&"🦀".repeat(64)).is_ok());
        assert!(Sender::parse(&"🦀".repeat(65)).is_err());
        assert_eq!(Sender::parse(" claude ").unwrap().as_ref(), "claude");
    }

    #[test]
    fn content_is_bounded_in_bytes_and_kept_verbatim() {
        let code = "```rust\n  fn main() {}\n```\n".to_string();
        assert_eq!(Content::parse(code.clone()).unwrap().as_ref(), code);
        assert!(Content::parse("x".repeat(MAX_CONTENT_BYTES)).is_ok());
        let err = Content::parse("x".repeat(MAX_CONTENT_BYTES + 1)).unwrap_err();
        assert_eq!(err, ValidationError::ContentTooLarge);
        assert_eq!(err.code(), ErrorCode::PayloadTooLarge);
        assert_eq!(
            Content::parse(" \n\t".into()),
            Err(ValidationError::Empty { field: "content" })
        );
    }

    #[test]
    fn color_is_hash_and_six_hex_digits() {
        assert_eq!(Color::parse("#A1b2C3").unwrap().as_ref(), "#a1b2c3");
        for bad in ["a1b2c3", "#a1b2c", "#a1b2c3d", "#ggg000", "", "#"] {
            assert_eq!(Color::parse(bad), Err(ValidationError::Color), "{bad}");
        }
    }

    #[test]
    fn new_message_parses_defaults_and_rejects_bad_types() {
        let m = NewMessage::from_json(br#"{"sender":"a","content":"b"}"#).unwrap();
        assert_eq!(m.sender_type, SenderType::Human);
        assert_eq!(m.color, None);
        let m = NewMessage::from_json(
            br##"{"sender":"a","content":"b","sender_type":"agent","color":"#ABCDEF"}"##,
        )
        .unwrap();
        assert_eq!(m.sender_type, SenderType::Agent);
        assert_eq!(m.color.unwrap().as_ref(), "#abcdef");

        for bad in [
            &br#"{"sender":"a","content":"b","sender_type":"robot"}"#[..],
            br#"{"sender":1,"content":"b"}"#,
            br#"{"sender":"a"}"#,
            br#"{"sender":"a","content":"b""#,
            br#"[]"#,
            br#"["a","b"]"#,
            br#""a""#,
            b"",
        ] {
            let err = NewMessage::from_json(bad).unwrap_err();
            assert_eq!(err.code(), ErrorCode::BadRequest, "{err}");
        }
        assert_eq!(
            NewMessage::from_json(b"{\"sender\":\"\xff\",\"content\":\"b\"}"),
            Err(ValidationError::NotUtf8)
        );
    }

    #[test]
    fn room_update_takes_exactly_a_boolean_public() {
        assert_eq!(
            RoomUpdate::from_json(br#"{"public":true}"#),
            Ok(RoomUpdate { public: true })
        );
        for bad in [
            &br#"{"public":"yes"}"#[..],
            br#"{}"#,
            br#"{"public":true,"name":"x"}"#,
            br#"{"public":1}"#,
        ] {
            assert_eq!(
                RoomUpdate::from_json(bad).unwrap_err().code(),
                ErrorCode::BadRequest
            );
        }
    }

    #[test]
    fn oversized_bodies_are_refused_before_parsing() {
        let body = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            NewMessage::from_json(&body),
            Err(ValidationError::BodyTooLarge)
        );
    }

    #[test]
    fn limit_defaults_caps_and_refuses_nonsense() {
        assert_eq!(Limit::parse(None).unwrap().get(), 100);
        assert_eq!(Limit::parse(Some("1")).unwrap().get(), 1);
        assert_eq!(Limit::parse(Some("500")).unwrap().get(), 500);
        assert_eq!(Limit::parse(Some("501")).unwrap().get(), 500);
        assert_eq!(
            Limit::parse(Some("99999999999999999999999")).unwrap().get(),
            500
        );
        for bad in ["0", "-1", "abc", "", "1.5"] {
            assert_eq!(
                Limit::parse(Some(bad)),
                Err(ValidationError::Limit),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_start_cursor_is_a_valid_id() {
        assert_eq!(parse_id(START).as_deref(), Some(START));
        assert_eq!(
            Page::parse(Some(START), None),
            Ok(Page::After(START.into()))
        );
    }

    #[test]
    fn page_takes_one_cursor_at_most() {
        let id = "0b6f3c1e-8a7d-4f7e-9c55-7f0e0b2c9d11";
        assert_eq!(Page::parse(None, None), Ok(Page::Latest));
        assert_eq!(Page::parse(Some(id), None), Ok(Page::After(id.into())));
        assert_eq!(Page::parse(None, Some(id)), Ok(Page::Before(id.into())));
        assert_eq!(
            Page::parse(Some(id), Some(id)),
            Err(ValidationError::AfterAndBefore)
        );
        assert_eq!(
            Page::parse(Some("x"), None),
            Err(ValidationError::Cursor("after"))
        );
    }

    #[test]
    fn idempotency_key_is_printable_ascii() {
        assert!(IdempotencyKey::parse("retry-1 ok~").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(64)).is_ok());
        for bad in ["", "tab\there", "é", &"k".repeat(65)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
