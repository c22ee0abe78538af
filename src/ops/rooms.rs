//! Rooms: listing, creating, reading and changing their settings.

use protocol::access::Action;
use protocol::ratelimit::Decision;
use protocol::validate::{NewRoom, RoomUpdate};
use protocol::wire::Room;

use crate::auth::{not_readable, Caller};
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops::{keyed_room_id, room_id};
use crate::store::{kv, rooms};

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
    Ok(Room::from(row))
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
        crate::ops::messages::notify(ctx, &caller.key_id, &id);
    }
    Ok(Room::from(row))
}
