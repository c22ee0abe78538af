//! The `members` table: one row per invitation to one room under one handle.
//!
//! Every statement that changes members names the owner key, so no key can
//! touch another's rooms. The two limits (members per room, creations per key
//! per day) are counted inside the INSERT from rows D1 already holds: exact
//! however many requests race, and no KV write.

use protocol::validate::NewMember;
use serde::Deserialize;
use worker::{D1PreparedStatement, Env};

use crate::error::AppResult;
use crate::store::d1::{Arg, Db};

/// A live member token's row: not removed, and its owner key not revoked.
#[derive(Debug, Deserialize)]
pub struct ActiveMember {
    pub id: String,
    pub room_id: String,
    pub key_id: String,
    pub handle: String,
    pub role: String,
    pub token_hash: String,
    pub last_seen_ms: Option<i64>,
}

const FIND_ACTIVE: &str = "SELECT m.id, m.room_id, m.key_id, m.handle, m.role, m.token_hash, \
     m.last_seen_ms FROM members m \
     JOIN api_keys k ON k.id = m.key_id AND k.revoked_ms IS NULL \
     WHERE m.token_hash = ?1 AND m.removed_ms IS NULL";

pub async fn find_active(db: &Db, hash: &str) -> AppResult<Option<ActiveMember>> {
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
        "UPDATE members SET last_seen_ms = ?2 WHERE id = ?1",
        &[id.into(), Arg::Int(now_ms)],
    )
    .await?;
    Ok(())
}

/// A member as the owner's listing and the create response need it.
#[derive(Debug, Deserialize)]
pub struct MemberRow {
    pub handle: String,
    pub role: String,
    pub token_prefix: String,
    pub created_ms: i64,
    pub last_seen_ms: Option<i64>,
}

const COLS: &str = "handle, role, token_prefix, created_ms, last_seen_ms";

/// What an insert needs besides the parsed body.
pub struct NewRow<'a> {
    pub id: &'a str,
    pub room_id: &'a str,
    pub key_id: &'a str,
    pub member: &'a NewMember,
    pub token_hash: &'a str,
    pub token_prefix: &'a str,
    pub now_ms: i64,
    /// Current members a room may hold (0: no limit).
    pub per_room: u32,
    /// Creations per key in the window (0: no limit).
    pub per_key: u32,
    pub window_start_ms: i64,
}

/// Why an insert stored nothing.
pub enum AddRefusal {
    RoomNotFound,
    HandleTaken,
    RoomFull,
    /// Over the creations-per-day limit; the oldest creation in the window.
    RateLimited {
        oldest_ms: Option<i64>,
    },
}

#[derive(Deserialize)]
struct AddCheck {
    owned: i64,
    taken: i64,
    current: i64,
    oldest_ms: Option<i64>,
}

