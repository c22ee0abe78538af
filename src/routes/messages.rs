//! `GET` and `POST /api/rooms/:id/messages`: the HTTP face of `ops::messages`.

use protocol::retention::HISTORY_PURGED_HEADER;
use protocol::validate::{IdempotencyKey, Limit, NewMessage, Page, Sender, MAX_BODY_BYTES, START};
use protocol::ErrorCode;
use worker::Response;

use crate::auth::{authenticate, optional, presented};
use crate::context::Ctx;
use crate::error::{json_response, AppError, AppResult};
use crate::ops;
use crate::store::retention;

/// Set on a history page that the byte cap (`protocol::page_bytes`) ended
/// before its `limit`: more messages follow in the direction paged.
pub const PAGE_TRUNCATED: &str = "Page-Truncated";

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
    let exclude = Sender::parse_exclude(ctx.query("exclude").as_deref(), caller.is_some())?;
    let exclude = exclude.as_ref();
    let (page, purged) =
        match ops::messages::history(ctx, &caller, raw_id, &page, limit.get(), exclude).await {
            Ok(found) => (found, false),
            Err(e) if is_missing_cursor(&e) => {
                // A cursor into purged history: what follows it is everything the
                // room still holds, and nothing it holds is before it.
                let room = ops::room_id(raw_id, &caller)?;
                if retention::purged_seq(&ctx.db, &room).await?.is_none() {
                    return Err(e);
                }
                let found = match page {
                    Page::After(_) => {
                        let start = Page::After(START.to_owned());
                        ops::messages::history(ctx, &caller, raw_id, &start, limit.get(), exclude)
                            .await?
                    }
                    _ => ops::messages::HistoryPage::default(),
                };
                (found, true)
            }
            Err(e) => return Err(e),
        };
    let mut response = json_response(&page.messages, 200);
    if page.truncated {
        // The byte cap ended the page early: a short page is not the end.
        response.headers_mut().set(PAGE_TRUNCATED, "bytes")?;
    }
    if purged {
        response.headers_mut().set(HISTORY_PURGED_HEADER, "true")?;
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
///
/// A body of unknown length (chunked) or declared over the cap is read only
/// after the credential is checked, so a bad key never gets an upload read.
/// A body that declares a length within the cap (every real client's) is
/// read first, at most 200 KiB, and the credential is checked inside the
/// send's one D1 batch: the send stays one round trip.
pub async fn send(ctx: &mut Ctx, raw_id: &str) -> AppResult<Response> {
    let cred = presented(ctx)?;
    let bounded = ctx
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n <= MAX_BODY_BYTES as u64);
    if !bounded {
        authenticate(ctx).await?;
    }
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
            if bounded {
                authenticate(ctx).await?;
            }
            return Err(e);
        }
    };
    let sent = ops::messages::send(ctx, &cred, raw_id, &message, idempotency_key.as_ref()).await?;
    let status = if sent.created { 201 } else { 200 };
    Ok(json_response(&sent.message, status))
}
