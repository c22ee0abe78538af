//! Who is calling. A credential arrives as `Authorization: Bearer <key>`. It
//! is an owner key (`mai_`, all of its rooms) or a member token (`mem_`, one
//! room under one handle). Only SHA-256 hashes are compared or stored.
//!
//! URLs end up in logs (wrangler's, `wrangler tail`, proxies), so a key in a
//! URL is accepted only where a header cannot be set: `GET` of the two stream
//! routes (`/events`, `/ws`), as `?token=`, and there a browser uses a
//! short-lived single-use `?ticket=` instead (`POST /api/rooms/:id/ticket`).
//! Anywhere else `?token=` or `?ticket=` is a 401.

use protocol::access::{self, Action, Principal};
use protocol::key::{self, CredentialKind};
use protocol::wire::Role;

use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::store::{keys, members, tickets};

/// A member token's identity: its one room and the handle it speaks as.
#[derive(Debug, Clone)]
pub struct MemberId {
    /// Names the member to the paid variant's room object.
    #[cfg_attr(not(feature = "durable-objects"), allow(dead_code))]
    pub id: String,
    pub room_id: String,
    pub handle: String,
    pub role: Role,
    /// The token's hash: a re-issue changes it, which ends open streams.
    pub token_hash: String,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The owner key's id: the caller's own, or its room's owner for a member.
    pub key_id: String,
    pub member: Option<MemberId>,
    /// Whether a `last_used`/`last_seen` refresh was scheduled: one more D1
    /// query this invocation, which a stream's query budget must count.
    pub touched: bool,
}

impl Caller {
    pub fn principal(&self) -> Principal<'_> {
        match &self.member {
            None => Principal::Owner,
            Some(m) => Principal::Member {
                room_id: &m.room_id,
                handle: &m.handle,
                role: m.role,
            },
        }
    }

    /// Applies the credential-only rules ([`protocol::access`]) to an action.
    pub fn may(&self, action: Action, room_id: Option<&str>) -> AppResult<()> {
        access::check(self.principal(), action, room_id).map_err(AppError::from)
    }

    /// The member token's hash, for statements that re-check it is live.
    pub fn member_hash(&self) -> Option<&str> {
        self.member.as_ref().map(|m| m.token_hash.as_str())
    }
}

/// `last_used` is refreshed at most this often, so reads never cost a write.
const TOUCH_EVERY_MS: i64 = 60 * 60 * 1000;
/// A member's `last_seen` is shown to the owner, so it is kept fresher.
const SEEN_EVERY_MS: i64 = 5 * 60 * 1000;

/// A credential as presented: its kind and its hash.
#[derive(Debug, Clone)]
pub struct Presented {
    pub kind: CredentialKind,
    pub hash: String,
}

pub const NO_KEYS_IN_URLS: &str = "keys are not accepted in URLs here: ?token= and ?ticket= \
     work only on GET of /events and /ws; send 'Authorization: Bearer <key>'";

/// The credential the request presents, if any. A malformed `Authorization`
/// header is refused outright rather than silently ignored for `?token=`;
/// a key or ticket in the URL of any route but a stream's is refused too.
fn presented_text(ctx: &Ctx) -> AppResult<Option<String>> {
    let in_url = ctx.query("token");
    if !ctx.stream_route && (in_url.is_some() || ctx.query("ticket").is_some()) {
        return Err(AppError::unauthorized(NO_KEYS_IN_URLS));
    }
    if let Some(header) = ctx.header("Authorization") {
        return match key::from_bearer(&header) {
            Some(k) => Ok(Some(k.to_owned())),
            None => Err(AppError::unauthorized(
                "the Authorization header must be 'Bearer <key>'",
            )),
        };
    }
    Ok(in_url.filter(|t| !t.is_empty()))
}

