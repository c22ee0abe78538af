//! `meet-ai`: the command-line client of meet-ai, for people and coding agents.
//!
//! main stays thin: parse, run, and turn the one error into one stderr line
//! and its documented exit code (see `error::exit`, docs/CLI.md).

mod args;
mod backoff;
mod client;
mod config;
mod error;
mod listen;
mod output;
mod transport;
mod ws;

use std::io::Read;
use std::process::ExitCode;

use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};

use args::{Cli, Command, ContentSource, SendArgs};
use backoff::Backoff;
use client::{with_retries, Client, NewMessage};
use error::{exit, CliError, Kind, Result};
use listen::{Lifecycle, ListenOptions};
use output::{is_excluded, Output};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) if e.kind == Kind::StdoutClosed => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("meet-ai: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let dotenv = config::read_dotenv(&cwd);
    let config = config::resolve(
        cli.url.as_deref(),
        cli.key.as_deref(),
        |name| std::env::var(name).ok(),
        &dotenv,
    )?;
    let out = Output::detect(cli.json);
    let client = Client::new(&config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::other(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(dispatch(cli.command, &client, &out))
}

async fn dispatch(command: Command, client: &Client, out: &Output) -> Result<ExitCode> {
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
        Command::SendMessage(args) => send(args, client, out).await?,
        Command::Poll(args) => {
            let room = client.resolve_room(&args.room).await?;
            let mut messages = client
                .history(&room, args.after.as_deref(), args.limit)
                .await?;
            messages.retain(|m| !is_excluded(&m.message.sender, &args.exclude));
            out.messages(&messages)?;
        }
        Command::Listen(args) => {
            // Handlers go in before connecting, so a signal that arrives at
            // any point after "connected" is caught.
            let mut sigint = signal(SignalKind::interrupt())
                .map_err(|e| CliError::other(format!("cannot handle SIGINT: {e}")))?;
            let mut sigterm = signal(SignalKind::terminate())
                .map_err(|e| CliError::other(format!("cannot handle SIGTERM: {e}")))?;
            let room = client.resolve_room(&args.room).await?;
            let opts = ListenOptions {
                exclude: args.exclude,
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
            return Ok(ExitCode::from(code));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn send(args: SendArgs, client: &Client, out: &Output) -> Result<()> {
    client.key()?;
    let content = match args.source() {
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
    let message = NewMessage {
        sender: args.sender,
        content,
        sender_type: args.sender_type.into(),
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
                    "meet-ai: {err}; retry {retry} of {} in {:.1} s",
                    args.retries,
                    delay.as_secs_f64()
                );
            }
        },
    )
    .await?;
    out.sent(&sent)?;
    Ok(())
}
