//! `GET /api/usage`: how much of the account's daily D1 budget is spent, and
//! what is being shed because of it. No key needed: it tells a client (or an
//! operator's monitor) why it may be refused, and holds nothing private. It
//! costs no query of its own when the isolate's estimate is fresh (the gate
//! refreshes it at most every 10 s), and anonymous callers count against the
//! per-client read limit.

use protocol::quota::Usage;
use worker::Response;

use crate::budget;
use crate::context::Ctx;
use crate::error::json_response;

pub fn get(ctx: &Ctx) -> Response {
    let usage = Usage::new(ctx.config.budget, budget::estimate(ctx.now_ms), ctx.now_ms);
    json_response(&usage, 200)
}
