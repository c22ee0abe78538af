//! One error type for the whole CLI, and the exit codes it maps to.
//!
//! The exit codes are a contract (docs/CLI.md, `meet-ai --help`): scripts and
//! agents branch on them, so they never change meaning.

use std::fmt;
use std::process::ExitCode;
use std::time::Duration;

use protocol::ErrorCode;
use serde::Deserialize;

/// Documented exit codes.
pub mod exit {
    pub const OK: u8 = 0;
    /// Anything not listed below: a refused request (bad input, too large),
    /// a server error, an unreadable file, an unexpected answer.
    pub const FAILURE: u8 = 1;
    /// Usage error (clap's own code; clap exits with it before `run`).
    #[allow(dead_code)]
    pub const USAGE: u8 = 2;
    /// No API key configured, or the server refused it (malformed, unknown, revoked).
    pub const AUTH: u8 = 3;
    /// The room (or the cursor message) does not exist for this key.
    pub const NOT_FOUND: u8 = 4;
    /// A rate limit refused the request (after the retries a send makes).
    pub const RATE_LIMITED: u8 = 5;
    /// The server could not be reached (refused, DNS, TLS, timeout).
    pub const UNREACHABLE: u8 = 6;
    /// `listen --timeout` passed with no message printed.
    pub const TIMEOUT: u8 = 7;
    /// The server does not offer what was asked for (`listen --transport ws`
    /// on a server without WebSocket).
    pub const UNSUPPORTED: u8 = 8;
    /// The credential may not do this (`forbidden`): a member token doing an
    /// owner's job, a viewer sending, a sender name that is not the token's.
    pub const FORBIDDEN: u8 = 9;
    /// It clashes with what exists (`conflict`): the handle is taken, the
    /// room is full of members.
    pub const CONFLICT: u8 = 10;
    /// The room's loop guard refused an agent's message (`loop_guard`): the
    /// last messages were all from agents. Wait for a human; do not retry.
    pub const LOOP_GUARD: u8 = 11;
    /// A key would have gone over plain `http://` to a host that is not
    /// loopback; `--insecure-http` or `MEET_AI_ALLOW_HTTP=1` allows it.
    pub const INSECURE: u8 = 12;
    /// `listen` stopped by SIGINT (Ctrl-C), as shells report 128 + 2.
    pub const INTERRUPTED: u8 = 130;
}

/// A server error code by its name (`not_found`, ...), if this build
/// knows it.
pub fn parse_code(name: &str) -> Option<ErrorCode> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

/// Every 4xx/5xx body: `{"error": "...", "code": "..."}`. Unlike
/// `protocol::wire::ErrorBody` the code is read as a string, so that a code
/// this build does not know yet still leaves the server's sentence (and the
/// status decides the exit code).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiErrorBody {
    pub error: String,
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The server answered with an error body (or a status without one).
    Api {
        code: ErrorCode,
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No key configured.
    NoKey,
    /// The request never got an HTTP answer.
    Unreachable,
    /// `listen --timeout` expired.
    Timeout,
    /// The server lacks a feature the command asked for.
    Unsupported,
    /// stdout was closed by its reader (`| head`): a normal end, exit 0.
    StdoutClosed,
    /// A command line that parses but cannot work (e.g. no sender with an
    /// owner key): exit 2, like clap's own usage errors.
    Usage,
    /// A key refused passage over plain http (exit 12).
    Insecure,
    /// Local problems and unexpected answers.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub kind: Kind,
    /// One sentence, no trailing period needed, shown after `meet-ai: error: `.
    pub message: String,
}

pub type Result<T> = std::result::Result<T, CliError>;

impl CliError {
    pub fn other(message: impl Into<String>) -> CliError {
        CliError {
            kind: Kind::Other,
            message: message.into(),
        }
    }

    pub fn api(code: ErrorCode, status: u16, message: impl Into<String>) -> CliError {
        CliError {
            kind: Kind::Api {
                code,
                status,
                retry_after: None,
            },
            message: message.into(),
        }
    }

    pub fn unreachable(message: impl Into<String>) -> CliError {
        CliError {
            kind: Kind::Unreachable,
            message: message.into(),
        }
    }

    pub fn no_key() -> CliError {
        CliError {
            kind: Kind::NoKey,
            message: "no API key: set MEET_AI_KEY in the environment or in .env, or pass --key \
                      (`meet-ai generate-key` makes one)"
                .into(),
        }
    }

    pub fn insecure(message: impl Into<String>) -> CliError {
        CliError {
            kind: Kind::Insecure,
            message: message.into(),
        }
    }

