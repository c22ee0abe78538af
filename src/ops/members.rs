//! Room members: invite under a handle and a role, list, remove, re-issue.

use protocol::access::Action;
use protocol::key;
use protocol::ratelimit::retry_after_secs;
use protocol::time::rfc3339_millis;
use protocol::validate::NewMember;
use protocol::wire::{Member, MemberCreated, Role, WhoAmI};

use crate::auth::Caller;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::ops::keyed_room_id;
use crate::store::members::{self, AddRefusal, MemberRow, NewRow};

/// A fresh member token and what is stored of it.
struct Token {
    plaintext: String,
    hash: String,
    prefix: String,
}

fn new_token() -> AppResult<Token> {
    let mut entropy = [0u8; key::ENTROPY_BYTES];
    getrandom::fill(&mut entropy).map_err(|e| AppError::Internal(format!("getrandom: {e}")))?;
    let plaintext = key::member_token_from_entropy(&entropy);
    Ok(Token {
        hash: key::hash(&plaintext),
        prefix: key::prefix(&plaintext).to_owned(),
        plaintext,
    })
}

fn role_of(row: &MemberRow) -> AppResult<Role> {
    Role::parse(&row.role).ok_or_else(|| AppError::Internal(format!("member role {}", row.role)))
}

fn created(room: &str, row: &MemberRow, token: Token) -> AppResult<MemberCreated> {
    Ok(MemberCreated {
        room_id: room.to_owned(),
        handle: row.handle.clone(),
        role: role_of(row)?,
        token: token.plaintext,
        token_prefix: row.token_prefix.clone(),
        created_at: rfc3339_millis(row.created_ms),
    })
}

pub async fn add(
    ctx: &Ctx,
    caller: &Caller,
    raw_room: &str,
    new: &NewMember,
) -> AppResult<MemberCreated> {
    caller.may(Action::ManageMembers, None)?;
    let room = keyed_room_id(raw_room)?;
    let token = new_token()?;
    let id = uuid::Uuid::new_v4().to_string();
    let per_key = ctx.config.members_per_key;
    let row = NewRow {
        id: &id,
        room_id: &room,
        key_id: &caller.key_id,
        member: new,
        token_hash: &token.hash,
        token_prefix: &token.prefix,
        now_ms: ctx.now_ms,
        per_room: ctx.config.members_per_room,
        per_key: per_key.max,
        window_start_ms: per_key.window_start(ctx.now_ms),
    };
    match members::insert(&ctx.db, &row).await? {
        Ok(member) => created(&room, &member, token),
        Err(AddRefusal::RoomNotFound) => Err(AppError::room_not_found()),
        Err(AddRefusal::HandleTaken) => Err(AppError::conflict(format!(
            "the handle '{}' is taken in this room",
            new.handle.as_ref()
        ))),
        Err(AddRefusal::RoomFull) => Err(AppError::conflict(format!(
            "a room holds at most {} members; remove one first",
            ctx.config.members_per_room
        ))),
        Err(AddRefusal::RateLimited { oldest_ms }) => Err(AppError::rate_limited(
            format!(
                "adding members is limited to {} per day per key",
                per_key.max
            ),
            oldest_ms.map_or(1, |t| retry_after_secs(per_key, t, ctx.now_ms)),
        )),
    }
}

/// The room's members: the owner sees times and token prefixes, a member
/// handles and roles.
pub async fn list(ctx: &Ctx, caller: &Caller, raw_room: &str) -> AppResult<Vec<Member>> {
    let room = keyed_room_id(raw_room)?;
    caller.may(Action::ListMembers, Some(&room))?;
    let rows = members::list(&ctx.db, &room, &caller.key_id)
        .await?
        .ok_or_else(AppError::room_not_found)?;
    let owner = caller.member.is_none();
    rows.into_iter()
        .map(|row| {
            Ok(Member {
                role: role_of(&row)?,
                created_at: owner.then(|| rfc3339_millis(row.created_ms)),
                last_seen_at: owner.then(|| row.last_seen_ms.map(rfc3339_millis)),
                token_prefix: owner.then_some(row.token_prefix),
                handle: row.handle,
            })
        })
        .collect()
}

/// Removes a member; its token is refused from now on, and its open streams
/// and sockets end.
pub async fn remove(ctx: &Ctx, caller: &Caller, raw_room: &str, handle: &str) -> AppResult<()> {
    caller.may(Action::ManageMembers, None)?;
    let room = keyed_room_id(raw_room)?;
    members::remove(&ctx.db, &room, &caller.key_id, handle.trim(), ctx.now_ms)
        .await?
        .ok_or_else(no_such_member)?;
    // Paid variant: the room's object closes the member's sockets now.
    crate::push::notify(ctx, &caller.key_id, &room);
    Ok(())
}

/// A fresh token for a member; the old one dies at once.
pub async fn reissue(
    ctx: &Ctx,
    caller: &Caller,
    raw_room: &str,
    handle: &str,
) -> AppResult<MemberCreated> {
    caller.may(Action::ManageMembers, None)?;
    let room = keyed_room_id(raw_room)?;
    let token = new_token()?;
    let row = members::reissue(
        &ctx.db,
        &room,
        &caller.key_id,
        handle.trim(),
        &token.hash,
        &token.prefix,
    )
    .await?
    .ok_or_else(no_such_member)?;
    crate::push::notify(ctx, &caller.key_id, &room);
    created(&room, &row, token)
}

fn no_such_member() -> AppError {
    AppError::client(protocol::ErrorCode::NotFound, "no such member in this room")
}

/// What the credential is: an owner key, or a member token and its room.
pub fn whoami(caller: &Caller) -> WhoAmI {
    match &caller.member {
        None => WhoAmI::Owner,
        Some(m) => WhoAmI::Member {
            room_id: m.room_id.clone(),
            handle: m.handle.clone(),
            role: m.role,
        },
    }
}
