//! Pushing to live listeners, one surface for both builds. In the paid
//! variant (`push/paid.rs`) a send's batch also reads the room's two newest
//! `seq`s (after its INSERT, in the same transaction), so the notification
//! can carry the stored message and its predecessor and the room's object
//! pushes it without reading D1 (`protocol::push`); access changes (a
//! revoked key, a room made private, a removed member) notify the object so
//! it re-checks its sockets at once. The free build streams by polling:
//! `push/free.rs` has the same functions, doing nothing, so callers need no
//! `cfg` of their own.

#[cfg_attr(
    any(feature = "durable-objects", feature = "room-object"),
    path = "push/paid.rs"
)]
#[cfg_attr(
    not(any(feature = "durable-objects", feature = "room-object")),
    path = "push/free.rs"
)]
mod imp;

pub use imp::*;
