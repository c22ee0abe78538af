//! `GET /api/rooms/:id/inbox`, `POST /api/rooms/:id/read` and
//! `GET /api/rooms/:id/wait`: the HTTP face of `ops::inbox`.

use protocol::validate::{parse_id, Handle, Limit, MarkRead, ValidationError, WaitOptions};
use worker::Response;

use crate::auth::authenticate;
use crate::context::Ctx;
use crate::error::{json_response, AppResult};
use crate::ops;

/// `?for=`, parsed; None when absent (a member token's own handle).
fn for_param(ctx: &Ctx) -> AppResult<Option<Handle>> {
    Ok(ctx
        .query("for")
        .map(|h| Handle::parse_for(&h))
        .transpose()?)
}

pub async fn inbox(ctx: &Ctx, raw_room: &str) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    let handle = for_param(ctx)?;
    let after = ctx
        .query("after")
        .map(|a| parse_id(a.trim()).ok_or(ValidationError::Cursor("after")))
        .transpose()?;
    let limit = match ctx.query("limit") {
        None => 50,
        raw => Limit::parse(raw.as_deref())?.get(),
    };
    let inbox = ops::inbox::inbox(
        ctx,
        &caller,
        raw_room,
        handle.as_ref(),
        after.as_deref(),
        limit,
    )
    .await?;
    Ok(json_response(&inbox, 200))
}

pub async fn mark_read(ctx: &mut Ctx, raw_room: &str) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    let read = MarkRead::from_json(&ctx.body().await?)?;
    Ok(json_response(
        &ops::inbox::mark_read(ctx, &caller, raw_room, &read).await?,
        200,
    ))
}

/// 200 with what arrived, or 204 when the timeout ran out.
pub async fn wait(ctx: &Ctx, raw_room: &str) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    let handle = for_param(ctx)?;
    let options = WaitOptions::parse(
        ctx.query("timeout").as_deref(),
        ctx.query("any").as_deref(),
        ctx.query("ack").as_deref(),
    )?;
    match ops::inbox::wait(ctx, &caller, raw_room, handle.as_ref(), options).await? {
        Some(waited) => Ok(json_response(&waited, 200)),
        None => Ok(Response::builder().with_status(204).empty()),
    }
}
