//! `GET` and `POST /api/rooms/:id/messages`.

use protocol::ratelimit::retry_after_secs;
use protocol::validate::{IdempotencyKey, Limit, NewMessage, Page};
use protocol::wire::{Message, MessageRow};
use protocol::ErrorCode;
use worker::Response;

use crate::auth::{admit, authenticate, not_readable, optional, presented_hash};
use crate::context::Ctx;
use crate::error::{json_response, AppError, AppResult};
use crate::routes::room_id;
use crate::store::d1::rows;
use crate::store::keys;
use crate::store::messages::{self, KeyRef, NewRecord, PageResult, Refusal};

/// History of the owner's room, or of any public room (with or without a key).
pub async fn list(ctx: &Ctx, raw_id: &str) -> AppResult<Response> {
    let caller = optional(ctx).await?;
    let id = room_id(raw_id).map_err(|_| not_readable(&caller))?;
    let page = Page::parse(
        ctx.query("after").as_deref(),
        ctx.query("before").as_deref(),
    )?;
    let limit = Limit::parse(ctx.query("limit").as_deref())?;
    let reader = caller.as_ref().map(|c| c.key_id.as_str());
    match messages::page(&ctx.db, &id, reader, &page, limit.get()).await? {
        PageResult::RoomNotFound => Err(not_readable(&caller)),
        PageResult::CursorNotFound => Err(AppError::client(
            ErrorCode::NotFound,
            "the cursor message is not in this room",
        )),
        PageResult::Rows(rows) => {
            let list: Vec<Message> = rows.into_iter().map(Message::from).collect();
            Ok(json_response(&list, 200))
        }
    }
}

/// What a send carries, parsed.
struct Outgoing {
    room: String,
    idempotency_key: Option<IdempotencyKey>,
    message: NewMessage,
}

async fn parse_send(ctx: &mut Ctx, raw_id: &str) -> AppResult<Outgoing> {
    Ok(Outgoing {
        room: room_id(raw_id)?,
        idempotency_key: ctx
            .header("Idempotency-Key")
            .map(|k| IdempotencyKey::parse(&k))
            .transpose()?,
        message: NewMessage::from_json(&ctx.body().await?)?,
    })
}

/// One D1 round trip on the hot path: the key lookup and an INSERT that
/// authenticates the key by its hash, checks the room and the send limit, go
/// as one batch.
pub async fn send(ctx: &mut Ctx, raw_id: &str) -> AppResult<Response> {
    let hash = presented_hash(ctx)?;
    let out = match parse_send(ctx, raw_id).await {
        Ok(out) => out,
        Err(e) => {
            // A bad key outranks bad input, as on every other route.
            authenticate(ctx).await?;
            return Err(e);
        }
    };
    let limit = ctx.config.messages_per_key;
    let id = uuid::Uuid::new_v4().to_string();
    let rec = NewRecord {
        id: &id,
        room_id: &out.room,
        key: KeyRef::Hash(&hash),
        message: &out.message,
        idempotency_key: out.idempotency_key.as_ref().map(AsRef::as_ref),
        now_ms: ctx.now_ms,
        max: limit.max,
        window_start_ms: limit.window_start(ctx.now_ms),
    };
    let results = ctx
        .db
        .batch(vec![
            keys::find_active_statement(&ctx.db, &hash)?,
            messages::insert_statement(&ctx.db, &rec)?,
        ])
        .await?;
    let caller = admit(ctx, rows(results.first())?.into_iter().next())?;
    let inserted: Option<MessageRow> = rows(results.get(1))?.into_iter().next();
    if let Some(row) = inserted {
        #[cfg(feature = "durable-objects")]
        crate::room::notify(ctx, &caller.key_id, &out.room);
        return Ok(json_response(&Message::from(row), 201));
    }
    match messages::explain_refusal(&ctx.db, &rec, &caller.key_id).await? {
        Refusal::KeyRevoked => Err(AppError::unauthorized("invalid or revoked API key")),
        Refusal::RoomNotFound => Err(AppError::room_not_found()),
        Refusal::Duplicate(original) => Ok(json_response(&Message::from(*original), 200)),
        Refusal::RateLimited { blocking_ms } => Err(AppError::rate_limited(
            format!(
                "sending is limited to {} messages per minute per key",
                limit.max
            ),
            blocking_ms.map_or(1, |t| retry_after_secs(limit, t, ctx.now_ms)),
        )),
    }
}
