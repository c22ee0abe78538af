//! Decisions (issue 17): ask, wait for the answer, cancel. Decisions are
//! read as plain JSON (`serde_json::Value`): the hook only needs a few
//! fields and echoes nothing of the server's back.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{Client, REQUEST_TIMEOUT};
use crate::error::Result;

/// `GET …/decisions/:did/wait` holds at most this long (the server's cap).
pub const WAIT_CAP_SECS: u64 = 50;

impl Client {
    /// `POST /api/rooms/:id/decisions` with an Idempotency-Key: the same key
    /// gives back the same decision.
    pub async fn create_decision(
        &self,
        room: &str,
        body: &Value,
        idempotency_key: &str,
    ) -> Result<Value> {
        let req = self
            .authed_at(Method::POST, &["api", "rooms", room, "decisions"])?
            .header("Idempotency-Key", idempotency_key)
            .json(body);
        Ok(self.call::<Value>(req).await?.value)
    }

    /// `GET …/decisions/:did/wait?timeout=N`: the decision once it is no
    /// longer pending, `None` when the server's wait ran out first.
    pub async fn wait_decision(&self, room: &str, id: &str, secs: u64) -> Result<Option<Value>> {
        let secs = secs.clamp(1, WAIT_CAP_SECS);
        let req = self
            .authed_at(
                Method::GET,
                &["api", "rooms", room, "decisions", id, "wait"],
            )?
            .query(&[("timeout", secs.to_string())])
            .timeout(REQUEST_TIMEOUT + std::time::Duration::from_secs(secs));
        let answer = self.send(req).await?;
        if answer.status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        Ok(Some(self.read_json::<Value>(answer)?.value))
    }

    /// `GET …/decisions/:did`.
    pub async fn decision(&self, room: &str, id: &str) -> Result<Value> {
        let req = self.authed_at(Method::GET, &["api", "rooms", room, "decisions", id])?;
        Ok(self.call::<Value>(req).await?.value)
    }

    /// `POST …/decisions/:did/cancel` (only the credential that asked).
    pub async fn cancel_decision(&self, room: &str, id: &str) -> Result<Value> {
        let req = self.authed_at(
            Method::POST,
            &["api", "rooms", room, "decisions", id, "cancel"],
        )?;
        Ok(self.call::<Value>(req).await?.value)
    }
}
