//! The paid variant (`--features durable-objects`): a `ChatRoom` Durable
//! Object per room pushes messages over hibernating WebSockets.
//!
//! D1 stays the one source of truth. The object never trusts the order in
//! which it hears about messages (two isolates may commit 10 then 11 and
//! notify 11 then 10); a notification only wakes its *pump*, which reads
//! everything after the slowest socket's cursor from D1, in commit order, and
//! gives each socket what lies past its own cursor. So a new socket's replay
//! (`?after=`) and live delivery are one mechanism, with no seam to lose or
//! repeat a message at.
//!
//! Hibernation: everything a socket needs (room, reader, owner, cursor) is in
//! its attachment, so nothing is needed in memory when the object wakes. Pings
//! are answered by the runtime's auto-response without waking it.

use std::cell::Cell;

use protocol::wire::Message;
use protocol::ws::{parse_client_frame, FrameError, Incoming, ServerFrame, PING, PONG};
use serde::{Deserialize, Serialize};
use worker::{
    console_error, console_warn, durable_object, DurableObject, Env, Headers, Method, Request,
    RequestInit, Response, State, WebSocket, WebSocketIncomingMessage, WebSocketPair,
};

use protocol::access::{sender_for, Principal};
use protocol::wire::Role;

use crate::auth::MemberId;
use crate::config::Config;
use crate::context::{now_ms, Ctx};
use crate::error::AppResult;
use crate::store::d1::Db;
use crate::store::live;
use crate::store::messages::{self, KeyRef, NewRecord, Refusal};
use crate::store::send_quota::SendLimits;

/// The object's address: the owning key and the room, so two tenants can
/// never share an object.
fn object_name(owner_key_id: &str, room_id: &str) -> String {
    format!("{owner_key_id}:{room_id}")
}

/// Headers that carry what the Worker established to the object.
const H_ROOM: &str = "X-Meet-Room";
const H_OWNER: &str = "X-Meet-Owner";
const H_READER: &str = "X-Meet-Reader";
const H_AFTER: &str = "X-Meet-After";
/// A member reader: `id hash role handle` (the handle last: it may hold spaces).
const H_MEMBER: &str = "X-Meet-Member";

/// Close code for a socket whose key was revoked or whose room went private.
const POLICY_VIOLATION: u16 = 1008;

/// Hands an authorised upgrade to the room's object.
pub async fn connect(
    env: &Env,
    owner_key_id: &str,
    room_id: &str,
    reader: Option<&str>,
    member: Option<&MemberId>,
    after_seq: i64,
) -> worker::Result<Response> {
    let stub = env
        .durable_object("CHAT_ROOM")?
        .id_from_name(&object_name(owner_key_id, room_id))?
        .get_stub()?;
    let headers = Headers::new();
    headers.set("Upgrade", "websocket")?;
    headers.set(H_ROOM, room_id)?;
    headers.set(H_OWNER, owner_key_id)?;
    headers.set(H_READER, reader.unwrap_or(""))?;
    headers.set(H_AFTER, &after_seq.to_string())?;
    if let Some(m) = member {
        let value = format!("{} {} {} {}", m.id, m.token_hash, m.role.as_str(), m.handle);
        // Header values are Latin-1 at most: percent-encode the handle's UTF-8.
        headers.set(H_MEMBER, &encode_header(&value))?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    // The URL is only a label: a stub's fetch needs a full one.
    let req = Request::new_with_init("https://chat-room/ws", &init)?;
    stub.fetch_with_request(req).await
}

/// Tells the room's object that a message was stored, after the response:
/// the sender does not wait for the push.
pub fn notify(ctx: &Ctx, owner_key_id: &str, room_id: &str) {
    let env = ctx.env.clone();
    let name = object_name(owner_key_id, room_id);
    ctx.wctx.wait_until(async move {
        let result = async {
            let stub = env
                .durable_object("CHAT_ROOM")?
                .id_from_name(&name)?
                .get_stub()?;
            stub.fetch_with_str("https://chat-room/notify").await
        };
        if let Err(e) = result.await {
            console_warn!("room notify failed: {e}");
        }
    });
}

/// Controls and non-ASCII are escaped, and `%` so that decoding is exact.
const HEADER_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%');

fn encode_header(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, HEADER_ESCAPES).to_string()
}

fn decode_header(value: &str) -> String {
    percent_encoding::percent_decode_str(value)
        .decode_utf8_lossy()
        .into_owned()
}

/// A member reading over a socket: enough to re-check it and to send as it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SocketMember {
    id: String,
    token_hash: String,
    role: Role,
    handle: String,
}

impl SocketMember {
    fn from_header(value: &str) -> Option<SocketMember> {
        let value = decode_header(value);
        let mut parts = value.splitn(4, ' ');
        Some(SocketMember {
            id: parts.next()?.to_owned(),
            token_hash: parts.next()?.to_owned(),
            role: Role::parse(parts.next()?)?,
            handle: parts.next()?.to_owned(),
        })
    }
}

