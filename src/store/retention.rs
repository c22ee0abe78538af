//! The scheduled purge's SQL, and the lookup that answers a purged cursor.
//!
//! Every statement deletes a room's oldest messages first and records the
//! newest seq it deleted in `rooms.purged_seq` (migration 0008), so a room
//! always holds exactly its messages after `purged_seq`; that is what lets a
//! cursor into purged history resume (see [`protocol::retention`]).
//!
//! The table is clustered on `(room_id, seq)` (migration 0005) and `seq`
//! counts per room, so every step works room by room along the primary key,
//! never across the table: a room's oldest messages are the start of its
//! range. One batch per room marks `purged_seq` first and then deletes every
//! message at or below the mark, so the two can never disagree. Rooms are
//! found by a walk of the rooms table (one row each, plus the room's oldest
//! message for the age step), revoked keys through a partial index
//! (migration 0008) that holds revoked keys only.

use protocol::retention::Retention;
use serde::Deserialize;

use crate::error::AppResult;
use crate::store::d1::{Arg, Db};

/// What one run deleted.
#[derive(Debug, Default, Clone, Copy)]
pub struct Report {
    pub aged: u32,
    pub capped: u32,
    pub rooms_deleted: u32,
    /// Messages of revoked keys' rooms.
    pub revoked_messages: u32,
}

impl Report {
    fn messages(&self) -> u32 {
        self.aged + self.capped + self.revoked_messages
    }
}

/// Rooms a run visits in each step (aged, revoked keys', over the cap): at
/// one batch per room and one query to find them, a run makes at most
/// 3 × (1 + 8) = 27 queries, well under the free plan's 50 per invocation.
const ROOMS_PER_RUN: u32 = 8;

#[derive(Deserialize)]
struct RoomId {
    id: String,
}

#[derive(Deserialize)]
struct Purged {
    purged_seq: i64,
}

/// One purge run: ages, then revoked keys' rooms, then the per-room cap, each
/// in batches, never deleting more than `r.per_run` messages in all.
pub async fn purge(db: &Db, r: &Retention, now_ms: i64) -> AppResult<Report> {
    let mut report = Report::default();
    if let Some(cutoff) = r.age_cutoff_ms(now_ms) {
        // Rooms whose oldest message is past the age: the walk reads each
        // room and its first message (2 rows a room).
        let rooms: Vec<RoomId> = db
            .all(
                "SELECT r.id FROM rooms r WHERE (SELECT m.created_ms FROM messages m \
                   WHERE m.room_id = r.id ORDER BY m.seq LIMIT 1) < ?1 LIMIT ?2",
                &[cutoff.into(), i64::from(ROOMS_PER_RUN).into()],
            )
            .await?;
        for room in rooms {
            let left = r.per_run.saturating_sub(report.messages());
            if left == 0 {
                break;
            }
            report.aged += purge_aged(db, &room.id, cutoff, left).await?;
        }
    }
    let revoked: Vec<RoomId> = db
        .all(
            "SELECT r.id FROM api_keys k JOIN rooms r ON r.key_id = k.id \
             WHERE k.revoked_ms IS NOT NULL AND k.revoked_ms < ?1 LIMIT ?2",
            &[
                r.revoked_cutoff_ms(now_ms).into(),
                i64::from(ROOMS_PER_RUN).into(),
            ],
        )
        .await?;
    for room in revoked {
        let left = r.per_run.saturating_sub(report.messages());
        let (deleted, gone) = delete_room(db, &room.id, left).await?;
        report.revoked_messages += deleted;
        report.rooms_deleted += u32::from(gone);
    }
    if let Some(cap) = r.max_per_room {
        // A random sample of rooms each run (the walk reads every room once;
        // each sampled room costs up to `cap` index entries to find its
        // boundary): the cap is kept within a few runs, not at once.
        let rooms: Vec<RoomId> = db
            .all(
                "SELECT id FROM rooms ORDER BY random() LIMIT ?1",
                &[i64::from(ROOMS_PER_RUN).into()],
            )
            .await?;
        for room in rooms {
            let left = r.per_run.saturating_sub(report.messages());
            if left == 0 {
                break;
            }
            report.capped += cap_room(db, &room.id, cap, left).await?;
        }
    }
    Ok(report)
}

