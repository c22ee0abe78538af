//! `hook decide` and `setup-hooks` (issue 17). `hook decide` has one rule
//! above all: whatever goes wrong, print nothing and exit 0, so Claude
//! Code's own prompt decides; only a person's answer prints.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::args::{DecideArgs, SetupHooksArgs};
use crate::backoff::{jitter, Backoff};
use crate::client::Client;
use crate::commands::signals;
use crate::config::{self, Config};
use crate::error::{CliError, Result};
use crate::hook::{self, settings, HookInput};

pub const ROOM_VAR: &str = "MEET_AI_ROOM";

/// Grace past the expiry for clocks that disagree a little: the server
/// has the last word (it reports `expired`), this only bounds the loop.
const EXPIRY_GRACE: Duration = Duration::from_secs(5);

/// `meet-ai hook decide`. Never fails: errors go to stderr as one line.
pub fn decide(
    url_flag: Option<&str>,
    key_flag: Option<&str>,
    insecure_http: bool,
    args: &DecideArgs,
) -> ExitCode {
    match decide_inner(url_flag, key_flag, insecure_http, args) {
        Ok(Some(line)) => {
            let mut out = std::io::stdout().lock();
            // A closed stdout leaves nothing to do; still exit 0.
            let _ = writeln!(out, "{line}").and_then(|_| out.flush());
        }
        Ok(None) => {}
        Err(e) => eprintln!(
            "meet-ai hook decide: {}; leaving the decision to Claude Code",
            crate::output::sanitize(&e.to_string())
        ),
    }
    ExitCode::SUCCESS
}

fn decide_inner(
    url_flag: Option<&str>,
    key_flag: Option<&str>,
    insecure_http: bool,
    args: &DecideArgs,
) -> Result<Option<String>> {
    let mut raw = String::new();
    std::io::stdin()
        .read_to_string(&mut raw)
        .map_err(|e| CliError::other(format!("cannot read the hook input: {e}")))?;
    let input = hook::parse_input(&raw).map_err(|s| CliError::other(s.0))?;
    let body = hook::request_body(&input, args.expires_in).map_err(|s| CliError::other(s.0))?;
    // The environment only: no .env file, nothing else scanned.
    let env = |name: &str| std::env::var(name).ok();
    let room = env(ROOM_VAR)
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .ok_or_else(|| CliError::other(format!("{ROOM_VAR} is not set")))?;
    let config: Config = config::resolve(url_flag, key_flag, env, &Default::default())?;
    let client = Client::new(&config)?;
    client.key()?;
    let allow_http = insecure_http || config::allow_http_from_env(env(config::ALLOW_HTTP_VAR));
    config::check_transport(&config.url, true, allow_http)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::other(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(ask_and_wait(&client, &room, &input, &body, args.expires_in))
}

async fn ask_and_wait(
    client: &Client,
    room: &str,
    input: &HookInput,
    body: &Value,
    expires_in: u64,
) -> Result<Option<String>> {
    let (mut sigint, mut sigterm) = signals()?;
    let deadline = Instant::now() + Duration::from_secs(expires_in) + EXPIRY_GRACE;
    let key = hook::idempotency_key(input, || uuid::Uuid::new_v4().simple().to_string());
    let created = tokio::select! {
        c = create(client, room, body, &key, deadline) => c?,
        _ = sigint.recv() => return Ok(None),
        _ = sigterm.recv() => return Ok(None),
    };
    let id = created
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| CliError::other("the server's decision has no id"))?
        .to_owned();
    if !hook::is_pending(&created) {
        // The same tool use asked again after it was answered.
        return Ok(render(input, &created));
    }
    let outcome = tokio::select! {
        d = wait(client, room, &id, deadline) => d,
        _ = sigint.recv() => Ok(None),
        _ = sigterm.recv() => Ok(None),
    };
    match outcome {
        Ok(Some(decision)) if !hook::is_pending(&decision) => Ok(render(input, &decision)),
        other => {
            // Expired here, stopped or failed: withdraw the request so no one
            // answers into the void. If a person answered just now, the
            // cancel loses (409) and their answer still counts.
            match client.cancel_decision(room, &id).await {
                Ok(_) => {}
                Err(e) => {
                    if let Ok(d) = client.decision(room, &id).await {
                        if !hook::is_pending(&d) {
                            return Ok(render(input, &d));
                        }
                    }
                    eprintln!(
                        "meet-ai hook decide: could not cancel the request: {}",
                        crate::output::sanitize(&e.to_string())
                    );
                }
            }
            other.map(|_| None)
        }
    }
}

