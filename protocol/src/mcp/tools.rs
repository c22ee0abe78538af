//! The tools: their definitions (what `tools/list` shows) and the typed
//! reading of a `tools/call`'s arguments ([`ToolCall`]).
//!
//! Each tool mirrors a CLI verb and is answered by the same operation as its
//! REST twin; the values here are only type-checked. The rules on content
//! (lengths, cursor syntax, handle rules) stay with the operations, so a tool
//! and its REST twin refuse the same input with the same message.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::result::ToolError;
use crate::wire::SenderType;

/// Default seconds `wait_for_messages` waits.
pub const WAIT_DEFAULT_SECS: u32 = 25;
/// Longest wait: well under the 60 s most MCP clients allow a call.
pub const WAIT_MAX_SECS: u32 = 45;

/// A `tools/call`, read and type-checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolCall {
    ListRooms,
    CreateRoom {
        name: String,
    },
    SendMessage {
        room_id: String,
        content: String,
        /// Required with an owner key; optional with a member token (the
        /// handle is the sender).
        sender: Option<String>,
        /// Ignored with a member token (its role decides).
        sender_type: Option<SenderType>,
        color: Option<String>,
    },
    ReadMessages {
        room_id: String,
        after: Option<String>,
        /// Raw, as the REST `limit` query value: the operation applies one rule.
        limit: Option<i64>,
    },
    WaitForMessages {
        room_id: String,
        for_handle: Option<String>,
        any: bool,
        /// Seconds, already defaulted and capped to [`WAIT_MAX_SECS`].
        timeout_secs: u32,
        ack: bool,
    },
    Inbox {
        room_id: String,
        for_handle: Option<String>,
    },
    MarkRead {
        room_id: String,
        for_handle: Option<String>,
        through: String,
    },
}

