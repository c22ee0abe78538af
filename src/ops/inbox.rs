//! The inbox, read cursors and `wait`: what is unread for one handle.

use std::time::Duration;

use protocol::access::{reader_handle, Action};
use protocol::validate::{Handle, MarkRead, WaitOptions, START};
use protocol::wire::{Inbox, Message, ReadCursor, Waited};
use protocol::ErrorCode;
use worker::Delay;

use crate::auth::Caller;
use crate::context::{now_ms, Ctx};
use crate::error::{AppError, AppResult};
use crate::ops::keyed_room_id;
use crate::store::inbox::{self, InboxMiss};
use crate::store::messages::{self, Reader};

/// Messages a wait returns at most at once.
pub const WAIT_PAGE: u32 = 50;

fn cursor_or_start(id: Option<String>) -> String {
    id.unwrap_or_else(|| START.to_owned())
}

/// The room (authorised for reading) and the handle a request is about.
fn scope(
    caller: &Caller,
    raw_room: &str,
    requested: Option<&Handle>,
) -> AppResult<(String, String)> {
    let room = keyed_room_id(raw_room)?;
    caller.may(Action::Read, Some(&room))?;
    let handle = reader_handle(caller.principal(), requested)?;
    Ok((room.into(), handle))
}

pub async fn inbox(
    ctx: &Ctx,
    caller: &Caller,
    raw_room: &str,
    requested: Option<&Handle>,
    after: Option<&str>,
    limit: u32,
) -> AppResult<Inbox> {
    let (room, handle) = scope(caller, raw_room, requested)?;
    let found = inbox::inbox(&ctx.db, &room, &caller.key_id, &handle, after, limit).await?;
    let rows = match found {
        Ok(rows) => rows,
        Err(InboxMiss::RoomNotFound) => return Err(AppError::room_not_found()),
        Err(InboxMiss::AfterNotFound) => {
            return Err(AppError::client(
                ErrorCode::NotFound,
                "the after message is not in this room",
            ))
        }
    };
    let mut mentions: Vec<Message> = rows.mentions.into_iter().map(Message::from).collect();
    let has_more = mentions.len() > limit as usize;
    mentions.truncate(limit as usize);
    Ok(Inbox {
        handle,
        cursor: cursor_or_start(rows.cursor_id),
        unread: rows.unread,
        mentions,
        has_more,
    })
}

pub async fn mark_read(
    ctx: &Ctx,
    caller: &Caller,
    raw_room: &str,
    read: &MarkRead,
) -> AppResult<ReadCursor> {
    let (room, handle) = scope(caller, raw_room, read.handle.as_ref())?;
    let cursor = inbox::mark_read(
        &ctx.db,
        &room,
        &caller.key_id,
        &handle,
        &read.through,
        ctx.now_ms,
    )
    .await?
    .ok_or_else(|| {
        AppError::client(ErrorCode::NotFound, "through is not a message of this room")
    })?;
    Ok(ReadCursor {
        handle,
        cursor: cursor_or_start(cursor),
    })
}

/// Sleeps until something is unread for the handle (a mention of it, or with
/// `any` any message not its own), polling D1 on the event stream's schedule;
/// `None` when the timeout runs out. With `ack` the cursor moves through what
/// is returned.
pub async fn wait(
    ctx: &Ctx,
    caller: &Caller,
    raw_room: &str,
    requested: Option<&Handle>,
    options: WaitOptions,
) -> AppResult<Option<Waited>> {
    let (room, handle) = scope(caller, raw_room, requested)?;
    let config = ctx.config.poll;
    let deadline = ctx.now_ms + i64::from(options.timeout_secs) * 1000;
    let reader = Reader {
        key_id: Some(&caller.key_id),
        member_hash: caller.member_hash(),
    };
    // Inside a free invocation's query budget: auth, a possible last_used
    // refresh and an ack besides the polls.
    let mut polls_left = config.max_polls.saturating_sub(1);
    // The first poll looks at everything after the cursor, filtered in SQL.
    let first = inbox::poll_addressed(&ctx.db, &room, reader, &handle, options.any, WAIT_PAGE)
        .await?
        .ok_or_else(access_lost)?;
    let cursor_id = first.cursor_id;
    let mut found: Vec<Message> = first.messages.into_iter().map(Message::from).collect();
    let mut scanned = first.head;
    let mut interval = config.active_ms;
    // Active rooms poll every active_ms, as the event stream does: the room's
    // newest message says whether it is active.
    let mut last_change: Option<i64> = first.head_ms;
    let mut immediate = false;
    while found.is_empty() {
        let now = now_ms();
        let left = deadline - now;
        if polls_left <= 1 || left <= 0 {
            return Ok(None);
        }
        if !immediate {
            let since = last_change.map(|t| u64::try_from(now - t).unwrap_or(0));
            interval = config.next_interval(since, interval);
            let sleep = i64::from(interval).min(left);
            Delay::from(Duration::from_millis(u64::try_from(sleep).unwrap_or(0))).await;
        }
        polls_left -= 1;
        // Later polls read what is new, as the event stream does, and keep
        // what is addressed to the handle: a few rows a poll when idle.
        let rows = messages::poll(&ctx.db, &room, reader, scanned, STREAM_PAGE)
            .await?
            .ok_or_else(access_lost)?;
        immediate = rows.len() == STREAM_PAGE as usize;
        if let Some(last) = rows.last() {
            scanned = last.seq;
            last_change = Some(now_ms());
        }
        // What wakes the handle is decided by `protocol`, the same rule the
        // first poll's SQL applies.
        found = rows
            .into_iter()
            .map(Message::from)
            .filter(|m| m.addresses(&handle, options.any))
            .take(WAIT_PAGE as usize)
            .collect();
    }
    let cursor = match (options.ack, found.last()) {
        (true, Some(last)) => {
            inbox::mark_read(&ctx.db, &room, &caller.key_id, &handle, &last.id, now_ms())
                .await?
                .flatten()
        }
        _ => cursor_id,
    };
    Ok(Some(Waited {
        handle,
        messages: found,
        cursor: cursor_or_start(cursor),
    }))
}

/// Messages a later poll of a wait reads at once; a full page polls again
/// at once.
const STREAM_PAGE: u32 = 100;

fn access_lost() -> AppError {
    AppError::unauthorized("access to this room was lost")
}