/// Adds a member if the room is the key's, the handle is free and both limits
/// allow; otherwise says why (a second statement, on the refusal path only).
pub async fn insert(db: &Db, row: &NewRow<'_>) -> AppResult<Result<MemberRow, AddRefusal>> {
    let inserted: Option<MemberRow> = db
        .first(
            &format!(
                "INSERT INTO members (id, room_id, key_id, handle, role, token_hash, token_prefix, created_ms) \
                 SELECT ?1, r.id, r.key_id, ?4, ?5, ?6, ?7, ?8 FROM rooms r \
                 WHERE r.id = ?2 AND r.key_id = ?3 \
                   AND (?9 = 0 OR (SELECT COUNT(*) FROM (SELECT 1 FROM members \
                        WHERE room_id = r.id AND removed_ms IS NULL LIMIT ?9)) < ?9) \
                   AND (?10 = 0 OR (SELECT COUNT(*) FROM (SELECT 1 FROM members \
                        WHERE key_id = r.key_id AND created_ms > ?11 LIMIT ?10)) < ?10) \
                 ON CONFLICT DO NOTHING RETURNING {COLS}"
            ),
            &[
                row.id.into(),
                row.room_id.into(),
                row.key_id.into(),
                row.member.handle.as_ref().into(),
                row.member.role.as_str().into(),
                row.token_hash.into(),
                row.token_prefix.into(),
                row.now_ms.into(),
                i64::from(row.per_room).into(),
                i64::from(row.per_key).into(),
                row.window_start_ms.into(),
            ],
        )
        .await?;
    if let Some(member) = inserted {
        return Ok(Ok(member));
    }
    let check: Option<AddCheck> = db
        .first(
            "SELECT EXISTS (SELECT 1 FROM rooms WHERE id = ?1 AND key_id = ?2) AS owned, \
               EXISTS (SELECT 1 FROM members WHERE room_id = ?1 AND handle = ?3 \
                       AND removed_ms IS NULL) AS taken, \
               (SELECT COUNT(*) FROM members WHERE room_id = ?1 AND removed_ms IS NULL) AS current, \
               (SELECT MIN(created_ms) FROM members WHERE key_id = ?2 AND created_ms > ?4) AS oldest_ms",
            &[
                row.room_id.into(),
                row.key_id.into(),
                row.member.handle.as_ref().into(),
                row.window_start_ms.into(),
            ],
        )
        .await?;
    let Some(check) = check.filter(|c| c.owned != 0) else {
        return Ok(Err(AddRefusal::RoomNotFound));
    };
    Ok(Err(if check.taken != 0 {
        AddRefusal::HandleTaken
    } else if row.per_room != 0 && check.current >= i64::from(row.per_room) {
        AddRefusal::RoomFull
    } else {
        AddRefusal::RateLimited {
            oldest_ms: check.oldest_ms,
        }
    }))
}

/// The room's current members, oldest first; None if the room is not the
/// key's. One statement: the room check is the left side of a join.
pub async fn list(db: &Db, room_id: &str, key_id: &str) -> AppResult<Option<Vec<MemberRow>>> {
    #[derive(Deserialize)]
    struct Row {
        handle: Option<String>,
        role: Option<String>,
        token_prefix: Option<String>,
        created_ms: Option<i64>,
        last_seen_ms: Option<i64>,
    }
    let found: Vec<Row> = db
        .all(
            "SELECT m.handle, m.role, m.token_prefix, m.created_ms, m.last_seen_ms \
             FROM rooms r LEFT JOIN members m ON m.room_id = r.id AND m.removed_ms IS NULL \
             WHERE r.id = ?1 AND r.key_id = ?2 ORDER BY m.created_ms, m.rowid",
            &[room_id.into(), key_id.into()],
        )
        .await?;
    if found.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        found
            .into_iter()
            .filter_map(|r| {
                Some(MemberRow {
                    handle: r.handle?,
                    role: r.role?,
                    token_prefix: r.token_prefix?,
                    created_ms: r.created_ms?,
                    last_seen_ms: r.last_seen_ms,
                })
            })
            .collect(),
    ))
}

/// Removes a current member; its token is refused from the next request on.
/// None if there is no such member in a room of this key.
pub async fn remove(
    db: &Db,
    room_id: &str,
    key_id: &str,
    handle: &str,
    now_ms: i64,
) -> AppResult<Option<MemberRow>> {
    db.first(
        &format!(
            "UPDATE members SET removed_ms = ?4 \
             WHERE room_id = ?1 AND key_id = ?2 AND handle = ?3 AND removed_ms IS NULL \
             RETURNING {COLS}"
        ),
        &[room_id.into(), key_id.into(), handle.into(), now_ms.into()],
    )
    .await
}

/// Gives a current member a new token; the old one stops working at once.
pub async fn reissue(
    db: &Db,
    room_id: &str,
    key_id: &str,
    handle: &str,
    token_hash: &str,
    token_prefix: &str,
) -> AppResult<Option<MemberRow>> {
    db.first(
        &format!(
            "UPDATE members SET token_hash = ?4, token_prefix = ?5, last_seen_ms = NULL \
             WHERE room_id = ?1 AND key_id = ?2 AND handle = ?3 AND removed_ms IS NULL \
             RETURNING {COLS}"
        ),
        &[
            room_id.into(),
            key_id.into(),
            handle.into(),
            token_hash.into(),
            token_prefix.into(),
        ],
    )
    .await
}
