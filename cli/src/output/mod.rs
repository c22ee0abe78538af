//! What goes to stdout: the server's JSON when stdout is not a terminal (or
//! with `--json`), readable text on a terminal. Every write is flushed at once,
//! so a reader of a pipe sees each line as soon as it exists.
//!
//! The formatting is pure (`*_text` functions return strings); only
//! [`Output::emit`] does I/O, and on the text path it strips every control
//! and escape sequence ([`sanitize`]): the JSON path stays byte for byte.

mod members;
mod sanitize;

pub use sanitize::sanitize;

use std::cell::Cell;
use std::io::{self, IsTerminal, Write};

use protocol::wire::{KeyCreated, Message, MessageKind, SenderType};

use crate::client::{Fetched, RawMessage, Room};
use crate::config::KEY_VAR;

#[derive(Debug, Default)]
pub struct Output {
    pub json: bool,
    /// Live messages printed so far (for listen's final lifecycle event).
    printed: Cell<u64>,
}

impl Output {
    /// JSON when forced or when stdout is not a terminal.
    pub fn detect(force_json: bool) -> Output {
        Output {
            json: force_json || !io::stdout().is_terminal(),
            printed: Cell::new(0),
        }
    }

    pub fn printed(&self) -> u64 {
        self.printed.get()
    }

    /// Writes one line of output: JSON exactly as given, text (when not in
    /// JSON mode) without control or escape sequences. Every text path goes
    /// through here, so no poster's bytes reach the terminal raw.
    pub fn emit(&self, text: &str) -> io::Result<()> {
        if self.json {
            self.emit_json(text)
        } else {
            self.emit_json(&sanitize(text))
        }
    }

    /// Writes `text` unchanged (a newline is added) and flushes: for JSON,
    /// which escapes its own control characters and must stay exact.
    pub fn emit_json(&self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")?;
        out.flush()
    }

    pub fn key_created(&self, key: &Fetched<KeyCreated>) -> io::Result<()> {
        if self.json {
            self.emit(key.raw.trim())
        } else {
            self.emit(&key_created_text(&key.value))
        }
    }

    pub fn key_revoked(&self, prefix: &str) -> io::Result<()> {
        if self.json {
            self.emit(&serde_json::json!({ "revoked": true, "prefix": prefix }).to_string())
        } else {
            self.emit(&format!("Revoked key {prefix}…; it no longer works."))
        }
    }

    pub fn rooms(&self, rooms: &Fetched<Vec<Room>>) -> io::Result<()> {
        if self.json {
            self.emit(rooms.raw.trim())
        } else {
            self.emit(&rooms_text(&rooms.value))
        }
    }

    pub fn room_created(&self, room: &Fetched<Room>) -> io::Result<()> {
        if self.json {
            self.emit(room.raw.trim())
        } else {
            self.emit(&room_created_text(&room.value))
        }
    }

    pub fn sent(&self, message: &Fetched<Message>) -> io::Result<()> {
        if self.json {
            self.emit(message.raw.trim())
        } else {
            let m = &message.value;
            let badge = if m.verified { " \u{2713}" } else { "" };
            self.emit(&format!(
                "Sent as {}{badge} ({}): message {}",
                m.sender,
                m.sender_type.as_str(),
                m.id
            ))
        }
    }

    /// A history page: one JSON array, or one block per message.
    pub fn messages(&self, messages: &[RawMessage]) -> io::Result<()> {
        if self.json {
            self.emit(&json_array(messages))
        } else if messages.is_empty() {
            self.emit("(no messages)")
        } else {
            let text: Vec<String> = messages.iter().map(|m| message_text(&m.message)).collect();
            self.emit(&text.join("\n"))
        }
    }

    /// One live message: one JSON line, or one block.
    pub fn message(&self, message: &RawMessage) -> io::Result<()> {
        if self.json {
            self.emit(&message.raw)?;
        } else {
            self.emit(&message_text(&message.message))?;
        }
        self.printed.set(self.printed.get() + 1);
        Ok(())
    }
}

