//! Per-client limits on anonymous reads and on stream opens, through the
//! Workers Rate Limiting binding (`[[ratelimits]]` in wrangler.toml): it costs
//! no KV write and no D1 row, so refusing a flood costs the account nothing.
//!
//! - `READ_LIMITER`: anonymous requests for a public room, its history, its
//!   stream, the featured room and the usage report, per client network
//!   ([`protocol::client::network_of`]: an IPv4 address, an IPv6 /64).
//! - `STREAM_LIMITER`: stream opens (SSE and WebSocket), per client network
//!   when anonymous and per credential otherwise. A stream ends itself after
//!   a bounded life (`SSE_MAX_POLLS` polls), so opens a minute times that
//!   life bounds the streams a client holds at once; this is an honest
//!   approximation of a concurrency limit, not an exact count (the binding
//!   cannot count releases).
//!
//! The binding counts per Cloudflare location, in windows of its `period`
//! (10 or 60 s), and is eventually consistent: a client spread over several
//! locations gets a budget in each. The limit values live in wrangler.toml
//! (the binding reads no vars; `CLIENT_RATE_LIMITS=off` turns both off, for
//! benchmarks). A deployment without the binding, or a
//! binding that errors, lets requests through: these limits protect the
//! budget, they must not become an outage of their own.

use protocol::client::{counted, network_of};
use protocol::route::Endpoint;
use protocol::ErrorCode;

use crate::auth::presented;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};

/// The binding's `period` in wrangler.toml, in seconds: the longest a refused
/// client waits for its window to end, hence its `Retry-After`.
const PERIOD_SECS: u64 = 60;

/// Whether the request presents a credential (valid or not: a bad one is
/// refused by auth with 401, after one key lookup).
pub fn has_credential(ctx: &Ctx) -> bool {
    ctx.header("Authorization").is_some() || ctx.query("token").is_some_and(|t| !t.is_empty())
}

/// Refuses the request with 429 if its client is over a per-client limit.
pub async fn gate(ctx: &Ctx, endpoint: &Endpoint) -> AppResult<()> {
    if !ctx.config.client_limits {
        return Ok(());
    }
    let anonymous = !has_credential(ctx);
    let what = counted(endpoint, anonymous);
    if !what.reads && !what.stream {
        return Ok(());
    }
    let network = network_of(&ctx.client_ip());
    if what.reads && !allowed(ctx, "READ_LIMITER", format!("read:{network}")).await {
        return Err(AppError::too_many(
            ErrorCode::ReadRateLimited,
            "too many reads without a key from your network this minute; slow down, \
             or use a key",
            PERIOD_SECS,
        ));
    }
    if what.stream {
        let key = match presented(ctx) {
            Ok(p) if !anonymous => format!("key:{}", p.hash.get(..24).unwrap_or(&p.hash)),
            _ => format!("net:{network}"),
        };
        if !allowed(ctx, "STREAM_LIMITER", key).await {
            return Err(AppError::too_many(
                ErrorCode::StreamRateLimited,
                "too many streams opened this minute; keep one stream per room open \
                 and reconnect with Last-Event-ID",
                PERIOD_SECS,
            ));
        }
    }
    Ok(())
}

/// One count against a binding; true when within the limit (or the binding is
/// absent or failing).
async fn allowed(ctx: &Ctx, binding: &str, key: String) -> bool {
    let Ok(limiter) = ctx.env.rate_limiter(binding) else {
        return true;
    };
    match limiter.limit(key).await {
        Ok(outcome) => outcome.success,
        Err(e) => {
            worker::console_warn!("{binding} failed: {e}");
            true
        }
    }
}
