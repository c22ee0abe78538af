//! The `messages` table: sending, history pages and stream polls.
//!
//! Every statement names the owning key, so no query can reach another
//! tenant's rows, and the hot paths are one round trip each: a send checks
//! room ownership and the key's send limits inside its INSERT (and bumps the
//! key's counters in the same batch, see `send_quota`), and a poll checks
//! that the key is still live inside its SELECT.
//!
//! The table (migration 0005) is clustered on (room_id, seq), with one index,
//! on the public id: a send writes 3 rows with the key's counters.

use protocol::idempotency;
use protocol::mention;
use protocol::page_bytes::{keeps, row_bytes, take, PAGE_BYTES, ROW_OVERHEAD_BYTES};
use protocol::validate::{NewMessage, Page, START};
use protocol::wire::{MessageKind, MessageRow, SenderType};
use serde::Deserialize;
use worker::D1PreparedStatement;

use crate::error::AppResult;
use crate::store::d1::{rows, Arg, Db};
pub use crate::store::refusal::{explain_refusal, Refusal};
use crate::store::rooms::{READABLE, STILL_LIVE};
use crate::store::send_quota::{allowed, count_statement, SendLimits};

/// The columns every message read returns (a [`MessageRow`]).
pub const COLS: &str =
    "seq, id, room_id, sender, sender_type, color, content, created_ms, verified, mentions, kind, \
     payload";

