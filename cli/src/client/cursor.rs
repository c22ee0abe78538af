//! Read cursors (issue 13): the inbox, marking read, and the long poll that
//! `meet-ai wait` is built on.

use std::time::Duration;

use reqwest::{Method, StatusCode};

use super::{parse_messages, Client, Fetched, RawMessage, WaitQuery};
use crate::error::Result;
use protocol::validate::MAX_WAIT_SECS;
use protocol::wire::{Inbox, ReadCursor};

use crate::wire::{ReadRequest, WaitBatch};

/// How much longer than its own `timeout` a wait call may take before the
/// CLI gives up on the connection (the server answers 204 at `timeout`).
const WAIT_GRACE: Duration = Duration::from_secs(15);

/// What one wait call delivered.
#[derive(Debug)]
pub struct Waited {
    /// Unread messages for the handle, oldest first (up to 50).
    pub messages: Vec<RawMessage>,
}

impl Client {
    /// `GET /api/rooms/:id/inbox`. `for_handle` may be left out with a
    /// member token (the token's handle).
    pub async fn inbox(
        &self,
        room: &str,
        for_handle: Option<&str>,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Fetched<Inbox>> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(handle) = for_handle {
            query.push(("for", handle.to_owned()));
        }
        if let Some(after) = after {
            query.push(("after", after.to_owned()));
        }
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        let req = self
            .authed_at(Method::GET, &["api", "rooms", room, "inbox"])?
            .query(&query);
        self.call(req).await
    }

    /// `POST /api/rooms/:id/read`: moves the cursor forward through `through`.
    pub async fn mark_read(
        &self,
        room: &str,
        for_handle: Option<&str>,
        through: &str,
    ) -> Result<Fetched<ReadCursor>> {
        let req = self
            .authed_at(Method::POST, &["api", "rooms", room, "read"])?
            .json(&ReadRequest {
                for_handle,
                through,
            });
        self.call(req).await
    }

    /// One `GET /api/rooms/:id/wait` of at most `timeout_secs` (1-50):
    /// `None` when it ran out with nothing unread. Never acks (`ack=1` is
    /// not sent): the caller acks after printing.
    pub async fn wait_once(
        &self,
        room: &str,
        handle: &str,
        timeout_secs: u64,
        any: bool,
    ) -> Result<Option<Waited>> {
        let timeout_secs = timeout_secs.clamp(1, u64::from(MAX_WAIT_SECS));
        let query = WaitQuery {
            for_handle: handle,
            timeout: timeout_secs,
            any,
            ack: false,
        };
        let req = self
            .wait_request(room, &query)?
            .timeout(Duration::from_secs(timeout_secs) + WAIT_GRACE);
        let answer = self.send(req).await?;
        if answer.status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let batch: Fetched<WaitBatch> = self.read_json(answer)?;
        let messages = parse_messages(&batch.value.messages)?;
        if messages.is_empty() {
            return Ok(None);
        }
        Ok(Some(Waited { messages }))
    }
}
