use meet_ai_e2e::{Api, Server};
use protocol::wire::Message;

/// A client of the shared server.
pub fn api() -> Api {
    Api::new(&Server::shared().base)
}

/// A well-formed id that names nothing.
pub const UNKNOWN_ID: &str = "00000000-0000-4000-8000-000000000000";

pub fn ids(messages: &[Message]) -> Vec<String> {
    messages.iter().map(|m| m.id.clone()).collect()
}

pub fn contents(messages: &[Message]) -> Vec<String> {
    messages.iter().map(|m| m.content.clone()).collect()
}

/// Asserts an RFC 3339 UTC timestamp with milliseconds: `2026-01-02T03:04:05.678Z`.
pub fn assert_timestamp(ts: &str) {
    let b = ts.as_bytes();
    let ok = ts.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
        && ts
            .chars()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19, 23].contains(&i) || c.is_ascii_digit());
    assert!(ok, "not RFC 3339 UTC with milliseconds: {ts}");
}
