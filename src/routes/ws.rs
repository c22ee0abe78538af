//! `GET /api/rooms/:id/ws` (paid variant): authorises exactly as the event
//! stream does, before any upgrade, then hands the socket to the room's object.

use protocol::object::SocketLimits;
use protocol::ErrorCode;
use worker::Response;

use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops;

pub async fn upgrade(ctx: &Ctx, raw_id: &str) -> AppResult<Response> {
    let opened = ops::live::open(ctx, raw_id).await?;
    let wants_socket = ctx
        .header("Upgrade")
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    if !wants_socket {
        return Err(AppError::client(
            ErrorCode::BadRequest,
            "this route speaks WebSocket: send 'Upgrade: websocket'",
        ));
    }
    Ok(crate::push::connect(
        &ctx.env,
        &opened.start.owner_key_id,
        &opened.room,
        opened.reader.as_deref(),
        opened.member.as_ref(),
        opened.after_seq,
        SocketLimits {
            per_minute: ctx.config.messages_per_key.max,
            per_day: ctx.config.messages_per_day,
        },
    )
    .await?)
}
