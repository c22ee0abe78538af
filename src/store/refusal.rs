//! Why a send stored nothing: the rare path after [`super::messages`]'
//! INSERT refused, decided in one round trip in the order a client should
//! hear it (and the loop guard's notice, stored when it trips).

use protocol::idempotency;
use protocol::send_quota::{decide, SendVerdict};
use protocol::wire::{MessageRow, NOTICE_SENDER};
use serde::Deserialize;

use crate::error::AppResult;
use crate::store::d1::{rows, Db};
use crate::store::messages::{next_seq, NewRecord, AGENT_RUN, COLS};
use crate::store::send_quota::{counters, counters_select};

/// Why [`super::messages::insert_statements`] stored nothing, in the order a client should hear it. The
/// credential-only reasons (a viewer, a member naming another sender) are
/// decided from the caller by [`protocol::access`] before this is asked.
pub enum Refusal {
    /// The key was revoked or the member removed (a WebSocket outlives the
    /// auth it opened with).
    KeyRevoked,
    RoomNotFound,
    /// An owner key sent under a handle a member of the room holds.
    HandleReserved,
    /// The idempotency key was used before, with this body: here is the original.
    Duplicate(Box<MessageRow>),
    /// The idempotency key was used before with a different body.
    IdempotencyConflict,
    /// Too many agent messages in a row; `notice` is the notice stored now,
    /// if this refusal was the one that tripped it.
    LoopGuard {
        limit: i64,
        notice: Option<Box<MessageRow>>,
    },
    /// Over the per-minute send limit.
    RateLimited {
        retry_after_secs: u64,
    },
    /// The key's daily quota is spent; it resets at 00:00 UTC.
    DailyQuota {
        retry_after_secs: u64,
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
    send_log: Option<String>,
    sent_day: Option<i64>,
    sent_today: Option<i64>,
}

/// The stored fingerprint of an idempotent send's body.
#[derive(Deserialize)]
struct BodyHashRow {
    body_hash: Option<String>,
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
                AND (?4 IS NULL OR EXISTS (SELECT 1 FROM members \
                     WHERE token_hash = ?4 AND removed_ms IS NULL))) AS live, \
               EXISTS (SELECT 1 FROM rooms WHERE id = ?1 AND key_id = ?2) AS owned, \
               (?4 IS NULL AND EXISTS (SELECT 1 FROM members WHERE room_id = ?1 AND handle = ?3 \
                AND removed_ms IS NULL)) AS reserved, \
               COALESCE((SELECT loop_guard FROM rooms WHERE id = ?1), 0) AS guard, \
               (SELECT {AGENT_RUN} FROM rooms r WHERE r.id = ?1) AS run, {}",
            counters_select(2)
        ),
        &[
            rec.room_id.into(),
            key_id.into(),
            sender.into(),
            member_hash.into(),
        ],
    )?;
    // Only an idempotent send can meet its id already stored.
    let original = db.prepare(
        &format!(
            "SELECT {COLS}, body_hash FROM messages \
             WHERE id = ?3 AND ?4 IS NOT NULL AND room_id = ?1 AND key_id = ?2"
        ),
        &[
            rec.room_id.into(),
            key_id.into(),
            rec.id.into(),
            rec.idempotency_key.into(),
        ],
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
        let stored: Vec<BodyHashRow> = rows(results.get(1))?;
        let stored = stored.into_iter().next().and_then(|r| r.body_hash);
        if !idempotency::same_body(stored.as_deref(), rec.message) {
            return Ok(Refusal::IdempotencyConflict);
        }
        return Ok(Refusal::Duplicate(Box::new(row)));
    }
    let now = rec.limits.now_ms;
    if sender_type == "agent" && check.guard > 0 && check.run.unwrap_or(0) >= check.guard {
        let notice = store_notice(db, rec.room_id, &loop_guard_notice(check.guard), now).await?;
        return Ok(Refusal::LoopGuard {
            limit: check.guard,
            notice: notice.map(Box::new),
        });
    }
    let counters = counters(check.send_log.as_deref(), check.sent_day, check.sent_today);
    match decide(&counters, rec.limits.per_minute, rec.limits.daily_cap, now) {
        SendVerdict::DailyQuota { retry_after_secs } => {
            return Ok(Refusal::DailyQuota { retry_after_secs })
        }
        SendVerdict::PerMinute { retry_after_secs } => {
            return Ok(Refusal::RateLimited { retry_after_secs })
        }
        SendVerdict::Allow => {}
    }
    // Every check passes now: the limit refused a moment ago and has since
    // let a send out of its window (a race); retry at once.
    Ok(Refusal::RateLimited {
        retry_after_secs: 1,
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
            "INSERT INTO messages (room_id, seq, id, key_id, sender, sender_type, color, content, \
               created_ms, verified, kind) \
             SELECT r.id, {}, ?1, r.key_id, ?3, 'agent', NULL, ?4, ?5, 1, 'notice' FROM rooms r \
             WHERE r.id = ?2 AND NOT EXISTS (SELECT 1 FROM (SELECT kind FROM messages \
               WHERE room_id = r.id ORDER BY seq DESC LIMIT 1) WHERE kind = 'notice') \
             RETURNING {COLS}",
            next_seq("r.id", 5)
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
