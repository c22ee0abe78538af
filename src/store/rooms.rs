//! The `rooms` table. Every statement is scoped by `key_id`: no query can
//! reach another tenant's rooms.

use protocol::wire::RoomRow;

use crate::error::AppResult;
use crate::store::d1::Db;

pub async fn list(db: &Db, key_id: &str) -> AppResult<Vec<RoomRow>> {
    db.all(
        "SELECT id, name, created_ms FROM rooms WHERE key_id = ?1 ORDER BY created_ms, rowid",
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
        "INSERT INTO rooms (id, key_id, name, created_ms) VALUES (?1, ?2, ?3, ?4) \
         RETURNING id, name, created_ms",
        &[id.into(), key_id.into(), name.into(), now_ms.into()],
    )
    .await
}

pub async fn get(db: &Db, id: &str, key_id: &str) -> AppResult<Option<RoomRow>> {
    db.first(
        "SELECT id, name, created_ms FROM rooms WHERE id = ?1 AND key_id = ?2",
        &[id.into(), key_id.into()],
    )
    .await
}
