//! One module per resource: the HTTP face of the operations in `ops/`. Each
//! handler authenticates, decodes the request, calls the operation and
//! encodes what it returns.

pub mod decisions;
pub mod events;
pub mod health;
pub mod inbox;
pub mod keys;
pub mod mcp;
pub mod members;
pub mod messages;
pub mod rooms;
pub mod tickets;
pub mod usage;
#[cfg(feature = "durable-objects")]
pub mod ws;
