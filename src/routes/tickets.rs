//! `POST /api/rooms/:id/ticket`: a stream ticket, so a browser can open
//! `/events` (EventSource) or `/ws` (WebSocket), which cannot send a header,
//! without putting its key or member token in the URL. A ticket is
//! short-lived, single-use and good for one room; URLs end up in logs, and a
//! logged ticket is already spent or about to expire.

use protocol::access::Action;
use protocol::key;
use protocol::wire::StreamTicket;
use worker::Response;

use crate::auth::{authenticate, presented};
use crate::context::Ctx;
use crate::error::{json_response, AppError, AppResult};
use crate::ops::keyed_room_id;
use crate::store::tickets;

/// 201 with a ticket for a room the caller may read; 404 otherwise (as for
/// every read), 401 for a bad credential.
pub async fn issue(ctx: &Ctx, raw_id: &str) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    let room = keyed_room_id(raw_id)?;
    caller.may(Action::Read, Some(&room))?;
    let cred = presented(ctx)?;
    let mut entropy = [0u8; key::ENTROPY_BYTES];
    getrandom::fill(&mut entropy).map_err(|e| AppError::Internal(format!("getrandom: {e}")))?;
    let ticket = key::ticket_from_entropy(&entropy);
    let stored = tickets::issue(
        &ctx.db,
        &tickets::NewTicket {
            ticket_hash: &key::hash(&ticket),
            room_id: &room,
            reader_key_id: &caller.key_id,
            kind: cred.kind,
            cred_hash: &cred.hash,
            now_ms: ctx.now_ms,
        },
    )
    .await?;
    if !stored {
        return Err(AppError::room_not_found());
    }
    Ok(json_response(
        &StreamTicket {
            ticket,
            expires_in: tickets::TTL_SECS as u32,
        },
        201,
    ))
}
