//! The `decisions` table, and the `kind = 'decision'` messages that carry
//! each state of a decision to the room.
//!
//! Creating and settling are one round trip each (a batch, so one
//! transaction): the decision's write, the message that shows it (inserted
//! only if the write happened) and the decision as it now stands.

use protocol::decision::DecisionRow;
use protocol::wire::MessageRow;
use worker::D1PreparedStatement;

use crate::error::AppResult;
use crate::store::d1::{rows, Arg, Db};
use crate::store::messages::{next_seq, COLS};
use crate::store::rooms::STILL_LIVE;
use crate::store::send_quota::{allowed, count_statement, counters, counters_select, SendLimits};

/// The message that carries a decision's snapshot.
pub struct Snapshot<'a> {
    pub message_id: &'a str,
    /// The plain-text summary (`content`).
    pub content: &'a str,
    /// JSON of the decision as it stands after this write.
    pub payload: &'a str,
    pub now_ms: i64,
}

/// The INSERT of a snapshot message, from the decision row `?1` names; with
/// `guard` the row must also have just changed (`changes()` of the write
/// before it in the batch).
fn message_statement(
    db: &Db,
    decision_id: &str,
    snap: &Snapshot<'_>,
    guard: &str,
) -> AppResult<D1PreparedStatement> {
    db.prepare(
        &format!(
            "INSERT INTO messages (room_id, seq, id, key_id, sender, sender_type, color, content, \
               created_ms, verified, mentions, kind, payload) \
             SELECT d.room_id, {seq}, ?2, d.key_id, d.requester, 'agent', NULL, ?3, ?4, \
               CASE WHEN d.requester_member_id IS NULL THEN 0 ELSE 1 END, NULL, 'decision', ?5 \
             FROM decisions d WHERE d.id = ?1{guard} RETURNING {COLS}",
            seq = next_seq("d.room_id", 4)
        ),
        &[
            decision_id.into(),
            snap.message_id.into(),
            snap.content.into(),
            snap.now_ms.into(),
            snap.payload.into(),
        ],
    )
}

/// What a create did.
pub struct Created {
    /// The decision: the new one, or the original of a repeated idempotency
    /// key. None: the room is not the key's.
    pub row: Option<DecisionRow>,
    /// Whether this call stored it.
    pub created: bool,
    pub message: Option<MessageRow>,
}

/// Stores `row` in its room (if `row.key_id` owns it) with its first
/// snapshot message, unless the idempotency key was used in the room before
/// or the key's send limits are spent: the message counts as a send (the
/// batch bumps the key's counters after it).
pub async fn create(
    db: &Db,
    row: &DecisionRow,
    idempotency_key: Option<&str>,
    snap: &Snapshot<'_>,
    limits: &SendLimits,
) -> AppResult<Created> {
    let [window, max, day, cap] = limits.args();
    let insert = db.prepare(
        &format!(
            "INSERT INTO decisions (id, room_id, key_id, requester_member_id, requester, kind, \
               request, status, created_at_s, expires_at_s, idempotency_key) \
             SELECT ?1, r.id, r.key_id, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?10 FROM rooms r \
             JOIN api_keys k ON k.id = r.key_id \
             WHERE r.id = ?2 AND r.key_id = ?3 AND {} \
             ON CONFLICT (room_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING \
             RETURNING id",
            allowed("k", 11)
        ),
        &[
            row.id.as_str().into(),
            row.room_id.as_str().into(),
            row.key_id.as_str().into(),
            row.requester_member_id.as_deref().into(),
            row.requester.as_str().into(),
            row.kind.as_str().into(),
            row.request.as_str().into(),
            row.created_at_s.into(),
            row.expires_at_s.into(),
            idempotency_key.into(),
            window,
            max,
            day,
            cap,
        ],
    )?;
    let message = message_statement(db, &row.id, snap, "")?;
    let count = count_statement(db, snap.message_id, limits)?;
    let current = db.prepare(
        "SELECT * FROM decisions WHERE room_id = ?2 AND key_id = ?3 \
         AND (id = ?1 OR (?4 IS NOT NULL AND idempotency_key = ?4))",
        &[
            row.id.as_str().into(),
            row.room_id.as_str().into(),
            row.key_id.as_str().into(),
            idempotency_key.into(),
        ],
    )?;
    let results = db.batch(vec![insert, message, count, current]).await?;
    let inserted: Vec<serde_json::Value> = rows(results.first())?;
    let message: Vec<MessageRow> = rows(results.get(1))?;
    let current: Vec<DecisionRow> = rows(results.get(3))?;
    Ok(Created {
        row: current.into_iter().next(),
        created: !inserted.is_empty(),
        message: message.into_iter().next(),
    })
}