/// Why a `tools/call` could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No tool of that name: a protocol error (-32602).
    UnknownTool(String),
    /// The arguments do not fit the tool: a tool result with `isError`, so
    /// the model reads it and can correct itself.
    Arguments(ToolError),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoArgs {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRoomArgs {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendArgs {
    room_id: String,
    content: String,
    #[serde(default)]
    sender: Option<String>,
    #[serde(default)]
    sender_type: Option<SenderType>,
    #[serde(default)]
    color: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadArgs {
    room_id: String,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitArgs {
    room_id: String,
    #[serde(default, rename = "for")]
    for_handle: Option<String>,
    #[serde(default)]
    any: bool,
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(default)]
    ack: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InboxArgs {
    room_id: String,
    #[serde(default, rename = "for")]
    for_handle: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkReadArgs {
    room_id: String,
    #[serde(default, rename = "for")]
    for_handle: Option<String>,
    through: String,
}

fn args<T: for<'de> Deserialize<'de>>(
    tool: &str,
    arguments: &Map<String, Value>,
) -> Result<T, CallError> {
    serde_json::from_value(Value::Object(arguments.clone())).map_err(|e| {
        CallError::Arguments(ToolError::bad_request(format!(
            "invalid arguments for {tool}: {e}"
        )))
    })
}

/// The wait's timeout in whole seconds: default 25, capped at 45; zero,
/// negative or not finite is refused (as the REST wait refuses it).
fn wait_timeout(raw: Option<f64>) -> Result<u32, CallError> {
    match raw {
        None => Ok(WAIT_DEFAULT_SECS),
        Some(t) if t.is_finite() && t >= 1.0 => Ok((t.min(WAIT_MAX_SECS as f64)) as u32),
        Some(_) => Err(CallError::Arguments(ToolError::bad_request(format!(
            "timeout must be a number of seconds from 1 to {WAIT_MAX_SECS}"
        )))),
    }
}

impl ToolCall {
    /// Reads `tools/call` params: `{"name": ..., "arguments": {...}}`.
    pub fn parse(name: &str, arguments: &Map<String, Value>) -> Result<ToolCall, CallError> {
        Ok(match name {
            "list_rooms" => {
                args::<NoArgs>(name, arguments)?;
                ToolCall::ListRooms
            }
            "create_room" => {
                let a: CreateRoomArgs = args(name, arguments)?;
                ToolCall::CreateRoom { name: a.name }
            }
            "send_message" => {
                let a: SendArgs = args(name, arguments)?;
                ToolCall::SendMessage {
                    room_id: a.room_id,
                    content: a.content,
                    sender: a.sender,
                    sender_type: a.sender_type,
                    color: a.color,
                }
            }
            "read_messages" => {
                let a: ReadArgs = args(name, arguments)?;
                ToolCall::ReadMessages {
                    room_id: a.room_id,
                    after: a.after,
                    limit: a.limit,
                }
            }
            "wait_for_messages" => {
                let a: WaitArgs = args(name, arguments)?;
                ToolCall::WaitForMessages {
                    room_id: a.room_id,
                    for_handle: a.for_handle,
                    any: a.any,
                    timeout_secs: wait_timeout(a.timeout)?,
                    ack: a.ack.unwrap_or(true),
                }
            }
            "inbox" => {
                let a: InboxArgs = args(name, arguments)?;
                ToolCall::Inbox {
                    room_id: a.room_id,
                    for_handle: a.for_handle,
                }
            }
            "mark_read" => {
                let a: MarkReadArgs = args(name, arguments)?;
                ToolCall::MarkRead {
                    room_id: a.room_id,
                    for_handle: a.for_handle,
                    through: a.through,
                }
            }
            other => return Err(CallError::UnknownTool(other.to_owned())),
        })
    }

    /// The tool's name, as `tools/list` shows it.
    pub fn name(&self) -> &'static str {
        match self {
            ToolCall::ListRooms => "list_rooms",
            ToolCall::CreateRoom { .. } => "create_room",
            ToolCall::SendMessage { .. } => "send_message",
            ToolCall::ReadMessages { .. } => "read_messages",
            ToolCall::WaitForMessages { .. } => "wait_for_messages",
            ToolCall::Inbox { .. } => "inbox",
            ToolCall::MarkRead { .. } => "mark_read",
        }
    }

    /// The room the call is about, if any: where the Worker looks up the
    /// caller's unread mentions.
    pub fn room_id(&self) -> Option<&str> {
        match self {
            ToolCall::ListRooms | ToolCall::CreateRoom { .. } => None,
            ToolCall::SendMessage { room_id, .. }
            | ToolCall::ReadMessages { room_id, .. }
            | ToolCall::WaitForMessages { room_id, .. }
            | ToolCall::Inbox { room_id, .. }
            | ToolCall::MarkRead { room_id, .. } => Some(room_id),
        }
    }
}

// ---------------------------------------------------------------------------
// Schemas

fn room_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "The room id (a UUID)."},
            "name": {"type": "string"},
            "public": {"type": "boolean"},
            "loop_guard": {"type": "integer"},
            "created_at": {"type": "string", "description": "RFC 3339 UTC"}
        },
        "required": ["id", "name", "created_at"]
    })
}

fn message_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "The message id: the cursor for after/through."},
            "room_id": {"type": "string"},
            "sender": {"type": "string"},
            "sender_type": {"type": "string", "enum": ["human", "agent"]},
            "color": {"type": ["string", "null"]},
            "content": {"type": "string", "description": "Markdown."},
            "created_at": {"type": "string"},
            "verified": {"type": "boolean", "description": "Sent with a member token: the sender is that member's handle."},
            "mentions": {"type": "array", "items": {"type": "string"}},
            "kind": {"type": "string", "enum": ["message", "notice"]}
        },
        "required": ["id", "room_id", "sender", "sender_type", "content", "created_at"]
    })
}

fn room_id_arg() -> Value {
    json!({"type": "string", "description": "The room's id (a UUID), from list_rooms or create_room."})
}

fn for_arg() -> Value {
    json!({
        "type": "string",
        "description": "Whose messages: a member handle. Omit it with a member token (it means you); required with an owner key."
    })
}