/// How an INSERT names the sending credential.
pub enum KeyRef<'a> {
    /// Already authenticated (a WebSocket knows its key's id).
    #[cfg(feature = "room-object")]
    Id(&'a str),
    /// The presented key's hash: the INSERT authenticates it itself, so a
    /// POST can send its auth and its INSERT in one round trip.
    Hash(&'a str),
    /// A member token's hash: the membership supplies sender and type.
    Member(&'a str),
}

/// Everything one INSERT needs.
pub struct NewRecord<'a> {
    pub id: &'a str,
    pub room_id: &'a str,
    pub key: KeyRef<'a>,
    pub message: &'a NewMessage,
    pub idempotency_key: Option<&'a str>,
    /// The key's per-minute limit and daily quota, and the time of the send.
    pub limits: SendLimits,
}

/// The id of a new message: derived from the Idempotency-Key when there is
/// one (so the id's UNIQUE index is the idempotency check), random otherwise.
pub fn new_id(room_id: &str, idempotency_key: Option<&str>) -> String {
    match idempotency_key {
        Some(key) => idempotency::message_id(room_id, key),
        None => uuid::Uuid::new_v4().to_string(),
    }
}

/// The `seq` of a new message in room `room` sent at `?{now}`: after the
/// room's last, and never below the send time, so it only grows even if
/// retention empties the room. Reads one row (the room's last, by the key).
pub fn next_seq(room: &str, now: u8) -> String {
    format!(
        "MAX(COALESCE((SELECT MAX(seq) FROM messages WHERE room_id = {room}), 0) + 1, \
           CAST(?{now} AS INTEGER))"
    )
}

/// Agent messages (plain messages, not notices) since the room's last human
/// one, counted up to one past the largest guard. Reads the trailing agent
/// messages and one more: the guard keeps that run short.
pub(crate) const AGENT_RUN: &str = "(SELECT COUNT(*) FROM (SELECT 1 FROM messages \
      WHERE room_id = r.id AND kind = 'message' AND seq > COALESCE((SELECT seq FROM messages \
        WHERE room_id = r.id AND kind = 'message' AND sender_type = 'human' \
        ORDER BY seq DESC LIMIT 1), 0) LIMIT 1001))";

/// The mentions to store, from the candidates in `?11` (a JSON array): `all`,
/// a current member's handle, or a sender among the room's last 200 messages,
/// each as the room spells it. NULL when none is known.
const MENTIONS: &str = "(SELECT NULLIF(json_group_array(h), '[]') FROM (SELECT \
      CASE WHEN lower(c.value) = 'all' THEN 'all' ELSE COALESCE( \
        (SELECT handle FROM members WHERE room_id = r.id AND handle = c.value AND removed_ms IS NULL), \
        (SELECT s.sender FROM (SELECT sender FROM messages WHERE room_id = r.id \
          ORDER BY seq DESC LIMIT 200) s WHERE s.sender = c.value COLLATE NOCASE LIMIT 1)) END AS h \
      FROM json_each(?11) c) WHERE h IS NOT NULL)";

/// The INSERT that stores a message if the credential is live and may send
/// here, the send limits and the loop guard allow, and the idempotency key is
/// new (it returns the row, or none if any check refused: then
/// [`explain_refusal`] says which), then the statement that counts it against the
/// key's limits: a caller batches both (in this order) with its other work.
pub fn insert_statements(db: &Db, rec: &NewRecord<'_>) -> AppResult<[D1PreparedStatement; 2]> {
    Ok([
        insert_statement(db, rec)?,
        count_statement(db, rec.id, &rec.limits)?,
    ])
}

/// The INSERT alone (its count must follow it in the same batch).
fn insert_statement(db: &Db, rec: &NewRecord<'_>) -> AppResult<D1PreparedStatement> {
    let candidates = mention::candidates(rec.message.content.as_ref());
    let mentions = if candidates.is_empty() {
        // Nothing to resolve: spend no reads (?11 must still appear).
        "NULLIF(?11, ?11)"
    } else {
        MENTIONS
    };
    let (from, sender, sender_type, verified, guarded_type) = match rec.key {
        #[cfg(feature = "room-object")]
        KeyRef::Id(_) => (owner_from("id"), "?4", "?5", 0, "?5"),
        KeyRef::Hash(_) => (owner_from("key_hash"), "?4", "?5", 0, "?5"),
        KeyRef::Member(_) => (
            "FROM members m JOIN rooms r ON r.id = m.room_id \
             JOIN api_keys k ON k.id = r.key_id AND k.revoked_ms IS NULL \
             WHERE m.token_hash = ?3 AND m.removed_ms IS NULL AND m.role <> 'viewer' \
               AND r.id = ?2 AND (?4 IS NULL OR m.handle = ?4)"
                .to_owned(),
            "m.handle",
            "CASE m.role WHEN 'agent' THEN 'agent' ELSE 'human' END",
            1,
            "m.role",
        ),
    };
    let seq = next_seq("r.id", 8);
    // The limits read the key's own row, already joined: exact, since D1 has
    // one writer, and no rows read beyond it.
    let limits = allowed("k", 12);
    let sql = format!(
        "INSERT INTO messages \
           (room_id, seq, id, key_id, sender, sender_type, color, content, created_ms, \
            idempotency_key, body_hash, verified, mentions, kind) \
         SELECT r.id, {seq}, ?1, r.key_id, {sender}, {sender_type}, ?6, ?7, ?8, ?9, ?10, \
           {verified}, {mentions}, 'message' {from} \
           AND ({guarded_type} <> 'agent' OR r.loop_guard = 0 OR {AGENT_RUN} < r.loop_guard) \
           AND {limits} \
         ON CONFLICT (id) DO NOTHING \
         RETURNING {COLS}"
    );
    let key = match rec.key {
        #[cfg(feature = "room-object")]
        KeyRef::Id(id) => id,
        KeyRef::Hash(hash) | KeyRef::Member(hash) => hash,
    };
    let m = rec.message;
    let candidates = serde_json::to_string(&candidates).unwrap_or_else(|_| "[]".into());
    let body_hash = rec.idempotency_key.map(|_| idempotency::fingerprint(m));
    let [window, max, day, cap] = rec.limits.args();
    let args: Vec<Arg<'_>> = vec![
        rec.id.into(),
        rec.room_id.into(),
        key.into(),
        m.sender.as_ref().map(|s| s.as_ref()).into(),
        m.sender_type.as_str().into(),
        m.color.as_ref().map(|c| c.as_ref()).into(),
        m.content.as_ref().into(),
        rec.limits.now_ms.into(),
        rec.idempotency_key.into(),
        body_hash.as_deref().into(),
        Arg::Text(&candidates),
        window,
        max,
        day,
        cap,
    ];
    db.prepare(&sql, &args)
}