pub fn key_created_text(key: &KeyCreated) -> String {
    format!(
        "Your new API key (shown only once): {key}\n\
         Save it: add this line to .env in your project (or export it):\n\
         {KEY_VAR}={key}",
        key = key.key
    )
}

pub fn rooms_text(rooms: &[Room]) -> String {
    if rooms.is_empty() {
        return "No rooms yet. Create one: meet-ai create-room <name>".to_owned();
    }
    rooms
        .iter()
        .map(|r| {
            let public = if r.public { "  (public)" } else { "" };
            format!(
                "{}  {}  {}{public}",
                r.id,
                short_time(&r.created_at),
                r.name
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn room_created_text(room: &Room) -> String {
    format!("Created room {:?}\nid: {}", room.name, room.id)
}

/// `[hh:mm:ss] sender: text` for one line; a multi-line message puts its
/// lines below the header, indented, so code blocks stay readable. A sender
/// a member token vouches for gets a check mark (`ada ✓`); a server notice
/// reads as `*** notice:` rather than as someone's message.
pub fn message_text(m: &Message) -> String {
    let badge = if m.verified { " \u{2713}" } else { "" };
    let who = if m.kind == MessageKind::Notice {
        "*** notice".to_owned()
    } else {
        match m.sender_type {
            SenderType::Agent => format!("{}{badge} [agent]", m.sender),
            SenderType::Human => format!("{}{badge}", m.sender),
        }
    };
    let time = clock(&m.created_at);
    let content = m.content.trim_end_matches(['\n', '\r']);
    if content.contains('\n') {
        let body: Vec<String> = content.lines().map(|l| format!("    {l}")).collect();
        format!("[{time}] {who}:\n{}", body.join("\n"))
    } else {
        format!("[{time}] {who}: {content}")
    }
}

/// `hh:mm:ss` out of an RFC 3339 timestamp (UTC, as the API shows it).
fn clock(ts: &str) -> &str {
    ts.get(11..19).unwrap_or(ts)
}

/// `yyyy-mm-dd hh:mm` out of an RFC 3339 timestamp.
fn short_time(ts: &str) -> String {
    match (ts.get(0..10), ts.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time}"),
        _ => ts.to_owned(),
    }
}

/// The messages' server JSON, as one array.
pub fn json_array(messages: &[RawMessage]) -> String {
    let mut out = String::from("[");
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&m.raw);
    }
    out.push(']');
    out
}

/// Whether a sender is one of the excluded (exact match, as the server
/// stores names: trimmed).
pub fn is_excluded(sender: &str, exclude: &[String]) -> bool {
    exclude.iter().any(|e| e.trim() == sender)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A message as a server sends it (built from JSON, so new fields in
    /// the shared type do not break these tests), plus `extra` fields.
    pub(crate) fn raw_message(
        sender: &str,
        kind: SenderType,
        content: &str,
        extra: &str,
    ) -> RawMessage {
        let json = serde_json::json!({
            "id": "0b6f3c1e-8a7d-4f7e-9c55-7f0e0b2c9d11",
            "room_id": "r",
            "sender": sender,
            "sender_type": kind.as_str(),
            "color": null,
            "content": content,
            "created_at": "2026-11-26T09:30:45.123Z",
        });
        let mut text = json.to_string();
        if !extra.is_empty() {
            text.pop();
            text.push(',');
            text.push_str(extra);
            text.push('}');
        }
        RawMessage::parse(&text).unwrap()
    }

    fn text(m: &RawMessage) -> String {
        message_text(&m.message)
    }

    fn msg(sender: &str, kind: SenderType, content: &str) -> RawMessage {
        raw_message(sender, kind, content, "")
    }

    #[test]
    fn one_line_messages_read_as_chat() {
        assert_eq!(
            text(&msg("ada", SenderType::Human, "hello there")),
            "[09:30:45] ada: hello there"
        );
        assert_eq!(
            text(&msg("claude", SenderType::Agent, "done\n")),
            "[09:30:45] claude [agent]: done"
        );
    }

    #[test]
    fn verified_senders_get_a_check_mark_and_notices_stand_apart() {
        let verified = raw_message(
            "ada",
            SenderType::Human,
            "hi @claude",
            r#""verified":true,"mentions":["claude"],"kind":"message""#,
        );
        assert_eq!(text(&verified), "[09:30:45] ada \u{2713}: hi @claude");
        let agent = raw_message("claude", SenderType::Agent, "ok", r#""verified":true"#);
        assert_eq!(text(&agent), "[09:30:45] claude \u{2713} [agent]: ok");
        let unverified = raw_message("bob", SenderType::Human, "x", r#""verified":false"#);
        assert_eq!(text(&unverified), "[09:30:45] bob: x");
        let notice = raw_message(
            "meet-ai",
            SenderType::Agent,
            "Loop guard: 20 agent messages in a row.",
            r#""verified":true,"mentions":[],"kind":"notice""#,
        );
        assert_eq!(
            text(&notice),
            "[09:30:45] *** notice: Loop guard: 20 agent messages in a row."
        );
    }

    #[test]
    fn multi_line_messages_are_indented_below_the_header() {
        let text = text(&msg(
            "claude",
            SenderType::Agent,
            "Fix:\n```rust\nfn main() {\n    run();\n}\n```\n",
        ));
        assert_eq!(
            text,
            "[09:30:45] claude [agent]:\n    Fix:\n    ```rust\n    fn main() {\n        run();\n    }\n    ```"
        );
    }

    #[test]
    fn key_text_has_the_dotenv_line() {
        let text = key_created_text(&KeyCreated {
            key: "mai_abc".into(),
            prefix: "mai_a".into(),
        });
        assert!(text.lines().any(|l| l == "MEET_AI_KEY=mai_abc"), "{text}");
        assert!(text.lines().next().unwrap().ends_with("mai_abc"));
    }

    #[test]
    fn rooms_text_lists_or_explains() {
        assert!(rooms_text(&[]).contains("create-room"));
        let mut rooms = vec![Room {
            id: "r1".into(),
            name: "design".into(),
            public: false,
            loop_guard: 20,
            created_at: "2026-11-26T09:30:45.123Z".into(),
        }];
        assert_eq!(rooms_text(&rooms), "r1  2026-11-26 09:30  design");
        rooms.push(Room {
            id: "r2".into(),
            name: "demo".into(),
            public: true,
            loop_guard: 20,
            created_at: "2026-11-27T10:00:00.000Z".into(),
        });
        assert_eq!(
            rooms_text(&rooms),
            "r1  2026-11-26 09:30  design\nr2  2026-11-27 10:00  demo  (public)"
        );
        assert_eq!(
            room_created_text(&rooms[0]),
            "Created room \"design\"\nid: r1"
        );
    }

    #[test]
    fn json_array_joins_server_objects_unchanged() {
        let mut a = msg("a", SenderType::Human, "x");
        a.raw = r#"{"id":"1","z":1}"#.into();
        let mut b = msg("b", SenderType::Human, "y");
        b.raw = r#"{"id":"2"}"#.into();
        assert_eq!(json_array(&[]), "[]");
        assert_eq!(json_array(&[a, b]), r#"[{"id":"1","z":1},{"id":"2"}]"#);
    }

    #[test]
    fn exclusion_is_exact_per_name() {
        let ex = vec!["me".to_owned(), " bot ".to_owned()];
        assert!(is_excluded("me", &ex));
        assert!(is_excluded("bot", &ex));
        assert!(!is_excluded("Me", &ex));
        assert!(!is_excluded("mee", &ex));
        assert!(!is_excluded("ada", &[]));
    }
}
