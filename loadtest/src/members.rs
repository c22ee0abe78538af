//! The member and mention calls the `wake` and `waiting` scenarios make
//! (requests built by the `meet_ai` library): sending with a member's token,
//! and `GET …/wait`, which holds the request open up to its timeout (so it
//! goes out on the streams' client, which has no 30 s total bound) and may
//! answer 204 with no body.

use std::time::Duration;

use meet_ai::client::WaitQuery;
use protocol::wire::{Message, Role, SendBody, Waited};
use tokio::time::Instant;

use crate::client::{Client, Result, Timed};
use crate::scenarios::Ctx;

impl Client {
    /// Sends with a member token (the sender is the token's handle).
    pub async fn post_as_member(&self, token: &str, room: &str, content: &str) -> Timed<Message> {
        let body = SendBody {
            content: content.to_owned(),
            ..SendBody::default()
        };
        self.timed(self.api(token).send_message_request(room, &body, None))
            .await
    }

    /// `GET /api/rooms/:room/wait?for=<handle>&timeout=<s>[&ack=1]`, bounded
    /// at the timeout plus 30 s, and when its whole response had arrived. Its
    /// Server-Timing goes into the cost tally. A 204 has no body to read, so
    /// its `error` says so: that is no error.
    pub async fn wait_for(
        &self,
        token: &str,
        room: &str,
        handle: &str,
        timeout_s: u32,
        ack: bool,
    ) -> (Timed<Waited>, Instant) {
        let query = WaitQuery {
            for_handle: handle,
            timeout: u64::from(timeout_s),
            any: false,
            ack,
        };
        let req = self
            .streams(token)
            .wait_request(room, &query)
            .map(|req| req.timeout(Duration::from_secs(u64::from(timeout_s) + 30)));
        (self.timed(req).await, Instant::now())
    }
}

/// The one room every mention scenario uses: an owner key, a room, an agent
/// `waiter` and a human `caller`, with their tokens.
pub struct MentionRoom {
    pub room: String,
    pub waiter: String,
    pub caller: String,
}

pub const WAITER: &str = "waiter";
pub const CALLER: &str = "caller";

pub async fn mention_room(ctx: &Ctx, n: u32, name: &str) -> Result<MentionRoom> {
    let (key, room) = ctx.key_and_room(n, name).await?;
    // Setup, not measured: straight through the library.
    let owner = ctx.client.api(&key);
    let waiter = owner.invite(&room, WAITER, Role::Agent).await?.value.token;
    let caller = owner.invite(&room, CALLER, Role::Human).await?.value.token;
    Ok(MentionRoom {
        room,
        waiter,
        caller,
    })
}
