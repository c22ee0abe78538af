//! The `api_keys` table.

use serde::Deserialize;
use worker::{D1PreparedStatement, Env};

use protocol::ratelimit::Limit;

use crate::error::AppResult;
use crate::store::d1::{Arg, Db};

#[derive(Deserialize)]
pub struct KeyRow {
    pub id: String,
    pub last_used_ms: Option<i64>,
}

/// What a new key row needs.
pub struct NewKey<'a> {
    pub id: &'a str,
    pub hash: &'a str,
    pub prefix: &'a str,
    /// SHA-256 hex of the creating client's network (`protocol::client`).
    pub net_hash: &'a str,
    pub now_ms: i64,
    /// Keys per network in the window (`max == 0`: no limit).
    pub limit: Limit,
}

#[derive(Deserialize)]
struct Oldest {
    oldest_ms: Option<i64>,
}

/// Stores a key unless its network already created `limit.max` in the
/// window; then `Err` with the oldest creation still counted (for
/// `Retry-After`). The count is taken inside the INSERT, from rows D1 already
/// holds: D1 runs statements one at a time, so a burst of any size creates
/// at most the limit, and no KV write is spent.
pub async fn insert(db: &Db, k: &NewKey<'_>) -> AppResult<Result<(), Option<i64>>> {
    let start = k.limit.window_start(k.now_ms);
    let max = i64::from(k.limit.max);
    let inserted: Vec<serde_json::Value> = db
        .all(
            "INSERT INTO api_keys (id, key_hash, key_prefix, created_ms, client_net) \
             SELECT ?1, ?2, ?3, ?4, ?5 \
             WHERE ?6 = 0 OR (SELECT COUNT(*) FROM (SELECT 1 FROM api_keys \
               WHERE client_net = ?5 AND created_ms > ?7 LIMIT ?6)) < ?6 \
             RETURNING id",
            &[
                k.id.into(),
                k.hash.into(),
                k.prefix.into(),
                k.now_ms.into(),
                k.net_hash.into(),
                max.into(),
                start.into(),
            ],
        )
        .await?;
    if !inserted.is_empty() {
        return Ok(Ok(()));
    }
    let oldest: Option<Oldest> = db
        .first(
            "SELECT MIN(created_ms) AS oldest_ms FROM (SELECT created_ms FROM api_keys \
             WHERE client_net = ?1 AND created_ms > ?2 ORDER BY created_ms DESC LIMIT ?3)",
            &[k.net_hash.into(), start.into(), max.into()],
        )
        .await?;
    Ok(Err(oldest.and_then(|o| o.oldest_ms)))
}

const FIND_ACTIVE: &str =
    "SELECT id, last_used_ms FROM api_keys WHERE key_hash = ?1 AND revoked_ms IS NULL";

pub async fn find_active(db: &Db, hash: &str) -> AppResult<Option<KeyRow>> {
    db.first(FIND_ACTIVE, &[hash.into()]).await
}

/// [`find_active`] as a statement, for a caller that batches it.
pub fn find_active_statement(db: &Db, hash: &str) -> AppResult<D1PreparedStatement> {
    db.prepare(FIND_ACTIVE, &[hash.into()])
}

/// Records use. Runs after the response, through its own handle on the binding.
pub async fn touch(env: &Env, id: &str, now_ms: i64) -> AppResult<()> {
    let db = Db::from_env(env)?;
    db.all::<serde_json::Value>(
        "UPDATE api_keys SET last_used_ms = ?2 WHERE id = ?1",
        &[id.into(), Arg::Int(now_ms)],
    )
    .await?;
    Ok(())
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

/// Revokes the key with this hash and returns its id; None if there was no
/// active key to revoke. Auth and revocation are one statement, one round trip.
pub async fn revoke(db: &Db, hash: &str, now_ms: i64) -> AppResult<Option<String>> {
    let rows: Vec<IdRow> = db
        .all(
            "UPDATE api_keys SET revoked_ms = ?2 WHERE key_hash = ?1 AND revoked_ms IS NULL RETURNING id",
            &[hash.into(), now_ms.into()],
        )
        .await?;
    Ok(rows.into_iter().next().map(|r| r.id))
}
