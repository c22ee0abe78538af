//! The paid variant's room objects (`--features room-object`, a Worker
//! script of their own: wrangler.rooms.toml): a `ChatRoom` Durable Object
//! per room pushes messages over hibernating WebSockets. This file is
//! the object and its pump; per-socket state is in `room/socket.rs`, a message
//! sent over a socket in `room/store.rs`.
//!
//! D1 stays the one source of truth, and a socket's attachment says the last
//! message it was given (it has every earlier one of the room, in order). Two
//! ways bring a socket forward, and they never disagree:
//! - **push**: a send's notification carries the stored message and the `seq`
//!   of its predecessor in the room (read in the send's own batch). Every
//!   socket whose cursor sits at that predecessor gets the message at once,
//!   without a D1 read (`protocol::push`). Isolates may notify out of commit
//!   order; a socket is then simply behind, and the pump catches it up.
//! - **pump**: reads D1 from cursors, in commit order, for sockets that lag:
//!   a replay after `?after=`, a missed or plain notification, a retry, and
//!   sockets reading with a key other than the room's (a public room), whose
//!   revocation is checked before each message they get. Each
//!   round reads one page after the slowest socket's cursor and one after the
//!   most advanced, so a long replay goes page by page without holding back
//!   the live sockets; between rounds, pushes go on. The pump also re-checks
//!   access (revocation, a room made private, a removed member) at least every
//!   [`CHECK_EVERY_MS`], and at once on a plain notification, which is what
//!   revoking, `PATCH public=false` and removing a member send.
//!
//! A pump that fails retries with the object's alarm (1 s, doubling up to a
//! minute); a notification that fails is retried by the Worker. Hibernation:
//! nothing is needed in memory when the object wakes; pings are answered by
//! the runtime's auto-response without waking it.

// The room objects' build allows dead code in the rest of the crate (lib.rs:
// it reaches only this module); here every lint stays on.
#![warn(dead_code, unused_imports)]

mod socket;
mod store;

use std::cell::Cell;
use std::rc::Rc;

use protocol::access::{readable, ReadCheck, RoomAccess};
use protocol::object::{Notice, OpenSocket};
use protocol::push::{place, Place};
use protocol::wire::Message;
use protocol::ws::{parse_client_frame, FrameError, Incoming, PushStats, ServerFrame, PING, PONG};
use worker::{
    console_error, console_warn, durable_object, DurableObject, Env, Request, Response, State,
    WebSocket, WebSocketIncomingMessage, WebSocketPair,
};

use crate::context::now_ms;
use crate::error::AppResult;
use crate::store::d1::Db;
use crate::store::pump;
use socket::{error_frame, send, Attachment, POLICY_VIOLATION};

/// How stale the object's last access check may be when it pushes without
/// reading: past this, the next message goes through the pump (one D1 batch)
/// instead. Events that revoke access notify the object and are checked at once.
const CHECK_EVERY_MS: i64 = 60_000;

/// A failed pump retries after 1 s, doubling up to this.
const RETRY_MAX_MS: i64 = 60_000;

#[durable_object]
pub struct ChatRoom {
    room: Rc<Room>,
}

/// The object's state; shared so that a replay can run after the handshake.
pub(crate) struct Room {
    state: State,
    env: Env,
    /// A pump is running; another call only marks it dirty.
    pumping: Cell<bool>,
    dirty: Cell<bool>,
    /// When the pump last checked access against D1 (0: not since waking).
    checked_ms: Cell<i64>,
    /// Pumps failed in a row: the alarm's retry waits 2^n seconds.
    failures: Cell<u32>,
    stats: Cell<PushStats>,
}

