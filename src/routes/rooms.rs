//! `GET /api/rooms`, `POST /api/rooms`, `GET`/`PATCH /api/rooms/:id`, and
//! `GET /api/featured` (the public room the landing page shows). The
//! operations are in `ops::rooms`; this is their HTTP face.

use protocol::validate::{NewRoom, RoomUpdate};
use protocol::wire::Room;
use worker::Response;

use crate::auth::{authenticate, optional};
use crate::context::Ctx;
use crate::error::{json_response, AppError, AppResult};
use crate::ops;
use crate::store::rooms;

pub async fn list(ctx: &Ctx) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    Ok(json_response(&ops::rooms::list(ctx, &caller).await?, 200))
}

pub async fn create(ctx: &mut Ctx) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    caller.may(protocol::access::Action::CreateRoom, None)?;
    // Validate before spending the rate limit: a typo should not cost a room.
    let new = NewRoom::from_json(&ctx.body().await?)?;
    Ok(json_response(
        &ops::rooms::create(ctx, &caller, &new).await?,
        201,
    ))
}

/// The owner's room, a member's own, or any public room (with or without a key).
pub async fn get(ctx: &Ctx, raw_id: &str) -> AppResult<Response> {
    let caller = optional(ctx).await?;
    Ok(json_response(
        &ops::rooms::get(ctx, &caller, raw_id).await?,
        200,
    ))
}

/// The owner changes a room's settings: public, loop guard.
pub async fn update(ctx: &mut Ctx, raw_id: &str) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    caller.may(protocol::access::Action::UpdateRoom, None)?;
    let update = RoomUpdate::from_json(&ctx.body().await?)?;
    Ok(json_response(
        &ops::rooms::update(ctx, &caller, raw_id, &update).await?,
        200,
    ))
}

/// The featured room (`FEATURED_ROOM_ID`), if configured and public.
pub async fn featured(ctx: &Ctx) -> AppResult<Response> {
    let not_featured = || AppError::client(protocol::ErrorCode::NotFound, "no featured room");
    let id = ctx
        .env
        .var("FEATURED_ROOM_ID")
        .ok()
        .and_then(|v| protocol::validate::parse_id(v.to_string().trim()))
        .ok_or_else(not_featured)?;
    let row = rooms::get_public(&ctx.db, &id)
        .await?
        .ok_or_else(not_featured)?;
    Ok(json_response(&Room::from(row), 200))
}
