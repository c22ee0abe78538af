//! Decisions: an agent asks (a permission, a plan, questions), a verified
//! human answers once, the agent waits for it. Each state is posted to the
//! room as a `decision` message, so history, SSE and WebSocket carry it.

use std::time::Duration;

use protocol::access::{self, Action, Asker, Credential};
use protocol::decision::{
    summary, Answer, Decision, DecisionError, DecisionRow, DecisionStatus, NewDecision,
    OWNER_DECIDER,
};
use protocol::key::CredentialKind;
use protocol::send_quota::{decide, SendVerdict};
use protocol::validate::{parse_id, IdempotencyKey};
use protocol::ErrorCode;
use worker::Delay;

use crate::auth::{admit, admit_member, authenticate, presented, Caller};
use crate::context::{now_ms, Ctx};
use crate::error::{AppError, AppResult};
use crate::ops::keyed_room_id;
use crate::push::notify;
use crate::store::d1::rows;
use crate::store::decisions::{self, Settle, Snapshot};
use crate::store::{keys, members};

/// Who asked for the request's decision.
fn asker(row: &DecisionRow) -> Asker<'_> {
    match &row.requester_member_id {
        Some(id) => Asker::Member(id),
        None => Asker::Owner,
    }
}

fn credential(caller: &Caller) -> Credential<'_> {
    Credential {
        principal: caller.principal(),
        member_id: caller.member.as_ref().map(|m| m.id.as_str()),
    }
}

pub fn decision_error(e: DecisionError) -> AppError {
    AppError::client(e.code(), e.to_string())
}

fn not_found() -> AppError {
    AppError::client(ErrorCode::NotFound, "decision not found")
}

fn json_of<T: serde::Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(|e| AppError::Internal(format!("serialize: {e}")))
}

/// The result of an answer or a cancel: done, or refused with the decision
/// as it stands (409: already settled, expired, or another answer won).
pub enum Settled {
    Done(Decision),
    Conflict(Decision),
}

/// Asks for a decision: 201 with it, or (`created` false) the original of a
/// repeated `Idempotency-Key`. Two round trips: auth, then one batch.
pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    raw_room: &str,
    new: &NewDecision,
    idempotency_key: Option<&IdempotencyKey>,
) -> AppResult<(Decision, bool)> {
    let room = keyed_room_id(raw_room)?;
    caller.may(Action::Read, Some(&room))?;
    access::may_request(caller.principal())?;
    let now_s = ctx.now_ms / 1000;
    let requester = match (&caller.member, &new.requester) {
        (Some(m), _) => m.handle.clone(),
        (None, Some(name)) => name.as_ref().to_owned(),
        (None, None) => OWNER_DECIDER.to_owned(),
    };
    let row = DecisionRow {
        id: uuid::Uuid::new_v4().to_string(),
        room_id: room.to_string(),
        key_id: caller.key_id.clone(),
        requester_member_id: caller.member.as_ref().map(|m| m.id.clone()),
        requester,
        kind: new.kind,
        request: json_of(&new.request)?,
        status: DecisionStatus::Pending.as_str().to_owned(),
        answer: None,
        decided_by: None,
        decided_at_s: None,
        created_at_s: now_s,
        expires_at_s: now_s + new.expires_in,
    };
    let snapshot = row.to_decision(now_s);
    let (message_id, content) = (uuid::Uuid::new_v4().to_string(), summary(&snapshot));
    let payload = json_of(&snapshot)?;
    let snap = Snapshot {
        message_id: &message_id,
        content: &content,
        payload: &payload,
        now_ms: ctx.now_ms,
    };
    let key = idempotency_key.map(AsRef::as_ref);
    let limits = crate::ops::messages::send_limits(ctx);
    let created = decisions::create(&ctx.db, &row, key, &snap, &limits).await?;
    if created.message.is_some() {
        notify(ctx, &caller.key_id, &room);
    }
    let Some(current) = created.row else {
        let why = decisions::why_not_created(&ctx.db, &room, &caller.key_id).await?;
        return Err(match why {
            Some(w) if w.owned != 0 => {
                let verdict = decide(
                    &w.counters(),
                    limits.per_minute,
                    limits.daily_cap,
                    limits.now_ms,
                );
                match verdict {
                    SendVerdict::DailyQuota { retry_after_secs } => AppError::Client {
                        code: ErrorCode::DailyQuota,
                        message: "asking for a decision posts a message, and this key's daily \
                                  send quota is spent; it resets at 00:00 UTC"
                            .into(),
                        retry_after: Some(retry_after_secs),
                        allow: None,
                    },
                    SendVerdict::PerMinute { retry_after_secs } => AppError::rate_limited(
                        format!(
                            "asking for a decision posts a message: sending is limited to {} \
                             messages per minute per key",
                            limits.per_minute.max
                        ),
                        retry_after_secs,
                    ),
                    // A send left the window meanwhile: retry at once.
                    SendVerdict::Allow => AppError::rate_limited(
                        "asking for a decision posts a message: the send limit refused it a \
                         moment ago; retry"
                            .into(),
                        1,
                    ),
                }
            }
            _ => AppError::room_not_found(),
        });
    };
    Ok((current.to_decision(now_s), created.created))
}

