//! Live delivery's reads: an SSE stream's cheap poll (the room object's
//! reads are in `store::pump`).

use protocol::wire::MessageRow;

use crate::error::AppResult;
use crate::store::d1::{Arg, Db};
use crate::store::messages;

/// An SSE poll between access checks: the room's messages after `after_seq`,
/// in commit order, within the byte cap (`protocol::page_bytes`; the next
/// poll goes on from the last). A seek on the primary key `(room_id, seq)`:
/// it reads the rows it returns and nothing when nothing is new (the full
/// poll in [`messages::poll`] also re-checks the key, the member and the
/// room, ~3 rows). Access was verified at most `SSE_ACCESS_CHECK_MS` ago.
pub async fn poll_new(
    db: &Db,
    room_id: &str,
    after_seq: i64,
    limit: u32,
) -> AppResult<Vec<MessageRow>> {
    let mut rows: Vec<MessageRow> = db
        .all(
            &format!(
                "SELECT {} FROM messages WHERE room_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                messages::COLS
            ),
            &[room_id.into(), Arg::Int(after_seq), i64::from(limit).into()],
        )
        .await?;
    let keep = protocol::page_bytes::take(
        rows.iter().map(messages::message_bytes),
        protocol::page_bytes::PAGE_BYTES,
    );
    rows.truncate(keep);
    Ok(rows)
}
