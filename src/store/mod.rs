//! Storage: D1, the one source of truth (rate limits count its rows too).
//! SQL lives with the resource it serves; this module owns the plumbing.

pub mod d1;
pub mod decisions;
pub mod inbox;
pub mod keys;
pub mod live;
pub mod members;
pub mod messages;
/// The room object's reads (paid variant only).
#[cfg(feature = "room-object")]
pub mod pump;
pub mod refusal;
pub mod retention;
pub mod rooms;
pub mod send_quota;
pub mod tickets;
