//! `POST /mcp`: the Model Context Protocol endpoint (Streamable HTTP,
//! stateless, JSON responses). The protocol itself is pure and lives in
//! `protocol::mcp`; this module checks the credential, parses each tool's
//! arguments with the same `protocol::validate` rules as the REST routes, and
//! calls the same `ops` functions they call. Nothing here touches D1 or KV.

use protocol::key::CredentialKind;
use protocol::mcp::{self, Headers, Id, Outcome, ToolCall, ToolError, ToolOutcome};
use protocol::validate::{
    Handle, Limit, MarkRead, NewMessage, NewRoom, Page, RoomName, WaitOptions,
};
use protocol::ErrorCode;
use serde::Serialize;
use serde_json::{json, Map, Value};
use worker::Response;

use crate::auth::{authenticate, presented, Caller};
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops;

/// Inbox page size when counting unread mentions after a call.
const UNREAD_PAGE: u32 = 100;
/// The REST inbox's default page.
const INBOX_PAGE: u32 = 50;

pub async fn handle(ctx: &mut Ctx) -> AppResult<Response> {
    let (accept, content_type, version_header, origin) = (
        ctx.header("Accept"),
        ctx.header("Content-Type"),
        ctx.header("MCP-Protocol-Version"),
        ctx.header("Origin"),
    );
    let host = protocol::uri::authority(&ctx.url);
    let version = match mcp::check_post(&Headers {
        accept: accept.as_deref(),
        content_type: content_type.as_deref(),
        protocol_version: version_header.as_deref(),
        origin: origin.as_deref(),
        host: Some(&host),
    }) {
        Ok(v) => v,
        Err(rejection) => return Ok(rpc_response(&rejection.body, rejection.status)),
    };
    // A missing or malformed credential costs nothing to refuse.
    if let Err(e) = presented(ctx) {
        return Ok(unauthorized(e));
    }
    // The credential is checked before a byte of the body is read.
    let authed = match authenticate(ctx).await {
        Ok(caller) => caller,
        Err(e) => return Ok(transport_error(e, None)),
    };
    let body = match ctx.body().await {
        Ok(body) => body,
        Err(e) => return Ok(transport_error(e, None)),
    };
    let outcome = mcp::handle(&body, version);
    // A send authenticates again inside its one D1 batch, as its REST twin does.
    let caller = match &outcome {
        Outcome::Call {
            call: ToolCall::SendMessage { .. },
            ..
        } => None,
        _ => Some(authed),
    };
    Ok(match outcome {
        Outcome::Call { id, call } => {
            let outcome = match execute(ctx, &caller, &call).await {
                Ok(out) => Ok(out),
                // The credential died between the check and the call: the
                // client must fix it, so it is the transport's 401.
                Err(
                    e @ AppError::Client {
                        code: ErrorCode::Unauthorized,
                        ..
                    },
                ) => return Ok(unauthorized(e)),
                Err(e) => Err(tool_error(e)),
            };
            let unread = unread_mentions(ctx, caller, &call, &outcome).await;
            rpc_response(&mcp::finish_call(id, outcome, unread, version), 200)
        }
        Outcome::Reply(r) => rpc_response(&r, 200),
        Outcome::Rejected { status, body } => rpc_response(&body, status),
        Outcome::Accepted => Response::builder().with_status(202).empty(),
    })
}

/// A wire type as JSON, through the same `to_string` its REST twin uses
/// (a second serializer for every wire type would cost bundle size).
fn json_of<T: Serialize>(value: &T) -> AppResult<Value> {
    serde_json::to_string(value)
        .and_then(|text| serde_json::from_str(&text))
        .map_err(|e| AppError::Internal(format!("mcp: {e}")))
}

fn to_object<T: Serialize>(key: &str, value: &T) -> AppResult<Map<String, Value>> {
    let mut out = Map::new();
    out.insert(key.into(), json_of(value)?);
    Ok(out)
}

fn flat<T: Serialize>(value: &T) -> AppResult<Map<String, Value>> {
    match json_of(value)? {
        Value::Object(map) => Ok(map),
        _ => Err(AppError::Internal("mcp: output is not an object".into())),
    }
}

fn for_handle(raw: &Option<String>) -> AppResult<Option<Handle>> {
    Ok(raw.as_deref().map(Handle::parse_for).transpose()?)
}

