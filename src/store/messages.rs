//! The `messages` table: sending, history pages and stream polls.
//!
//! Every statement names the owning key, so no query can reach another
//! tenant's rows, and the hot paths are one statement each: a send checks room
//! ownership and the per-key rate limit inside its INSERT, and a poll checks
//! that the key is still live inside its SELECT.

use protocol::validate::{NewMessage, Page, START};
use protocol::wire::{MessageRow, SenderType};
use serde::Deserialize;
use worker::D1PreparedStatement;

use crate::error::AppResult;
use crate::store::d1::{rows, Arg, Db};
use crate::store::rooms::READABLE;

const COLS: &str = "seq, id, room_id, sender, sender_type, color, content, created_ms";

/// How an INSERT names the sending key.
pub enum KeyRef<'a> {
    /// Already authenticated (a WebSocket knows its key's id).
    #[cfg(feature = "durable-objects")]
    Id(&'a str),
    /// The presented key's hash: the INSERT authenticates it itself, so a
    /// POST can send its auth and its INSERT in one round trip.
    Hash(&'a str),
}

/// Everything one INSERT needs.
pub struct NewRecord<'a> {
    pub id: &'a str,
    pub room_id: &'a str,
    pub key: KeyRef<'a>,
    pub message: &'a NewMessage,
    pub idempotency_key: Option<&'a str>,
    pub now_ms: i64,
    /// The per-key send limit: at most `max` sends after `window_start_ms`.
    /// `max == 0` means no limit.
    pub max: u32,
    pub window_start_ms: i64,
}

/// Stores a message if the key is live, the room is the key's, the key is under
/// its send limit and the idempotency key is new; returns it, or `None` if any
/// check refused (then [`explain_refusal`] says which).
#[cfg(feature = "durable-objects")]
pub async fn insert(db: &Db, rec: &NewRecord<'_>) -> AppResult<Option<MessageRow>> {
    Ok(db.run(insert_statement(db, rec)?).await?.into_iter().next())
}

/// The INSERT of [`insert`], for a caller that batches it with other work.
pub fn insert_statement(db: &Db, rec: &NewRecord<'_>) -> AppResult<D1PreparedStatement> {
    // The limit counts rows D1 already holds: exact across isolates, and no
    // extra write. The inner LIMIT bounds the rows read to the limit itself.
    let limit_clause = if rec.max == 0 {
        ""
    } else {
        " AND (SELECT COUNT(*) FROM (SELECT 1 FROM messages \
              WHERE key_id = r.key_id AND created_ms > ?10 LIMIT ?11)) < ?11"
    };
    let (key_column, key) = match rec.key {
        #[cfg(feature = "durable-objects")]
        KeyRef::Id(id) => ("id", id),
        KeyRef::Hash(hash) => ("key_hash", hash),
    };
    let sql = format!(
        "INSERT INTO messages \
           (id, room_id, key_id, sender, sender_type, color, content, created_ms, idempotency_key) \
         SELECT ?1, r.id, r.key_id, ?4, ?5, ?6, ?7, ?8, ?9 FROM rooms r \
         JOIN api_keys k ON k.id = r.key_id AND k.{key_column} = ?3 AND k.revoked_ms IS NULL \
         WHERE r.id = ?2{limit_clause} \
         ON CONFLICT (room_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING \
         RETURNING {COLS}"
    );
    let m = rec.message;
    let mut args: Vec<Arg<'_>> = vec![
        rec.id.into(),
        rec.room_id.into(),
        key.into(),
        m.sender.as_ref().into(),
        m.sender_type.as_str().into(),
        m.color.as_ref().map(|c| c.as_ref()).into(),
        m.content.as_ref().into(),
        rec.now_ms.into(),
        rec.idempotency_key.into(),
    ];
    // D1 refuses more bindings than placeholders: the limit's two go only
    // with its clause.
    if !limit_clause.is_empty() {
        args.push(rec.window_start_ms.into());
        args.push(i64::from(rec.max).into());
    }
    db.prepare(&sql, &args)
}

/// Why [`insert`] stored nothing, in the order a client should hear it.
pub enum Refusal {
    /// The key was revoked (a WebSocket outlives the auth it opened with).
    KeyRevoked,
    RoomNotFound,
    /// The idempotency key was used before: here is the original.
    Duplicate(Box<MessageRow>),
    /// Over the send limit. `blocking_ms` is the send that must leave the window
    /// before another fits (None if it already has: a race, retry at once).
    RateLimited {
        blocking_ms: Option<i64>,
    },
}