/// The FROM and WHERE of an owner's send: the key by `column`, live, owning
/// the room, and the sender not a handle that a member holds there.
fn owner_from(column: &str) -> String {
    format!(
        "FROM rooms r JOIN api_keys k ON k.id = r.key_id AND k.{column} = ?3 AND k.revoked_ms IS NULL \
         WHERE r.id = ?2 AND NOT EXISTS (SELECT 1 FROM members \
           WHERE room_id = r.id AND handle = ?4 AND removed_ms IS NULL)"
    )
}

/// The largest page cut in the Worker rather than in SQL (the default page,
/// and the web UI's 50): at most ~3.3 MB from D1 at 32 KiB a message.
const PLAIN_PAGE: u32 = 100;

/// A message's size for the byte cap (`protocol::page_bytes::row_bytes`):
/// content and payload in UTF-8 bytes plus the overhead bound at `?5`.
const SIZE: &str = "length(CAST(content AS BLOB)) + COALESCE(length(CAST(payload AS BLOB)), 0) \
    + ?5 AS sz";

/// Cuts the rows of `inner` (a statement that selects COLS and SIZE, in page
/// order `dir`, already limited by count) at the byte cap bound at `?6`:
/// a row stays while the rows before it in page order sum to less than the
/// cap (`protocol::page_bytes::keeps`). The window runs over the limited rows
/// only, so the cut reads no more of the table; the caller puts the rows in
/// order (an outer ORDER BY here would cost D1 rows read per row).
fn capped(inner: &str, dir: &str) -> String {
    format!(
        "SELECT {COLS} FROM (SELECT *, \
           SUM(sz) OVER (ORDER BY seq {dir} ROWS UNBOUNDED PRECEDING) AS upto \
           FROM ({inner})) WHERE upto - sz < ?6"
    )
}

/// What a message counts for against the byte cap.
pub fn message_bytes(m: &MessageRow) -> u64 {
    let payload = m.payload.as_ref().map_or(0, String::len);
    row_bytes(m.content.len() as u64, payload as u64)
}

fn byte_cap_arg(n: u64) -> Arg<'static> {
    Arg::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A history page, or why there is none.