/// Authenticates and reads the decision in one round trip; 404 unless the
/// caller may read its room.
async fn load(ctx: &Ctx, raw_room: &str, raw_id: &str) -> AppResult<(Caller, String, DecisionRow)> {
    let cred = presented(ctx)?;
    let (Ok(room), Some(id)) = (keyed_room_id(raw_room), parse_id(raw_id)) else {
        // A bad key outranks a bad id, as on every other route.
        authenticate(ctx).await?;
        return Err(not_found());
    };
    let lookup = match cred.kind {
        CredentialKind::Owner => keys::find_active_statement(&ctx.db, &cred.hash)?,
        CredentialKind::Member => members::find_active_statement(&ctx.db, &cred.hash)?,
    };
    let load = decisions::load_statement(&ctx.db, &id, &room)?;
    let results = ctx.db.batch(vec![lookup, load]).await?;
    let caller = match cred.kind {
        CredentialKind::Owner => admit(ctx, rows(results.first())?.into_iter().next())?,
        CredentialKind::Member => admit_member(ctx, rows(results.first())?.into_iter().next())?,
    };
    caller.may(Action::Read, Some(&room))?;
    let row: Option<DecisionRow> = rows(results.get(1))?.into_iter().next();
    let row = row
        .filter(|r| r.key_id == caller.key_id)
        .ok_or_else(not_found)?;
    Ok((caller, room.into(), row))
}

pub async fn get(ctx: &Ctx, raw_room: &str, raw_id: &str) -> AppResult<Decision> {
    let (_, _, row) = load(ctx, raw_room, raw_id).await?;
    Ok(row.to_decision(ctx.now_ms / 1000))
}

/// Settles a pending decision as `next` says, posting its new snapshot.
async fn settle(ctx: &Ctx, caller: &Caller, room: &str, next: DecisionRow) -> AppResult<Settled> {
    let now_s = ctx.now_ms / 1000;
    let snapshot = next.to_decision(now_s);
    let (message_id, content) = (uuid::Uuid::new_v4().to_string(), summary(&snapshot));
    let payload = json_of(&snapshot)?;
    let settled = decisions::settle(
        &ctx.db,
        &Settle {
            id: &next.id,
            key_id: &next.key_id,
            status: &next.status,
            answer: next.answer.as_deref(),
            decided_by: next.decided_by.as_deref(),
            now_s,
        },
        &Snapshot {
            message_id: &message_id,
            content: &content,
            payload: &payload,
            now_ms: ctx.now_ms,
        },
    )
    .await?;
    if settled.message.is_some() {
        notify(ctx, &caller.key_id, room);
    }
    let current = settled.current.ok_or_else(not_found)?.to_decision(now_s);
    Ok(if settled.won {
        Settled::Done(current)
    } else {
        Settled::Conflict(current)
    })
}

/// Answers a decision: only a verified human (never its asker), only while
/// pending and unexpired, only with what the request offered.
pub async fn answer(ctx: &Ctx, raw_room: &str, raw_id: &str, body: Answer) -> AppResult<Settled> {
    let (caller, room, row) = load(ctx, raw_room, raw_id).await?;
    access::may_answer(credential(&caller), asker(&row))?;
    let now_s = ctx.now_ms / 1000;
    if row.status_at(now_s) != DecisionStatus::Pending {
        return Ok(Settled::Conflict(row.to_decision(now_s)));
    }
    let fitted = body.fit(row.kind, &row.request()).map_err(decision_error)?;
    let decided_by = match &caller.member {
        Some(m) => m.handle.clone(),
        None => OWNER_DECIDER.to_owned(),
    };
    let next = DecisionRow {
        status: fitted.status(row.kind).as_str().to_owned(),
        answer: Some(json_of(&fitted)?),
        decided_by: Some(decided_by),
        decided_at_s: Some(now_s),
        ..row
    };
    settle(ctx, &caller, &room, next).await
}

/// Withdraws a pending decision: only the credential that asked.
pub async fn cancel(ctx: &Ctx, raw_room: &str, raw_id: &str) -> AppResult<Settled> {
    let (caller, room, row) = load(ctx, raw_room, raw_id).await?;
    access::may_cancel(credential(&caller), asker(&row))?;
    let now_s = ctx.now_ms / 1000;
    if row.status_at(now_s) != DecisionStatus::Pending {
        return Ok(Settled::Conflict(row.to_decision(now_s)));
    }
    let next = DecisionRow {
        status: DecisionStatus::Cancelled.as_str().to_owned(),
        decided_at_s: Some(now_s),
        ..row
    };
    settle(ctx, &caller, &room, next).await
}

/// Sleeps until the decision is settled or expires (`Some`), polling D1 on
/// the event stream's schedule; `None` when the timeout runs out first.
pub async fn wait(
    ctx: &Ctx,
    raw_room: &str,
    raw_id: &str,
    timeout_secs: u32,
) -> AppResult<Option<Decision>> {
    let (caller, _, mut row) = load(ctx, raw_room, raw_id).await?;
    let config = ctx.config.poll;
    let deadline = ctx.now_ms + i64::from(timeout_secs) * 1000;
    // Inside a free invocation's query budget, as the message wait.
    let mut polls_left = config.max_polls.saturating_sub(1);
    let mut interval = config.active_ms;
    loop {
        let now = now_ms();
        let now_s = now / 1000;
        if row.status_at(now_s) != DecisionStatus::Pending {
            return Ok(Some(row.to_decision(now_s)));
        }
        let left = deadline - now;
        if polls_left <= 1 || left <= 0 {
            return Ok(None);
        }
        // Wake at the expiry too: it settles the wait.
        let until_expiry = (row.expires_at_s * 1000 - now).max(0);
        let sleep = i64::from(interval).min(left).min(until_expiry);
        interval = config.next_interval(None, interval);
        Delay::from(Duration::from_millis(u64::try_from(sleep).unwrap_or(0))).await;
        polls_left -= 1;
        row = decisions::poll(&ctx.db, &row.id, &caller.key_id, caller.member_hash())
            .await?
            .ok_or_else(|| AppError::unauthorized("access to this room was lost"))?;
    }
}
