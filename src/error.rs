//! The Worker's one error type, mapped to HTTP in one place ([`AppError::into_response`]).
//!
//! Client errors carry a stable [`ErrorCode`] and a sentence for a human.
//! Internal errors are logged with their cause and answered with an opaque 500:
//! the cause may name tables or bindings, which is nobody's business outside.

use protocol::validate::ValidationError;
use protocol::wire::ErrorBody;
use protocol::ErrorCode;
use worker::{console_error, Response};

#[derive(Debug)]
pub enum AppError {
    Client {
        code: ErrorCode,
        message: String,
        /// Seconds for `Retry-After` (429 only).
        retry_after: Option<u64>,
        /// Methods for `Allow` (405 only).
        allow: Option<&'static str>,
    },
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn client(code: ErrorCode, message: impl Into<String>) -> AppError {
        AppError::Client {
            code,
            message: message.into(),
            retry_after: None,
            allow: None,
        }
    }

    pub fn unauthorized(message: &str) -> AppError {
        AppError::client(ErrorCode::Unauthorized, message)
    }

    /// The one answer for an unknown, malformed or foreign room: the three must
    /// be indistinguishable.
    pub fn room_not_found() -> AppError {
        AppError::client(ErrorCode::NotFound, "room not found")
    }

    pub fn forbidden(message: impl Into<String>) -> AppError {
        AppError::client(ErrorCode::Forbidden, message)
    }

    pub fn conflict(message: impl Into<String>) -> AppError {
        AppError::client(ErrorCode::Conflict, message)
    }

    pub fn rate_limited(message: String, retry_after_secs: u64) -> AppError {
        AppError::Client {
            code: ErrorCode::RateLimited,
            message,
            retry_after: Some(retry_after_secs),
            allow: None,
        }
    }

    /// A 429 with its own code (a per-client limit, the daily budget) and
    /// `Retry-After` in seconds.
    pub fn too_many(
        code: ErrorCode,
        message: impl Into<String>,
        retry_after_secs: u64,
    ) -> AppError {
        AppError::Client {
            code,
            message: message.into(),
            retry_after: Some(retry_after_secs.max(1)),
            allow: None,
        }
    }

    pub fn method_not_allowed(allow: &'static str) -> AppError {
        AppError::Client {
            code: ErrorCode::MethodNotAllowed,
            message: format!("method not allowed; use {allow}"),
            retry_after: None,
            allow: Some(allow),
        }
    }

    pub fn into_response(self) -> Response {
        let (code, message, retry_after, allow) = match self {
            AppError::Client {
                code,
                message,
                retry_after,
                allow,
            } => (code, message, retry_after, allow),
            AppError::Internal(cause) => {
                console_error!("internal error: {cause}");
                (
                    ErrorCode::Internal,
                    "internal error; please try again".to_owned(),
                    None,
                    None,
                )
            }
        };
        let body = ErrorBody {
            error: message,
            code: Some(code),
        };
        let mut response = json_response(&body, code.status());
        let headers = response.headers_mut();
        if let Some(secs) = retry_after {
            let _ = headers.set("Retry-After", &secs.to_string());
        }
        if let Some(allow) = allow {
            let _ = headers.set("Allow", allow);
        }
        response
    }
}

/// Builds a JSON response without any path that can fail or panic: if
/// serialization somehow fails, the client still gets a JSON 500.
pub fn json_response<T: serde::Serialize>(value: &T, status: u16) -> Response {
    let (body, status) = match serde_json::to_string(value) {
        Ok(body) => (body, status),
        Err(e) => {
            console_error!("serialize response: {e}");
            (
                r#"{"error":"internal error","code":"internal"}"#.to_owned(),
                500,
            )
        }
    };
    let mut response = Response::builder()
        .with_status(status)
        .fixed(body.into_bytes());
    let _ = response
        .headers_mut()
        .set("Content-Type", "application/json; charset=utf-8");
    response
}

impl From<protocol::access::Denied> for AppError {
    fn from(e: protocol::access::Denied) -> AppError {
        AppError::client(e.code(), e.to_string())
    }
}

impl From<ValidationError> for AppError {
    fn from(e: ValidationError) -> AppError {
        AppError::client(e.code(), e.to_string())
    }
}

impl From<worker::Error> for AppError {
    fn from(e: worker::Error) -> AppError {
        AppError::Internal(e.to_string())
    }
}

impl From<worker::KvError> for AppError {
    fn from(e: worker::KvError) -> AppError {
        AppError::Internal(format!("kv: {e}"))
    }
}
