//! `meet-ai send-message`: read the content, post it once (retries reuse the
//! Idempotency-Key), print the stored message.

use std::io::Read;

use crate::args::{ContentSource, SendArgs};
use crate::backoff::Backoff;
use crate::client::{with_retries, Client};
use protocol::wire::SendBody;
use protocol::ErrorCode;

use crate::error::{CliError, Result};
use crate::output::Output;
use protocol::key::CredentialKind;

/// Whether a send may go out without a sender: only a member token names it.
pub fn check_sender(sender: Option<&str>, credential: CredentialKind) -> Result<()> {
    match (sender, credential) {
        (None, CredentialKind::Owner) => Err(CliError::usage(
            "an owner key needs a sender: meet-ai send-message <room> <sender> <content> \
             (only a member token, MEET_AI_KEY=mem_..., sends without one)",
        )),
        _ => Ok(()),
    }
}

/// A forbidden send with a named sender and a member token most likely
/// took the first word of unquoted content for a sender: say so.
pub fn explain_forbidden(
    mut err: CliError,
    sender: Option<&str>,
    credential: CredentialKind,
) -> CliError {
    if let (Some(sender), CredentialKind::Member, Some(ErrorCode::Forbidden)) =
        (sender, credential, err.code())
    {
        err.message = format!(
            "{} (\"{sender}\" was taken as the sender; with a member token leave the sender \
             out and quote the content: meet-ai send-message <room> '<content>')",
            err.message
        );
    }
    err
}

pub async fn run(args: SendArgs, client: &Client, out: &Output) -> Result<()> {
    let credential = client.credential()?;
    let (sender, source) = args.split().map_err(CliError::usage)?;
    check_sender(sender.as_deref(), credential)?;
    let content = match source {
        ContentSource::Inline(text) => text,
        ContentSource::File(path) => {
            let bytes = std::fs::read(&path)
                .map_err(|e| CliError::other(format!("cannot read {}: {e}", path.display())))?;
            String::from_utf8(bytes)
                .map_err(|_| CliError::other(format!("{} is not UTF-8 text", path.display())))?
        }
        ContentSource::Stdin => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| CliError::other(format!("cannot read standard input: {e}")))?;
            String::from_utf8(bytes)
                .map_err(|_| CliError::other("standard input is not UTF-8 text"))?
        }
    };
    let room = client.resolve_room(&args.room).await?;
    let message = SendBody {
        sender: sender.clone(),
        content,
        sender_type: Some(args.sender_type.into()),
        color: args.color,
    };
    // One key for every attempt: the server stores the message once.
    let idempotency_key = args
        .idempotency_key
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let sent = with_retries(
        args.retries,
        Backoff::SEND,
        || client.send_message(&room, &message, &idempotency_key),
        |retry, delay, err| {
            if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                eprintln!(
                    "meet-ai: {}; retry {retry} of {} in {:.1} s",
                    crate::output::sanitize(&err.to_string()),
                    args.retries,
                    delay.as_secs_f64()
                );
            }
        },
    )
    .await
    .map_err(|e| explain_forbidden(e, sender.as_deref(), credential))?;
    out.sent(&sent)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_member_token_sends_without_a_sender() {
        let e = check_sender(None, CredentialKind::Owner).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.starts_with("an owner key needs a sender"), "{e}");
        assert!(check_sender(Some("claude"), CredentialKind::Owner).is_ok());
        assert!(check_sender(None, CredentialKind::Member).is_ok());
        assert!(check_sender(Some("claude"), CredentialKind::Member).is_ok());
    }

    #[test]
    fn a_forbidden_member_send_with_a_sender_explains_the_two_forms() {
        let forbidden = || CliError::api(ErrorCode::Forbidden, 403, "sender must be ada");
        let e = explain_forbidden(forbidden(), Some("hello"), CredentialKind::Member);
        assert_eq!(e.exit_code(), 9);
        assert_eq!(
            e.message,
            "sender must be ada (\"hello\" was taken as the sender; with a member token leave \
             the sender out and quote the content: meet-ai send-message <room> '<content>')"
        );
        // Anything else passes unchanged.
        assert_eq!(
            explain_forbidden(forbidden(), None, CredentialKind::Member).message,
            "sender must be ada"
        );
        assert_eq!(
            explain_forbidden(forbidden(), Some("x"), CredentialKind::Owner).message,
            "sender must be ada"
        );
        let other = CliError::api(ErrorCode::NotFound, 404, "room not found");
        assert_eq!(
            explain_forbidden(other.clone(), Some("x"), CredentialKind::Member),
            other
        );
    }
}