/// The shape every error result's `structuredContent` has.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "error": {"type": "string", "description": "What went wrong, and how to go on."},
            "code": {
                "type": "string",
                "enum": ["bad_request", "unauthorized", "forbidden", "not_found", "conflict",
                         "method_not_allowed", "payload_too_large", "rate_limited",
                         "loop_guard", "internal"]
            },
            "retry_after": {"type": "integer", "minimum": 0, "description": "Seconds to wait before retrying."},
            "unread_mentions": {"type": "integer", "minimum": 0}
        },
        "required": ["error", "code"]
    })
}

/// An output schema: the success shape or the error shape. Clients validate
/// `structuredContent` against it, error results included.
fn output(properties: Value, required: &[&str]) -> Value {
    let mut props = properties;
    if let Value::Object(map) = &mut props {
        map.insert(
            "unread_mentions".into(),
            json!({
                "type": "integer", "minimum": 0,
                "description": "Messages mentioning you that you have not marked read, when the server knows who you are in this room."
            }),
        );
    }
    json!({
        "type": "object",
        "anyOf": [
            {"type": "object", "properties": props, "required": required},
            error_schema()
        ]
    })
}

/// One tool definition, as `tools/list` shows it.
struct Def {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    input: Value,
    output: Value,
    read_only: bool,
    idempotent: bool,
}

fn defs() -> Vec<Def> {
    let messages = json!({"type": "array", "items": message_schema()});
    vec![
        Def {
            name: "list_rooms",
            title: "List rooms",
            description: "List the chat rooms your credential can see (with a member token: just your room). Use it first to find a room_id.",
            input: json!({"type": "object", "properties": {}, "additionalProperties": false}),
            output: output(json!({"rooms": {"type": "array", "items": room_schema()}}), &["rooms"]),
            read_only: true,
            idempotent: true,
        },
        Def {
            name: "create_room",
            title: "Create a room",
            description: "Create a new chat room (owner key only; limited per day). Returns the room; share its id with the people and agents who should join.",
            input: json!({
                "type": "object",
                "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100, "description": "One line, 1-100 characters."}},
                "required": ["name"],
                "additionalProperties": false
            }),
            output: output(json!({"room": room_schema()}), &["room"]),
            read_only: false,
            idempotent: false,
        },
        Def {
            name: "send_message",
            title: "Send a message",
            description: "Post a message to a room. Write @handle to mention someone (they are told). With a member token the sender is your handle; with an owner key give sender. Agents should set sender_type to \"agent\".",
            input: json!({
                "type": "object",
                "properties": {
                    "room_id": room_id_arg(),
                    "content": {"type": "string", "minLength": 1, "description": "Markdown, up to 32 KB."},
                    "sender": {"type": "string", "description": "Your display name (1-64 characters). Optional with a member token; required with an owner key."},
                    "sender_type": {"type": "string", "enum": ["human", "agent"], "description": "Ignored with a member token (your role decides)."},
                    "color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$", "description": "Optional #rrggbb for your name."}
                },
                "required": ["room_id", "content"],
                "additionalProperties": false
            }),
            output: output(json!({"message": message_schema()}), &["message"]),
            read_only: false,
            idempotent: false,
        },
        Def {
            name: "read_messages",
            title: "Read messages",
            description: "Read a room's history, oldest first. Without after: the latest messages. To page forward, pass the returned next_after as after. Use it to catch up on context; use wait_for_messages to wait for new ones.",
            input: json!({
                "type": "object",
                "properties": {
                    "room_id": room_id_arg(),
                    "after": {"type": "string", "description": "A message id: return the messages after it. 00000000-0000-0000-0000-000000000000 starts at the beginning."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 500, "description": "How many (default 100; larger is capped at 500)."}
                },
                "required": ["room_id"],
                "additionalProperties": false
            }),
            output: output(
                json!({
                    "messages": messages,
                    "next_after": {"type": ["string", "null"], "description": "Pass as after to read on: the last message's id (or your after when nothing came)."}
                }),
                &["messages"],
            ),
            read_only: true,
            idempotent: true,
        },
        Def {
            name: "wait_for_messages",
            title: "Wait for messages",
            description: "Block until something for you arrives in the room, then return it: by default messages that mention you (or @all); with any=true every message not sent by you. Returns early as soon as there is one; after timeout seconds returns timed_out=true with no messages, then call it again. Returned messages are marked read unless ack=false.",
            input: json!({
                "type": "object",
                "properties": {
                    "room_id": room_id_arg(),
                    "for": for_arg(),
                    "any": {"type": "boolean", "default": false, "description": "Wake on any message from someone else, not only mentions."},
                    "timeout": {"type": "integer", "minimum": 1, "maximum": WAIT_MAX_SECS, "default": WAIT_DEFAULT_SECS, "description": "Seconds to wait (default 25, larger is capped at 45)."},
                    "ack": {"type": "boolean", "default": true, "description": "Mark the returned messages read (default true)."}
                },
                "required": ["room_id"],
                "additionalProperties": false
            }),
            output: output(
                json!({
                    "handle": {"type": "string"},
                    "messages": messages,
                    "cursor": {"type": "string", "description": "Your read cursor after the call."},
                    "timed_out": {"type": "boolean", "description": "true: nothing arrived within the timeout."}
                }),
                &["messages", "timed_out"],
            ),
            read_only: false,
            idempotent: false,
        },
        Def {
            name: "inbox",
            title: "Inbox",
            description: "What is unread for you in a room: the count of unread messages and the unread ones that mention you. Cheap; use it when you come back to a room. Nothing is marked read.",
            input: json!({
                "type": "object",
                "properties": {"room_id": room_id_arg(), "for": for_arg()},
                "required": ["room_id"],
                "additionalProperties": false
            }),
            output: output(
                json!({
                    "handle": {"type": "string"},
                    "cursor": {"type": "string"},
                    "unread": {"type": "integer", "minimum": 0},
                    "mentions": messages,
                    "has_more": {"type": "boolean"}
                }),
                &["handle", "cursor", "unread", "mentions"],
            ),
            read_only: true,
            idempotent: true,
        },
        Def {
            name: "mark_read",
            title: "Mark read",
            description: "Move your read cursor forward through a message id, so inbox and wait_for_messages stop returning it and everything before it. Never moves backward.",
            input: json!({
                "type": "object",
                "properties": {
                    "room_id": room_id_arg(),
                    "for": for_arg(),
                    "through": {"type": "string", "description": "The id of the last message you have read."}
                },
                "required": ["room_id", "through"],
                "additionalProperties": false
            }),
            output: output(
                json!({"handle": {"type": "string"}, "cursor": {"type": "string"}}),
                &["handle", "cursor"],
            ),
            read_only: false,
            idempotent: true,
        },
    ]
}

