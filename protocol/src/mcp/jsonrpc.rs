//! JSON-RPC 2.0 as MCP uses it: one message per HTTP body, ids that are a
//! string or an integer (never null), no batches (removed in MCP 2025-06-18).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON is not a valid JSON-RPC message (or is a batch, which we refuse).
pub const INVALID_REQUEST: i64 = -32600;
/// No such method.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// The method exists, its params do not fit it (also: an unknown tool).
pub const INVALID_PARAMS: i64 = -32602;
/// Our fault.
pub const INTERNAL_ERROR: i64 = -32603;

/// A request id: a string or an integer. MCP forbids `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Id {
    Number(i64),
    String(String),
}

/// A request: it has an id and wants exactly one response.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: Id,
    pub method: String,
    /// Always an object (absent params read as `{}`).
    pub params: Map<String, Value>,
}

/// What one HTTP body held.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Request(Request),
    /// A notification (no id): it gets no response, only HTTP 202.
    Notification {
        method: String,
    },
    /// A client's answer to a server request. We never send any, so it is
    /// acknowledged (202) and dropped.
    Response,
}

/// The `error` member of a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// A response: `result` or `error`, never both. `id` is `None` (serialized
/// as `null`) only when the request's id could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub jsonrpc: String,
    pub id: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

impl Response {
    pub fn result(id: Id, result: Value) -> Response {
        Response {
            jsonrpc: "2.0".into(),
            id: Some(id),
            result: Some(result),
            error: None,
        }
    }

    pub fn error(id: Option<Id>, code: i64, message: impl Into<String>) -> Response {
        Response {
            jsonrpc: "2.0".into(),
            id,
            result: None,
            error: Some(ErrorObject {
                code,
                message: message.into(),
                data: None,
            }),
        }
    }

    /// The body, serialized. Cannot fail for these types; the fallback keeps
    /// the caller free of a panic path anyway.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            format!(r#"{{"jsonrpc":"2.0","id":null,"error":{{"code":{INTERNAL_ERROR},"message":"internal error"}}}}"#)
        })
    }
}

/// Reads one HTTP body. `Err` is the error response to send (with a `null`
/// id unless the id was readable), always with HTTP 400: the body is not
/// something the server can act on.
pub fn parse(body: &[u8]) -> Result<Incoming, Box<Response>> {
    let value: Value = std::str::from_utf8(body)
        .ok()
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or_else(|| {
            Box::new(Response::error(
                None,
                PARSE_ERROR,
                "parse error: the body is not JSON",
            ))
        })?;
    let object = match value {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Err(Box::new(Response::error(
                None,
                INVALID_REQUEST,
                "batches are not supported: send one JSON-RPC message per request",
            )))
        }
        _ => {
            return Err(Box::new(Response::error(
                None,
                INVALID_REQUEST,
                "a JSON-RPC message must be an object",
            )))
        }
    };
    // A readable id is echoed in the error, so the client can match it.
    let id = match object.get("id") {
        None => None,
        Some(Value::String(s)) => Some(Id::String(s.clone())),
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64().map(Id::Number),
        Some(_) => {
            return Err(Box::new(Response::error(
                None,
                INVALID_REQUEST,
                "id must be a string or an integer",
            )))
        }
    };
    let invalid = |message: &str| Box::new(Response::error(id.clone(), INVALID_REQUEST, message));
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid("jsonrpc must be \"2.0\""));
    }
    let method = match object.get("method") {
        Some(Value::String(m)) => Some(m.clone()),
        Some(_) => return Err(invalid("method must be a string")),
        None => None,
    };
    let params = match object.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        // MCP's params are always named (an object).
        Some(_) => return Err(invalid("params must be an object")),
    };
    match (method, id.clone()) {
        (Some(method), Some(id)) => Ok(Incoming::Request(Request { id, method, params })),
        (Some(method), None) => Ok(Incoming::Notification { method }),
        (None, Some(_)) if object.contains_key("result") || object.contains_key("error") => {
            Ok(Incoming::Response)
        }
        (None, _) => Err(invalid("a request needs a method")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err_code(body: &str) -> (i64, Option<Id>) {
        let r = parse(body.as_bytes()).unwrap_err();
        (r.error.unwrap().code, r.id)
    }

    #[test]
    fn requests_notifications_and_responses() {
        let Incoming::Request(r) = parse(br#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#).unwrap()
        else {
            panic!("not a request")
        };
        assert_eq!(r.id, Id::Number(7));
        assert_eq!(r.method, "ping");
        assert!(r.params.is_empty());
        let Incoming::Request(r) =
            parse(br#"{"jsonrpc":"2.0","id":"a","method":"x","params":{"k":1}}"#).unwrap()
        else {
            panic!("not a request")
        };
        assert_eq!(r.id, Id::String("a".into()));
        assert_eq!(r.params.get("k"), Some(&json!(1)));
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap(),
            Incoming::Notification {
                method: "notifications/initialized".into()
            }
        );
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#).unwrap(),
            Incoming::Response
        );
    }

    #[test]
    fn malformed_messages_get_the_right_codes() {
        assert_eq!(err_code("{"), (PARSE_ERROR, None));
        assert_eq!(err_code(""), (PARSE_ERROR, None));
        assert_eq!(
            parse(&[0xff, 0xfe]).unwrap_err().error.unwrap().code,
            PARSE_ERROR
        );
        assert_eq!(err_code("[]"), (INVALID_REQUEST, None));
        assert_eq!(
            err_code(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#),
            (INVALID_REQUEST, None)
        );
        assert_eq!(err_code("42"), (INVALID_REQUEST, None));
        assert_eq!(
            err_code(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#),
            (INVALID_REQUEST, None)
        );
        assert_eq!(
            err_code(r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#),
            (INVALID_REQUEST, None)
        );
        assert_eq!(
            err_code(r#"{"id":3,"method":"ping"}"#),
            (INVALID_REQUEST, Some(Id::Number(3)))
        );
        assert_eq!(
            err_code(r#"{"jsonrpc":"1.0","id":3,"method":"ping"}"#),
            (INVALID_REQUEST, Some(Id::Number(3)))
        );
        assert_eq!(
            err_code(r#"{"jsonrpc":"2.0","id":3,"method":5}"#),
            (INVALID_REQUEST, Some(Id::Number(3)))
        );
        assert_eq!(
            err_code(r#"{"jsonrpc":"2.0","id":3,"method":"x","params":[1]}"#),
            (INVALID_REQUEST, Some(Id::Number(3)))
        );
        assert_eq!(
            err_code(r#"{"jsonrpc":"2.0","id":"q"}"#),
            (INVALID_REQUEST, Some(Id::String("q".into())))
        );
    }

    #[test]
    fn responses_serialize_per_spec() {
        let ok = Response::result(Id::Number(1), json!({}));
        assert_eq!(
            serde_json::to_value(&ok).unwrap(),
            json!({"jsonrpc":"2.0","id":1,"result":{}})
        );
        let err = Response::error(None, PARSE_ERROR, "bad");
        assert_eq!(
            serde_json::from_str::<Value>(&err.to_json()).unwrap(),
            json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}})
        );
    }
}
