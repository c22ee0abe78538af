//! Storage: D1 (the one source of truth) and KV (counters of rare events).
//! SQL lives with the resource it serves; this module owns the plumbing.

pub mod d1;
pub mod decisions;
pub mod inbox;
pub mod keys;
pub mod kv;
pub mod live;
pub mod members;
pub mod messages;
pub mod retention;
pub mod rooms;
