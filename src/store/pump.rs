//! What a room's object (paid variant) reads when a notification cannot be
//! pushed as it stands (a socket lags, a replay, an access check): one round
//! trip (a batch) per round, whatever the number of sockets. Compiled in the
//! paid build only (`store/mod.rs`).

use protocol::wire::MessageRow;
use serde::Deserialize;
use worker::D1PreparedStatement;

use crate::error::AppResult;
use crate::store::d1::{rows, Arg, Db};
use crate::store::messages;

/// Messages per push; a full page means more are waiting.
pub const PAGE: u32 = 200;

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

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

#[derive(Deserialize)]
struct PublicRow {
    public: i64,
}

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
    let live = live_statement(db, &members_json)?;
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
        live_members: live_rows(results.get(2))?
            .into_iter()
            .map(|m| (m.id, m.token_hash))
            .collect(),
        public: room.first().map(|r| r.public != 0),
    })
}

/// Which of these (member id, token hash) pairs are still live: what the
/// room's object checks before each push, so a removed or re-issued member's
/// socket closes.
pub fn live_statement(db: &Db, ids_json: &str) -> AppResult<D1PreparedStatement> {
    db.prepare(
        "SELECT id, token_hash FROM members \
         WHERE id IN (SELECT value FROM json_each(?1)) AND removed_ms IS NULL",
        &[Arg::Text(ids_json)],
    )
}

#[derive(Debug, Deserialize)]
pub struct LiveMember {
    pub id: String,
    pub token_hash: String,
}

/// Decodes [`live_statement`]'s result.
pub fn live_rows(result: Option<&worker::D1Result>) -> AppResult<Vec<LiveMember>> {
    rows(result)
}
