//! The `stream_tickets` table: single-use, room-scoped passes to a stream.
//!
//! A ticket is written once (issued) and deleted once (redeemed, or swept
//! after it expired). Redeeming is one `DELETE ... RETURNING`: D1 runs one
//! statement at a time, so of two requests racing with one ticket exactly one
//! gets the row back.

use protocol::key::CredentialKind;
use serde::Deserialize;

use crate::error::AppResult;
use crate::store::d1::{Arg, Db};
use crate::store::rooms::READABLE;

/// How long a ticket may wait to be used, in seconds: enough for a browser to
/// open the stream it asked for, short enough that a logged URL is dead.
pub const TTL_SECS: i64 = 60;

fn kind_text(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::Owner => "owner",
        CredentialKind::Member => "member",
    }
}

/// What issuing needs.
pub struct NewTicket<'a> {
    pub ticket_hash: &'a str,
    pub room_id: &'a str,
    /// The caller's key id (a member's is its room owner's).
    pub reader_key_id: &'a str,
    pub kind: CredentialKind,
    pub cred_hash: &'a str,
    pub now_ms: i64,
}

/// Stores a ticket for a room the caller may read (the same rule as every
/// read, [`READABLE`]), sweeping expired tickets in the same batch. False
/// when the room is not the caller's to read: nothing is stored.
pub async fn issue(db: &Db, t: &NewTicket<'_>) -> AppResult<bool> {
    let sweep = db.prepare(
        "DELETE FROM stream_tickets WHERE expires_ms <= ?1",
        &[Arg::Int(t.now_ms)],
    )?;
    let insert = db.prepare(
        &format!(
            "INSERT INTO stream_tickets (ticket_hash, room_id, cred_kind, cred_hash, expires_ms) \
             SELECT ?3, r.id, ?4, ?5, ?6 FROM rooms r WHERE r.id = ?1 AND {READABLE} \
             RETURNING room_id"
        ),
        &[
            t.room_id.into(),
            t.reader_key_id.into(),
            t.ticket_hash.into(),
            kind_text(t.kind).into(),
            t.cred_hash.into(),
            Arg::Int(t.now_ms + TTL_SECS * 1000),
        ],
    )?;
    let results = db.batch(vec![sweep, insert]).await?;
    let issued: Vec<serde_json::Value> = crate::store::d1::rows(results.get(1))?;
    Ok(!issued.is_empty())
}

/// A redeemed ticket: whose credential it stands for.
pub struct Redeemed {
    pub kind: CredentialKind,
    pub cred_hash: String,
}

#[derive(Deserialize)]
struct RedeemRow {
    cred_kind: String,
    cred_hash: String,
    expires_ms: i64,
}

/// Uses up the ticket for this room; None when it is unknown, used, for
/// another room, or expired (an expired one is deleted all the same).
pub async fn redeem(
    db: &Db,
    ticket_hash: &str,
    room_id: &str,
    now_ms: i64,
) -> AppResult<Option<Redeemed>> {
    let row: Option<RedeemRow> = db
        .first(
            "DELETE FROM stream_tickets WHERE ticket_hash = ?1 AND room_id = ?2 \
             RETURNING cred_kind, cred_hash, expires_ms",
            &[ticket_hash.into(), room_id.into()],
        )
        .await?;
    Ok(row.filter(|r| r.expires_ms > now_ms).map(|r| Redeemed {
        kind: if r.cred_kind == "member" {
            CredentialKind::Member
        } else {
            CredentialKind::Owner
        },
        cred_hash: r.cred_hash,
    }))
}
