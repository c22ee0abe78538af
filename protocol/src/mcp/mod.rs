//! The Model Context Protocol server, as pure functions: the Worker's
//! `POST /mcp` hands the headers and body here and gets back what to answer,
//! or a [`ToolCall`] to run with the same operations as the REST routes.
//!
//! Transport: Streamable HTTP, stateless. Every POST carries one JSON-RPC
//! message; a request is answered with one `application/json` response, a
//! notification or a client response with 202 and no body. There are no
//! sessions (no `MCP-Session-Id`) and no server-sent streams (`GET` is 405),
//! so nothing is kept between requests: any isolate can answer any call.
//!
//! # Layout
//! - [`jsonrpc`]: JSON-RPC 2.0 messages and error codes.
//! - [`tools`]: the tool definitions and [`ToolCall`], a typed call.
//! - [`result`]: tool results (`CallToolResult`) and [`ToolError`].

pub mod jsonrpc;
pub mod result;
pub mod tools;

use serde_json::{json, Map, Value};

pub use jsonrpc::{Id, Incoming, Response};
pub use result::{call_result, ToolError, ToolOutcome};
pub use tools::{CallError, ToolCall};

use jsonrpc::{INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND};

/// The revisions we speak, newest first. Their differences that reach this
/// server: 2025-06-18 added `structuredContent`, `outputSchema` and `title`
/// (2025-03-26 clients get none of them) and removed batches.
pub const SUPPORTED_VERSIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];
pub const LATEST_VERSION: &str = SUPPORTED_VERSIONS[0];

/// What `initialize` answers for a requested revision: the same one when we
/// speak it, else our latest (the client then decides whether to go on).
pub fn negotiate(requested: &str) -> &'static str {
    SUPPORTED_VERSIONS
        .iter()
        .find(|v| **v == requested)
        .copied()
        .unwrap_or(LATEST_VERSION)
}

/// Whether a revision has structured tool output.
pub fn is_structured(version: &str) -> bool {
    version != "2025-03-26"
}

/// The request headers the transport rules look at.
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers<'a> {
    pub accept: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub protocol_version: Option<&'a str>,
    pub origin: Option<&'a str>,
    /// The request URL's host (with port when not the default).
    pub host: Option<&'a str>,
}

/// A request refused before its body is read: the HTTP status and a JSON-RPC
/// error body with a `null` id.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub status: u16,
    pub body: Box<Response>,
}

fn reject(status: u16, message: impl Into<String>) -> Rejection {
    Rejection {
        status,
        body: Box::new(Response::error(None, INVALID_REQUEST, message)),
    }
}

fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Checks a POST's headers. `Ok` is the revision to answer in: the
/// `MCP-Protocol-Version` header's, or, when it is absent (a first
/// `initialize`, or a hand-written call), our latest, whose output is a
/// superset of the older ones'.
///
/// Lenient where the spec lets a server be: `Accept` must allow JSON (clients
/// are told to list `text/event-stream` too, but we never stream), a missing
/// `Accept` or `Content-Type` is taken as JSON. Strict where it asks: an
/// unsupported `MCP-Protocol-Version` is 400, an `Origin` of another host 403.
pub fn check_post(h: &Headers) -> Result<&'static str, Rejection> {
    if let Some(origin) = h.origin.filter(|o| !o.is_empty() && *o != "null") {
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        if origin_host.is_none() || origin_host != h.host {
            return Err(reject(
                403,
                "Origin does not match this server: cross-site calls are refused",
            ));
        }
    }
    if let Some(ct) = h.content_type {
        if media_type(ct) != "application/json" {
            return Err(reject(415, "Content-Type must be application/json"));
        }
    }
    if let Some(accept) = h.accept {
        let ok = accept
            .split(',')
            .map(media_type)
            .any(|m| m == "application/json" || m == "application/*" || m == "*/*");
        if !ok {
            return Err(reject(
                406,
                "Accept must include application/json (and text/event-stream)",
            ));
        }
    }
    match h.protocol_version.map(str::trim) {
        None => Ok(LATEST_VERSION),
        Some(v) => SUPPORTED_VERSIONS
            .iter()
            .find(|s| **s == v)
            .copied()
            .ok_or_else(|| {
                reject(
                    400,
                    format!(
                        "unsupported MCP-Protocol-Version {v:?}; supported: {}",
                        SUPPORTED_VERSIONS.join(", ")
                    ),
                )
            }),
    }
}

/// What to do with one POST body.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Answer 200 with this response.
    Reply(Response),
    /// A notification or a client's response: 202, no body.
    Accepted,
    /// Not a message we can act on: answer `status` with this error body.
    Rejected { status: u16, body: Box<Response> },
    /// Run the tool, then answer with [`finish_call`].
    Call { id: Id, call: ToolCall },
}

