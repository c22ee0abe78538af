//! The `rooms` table. Every statement is scoped by the caller's key, or by
//! `public = 1` for reads a public room allows: no query can reach another
//! tenant's private rooms. A revoked key's rooms, public ones included, are
//! readable by no one ([`READABLE`]).

use protocol::validate::RoomUpdate;
use protocol::wire::RoomRow;

use crate::error::AppResult;
use crate::store::d1::Db;

const COLS: &str = "id, name, public, loop_guard, created_ms";

/// The clause that says a room's owner key is not revoked (`r` is the room).
/// Revoking is what people do when a key leaked, so it must close every room
/// of that key, public ones included, to everyone.
macro_rules! owner_live {
    () => {
        "EXISTS (SELECT 1 FROM api_keys ok WHERE ok.id = r.key_id AND ok.revoked_ms IS NULL)"
    };
}
#[cfg(feature = "room-object")]
pub const OWNER_LIVE: &str = owner_live!();

/// The one rule for who may read a room (`r`), `protocol::access::readable`
/// in SQL: the owner, or anyone if it is public, and nobody once the owner
/// key is revoked. `?2` is the reader's key
/// id (a member's is its room owner's), NULL for an anonymous reader. Every
/// read of a room (page, stream, poll, featured, ticket) uses this clause.
pub const READABLE: &str = concat!("((r.key_id = ?2 OR r.public = 1) AND ", owner_live!(), ")");

/// The rest of the read rule, for a reader already streaming: its own key
/// is live and, for a member, its token is. `?2` is the key id and `?5` the
/// member token's hash. With [`READABLE`] it is `protocol::access::readable`
/// in SQL.
pub const STILL_LIVE: &str = "(?2 IS NULL OR EXISTS \
      (SELECT 1 FROM api_keys WHERE id = ?2 AND revoked_ms IS NULL)) \
    AND (?5 IS NULL OR EXISTS \
      (SELECT 1 FROM members WHERE token_hash = ?5 AND removed_ms IS NULL))";

pub async fn list(db: &Db, key_id: &str) -> AppResult<Vec<RoomRow>> {
    db.all(
        &format!("SELECT {COLS} FROM rooms WHERE key_id = ?1 ORDER BY created_ms, rowid"),
        &[key_id.into()],
    )
    .await
}

/// Why a room was not created.
pub enum CreateRefusal {
    /// Over the rooms-per-day limit; the oldest creation still in the window.
    RateLimited { oldest_ms: Option<i64> },
}

#[derive(serde::Deserialize)]
struct Oldest {
    oldest_ms: Option<i64>,
}

/// Creates a room unless the key already created `limit.max` in the window
/// (0: no limit). The count is taken inside the INSERT from rows D1 already
/// holds: statements run one at a time, so however many requests race, no
/// more than the limit get in, and it costs no KV write.
pub async fn insert(
    db: &Db,
    id: &str,
    key_id: &str,
    name: &str,
    now_ms: i64,
    limit: protocol::ratelimit::Limit,
) -> AppResult<Result<RoomRow, CreateRefusal>> {
    let start = limit.window_start(now_ms);
    let max = i64::from(limit.max);
    let row: Option<RoomRow> = db
        .first(
            &format!(
                "INSERT INTO rooms (id, key_id, name, created_ms) SELECT ?1, ?2, ?3, ?4 \
                 WHERE ?5 = 0 OR (SELECT COUNT(*) FROM (SELECT 1 FROM rooms \
                   WHERE key_id = ?2 AND created_ms > ?6 LIMIT ?5)) < ?5 \
                 RETURNING {COLS}"
            ),
            &[
                id.into(),
                key_id.into(),
                name.into(),
                now_ms.into(),
                max.into(),
                start.into(),
            ],
        )
        .await?;
    if let Some(row) = row {
        return Ok(Ok(row));
    }
    // The refusal path only: when the oldest creation leaves the window.
    let oldest: Option<Oldest> = db
        .first(
            "SELECT MIN(created_ms) AS oldest_ms FROM (SELECT created_ms FROM rooms \
             WHERE key_id = ?1 AND created_ms > ?2 ORDER BY created_ms DESC LIMIT ?3)",
            &[key_id.into(), start.into(), max.into()],
        )
        .await?;
    Ok(Err(CreateRefusal::RateLimited {
        oldest_ms: oldest.and_then(|o| o.oldest_ms),
    }))
}

/// A room the reader may see (`reader` is None for an anonymous reader).
pub async fn get_readable(db: &Db, id: &str, reader: Option<&str>) -> AppResult<Option<RoomRow>> {
    db.first(
        &format!("SELECT {COLS} FROM rooms r WHERE r.id = ?1 AND {READABLE}"),
        &[id.into(), reader.into()],
    )
    .await
}

/// A public room by id (the featured room): what an anonymous reader may
/// read, so a revoked key's room is not featured either.
pub async fn get_public(db: &Db, id: &str) -> AppResult<Option<RoomRow>> {
    get_readable(db, id, None).await
}

/// Changes a room's settings (those given); `None` if the room is not the key's.
pub async fn update(
    db: &Db,
    id: &str,
    key_id: &str,
    update: &RoomUpdate,
) -> AppResult<Option<RoomRow>> {
    db.first(
        &format!(
            "UPDATE rooms SET public = COALESCE(?3, public), loop_guard = COALESCE(?4, loop_guard) \
             WHERE id = ?1 AND key_id = ?2 RETURNING {COLS}"
        ),
        &[
            id.into(),
            key_id.into(),
            update.public.map(i64::from).into(),
            update.loop_guard.into(),
        ],
    )
    .await
}