/// Per-socket state, kept by the runtime across hibernation.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Attachment {
    room: String,
    owner: String,
    /// The reader's key id (a member's is the owner's); None for an
    /// anonymous reader of a public room.
    reader: Option<String>,
    /// Set when the reader is a member token.
    #[serde(default)]
    member: Option<SocketMember>,
    /// The `seq` of the last message this socket was given.
    last_seq: i64,
}

impl Attachment {
    fn is_owner(&self) -> bool {
        self.member.is_none() && self.reader.as_deref() == Some(self.owner.as_str())
    }

    fn can_write(&self) -> bool {
        self.is_owner() || self.member.as_ref().is_some_and(|m| m.role.can_send())
    }
}

#[durable_object]
pub struct ChatRoom {
    state: State,
    env: Env,
    /// A pump is running; another notification only marks it dirty.
    pumping: Cell<bool>,
    dirty: Cell<bool>,
}

impl DurableObject for ChatRoom {
    fn new(state: State, env: Env) -> Self {
        match worker::worker_sys::WebSocketRequestResponsePair::new(PING, PONG) {
            Ok(pair) => state.set_websocket_auto_response(&pair),
            Err(e) => console_warn!("ping auto-response unavailable: {e:?}"),
        }
        ChatRoom {
            state,
            env,
            pumping: Cell::new(false),
            dirty: Cell::new(false),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        match req.path().as_str() {
            "/ws" => self.accept(&req).await,
            "/notify" => {
                self.pump().await;
                Ok(Response::builder().with_status(204).empty())
            }
            _ => Response::error("not found", 404),
        }
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
            Ok(Incoming::Message(message)) => self.store(&ws, &message).await,
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

fn error_frame(text: &str) -> ServerFrame {
    ServerFrame::Error {
        error: text.to_owned(),
    }
}

/// Sends a frame; a socket that went away meanwhile is not an error.
fn send(ws: &WebSocket, frame: &ServerFrame) {
    match serde_json::to_string(frame) {
        Ok(text) => {
            let _ = ws.send_with_str(text);
        }
        Err(e) => console_error!("serialize frame: {e}"),
    }
}

impl ChatRoom {
    async fn accept(&self, req: &Request) -> worker::Result<Response> {
        let h = req.headers();
        let header = |name: &str| h.get(name).ok().flatten().unwrap_or_default();
        let attachment = Attachment {
            room: header(H_ROOM),
            owner: header(H_OWNER),
            reader: Some(header(H_READER)).filter(|r| !r.is_empty()),
            member: Some(header(H_MEMBER))
                .filter(|m| !m.is_empty())
                .and_then(|m| SocketMember::from_header(&m)),
            last_seq: header(H_AFTER).parse().unwrap_or(0),
        };
        if attachment.room.is_empty() || attachment.owner.is_empty() {
            return Response::error("missing room", 400);
        }
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        pair.server.serialize_attachment(&attachment)?;
        // The replay is just the pump catching this socket up.
        self.pump().await;
        Response::from_websocket(pair.client)
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
                Ok(more) if more => continue,
                Ok(_) => {}
                Err(e) => console_error!("room pump failed: {e:?}"),
            }
            if !self.dirty.get() {
                break;
            }
        }
        self.pumping.set(false);
    }

    /// One round: read what is new since the slowest socket, then give every
    /// socket what lies past its own cursor. True if a full page came back.
    async fn pump_once(&self) -> AppResult<bool> {
        let sockets: Vec<(WebSocket, Attachment)> = self
            .state
            .get_websockets()
            .into_iter()
            .filter_map(|ws| match ws.deserialize_attachment::<Attachment>() {
                Ok(Some(a)) => Some((ws, a)),
                _ => None,
            })
            .collect();
        let Some(first) = sockets.first() else {
            return Ok(false);
        };
        let room = first.1.room.clone();
        let after = sockets.iter().map(|(_, a)| a.last_seq).min().unwrap_or(0);
        let mut readers: Vec<String> = sockets
            .iter()
            .filter_map(|(_, a)| a.reader.clone())
            .collect();
        readers.sort();
        readers.dedup();
        let members: Vec<String> = sockets
            .iter()
            .filter_map(|(_, a)| a.member.as_ref().map(|m| m.id.clone()))
            .collect();
        let db = Db::from_env(&self.env)?;
        let pending = live::pending(&db, &room, after, &readers, &members).await?;
        let full = pending.messages.len() == live::PAGE as usize;
        let frames: Vec<(i64, String)> = pending
            .messages
            .into_iter()
            .filter_map(|row| {
                let seq = row.seq;
                serde_json::to_string(&ServerFrame::Message {
                    message: Message::from(row),
                })
                .ok()
                .map(|text| (seq, text))
            })
            .collect();
        for (ws, mut attachment) in sockets {
            let revoked = attachment
                .reader
                .as_ref()
                .is_some_and(|r| pending.revoked.contains(r));
            let readable = match pending.public {
                None => false,
                Some(public) => public || attachment.reader.as_deref() == Some(&attachment.owner),
            };
            let member_gone = attachment.member.as_ref().is_some_and(|m| {
                !pending
                    .live_members
                    .iter()
                    .any(|(id, hash)| *id == m.id && *hash == m.token_hash)
            });
            if revoked || !readable || member_gone {
                let _ = ws.close(Some(POLICY_VIOLATION), Some("access lost"));
                continue;
            }
            let before = attachment.last_seq;
            for (seq, text) in frames.iter().filter(|(seq, _)| *seq > before) {
                let _ = ws.send_with_str(text);
                attachment.last_seq = *seq;
            }
            if attachment.last_seq != before {
                ws.serialize_attachment(&attachment)?;
            }
        }
        Ok(full)
    }

    /// A message sent over the socket: the same validation, rate limit and
    /// storage as `POST /api/rooms/:id/messages`, then a push to everyone.
    async fn store(&self, ws: &WebSocket, message: &protocol::validate::NewMessage) {
        let attachment = match ws.deserialize_attachment::<Attachment>() {
            Ok(Some(a)) => a,
            _ => return send(ws, &error_frame("socket state lost; reconnect")),
        };
        if !attachment.can_write() {
            return send(
                ws,
                &error_frame("only the room owner's key or a member that may send can send here"),
            );
        }
        let principal = match &attachment.member {
            None => Principal::Owner,
            Some(m) => Principal::Member {
                room_id: &attachment.room,
                handle: &m.handle,
                role: m.role,
            },
        };
        let requested = message.sender.as_ref().map(AsRef::as_ref);
        let sender = match sender_for(principal, requested) {
            Ok(sender) => sender,
            Err(e) => return send(ws, &error_frame(&e.to_string())),
        };
        let sender_type = match &attachment.member {
            Some(m) => m.role.sender_type(),
            None => message.sender_type,
        };
        let config = Config::from_env(&self.env);
        let limit = config.messages_per_key;
        let now = now_ms();
        let id = messages::new_id(&attachment.room, None);
        let rec = NewRecord {
            id: &id,
            room_id: &attachment.room,
            key: match &attachment.member {
                Some(m) => KeyRef::Member(&m.token_hash),
                None => KeyRef::Id(&attachment.owner),
            },
            message,
            idempotency_key: None,
            limits: SendLimits {
                per_minute: limit,
                daily_cap: config.messages_per_day,
                now_ms: now,
            },
        };
        let outcome = async {
            let db = Db::from_env(&self.env)?;
            if messages::insert(&db, &rec).await?.is_some() {
                return Ok(None);
            }
            let member_hash = attachment.member.as_ref().map(|m| m.token_hash.as_str());
            messages::explain_refusal(
                &db,
                &rec,
                &attachment.owner,
                member_hash,
                &sender,
                sender_type.as_str(),
            )
            .await
            .map(Some)
        };
        match outcome.await {
            Ok(None) => self.pump().await,
            Ok(Some(Refusal::KeyRevoked)) => {
                let _ = ws.close(Some(POLICY_VIOLATION), Some("access lost"));
            }
            Ok(Some(Refusal::RoomNotFound)) => send(ws, &error_frame("room not found")),
            Ok(Some(Refusal::HandleReserved)) => send(
                ws,
                &error_frame(&format!(
                    "'{sender}' is the handle of a member of this room; only its member token sends as it"
                )),
            ),
            Ok(Some(Refusal::Duplicate(_))) => self.pump().await,
            Ok(Some(Refusal::LoopGuard { limit, notice })) => {
                send(
                    ws,
                    &error_frame(&format!(
                        "loop guard: the last {limit} messages here are all from agents; wait for a human"
                    )),
                );
                if notice.is_some() {
                    self.pump().await;
                }
            }
            Ok(Some(Refusal::IdempotencyConflict)) => {
                send(ws, &error_frame("this message repeats an id used for another"))
            }
            Ok(Some(Refusal::DailyQuota { retry_after_secs })) => send(
                ws,
                &error_frame(&format!(
                    "this key's daily send quota is spent; it resets at 00:00 UTC, in \
                     {retry_after_secs} s"
                )),
            ),
            Ok(Some(Refusal::RateLimited {
                retry_after_secs: wait,
            })) => {
                send(
                    ws,
                    &error_frame(&format!(
                        "sending is limited to {} messages per minute per key; retry in {wait} s",
                        limit.max
                    )),
                )
            }
            Err(e) => {
                console_error!("socket send failed: {e:?}");
                send(ws, &error_frame("internal error; please try again"))
            }
        }
    }
}
