//! The request of each endpoint the clients call, built once: the CLI sends
//! them with [`Client::call`](super::Client), the load generator with
//! [`Client::timed`](super::Client::timed), the black-box tests either way.

use protocol::wire::{Role, SendBody};
use reqwest::{Method, RequestBuilder};
use serde::Serialize;

use super::Client;
use crate::error::Result;
use crate::wire::NewMember;

/// The query of a history page (`GET /api/rooms/:id/messages`): the latest
/// `limit` messages, or those `after` (or `before`) a message.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct HistoryQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The query of `GET /api/rooms/:id/wait`: sleep up to `timeout` seconds
/// until a message mentions `for` (or any message, with `any`); `ack`
/// moves the handle's cursor past what it returns.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct WaitQuery<'a> {
    #[serde(rename = "for")]
    pub for_handle: &'a str,
    pub timeout: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not", serialize_with = "one")]
    pub any: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not", serialize_with = "one")]
    pub ack: bool,
}

/// A flag that is on: `1`.
fn one<S: serde::Serializer>(_: &bool, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_u8(1)
}

impl Client {
    /// `GET /api/health`.
    pub fn health_request(&self) -> RequestBuilder {
        self.request(Method::GET, "/api/health")
    }

    /// `POST /api/keys`.
    pub fn create_key_request(&self) -> RequestBuilder {
        self.request(Method::POST, "/api/keys")
    }

    /// `POST /api/rooms`.
    pub fn create_room_request(&self, name: &str) -> Result<RequestBuilder> {
        Ok(self
            .authed(Method::POST, "/api/rooms")?
            .json(&serde_json::json!({ "name": name })))
    }

    /// `POST /api/rooms/:id/messages`; a retried send reuses its
    /// `idempotency_key`, so the server stores it once.
    pub fn send_message_request(
        &self,
        room: &str,
        body: &SendBody,
        idempotency_key: Option<&str>,
    ) -> Result<RequestBuilder> {
        let req = self
            .authed(Method::POST, &format!("/api/rooms/{room}/messages"))?
            .json(body);
        Ok(match idempotency_key {
            Some(k) => req.header("Idempotency-Key", k),
            None => req,
        })
    }

    /// `POST /api/rooms/:id/members`: the answer holds the member's token.
    pub fn invite_request(&self, room: &str, handle: &str, role: Role) -> Result<RequestBuilder> {
        Ok(self
            .authed_at(Method::POST, &["api", "rooms", room, "members"])?
            .json(&NewMember { handle, role }))
    }

    /// `GET /api/rooms/:id/wait`. The server holds it up to its timeout:
    /// the caller bounds it accordingly.
    pub fn wait_request(&self, room: &str, query: &WaitQuery) -> Result<RequestBuilder> {
        Ok(self
            .authed_at(Method::GET, &["api", "rooms", room, "wait"])?
            .query(query))
    }

    /// `GET /api/rooms/:id/messages`, with the key if there is one (a
    /// public room is readable without).
    pub fn history_request(&self, room: &str, query: &HistoryQuery) -> Result<RequestBuilder> {
        Ok(self
            .maybe_authed(Method::GET, &format!("/api/rooms/{room}/messages"))?
            .query(query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_queries_send_flags_only_when_on() {
        let mut q = WaitQuery {
            for_handle: "a b",
            timeout: 30,
            any: false,
            ack: false,
        };
        assert_eq!(
            serde_json::to_value(q).unwrap(),
            serde_json::json!({"for": "a b", "timeout": 30})
        );
        q.ack = true;
        q.any = true;
        assert_eq!(
            serde_json::to_value(q).unwrap(),
            serde_json::json!({"for": "a b", "timeout": 30, "any": 1, "ack": 1})
        );
    }

    #[test]
    fn history_queries_leave_out_what_is_not_set() {
        let q = HistoryQuery {
            before: Some("m9"),
            limit: Some(500),
            ..HistoryQuery::default()
        };
        assert_eq!(
            serde_json::to_value(q).unwrap(),
            serde_json::json!({"before": "m9", "limit": 500})
        );
        assert_eq!(
            serde_json::to_value(HistoryQuery::default()).unwrap(),
            serde_json::json!({})
        );
    }
}
