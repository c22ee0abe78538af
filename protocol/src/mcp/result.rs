//! Tool results (`CallToolResult`): a text block with the JSON, the same
//! JSON as `structuredContent`, and `isError` for a refused call.

use serde_json::{json, Map, Value};

use crate::ErrorCode;

/// A refused tool call, with the REST API's error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds, for `rate_limited` (and `loop_guard` when known).
    pub retry_after: Option<u64>,
}

impl ToolError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ToolError {
        ToolError {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ToolError {
        ToolError::new(ErrorCode::BadRequest, message)
    }

    /// Our fault: the cause is logged by the caller, never shown.
    pub fn internal() -> ToolError {
        ToolError::new(ErrorCode::Internal, "internal error; please try again")
    }

    fn to_object(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("error".into(), json!(self.message));
        map.insert("code".into(), json!(self.code));
        if let Some(secs) = self.retry_after {
            map.insert("retry_after".into(), json!(secs));
        }
        map
    }
}

/// What a tool produced: its output object (the shape its `outputSchema`
/// names) or an error.
pub type ToolOutcome = Result<Map<String, Value>, ToolError>;

/// Frames an outcome as a `CallToolResult`.
///
/// `unread_mentions` is the caller's count of unread messages that mention it
/// in the call's room, when the Worker knows it; it is added to the output
/// (success or error), so an agent learns of mentions from any call without
/// polling. `structured` is false for revision 2025-03-26 clients, which get
/// the text block only.
pub fn call_result(outcome: ToolOutcome, unread_mentions: Option<u64>, structured: bool) -> Value {
    let is_error = outcome.is_err();
    let mut object = match outcome {
        Ok(object) => object,
        Err(e) => e.to_object(),
    };
    if let Some(n) = unread_mentions {
        object.insert("unread_mentions".into(), json!(n));
    }
    let value = Value::Object(object);
    let text = serde_json::to_string(&value).unwrap_or_default();
    let mut result = Map::new();
    result.insert("content".into(), json!([{"type": "text", "text": text}]));
    result.insert("isError".into(), Value::Bool(is_error));
    if structured {
        result.insert("structuredContent".into(), value);
    }
    Value::Object(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_carries_text_and_structured_content() {
        let mut out = Map::new();
        out.insert("rooms".into(), json!([]));
        let r = call_result(Ok(out), Some(2), true);
        assert_eq!(r["isError"], false);
        assert_eq!(
            r["structuredContent"],
            json!({"rooms": [], "unread_mentions": 2})
        );
        let text = r["content"][0]["text"].as_str().unwrap();
        assert_eq!(r["content"][0]["type"], "text");
        assert_eq!(
            serde_json::from_str::<Value>(text).unwrap(),
            r["structuredContent"]
        );
    }

    #[test]
    fn errors_use_the_rest_codes() {
        let mut e = ToolError::new(ErrorCode::RateLimited, "slow down");
        e.retry_after = Some(7);
        let r = call_result(Err(e), None, true);
        assert_eq!(r["isError"], true);
        assert_eq!(
            r["structuredContent"],
            json!({"error": "slow down", "code": "rate_limited", "retry_after": 7})
        );
        let r = call_result(Err(ToolError::internal()), Some(0), false);
        assert!(r.get("structuredContent").is_none());
        let text: Value = serde_json::from_str(r["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text["code"], "internal");
        assert_eq!(text["unread_mentions"], 0);
    }
}