    pub fn timeout(secs: u64) -> CliError {
        CliError {
            kind: Kind::Timeout,
            message: format!("no message arrived within {secs} seconds (--timeout)"),
        }
    }

    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            kind: Kind::Usage,
            message: message.into(),
        }
    }

    pub fn unsupported(message: impl Into<String>) -> CliError {
        CliError {
            kind: Kind::Unsupported,
            message: message.into(),
        }
    }

    /// The server's error code, if the server answered.
    pub fn code(&self) -> Option<ErrorCode> {
        match self.kind {
            Kind::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status the server refused with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            Kind::Api { status, .. } => Some(status),
            _ => None,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match &self.kind {
            Kind::Api { code, .. } => exit_for(*code),
            Kind::NoKey => exit::AUTH,
            Kind::Unreachable => exit::UNREACHABLE,
            Kind::Timeout => exit::TIMEOUT,
            Kind::Unsupported => exit::UNSUPPORTED,
            Kind::StdoutClosed => exit::OK,
            Kind::Usage => exit::USAGE,
            Kind::Insecure => exit::INSECURE,
            Kind::Other => exit::FAILURE,
        }
    }

    /// Worth trying again (the same request, unchanged): the network failed,
    /// the server failed, or a rate limit asked us to wait.
    pub fn is_transient(&self) -> bool {
        match &self.kind {
            Kind::Unreachable => true,
            Kind::Api { code, status, .. } => {
                // Not loop_guard: only a human's message lifts it. Not the
                // daily budget's codes either: they wait for 00:00 UTC. Not
                // storage_full: only the hourly purge lifts it.
                matches!(
                    code,
                    ErrorCode::RateLimited
                        | ErrorCode::ReadRateLimited
                        | ErrorCode::StreamRateLimited
                        | ErrorCode::Internal
                ) || (*status >= 500 && *code != ErrorCode::StorageFull)
            }
            _ => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind {
            Kind::Api { retry_after, .. } => retry_after,
            _ => None,
        }
    }
}

/// The exit code for a server error code.
pub fn exit_for(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::Unauthorized => exit::AUTH,
        ErrorCode::Forbidden => exit::FORBIDDEN,
        ErrorCode::NotFound => exit::NOT_FOUND,
        // A reused Idempotency-Key clashes with the message it first sent.
        ErrorCode::Conflict | ErrorCode::IdempotencyConflict => exit::CONFLICT,
        // The daily ones are not retried (their wait is hours), but limits all the same.
        ErrorCode::RateLimited
        | ErrorCode::ReadRateLimited
        | ErrorCode::StreamRateLimited
        | ErrorCode::DailyQuota
        | ErrorCode::DailyBudgetLow
        | ErrorCode::DailyWritesSpent
        | ErrorCode::DailyReadsLow
        | ErrorCode::DailyReadsSpent => exit::RATE_LIMITED,
        ErrorCode::LoopGuard => exit::LOOP_GUARD,
        ErrorCode::BadRequest
        | ErrorCode::MethodNotAllowed
        | ErrorCode::PayloadTooLarge
        | ErrorCode::Unprocessable
        | ErrorCode::StorageFull
        | ErrorCode::Internal => exit::FAILURE,
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Kind::Api {
            retry_after: Some(after),
            code,
            ..
        } = self.kind
        {
            if code.status() != 429 || code == ErrorCode::LoopGuard {
                return Ok(());
            }
            write!(f, " (retry after {} s)", after.as_secs().max(1))?;
        }
        Ok(())
    }
}

impl std::error::Error for CliError {}

/// Writing output failed. A reader that went away is a graceful end.
impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            CliError {
                kind: Kind::StdoutClosed,
                message: "stdout was closed".into(),
            }
        } else {
            CliError::other(format!("cannot write output: {e}"))
        }
    }
}

impl From<CliError> for ExitCode {
    fn from(e: CliError) -> ExitCode {
        ExitCode::from(e.exit_code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_code_has_a_documented_exit_code() {
        let cases = [
            (ErrorCode::Unauthorized, 3),
            (ErrorCode::NotFound, 4),
            (ErrorCode::RateLimited, 5),
            (ErrorCode::Forbidden, 9),
            (ErrorCode::Conflict, 10),
            (ErrorCode::LoopGuard, 11),
            (ErrorCode::ReadRateLimited, 5),
            (ErrorCode::StreamRateLimited, 5),
            (ErrorCode::DailyBudgetLow, 5),
            (ErrorCode::DailyWritesSpent, 5),
            (ErrorCode::DailyReadsLow, 5),
            (ErrorCode::DailyReadsSpent, 5),
            (ErrorCode::BadRequest, 1),
            (ErrorCode::MethodNotAllowed, 1),
            (ErrorCode::PayloadTooLarge, 1),
            (ErrorCode::Internal, 1),
        ];
        for (code, exit) in cases {
            assert_eq!(exit_for(code), exit, "{code:?}");
            assert_eq!(CliError::api(code, code.status(), "x").exit_code(), exit);
        }
        assert_eq!(CliError::no_key().exit_code(), 3);
        assert_eq!(CliError::unreachable("x").exit_code(), 6);
        assert_eq!(CliError::timeout(5).exit_code(), 7);
        assert_eq!(CliError::unsupported("x").exit_code(), 8);
        assert_eq!(CliError::usage("x").exit_code(), 2);
        assert!(!CliError::unsupported("x").is_transient());
        assert_eq!(CliError::other("x").exit_code(), 1);
        let closed = CliError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(closed.exit_code(), 0);
        assert_eq!(closed.kind, Kind::StdoutClosed);
        let full = CliError::from(std::io::Error::other("disk full"));
        assert_eq!(full.exit_code(), 1);
    }

    #[test]
    fn only_network_server_and_rate_limit_failures_are_transient() {
        assert!(CliError::unreachable("x").is_transient());
        assert!(CliError::api(ErrorCode::Internal, 500, "x").is_transient());
        assert!(CliError::api(ErrorCode::Internal, 503, "x").is_transient());
        assert!(CliError::api(ErrorCode::RateLimited, 429, "x").is_transient());
    }

    #[test]
    fn rate_limit_message_says_when_to_come_back() {
        let mut e = CliError::api(ErrorCode::RateLimited, 429, "slow down");
        e.kind = Kind::Api {
            code: ErrorCode::RateLimited,
            status: 429,
            retry_after: Some(Duration::from_secs(42)),
        };
        assert_eq!(e.to_string(), "slow down (retry after 42 s)");
        assert_eq!(
            CliError::api(ErrorCode::NotFound, 404, "room not found").to_string(),
            "room not found"
        );
    }
}