#[derive(Deserialize)]
struct RefusalRow {
    live: i64,
    owned: i64,
    blocking_ms: Option<i64>,
}

/// Finds out why a send by `key_id` stored nothing: one round trip (a batch),
/// only on this rare path.
pub async fn explain_refusal(db: &Db, rec: &NewRecord<'_>, key_id: &str) -> AppResult<Refusal> {
    let check = db.prepare(
        "SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = ?2 AND revoked_ms IS NULL) AS live, \
           EXISTS (SELECT 1 FROM rooms WHERE id = ?1 AND key_id = ?2) AS owned, \
           (SELECT created_ms FROM messages WHERE key_id = ?2 AND created_ms > ?3 \
            ORDER BY created_ms DESC LIMIT 1 OFFSET ?4) AS blocking_ms",
        &[
            rec.room_id.into(),
            key_id.into(),
            rec.window_start_ms.into(),
            (i64::from(rec.max) - 1).max(0).into(),
        ],
    )?;
    let original = db.prepare(
        &format!(
            "SELECT {COLS} FROM messages WHERE room_id = ?1 AND key_id = ?2 AND idempotency_key = ?3"
        ),
        &[rec.room_id.into(), key_id.into(), rec.idempotency_key.into()],
    )?;
    let results = db.batch(vec![check, original]).await?;
    let check: Vec<RefusalRow> = rows(results.first())?;
    let original: Vec<MessageRow> = rows(results.get(1))?;
    let check = check.into_iter().next();
    if check.as_ref().is_none_or(|c| c.live == 0) {
        return Ok(Refusal::KeyRevoked);
    }
    if check.as_ref().is_none_or(|c| c.owned == 0) {
        return Ok(Refusal::RoomNotFound);
    }
    if let Some(row) = original.into_iter().next() {
        return Ok(Refusal::Duplicate(Box::new(row)));
    }
    Ok(Refusal::RateLimited {
        blocking_ms: check.and_then(|c| c.blocking_ms),
    })
}

/// A history page, or why there is none.
pub enum PageResult {
    RoomNotFound,
    CursorNotFound,
    Rows(Vec<MessageRow>),
}

#[derive(Deserialize)]
struct CursorRow {
    cursor_seq: Option<i64>,
}

/// Reads one page of history, oldest first, in one round trip (a batch of the
/// access/cursor check and the page itself). `reader` is the caller's key id,
/// None for an anonymous reader (who sees public rooms only).
pub async fn page(
    db: &Db,
    room_id: &str,
    reader: Option<&str>,
    page: &Page,
    limit: u32,
) -> AppResult<PageResult> {
    // The START cursor needs no lookup: it sits before every message.
    let cursor = match page {
        Page::Latest => None,
        Page::After(id) | Page::Before(id) if id == START => None,
        Page::After(id) | Page::Before(id) => Some(id.as_str()),
    };
    let check = db.prepare(
        &format!(
            "SELECT (SELECT seq FROM messages WHERE id = ?3 AND room_id = r.id) AS cursor_seq \
             FROM rooms r WHERE r.id = ?1 AND {READABLE}"
        ),
        &[room_id.into(), reader.into(), cursor.into()],
    )?;
    let owned =
        format!("room_id = ?1 AND EXISTS (SELECT 1 FROM rooms WHERE id = ?1 AND {READABLE})");
    let cursor_seq = if cursor.is_some() {
        "(SELECT seq FROM messages WHERE id = ?3 AND room_id = ?1)"
    } else {
        "0"
    };
    let sql = match page {
        Page::Latest => format!(
            "SELECT * FROM (SELECT {COLS} FROM messages WHERE {owned} \
             ORDER BY seq DESC LIMIT ?4) ORDER BY seq"
        ),
        Page::After(_) => format!(
            "SELECT {COLS} FROM messages WHERE {owned} AND seq > {cursor_seq} \
             ORDER BY seq LIMIT ?4"
        ),
        Page::Before(_) => format!(
            "SELECT * FROM (SELECT {COLS} FROM messages WHERE {owned} AND seq < {cursor_seq} \
             ORDER BY seq DESC LIMIT ?4) ORDER BY seq"
        ),
    };
    let messages = db.prepare(
        &sql,
        &[
            room_id.into(),
            reader.into(),
            cursor.into(),
            i64::from(limit).into(),
        ],
    )?;
    let results = db.batch(vec![check, messages]).await?;
    let check: Vec<CursorRow> = rows(results.first())?;
    let Some(check) = check.into_iter().next() else {
        return Ok(PageResult::RoomNotFound);
    };
    if cursor.is_some() && check.cursor_seq.is_none() {
        return Ok(PageResult::CursorNotFound);
    }
    Ok(PageResult::Rows(rows(results.get(1))?))
}

