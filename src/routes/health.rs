//! `GET /api/health`: liveness, with no auth and no database call.

use protocol::wire::Health;
use worker::Response;

use crate::error::json_response;

pub fn get() -> Response {
    json_response(&Health { ok: true }, 200)
}
