//! `/api/rooms/:id/decisions[/:did[/wait|answer|cancel]]`: the HTTP face of
//! `ops::decisions`.

use protocol::decision::{Answer, NewDecision};
use protocol::validate::{IdempotencyKey, WaitOptions};
use protocol::ErrorCode;
use serde_json::json;
use worker::Response;

use crate::auth::authenticate;
use crate::context::Ctx;
use crate::error::{json_response, AppResult};
use crate::ops;
use crate::ops::decisions::{decision_error, Settled};

/// 201 with the new decision; 200 with the original for a repeated
/// `Idempotency-Key`.
pub async fn create(ctx: &mut Ctx, raw_room: &str) -> AppResult<Response> {
    let caller = authenticate(ctx).await?;
    let idempotency_key = ctx
        .header("Idempotency-Key")
        .map(|k| IdempotencyKey::parse(&k))
        .transpose()?;
    let new = NewDecision::from_json(&ctx.body().await?).map_err(decision_error)?;
    let (decision, created) =
        ops::decisions::create(ctx, &caller, raw_room, &new, idempotency_key.as_ref()).await?;
    Ok(json_response(&decision, if created { 201 } else { 200 }))
}

pub async fn get(ctx: &Ctx, raw_room: &str, raw_id: &str) -> AppResult<Response> {
    Ok(json_response(
        &ops::decisions::get(ctx, raw_room, raw_id).await?,
        200,
    ))
}

/// 200 once the decision is settled or expired; 204 at the timeout.
pub async fn wait(ctx: &Ctx, raw_room: &str, raw_id: &str) -> AppResult<Response> {
    let options = WaitOptions::parse(ctx.query("timeout").as_deref(), None, None)?;
    match ops::decisions::wait(ctx, raw_room, raw_id, options.timeout_secs).await? {
        Some(decision) => Ok(json_response(&decision, 200)),
        None => Ok(Response::builder().with_status(204).empty()),
    }
}

pub async fn answer(ctx: &mut Ctx, raw_room: &str, raw_id: &str) -> AppResult<Response> {
    // The credential first: a bad key never makes the Worker read a body.
    authenticate(ctx).await?;
    let body = Answer::from_json(&ctx.body().await?).map_err(decision_error)?;
    settled(ops::decisions::answer(ctx, raw_room, raw_id, body).await?)
}

pub async fn cancel(ctx: &Ctx, raw_room: &str, raw_id: &str) -> AppResult<Response> {
    settled(ops::decisions::cancel(ctx, raw_room, raw_id).await?)
}

/// 200 with the settled decision, or 409 carrying the one that stands.
fn settled(result: Settled) -> AppResult<Response> {
    Ok(match result {
        Settled::Done(decision) => json_response(&decision, 200),
        Settled::Conflict(decision) => {
            let error = format!(
                "this decision is no longer pending: it is {}",
                decision.status.as_str()
            );
            json_response(
                &json!({"error": error, "code": ErrorCode::Conflict, "decision": decision}),
                409,
            )
        }
    })
}