/// The reader of a stream route (`/events`, `/ws`) of `room_id`: a
/// `?ticket=` is redeemed (single use, for this room only, and its
/// credential must still be live), otherwise as [`optional`].
pub async fn for_stream(ctx: &Ctx, room_id: &str) -> AppResult<Option<Caller>> {
    let Some(ticket) = ctx.query("ticket") else {
        return optional(ctx).await;
    };
    let refused = || {
        AppError::unauthorized(
            "invalid stream ticket: it is used, expired or for another room; \
             get a new one with POST /api/rooms/:id/ticket",
        )
    };
    if !key::is_ticket(&ticket) || ctx.header("Authorization").is_some() {
        return Err(refused());
    }
    let room = protocol::validate::parse_id(room_id).ok_or_else(refused)?;
    let redeemed = tickets::redeem(&ctx.db, &key::hash(&ticket), &room, ctx.now_ms)
        .await?
        .ok_or_else(refused)?;
    match redeemed.kind {
        CredentialKind::Owner => admit(ctx, keys::find_active(&ctx.db, &redeemed.cred_hash).await?),
        CredentialKind::Member => admit_member(
            ctx,
            members::find_active(&ctx.db, &redeemed.cred_hash).await?,
        ),
    }
    .map(Some)
}

/// The presented credential; 401 when it is missing or malformed (checked
/// before hashing, so garbage never costs a query).
pub fn presented(ctx: &Ctx) -> AppResult<Presented> {
    let text = presented_text(ctx)?.ok_or_else(|| {
        AppError::unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    })?;
    let kind = key::kind(&text).ok_or_else(|| AppError::unauthorized("malformed API key"))?;
    Ok(Presented {
        kind,
        hash: key::hash(&text),
    })
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

/// For routes a public room opens to everyone: `None` when no credential is
/// presented; a presented one must still be valid (401 otherwise).
pub async fn optional(ctx: &Ctx) -> AppResult<Option<Caller>> {
    if presented_text(ctx)?.is_none() {
        return Ok(None);
    }
    authenticate(ctx).await.map(Some)
}

/// Resolves the caller with one D1 query; 401 for a missing, malformed,
/// unknown, revoked or removed credential.
pub async fn authenticate(ctx: &Ctx) -> AppResult<Caller> {
    let p = presented(ctx)?;
    match p.kind {
        CredentialKind::Owner => admit(ctx, keys::find_active(&ctx.db, &p.hash).await?),
        CredentialKind::Member => admit_member(ctx, members::find_active(&ctx.db, &p.hash).await?),
    }
}

/// Turns the key lookup's row into the caller (401 when there is none), and
/// refreshes `last_used` off the response path when it is an hour old.
pub fn admit(ctx: &Ctx, row: Option<keys::KeyRow>) -> AppResult<Caller> {
    let row = row.ok_or_else(|| AppError::unauthorized("invalid or revoked API key"))?;
    let touched = row
        .last_used_ms
        .is_none_or(|t| ctx.now_ms - t >= TOUCH_EVERY_MS);
    if touched {
        let (id, now) = (row.id.clone(), ctx.now_ms);
        ctx.after_response("last_used refresh", move |env| async move {
            keys::touch(&env, &id, now).await
        });
    }
    Ok(Caller {
        key_id: row.id,
        member: None,
        touched,
    })
}

/// The member lookup's row as the caller (401 when the token is unknown, its
/// member removed or its owner key revoked); refreshes `last_seen`.
pub fn admit_member(ctx: &Ctx, row: Option<members::ActiveMember>) -> AppResult<Caller> {
    let row = row.ok_or_else(|| {
        AppError::unauthorized("invalid member token: it was re-issued, or the member removed")
    })?;
    let role = Role::parse(&row.role)
        .ok_or_else(|| AppError::Internal(format!("member {} has role {}", row.id, row.role)))?;
    let touched = row
        .last_seen_ms
        .is_none_or(|t| ctx.now_ms - t >= SEEN_EVERY_MS);
    if touched {
        let (id, now) = (row.id.clone(), ctx.now_ms);
        ctx.after_response("last_seen refresh", move |env| async move {
            members::touch(&env, &id, now).await
        });
    }
    Ok(Caller {
        key_id: row.key_id,
        member: Some(MemberId {
            id: row.id,
            room_id: row.room_id,
            handle: row.handle,
            role,
            token_hash: row.token_hash,
        }),
        touched,
    })
}
