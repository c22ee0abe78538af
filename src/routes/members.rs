//! `/api/rooms/:id/members[/:handle[/token]]` and `GET /api/whoami`: the
//! HTTP face of `ops::members`.

use protocol::access::Action;
use protocol::validate::NewMember;
use worker::Response;

use crate::auth::authenticate;
use crate::context::Ctx;
use crate::error::{json_response, AppResult};
use crate::ops;

pub async fn add(ctx: &mut Ctx, raw_room: &str) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    // A member token is refused before its body is read.
    caller.may(Action::ManageMembers, None)?;
    let new = NewMember::from_json(&ctx.body().await?)?;
    Ok(json_response(
        &ops::members::add(ctx, &caller, raw_room, &new).await?,
        201,
    ))
}

pub async fn list(ctx: &Ctx, raw_room: &str) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    Ok(json_response(
        &ops::members::list(ctx, &caller, raw_room).await?,
        200,
    ))
}

pub async fn remove(ctx: &Ctx, raw_room: &str, handle: &str) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    ops::members::remove(ctx, &caller, raw_room, handle).await?;
    Ok(Response::builder().with_status(204).empty())
}

pub async fn reissue(ctx: &Ctx, raw_room: &str, handle: &str) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    Ok(json_response(
        &ops::members::reissue(ctx, &caller, raw_room, handle).await?,
        201,
    ))
}

pub async fn whoami(ctx: &Ctx) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    Ok(json_response(&ops::members::whoami(&caller), 200))
}
