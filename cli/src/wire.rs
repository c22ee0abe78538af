//! Request bodies the CLI sends, and the one answer it reads differently
//! from `protocol::wire` (the wait batch, whose messages it prints byte for
//! byte). Everything else it reads is a `protocol::wire` type.

use protocol::wire::Role;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// `POST /api/rooms/:id/members` body.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NewMember<'a> {
    pub handle: &'a str,
    pub role: Role,
}

/// `POST /api/rooms/:id/read` body (`for` may be left out with a member
/// token: the token's own handle).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReadRequest<'a> {
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_handle: Option<&'a str>,
    pub through: &'a str,
}

/// `GET /api/rooms/:id/wait` with 200, its messages kept raw
/// (`protocol::wire::Waited` decoded; `handle` and `cursor` are not needed).
#[derive(Debug, Deserialize)]
pub struct WaitBatch {
    pub messages: Vec<Box<RawValue>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_serialize_as_the_contract_says() {
        let body = NewMember {
            handle: "ada",
            role: Role::Viewer,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"handle":"ada","role":"viewer"}"#
        );
        let read = ReadRequest {
            for_handle: Some("ada"),
            through: "m1",
        };
        assert_eq!(
            serde_json::to_string(&read).unwrap(),
            r#"{"for":"ada","through":"m1"}"#
        );
        let read = ReadRequest {
            for_handle: None,
            through: "m1",
        };
        assert_eq!(serde_json::to_string(&read).unwrap(), r#"{"through":"m1"}"#);
    }
}
