//! The operations of the API, one function each, shared by every front door:
//! the REST routes (`routes/`) and the MCP endpoint call these and only
//! encode what they return. Each takes typed input (already parsed by
//! `protocol::validate`) and the caller, and returns a `protocol::wire` type,
//! so no operation is implemented twice.

pub mod decisions;
pub mod inbox;
pub mod live;
pub mod members;
pub mod messages;
pub mod rooms;

use protocol::cursor::RoomId;

use crate::auth::{not_readable, Caller};
use crate::error::{AppError, AppResult};

/// A room id from a path or a tool argument. Malformed ids get the same 404
/// as foreign ones (401 for an anonymous caller).
pub fn room_id(raw: &str, caller: &Option<Caller>) -> AppResult<RoomId> {
    RoomId::parse(raw).ok_or_else(|| not_readable(caller))
}

/// A room id for a keyed caller: 404 when malformed.
pub fn keyed_room_id(raw: &str) -> AppResult<RoomId> {
    RoomId::parse(raw).ok_or_else(AppError::room_not_found)
}
