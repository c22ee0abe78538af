//! Read cursors (`read_cursors`), the inbox and the wait's poll.
//!
//! A cursor is the `seq` of the last message a handle has read in a room; no
//! row means nothing read. Handles compare without ASCII case (the column is
//! NOCASE). Mentions live on the message as a JSON array, so finding a
//! handle's unread mentions reads only the room's unread messages, through
//! the index that orders the room, and costs no write when a message is sent.

use protocol::wire::{MessageRow, UNREAD_COUNT_CAP};
use serde::Deserialize;

use crate::error::AppResult;
use crate::store::d1::{rows, Arg, Db};
use crate::store::messages::{Reader, COLS};
use crate::store::rooms::STILL_LIVE;

/// The handle's cursor, as a seq (0: nothing read). `?1` room, `?3` handle.
const CURSOR: &str =
    "COALESCE((SELECT seq FROM read_cursors WHERE room_id = ?1 AND handle = ?3), 0)";

/// Unread for `?3`: not its own, and (unless `?6` is 1) mentioning it or all.
const ADDRESSED: &str = "sender <> ?3 COLLATE NOCASE AND (?6 = 1 OR EXISTS \
      (SELECT 1 FROM json_each(mentions) WHERE value = 'all' OR value = ?3 COLLATE NOCASE))";

/// [`ADDRESSED`] with the `any` flag in `?4` (the wait's numbering).
const ADDRESSED_ANY4: &str = "sender <> ?3 COLLATE NOCASE AND (?4 = 1 OR EXISTS \
      (SELECT 1 FROM json_each(mentions) WHERE value = 'all' OR value = ?3 COLLATE NOCASE))";

/// What the inbox shows.
pub struct InboxRows {
    /// The cursor's message id (None: nothing read, or purged).
    pub cursor_id: Option<String>,
    pub unread: u32,
    /// Up to `limit + 1` unread mentions: one more than shown says "has more".
    pub mentions: Vec<MessageRow>,
}

#[derive(Deserialize)]
struct Head {
    cursor_id: Option<String>,
    after_seq: Option<i64>,
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

/// Why an inbox read found nothing to show.
pub enum InboxMiss {
    RoomNotFound,
    AfterNotFound,
}

/// The inbox of `handle` in a room of `key_id`, in one round trip (a batch
/// of the room check and cursor, the unread count, and a page of mentions).
/// `after` pages on past a message id without moving the cursor.
pub async fn inbox(
    db: &Db,
    room_id: &str,
    key_id: &str,
    handle: &str,
    after: Option<&str>,
    limit: u32,
) -> AppResult<Result<InboxRows, InboxMiss>> {
    // D1 wants exactly as many bindings as a statement has placeholders.
    let head = db.prepare(
        &format!(
            "SELECT (SELECT id FROM messages WHERE room_id = ?1 AND seq = {CURSOR}) AS cursor_id, \
               (SELECT seq FROM messages WHERE room_id = ?1 AND id = ?4) AS after_seq \
             FROM rooms WHERE id = ?1 AND key_id = ?2"
        ),
        &[room_id.into(), key_id.into(), handle.into(), after.into()],
    )?;
    let count = db.prepare(
        &format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM messages WHERE room_id = ?1 \
               AND seq > {CURSOR} AND sender <> ?3 COLLATE NOCASE \
               AND EXISTS (SELECT 1 FROM rooms WHERE id = ?1 AND key_id = ?2) \
             LIMIT {UNREAD_COUNT_CAP})"
        ),
        &[room_id.into(), key_id.into(), handle.into()],
    )?;
    let page = db.prepare(
        &format!(
            "SELECT {COLS} FROM messages WHERE room_id = ?1 \
               AND seq > MAX({CURSOR}, COALESCE((SELECT seq FROM messages \
                 WHERE room_id = ?1 AND id = ?4), 0)) \
               AND {ADDRESSED} \
               AND EXISTS (SELECT 1 FROM rooms WHERE id = ?1 AND key_id = ?2) \
             ORDER BY seq LIMIT ?5"
        ),
        &[
            room_id.into(),
            key_id.into(),
            handle.into(),
            after.into(),
            i64::from(limit + 1).into(),
            Arg::Int(0),
        ],
    )?;
    let results = db.batch(vec![head, count, page]).await?;
    let head: Vec<Head> = rows(results.first())?;
    let Some(head) = head.into_iter().next() else {
        return Ok(Err(InboxMiss::RoomNotFound));
    };
    if after.is_some() && head.after_seq.is_none() {
        return Ok(Err(InboxMiss::AfterNotFound));
    }
    let count: Vec<Count> = rows(results.get(1))?;
    Ok(Ok(InboxRows {
        cursor_id: head.cursor_id,
        unread: count
            .first()
            .map_or(0, |c| u32::try_from(c.n).unwrap_or(UNREAD_COUNT_CAP)),
        mentions: rows(results.get(2))?,
    }))
}

