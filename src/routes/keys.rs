//! `POST /api/keys` (anonymous) and `DELETE /api/keys` (revoke the presented key).

use protocol::access::Action;
use protocol::key::{self, CredentialKind};
use protocol::ratelimit::Decision;
use protocol::wire::KeyCreated;
use worker::Response;

use crate::auth;
use crate::context::Ctx;
use crate::error::{json_response, AppError, AppResult};
use crate::store::{keys, kv};

pub async fn create(ctx: &Ctx) -> AppResult<Response> {
    let scope = format!("keys-per-ip:{}", ctx.client_ip());
    if let Decision::Deny { retry_after_secs } =
        kv::check_and_record(&ctx.env, &scope, ctx.config.keys_per_ip, ctx.now_ms).await?
    {
        return Err(AppError::rate_limited(
            format!(
                "key generation is limited to {} per hour per IP address",
                ctx.config.keys_per_ip.max
            ),
            retry_after_secs,
        ));
    }
    let mut entropy = [0u8; key::ENTROPY_BYTES];
    getrandom::fill(&mut entropy).map_err(|e| AppError::Internal(format!("getrandom: {e}")))?;
    let plaintext = key::from_entropy(&entropy);
    let prefix = key::prefix(&plaintext).to_owned();
    let id = uuid::Uuid::new_v4().to_string();
    keys::insert(&ctx.db, &id, &key::hash(&plaintext), &prefix, ctx.now_ms).await?;
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
    // Paid variant: wake the key's rooms so their objects close its sockets
    // now; an idle socket would otherwise only notice at its next delivery.
    #[cfg(feature = "durable-objects")]
    for room in crate::store::rooms::list(&ctx.db, &key_id).await? {
        crate::room::notify(ctx, &key_id, &room.id);
    }
    #[cfg(not(feature = "durable-objects"))]
    let _ = key_id;
    Ok(Response::builder().with_status(204).empty())
}
