//! Parse, don't validate: every value a client sends becomes a newtype here, at
//! the edge, or a [`ValidationError`] that the Worker answers with a 4xx. A
//! handler that holds a `Sender` knows it is trimmed and 1-64 characters.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::error::ErrorCode;
use crate::role::{Role, SenderType};

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
/// The largest loop guard an owner may set.
pub const MAX_LOOP_GUARD: u32 = 1000;
/// The longest one `wait` call may sleep, in seconds: under the ~60 s after
/// which MCP and HTTP clients give up, and inside a free invocation's query
/// budget at the slowest poll rate.
pub const MAX_WAIT_SECS: u32 = 50;
pub const DEFAULT_WAIT_SECS: u32 = 30;

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
    #[error("{field} must not contain invisible or text-direction characters")]
    InvisibleChars { field: &'static str },
    #[error("sender is required with an owner key (a member token's handle is its sender)")]
    SenderRequired,
    #[error("exclude needs a key or member token (an excluded sender's messages are walked past, and each costs a read)")]
    ExcludeNeedsKey,
    #[error("role must be agent, human or viewer")]
    Role,
    #[error("loop_guard must be an integer from 0 to {MAX_LOOP_GUARD}")]
    LoopGuard,
    #[error("send at least one of public, loop_guard")]
    EmptyUpdate,
    #[error("timeout must be a whole number of seconds from 1 to {MAX_WAIT_SECS}")]
    Timeout,
    #[error("{0} must be 1 or 0")]
    Flag(&'static str),
    #[error("for (the handle) is required with an owner key")]
    ForRequired,
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
    // Before trimming: U+2028/2029 count as white space to `trim`, and a name
    // must refuse them, not silently lose them.
    if raw.chars().any(is_invisible) {
        return Err(ValidationError::InvisibleChars { field });
    }
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

/// Zero-width and text-direction characters: in a name they make two names
/// that look alike compare unequal (`cla\u{200B}ude`) or show reversed. The
/// one rule for every name (sender, room name, handle, `for`), applied by
/// [`trimmed_text`] to the raw input, leading and trailing ones included.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{2028}' | '\u{2029}' | '\u{FEFF}')
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

    /// History's `?exclude=<sender>`: a sender name by the same rule, named
    /// `exclude` in its error. Absent is no exclusion; present but empty,
    /// too long or multi-line is a 400, never "exclude nobody".
    ///
    /// Only for a caller with a credential (`keyed`). A page walks past every
    /// excluded message to fill `limit` (each a D1 row read): in a room that
    /// one sender fills, one request can read the whole room. Anonymous reads
    /// are held to a per-network rate, which bounds what they cost only
    /// while a page costs at most `limit` rows.
    pub fn parse_exclude(
        raw: Option<&str>,
        keyed: bool,
    ) -> Result<Option<Sender>, ValidationError> {
        match raw {
            Some(_) if !keyed => Err(ValidationError::ExcludeNeedsKey),
            raw => raw
                .map(|r| trimmed_text(r, "exclude", MAX_SENDER_CHARS).map(Sender))
                .transpose(),
        }
    }
}

impl AsRef<str> for Sender {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A member's handle: the same rules as a sender name, since it becomes the
/// sender of the member's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle(String);

impl Handle {
    pub fn parse(raw: &str) -> Result<Handle, ValidationError> {
        trimmed_text(raw, "handle", MAX_SENDER_CHARS).map(Handle)
    }

    /// As the `for` of the inbox, read and wait routes.
    pub fn parse_for(raw: &str) -> Result<Handle, ValidationError> {
        trimmed_text(raw, "for", MAX_SENDER_CHARS).map(Handle)
    }
}

impl AsRef<str> for Handle {
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

/// `PATCH /api/rooms/:id` body: the settings an owner may change, at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomUpdate {
    #[serde(default)]
    pub public: Option<bool>,
    #[serde(default)]
    pub loop_guard: Option<i64>,
}

impl RoomUpdate {
    pub fn from_json(body: &[u8]) -> Result<RoomUpdate, ValidationError> {
        let update: RoomUpdate = utf8_json(body)?;
        if update.public.is_none() && update.loop_guard.is_none() {
            return Err(ValidationError::EmptyUpdate);
        }
        if update
            .loop_guard
            .is_some_and(|n| !(0..=i64::from(MAX_LOOP_GUARD)).contains(&n))
        {
            return Err(ValidationError::LoopGuard);
        }
        Ok(update)
    }
}

/// `POST /api/rooms/:id/members` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    pub handle: Handle,
    pub role: Role,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMemberBody {
    handle: String,
    role: String,
}

impl NewMember {
    pub fn from_json(body: &[u8]) -> Result<NewMember, ValidationError> {
        let raw: NewMemberBody = utf8_json(body)?;
        Ok(NewMember {
            handle: Handle::parse(&raw.handle)?,
            role: Role::parse(raw.role.trim()).ok_or(ValidationError::Role)?,
        })
    }
}

/// `POST /api/rooms/:id/read` body: move `for`'s cursor forward to `through`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkRead {
    /// None: the member token's own handle.
    pub handle: Option<Handle>,
    pub through: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkReadBody {
    #[serde(default, rename = "for")]
    handle: Option<String>,
    through: String,
}

impl MarkRead {
    pub fn from_json(body: &[u8]) -> Result<MarkRead, ValidationError> {
        let raw: MarkReadBody = utf8_json(body)?;
        Ok(MarkRead {
            handle: raw.handle.as_deref().map(Handle::parse_for).transpose()?,
            through: parse_id(raw.through.trim()).ok_or(ValidationError::Cursor("through"))?,
        })
    }
}

/// `GET /api/rooms/:id/wait` query: how long, and what wakes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    pub timeout_secs: u32,
    /// Any message not sent by the handle, not only mentions of it.
    pub any: bool,
    /// Move the cursor through what is returned.
    pub ack: bool,
}

impl WaitOptions {
    pub fn parse(
        timeout: Option<&str>,
        any: Option<&str>,
        ack: Option<&str>,
    ) -> Result<WaitOptions, ValidationError> {
        let timeout_secs = match timeout.map(str::trim) {
            None => DEFAULT_WAIT_SECS,
            Some(raw) => match raw.parse::<i128>() {
                Ok(n) if n >= 1 => n.min(i128::from(MAX_WAIT_SECS)) as u32,
                _ => return Err(ValidationError::Timeout),
            },
        };
        Ok(WaitOptions {
            timeout_secs,
            any: flag(any, "any")?,
            ack: flag(ack, "ack")?,
        })
    }
}

/// A query flag: absent, `0` or `false` is off; `1` or `true` is on.
pub fn flag(raw: Option<&str>, name: &'static str) -> Result<bool, ValidationError> {
    match raw.map(str::trim) {
        None | Some("0") | Some("false") => Ok(false),
        Some("1") | Some("true") | Some("") => Ok(true),
        Some(_) => Err(ValidationError::Flag(name)),
    }
}

/// The body of `POST /api/rooms/:id/messages`, and the fields of a
/// WebSocket `message` frame: what a client writes and the server reads,
/// one type for both. Unvalidated: the server checks it with
/// [`NewMessage::from_body`]. A member token's send leaves
/// `sender` out (its handle is the sender).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_type: Option<SenderType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// `POST /api/rooms/:id/messages` body. The sender is absent when a member
/// token sends: its handle is the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub sender: Option<Sender>,
    pub content: Content,
    pub sender_type: SenderType,
    pub color: Option<Color>,
}

impl NewMessage {
    pub fn from_json(body: &[u8]) -> Result<NewMessage, ValidationError> {
        NewMessage::from_body(utf8_json(body)?)
    }

    /// Validates a send however it arrived (a POST body or a WebSocket
    /// frame): one set of rules for both.
    pub fn from_body(body: SendBody) -> Result<NewMessage, ValidationError> {
        NewMessage::from_parts(body.sender, body.content, body.sender_type, body.color)
    }

    /// Validates the fields of a message however they arrived (a POST body or
    /// a WebSocket frame): one set of rules for both.
    pub fn from_parts(
        sender: Option<String>,
        content: String,
        sender_type: Option<SenderType>,
        color: Option<String>,
    ) -> Result<NewMessage, ValidationError> {
        Ok(NewMessage {
            sender: sender.as_deref().map(Sender::parse).transpose()?,
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
mod tests;