#[derive(serde::Deserialize)]
pub struct NotCreated {
    /// The room is the key's (so the send limits refused).
    pub owned: i64,
    send_log: Option<String>,
    sent_day: Option<i64>,
    sent_today: Option<i64>,
}

impl NotCreated {
    /// The key's send counters, to say which limit refused.
    pub fn counters(&self) -> protocol::send_quota::SendCounters {
        counters(self.send_log.as_deref(), self.sent_day, self.sent_today)
    }
}

/// Why [`create`] stored and found nothing: a foreign room, or the key's
/// send limits. The rare path only.
pub async fn why_not_created(
    db: &Db,
    room_id: &str,
    key_id: &str,
) -> AppResult<Option<NotCreated>> {
    db.first(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM rooms WHERE id = ?1 AND key_id = ?2) AS owned, {}",
            counters_select(2)
        ),
        &[room_id.into(), key_id.into()],
    )
    .await
}

/// Reads a decision of a room.
pub fn load_statement(db: &Db, id: &str, room_id: &str) -> AppResult<D1PreparedStatement> {
    db.prepare(
        "SELECT * FROM decisions WHERE id = ?1 AND room_id = ?2",
        &[id.into(), room_id.into()],
    )
}

/// A decision again, for a wait's poll; None if it is gone or the reader
/// lost access (`STILL_LIVE`: key `?2`, member token `?5`).
pub async fn poll(
    db: &Db,
    id: &str,
    key_id: &str,
    member_hash: Option<&str>,
) -> AppResult<Option<DecisionRow>> {
    db.first(
        &format!(
            "SELECT * FROM decisions WHERE id = ?1 AND key_id = ?2 AND ?3 IS NULL \
             AND ?4 IS NULL AND {STILL_LIVE}"
        ),
        &[
            id.into(),
            key_id.into(),
            Arg::Null,
            Arg::Null,
            member_hash.into(),
        ],
    )
    .await
}

/// How a pending decision is settled.
pub struct Settle<'a> {
    pub id: &'a str,
    pub key_id: &'a str,
    pub status: &'a str,
    pub answer: Option<&'a str>,
    pub decided_by: Option<&'a str>,
    pub now_s: i64,
}

/// What a settle did: the message if this call won, and the decision as it
/// now stands (the winner's answer when another call won).
pub struct Settled {
    pub won: bool,
    pub message: Option<MessageRow>,
    pub current: Option<DecisionRow>,
}

/// The first valid answer (or the cancel) wins: one conditional UPDATE on a
/// pending, unexpired decision; the snapshot message is inserted only when
/// it changed the row.
pub async fn settle(db: &Db, s: &Settle<'_>, snap: &Snapshot<'_>) -> AppResult<Settled> {
    let update = db.prepare(
        "UPDATE decisions SET status = ?3, answer = ?4, decided_by = ?5, decided_at_s = ?6 \
         WHERE id = ?1 AND key_id = ?2 AND status = 'pending' AND expires_at_s > ?6 \
         RETURNING id",
        &[
            s.id.into(),
            s.key_id.into(),
            s.status.into(),
            s.answer.into(),
            s.decided_by.into(),
            s.now_s.into(),
        ],
    )?;
    let message = message_statement(db, s.id, snap, " AND changes() = 1")?;
    let current = db.prepare(
        "SELECT * FROM decisions WHERE id = ?1 AND key_id = ?2",
        &[s.id.into(), s.key_id.into()],
    )?;
    let results = db.batch(vec![update, message, current]).await?;
    let updated: Vec<serde_json::Value> = rows(results.first())?;
    let message: Vec<MessageRow> = rows(results.get(1))?;
    let current: Vec<DecisionRow> = rows(results.get(2))?;
    Ok(Settled {
        won: !updated.is_empty(),
        message: message.into_iter().next(),
        current: current.into_iter().next(),
    })
}
