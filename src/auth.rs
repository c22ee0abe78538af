//! Who is calling. A key arrives as `Authorization: Bearer <key>` or, where a
//! header cannot be set (EventSource, WebSocket), as `?token=<key>`. Only its
//! SHA-256 is ever compared or stored.

use protocol::key;

use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::store::keys;

/// An authenticated caller.
pub struct Caller {
    pub key_id: String,
    /// Whether a `last_used` refresh was scheduled: one more D1 query this
    /// invocation, which a stream's query budget must count.
    pub touched: bool,
}

/// `last_used` is refreshed at most this often, so reads never cost a write.
const TOUCH_EVERY_MS: i64 = 60 * 60 * 1000;

/// The key the request presents, if any. A malformed `Authorization` header is
/// refused outright rather than silently ignored in favour of `?token=`.
fn presented_key(ctx: &Ctx) -> AppResult<Option<String>> {
    if let Some(header) = ctx.header("Authorization") {
        return match key::from_bearer(&header) {
            Some(k) => Ok(Some(k.to_owned())),
            None => Err(AppError::unauthorized(
                "the Authorization header must be 'Bearer <key>'",
            )),
        };
    }
    Ok(ctx.query("token").filter(|t| !t.is_empty()))
}

/// The SHA-256 of the presented key; 401 when it is missing or malformed
/// (checked before hashing, so garbage never costs a query).
pub fn presented_hash(ctx: &Ctx) -> AppResult<String> {
    let presented = presented_key(ctx)?.ok_or_else(|| {
        AppError::unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    })?;
    if !key::is_well_formed(&presented) {
        return Err(AppError::unauthorized("malformed API key"));
    }
    Ok(key::hash(&presented))
}

/// The answer when a room is not readable: 404 for a caller with a key, 401
/// for an anonymous one (who needs a key, and learns nothing about whether a
/// private room exists).
pub fn not_readable(caller: &Option<Caller>) -> AppError {
    match caller {
        Some(_) => AppError::room_not_found(),
        None => AppError::unauthorized("missing API key: send 'Authorization: Bearer <key>'"),
    }
}

/// For routes a public room opens to everyone: `None` when no key is
/// presented; a presented key must still be valid (401 otherwise).
pub async fn optional(ctx: &Ctx) -> AppResult<Option<Caller>> {
    if presented_key(ctx)?.is_none() {
        return Ok(None);
    }
    authenticate(ctx).await.map(Some)
}

/// Resolves the caller's key with one D1 query; 401 for a missing, malformed,
/// unknown or revoked key.
pub async fn authenticate(ctx: &Ctx) -> AppResult<Caller> {
    let hash = presented_hash(ctx)?;
    admit(ctx, keys::find_active(&ctx.db, &hash).await?)
}

/// Turns the key lookup's row into the caller (401 when there is none), and
/// refreshes `last_used` off the response path when it is an hour old.
pub fn admit(ctx: &Ctx, row: Option<keys::KeyRow>) -> AppResult<Caller> {
    let row = row.ok_or_else(|| AppError::unauthorized("invalid or revoked API key"))?;
    let touched = row
        .last_used_ms
        .is_none_or(|t| ctx.now_ms - t >= TOUCH_EVERY_MS);
    if touched {
        // Off the response path: the caller does not wait for this write.
        let env = ctx.env.clone();
        let (id, now) = (row.id.clone(), ctx.now_ms);
        ctx.wctx.wait_until(async move {
            if let Err(e) = keys::touch(&env, &id, now).await {
                worker::console_warn!("last_used refresh failed: {e:?}");
            }
        });
    }
    Ok(Caller {
        key_id: row.id,
        touched,
    })
}