/// The caller, looked up before any call but a send.
fn keyed(caller: &Option<Caller>) -> AppResult<&Caller> {
    caller
        .as_ref()
        .ok_or_else(|| AppError::Internal("mcp: call without a caller".into()))
}

/// Runs one call through the operation its REST twin uses, with the same
/// input rules, and shapes the tool's output object.
async fn execute(
    ctx: &Ctx,
    caller: &Option<Caller>,
    call: &ToolCall,
) -> AppResult<Map<String, Value>> {
    // One route carries reads and writes, so the daily budget (which let the
    // route in as a read) decides again per tool.
    crate::budget::check(
        ctx,
        match call {
            ToolCall::CreateRoom { .. } => protocol::quota::Kind::Growth,
            ToolCall::SendMessage { .. } | ToolCall::MarkRead { .. } => {
                protocol::quota::Kind::Write
            }
            _ => protocol::quota::Kind::Read,
        },
    )?;
    match call {
        ToolCall::ListRooms => to_object("rooms", &ops::rooms::list(ctx, keyed(caller)?).await?),
        ToolCall::CreateRoom { name } => {
            let new = NewRoom {
                name: RoomName::parse(name)?,
            };
            to_object(
                "room",
                &ops::rooms::create(ctx, keyed(caller)?, &new).await?,
            )
        }
        ToolCall::SendMessage {
            room_id,
            content,
            sender,
            sender_type,
            color,
        } => {
            let cred = presented(ctx)?;
            let message = match NewMessage::from_parts(
                sender.clone(),
                content.clone(),
                *sender_type,
                color.clone(),
            ) {
                Ok(m) => m,
                Err(e) => {
                    // A bad key outranks bad input, as on the REST route.
                    authenticate(ctx).await?;
                    return Err(e.into());
                }
            };
            let sent = ops::messages::send(ctx, &cred, room_id, &message, None).await?;
            to_object("message", &sent.message)
        }
        ToolCall::ReadMessages {
            room_id,
            after,
            limit,
        } => {
            let page = Page::parse(after.as_deref(), None)?;
            let limit = Limit::parse(limit.map(|l| l.to_string()).as_deref())?;
            keyed(caller)?;
            let page =
                ops::messages::history(ctx, caller, room_id, &page, limit.get(), None).await?;
            let list = page.messages;
            let next = list.last().map(|m| m.id.clone()).or_else(|| after.clone());
            let mut out = to_object("messages", &list)?;
            out.insert("next_after".into(), json!(next));
            // The byte cap ended the page: more follow after next_after.
            out.insert("truncated".into(), json!(page.truncated));
            Ok(out)
        }
        ToolCall::WaitForMessages {
            room_id,
            for_handle: handle,
            any,
            timeout_secs,
            ack,
        } => {
            let handle = for_handle(handle)?;
            let options = WaitOptions {
                timeout_secs: *timeout_secs,
                any: *any,
                ack: *ack,
            };
            match ops::inbox::wait(ctx, keyed(caller)?, room_id, handle.as_ref(), options).await? {
                Some(waited) => {
                    let mut out = flat(&waited)?;
                    out.insert("timed_out".into(), json!(false));
                    Ok(out)
                }
                None => {
                    let mut out = Map::new();
                    if let Some(h) = handle {
                        out.insert("handle".into(), json!(h.as_ref()));
                    } else if let Some(m) = &keyed(caller)?.member {
                        out.insert("handle".into(), json!(m.handle));
                    }
                    out.insert("messages".into(), json!([]));
                    out.insert("timed_out".into(), json!(true));
                    Ok(out)
                }
            }
        }
        ToolCall::Inbox {
            room_id,
            for_handle: handle,
        } => {
            let handle = for_handle(handle)?;
            let inbox = ops::inbox::inbox(
                ctx,
                keyed(caller)?,
                room_id,
                handle.as_ref(),
                None,
                INBOX_PAGE,
            )
            .await?;
            flat(&inbox)
        }
        ToolCall::MarkRead {
            room_id,
            for_handle: handle,
            through,
        } => {
            let read = MarkRead {
                handle: for_handle(handle)?,
                through: protocol::validate::parse_id(through.trim())
                    .ok_or(protocol::validate::ValidationError::Cursor("through"))?,
            };
            flat(&ops::inbox::mark_read(ctx, keyed(caller)?, room_id, &read).await?)
        }
    }
}