const INSTRUCTIONS: &str = "meet-ai: chat rooms shared by people and coding agents. \
Find your room with list_rooms, catch up with read_messages, post with send_message \
(write @handle to mention someone), and wait for replies with wait_for_messages \
(call it again after a timed_out answer). Every result carries unread_mentions when \
the server knows who you are in that room: when it is above 0, call inbox.";

/// Handles one POST body in revision `version` (from [`check_post`]).
pub fn handle(body: &[u8], version: &'static str) -> Outcome {
    let request = match jsonrpc::parse(body) {
        Ok(Incoming::Request(r)) => r,
        Ok(Incoming::Notification { .. } | Incoming::Response) => return Outcome::Accepted,
        Err(body) => return Outcome::Rejected { status: 400, body },
    };
    let id = request.id;
    let params = request.params;
    let reply = |result: Value| Outcome::Reply(Response::result(id.clone(), result));
    let error = |code: i64, message: String| {
        Outcome::Reply(Response::error(Some(id.clone()), code, message))
    };
    match request.method.as_str() {
        "initialize" => match params.get("protocolVersion").and_then(Value::as_str) {
            Some(requested) => reply(json!({
                "protocolVersion": negotiate(requested),
                "capabilities": {"tools": {"listChanged": false}},
                "serverInfo": {
                    "name": "meet-ai",
                    "title": "meet-ai chat rooms",
                    "version": env!("CARGO_PKG_VERSION")
                },
                "instructions": INSTRUCTIONS
            })),
            None => error(
                INVALID_PARAMS,
                "initialize needs params.protocolVersion (a string)".into(),
            ),
        },
        "ping" => reply(json!({})),
        "tools/list" => reply(json!({"tools": tools::list(is_structured(version))})),
        "tools/call" => {
            let Some(name) = params.get("name").and_then(Value::as_str) else {
                return error(
                    INVALID_PARAMS,
                    "tools/call needs params.name (a string)".into(),
                );
            };
            let empty = Map::new();
            let arguments = match params.get("arguments") {
                None | Some(Value::Null) => &empty,
                Some(Value::Object(a)) => a,
                Some(_) => {
                    return error(INVALID_PARAMS, "params.arguments must be an object".into())
                }
            };
            match ToolCall::parse(name, arguments) {
                Ok(call) => Outcome::Call { id, call },
                Err(CallError::UnknownTool(name)) => error(
                    INVALID_PARAMS,
                    format!("unknown tool: {name} (see tools/list)"),
                ),
                Err(CallError::Arguments(e)) => {
                    reply(call_result(Err(e), None, is_structured(version)))
                }
            }
        }
        other => error(METHOD_NOT_FOUND, format!("method not found: {other}")),
    }
}

