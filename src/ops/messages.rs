//! Sending and reading history.

use protocol::access::{sender_for, Action};
use protocol::key::CredentialKind;
use protocol::validate::{IdempotencyKey, NewMessage, Page, Sender, ValidationError};
use protocol::wire::{Message, MessageRow};
use protocol::ErrorCode;

use crate::auth::{admit, admit_member, authenticate, not_readable, Caller, Presented};
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops::{keyed_room_id, room_id};
use crate::store::d1::rows;
use crate::store::messages::{self, KeyRef, NewRecord, PageResult, Refusal};
use crate::store::send_quota::SendLimits;
use crate::store::{keys, members};

/// A send's outcome: the message, and whether this call stored it (false: an
/// idempotent retry returned the original).
pub struct Sent {
    pub message: Message,
    pub created: bool,
}

/// The most sends a key may make today: `RATE_MESSAGES_PER_DAY`, lowered to
/// a fair share once the account's daily write budget runs low
/// ([`crate::budget::daily_cap`]). The caller passes the value into every
/// send, so nothing below reads config for it.
pub fn daily_cap(ctx: &Ctx) -> u32 {
    crate::budget::daily_cap(ctx, ctx.config.messages_per_day)
}

/// The limits a send by any key is held to now.
pub fn send_limits(ctx: &Ctx) -> SendLimits {
    SendLimits {
        per_minute: ctx.config.messages_per_key,
        daily_cap: daily_cap(ctx),
        now_ms: ctx.now_ms,
    }
}

/// Sends as the presented credential. One D1 round trip on the hot path: the
/// credential lookup, an INSERT that authenticates it by its hash, checks
/// the room, the send limits and the loop guard, and the bump of the key's
/// counters go as one batch (3 rows written: the message, its id's index
/// entry, the key's row).
pub async fn send(
    ctx: &Ctx,
    cred: &Presented,
    raw_room: &str,
    message: &NewMessage,
    idempotency_key: Option<&IdempotencyKey>,
) -> AppResult<Sent> {
    let room = match keyed_room_id(raw_room) {
        Ok(room) => room,
        Err(e) => {
            // A bad key outranks a bad room id, as on every other route.
            authenticate(ctx).await?;
            return Err(e);
        }
    };
    if cred.kind == CredentialKind::Owner && message.sender.is_none() {
        authenticate(ctx).await?;
        return Err(ValidationError::SenderRequired.into());
    }
    let idempotency_key = idempotency_key.map(AsRef::as_ref);
    let id = messages::new_id(&room, idempotency_key);
    let (lookup, key) = match cred.kind {
        CredentialKind::Owner => (
            keys::find_active_statement(&ctx.db, &cred.hash)?,
            KeyRef::Hash(&cred.hash),
        ),
        CredentialKind::Member => (
            members::find_active_statement(&ctx.db, &cred.hash)?,
            KeyRef::Member(&cred.hash),
        ),
    };
    let rec = NewRecord {
        id: &id,
        room_id: &room,
        key,
        message,
        idempotency_key,
        limits: send_limits(ctx),
    };
    let [insert, count] = messages::insert_statements(&ctx.db, &rec)?;
    let mut statements = vec![lookup, insert, count];
    // durable-objects: the room's two newest seqs, so the notify carries the
    // stored message and where it sits (src/push/paid.rs; index 3 below).
    statements.extend(crate::push::head_statement(&ctx.db, &room)?);
    let results = ctx.db.batch(statements).await?;
    let caller = match cred.kind {
        CredentialKind::Owner => admit(ctx, rows(results.first())?.into_iter().next())?,
        CredentialKind::Member => admit_member(ctx, rows(results.first())?.into_iter().next())?,
    };
    let inserted: Option<MessageRow> = rows(results.get(1))?.into_iter().next();
    if let Some(row) = inserted {
        let seq = row.seq;
        let message = Message::from(row);
        crate::push::stored(ctx, &caller.key_id, &room, seq, &message, results.get(3));
        return Ok(Sent {
            message,
            created: true,
        });
    }
    // The rare path: say why, refusals decidable from the caller first.
    caller.may(Action::Send, Some(&room))?;
    let requested = message.sender.as_ref().map(AsRef::as_ref);
    let sender = sender_for(caller.principal(), requested)?;
    let sender_type = match &caller.member {
        Some(m) => m.role.sender_type(),
        None => message.sender_type,
    };
    let refusal = messages::explain_refusal(
        &ctx.db,
        &rec,
        &caller.key_id,
        caller.member_hash(),
        &sender,
        sender_type.as_str(),
    )
    .await?;
    refused(ctx, &caller, &room, refusal, &sender).map(|message| Sent {
        message,
        created: false,
    })
}