/// A refused call as a tool error with the REST API's code. Internal errors
/// are logged and shown as `internal`, never as their cause.
fn tool_error(e: AppError) -> ToolError {
    match e {
        AppError::Client {
            code,
            message,
            retry_after,
            ..
        } => ToolError {
            code,
            message,
            retry_after,
        },
        AppError::Internal(cause) => {
            worker::console_error!("internal error: {cause}");
            ToolError::internal()
        }
    }
}

/// The caller's unread mentions in the call's room, when it is known who the
/// caller is there: a member token (its own handle) or a `for` handle.
/// `inbox` reports it for free; `wait_for_messages` has just returned (and
/// by default read) them, so it leaves it out; any other room call costs one
/// inbox query (and, for a send, which authenticates in its batch, a key
/// lookup), counting at most [`UNREAD_PAGE`].
async fn unread_mentions(
    ctx: &Ctx,
    caller: Option<Caller>,
    call: &ToolCall,
    outcome: &ToolOutcome,
) -> Option<u64> {
    let output = outcome.as_ref().ok()?;
    let room = call.room_id()?;
    let requested = match call {
        ToolCall::Inbox { .. } => {
            let shown = output.get("mentions")?.as_array()?.len() as u64;
            return Some(shown);
        }
        ToolCall::WaitForMessages { .. } => return None,
        ToolCall::MarkRead { for_handle, .. } => for_handle.clone(),
        _ => None,
    };
    // An owner key names nobody unless the call said `for`: known for free.
    let owner = presented(ctx).ok()?.kind == CredentialKind::Owner;
    if owner && requested.is_none() {
        return None;
    }
    let caller = match caller {
        Some(c) => c,
        None => authenticate(ctx).await.ok()?,
    };
    let handle = for_handle(&requested).ok()?;
    let inbox = ops::inbox::inbox(ctx, &caller, room, handle.as_ref(), None, UNREAD_PAGE)
        .await
        .ok()?;
    Some(inbox.mentions.len() as u64)
}

fn rpc_response(body: &mcp::Response, status: u16) -> Response {
    let mut response = Response::builder()
        .with_status(status)
        .fixed(body.to_json().into_bytes());
    let _ = response
        .headers_mut()
        .set("Content-Type", "application/json");
    response
}

/// 401 with the challenge the MCP authorization section asks for. There is
/// no OAuth authorization server, so no `resource_metadata`: the credential
/// is a meet-ai key or member token, given to the client by hand.
fn unauthorized(e: AppError) -> Response {
    let message = match &e {
        AppError::Client { message, .. } => message.clone(),
        AppError::Internal(_) => "unauthorized".into(),
    };
    let mut response = e.into_response();
    // RFC 6750: no error code when no credential was presented at all.
    let challenge = if message.starts_with("missing") {
        "Bearer realm=\"meet-ai\"".to_owned()
    } else {
        format!(
            "Bearer realm=\"meet-ai\", error=\"invalid_token\", error_description=\"{}\"",
            message.replace(['"', '\\'], "'")
        )
    };
    let _ = response.headers_mut().set("WWW-Authenticate", &challenge);
    response
}

/// A failure outside any tool (a bad credential, an oversized body, a failed
/// key lookup). A 401 gets its challenge; another client fault keeps the
/// REST API's 4xx status with a JSON-RPC error body; ours is a JSON-RPC
/// internal error (-32603) on a 200, never a bare 500.
fn transport_error(e: AppError, id: Option<Id>) -> Response {
    match e {
        AppError::Client {
            code: ErrorCode::Unauthorized,
            ..
        } => unauthorized(e),
        AppError::Client { code, message, .. } => rpc_response(
            &mcp::Response::error(id, mcp::jsonrpc::INVALID_REQUEST, message),
            code.status(),
        ),
        AppError::Internal(cause) => {
            worker::console_error!("internal error: {cause}");
            rpc_response(
                &mcp::Response::error(
                    id,
                    mcp::jsonrpc::INTERNAL_ERROR,
                    "internal error; please try again",
                ),
                200,
            )
        }
    }
}
