//! Live delivery's reads: an SSE stream's cheap poll, and what the paid
//! variant's room object reads to push messages (one round trip, a batch, per
//! push, whatever the number of sockets).

use protocol::wire::MessageRow;
#[cfg(feature = "durable-objects")]
use serde::Deserialize;

use crate::error::AppResult;
#[cfg(feature = "durable-objects")]
use crate::store::d1::rows;
use crate::store::d1::{Arg, Db};
#[cfg(feature = "durable-objects")]
use crate::store::members;
use crate::store::messages;

/// Messages per push; a full page means more are waiting.
#[cfg(feature = "durable-objects")]
pub const PAGE: u32 = 200;

/// An SSE poll between access checks: the room's messages after `after_seq`,
/// in commit order. A seek on `messages_by_room (room_id, seq)`: it reads the
/// rows it returns and nothing when nothing is new (the full poll in
/// [`messages::poll`] also re-checks the key, the member and the room, ~3
/// rows). Access was verified at most `SSE_ACCESS_CHECK_MS` ago.
pub async fn poll_new(
    db: &Db,
    room_id: &str,
    after_seq: i64,
    limit: u32,
) -> AppResult<Vec<MessageRow>> {
    db.all(
        &format!(
            "SELECT {} FROM messages WHERE room_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            messages::COLS
        ),
        &[room_id.into(), Arg::Int(after_seq), i64::from(limit).into()],
    )
    .await
}

#[cfg(feature = "durable-objects")]
pub struct Pending {
    /// Messages after the slowest socket's cursor, in commit order.
    pub messages: Vec<MessageRow>,
    /// Which of the readers' keys have been revoked since they connected.
    pub revoked: Vec<String>,
    /// The members among the readers that are still live, as (id, token hash):
    /// a socket whose pair is missing was removed or re-issued.
    pub live_members: Vec<(String, String)>,
    /// Whether the room is public now (None: it no longer exists).
    pub public: Option<bool>,
}

#[cfg(feature = "durable-objects")]
#[derive(Deserialize)]
struct IdRow {
    id: String,
}

#[cfg(feature = "durable-objects")]
#[derive(Deserialize)]
struct PublicRow {
    public: i64,
}

#[cfg(feature = "durable-objects")]
pub async fn pending(
    db: &Db,
    room_id: &str,
    after_seq: i64,
    readers: &[String],
    members: &[String],
) -> AppResult<Pending> {
    let readers_json = serde_json::to_string(readers).unwrap_or_else(|_| "[]".into());
    let members_json = serde_json::to_string(members).unwrap_or_else(|_| "[]".into());
    let messages = db.prepare(
        &format!(
            "SELECT {} FROM messages WHERE room_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            messages::COLS
        ),
        &[room_id.into(), Arg::Int(after_seq), i64::from(PAGE).into()],
    )?;
    let revoked = db.prepare(
        "SELECT id FROM api_keys WHERE id IN (SELECT value FROM json_each(?1)) \
         AND revoked_ms IS NOT NULL",
        &[Arg::Text(&readers_json)],
    )?;
    let room = db.prepare("SELECT public FROM rooms WHERE id = ?1", &[room_id.into()])?;
    let live = members::live_statement(db, &members_json)?;
    let results = db.batch(vec![messages, revoked, room, live]).await?;
    let revoked: Vec<IdRow> = rows(results.get(1))?;
    let room: Vec<PublicRow> = rows(results.get(2))?;
    Ok(Pending {
        messages: rows(results.first())?,
        revoked: revoked.into_iter().map(|r| r.id).collect(),
        live_members: members::live_rows(results.get(3))?
            .into_iter()
            .map(|m| (m.id, m.token_hash))
            .collect(),
        public: room.first().map(|r| r.public != 0),
    })
}