impl DurableObject for ChatRoom {
    fn new(state: State, env: Env) -> Self {
        match worker::worker_sys::WebSocketRequestResponsePair::new(PING, PONG) {
            Ok(pair) => state.set_websocket_auto_response(&pair),
            Err(e) => console_warn!("ping auto-response unavailable: {e:?}"),
        }
        ChatRoom {
            room: Rc::new(Room {
                state,
                env,
                pumping: Cell::new(false),
                dirty: Cell::new(false),
                checked_ms: Cell::new(0),
                failures: Cell::new(0),
                stats: Cell::new(PushStats::default()),
            }),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        match req.path().as_str() {
            "/ws" => self.accept(&req),
            "/notify" => {
                let notice = Notice::from_headers(|name| req.headers().get(name).ok().flatten());
                match notice {
                    Ok(Notice::Carried { seq, prev }) => {
                        let text = req.text().await?;
                        self.room.deliver(seq, prev, &text).await;
                    }
                    Ok(Notice::Plain) => {
                        // A plain notification may mean lost access: check now.
                        self.room.checked_ms.set(0);
                        self.room.pump().await;
                    }
                    Err(e) => return Response::error(e.to_string(), 400),
                }
                Ok(Response::builder().with_status(204).empty())
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        self.room.pump().await;
        Ok(Response::builder().with_status(204).empty())
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        let text = match message {
            WebSocketIncomingMessage::String(text) => text,
            WebSocketIncomingMessage::Binary(_) => {
                send(
                    &ws,
                    &error_frame("binary frames are not supported; send JSON text"),
                );
                return Ok(());
            }
        };
        match parse_client_frame(&text) {
            Ok(Incoming::Ping) => send(&ws, &ServerFrame::Pong),
            Ok(Incoming::Stats) => send(&ws, &ServerFrame::Stats(self.room.stats.get())),
            Ok(Incoming::Message(message)) => self.room.store(&ws, &message).await,
            Err(e @ FrameError::Json(_)) | Err(e @ FrameError::Invalid(_)) => {
                send(&ws, &error_frame(&e.to_string()))
            }
        }
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> worker::Result<()> {
        // Complete the closing handshake; the runtime forgets the socket.
        let _ = ws.close(Some(1000), Some("closed"));
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, error: worker::Error) -> worker::Result<()> {
        console_warn!("websocket error: {error}");
        let _ = ws.close(Some(1011), Some("error"));
        Ok(())
    }
}

impl ChatRoom {
    /// Accepts the socket and answers the handshake at once; its replay
    /// (`?after=`) runs afterwards, through the pump, page by page.
    fn accept(&self, req: &Request) -> worker::Result<Response> {
        let open = OpenSocket::from_headers(|name| req.headers().get(name).ok().flatten());
        let attachment = match open {
            Ok(open) => Attachment::from(open),
            Err(e) => return Response::error(e.to_string(), 400),
        };
        let pair = WebSocketPair::new()?;
        self.room.state.accept_web_socket(&pair.server);
        pair.server.serialize_attachment(&attachment)?;
        let room = Rc::clone(&self.room);
        self.room.state.wait_until(async move { room.pump().await });
        Response::from_websocket(pair.client)
    }
}

impl Room {
    /// A notified message: pushed now to every socket at its predecessor;
    /// sockets behind it are left to the pump, which reads D1.
    async fn deliver(&self, seq: i64, prev: i64, text: &str) {
        let mut stats = self.stats.get();
        stats.notified += 1;
        self.stats.set(stats);
        if now_ms() - self.checked_ms.get() > CHECK_EVERY_MS {
            // Access not checked lately: this one goes through the pump.
            return self.pump().await;
        }
        let mut behind = false;
        for (ws, mut attachment) in socket::sockets(&self.state) {
            match place(attachment.last_seq, seq, prev) {
                // Its key may have been revoked: the pump checks, then gives.
                Place::Next if attachment.is_foreign_key() => behind = true,
                Place::Next => {
                    let _ = ws.send_with_str(text);
                    attachment.last_seq = seq;
                    if let Err(e) = ws.serialize_attachment(&attachment) {
                        console_error!("socket cursor not saved: {e}");
                    }
                }
                Place::Has => {}
                Place::Behind => behind = true,
            }
        }
        if behind {
            self.pump().await;
        } else {
            let mut stats = self.stats.get();
            stats.pushed_without_read += 1;
            self.stats.set(stats);
        }
    }

    /// Runs the pump until nothing is pending. Concurrent calls coalesce: a
    /// call during a run marks it dirty, and the run goes round once more.
    async fn pump(&self) {
        if self.pumping.get() {
            self.dirty.set(true);
            return;
        }
        self.pumping.set(true);
        loop {
            self.dirty.set(false);
            match self.pump_once().await {
                Ok(more) => {
                    self.failures.set(0);
                    if more {
                        self.dirty.set(true);
                    }
                }
                Err(e) => {
                    console_error!("room pump failed: {e:?}");
                    self.retry_later().await;
                    break;
                }
            }
            if !self.dirty.get() {
                break;
            }
        }
        self.pumping.set(false);
    }

    /// Sets the object's alarm to pump again: 1 s after the first failure,
    /// doubling up to [`RETRY_MAX_MS`].
    async fn retry_later(&self) {
        let failures = self.failures.get().saturating_add(1);
        self.failures.set(failures);
        let wait = (1_000_i64 << failures.min(7).saturating_sub(1)).min(RETRY_MAX_MS);
        if let Err(e) = self.state.storage().set_alarm(now_ms() + wait).await {
            console_error!("room pump retry not scheduled: {e}");
        }
    }

    /// One round: a page after the slowest socket's cursor and one after the
    /// most advanced, with the access checks, in one D1 batch; then every
    /// socket gets what lies past its own cursor. True if some socket may
    /// have more waiting.
    async fn pump_once(&self) -> AppResult<bool> {
        let sockets = socket::sockets(&self.state);
        let Some(first) = sockets.first() else {
            return Ok(false);
        };
        let room = first.1.room.clone();
        let lo = sockets.iter().map(|(_, a)| a.last_seq).min().unwrap_or(0);
        let hi = sockets.iter().map(|(_, a)| a.last_seq).max().unwrap_or(0);
        let afters: Vec<i64> = if hi > lo { vec![lo, hi] } else { vec![lo] };
        // Distinct readers; a linear check rather than a sort (this runs per
        // pump round, over tens of sockets, and a sort of strings costs ~1 KB
        // of wasm).
        let mut readers: Vec<String> = Vec::new();
        for reader in sockets.iter().filter_map(|(_, a)| a.reader.as_ref()) {
            if !readers.contains(reader) {
                readers.push(reader.clone());
            }
        }
        let members: Vec<String> = sockets
            .iter()
            .filter_map(|(_, a)| a.member.as_ref().map(|m| m.id.clone()))
            .collect();
        drop(sockets);
        let db = Db::from_env(&self.env)?;
        let pending = pump::pending(&db, &room, &afters, &readers, &members).await;
        let cost = db.stats();
        let mut stats = self.stats.get();
        stats.d1_queries += u64::from(cost.round_trips);
        stats.d1_rows_read += cost.rows_read;
        self.stats.set(stats);
        let pending = pending?;
        self.checked_ms.set(now_ms());
        let pages: Vec<Page> = afters
            .iter()
            .zip(pending.pages)
            .map(|(after, rows)| Page {
                start: *after,
                full: rows.len() == pump::PAGE as usize,
                frames: rows
                    .into_iter()
                    .filter_map(|row| {
                        let seq = row.seq;
                        serde_json::to_string(&ServerFrame::Message(Message::from(row)))
                            .ok()
                            .map(|text| (seq, text))
                    })
                    .collect(),
            })
            .collect();
        let mut more = false;
        // Cursors as they are now: pushes and new sockets may have come
        // while D1 answered.
        for (ws, mut attachment) in socket::sockets(&self.state) {
            let check = ReadCheck {
                room: pending.public.map(|public| RoomAccess {
                    owner: &attachment.owner,
                    public,
                }),
                reader: attachment.reader.as_deref(),
                reader_revoked: attachment
                    .reader
                    .as_ref()
                    .is_some_and(|r| pending.revoked.contains(r)),
                member_gone: attachment.member.as_ref().is_some_and(|m| {
                    !pending
                        .live_members
                        .iter()
                        .any(|(id, hash)| *id == m.id && *hash == m.token_hash)
                }),
            };
            if readable(check).is_err() {
                let _ = ws.close(Some(POLICY_VIOLATION), Some("access lost"));
                continue;
            }
            let before = attachment.last_seq;
            // The page that starts closest below this cursor; none if the
            // socket came after the read with an older cursor.
            let Some(page) = pages.iter().rev().find(|p| p.start <= before) else {
                more = true;
                continue;
            };
            for (seq, text) in page.frames.iter().filter(|(seq, _)| *seq > before) {
                let _ = ws.send_with_str(text);
                attachment.last_seq = *seq;
            }
            // A full page: more may follow for this socket.
            if page.full {
                more = true;
            }
            if attachment.last_seq != before {
                ws.serialize_attachment(&attachment)?;
            }
        }
        Ok(more)
    }
}

/// One page the pump read: the cursor it starts after, its messages as
/// frames with their `seq`, and whether it was full (more may follow).
struct Page {
    start: i64,
    frames: Vec<(i64, String)>,
    full: bool,
}
