//! `GET /api/rooms`, `POST /api/rooms`, `GET /api/rooms/:id`.

use protocol::ratelimit::Decision;
use protocol::validate::NewRoom;
use protocol::wire::Room;
use worker::Response;

use crate::auth::authenticate;
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

pub async fn get(ctx: &Ctx, raw_id: &str) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    let id = room_id(raw_id)?;
    let row = rooms::get(&ctx.db, &id, &caller.key_id)
        .await?
        .ok_or_else(AppError::room_not_found)?;
    Ok(json_response(&Room::from(row), 200))
}
