//! Opening a live reader, shared by the SSE stream (`routes::events`) and the
//! paid variant's WebSocket (`routes::ws`): the caller authorised for the
//! room, and its cursor resolved (`protocol::cursor`) to the point delivery
//! starts after. Every refusal happens here, before a stream or socket opens.

use protocol::access::Action;
use protocol::cursor::{self, Cursor, Head, MessageId, RoomId, Start};
use protocol::ErrorCode;

use crate::auth::not_readable;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::store::messages::{self, StreamStart};
use crate::store::retention;

/// A live reader, authorised, with the point to deliver after: what the SSE
/// stream and the WebSocket both start from.
pub struct Opened {
    pub room: RoomId,
    /// The reader's key id (a member's is its room owner's); None for an
    /// anonymous reader of a public room.
    pub reader: Option<String>,
    /// The reader, when it is a member: its id, token hash and role.
    pub member: Option<crate::auth::MemberId>,
    /// Whether auth scheduled a `last_used` refresh (one more D1 query).
    pub touched: bool,
    pub start: StreamStart,
    /// Deliver the messages after this `seq`.
    pub after_seq: i64,
    /// The message id (or START) that `after_seq` stands for.
    pub resume_id: String,
    /// The client's cursor named a purged message: delivery starts at the
    /// oldest message kept, and the client is told older history is gone.
    pub purged: bool,
}

/// Authorises a live reader and resolves its cursor, in two D1 queries (auth,
/// then access, head and cursor in one statement; a third only when the
/// cursor is not found, to tell a purged message from a wrong one). Every refusal happens here,
/// before a stream or socket opens.
pub async fn open(ctx: &Ctx, raw_id: &str) -> AppResult<Opened> {
    // A `?ticket=` (what the web UI sends) is redeemed here, once.
    let caller = crate::auth::for_stream(ctx, raw_id).await?;
    let room = ops::room_id(raw_id, &caller)?;
    if let Some(c) = &caller {
        c.may(Action::Read, Some(&room))?;
    }
    let cursor = cursor::requested(
        ctx.header("Last-Event-ID").as_deref(),
        ctx.query("after").as_deref(),
    )?;
    let reader = caller.as_ref().map(|c| c.key_id.clone());
    // START sits before every message: nothing to look up.
    let lookup = cursor.as_ref().and_then(Cursor::message);
    let start = messages::open_stream(
        &ctx.db,
        &room,
        reader.as_deref(),
        lookup.map(MessageId::as_str),
    )
    .await?
    .ok_or_else(|| not_readable(&caller))?;
    let head = Head {
        newest: start.head_seq.zip(start.head_id.as_deref()),
        cursor_seq: start.cursor_seq,
    };
    let (after_seq, resume_id, purged) = match cursor::resolve(cursor.as_ref(), head) {
        Start::After { seq, resume_id } => (seq, resume_id, false),
        // Not found: a purged message resumes after the purge; anything
        // else is refused (never "from now" when the client named a cursor).
        Start::Missing => match retention::purged_seq(&ctx.db, &room).await? {
            Some(seq) => (seq, cursor.map(|c| c.to_string()).unwrap_or_default(), true),
            None => {
                return Err(AppError::client(
                    ErrorCode::NotFound,
                    "the cursor message is not in this room",
                ))
            }
        },
    };
    Ok(Opened {
        room,
        reader,
        member: caller.as_ref().and_then(|c| c.member.clone()),
        touched: caller.is_some_and(|c| c.touched),
        start,
        after_seq,
        resume_id,
        purged,
    })
}
