//! Live push in the free build: streams poll D1, so there is no one to tell.
//! Each function is its paid twin's (`paid.rs`) signature doing nothing.

use protocol::cursor::RoomId;
use protocol::wire::Message;
use worker::{D1PreparedStatement, D1Result};

use crate::context::Ctx;
use crate::error::AppResult;
use crate::store::d1::Db;

/// Nothing to batch after a send.
pub fn head_statement(_db: &Db, _room_id: &str) -> AppResult<Option<D1PreparedStatement>> {
    Ok(None)
}

pub fn stored(
    _ctx: &Ctx,
    _owner_key_id: &str,
    _room_id: &RoomId,
    _seq: i64,
    _message: &Message,
    _head: Option<&D1Result>,
) {
}

pub async fn key_revoked(_ctx: &Ctx, _key_id: &str) -> AppResult<()> {
    Ok(())
}

pub fn notify(_ctx: &Ctx, _owner_key_id: &str, _room_id: &str) {}