pub enum PageResult {
    RoomNotFound,
    CursorNotFound,
    /// `truncated`: the byte cap ended the page before its count; more
    /// (may) follow in the direction paged.
    Rows {
        rows: Vec<MessageRow>,
        truncated: bool,
    },
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
    exclude: Option<&str>,
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
    // `?exclude=`: that sender's messages are left out in SQL, before the
    // count and the byte cap, so a page still holds `limit` others and its
    // last id is a cursor past everything it walked (each excluded row it
    // walks past is a row read). Senders compare as handles do: NOCASE.
    let not_excluded = if exclude.is_some() {
        " AND sender <> ?7 COLLATE NOCASE"
    } else {
        ""
    };
    let owned = format!(
        "room_id = ?1 AND EXISTS (SELECT 1 FROM rooms r WHERE r.id = ?1 AND {READABLE}){not_excluded}"
    );
    let cursor_seq = if cursor.is_some() {
        "(SELECT seq FROM messages WHERE id = ?3 AND room_id = ?1)"
    } else {
        "0"
    };
    // Pages of up to PLAIN_PAGE messages bring their rows whole and are cut
    // here (what D1 returns is bounded like a poll's, and a page costs a row
    // read per message); larger ones are cut in SQL, so 500 large rows never
    // reach wasm, at ~3 rows read per message for the running sum.
    let in_sql = limit > PLAIN_PAGE;
    let size = if in_sql {
        format!(", {SIZE}")
    } else {
        String::new()
    };
    let (inner, dir) = match page {
        Page::Latest => (
            format!("SELECT {COLS}{size} FROM messages WHERE {owned} ORDER BY seq DESC LIMIT ?4"),
            "DESC",
        ),
        Page::After(_) => (
            format!(
                "SELECT {COLS}{size} FROM messages WHERE {owned} AND seq > {cursor_seq} \
                 ORDER BY seq LIMIT ?4"
            ),
            "",
        ),
        Page::Before(_) => (
            format!(
                "SELECT {COLS}{size} FROM messages WHERE {owned} AND seq < {cursor_seq} \
                 ORDER BY seq DESC LIMIT ?4"
            ),
            "DESC",
        ),
    };
    let mut args: Vec<Arg<'_>> = vec![
        room_id.into(),
        reader.into(),
        cursor.into(),
        i64::from(limit).into(),
    ];
    let sql = if in_sql {
        args.push(byte_cap_arg(ROW_OVERHEAD_BYTES));
        args.push(byte_cap_arg(PAGE_BYTES));
        capped(&inner, dir)
    } else {
        if exclude.is_some() {
            // ?5 and ?6 unused here: the sender binds at ?7 either way.
            args.push(Arg::Null);
            args.push(Arg::Null);
        }
        inner
    };
    if let Some(sender) = exclude {
        args.push(sender.into());
    }
    let messages = db.prepare(&sql, &args)?;
    let results = db.batch(vec![check, messages]).await?;
    let check: Vec<CursorRow> = rows(results.first())?;
    let Some(check) = check.into_iter().next() else {
        return Ok(PageResult::RoomNotFound);
    };
    if cursor.is_some() && check.cursor_seq.is_none() {
        return Ok(PageResult::CursorNotFound);
    }
    let mut rows: Vec<MessageRow> = rows(results.get(1))?;
    rows.sort_unstable_by_key(|m| m.seq);
    if !in_sql {
        // Cut in page order: from the cursor on, or back from the newest.
        let fetched = rows.len();
        if dir.is_empty() {
            rows.truncate(take(rows.iter().map(message_bytes), PAGE_BYTES));
        } else {
            let keep = take(rows.iter().rev().map(message_bytes), PAGE_BYTES);
            rows.drain(..fetched - keep);
        }
        let truncated = rows.len() < fetched;
        return Ok(PageResult::Rows { rows, truncated });
    }
    // Cut, if the page is short of its count yet reached the cap: the row
    // after it did not fit. (At the room's very end this may say so once
    // more than needed; the next page is then empty.)
    let bytes: u64 = rows.iter().map(message_bytes).sum();
    Ok(PageResult::Rows {
        truncated: rows.len() < limit as usize && !keeps(bytes, PAGE_BYTES),
        rows,
    })
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
    verified: Option<i64>,
    mentions: Option<String>,
    kind: Option<MessageKind>,
    payload: Option<String>,
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
            verified: self.verified.unwrap_or(0),
            mentions: self.mentions,
            kind: self.kind.unwrap_or_default(),
            payload: self.payload,
        })
    }
}

/// Who a live reader is, for the statements that re-check its access.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    /// The key id (a member's is its room owner's); None: anonymous.
    pub key_id: Option<&'a str>,
    /// A member token's hash: removal or re-issue ends the stream.
    pub member_hash: Option<&'a str>,
}

/// One stream poll: the messages after `after_seq`, in commit order and
/// within the byte cap (the next poll goes on from the last), or `None`
/// if the reader has lost access meanwhile (key revoked, member removed, or
/// the room made private). One statement: the access check rides along as
/// the left side of a join, so revocation costs no extra query.
///
/// The byte cap is applied here, not in SQL as for history pages: a window
/// function would cost an idle poll (most polls) several rows read more,
/// while a poll's count limit already bounds what D1 returns (100 rows).
pub async fn poll(
    db: &Db,
    room_id: &str,
    reader: Reader<'_>,
    after_seq: i64,
    limit: u32,
) -> AppResult<Option<Vec<MessageRow>>> {
    let rows: Vec<PollRow> = db
        .all(
            &format!(
                "SELECT m.seq, m.id, m.room_id, m.sender, m.sender_type, m.color, m.content, \
                   m.created_ms, m.verified, m.mentions, m.kind, m.payload \
                 FROM rooms r LEFT JOIN messages m ON m.room_id = r.id AND m.seq > ?3 \
                 WHERE r.id = ?1 AND {READABLE} AND {STILL_LIVE} \
                 ORDER BY m.seq LIMIT ?4"
            ),
            &[
                room_id.into(),
                reader.key_id.into(),
                Arg::Int(after_seq),
                i64::from(limit).into(),
                reader.member_hash.into(),
            ],
        )
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut messages: Vec<MessageRow> =
        rows.into_iter().filter_map(PollRow::into_message).collect();
    messages.truncate(take(messages.iter().map(message_bytes), PAGE_BYTES));
    Ok(Some(messages))
}