/// Where a stream starts.
#[derive(Deserialize)]
pub struct StreamStart {
    /// The key that owns the room (names the room's Durable Object).
    #[cfg_attr(not(feature = "durable-objects"), allow(dead_code))]
    pub owner_key_id: String,
    /// The room's newest message (0 when empty): "from now".
    pub head_seq: Option<i64>,
    /// The newest message's id: where a stream opened "from now" tells its
    /// client to resume.
    pub head_id: Option<String>,
    /// When the newest message was sent, to tell whether the room is active.
    pub head_ms: Option<i64>,
    /// The client's cursor, resolved (None if absent or not in this room).
    pub cursor_seq: Option<i64>,
}

/// Opens a stream: access, the room's head and the client's cursor in one
/// statement. `None` when the reader may not see the room.
pub async fn open_stream(
    db: &Db,
    room_id: &str,
    reader: Option<&str>,
    cursor: Option<&str>,
) -> AppResult<Option<StreamStart>> {
    db.first(
        &format!(
            "SELECT r.key_id AS owner_key_id, \
               (SELECT MAX(seq) FROM messages WHERE room_id = r.id) AS head_seq, \
               (SELECT id FROM messages WHERE room_id = r.id ORDER BY seq DESC LIMIT 1) AS head_id, \
               (SELECT created_ms FROM messages WHERE room_id = r.id ORDER BY seq DESC LIMIT 1) AS head_ms, \
               (SELECT seq FROM messages WHERE id = ?3 AND room_id = r.id) AS cursor_seq \
             FROM rooms r WHERE r.id = ?1 AND {READABLE}"
        ),
        &[room_id.into(), reader.into(), cursor.into()],
    )
    .await
}

#[derive(Deserialize)]
struct PollRow {
    seq: Option<i64>,
    id: Option<String>,
    room_id: Option<String>,
    sender: Option<String>,
    sender_type: Option<SenderType>,
    color: Option<String>,
    content: Option<String>,
    created_ms: Option<i64>,
}

impl PollRow {
    fn into_message(self) -> Option<MessageRow> {
        Some(MessageRow {
            seq: self.seq?,
            id: self.id?,
            room_id: self.room_id?,
            sender: self.sender?,
            sender_type: self.sender_type?,
            color: self.color,
            content: self.content?,
            created_ms: self.created_ms?,
        })
    }
}

/// One stream poll: the messages after `after_seq`, in commit order, or `None`
/// if the reader has lost access meanwhile (key revoked, or the room made
/// private). One statement: the access check rides along as the left side of
/// a join, so revocation costs no extra query.
pub async fn poll(
    db: &Db,
    room_id: &str,
    reader: Option<&str>,
    after_seq: i64,
    limit: u32,
) -> AppResult<Option<Vec<MessageRow>>> {
    let rows: Vec<PollRow> = db
        .all(
            "SELECT m.seq, m.id, m.room_id, m.sender, m.sender_type, m.color, m.content, m.created_ms \
             FROM rooms r LEFT JOIN messages m ON m.room_id = r.id AND m.seq > ?3 \
             WHERE r.id = ?1 AND (r.key_id = ?2 OR r.public = 1) \
               AND (?2 IS NULL OR EXISTS \
                    (SELECT 1 FROM api_keys WHERE id = ?2 AND revoked_ms IS NULL)) \
             ORDER BY m.seq LIMIT ?4",
            &[room_id.into(), reader.into(), Arg::Int(after_seq), i64::from(limit).into()],
        )
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        rows.into_iter().filter_map(PollRow::into_message).collect(),
    ))
}
