//! One module per resource; each handler decodes, decides, makes its D1/KV
//! calls and encodes, in that order.

pub mod events;
pub mod health;
pub mod keys;
pub mod messages;
pub mod rooms;
#[cfg(feature = "durable-objects")]
pub mod ws;

use protocol::validate::parse_id;

use crate::error::{AppError, AppResult};

/// A room id from the path. Malformed ids get the same 404 as foreign ones.
pub fn room_id(raw: &str) -> AppResult<String> {
    parse_id(raw).ok_or_else(AppError::room_not_found)
}
