//! `meet-ai`: the command-line client of meet-ai, for people and coding agents.
//!
//! main stays thin: parse, run, and turn the one error into one stderr line
//! and its documented exit code (see `error::exit`, docs/CLI.md).
//!
//! The binary's own modules are the command line: `args` (clap), `commands`
//! (one function per subcommand), `output` (what reaches the terminal),
//! `hook` (the Claude Code permission hook) and `listen` (what it prints,
//! its resume and dedupe, its retries, over the library's follow loop). Talking to the server is the `meet_ai` library
//! (src/lib.rs), which the load generator and the black-box tests use as
//! their client too; its modules are imported here under their own names.

mod args;
mod commands;
mod hook;
mod listen;
mod output;

use std::process::ExitCode;

use clap::Parser;

use meet_ai::{backoff, client, config, error, follow, transport, ws};

use args::{Cli, Command, HookCommand};
use client::Client;
use error::{CliError, Kind, Result};
use output::Output;

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
            // The sentence may quote the server: no escapes reach the terminal.
            eprintln!("meet-ai: error: {}", output::sanitize(&e.to_string()));
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        // Configured by the environment only, and silent on any failure.
        Command::Hook {
            command: HookCommand::Decide(args),
        } => {
            return Ok(commands::hook::decide(
                cli.url.as_deref(),
                cli.key.as_deref(),
                cli.insecure_http,
                args,
            ))
        }
        Command::SetupHooks(args) => return commands::hook::setup(args),
        _ => {}
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let dotenv = config::read_dotenv(&cwd);
    let config = config::resolve(
        cli.url.as_deref(),
        cli.key.as_deref(),
        |name| std::env::var(name).ok(),
        &dotenv,
    )?;
    // A new key travels back in the answer, so generate-key counts too.
    let credential = config.key.is_some() || matches!(cli.command, Command::GenerateKey);
    let allow_http = cli.insecure_http
        || config::allow_http_from_env(std::env::var(config::ALLOW_HTTP_VAR).ok());
    config::check_transport(&config.url, credential, allow_http)?;
    let out = Output::detect(cli.json);
    let client = Client::new(&config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::other(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(commands::dispatch(cli.command, &client, &out))
}
