//! The send path's hook for live push. In the paid variant a send's batch also
//! reads the room's two newest `seq`s (after its INSERT, in the same
//! transaction), so the notification can carry the stored message and its
//! predecessor and the room's object pushes it without reading D1
//! (`protocol::push`). The free build streams by polling: both are no-ops.

use protocol::wire::Message;
use worker::{D1PreparedStatement, D1Result};

use crate::context::Ctx;
use crate::error::AppResult;
use crate::store::d1::Db;

/// The statement to batch after a send's INSERT (paid variant only): the
/// room's two newest `seq`s, newest first, along the table's primary key (room_id, seq).
pub fn head_statement(db: &Db, room_id: &str) -> AppResult<Option<D1PreparedStatement>> {
    #[cfg(feature = "durable-objects")]
    return db
        .prepare(
            "SELECT seq FROM messages WHERE room_id = ?1 ORDER BY seq DESC LIMIT 2",
            &[room_id.into()],
        )
        .map(Some);
    #[cfg(not(feature = "durable-objects"))]
    {
        let _ = (db, room_id);
        Ok(None)
    }
}

/// After a stored send: tells the room's object, with the message when the
/// batch's [`head_statement`] names its predecessor, plainly otherwise.
pub fn stored(
    ctx: &Ctx,
    owner_key_id: &str,
    room_id: &str,
    seq: i64,
    message: &Message,
    head: Option<&D1Result>,
) {
    #[cfg(feature = "durable-objects")]
    {
        #[derive(serde::Deserialize)]
        struct SeqRow {
            seq: i64,
        }
        let newest: Vec<i64> = crate::store::d1::rows::<SeqRow>(head)
            .map(|r| r.into_iter().map(|r| r.seq).collect())
            .unwrap_or_default();
        match protocol::push::predecessor(seq, &newest) {
            Some(prev) => {
                crate::room::notify_message(ctx, owner_key_id, room_id, seq, prev, message)
            }
            None => crate::room::notify(ctx, owner_key_id, room_id),
        }
    }
    #[cfg(not(feature = "durable-objects"))]
    let _ = (ctx, owner_key_id, room_id, seq, message, head);
}
