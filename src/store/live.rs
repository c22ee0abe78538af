//! Live delivery's reads: an SSE stream's cheap poll, and what the paid
//! variant's room object reads when a notification cannot be pushed as it
//! stands (a socket lags, a replay, an access check): one round trip (a
//! batch) per round, whatever the number of sockets.

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

#[cfg(feature = "durable-objects")]
pub struct Pending {
    /// For each cursor asked for, the page of messages after it, in commit
    /// order.
    pub pages: Vec<Vec<MessageRow>>,
    /// Which of the readers' keys have been revoked since they connected.
    pub revoked: Vec<String>,
    /// The members among the readers that are still live, as (id, token hash):
    /// a socket whose pair is missing was removed or re-issued.
    pub live_members: Vec<(String, String)>,
    /// Whether the room is public now (None: it no longer exists, or its
    /// owner key was revoked).
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
/// Pages after each of `afters` (the object asks for the slowest socket's
/// cursor and the most advanced one, so a long replay never holds back the
/// sockets that are live), with the access checks, in one batch.
pub async fn pending(
    db: &Db,
    room_id: &str,
    afters: &[i64],
    readers: &[String],
    members: &[String],
) -> AppResult<Pending> {
    let readers_json = serde_json::to_string(readers).unwrap_or_else(|_| "[]".into());
    let members_json = serde_json::to_string(members).unwrap_or_else(|_| "[]".into());
    let sql = format!(
        "SELECT {} FROM messages WHERE room_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        messages::COLS
    );
    let revoked = db.prepare(
        "SELECT id FROM api_keys WHERE id IN (SELECT value FROM json_each(?1)) \
         AND revoked_ms IS NOT NULL",
        &[Arg::Text(&readers_json)],
    )?;
    // A revoked owner key's room reads as gone: every socket closes.
    let room = db.prepare(
        &format!(
            "SELECT r.public FROM rooms r WHERE r.id = ?1 AND {}",
            crate::store::rooms::OWNER_LIVE
        ),
        &[room_id.into()],
    )?;
    let live = members::live_statement(db, &members_json)?;
    let mut statements = vec![revoked, room, live];
    for after in afters {
        statements.push(db.prepare(
            &sql,
            &[room_id.into(), Arg::Int(*after), i64::from(PAGE).into()],
        )?);
    }
    let results = db.batch(statements).await?;
    let revoked: Vec<IdRow> = rows(results.first())?;
    let room: Vec<PublicRow> = rows(results.get(1))?;
    let mut pages = Vec::with_capacity(afters.len());
    for i in 0..afters.len() {
        pages.push(rows(results.get(3 + i))?);
    }
    Ok(Pending {
        pages,
        revoked: revoked.into_iter().map(|r| r.id).collect(),
        live_members: members::live_rows(results.get(2))?
            .into_iter()
            .map(|m| (m.id, m.token_hash))
            .collect(),
        public: room.first().map(|r| r.public != 0),
    })
}
