//! Stable error codes. The Worker maps each to an HTTP status here, once; the CLI
//! maps the same codes to exit codes. The human text travels beside the code.

use serde::{Deserialize, Serialize};

/// What went wrong, as a machine-readable code (the `code` field of an error body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed input: bad JSON, wrong types, out-of-range values.
    BadRequest,
    /// Missing, malformed, unknown or revoked API key.
    Unauthorized,
    /// The credential is valid but may not do this: a member token on an
    /// owner-only action, a viewer sending, a sender name that is not its own.
    Forbidden,
    /// No such resource for this key (also: another tenant's, or a malformed id).
    NotFound,
    /// The path exists but not with this method.
    MethodNotAllowed,
    /// The request clashes with what exists: a handle taken in the room, a
    /// room holding as many members as it may.
    Conflict,
    /// The body or the message content is larger than allowed.
    PayloadTooLarge,
    /// Well-formed, but it does not fit what it answers: a label or a
    /// suggestion a decision did not offer.
    Unprocessable,
    /// A rate limit refused the request; `Retry-After` says when to come back.
    RateLimited,
    /// The room's loop guard refused an agent's message: too many agent
    /// messages in a row with no human between. Wait for a human, or have the
    /// owner raise the room's `loop_guard`.
    LoopGuard,
    /// Too many anonymous reads of public rooms (history, room, featured)
    /// from one client network (an IPv4 address or an IPv6 /64) this minute.
    ReadRateLimited,
    /// Too many stream opens (SSE or WebSocket) from one client this minute;
    /// with each stream's bounded life, this bounds its concurrent streams.
    StreamRateLimited,
    /// The account's daily D1 budget is running low: new keys, rooms and
    /// members wait for the reset (`Retry-After`).
    DailyBudgetLow,
    /// The day's D1 write budget is spent: writes wait for the reset; reads
    /// keep working.
    DailyWritesSpent,
    /// The day's D1 read budget is running low: anonymous reads wait for the
    /// reset; reads with a key keep working.
    DailyReadsLow,
    /// The day's D1 read budget is spent: everything but revocation waits for
    /// the reset.
    DailyReadsSpent,
    /// The key's daily send quota is spent; `Retry-After` points at the next
    /// 00:00 UTC, when it resets.
    DailyQuota,
    /// An Idempotency-Key was reused with a different body: nothing was
    /// stored. Use a new key for a new message.
    IdempotencyConflict,
    /// The database is full (D1's size limit: 500 MB on the free plan): sends
    /// are refused until the retention purge frees space; reads keep working.
    StorageFull,
    /// Our fault. The cause is logged, never shown.
    Internal,
}

/// Whether a database error says the database is full: SQLite's
/// `SQLITE_FULL` ("database or disk is full") or D1's size limit.
pub fn is_storage_full(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("sqlite_full")
        || m.contains("database or disk is full")
        || (m.contains("exceed")
            && m.contains("size")
            && (m.contains("db") || m.contains("database")))
}

impl ErrorCode {
    /// The HTTP status this code is answered with.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Unprocessable | ErrorCode::IdempotencyConflict => 422,
            ErrorCode::RateLimited
            | ErrorCode::LoopGuard
            | ErrorCode::ReadRateLimited
            | ErrorCode::StreamRateLimited
            | ErrorCode::DailyBudgetLow
            | ErrorCode::DailyWritesSpent
            | ErrorCode::DailyReadsLow
            | ErrorCode::DailyReadsSpent
            | ErrorCode::DailyQuota => 429,
            ErrorCode::StorageFull => 507,
            ErrorCode::Internal => 500,
        }
    }

    /// The code a client should assume for a status when the body carried none.
    pub fn from_status(status: u16) -> ErrorCode {
        match status {
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            409 => ErrorCode::Conflict,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            413 => ErrorCode::PayloadTooLarge,
            422 => ErrorCode::Unprocessable,
            429 => ErrorCode::RateLimited,
            507 => ErrorCode::StorageFull,
            400..=499 => ErrorCode::BadRequest,
            _ => ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_from_status() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::Conflict,
            ErrorCode::PayloadTooLarge,
            ErrorCode::Unprocessable,
            ErrorCode::RateLimited,
            ErrorCode::StorageFull,
            ErrorCode::Internal,
        ] {
            assert_eq!(ErrorCode::from_status(code.status()), code);
        }
        // Two codes share 429; a bare status means the plain rate limit.
        assert_eq!(ErrorCode::LoopGuard.status(), 429);
        assert_eq!(ErrorCode::DailyQuota.status(), 429);
        assert_eq!(ErrorCode::IdempotencyConflict.status(), 422);
        assert_eq!(
            serde_json::to_string(&ErrorCode::DailyQuota).unwrap(),
            "\"daily_quota\""
        );
        assert_eq!(
            serde_json::to_string(&ErrorCode::IdempotencyConflict).unwrap(),
            "\"idempotency_conflict\""
        );
        assert_eq!(
            serde_json::to_string(&ErrorCode::LoopGuard).unwrap(),
            "\"loop_guard\""
        );
        for (code, name) in [
            (ErrorCode::ReadRateLimited, "read_rate_limited"),
            (ErrorCode::StreamRateLimited, "stream_rate_limited"),
            (ErrorCode::DailyBudgetLow, "daily_budget_low"),
            (ErrorCode::DailyWritesSpent, "daily_writes_spent"),
            (ErrorCode::DailyReadsLow, "daily_reads_low"),
            (ErrorCode::DailyReadsSpent, "daily_reads_spent"),
        ] {
            assert_eq!(code.status(), 429);
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
    }

    #[test]
    fn a_full_database_is_recognised_and_nothing_else_is() {
        for full in [
            "D1_ERROR: database or disk is full: SQLITE_FULL",
            "D1_ERROR: Exceeded maximum DB size",
            "Error: SQLITE_FULL",
            "database exceeds its maximum size",
        ] {
            assert!(is_storage_full(full), "{full}");
        }
        for other in [
            "D1_ERROR: UNIQUE constraint failed: messages.id",
            "D1_ERROR: no such table: x",
            "Network connection lost.",
            "page size exceeded",
        ] {
            assert!(!is_storage_full(other), "{other}");
        }
    }

    #[test]
    fn codes_serialize_as_snake_case_strings() {
        assert_eq!(
            serde_json::to_string(&ErrorCode::RateLimited).unwrap(),
            "\"rate_limited\""
        );
        assert_eq!(
            serde_json::to_string(&ErrorCode::Unprocessable).unwrap(),
            "\"unprocessable\""
        );
        assert_eq!(
            serde_json::to_string(&ErrorCode::StorageFull).unwrap(),
            "\"storage_full\""
        );
    }
}
