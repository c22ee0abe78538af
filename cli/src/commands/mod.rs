//! One function per command; `dispatch` picks it. Every command prints
//! through [`Output`] and fails with one [`crate::error::CliError`].

pub mod hook;
mod members;
mod send;
mod wait;

use std::process::ExitCode;

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::args::{Command, ListenArgs, WaitArgs};
use crate::client::Client;
use crate::error::{exit, CliError, Kind, Result};
use crate::listen::{self, Lifecycle, ListenOptions};
use crate::output::{is_excluded, Output};

pub async fn dispatch(command: Command, client: &Client, out: &Output) -> Result<ExitCode> {
    match command {
        Command::GenerateKey => {
            let key = client.create_key().await?;
            out.key_created(&key)?;
        }
        Command::RevokeKey => {
            let prefix = protocol::key::prefix(client.key()?).to_owned();
            client.revoke_key().await?;
            out.key_revoked(&prefix)?;
        }
        Command::Rooms => out.rooms(&client.rooms().await?)?,
        Command::CreateRoom { name } => {
            let room = client.create_room(&name.join(" ")).await?;
            out.room_created(&room)?;
        }
        Command::SendMessage(args) => send::run(args, client, out).await?,
        Command::Poll(args) => {
            let room = client.resolve_room(&args.room).await?;
            let mut messages = client
                .history(&room, args.after.as_deref(), args.limit)
                .await?;
            messages.retain(|m| !is_excluded(&m.message.sender, &args.exclude));
            out.messages(&messages)?;
        }
        Command::Listen(args) => return listen_command(args, client, out).await,
        Command::Wait(args) => return wait_command(args, client, out).await,
        Command::Inbox(args) => members::inbox(args, client, out).await?,
        Command::Read(args) => members::read(args, client, out).await?,
        Command::Members { room } => members::members(&room, client, out).await?,
        Command::Invite(args) => members::invite(args, client, out).await?,
        Command::RemoveMember(args) => members::remove(args, client, out).await?,
        Command::ReissueToken(args) => members::reissue(args, client, out).await?,
        Command::Whoami => out.whoami(&client.whoami().await?)?,
        // Both run before a client exists (see main).
        Command::Hook { .. } | Command::SetupHooks(_) => {
            return Err(CliError::other("hook commands run from main"))
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// SIGINT and SIGTERM handlers, installed before connecting so that a
/// signal at any point after is caught.
pub(crate) fn signals() -> Result<(Signal, Signal)> {
    let sigint = signal(SignalKind::interrupt())
        .map_err(|e| CliError::other(format!("cannot handle SIGINT: {e}")))?;
    let sigterm = signal(SignalKind::terminate())
        .map_err(|e| CliError::other(format!("cannot handle SIGTERM: {e}")))?;
    Ok((sigint, sigterm))
}

async fn listen_command(args: ListenArgs, client: &Client, out: &Output) -> Result<ExitCode> {
    let (mut sigint, mut sigterm) = signals()?;
    let room = client.resolve_room(&args.room).await?;
    let opts = ListenOptions {
        exclude: args.exclude,
        mentions: args.mentions,
        after: args.after,
        count: args.count,
        timeout_secs: args.timeout,
        transport: args.transport,
    };
    let (reason, code) = tokio::select! {
        done = listen::run(client, &room, &opts, out) => {
            match done {
                Ok(listen::Stop::Count) => ("count", exit::OK),
                Err(e) if e.kind == Kind::Timeout => {
                    listen::report(&Lifecycle::Stopped { reason: "timeout", printed: out.printed() });
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
        _ = sigint.recv() => ("sigint", exit::INTERRUPTED),
        _ = sigterm.recv() => ("sigterm", exit::OK),
    };
    listen::report(&Lifecycle::Stopped {
        reason,
        printed: out.printed(),
    });
    Ok(ExitCode::from(code))
}

async fn wait_command(args: WaitArgs, client: &Client, out: &Output) -> Result<ExitCode> {
    let (mut sigint, mut sigterm) = signals()?;
    let handle = members::handle_or_mine(client, args.as_handle.as_deref(), "wait").await?;
    let room = client.resolve_room(&args.room).await?;
    let opts = wait::WaitOptions {
        handle,
        any: args.any,
        timeout_secs: args.timeout,
        follow: args.follow,
        ack: !args.no_ack,
    };
    let code = tokio::select! {
        done = wait::run(client, &room, &opts, out) => {
            done?;
            exit::OK
        }
        _ = sigint.recv() => exit::INTERRUPTED,
        _ = sigterm.recv() => exit::OK,
    };
    Ok(ExitCode::from(code))
}
