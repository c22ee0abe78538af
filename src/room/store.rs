//! A message sent over a socket: the same validation, rate limit and storage
//! as `POST /api/rooms/:id/messages`, then the same push as a notified send.

use protocol::access::{sender_for, Principal};
use protocol::ratelimit::{Limit, MINUTE_MS};
use protocol::validate::NewMessage;
use protocol::wire::{Message, MessageRow};
use protocol::ws::ServerFrame;
use worker::{console_error, WebSocket};

use super::socket::{error_frame, send, Attachment, POLICY_VIOLATION};
use super::Room;
use crate::context::now_ms;
use crate::store::d1::{rows, Db};
use crate::store::messages::{self, KeyRef, NewRecord, Refusal};
use crate::store::send_quota::SendLimits;

impl Room {
    pub(super) async fn store(&self, ws: &WebSocket, message: &NewMessage) {
        let attachment = match ws.deserialize_attachment::<Attachment>() {
            Ok(Some(a)) => a,
            _ => return send(ws, &error_frame("socket state lost; reconnect")),
        };
        if !attachment.can_write() {
            return send(
                ws,
                &error_frame("only the room owner's key or a member that may send can send here"),
            );
        }
        let principal = match &attachment.member {
            None => Principal::Owner,
            Some(m) => Principal::Member {
                room_id: &attachment.room,
                handle: &m.handle,
                role: m.role,
            },
        };
        let requested = message.sender.as_ref().map(AsRef::as_ref);
        let sender = match sender_for(principal, requested) {
            Ok(sender) => sender,
            Err(e) => return send(ws, &error_frame(&e.to_string())),
        };
        let sender_type = match &attachment.member {
            Some(m) => m.role.sender_type(),
            None => message.sender_type,
        };
        let now = now_ms();
        let id = messages::new_id(&attachment.room, None);
        let rec = NewRecord {
            id: &id,
            room_id: &attachment.room,
            key: match &attachment.member {
                Some(m) => KeyRef::Member(&m.token_hash),
                None => KeyRef::Id(&attachment.owner),
            },
            message,
            idempotency_key: None,
            // The object has no view of the account's budget estimate (that
            // lives in the Worker's isolates), so a socket send is held to the
            // configured daily cap, not the fair share.
            limits: SendLimits {
                per_minute: Limit::new(attachment.limits.per_minute, MINUTE_MS),
                daily_cap: attachment.limits.per_day,
                now_ms: now,
            },
        };
        let outcome = async {
            let db = Db::from_env(&self.env)?;
            let [insert, count] = messages::insert_statements(&db, &rec)?;
            let mut statements = vec![insert, count];
            statements.extend(crate::push::head_statement(&db, &attachment.room)?);
            let results = db.batch(statements).await?;
            let stored: Option<MessageRow> = rows(results.first())?.into_iter().next();
            if let Some(row) = stored {
                let newest: Vec<i64> = rows::<SeqRow>(results.get(2))?
                    .into_iter()
                    .map(|r| r.seq)
                    .collect();
                return Ok(Outcome::Stored(row, newest));
            }
            let member_hash = attachment.member.as_ref().map(|m| m.token_hash.as_str());
            messages::explain_refusal(
                &db,
                &rec,
                &attachment.owner,
                member_hash,
                &sender,
                sender_type.as_str(),
            )
            .await
            .map(Outcome::Refused)
        };
        match outcome.await {
            Ok(Outcome::Stored(row, newest)) => {
                let seq = row.seq;
                match protocol::push::predecessor(seq, &newest) {
                    Some(prev) => {
                        let frame = ServerFrame::Message(Message::from(row));
                        match serde_json::to_string(&frame) {
                            Ok(text) => self.deliver(seq, prev, &text).await,
                            Err(_) => self.pump().await,
                        }
                    }
                    None => self.pump().await,
                }
            }
            Ok(Outcome::Refused(Refusal::KeyRevoked)) => {
                let _ = ws.close(Some(POLICY_VIOLATION), Some("access lost"));
            }
            Ok(Outcome::Refused(Refusal::RoomNotFound)) => send(ws, &error_frame("room not found")),
            Ok(Outcome::Refused(Refusal::HandleReserved)) => send(
                ws,
                &error_frame(&format!(
                    "'{sender}' is the handle of a member of this room; only its member token sends as it"
                )),
            ),
            Ok(Outcome::Refused(Refusal::Duplicate(_))) => self.pump().await,
            Ok(Outcome::Refused(Refusal::LoopGuard { limit, notice })) => {
                send(
                    ws,
                    &error_frame(&format!(
                        "loop guard: the last {limit} messages here are all from agents; wait for a human"
                    )),
                );
                if notice.is_some() {
                    self.pump().await;
                }
            }
            Ok(Outcome::Refused(Refusal::IdempotencyConflict)) => {
                send(ws, &error_frame("this message repeats an id used for another"))
            }
            Ok(Outcome::Refused(Refusal::DailyQuota { retry_after_secs })) => send(
                ws,
                &error_frame(&format!(
                    "this key's daily send quota is spent; it resets at 00:00 UTC, in \
                     {retry_after_secs} s"
                )),
            ),
            Ok(Outcome::Refused(Refusal::RateLimited {
                retry_after_secs: wait,
            })) => {
                send(
                    ws,
                    &error_frame(&format!(
                        "sending is limited to {} messages per minute per key; retry in {wait} s",
                        attachment.limits.per_minute
                    )),
                )
            }
            Err(e) => {
                console_error!("socket send failed: {e:?}");
                send(ws, &error_frame("internal error; please try again"))
            }
        }
    }
}

enum Outcome {
    /// The stored row, and the room's newest `seq`s after it (newest first).
    Stored(MessageRow, Vec<i64>),
    Refused(Refusal),
}

#[derive(serde::Deserialize)]
struct SeqRow {
    seq: i64,
}
