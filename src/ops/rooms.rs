//! Rooms: listing, creating, reading and changing their settings.

use protocol::access::Action;
use protocol::ratelimit::retry_after_secs;
use protocol::validate::{NewRoom, RoomUpdate};
use protocol::wire::Room;

use crate::auth::{not_readable, Caller};
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops::{keyed_room_id, room_id};
use crate::store::rooms;

/// The caller's rooms, oldest first: all of an owner's, or a member's one.
pub async fn list(ctx: &Ctx, caller: &Caller) -> AppResult<Vec<Room>> {
    caller.may(Action::ListRooms, None)?;
    let rows = match &caller.member {
        None => rooms::list(&ctx.db, &caller.key_id).await?,
        Some(m) => rooms::get_readable(&ctx.db, &m.room_id, Some(&caller.key_id))
            .await?
            .into_iter()
            .collect(),
    };
    Ok(rows.into_iter().map(Room::from).collect())
}

pub async fn create(ctx: &Ctx, caller: &Caller, new: &NewRoom) -> AppResult<Room> {
    caller.may(Action::CreateRoom, None)?;
    let limit = ctx.config.rooms_per_key;
    let id = uuid::Uuid::new_v4().to_string();
    match rooms::insert(
        &ctx.db,
        &id,
        &caller.key_id,
        new.name.as_ref(),
        ctx.now_ms,
        limit,
    )
    .await?
    {
        Ok(row) => Ok(Room::from(row)),
        Err(rooms::CreateRefusal::RateLimited { oldest_ms }) => Err(AppError::rate_limited(
            format!("room creation is limited to {} per day per key", limit.max),
            retry_after_secs(limit, oldest_ms.unwrap_or(ctx.now_ms), ctx.now_ms),
        )),
    }
}

/// The owner's room, a member's own room, or any public room (with or
/// without a key).
pub async fn get(ctx: &Ctx, caller: &Option<Caller>, raw_room: &str) -> AppResult<Room> {
    let id = room_id(raw_room, caller)?;
    if let Some(c) = caller {
        c.may(Action::Read, Some(&id))?;
    }
    let reader = caller.as_ref().map(|c| c.key_id.as_str());
    let row = rooms::get_readable(&ctx.db, &id, reader)
        .await?
        .ok_or_else(|| not_readable(caller))?;
    Ok(Room::from(row))
}

/// The owner changes a room's settings: whether it is public, its loop guard.
pub async fn update(
    ctx: &Ctx,
    caller: &Caller,
    raw_room: &str,
    update: &RoomUpdate,
) -> AppResult<Room> {
    caller.may(Action::UpdateRoom, None)?;
    let id = keyed_room_id(raw_room)?;
    let row = rooms::update(&ctx.db, &id, &caller.key_id, update)
        .await?
        .ok_or_else(AppError::room_not_found)?;
    if update.public == Some(false) {
        // Paid variant: anonymous sockets of a room made private close now.
        crate::push::notify(ctx, &caller.key_id, &id);
    }
    Ok(Room::from(row))
}