fn render(input: &HookInput, decision: &Value) -> Option<String> {
    hook::output_for(input, decision).and_then(|v| serde_json::to_string(&v).ok())
}

/// Posts the request, retrying network errors and 5xx/429 with the same
/// Idempotency-Key until the deadline.
async fn create(
    client: &Client,
    room: &str,
    body: &Value,
    key: &str,
    deadline: Instant,
) -> Result<Value> {
    let mut attempt = 0;
    loop {
        match client.create_decision(room, body, key).await {
            Ok(d) => return Ok(d),
            Err(e) if e.is_transient() => {
                attempt += 1;
                pause(&e, attempt, deadline).await?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Waits for the decision to leave `pending`, in server-held waits of up
/// to 50 s, retrying network errors, until the deadline.
async fn wait(client: &Client, room: &str, id: &str, deadline: Instant) -> Result<Option<Value>> {
    let mut attempt = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let asked = Instant::now();
        match client.wait_decision(room, id, left.as_secs().max(1)).await {
            Ok(Some(d)) if !hook::is_pending(&d) => return Ok(Some(d)),
            Ok(_) => {
                attempt = 0;
                // A wait that came back early with nothing: do not spin.
                if asked.elapsed() < Duration::from_secs(1) {
                    tokio::time::sleep(Duration::from_secs(1).min(left)).await;
                }
            }
            Err(e) if e.is_transient() => {
                attempt += 1;
                pause(&e, attempt, deadline).await?;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn pause(e: &CliError, attempt: u32, deadline: Instant) -> Result<()> {
    let delay = e
        .retry_after()
        .unwrap_or_else(|| Backoff::LISTEN.delay(attempt, jitter()));
    if Instant::now() + delay >= deadline {
        return Err(e.clone());
    }
    tokio::time::sleep(delay).await;
    Ok(())
}

/// `meet-ai setup-hooks [--project]`.
pub fn setup(args: &SetupHooksArgs) -> Result<ExitCode> {
    let path = settings_path(args.project)?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(CliError::other(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let current = settings::parse(text.as_deref())
        .map_err(|e| CliError::other(format!("{}: {e}", path.display())))?;
    let (merged, changed) = settings::merge(current, args.expires_in)
        .map_err(|e| CliError::other(format!("{}: {e}", path.display())))?;
    if changed {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::other(format!("cannot create {}: {e}", dir.display())))?;
        }
        std::fs::write(&path, settings::render(&merged))
            .map_err(|e| CliError::other(format!("cannot write {}: {e}", path.display())))?;
        println!(
            "Added the PermissionRequest hook `{}` to {}",
            settings::command_for(args.expires_in),
            path.display()
        );
    } else {
        println!(
            "{} already has the meet-ai hook; nothing changed",
            path.display()
        );
    }
    let missing: Vec<&str> = [ROOM_VAR, config::KEY_VAR]
        .into_iter()
        .filter(|v| std::env::var(v).map_or(true, |s| s.trim().is_empty()))
        .collect();
    if !missing.is_empty() {
        println!(
            "Start Claude Code with {} set (the room, and the agent's member token from \
             `meet-ai invite <room> <name> --role agent`); without them the hook stays silent.",
            missing.join(" and ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn settings_path(project: bool) -> Result<PathBuf> {
    if project {
        let cwd = std::env::current_dir()
            .map_err(|e| CliError::other(format!("no current directory: {e}")))?;
        return Ok(cwd.join(".claude").join("settings.json"));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| CliError::other("HOME is not set; use --project"))?;
    Ok(PathBuf::from(home).join(".claude").join("settings.json"))
}
