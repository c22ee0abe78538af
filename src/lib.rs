//! The meet-ai Worker: a thin shell around `protocol`.
//!
//! # Layout
//! - `lib.rs`: the fetch entry point; resolves the route (a pure function in
//!   `protocol::route`), dispatches, and stamps every API response.
//! - `ops/`: the operations, one function each, shared by the REST routes and MCP.
//! - `routes/`: the HTTP face of each resource (health, keys, rooms, messages,
//!   members, inbox, events); `ops/live.rs` opens a live reader for the event
//!   stream and the WebSocket alike.
//! - `pages.rs`: the HTML pages from `public/`, with their security headers.
//! - `room.rs` (feature `room-object`): the paid variant's room object and
//!   its pump, built as a Worker script of its own (`meet-ai-rooms`,
//!   wrangler.rooms.toml) so that neither wasm outgrows its budget. That
//!   build exports the object and a fetch handler that serves nothing; the
//!   rest of the crate is compiled but unreachable, and the linker drops it.
//! - `push.rs`: pushing to live listeners, one surface for both builds
//!   (`push/paid.rs` talks to the room objects, `push/free.rs` does nothing).
//! - `budget.rs`, `budget_client.rs`: the account's daily D1 budget (load
//!   shedding) and the per-client limits on anonymous reads and stream opens.
//! - `store/`: D1 (SQL per resource, round-trip counting) and KV (rate-limit logs).
//! - `auth.rs`, `config.rs`, `context.rs`, `error.rs`: the request's caller,
//!   the deployment's settings, the parsed request, and the one error type.
//!
//! Nothing on the request path may panic: a panic aborts the wasm instance and
//! with it every other request the isolate is serving.

// The room objects' build reaches only `room.rs` and what it calls, so the
// rest of the crate is dead code there; room.rs turns the lints back on.
#![cfg_attr(feature = "room-object", allow(dead_code, unused_imports))]

#[cfg(all(feature = "durable-objects", feature = "room-object"))]
compile_error!(
    "`durable-objects` (the Worker) and `room-object` (its objects' script) are two builds"
);

mod auth;
mod budget;
mod budget_client;
mod config;
mod context;
mod error;
mod ops;
mod pages;
mod push;
#[cfg(feature = "room-object")]
mod room;
mod routes;
mod store;

use protocol::route::{resolve, Endpoint, Resolved};
use protocol::ErrorCode;
use worker::{event, Context, Env, Request, Response, ScheduleContext, ScheduledEvent};

use crate::context::Ctx;
use crate::error::{AppError, AppResult};

#[cfg(not(feature = "room-object"))]
#[event(fetch)]
async fn fetch(req: Request, env: Env, wctx: Context) -> worker::Result<Response> {
    // The raw method: `worker::Method` maps every method it does not know
    // (QUERY, PROPFIND, ...) to GET, which let them read as GETs (found by
    // schemathesis' unsupported_method check); the router answers them 405.
    let method = req.inner().method();
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
    if endpoint == Endpoint::OpenApi {
        return pages::openapi(req, &env).await;
    }
    let mut ctx = match Ctx::new(req, env, wctx) {
        Ok(ctx) => ctx,
        Err(e) => return Ok(api_headers(e.into_response())),
    };
    ctx.stream_route = endpoint.is_stream();
    // Per-client limits first (they cost no query), then the daily budget.
    let admitted = match budget_client::gate(&ctx, &endpoint).await {
        Ok(()) => budget::gate(&ctx, &endpoint).await,
        Err(e) => Err(e),
    };
    let now = ctx.now_ms;
    let mut response = match admitted {
        Ok(()) => dispatch(&endpoint, &mut ctx).await,
        Err(e) => Err(e),
    }
    .unwrap_or_else(|e| budget::d1_limit_as_refusal(e, now).into_response());
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

/// The room objects' script is reached only through its Durable Object
/// binding; a request to the script itself finds nothing.
#[cfg(feature = "room-object")]
#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _wctx: Context) -> worker::Result<Response> {
    Ok(api_headers(
        AppError::client(
            ErrorCode::NotFound,
            "this script holds only the room objects",
        )
        .into_response(),
    ))
}

/// The Cron Trigger (`[triggers] crons` in wrangler.toml): the retention
/// purge, bounded to `RETENTION_PER_RUN` messages a run. Locally:
/// `wrangler dev --test-scheduled`, then `GET /__scheduled`.
#[cfg(not(feature = "room-object"))]
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
    // The purge serves no request, so its rows reach the day's budget only
    // if it adds them now (the isolate may not live to flush them later).
    if let Err(e) = budget::flush_now(&env, context::now_ms()).await {
        worker::console_error!("purge: budget flush failed: {e:?}");
    }
}

async fn dispatch(endpoint: &Endpoint, ctx: &mut Ctx) -> AppResult<Response> {
    match endpoint {
        Endpoint::Health => Ok(routes::health::get()),
        // Answered in `fetch` before any context is built.
        Endpoint::OpenApi => Err(AppError::client(ErrorCode::NotFound, "no such API route")),
        Endpoint::Usage => Ok(routes::usage::get(ctx)),
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
        Endpoint::StreamTicket(id) => routes::tickets::issue(ctx, id).await,
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
