//! The members and read-cursor commands: members, invite, remove-member,
//! reissue-token, whoami, inbox, read, and the handle `--as` defaults to.

use crate::args::{InboxArgs, InviteArgs, MemberArgs, ReadArgs};
use crate::client::Client;
use crate::error::{CliError, Result};
use crate::output::Output;
use protocol::key::CredentialKind;
use protocol::wire::WhoAmI;

/// The handle a cursor command acts for: `--as`, or with a member token
/// `None` (the server takes the token's own). An owner key needs `--as`.
pub fn for_handle(
    as_handle: Option<&str>,
    credential: CredentialKind,
    command: &str,
) -> Result<Option<String>> {
    match (as_handle.map(str::trim), credential) {
        (Some(""), _) => Err(CliError::usage("--as needs a handle")),
        (Some(handle), _) => Ok(Some(handle.to_owned())),
        (None, CredentialKind::Member) => Ok(None),
        (None, CredentialKind::Owner) => Err(CliError::usage(format!(
            "with an owner key, say whose: meet-ai {command} <room> --as <handle> \
             (a member token, MEET_AI_KEY=mem_..., is its own handle)"
        ))),
    }
}

/// `--as`, or the member token's handle as `GET /api/whoami` tells it.
pub async fn handle_or_mine(
    client: &Client,
    as_handle: Option<&str>,
    command: &str,
) -> Result<String> {
    if let Some(handle) = for_handle(as_handle, client.credential()?, command)? {
        return Ok(handle);
    }
    match client.whoami().await?.value {
        WhoAmI::Member { handle, .. } => Ok(handle),
        WhoAmI::Owner => Err(CliError::other(
            "the server says this is an owner key, not a member token; pass --as <handle>",
        )),
    }
}

pub async fn members(room: &str, client: &Client, out: &Output) -> Result<()> {
    let room = client.resolve_room(room).await?;
    out.members(&client.members(&room).await?)?;
    Ok(())
}

pub async fn invite(args: InviteArgs, client: &Client, out: &Output) -> Result<()> {
    client.key()?;
    let room = client.resolve_room(&args.room).await?;
    let created = client
        .invite(&room, args.handle.trim(), args.role.into())
        .await?;
    out.member_created(&created, &client.base)?;
    Ok(())
}

pub async fn remove(args: MemberArgs, client: &Client, out: &Output) -> Result<()> {
    client.key()?;
    let room = client.resolve_room(&args.room).await?;
    let handle = args.handle.trim();
    client.remove_member(&room, handle).await?;
    out.member_removed(&room, handle)?;
    Ok(())
}

pub async fn reissue(args: MemberArgs, client: &Client, out: &Output) -> Result<()> {
    client.key()?;
    let room = client.resolve_room(&args.room).await?;
    let created = client.reissue_token(&room, args.handle.trim()).await?;
    out.member_created(&created, &client.base)?;
    Ok(())
}

pub async fn inbox(args: InboxArgs, client: &Client, out: &Output) -> Result<()> {
    let handle = for_handle(args.as_handle.as_deref(), client.credential()?, "inbox")?;
    let room = client.resolve_room(&args.room).await?;
    let inbox = client
        .inbox(&room, handle.as_deref(), args.after.as_deref(), args.limit)
        .await?;
    out.inbox(&inbox)?;
    Ok(())
}

pub async fn read(args: ReadArgs, client: &Client, out: &Output) -> Result<()> {
    let handle = for_handle(args.as_handle.as_deref(), client.credential()?, "read")?;
    let room = client.resolve_room(&args.room).await?;
    let cursor = client
        .mark_read(&room, handle.as_deref(), args.through.trim())
        .await?;
    out.read_cursor(&cursor)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_defaults_to_the_member_token_and_is_required_for_an_owner() {
        assert_eq!(
            for_handle(Some(" ada "), CredentialKind::Owner, "inbox").unwrap(),
            Some("ada".to_owned())
        );
        assert_eq!(
            for_handle(Some("ada"), CredentialKind::Member, "inbox").unwrap(),
            Some("ada".to_owned())
        );
        assert_eq!(
            for_handle(None, CredentialKind::Member, "wait").unwrap(),
            None
        );
        let e = for_handle(None, CredentialKind::Owner, "wait").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.message
                .starts_with("with an owner key, say whose: meet-ai wait <room> --as <handle>"),
            "{e}"
        );
        assert_eq!(
            for_handle(Some(" "), CredentialKind::Member, "read")
                .unwrap_err()
                .exit_code(),
            2
        );
    }
}