/// The response to a [`Outcome::Call`] once the tool has run.
pub fn finish_call(
    id: Id,
    outcome: ToolOutcome,
    unread_mentions: Option<u64>,
    version: &str,
) -> Response {
    Response::result(
        id,
        call_result(outcome, unread_mentions, is_structured(version)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn reply(body: Value) -> Response {
        match handle(body.to_string().as_bytes(), LATEST_VERSION) {
            Outcome::Reply(r) => r,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    fn error_code(body: Value) -> i64 {
        reply(body).error.expect("an error").code
    }

    #[test]
    fn initialize_negotiates_the_version() {
        for (asked, answered) in [
            ("2025-11-25", "2025-11-25"),
            ("2025-06-18", "2025-06-18"),
            ("2025-03-26", "2025-03-26"),
            ("2024-11-05", LATEST_VERSION),
            ("2099-01-01", LATEST_VERSION),
        ] {
            let r = reply(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": asked, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}));
            let result = r.result.unwrap();
            assert_eq!(result["protocolVersion"], answered, "asked {asked}");
            assert_eq!(result["capabilities"]["tools"]["listChanged"], false);
            assert_eq!(result["serverInfo"]["name"], "meet-ai");
            assert!(result["instructions"]
                .as_str()
                .unwrap()
                .contains("wait_for_messages"));
        }
        assert_eq!(
            error_code(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}})),
            INVALID_PARAMS
        );
    }

    #[test]
    fn ping_and_tools_list() {
        let r = reply(json!({"jsonrpc": "2.0", "id": "p", "method": "ping"}));
        assert_eq!(r.id, Some(Id::String("p".into())));
        assert_eq!(r.result, Some(json!({})));
        let r = reply(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}));
        let tools = r.result.unwrap()["tools"].as_array().unwrap().clone();
        let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "list_rooms",
                "create_room",
                "send_message",
                "read_messages",
                "wait_for_messages",
                "inbox",
                "mark_read"
            ]
        );
        assert!(tools.iter().all(|t| t.get("outputSchema").is_some()));
        let Outcome::Reply(old) = handle(
            br#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
            "2025-03-26",
        ) else {
            panic!()
        };
        let old = old.result.unwrap();
        assert!(old["tools"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("outputSchema").is_none()));
    }

    #[test]
    fn tools_call_dispatches_or_explains() {
        let outcome = handle(
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "list_rooms", "arguments": {}}})
            .to_string()
            .as_bytes(),
            LATEST_VERSION,
        );
        assert_eq!(
            outcome,
            Outcome::Call {
                id: Id::Number(3),
                call: ToolCall::ListRooms
            }
        );
        // Absent arguments read as {}.
        assert!(matches!(
            handle(
                br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_rooms"}}"#,
                LATEST_VERSION
            ),
            Outcome::Call { .. }
        ));
        // Bad arguments: a tool result with isError and code bad_request.
        let r = reply(json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
            "params": {"name": "create_room", "arguments": {"name": 7}}}));
        let result = r.result.unwrap();
        assert_eq!(result["isError"], true);
        assert_eq!(result["structuredContent"]["code"], "bad_request");
        // Unknown tool, missing name, non-object arguments: protocol errors.
        for params in [
            json!({"name": "nope"}),
            json!({}),
            json!({"name": 5}),
            json!({"name": "list_rooms", "arguments": [1]}),
        ] {
            assert_eq!(
                error_code(
                    json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": params})
                ),
                INVALID_PARAMS
            );
        }
    }

    #[test]
    fn unknown_methods_are_not_found() {
        for m in [
            "resources/list",
            "prompts/list",
            "logging/setLevel",
            "tools/delete",
            "",
        ] {
            assert_eq!(
                error_code(json!({"jsonrpc": "2.0", "id": 1, "method": m})),
                METHOD_NOT_FOUND,
                "{m}"
            );
        }
    }

    #[test]
    fn notifications_and_responses_are_accepted_without_a_body() {
        for body in [
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}),
            json!({"jsonrpc": "2.0", "method": "notifications/whatever"}),
            json!({"jsonrpc": "2.0", "id": 9, "result": {}}),
            json!({"jsonrpc": "2.0", "id": 9, "error": {"code": 1, "message": "x"}}),
        ] {
            assert_eq!(
                handle(body.to_string().as_bytes(), LATEST_VERSION),
                Outcome::Accepted
            );
        }
    }

    #[test]
    fn malformed_bodies_are_rejected_with_400() {
        for (body, code) in [
            ("not json", jsonrpc::PARSE_ERROR),
            ("[]", INVALID_REQUEST),
            (
                r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
                INVALID_REQUEST,
            ),
            (r#"{"id":1,"method":"ping"}"#, INVALID_REQUEST),
        ] {
            match handle(body.as_bytes(), LATEST_VERSION) {
                Outcome::Rejected { status, body } => {
                    assert_eq!(status, 400);
                    assert_eq!(body.error.as_ref().unwrap().code, code, "{body:?}");
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn finish_call_frames_the_outcome() {
        let mut out = Map::new();
        out.insert("rooms".into(), json!([]));
        let r = finish_call(Id::Number(1), Ok(out), Some(3), "2025-06-18");
        let result = r.result.unwrap();
        assert_eq!(result["structuredContent"]["unread_mentions"], 3);
        let r = finish_call(
            Id::Number(2),
            Err(ToolError::new(ErrorCode::NotFound, "room not found")),
            None,
            "2025-03-26",
        );
        let result = r.result.unwrap();
        assert_eq!(result["isError"], true);
        assert!(result.get("structuredContent").is_none());
    }

    #[test]
    fn header_checks() {
        let ok = Headers {
            accept: Some("application/json, text/event-stream"),
            content_type: Some("application/json"),
            protocol_version: Some("2025-06-18"),
            origin: None,
            host: Some("127.0.0.1:8787"),
        };
        assert_eq!(check_post(&ok), Ok("2025-06-18"));
        // Lenient: no Accept, no Content-Type, no version header.
        assert_eq!(check_post(&Headers::default()), Ok(LATEST_VERSION));
        assert_eq!(
            check_post(&Headers {
                accept: Some("*/*"),
                content_type: Some("application/json; charset=utf-8"),
                ..Headers::default()
            }),
            Ok(LATEST_VERSION)
        );
        let status = |h: Headers| check_post(&h).unwrap_err().status;
        assert_eq!(
            status(Headers {
                protocol_version: Some("2024-11-05"),
                ..ok
            }),
            400
        );
        assert_eq!(
            status(Headers {
                protocol_version: Some("banana"),
                ..ok
            }),
            400
        );
        assert_eq!(
            status(Headers {
                content_type: Some("text/plain"),
                ..ok
            }),
            415
        );
        assert_eq!(
            status(Headers {
                accept: Some("text/event-stream"),
                ..ok
            }),
            406
        );
        assert_eq!(
            status(Headers {
                origin: Some("https://evil.example"),
                ..ok
            }),
            403
        );
        assert_eq!(
            status(Headers {
                origin: Some("garbage"),
                ..ok
            }),
            403
        );
        assert_eq!(
            check_post(&Headers {
                origin: Some("http://127.0.0.1:8787"),
                ..ok
            }),
            Ok("2025-06-18")
        );
    }
}
