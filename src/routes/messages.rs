//! `GET` and `POST /api/rooms/:id/messages`: the HTTP face of `ops::messages`.

use protocol::validate::{IdempotencyKey, Limit, NewMessage, Page};
use worker::Response;

use crate::auth::{authenticate, optional, presented};
use crate::context::Ctx;
use crate::error::{json_response, AppResult};
use crate::ops;

/// History of the owner's room, a member's own, or any public room.
pub async fn list(ctx: &Ctx, raw_id: &str) -> AppResult<Response> {
    let caller = optional(ctx).await?;
    ops::room_id(raw_id, &caller)?;
    let page = Page::parse(
        ctx.query("after").as_deref(),
        ctx.query("before").as_deref(),
    )?;
    let limit = Limit::parse(ctx.query("limit").as_deref())?;
    let list = ops::messages::history(ctx, &caller, raw_id, &page, limit.get()).await?;
    Ok(json_response(&list, 200))
}

/// Sends as the presented owner key or member token (201, or 200 with the
/// original for a retried Idempotency-Key). The credential is checked before
/// a byte of the body is read, so a bad key never makes the Worker read an
/// upload (one more D1 query than checking it inside the send's batch).
pub async fn send(ctx: &mut Ctx, raw_id: &str) -> AppResult<Response> {
    let cred = presented(ctx)?;
    authenticate(ctx).await?;
    let idempotency_key = ctx
        .header("Idempotency-Key")
        .map(|k| IdempotencyKey::parse(&k))
        .transpose()?;
    let message = NewMessage::from_json(&ctx.body().await?)?;
    let sent = ops::messages::send(ctx, &cred, raw_id, &message, idempotency_key.as_ref()).await?;
    let status = if sent.created { 201 } else { 200 };
    Ok(json_response(&sent.message, status))
}
