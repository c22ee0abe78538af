//! `GET /api/rooms`, `POST /api/rooms`, `GET`/`PATCH /api/rooms/:id`, and
//! `GET /api/featured` (the public room the landing page shows).

use protocol::ratelimit::Decision;
use protocol::validate::{NewRoom, RoomUpdate};
use protocol::wire::Room;
use worker::Response;

use crate::auth::{authenticate, not_readable, optional};
use crate::context::Ctx;
use crate::error::{json_response, AppError, AppResult};
use crate::routes::room_id;
use crate::store::{kv, rooms};

pub async fn list(ctx: &Ctx) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    let rooms: Vec<Room> = rooms::list(&ctx.db, &caller.key_id)
        .await?
        .into_iter()
        .map(Room::from)
        .collect();
    Ok(json_response(&rooms, 200))
}

pub async fn create(ctx: &mut Ctx) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    // Validate before spending the rate limit: a typo should not cost a room.
    let new = NewRoom::from_json(&ctx.body().await?)?;
    let scope = format!("rooms-per-key:{}", caller.key_id);
    if let Decision::Deny { retry_after_secs } =
        kv::check_and_record(&ctx.env, &scope, ctx.config.rooms_per_key, ctx.now_ms).await?
    {
        return Err(AppError::rate_limited(
            format!(
                "room creation is limited to {} per day per key",
                ctx.config.rooms_per_key.max
            ),
            retry_after_secs,
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let row = rooms::insert(&ctx.db, &id, &caller.key_id, new.name.as_ref(), ctx.now_ms)
        .await?
        .ok_or_else(|| AppError::Internal("room insert returned no row".into()))?;
    Ok(json_response(&Room::from(row), 201))
}

/// The owner's room, or any public room (with or without a key).
pub async fn get(ctx: &Ctx, raw_id: &str) -> AppResult<Response> {
    let caller = optional(ctx).await?;
    let id = room_id(raw_id).map_err(|_| not_readable(&caller))?;
    let reader = caller.as_ref().map(|c| c.key_id.as_str());
    let row = rooms::get_readable(&ctx.db, &id, reader)
        .await?
        .ok_or_else(|| not_readable(&caller))?;
    Ok(json_response(&Room::from(row), 200))
}

/// The owner changes a room's settings (today: whether it is public).
pub async fn update(ctx: &mut Ctx, raw_id: &str) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    let id = room_id(raw_id)?;
    let update = RoomUpdate::from_json(&ctx.body().await?)?;
    let row = rooms::set_public(&ctx.db, &id, &caller.key_id, update.public)
        .await?
        .ok_or_else(AppError::room_not_found)?;
    Ok(json_response(&Room::from(row), 200))
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