/// The `tools/list` result's `tools`. `structured` is false for clients of
/// revision 2025-03-26, which predates `title` and `outputSchema`.
pub fn list(structured: bool) -> Vec<Value> {
    defs()
        .into_iter()
        .map(|d| {
            let mut tool = json!({
                "name": d.name,
                "description": d.description,
                "inputSchema": d.input,
                "annotations": {
                    "title": d.title,
                    "readOnlyHint": d.read_only,
                    "destructiveHint": false,
                    "idempotentHint": d.idempotent,
                    "openWorldHint": false
                }
            });
            if structured {
                tool["title"] = json!(d.title);
                tool["outputSchema"] = d.output;
            }
            tool
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, args: Value) -> Result<ToolCall, CallError> {
        let Value::Object(map) = args else {
            panic!("args must be an object")
        };
        ToolCall::parse(name, &map)
    }

    fn arg_error(name: &str, args: Value) -> ToolError {
        match parse(name, args) {
            Err(CallError::Arguments(e)) => e,
            other => panic!("expected an argument error, got {other:?}"),
        }
    }

    #[test]
    fn every_tool_parses_its_arguments() {
        assert_eq!(parse("list_rooms", json!({})).unwrap(), ToolCall::ListRooms);
        assert_eq!(
            parse("create_room", json!({"name": "general"})).unwrap(),
            ToolCall::CreateRoom {
                name: "general".into()
            }
        );
        assert_eq!(
            parse(
                "send_message",
                json!({"room_id": "r", "content": "hi", "sender": "ada", "sender_type": "agent", "color": "#aabbcc"})
            )
            .unwrap(),
            ToolCall::SendMessage {
                room_id: "r".into(),
                content: "hi".into(),
                sender: Some("ada".into()),
                sender_type: Some(SenderType::Agent),
                color: Some("#aabbcc".into())
            }
        );
        assert_eq!(
            parse("send_message", json!({"room_id": "r", "content": "hi"})).unwrap(),
            ToolCall::SendMessage {
                room_id: "r".into(),
                content: "hi".into(),
                sender: None,
                sender_type: None,
                color: None
            }
        );
        assert_eq!(
            parse(
                "read_messages",
                json!({"room_id": "r", "after": "m", "limit": 5})
            )
            .unwrap(),
            ToolCall::ReadMessages {
                room_id: "r".into(),
                after: Some("m".into()),
                limit: Some(5)
            }
        );
        assert_eq!(
            parse("wait_for_messages", json!({"room_id": "r"})).unwrap(),
            ToolCall::WaitForMessages {
                room_id: "r".into(),
                for_handle: None,
                any: false,
                timeout_secs: WAIT_DEFAULT_SECS,
                ack: true
            }
        );
        assert_eq!(
            parse(
                "wait_for_messages",
                json!({"room_id": "r", "for": "ada", "any": true, "timeout": 600, "ack": false})
            )
            .unwrap(),
            ToolCall::WaitForMessages {
                room_id: "r".into(),
                for_handle: Some("ada".into()),
                any: true,
                timeout_secs: WAIT_MAX_SECS,
                ack: false
            }
        );
        assert_eq!(
            parse("inbox", json!({"room_id": "r", "for": "ada"})).unwrap(),
            ToolCall::Inbox {
                room_id: "r".into(),
                for_handle: Some("ada".into())
            }
        );
        assert_eq!(
            parse("mark_read", json!({"room_id": "r", "through": "m"})).unwrap(),
            ToolCall::MarkRead {
                room_id: "r".into(),
                for_handle: None,
                through: "m".into()
            }
        );
    }

    #[test]
    fn bad_arguments_are_tool_errors_with_bad_request() {
        for (name, args) in [
            ("list_rooms", json!({"x": 1})),
            ("create_room", json!({})),
            ("create_room", json!({"name": 5})),
            ("send_message", json!({"room_id": "r"})),
            (
                "send_message",
                json!({"room_id": "r", "content": "x", "extra": true}),
            ),
            ("read_messages", json!({"room_id": "r", "limit": "ten"})),
            ("wait_for_messages", json!({"room_id": "r", "timeout": 0})),
            ("wait_for_messages", json!({"room_id": "r", "timeout": -3})),
            ("wait_for_messages", json!({"room_id": "r", "any": "yes"})),
            ("inbox", json!({})),
            ("mark_read", json!({"room_id": "r"})),
        ] {
            let e = arg_error(name, args.clone());
            assert_eq!(e.code, crate::ErrorCode::BadRequest, "{name} {args}");
            assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn unknown_tools_are_protocol_errors() {
        assert_eq!(
            parse("delete_everything", json!({})),
            Err(CallError::UnknownTool("delete_everything".into()))
        );
    }

    #[test]
    fn wait_timeout_rounds_down_and_caps() {
        assert_eq!(wait_timeout(Some(1.9)).unwrap(), 1);
        assert_eq!(wait_timeout(Some(45.0)).unwrap(), 45);
        assert_eq!(wait_timeout(Some(1e300)).unwrap(), 45);
        assert!(wait_timeout(Some(0.5)).is_err());
        assert!(wait_timeout(Some(f64::NAN)).is_err());
    }

    #[test]
    fn names_round_trip() {
        let calls = [
            json!({}),
            json!({"name": "n"}),
            json!({"room_id": "r", "content": "c"}),
            json!({"room_id": "r"}),
            json!({"room_id": "r"}),
            json!({"room_id": "r"}),
            json!({"room_id": "r", "through": "m"}),
        ];
        let tools = list(true);
        assert_eq!(tools.len(), calls.len());
        for (tool, args) in tools.iter().zip(calls) {
            let name = tool["name"].as_str().unwrap();
            let call = parse(name, args).unwrap();
            assert_eq!(call.name(), name);
            assert_eq!(
                call.room_id().is_some(),
                name != "list_rooms" && name != "create_room"
            );
        }
    }

    /// A small structural check of the JSON Schema subset we use: every
    /// object schema's `required` names declared properties, types are known
    /// names, and nested schemas are schemas.
    fn check_schema(schema: &Value, path: &str) {
        let obj = schema
            .as_object()
            .unwrap_or_else(|| panic!("{path}: a schema must be an object"));
        const TYPES: [&str; 7] = [
            "object", "array", "string", "integer", "number", "boolean", "null",
        ];
        match obj.get("type") {
            Some(Value::String(t)) => assert!(TYPES.contains(&t.as_str()), "{path}: type {t}"),
            Some(Value::Array(ts)) => {
                for t in ts {
                    assert!(TYPES.contains(&t.as_str().unwrap()), "{path}: type {t}")
                }
            }
            None => assert!(obj.contains_key("anyOf"), "{path}: no type"),
            Some(other) => panic!("{path}: type {other}"),
        }
        if let Some(props) = obj.get("properties") {
            let props = props.as_object().expect("properties is an object");
            for (k, v) in props {
                check_schema(v, &format!("{path}.{k}"));
            }
            if let Some(req) = obj.get("required") {
                for r in req.as_array().expect("required is an array") {
                    assert!(
                        props.contains_key(r.as_str().unwrap()),
                        "{path}: required {r} undeclared"
                    );
                }
            }
        } else {
            assert!(
                obj.get("required").is_none(),
                "{path}: required without properties"
            );
        }
        if let Some(items) = obj.get("items") {
            check_schema(items, &format!("{path}[]"));
        }
        if let Some(any) = obj.get("anyOf") {
            for (i, s) in any
                .as_array()
                .expect("anyOf is an array")
                .iter()
                .enumerate()
            {
                check_schema(s, &format!("{path}|{i}"));
            }
        }
    }

    #[test]
    fn every_tool_has_valid_input_and_output_schemas() {
        for tool in list(true) {
            let name = tool["name"].as_str().unwrap();
            assert!(!tool["description"].as_str().unwrap().is_empty());
            assert!(
                name.len() <= 128 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            );
            let input = &tool["inputSchema"];
            assert_eq!(
                input["type"], "object",
                "{name}: inputSchema is an object schema"
            );
            assert_eq!(input["additionalProperties"], false, "{name}");
            check_schema(input, name);
            let output = &tool["outputSchema"];
            assert_eq!(
                output["type"], "object",
                "{name}: outputSchema is an object schema"
            );
            check_schema(output, name);
            // The error branch is the same for every tool.
            assert_eq!(output["anyOf"][1], error_schema());
        }
    }

    #[test]
    fn revision_2025_03_26_gets_no_output_schema() {
        for tool in list(false) {
            assert!(tool.get("outputSchema").is_none());
            assert!(tool.get("title").is_none());
            assert!(tool["annotations"]["title"].is_string());
        }
    }

    #[test]
    fn input_schemas_name_exactly_the_accepted_arguments() {
        // Every declared property is accepted by the parser (no schema drift).
        for tool in list(true) {
            let name = tool["name"].as_str().unwrap();
            let props = tool["inputSchema"]["properties"].as_object().unwrap();
            let mut args = Map::new();
            for (k, v) in props {
                let sample = match v["type"].as_str().unwrap() {
                    "string" if v.get("enum").is_some() => v["enum"][0].clone(),
                    "string" => json!("x"),
                    "integer" => json!(5),
                    "boolean" => json!(true),
                    t => panic!("{name}.{k}: unexpected type {t}"),
                };
                args.insert(k.clone(), sample);
            }
            ToolCall::parse(name, &args).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
    }
}
