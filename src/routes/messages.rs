//! `GET` and `POST /api/rooms/:id/messages`: the HTTP face of `ops::messages`.

use protocol::retention::HISTORY_PURGED_HEADER;
use protocol::validate::{IdempotencyKey, Limit, NewMessage, Page, START};
use protocol::ErrorCode;
use worker::Response;

use crate::auth::{authenticate, optional, presented};
use crate::context::Ctx;
use crate::error::{json_response, AppError, AppResult};
use crate::ops;
use crate::store::retention;

/// History of the owner's room, a member's own, or any public room. A cursor
/// into purged history answers with what the room still holds and
/// `X-History-Purged: true` (see [`protocol::retention`]).
pub async fn list(ctx: &Ctx, raw_id: &str) -> AppResult<Response> {
    let caller = optional(ctx).await?;
    ops::room_id(raw_id, &caller)?;
    let page = Page::parse(
        ctx.query("after").as_deref(),
        ctx.query("before").as_deref(),
    )?;
    let limit = Limit::parse(ctx.query("limit").as_deref())?;
    let (list, purged) =
        match ops::messages::history(ctx, &caller, raw_id, &page, limit.get()).await {
            Ok(list) => (list, false),
            Err(e) if is_missing_cursor(&e) => {
                // A cursor into purged history: what follows it is everything the
                // room still holds, and nothing it holds is before it.
                let room = ops::room_id(raw_id, &caller)?;
                if retention::purged_seq(&ctx.db, &room).await?.is_none() {
                    return Err(e);
                }
                let list = match page {
                    Page::After(_) => {
                        let start = Page::After(START.to_owned());
                        ops::messages::history(ctx, &caller, raw_id, &start, limit.get()).await?
                    }
                    _ => Vec::new(),
                };
                (list, true)
            }
            Err(e) => return Err(e),
        };
    let mut response = json_response(&list, 200);
    if purged {
        let _ = response.headers_mut().set(HISTORY_PURGED_HEADER, "true");
    }
    Ok(response)
}

/// The history's answer to a cursor it does not find in the room.
fn is_missing_cursor(e: &AppError) -> bool {
    matches!(e, AppError::Client { code: ErrorCode::NotFound, message, .. }
        if message.starts_with("the cursor"))
}

/// Sends as the presented owner key or member token (201, or 200 with the
/// original for a retried Idempotency-Key).
pub async fn send(ctx: &mut Ctx, raw_id: &str) -> AppResult<Response> {
    let cred = presented(ctx)?;
    let parsed = async {
        let idempotency_key = ctx
            .header("Idempotency-Key")
            .map(|k| IdempotencyKey::parse(&k))
            .transpose()?;
        let message = NewMessage::from_json(&ctx.body().await?)?;
        AppResult::Ok((idempotency_key, message))
    }
    .await;
    let (idempotency_key, message) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            // A bad key outranks bad input, as on every other route.
            authenticate(ctx).await?;
            return Err(e);
        }
    };
    let sent = ops::messages::send(ctx, &cred, raw_id, &message, idempotency_key.as_ref()).await?;
    let status = if sent.created { 201 } else { 200 };
    Ok(json_response(&sent.message, status))
}
