//! The tools: their definitions (what `tools/list` shows) and the typed
//! reading of a `tools/call`'s arguments ([`ToolCall`]).
//!
//! Each tool mirrors a CLI verb and is answered by the same operation as its
//! REST twin; the values here are only type-checked. The rules on content
//! (lengths, cursor syntax, handle rules) stay with the operations, so a tool
//! and its REST twin refuse the same input with the same message.

use serde_json::{Map, Value};

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

/// Reads one tool's arguments: every key must be one the tool takes, and
/// each value of the JSON type its schema names. Written out rather than
/// derived: seven serde visitors would cost the wasm bundle more than the
/// whole MCP endpoint.
struct Args<'a> {
    tool: &'a str,
    map: &'a Map<String, Value>,
}

impl<'a> Args<'a> {
    fn new(
        tool: &'a str,
        map: &'a Map<String, Value>,
        allowed: &[&str],
    ) -> Result<Args<'a>, CallError> {
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Args { tool, map }.error(
                unknown,
                &format!(
                    "is not an argument of {tool} (it takes: {})",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(Args { tool, map })
    }

    fn error(&self, key: &str, what: &str) -> CallError {
        CallError::Arguments(ToolError::bad_request(format!(
            "invalid arguments for {}: {key} {what}",
            self.tool
        )))
    }

    /// A present, non-null value (null reads as absent).
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn opt_str(&self, key: &str) -> Result<Option<String>, CallError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.error(key, "must be a string")),
        }
    }

    fn str(&self, key: &str) -> Result<String, CallError> {
        self.opt_str(key)?
            .ok_or_else(|| self.error(key, "is required"))
    }

    fn opt_bool(&self, key: &str) -> Result<Option<bool>, CallError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.error(key, "must be true or false")),
        }
    }

    fn opt_number(&self, key: &str) -> Result<Option<f64>, CallError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => Err(self.error(key, "must be a number")),
        }
    }

    fn opt_integer(&self, key: &str) -> Result<Option<i64>, CallError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            // Huge positive integers cap like the REST limit does.
            Some(Value::Number(n)) if n.is_u64() => Ok(Some(i64::MAX)),
            Some(_) => Err(self.error(key, "must be an integer")),
        }
    }
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
        let args = |allowed: &[&str]| Args::new(name, arguments, allowed);
        Ok(match name {
            "list_rooms" => {
                args(&[])?;
                ToolCall::ListRooms
            }
            "create_room" => ToolCall::CreateRoom {
                name: args(&["name"])?.str("name")?,
            },
            "send_message" => {
                let a = args(&["room_id", "content", "sender", "sender_type", "color"])?;
                let sender_type = match a.opt_str("sender_type")?.as_deref() {
                    None => None,
                    Some("human") => Some(SenderType::Human),
                    Some("agent") => Some(SenderType::Agent),
                    Some(_) => return Err(a.error("sender_type", "must be \"human\" or \"agent\"")),
                };
                ToolCall::SendMessage {
                    room_id: a.str("room_id")?,
                    content: a.str("content")?,
                    sender: a.opt_str("sender")?,
                    sender_type,
                    color: a.opt_str("color")?,
                }
            }
            "read_messages" => {
                let a = args(&["room_id", "after", "limit"])?;
                ToolCall::ReadMessages {
                    room_id: a.str("room_id")?,
                    after: a.opt_str("after")?,
                    limit: a.opt_integer("limit")?,
                }
            }
            "wait_for_messages" => {
                let a = args(&["room_id", "for", "any", "timeout", "ack"])?;
                ToolCall::WaitForMessages {
                    room_id: a.str("room_id")?,
                    for_handle: a.opt_str("for")?,
                    any: a.opt_bool("any")?.unwrap_or(false),
                    timeout_secs: wait_timeout(a.opt_number("timeout")?)?,
                    ack: a.opt_bool("ack")?.unwrap_or(true),
                }
            }
            "inbox" => {
                let a = args(&["room_id", "for"])?;
                ToolCall::Inbox {
                    room_id: a.str("room_id")?,
                    for_handle: a.opt_str("for")?,
                }
            }
            "mark_read" => {
                let a = args(&["room_id", "for", "through"])?;
                ToolCall::MarkRead {
                    room_id: a.str("room_id")?,
                    for_handle: a.opt_str("for")?,
                    through: a.str("through")?,
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
// Definitions

/// What `tools/list` shows, kept as data: schemas written as `json!` code
/// cost the wasm bundle several times their size. The tests below hold the
/// file to the parser above.
const TOOLS_JSON: &str = include_str!("tools.json");

/// The `tools/list` result's `tools`. `structured` is false for clients of
/// revision 2025-03-26, which predates `title` and `outputSchema`.
pub fn list(structured: bool) -> Vec<Value> {
    let mut tools: Vec<Value> = serde_json::from_str(TOOLS_JSON).unwrap_or_default();
    if !structured {
        for tool in &mut tools {
            if let Some(tool) = tool.as_object_mut() {
                tool.remove("outputSchema");
                tool.remove("title");
            }
        }
    }
    tools
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            // The error branch is the same for every tool, with the error
            // codes there are.
            assert_eq!(
                output["anyOf"][1],
                list(true)[0]["outputSchema"]["anyOf"][1]
            );
            let codes = output["anyOf"][1]["properties"]["code"]["enum"]
                .as_array()
                .unwrap()
                .clone();
            for code in [
                crate::ErrorCode::BadRequest,
                crate::ErrorCode::Unauthorized,
                crate::ErrorCode::NotFound,
                crate::ErrorCode::RateLimited,
                crate::ErrorCode::Internal,
            ] {
                assert!(
                    codes.contains(&serde_json::to_value(code).unwrap()),
                    "{code:?}"
                );
            }
            // Every success branch allows unread_mentions.
            assert_eq!(
                output["anyOf"][0]["properties"]["unread_mentions"]["type"],
                "integer"
            );
        }
    }

    #[test]
    fn the_wait_schema_states_the_real_limits() {
        let tools = list(true);
        let wait = tools
            .iter()
            .find(|t| t["name"] == "wait_for_messages")
            .unwrap();
        let timeout = &wait["inputSchema"]["properties"]["timeout"];
        assert_eq!(timeout["maximum"], WAIT_MAX_SECS);
        assert_eq!(timeout["default"], WAIT_DEFAULT_SECS);
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
