//! The member and mention calls the `wake` and `waiting` scenarios make:
//! adding a member, sending with its token, and `GET …/wait`, which holds
//! the request open up to its timeout and may answer 204 with no body (so it
//! cannot go through [`Client::timed`], whose client has a 30 s total bound).

use std::time::Duration;

use protocol::wire::{MemberCreated, Message, Waited};
use reqwest::Method;
use serde_json::json;
use tokio::time::Instant;

use crate::client::{expect, Client, Result, ServerTiming, Timed};

/// One `GET …/wait` call's outcome. Transport failures have `status == 0`.
#[derive(Debug)]
pub struct WaitCall {
    pub status: u16,
    /// When the request started and when its whole response had arrived.
    pub started: Instant,
    pub ended: Instant,
    pub timing: Option<ServerTiming>,
    /// The body of a 200.
    pub body: Option<Waited>,
    pub error: Option<String>,
}

impl WaitCall {
    pub fn seconds(&self) -> f64 {
        (self.ended - self.started).as_secs_f64()
    }
}

/// Percent-encodes a handle for a query string (handles are
/// `[A-Za-z0-9_.-]` in practice; anything else is escaped byte by byte).
fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The path and query of a wait call.
pub fn wait_path(room: &str, handle: &str, timeout_s: u32, ack: bool) -> String {
    format!(
        "/api/rooms/{room}/wait?for={}&timeout={timeout_s}{}",
        query_escape(handle),
        if ack { "&ack=1" } else { "" }
    )
}

impl Client {
    /// Adds a member to the owner's room; returns its `mem_` token.
    pub async fn add_member(
        &self,
        key: &str,
        room: &str,
        handle: &str,
        role: &str,
    ) -> Result<String> {
        let t: Timed<MemberCreated> = self
            .timed(
                self.http
                    .request(
                        Method::POST,
                        self.url(&format!("/api/rooms/{room}/members")),
                    )
                    .bearer_auth(key)
                    .json(&json!({ "handle": handle, "role": role })),
            )
            .await;
        Ok(expect(t, "POST /api/rooms/:id/members")?.token)
    }

    /// Sends with a member token (the sender is the token's handle).
    pub async fn post_as_member(&self, token: &str, room: &str, content: &str) -> Timed<Message> {
        self.timed(
            self.http
                .request(
                    Method::POST,
                    self.url(&format!("/api/rooms/{room}/messages")),
                )
                .bearer_auth(token)
                .json(&json!({ "content": content })),
        )
        .await
    }

    /// `GET /api/rooms/:room/wait?for=<handle>&timeout=<s>[&ack=1]`, bounded
    /// at the timeout plus 30 s. Its Server-Timing goes into the cost tally.
    pub async fn wait_for(
        &self,
        token: &str,
        room: &str,
        handle: &str,
        timeout_s: u32,
        ack: bool,
    ) -> WaitCall {
        let started = Instant::now();
        let req = self
            .stream_http
            .get(self.url(&wait_path(room, handle, timeout_s, ack)))
            .bearer_auth(token)
            .timeout(Duration::from_secs(u64::from(timeout_s) + 30));
        let t: Timed<Waited> = self.timed(req).await;
        WaitCall {
            status: t.status,
            started,
            ended: Instant::now(),
            timing: t.timing,
            body: t.body,
            // A 204 has no body to read, and that is no error.
            error: if t.status == 204 { None } else { t.error },
        }
    }
}

/// The one room every mention scenario uses: an owner key, a room, an agent
/// `waiter` and a human `caller`, with their tokens.
pub struct MentionRoom {
    pub room: String,
    pub waiter: String,
    pub caller: String,
}

pub const WAITER: &str = "waiter";
pub const CALLER: &str = "caller";

pub async fn mention_room(client: &Client, ip: &str, name: &str) -> Result<MentionRoom> {
    let key = client.create_key(ip).await?;
    let room = client.create_room(&key, name).await?.id;
    let waiter = client.add_member(&key, &room, WAITER, "agent").await?;
    let caller = client.add_member(&key, &room, CALLER, "human").await?;
    Ok(MentionRoom {
        room,
        waiter,
        caller,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_paths_escape_the_handle() {
        assert_eq!(
            wait_path("r1", "waiter", 30, true),
            "/api/rooms/r1/wait?for=waiter&timeout=30&ack=1"
        );
        assert_eq!(
            wait_path("r1", "a b&c", 50, false),
            "/api/rooms/r1/wait?for=a%20b%26c&timeout=50"
        );
    }
}
