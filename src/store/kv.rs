//! Workers KV: sliding-window logs for the rate limits of rare events (key
//! creation per IP, room creation per key).
//!
//! One KV value per scope holds the timestamps still inside the window, with a
//! TTL of the window so it expires by itself. The check reads once and writes
//! only when it allows, so a refused request costs no write: the free plan's
//! 1,000 KV writes a day are spent on keys and rooms actually created. KV is
//! eventually consistent across locations, so two requests racing from two
//! places at once may both pass; for events this rare that is the accepted
//! price of not spending a D1 write on them.

use protocol::ratelimit::{decide_log, Decision, Limit};
use worker::Env;

use crate::error::{AppError, AppResult};

/// KV's shortest allowed TTL, in seconds.
const MIN_TTL_SECS: u64 = 60;

/// Checks one event against `limit` for `scope`, and records it if allowed.
/// A limit with `max == 0` is off and costs nothing.
pub async fn check_and_record(
    env: &Env,
    scope: &str,
    limit: Limit,
    now_ms: i64,
) -> AppResult<Decision> {
    if limit.max == 0 {
        return Ok(Decision::Allow { log: Vec::new() });
    }
    let kv = env.kv("RATE_LIMITS")?;
    let stored = kv.get(scope).text().await?;
    // A value we cannot read is treated as empty rather than blocking forever.
    let log: Vec<i64> = stored
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    let decision = decide_log(limit, &log, now_ms);
    if let Decision::Allow { log } = &decision {
        let value = serde_json::to_string(log).map_err(|e| AppError::Internal(e.to_string()))?;
        let ttl = (limit.window_ms as u64 / 1000).max(MIN_TTL_SECS);
        kv.put(scope, value)?.expiration_ttl(ttl).execute().await?;
    }
    Ok(decision)
}
