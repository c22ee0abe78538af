//! `POST /api/keys` (anonymous) and `DELETE /api/keys` (revoke the presented key).

use protocol::access::Action;
use protocol::key::{self, CredentialKind};
use protocol::ratelimit::retry_after_secs;
use protocol::wire::KeyCreated;
use worker::Response;

use crate::auth;
use crate::context::Ctx;
use crate::error::{json_response, AppError, AppResult};
use crate::store::keys;

/// A new key, unless the client's network (its IPv4 address or IPv6 /64)
/// made `RATE_KEYS_PER_HOUR` already: counted in the INSERT, burst-proof.
pub async fn create(ctx: &Ctx) -> AppResult<Response> {
    let network = protocol::client::network_of(&ctx.client_ip());
    let mut entropy = [0u8; key::ENTROPY_BYTES];
    getrandom::fill(&mut entropy).map_err(|e| AppError::Internal(format!("getrandom: {e}")))?;
    let plaintext = key::from_entropy(&entropy);
    let prefix = key::prefix(&plaintext).to_owned();
    let id = uuid::Uuid::new_v4().to_string();
    let limit = ctx.config.keys_per_ip;
    let new = keys::NewKey {
        id: &id,
        hash: &key::hash(&plaintext),
        prefix: &prefix,
        net_hash: &key::hash(&network),
        now_ms: ctx.now_ms,
        limit,
    };
    if let Err(oldest) = keys::insert(&ctx.db, &new).await? {
        return Err(AppError::rate_limited(
            format!(
                "key generation is limited to {} per hour per IP address (per /64 for IPv6)",
                limit.max
            ),
            retry_after_secs(limit, oldest.unwrap_or(ctx.now_ms), ctx.now_ms),
        ));
    }
    Ok(json_response(
        &KeyCreated {
            key: plaintext,
            prefix,
        },
        201,
    ))
}

pub async fn revoke(ctx: &Ctx) -> AppResult<Response> {
    let cred = auth::presented(ctx)?;
    if cred.kind == CredentialKind::Member {
        // 403 for a live token (it may not revoke its owner), 401 otherwise.
        auth::authenticate(ctx)
            .await?
            .may(Action::RevokeKey, None)?;
    }
    let Some(key_id) = keys::revoke(&ctx.db, &cred.hash, ctx.now_ms).await? else {
        return Err(AppError::unauthorized("invalid or revoked API key"));
    };
    // Paid variant: its rooms' objects close its sockets now.
    crate::push::key_revoked(ctx, &key_id).await?;
    Ok(Response::builder().with_status(204).empty())
}
