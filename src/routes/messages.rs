//! `GET` and `POST /api/rooms/:id/messages`.

use protocol::ratelimit::retry_after_secs;
use protocol::validate::{IdempotencyKey, Limit, NewMessage, Page};
use protocol::wire::Message;
use protocol::ErrorCode;
use worker::Response;

use crate::auth::{authenticate, not_readable, optional};
use crate::context::Ctx;
use crate::error::{json_response, AppError, AppResult};
use crate::routes::room_id;
use crate::store::messages::{self, NewRecord, PageResult, Refusal};

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

pub async fn send(ctx: &mut Ctx, raw_id: &str) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    let room = room_id(raw_id)?;
    let idempotency_key = ctx
        .header("Idempotency-Key")
        .map(|k| IdempotencyKey::parse(&k))
        .transpose()?;
    let message = NewMessage::from_json(&ctx.body().await?)?;
    let limit = ctx.config.messages_per_key;
    let id = uuid::Uuid::new_v4().to_string();
    let rec = NewRecord {
        id: &id,
        room_id: &room,
        key_id: &caller.key_id,
        message: &message,
        idempotency_key: idempotency_key.as_ref().map(AsRef::as_ref),
        now_ms: ctx.now_ms,
        max: limit.max,
        window_start_ms: limit.window_start(ctx.now_ms),
    };
    if let Some(row) = messages::insert(&ctx.db, &rec).await? {
        #[cfg(feature = "durable-objects")]
        crate::room::notify(ctx, &caller.key_id, &room);
        return Ok(json_response(&Message::from(row), 201));
    }
    match messages::explain_refusal(&ctx.db, &rec).await? {
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
