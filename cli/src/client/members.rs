//! Members of a room (issue 12): list, invite, remove, reissue a token; and
//! `whoami`, which says what the configured credential is.

use reqwest::Method;

use super::{Client, Fetched, REQUEST_TIMEOUT};
use crate::error::Result;
use protocol::wire::{Member, MemberCreated, Role, WhoAmI};

impl Client {
    /// `GET /api/rooms/:id/members`, oldest first.
    pub async fn members(&self, room: &str) -> Result<Fetched<Vec<Member>>> {
        let req = self.authed_at(Method::GET, &["api", "rooms", room, "members"])?;
        self.call(req).await
    }

    /// `POST /api/rooms/:id/members`: the new member and its token.
    pub async fn invite(
        &self,
        room: &str,
        handle: &str,
        role: Role,
    ) -> Result<Fetched<MemberCreated>> {
        self.call(self.invite_request(room, handle, role)?).await
    }

    /// `DELETE /api/rooms/:id/members/:handle`: the token dies at once.
    pub async fn remove_member(&self, room: &str, handle: &str) -> Result<()> {
        let req = self.authed_at(Method::DELETE, &["api", "rooms", room, "members", handle])?;
        self.send(req.timeout(REQUEST_TIMEOUT)).await?;
        Ok(())
    }

    /// `POST /api/rooms/:id/members/:handle/token`: a fresh token; the old
    /// one dies.
    pub async fn reissue_token(&self, room: &str, handle: &str) -> Result<Fetched<MemberCreated>> {
        let req = self.authed_at(
            Method::POST,
            &["api", "rooms", room, "members", handle, "token"],
        )?;
        self.call(req).await
    }

    /// `GET /api/whoami`.
    pub async fn whoami(&self) -> Result<Fetched<WhoAmI>> {
        self.call(self.authed_at(Method::GET, &["api", "whoami"])?)
            .await
    }
}