#[derive(Deserialize)]
struct Moved {
    found: i64,
    cursor_id: Option<String>,
}

/// Moves `handle`'s cursor forward to `through` (never back), and returns
/// the cursor's message id after; `None` if `through` is not a message of a
/// room of `key_id`. One round trip: the upsert and the read-back as a batch.
pub async fn mark_read(
    db: &Db,
    room_id: &str,
    key_id: &str,
    handle: &str,
    through: &str,
    now_ms: i64,
) -> AppResult<Option<Option<String>>> {
    let args = [
        room_id.into(),
        key_id.into(),
        handle.into(),
        through.into(),
        now_ms.into(),
    ];
    let upsert = db.prepare(
        "INSERT INTO read_cursors (room_id, handle, seq, updated_ms) \
         SELECT ?1, ?3, m.seq, ?5 FROM messages m JOIN rooms r ON r.id = m.room_id AND r.key_id = ?2 \
         WHERE m.room_id = ?1 AND m.id = ?4 \
         ON CONFLICT (room_id, handle) DO UPDATE SET seq = excluded.seq, updated_ms = excluded.updated_ms \
           WHERE excluded.seq > read_cursors.seq",
        &args,
    )?;
    let back = db.prepare(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM messages m JOIN rooms r ON r.id = m.room_id \
               AND r.key_id = ?2 WHERE m.room_id = ?1 AND m.id = ?4) AS found, \
               (SELECT id FROM messages WHERE room_id = ?1 AND seq = {CURSOR}) AS cursor_id, \
               ?5 AS at_ms"
        ),
        &args,
    )?;
    let results = db.batch(vec![upsert, back]).await?;
    let moved: Vec<Moved> = rows(results.get(1))?;
    Ok(moved
        .into_iter()
        .next()
        .filter(|m| m.found != 0)
        .map(|m| m.cursor_id))
}

/// The first poll of a wait: the room's head, and up to `limit` messages
/// addressed to `handle` after its cursor. `None` when the reader lost access.
pub struct Polled {
    pub head: i64,
    /// When the room's newest message was sent: whether it is active.
    pub head_ms: Option<i64>,
    /// The handle's cursor (None: nothing read yet).
    pub cursor_id: Option<String>,
    pub messages: Vec<MessageRow>,
}

#[derive(Deserialize)]
struct WaitHead {
    head: i64,
    head_ms: Option<i64>,
    cursor_id: Option<String>,
}

/// The first poll of a wait: from the handle's cursor, in one round trip (a
/// batch of the access check with the room's head, and the addressed page).
/// Later polls need no cursor and no filter in SQL: they read what is new,
/// as the event stream does (`messages::poll`), and keep what is addressed.
pub async fn poll_addressed(
    db: &Db,
    room_id: &str,
    reader: Reader<'_>,
    handle: &str,
    any: bool,
    limit: u32,
) -> AppResult<Option<Polled>> {
    // `?2` is the reader's key and `?5` its member token, as STILL_LIVE wants.
    let args = [
        room_id.into(),
        reader.key_id.into(),
        handle.into(),
        Arg::Int(i64::from(any)),
        reader.member_hash.into(),
        i64::from(limit).into(),
    ];
    let head = db.prepare(
        &format!(
            "SELECT COALESCE((SELECT MAX(seq) FROM messages WHERE room_id = ?1), 0) AS head, \
               (SELECT created_ms FROM messages WHERE room_id = ?1 \
                ORDER BY seq DESC LIMIT 1) AS head_ms, \
               (SELECT id FROM messages WHERE room_id = ?1 AND seq = {CURSOR}) AS cursor_id \
             FROM rooms r WHERE r.id = ?1 AND r.key_id = ?2 AND {STILL_LIVE}"
        ),
        // Up to ?5: SQLite counts placeholders by the largest index.
        &args[..5],
    )?;
    let page = db.prepare(
        &format!(
            "SELECT {COLS} FROM messages WHERE room_id = ?1 AND seq > {CURSOR} \
               AND {ADDRESSED_ANY4} \
               AND EXISTS (SELECT 1 FROM rooms WHERE id = ?1 AND key_id = ?2) \
             ORDER BY seq LIMIT ?6"
        ),
        &args,
    )?;
    let results = db.batch(vec![head, page]).await?;
    let head: Vec<WaitHead> = rows(results.first())?;
    let Some(head) = head.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(Polled {
        head: head.head,
        head_ms: head.head_ms,
        cursor_id: head.cursor_id,
        messages: rows(results.get(1))?,
    }))
}
