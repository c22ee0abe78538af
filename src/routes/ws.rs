//! `GET /api/rooms/:id/ws` (paid variant): authorises exactly as the other
//! routes do, before any upgrade, then hands the socket to the room's object.

use protocol::ErrorCode;
use worker::Response;

use crate::auth::{not_readable, optional};
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::routes::events::{requested_cursor, start_seq};
use crate::routes::room_id;
use crate::store::messages;

pub async fn upgrade(ctx: &Ctx, raw_id: &str) -> AppResult<Response> {
    let caller = optional(ctx).await?;
    let reader = caller.as_ref().map(|c| c.key_id.clone());
    let room = room_id(raw_id).map_err(|_| not_readable(&caller))?;
    let cursor = requested_cursor(ctx)?;
    let start = messages::open_stream(&ctx.db, &room, reader.as_deref(), cursor.as_deref())
        .await?
        .ok_or_else(|| not_readable(&caller))?;
    let after_seq = start_seq(&start, cursor.as_deref())?;
    let wants_socket = ctx
        .header("Upgrade")
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    if !wants_socket {
        return Err(AppError::client(
            ErrorCode::BadRequest,
            "this route speaks WebSocket: send 'Upgrade: websocket'",
        ));
    }
    Ok(crate::room::connect(
        &ctx.env,
        &start.owner_key_id,
        &room,
        reader.as_deref(),
        after_seq,
    )
    .await?)
}
