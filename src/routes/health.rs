//! `GET /api/health`: liveness, with no auth and no database call.

use protocol::wire::{Features, Health};
use worker::Response;

use crate::error::json_response;

pub fn get() -> Response {
    let features = Features {
        websocket: cfg!(feature = "durable-objects"),
        members: true,
        mentions: true,
        decisions: true,
    };
    json_response(&Health { ok: true, features }, 200)
}
