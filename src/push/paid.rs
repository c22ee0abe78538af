//! Live push in the paid variant: the Worker's side of the room objects
//! (`crate::room`). It hands upgrades to them and notifies them of sends and
//! of access changes; the free build's twin, `free.rs`, does nothing.

use protocol::cursor::RoomId;
use protocol::object::{Notice, OpenSocket, SocketLimits, SocketMember};
use protocol::wire::Message;
use protocol::ws::message_frame;
use worker::wasm_bindgen::JsValue;
use worker::{
    console_error, console_warn, web_sys, D1PreparedStatement, D1Result, Delay, Env, Headers,
    Request, Response,
};

use crate::auth::MemberId;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::store::d1::Db;

/// The statement to batch after a send's INSERT: the room's two newest
/// `seq`s, newest first, along the table's primary key (room_id, seq).
pub fn head_statement(db: &Db, room_id: &str) -> AppResult<Option<D1PreparedStatement>> {
    db.prepare(
        "SELECT seq FROM messages WHERE room_id = ?1 ORDER BY seq DESC LIMIT 2",
        &[room_id.into()],
    )
    .map(Some)
}

/// After a stored send: tells the room's object, with the message when the
/// batch's [`head_statement`] names its predecessor, plainly otherwise.
pub fn stored(
    ctx: &Ctx,
    owner_key_id: &str,
    room_id: &RoomId,
    seq: i64,
    message: &Message,
    head: Option<&D1Result>,
) {
    #[derive(serde::Deserialize)]
    struct SeqRow {
        seq: i64,
    }
    let newest: Vec<i64> = crate::store::d1::rows::<SeqRow>(head)
        .map(|r| r.into_iter().map(|r| r.seq).collect())
        .unwrap_or_default();
    match protocol::push::predecessor(seq, &newest) {
        Some(prev) => notify_message(ctx, owner_key_id, room_id, seq, prev, message),
        None => notify(ctx, owner_key_id, room_id),
    }
}

/// A key was revoked: wake its rooms so their objects close its sockets now;
/// an idle socket would otherwise only notice at its next delivery.
pub async fn key_revoked(ctx: &Ctx, key_id: &str) -> AppResult<()> {
    for room in crate::store::rooms::list(&ctx.db, key_id).await? {
        notify(ctx, key_id, &room.id);
    }
    Ok(())
}

/// Waits before the Worker's second and third try at a notification.
const NOTIFY_RETRY_MS: [u64; 2] = [100, 1_000];

/// The object's address: the owning key and the room, so two tenants can
/// never share an object.
fn object_name(owner_key_id: &str, room_id: &str) -> String {
    format!("{owner_key_id}:{room_id}")
}

/// Hands an authorised upgrade to the room's object.
pub async fn connect(
    env: &Env,
    owner_key_id: &str,
    room_id: &RoomId,
    reader: Option<&str>,
    member: Option<&MemberId>,
    after_seq: i64,
    limits: SocketLimits,
) -> worker::Result<Response> {
    let stub = env
        .durable_object("CHAT_ROOM")?
        .id_from_name(&object_name(owner_key_id, room_id))?
        .get_stub()?;
    let open = OpenSocket {
        room: room_id.to_string(),
        owner: owner_key_id.to_owned(),
        reader: reader.map(str::to_owned),
        member: member.map(|m| SocketMember {
            id: m.id.clone(),
            token_hash: m.token_hash.clone(),
            role: m.role,
            handle: m.handle.clone(),
        }),
        after_seq,
        limits,
    };
    let headers = Headers::new();
    headers.set("Upgrade", "websocket")?;
    for (name, value) in open.headers() {
        headers.set(name, &value)?;
    }
    stub.fetch_with_request(object_request("/ws", "GET", &headers, None)?)
        .await
}

/// A request to a room's object. Built with `web_sys` directly: `worker`'s
/// `RequestInit` conversion links its whole `cf` options (image resizing and
/// more), ~4 KB of gzipped wasm this build does not use. The URL is only a
/// label: a stub's fetch needs a full one.
fn object_request(
    path: &str,
    method: &str,
    headers: &Headers,
    body: Option<&str>,
) -> worker::Result<Request> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_headers(&headers.0);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(body));
    }
    web_sys::Request::new_with_str_and_init(&format!("https://chat-room{path}"), &init)
        .map(Request::from)
        .map_err(worker::Error::from)
}

/// Tells the room's object that something changed (a message it must read,
/// or access to re-check), after the response: the sender does not wait.
pub fn notify(ctx: &Ctx, owner_key_id: &str, room_id: &str) {
    send_notice(ctx, object_name(owner_key_id, room_id), None);
}

/// Tells the room's object of a stored message, carrying it so that the
/// object can push it without reading D1.
pub fn notify_message(
    ctx: &Ctx,
    owner_key_id: &str,
    room_id: &RoomId,
    seq: i64,
    prev_seq: i64,
    message: &Message,
) {
    let carried = message_frame(message)
        .ok()
        .map(|text| (seq, prev_seq, text));
    send_notice(ctx, object_name(owner_key_id, room_id), carried);
}

/// Posts a notification in the background, trying three times: a socket must
/// not wait for a later message to receive this one.
fn send_notice(ctx: &Ctx, name: String, carried: Option<(i64, i64, String)>) {
    let env = ctx.env.clone();
    ctx.wctx.wait_until(async move {
        let attempt = || async {
            let stub = env
                .durable_object("CHAT_ROOM")?
                .id_from_name(&name)?
                .get_stub()?;
            let headers = Headers::new();
            let (notice, body) = match &carried {
                Some((seq, prev, text)) => (
                    Notice::Carried {
                        seq: *seq,
                        prev: *prev,
                    },
                    Some(text.as_str()),
                ),
                None => (Notice::Plain, None),
            };
            for (name, value) in notice.headers() {
                headers.set(name, &value)?;
            }
            let req = object_request("/notify", "POST", &headers, body)?;
            let resp = stub.fetch_with_request(req).await?;
            match resp.status_code() {
                200..=299 => Ok(()),
                status => Err(worker::Error::RustError(format!(
                    "object answered {status}"
                ))),
            }
        };
        let mut waits = NOTIFY_RETRY_MS.iter();
        loop {
            match attempt().await {
                Ok(()) => return,
                Err(e) => match waits.next() {
                    Some(ms) => {
                        console_warn!("room notify failed, retrying: {e}");
                        Delay::from(std::time::Duration::from_millis(*ms)).await;
                    }
                    None => return console_error!("room notify failed three times: {e}"),
                },
            }
        }
    });
}
