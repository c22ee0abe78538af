//! The `rooms` table. Every statement is scoped by the caller's key, or by
//! `public = 1` for reads a public room allows: no query can reach another
//! tenant's private rooms.

use protocol::validate::RoomUpdate;
use protocol::wire::RoomRow;

use crate::error::AppResult;
use crate::store::d1::Db;

const COLS: &str = "id, name, public, loop_guard, created_ms";

/// The clause that lets a reader see a room: the owner, or anyone if public.
/// `?2` is the reader's key id, NULL for an anonymous reader.
pub const READABLE: &str = "(key_id = ?2 OR public = 1)";

pub async fn list(db: &Db, key_id: &str) -> AppResult<Vec<RoomRow>> {
    db.all(
        &format!("SELECT {COLS} FROM rooms WHERE key_id = ?1 ORDER BY created_ms, rowid"),
        &[key_id.into()],
    )
    .await
}

pub async fn insert(
    db: &Db,
    id: &str,
    key_id: &str,
    name: &str,
    now_ms: i64,
) -> AppResult<Option<RoomRow>> {
    db.first(
        &format!(
            "INSERT INTO rooms (id, key_id, name, created_ms) VALUES (?1, ?2, ?3, ?4) \
             RETURNING {COLS}"
        ),
        &[id.into(), key_id.into(), name.into(), now_ms.into()],
    )
    .await
}

/// A room the reader may see (`reader` is None for an anonymous reader).
pub async fn get_readable(db: &Db, id: &str, reader: Option<&str>) -> AppResult<Option<RoomRow>> {
    db.first(
        &format!("SELECT {COLS} FROM rooms WHERE id = ?1 AND {READABLE}"),
        &[id.into(), reader.into()],
    )
    .await
}

/// A public room by id (the featured room).
pub async fn get_public(db: &Db, id: &str) -> AppResult<Option<RoomRow>> {
    db.first(
        &format!("SELECT {COLS} FROM rooms WHERE id = ?1 AND public = 1"),
        &[id.into()],
    )
    .await
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