/// The answer to a refusal: the original for a retried idempotency key, an
/// error otherwise.
pub fn refused(
    ctx: &Ctx,
    caller: &Caller,
    room: &str,
    refusal: Refusal,
    sender: &str,
) -> AppResult<Message> {
    let limit = ctx.config.messages_per_key;
    match refusal {
        Refusal::KeyRevoked => Err(AppError::unauthorized("invalid or revoked API key")),
        Refusal::RoomNotFound => Err(AppError::room_not_found()),
        Refusal::HandleReserved => Err(AppError::forbidden(format!(
            "'{sender}' is the handle of a member of this room; only its member token sends as it"
        ))),
        Refusal::Duplicate(original) => Ok(Message::from(*original)),
        Refusal::IdempotencyConflict => Err(AppError::client(
            ErrorCode::IdempotencyConflict,
            "this Idempotency-Key was used for a different message in this room; nothing was \
             stored. Use a new key for a new message",
        )),
        Refusal::LoopGuard { limit, notice } => {
            if notice.is_some() {
                crate::push::notify(ctx, &caller.key_id, room);
            }
            Err(AppError::client(
                ErrorCode::LoopGuard,
                format!(
                    "loop guard: the last {limit} messages here are all from agents. Stop and \
                     wait for a human to reply (meet-ai wait, or the inbox); the room's owner \
                     can raise the limit with PATCH {{\"loop_guard\": N}}"
                ),
            ))
        }
        Refusal::RateLimited { retry_after_secs } => Err(AppError::rate_limited(
            format!(
                "sending is limited to {} messages per minute per key",
                limit.max
            ),
            retry_after_secs,
        )),
        Refusal::DailyQuota { retry_after_secs } => Err(AppError::Client {
            code: ErrorCode::DailyQuota,
            message: "this key's daily send quota is spent; it resets at 00:00 UTC".into(),
            retry_after: Some(retry_after_secs),
            allow: None,
        }),
    }
}

/// A page of history: its messages, oldest first, and whether the byte cap
/// (`protocol::page_bytes`) ended it before `limit` (then more follow).
#[derive(Default)]
pub struct HistoryPage {
    pub messages: Vec<Message>,
    pub truncated: bool,
}

/// A page of a room's history, for its owner, its members, or anyone if the
/// room is public; without `exclude`'s messages if given (`?exclude=`).
pub async fn history(
    ctx: &Ctx,
    caller: &Option<Caller>,
    raw_room: &str,
    page: &Page,
    limit: u32,
    exclude: Option<&Sender>,
) -> AppResult<HistoryPage> {
    let id = room_id(raw_room, caller)?;
    if let Some(c) = caller {
        c.may(Action::Read, Some(&id))?;
    }
    let reader = caller.as_ref().map(|c| c.key_id.as_str());
    let exclude = exclude.map(AsRef::as_ref);
    match messages::page(&ctx.db, &id, reader, page, limit, exclude).await? {
        PageResult::RoomNotFound => Err(not_readable(caller)),
        PageResult::CursorNotFound => Err(AppError::client(
            ErrorCode::NotFound,
            "the cursor message is not in this room",
        )),
        PageResult::Rows { rows, truncated } => Ok(HistoryPage {
            messages: rows.into_iter().map(Message::from).collect(),
            truncated,
        }),
    }
}
