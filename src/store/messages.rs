//! The `messages` table: sending, history pages and stream polls.
//!
//! Every statement names the owning key, so no query can reach another
//! tenant's rows, and the hot paths are one statement each: a send checks room
//! ownership and the per-key rate limit inside its INSERT, and a poll checks
//! that the key is still live inside its SELECT.

use protocol::mention;
use protocol::validate::{NewMessage, Page, START};
use protocol::wire::{MessageKind, MessageRow, SenderType, NOTICE_SENDER};
use serde::Deserialize;
use worker::D1PreparedStatement;

use crate::error::AppResult;
use crate::store::d1::{rows, Arg, Db};
use crate::store::rooms::READABLE;

/// The columns every message read returns (a [`MessageRow`]).
pub const COLS: &str =
    "seq, id, room_id, sender, sender_type, color, content, created_ms, verified, mentions, kind, \
     payload";

/// How an INSERT names the sending credential.
pub enum KeyRef<'a> {
    /// Already authenticated (a WebSocket knows its key's id).
    #[cfg(feature = "durable-objects")]
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
    pub now_ms: i64,
    /// The per-key send limit: at most `max` sends after `window_start_ms`.
    /// `max == 0` means no limit.
    pub max: u32,
    pub window_start_ms: i64,
}

/// Agent messages (plain messages, not notices) since the room's last human
/// one, counted up to one past the largest guard. Reads the trailing agent
/// messages and one more: the guard keeps that run short.
const AGENT_RUN: &str = "(SELECT COUNT(*) FROM (SELECT 1 FROM messages \
      WHERE room_id = r.id AND kind = 'message' AND seq > COALESCE((SELECT seq FROM messages \
        WHERE room_id = r.id AND kind = 'message' AND sender_type = 'human' \
        ORDER BY seq DESC LIMIT 1), 0) LIMIT 1001))";

/// The mentions to store, from the candidates in `?12` (a JSON array): `all`,
/// a current member's handle, or a sender among the room's last 200 messages,
/// each as the room spells it. NULL when none is known.
const MENTIONS: &str = "(SELECT NULLIF(json_group_array(h), '[]') FROM (SELECT \
      CASE WHEN lower(c.value) = 'all' THEN 'all' ELSE COALESCE( \
        (SELECT handle FROM members WHERE room_id = r.id AND handle = c.value AND removed_ms IS NULL), \
        (SELECT s.sender FROM (SELECT sender FROM messages WHERE room_id = r.id \
          ORDER BY seq DESC LIMIT 200) s WHERE s.sender = c.value COLLATE NOCASE LIMIT 1)) END AS h \
      FROM json_each(?12) c) WHERE h IS NOT NULL)";