/// Deletes up to `limit` of a room's oldest messages, all sent before
/// `cutoff`: the longest run of old messages from the start of the room, so
/// the deleted set is a prefix in commit order.
async fn purge_aged(db: &Db, room: &str, cutoff: i64, limit: u32) -> AppResult<u32> {
    mark_and_delete(
        db,
        room,
        "SELECT MAX(seq) AS top FROM (SELECT seq FROM messages WHERE room_id = ?1 \
           ORDER BY seq LIMIT ?3) \
         WHERE seq < COALESCE((SELECT MIN(seq) FROM (SELECT seq, created_ms FROM messages \
           WHERE room_id = ?1 ORDER BY seq LIMIT ?3) WHERE created_ms >= ?2), 9007199254740991)",
        Arg::Int(cutoff),
        limit,
    )
    .await
}

/// One batch: moves the room's `purged_seq` up to what `top_sql` selects (a
/// query over `?1` room, `?2` its parameter, `?3` the limit, naming `top`),
/// then deletes every message of the room at or below the mark.
async fn mark_and_delete(
    db: &Db,
    room: &str,
    top_sql: &str,
    param: Arg<'_>,
    limit: u32,
) -> AppResult<u32> {
    let mark = db.prepare(
        &format!(
            "UPDATE rooms SET purged_seq = v.top FROM ({top_sql}) AS v \
             WHERE rooms.id = ?1 AND v.top > rooms.purged_seq"
        ),
        &[room.into(), param, i64::from(limit).into()],
    )?;
    let delete = db.prepare(
        "DELETE FROM messages WHERE room_id = ?1 \
           AND seq <= (SELECT purged_seq FROM rooms WHERE id = ?1)",
        &[room.into()],
    )?;
    let results = db.batch(vec![mark, delete]).await?;
    Ok(changes(results.get(1)))
}

/// Keeps the newest `cap` messages of a room, deleting at most `limit` of
/// the older ones (the oldest first).
async fn cap_room(db: &Db, room: &str, cap: u32, limit: u32) -> AppResult<u32> {
    mark_and_delete(
        db,
        room,
        "SELECT MAX(seq) AS top FROM (SELECT seq FROM messages WHERE room_id = ?1 \
           AND seq <= (SELECT seq FROM messages WHERE room_id = ?1 \
                       ORDER BY seq DESC LIMIT 1 OFFSET ?2) \
         ORDER BY seq LIMIT ?3)",
        Arg::Int(i64::from(cap)),
        limit,
    )
    .await
}

/// Deletes up to `limit` of a room's messages and, once none are left, the
/// room with everything that points at it, in one transaction (children
/// first: D1 enforces foreign keys). Returns (messages deleted, room gone).
async fn delete_room(db: &Db, room: &str, limit: u32) -> AppResult<(u32, bool)> {
    let mut stmts = vec![db.prepare(
        "DELETE FROM messages WHERE room_id = ?1 AND seq IN \
           (SELECT seq FROM messages WHERE room_id = ?1 ORDER BY seq LIMIT ?2)",
        &[room.into(), i64::from(limit).into()],
    )?];
    let empty = "NOT EXISTS (SELECT 1 FROM messages WHERE room_id = ?1)";
    for table in ["members", "read_cursors", "decisions", "stream_tickets"] {
        stmts.push(db.prepare(
            &format!("DELETE FROM {table} WHERE room_id = ?1 AND {empty}"),
            &[room.into()],
        )?);
    }
    stmts.push(db.prepare(
        &format!("DELETE FROM rooms WHERE id = ?1 AND {empty}"),
        &[room.into()],
    )?);
    let results = db.batch(stmts).await?;
    let gone = results.last().map(|r| changes(Some(r))).unwrap_or(0) > 0;
    Ok((changes(results.first()), gone))
}

fn changes(result: Option<&worker::D1Result>) -> u32 {
    result
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// Where a cursor that is not found in `room` resumes: after the room's
/// newest purged message, if the room has lost history to the purge (the
/// cursor is then taken to be one of those messages). `None`: never purged,
/// so the cursor is simply wrong. One query, only on this rare path.
pub async fn purged_seq(db: &Db, room: &str) -> AppResult<Option<i64>> {
    let row: Vec<Purged> = db
        .all("SELECT purged_seq FROM rooms WHERE id = ?1", &[room.into()])
        .await?;
    Ok(row.first().map(|r| r.purged_seq).filter(|&s| s > 0))
}
