//! The meet-ai Worker: a thin shell around `protocol`.
//!
//! # Layout
//! - `lib.rs`: the fetch entry point; resolves the route (a pure function in
//!   `protocol::route`), dispatches, and stamps every API response.
//! - `ops/`: the operations, one function each, shared by the REST routes and MCP.
//! - `routes/`: the HTTP face of each resource (health, keys, rooms, messages,
//!   members, inbox, events).
//! - `pages.rs`: the HTML pages from `public/`, with their security headers.
//! - `room.rs` (feature `durable-objects`): the paid variant's room object.
//! - `store/`: D1 (SQL per resource, round-trip counting) and KV (rate-limit logs).
//! - `auth.rs`, `config.rs`, `context.rs`, `error.rs`: the request's caller,
//!   the deployment's settings, the parsed request, and the one error type.
//!
//! Nothing on the request path may panic: a panic aborts the wasm instance and
//! with it every other request the isolate is serving.

mod auth;
mod config;
mod context;
mod error;
mod ops;
mod pages;
#[cfg(feature = "durable-objects")]
mod room;
mod routes;
mod store;

use protocol::route::{resolve, Endpoint, Resolved};
use protocol::ErrorCode;
use worker::{event, Context, Env, Request, Response, ScheduleContext, ScheduledEvent};

use crate::context::Ctx;
use crate::error::{AppError, AppResult};

#[event(fetch)]
async fn fetch(req: Request, env: Env, wctx: Context) -> worker::Result<Response> {
    let method = req.method().to_string();
    let path = req.path();
    let endpoint = match resolve(&method, &path) {
        Resolved::Asset => return pages::serve(req, &env).await,
        Resolved::NotFound => {
            return Ok(api_headers(
                AppError::client(ErrorCode::NotFound, "no such API route").into_response(),
            ))
        }
        Resolved::MethodNotAllowed { allow } => {
            return Ok(api_headers(
                AppError::method_not_allowed(allow).into_response(),
            ))
        }
        Resolved::Endpoint(endpoint) => endpoint,
    };
    if endpoint == Endpoint::Health {
        return Ok(api_headers(routes::health::get()));
    }
    let mut ctx = match Ctx::new(req, env, wctx) {
        Ok(ctx) => ctx,
        Err(e) => return Ok(api_headers(e.into_response())),
    };
    let mut response = dispatch(&endpoint, &mut ctx)
        .await
        .unwrap_or_else(AppError::into_response);
    let timing = ctx.db.stats().server_timing();
    let _ = response.headers_mut().set("Server-Timing", &timing);
    // Read-your-writes: the client presents this on its next request.
    if let Some(bookmark) = ctx.db.bookmark() {
        let _ = response
            .headers_mut()
            .set(protocol::bookmark::BOOKMARK_HEADER, &bookmark);
    }
    Ok(api_headers(response))
}

/// The Cron Trigger (`[triggers] crons` in wrangler.toml): the retention
/// purge, bounded to `RETENTION_PER_RUN` messages a run. Locally:
/// `wrangler dev --test-scheduled`, then `GET /__scheduled`.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let retention = config::Config::from_env(&env).retention;
    let db = match store::d1::Db::from_env(&env) {
        Ok(db) => db,
        Err(e) => return worker::console_error!("purge: no database: {e:?}"),
    };
    match store::retention::purge(&db, &retention, context::now_ms()).await {
        Ok(report) => {
            let stats = db.stats();
            worker::console_log!(
                "purge: aged={} capped={} revoked_messages={} rooms_deleted={} queries={} \
                 rows_read={} rows_written={}",
                report.aged,
                report.capped,
                report.revoked_messages,
                report.rooms_deleted,
                stats.round_trips,
                stats.rows_read,
                stats.rows_written
            );
        }
        // The next run picks up where this one stopped.
        Err(e) => worker::console_error!("purge failed: {e:?}"),
    }
}

async fn dispatch(endpoint: &Endpoint, ctx: &mut Ctx) -> AppResult<Response> {
    match endpoint {
        Endpoint::Health => Ok(routes::health::get()),
        Endpoint::Mcp => Box::pin(routes::mcp::handle(ctx)).await,
        Endpoint::CreateKey => routes::keys::create(ctx).await,
        Endpoint::RevokeKey => routes::keys::revoke(ctx).await,
        Endpoint::ListRooms => routes::rooms::list(ctx).await,
        Endpoint::CreateRoom => routes::rooms::create(ctx).await,
        Endpoint::GetRoom(id) => routes::rooms::get(ctx, id).await,
        Endpoint::UpdateRoom(id) => routes::rooms::update(ctx, id).await,
        Endpoint::Featured => routes::rooms::featured(ctx).await,
        Endpoint::ListMessages(id) => routes::messages::list(ctx, id).await,
        Endpoint::SendMessage(id) => routes::messages::send(ctx, id).await,
        Endpoint::Events(id) => routes::events::stream(ctx, id).await,
        Endpoint::WhoAmI => routes::members::whoami(ctx).await,
        Endpoint::ListMembers(id) => routes::members::list(ctx, id).await,
        Endpoint::AddMember(id) => routes::members::add(ctx, id).await,
        Endpoint::RemoveMember(id, handle) => routes::members::remove(ctx, id, handle).await,
        Endpoint::ReissueToken(id, handle) => routes::members::reissue(ctx, id, handle).await,
        Endpoint::Inbox(id) => routes::inbox::inbox(ctx, id).await,
        Endpoint::MarkRead(id) => routes::inbox::mark_read(ctx, id).await,
        Endpoint::Wait(id) => routes::inbox::wait(ctx, id).await,
        Endpoint::Decisions(id) => routes::decisions::create(ctx, id).await,
        Endpoint::Decision(id, d) => routes::decisions::get(ctx, id, d).await,
        Endpoint::DecisionWait(id, d) => routes::decisions::wait(ctx, id, d).await,
        Endpoint::DecisionAnswer(id, d) => routes::decisions::answer(ctx, id, d).await,
        Endpoint::DecisionCancel(id, d) => routes::decisions::cancel(ctx, id, d).await,
        #[cfg(feature = "durable-objects")]
        Endpoint::Socket(id) => routes::ws::upgrade(ctx, id).await,
        #[cfg(not(feature = "durable-objects"))]
        Endpoint::Socket(_) => Err(AppError::client(
            ErrorCode::NotFound,
            "WebSockets need the paid variant; use /events (SSE)",
        )),
    }
}

/// Headers every API response carries: API answers are per-key and must never
/// be cached by a shared cache.
fn api_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !headers.has("Cache-Control").unwrap_or(false) {
        let _ = headers.set("Cache-Control", "no-store");
    }
    let _ = headers.set("X-Content-Type-Options", "nosniff");
    response
}