/// The INSERT that stores a message if the credential is live and may send
/// here, the send limit and the loop guard allow, and the idempotency key is
/// new; it returns the row, or none if any check refused (then
/// [`explain_refusal`] says which).
pub fn insert_statement(db: &Db, rec: &NewRecord<'_>) -> AppResult<D1PreparedStatement> {
    // The limit counts rows D1 already holds: exact across isolates, and no
    // extra write. The inner LIMIT bounds the rows read to the limit itself.
    let limit_clause = if rec.max == 0 {
        ""
    } else {
        " AND (SELECT COUNT(*) FROM (SELECT 1 FROM messages \
              WHERE key_id = r.key_id AND created_ms > ?10 LIMIT ?11)) < ?11"
    };
    let candidates = mention::candidates(rec.message.content.as_ref());
    let mentions = if candidates.is_empty() {
        // Nothing to resolve: spend no reads (?12 must still appear).
        "NULLIF(?12, ?12)"
    } else {
        MENTIONS
    };
    let (from, sender, sender_type, verified, guarded_type) = match rec.key {
        #[cfg(feature = "durable-objects")]
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
    let sql = format!(
        "INSERT INTO messages \
           (id, room_id, key_id, sender, sender_type, color, content, created_ms, \
            idempotency_key, verified, mentions, kind) \
         SELECT ?1, r.id, r.key_id, {sender}, {sender_type}, ?6, ?7, ?8, ?9, {verified}, \
           {mentions}, 'message' {from} \
           AND ({guarded_type} <> 'agent' OR r.loop_guard = 0 OR {AGENT_RUN} < r.loop_guard)\
           {limit_clause} \
         ON CONFLICT (room_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING \
         RETURNING {COLS}"
    );
    let key = match rec.key {
        #[cfg(feature = "durable-objects")]
        KeyRef::Id(id) => id,
        KeyRef::Hash(hash) | KeyRef::Member(hash) => hash,
    };
    let m = rec.message;
    let candidates = serde_json::to_string(&candidates).unwrap_or_else(|_| "[]".into());
    let args: Vec<Arg<'_>> = vec![
        rec.id.into(),
        rec.room_id.into(),
        key.into(),
        m.sender.as_ref().map(|s| s.as_ref()).into(),
        m.sender_type.as_str().into(),
        m.color.as_ref().map(|c| c.as_ref()).into(),
        m.content.as_ref().into(),
        rec.now_ms.into(),
        rec.idempotency_key.into(),
        rec.window_start_ms.into(),
        i64::from(rec.max).into(),
        Arg::Text(&candidates),
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

/// Why [`insert_statement`] stored nothing, in the order a client should hear it. The
/// credential-only reasons (a viewer, a member naming another sender) are
/// decided from the caller by [`protocol::access`] before this is asked.
pub enum Refusal {
    /// The key was revoked or the member removed (a WebSocket outlives the
    /// auth it opened with).
    KeyRevoked,
    RoomNotFound,
    /// An owner key sent under a handle a member of the room holds.
    HandleReserved,
    /// The idempotency key was used before: here is the original.
    Duplicate(Box<MessageRow>),
    /// Too many agent messages in a row; `notice` is the notice stored now,
    /// if this refusal was the one that tripped it.
    LoopGuard {
        limit: i64,
        notice: Option<Box<MessageRow>>,
    },
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
    reserved: i64,
    guard: i64,
    /// NULL when the room does not exist.
    run: Option<i64>,
    blocking_ms: Option<i64>,
}

/// The words of the notice the room shows when its loop guard trips.
pub fn loop_guard_notice(limit: i64) -> String {
    format!(
        "Loop guard: {limit} agent messages in a row with no human in between, so agents are \
         paused here. A person can reply to let them continue, or the owner can raise the \
         room's loop_guard."
    )
}

/// Finds out why a send by `key_id` (as `sender`, of `sender_type`, from
/// `member_hash` if a member) stored nothing: one round trip (a batch), only
/// on this rare path. When the loop guard refused, it also stores the
/// room's notice, once per trip.
pub async fn explain_refusal(
    db: &Db,
    rec: &NewRecord<'_>,
    key_id: &str,
    member_hash: Option<&str>,
    sender: &str,
    sender_type: &str,
) -> AppResult<Refusal> {
    let check = db.prepare(
        &format!(
            "SELECT (EXISTS (SELECT 1 FROM api_keys WHERE id = ?2 AND revoked_ms IS NULL) \
                AND (?6 IS NULL OR EXISTS (SELECT 1 FROM members \
                     WHERE token_hash = ?6 AND removed_ms IS NULL))) AS live, \
               EXISTS (SELECT 1 FROM rooms WHERE id = ?1 AND key_id = ?2) AS owned, \
               (?6 IS NULL AND EXISTS (SELECT 1 FROM members WHERE room_id = ?1 AND handle = ?5 \
                AND removed_ms IS NULL)) AS reserved, \
               COALESCE((SELECT loop_guard FROM rooms WHERE id = ?1), 0) AS guard, \
               (SELECT {AGENT_RUN} FROM rooms r WHERE r.id = ?1) AS run, \
               (SELECT created_ms FROM messages WHERE key_id = ?2 AND created_ms > ?3 \
                ORDER BY created_ms DESC LIMIT 1 OFFSET ?4) AS blocking_ms"
        ),
        &[
            rec.room_id.into(),
            key_id.into(),
            rec.window_start_ms.into(),
            (i64::from(rec.max) - 1).max(0).into(),
            sender.into(),
            member_hash.into(),
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
    let Some(check) = check.into_iter().next() else {
        return Ok(Refusal::KeyRevoked);
    };
    if check.live == 0 {
        return Ok(Refusal::KeyRevoked);
    }
    if check.owned == 0 {
        return Ok(Refusal::RoomNotFound);
    }
    if check.reserved != 0 {
        return Ok(Refusal::HandleReserved);
    }
    if let Some(row) = original.into_iter().next() {
        return Ok(Refusal::Duplicate(Box::new(row)));
    }
    if sender_type == "agent" && check.guard > 0 && check.run.unwrap_or(0) >= check.guard {
        let notice =
            store_notice(db, rec.room_id, &loop_guard_notice(check.guard), rec.now_ms).await?;
        return Ok(Refusal::LoopGuard {
            limit: check.guard,
            notice: notice.map(Box::new),
        });
    }
    Ok(Refusal::RateLimited {
        blocking_ms: check.blocking_ms,
    })
}

/// Posts a server notice to the room unless the newest message already is
/// one, so a tripped guard shows once however many agents keep trying.
async fn store_notice(
    db: &Db,
    room_id: &str,
    text: &str,
    now_ms: i64,
) -> AppResult<Option<MessageRow>> {
    let id = uuid::Uuid::new_v4().to_string();
    db.first(
        &format!(
            "INSERT INTO messages (id, room_id, key_id, sender, sender_type, color, content, \
               created_ms, verified, kind) \
             SELECT ?1, r.id, r.key_id, ?3, 'agent', NULL, ?4, ?5, 1, 'notice' FROM rooms r \
             WHERE r.id = ?2 AND NOT EXISTS (SELECT 1 FROM (SELECT kind FROM messages \
               WHERE room_id = r.id ORDER BY seq DESC LIMIT 1) WHERE kind = 'notice') \
             RETURNING {COLS}"
        ),
        &[
            id.as_str().into(),
            room_id.into(),
            NOTICE_SENDER.into(),
            text.into(),
            now_ms.into(),
        ],
    )
    .await
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

/// The clause that re-checks, inside a poll, that the reader may still read:
/// its key is live and, for a member, its token is. `?2` is the key id and
/// `?5` the member token's hash.
pub const STILL_LIVE: &str = "(?2 IS NULL OR EXISTS \
      (SELECT 1 FROM api_keys WHERE id = ?2 AND revoked_ms IS NULL)) \
    AND (?5 IS NULL OR EXISTS \
      (SELECT 1 FROM members WHERE token_hash = ?5 AND removed_ms IS NULL))";

/// One stream poll: the messages after `after_seq`, in commit order, or `None`
/// if the reader has lost access meanwhile (key revoked, member removed, or
/// the room made private). One statement: the access check rides along as
/// the left side of a join, so revocation costs no extra query.
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
                 WHERE r.id = ?1 AND (r.key_id = ?2 OR r.public = 1) AND {STILL_LIVE} \
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
    Ok(Some(
        rows.into_iter().filter_map(PollRow::into_message).collect(),
    ))
}
