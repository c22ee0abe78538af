//! The `api_keys` table.

use serde::Deserialize;
use worker::{D1PreparedStatement, Env};

use crate::error::AppResult;
use crate::store::d1::{Arg, Db};

#[derive(Deserialize)]
pub struct KeyRow {
    pub id: String,
    pub last_used_ms: Option<i64>,
}

pub async fn insert(db: &Db, id: &str, hash: &str, prefix: &str, now_ms: i64) -> AppResult<()> {
    db.all::<serde_json::Value>(
        "INSERT INTO api_keys (id, key_hash, key_prefix, created_ms) VALUES (?1, ?2, ?3, ?4)",
        &[id.into(), hash.into(), prefix.into(), now_ms.into()],
    )
    .await?;
    Ok(())
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
