//! `meet-ai wait`: long-poll a room for what is unread for a handle, print
//! it as JSON lines, and only then mark it read.
//!
//! The order is the guarantee: print, flush, then `POST /read` through the
//! last printed id. A crash after printing repeats at most what was not yet
//! acked; a restarted wait delivers exactly the unread messages. The server
//! call never acks by itself (`ack=1` is not used).

use std::time::Duration;

use tokio::time::Instant;

use crate::backoff::Backoff;
use protocol::validate::MAX_WAIT_SECS;

use crate::client::{with_retries, Client, RawMessage};
use crate::error::{CliError, Kind, Result};
use crate::listen::{announce_retry, report, Lifecycle};
use crate::output::Output;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOptions {
    pub handle: String,
    /// Any message not from the handle, not only mentions.
    pub any: bool,
    /// The whole wait; `None`: forever.
    pub timeout_secs: Option<u64>,
    /// Keep going after the first delivery.
    pub follow: bool,
    /// Mark printed messages read.
    pub ack: bool,
}

/// Retries of one ack before wait gives up (and exits with the error).
const ACK_RETRIES: u32 = 5;

/// The server-side timeout of the next call: at most 50 s, at most what is
/// left of `--timeout` (rounded up), at least 1 s.
pub fn call_secs(left: Option<Duration>) -> u64 {
    match left {
        None => u64::from(MAX_WAIT_SECS),
        Some(left) => {
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            secs.clamp(1, u64::from(MAX_WAIT_SECS))
        }
    }
}

/// The id to ack after printing `batch`: its last message.
pub fn ack_through(batch: &[RawMessage]) -> Option<&str> {
    batch.last().map(|m| m.message.id.as_str())
}

/// Waits as `opts` says; returns how many messages it printed, or the
/// timeout error (exit 7) when `--timeout` passed with none printed.
pub async fn run(client: &Client, room: &str, opts: &WaitOptions, out: &Output) -> Result<u64> {
    let deadline = opts
        .timeout_secs
        .map(|s| Instant::now() + Duration::from_secs(s));
    let mut printed: u64 = 0;
    let mut attempt: u32 = 0;
    let mut answered = false;
    loop {
        let left = deadline.map(|at| at.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            break;
        }
        let call = client.wait_once(room, &opts.handle, call_secs(left), opts.any);
        // Cutting a call short at the deadline loses nothing: the server
        // moves no cursor without an ack.
        let result = match deadline {
            Some(at) => match tokio::time::timeout_at(at, call).await {
                Ok(result) => result,
                Err(_) => break,
            },
            None => call.await,
        };
        match result {
            Ok(None) => {
                answered = true;
                attempt = 0;
            }
            Ok(Some(batch)) => {
                answered = true;
                attempt = 0;
                for m in &batch.messages {
                    // JSON lines always: agents read this. Each is flushed.
                    out.emit_json(&m.raw)?;
                }
                printed += batch.messages.len() as u64;
                if opts.ack {
                    if let Some(through) = ack_through(&batch.messages) {
                        ack(client, room, &opts.handle, through).await?;
                    }
                }
                if !opts.follow {
                    return Ok(printed);
                }
            }
            Err(e) if !e.is_transient() => return Err(e),
            // A wrong URL fails fast, as on any first request.
            Err(e) if !answered && e.kind == Kind::Unreachable => return Err(e),
            Err(e) => {
                attempt += 1;
                let delay = announce_retry(attempt, &e);
                let sleep = tokio::time::sleep(delay);
                if let Some(at) = deadline {
                    if tokio::time::timeout_at(at, sleep).await.is_err() {
                        break;
                    }
                } else {
                    sleep.await;
                }
            }
        }
    }
    if printed > 0 {
        Ok(printed)
    } else {
        Err(CliError::timeout(opts.timeout_secs.unwrap_or(0)))
    }
}

/// Marks `handle` read through `through`, retrying transient failures.
async fn ack(client: &Client, room: &str, handle: &str, through: &str) -> Result<()> {
    with_retries(
        ACK_RETRIES,
        Backoff::SEND,
        || client.mark_read(room, Some(handle), through),
        |retry, delay, err| {
            let error = format!("marking read failed: {err}");
            report(&Lifecycle::Reconnecting {
                attempt: retry,
                delay_ms: delay.as_millis() as u64,
                error: Some(&error),
            });
        },
    )
    .await
    .map_err(|mut e| {
        e.message = format!(
            "printed messages through {through} but could not mark them read: {}",
            e.message
        );
        e
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_call_waits_at_most_fifty_seconds_and_what_is_left() {
        assert_eq!(call_secs(None), 50);
        assert_eq!(call_secs(Some(Duration::from_secs(600))), 50);
        assert_eq!(call_secs(Some(Duration::from_secs(2))), 2);
        assert_eq!(call_secs(Some(Duration::from_millis(1500))), 2);
        assert_eq!(call_secs(Some(Duration::from_millis(10))), 1);
        assert_eq!(call_secs(Some(Duration::ZERO)), 1);
    }

    #[test]
    fn the_ack_goes_through_the_last_printed_message() {
        use protocol::wire::SenderType;
        let mk = |id: &str| {
            let mut m = crate::output::tests::raw_message("ada", SenderType::Human, "x", "");
            m.message.id = id.into();
            m
        };
        assert_eq!(ack_through(&[]), None);
        assert_eq!(ack_through(&[mk("m1"), mk("m2")]), Some("m2"));
    }
}

#[cfg(test)]
mod server_tests {
    use super::*;
    use crate::config::Config;
    use meet_ai_e2e::fake::{fake_server, http};

    fn client(base: &str) -> Client {
        let key = Some("mai_abcdefghijklmnopqrstuvwx".into());
        Client::new(&Config {
            url: base.into(),
            key,
        })
        .unwrap()
    }

    fn batch(ids: &[&str]) -> String {
        let messages: Vec<String> = ids
            .iter()
            .map(|id| {
                format!(
                    r#"{{"id":"{id}","room_id":"r","sender":"bob","sender_type":"human","color":null,"content":"@ada hi","created_at":"t","verified":true,"mentions":["ada"],"kind":"message"}}"#
                )
            })
            .collect();
        format!(
            r#"{{"handle":"ada","messages":[{}],"cursor":"c0"}}"#,
            messages.join(",")
        )
    }

    fn opts(timeout_secs: Option<u64>, ack: bool) -> WaitOptions {
        WaitOptions {
            handle: "ada".into(),
            any: false,
            timeout_secs,
            follow: false,
            ack,
        }
    }

    #[tokio::test]
    async fn waits_through_empty_answers_then_prints_and_acks_the_last_id() {
        let (base, seen) = fake_server(vec![
            http("204 No Content", "", ""),
            http("200 OK", "", &batch(&["m1", "m2"])),
            http("200 OK", "", r#"{"handle":"ada","cursor":"m2"}"#),
        ])
        .await;
        let out = Output::default();
        let printed = run(&client(&base), "r", &opts(None, true), &out)
            .await
            .unwrap();
        assert_eq!(printed, 2);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3);
        assert!(
            seen[0].starts_with("GET /api/rooms/r/wait?for=ada&timeout=50 "),
            "{}",
            seen[0]
        );
        assert!(seen[1].starts_with("GET /api/rooms/r/wait?for=ada&timeout=50 "));
        assert!(
            seen[2].starts_with("POST /api/rooms/r/read "),
            "{}",
            seen[2]
        );
        assert!(
            seen[2].ends_with(r#"{"for":"ada","through":"m2"}"#),
            "{}",
            seen[2]
        );
    }

    #[tokio::test]
    async fn no_ack_leaves_the_cursor_and_any_asks_for_everything() {
        let (base, seen) = fake_server(vec![http("200 OK", "", &batch(&["m1"]))]).await;
        let mut o = opts(Some(30), false);
        o.any = true;
        let printed = run(&client(&base), "r", &o, &Output::default())
            .await
            .unwrap();
        assert_eq!(printed, 1);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert!(
            seen[0].starts_with("GET /api/rooms/r/wait?for=ada&timeout=30&any=1 "),
            "{}",
            seen[0]
        );
    }

    #[tokio::test]
    async fn nothing_within_the_timeout_is_exit_seven() {
        let (base, _seen) = fake_server(vec![
            http("204 No Content", "", ""),
            http("204 No Content", "", ""),
        ])
        .await;
        let started = std::time::Instant::now();
        let err = run(
            &client(&base),
            "r",
            &opts(Some(1), true),
            &Output::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.exit_code(), 7);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_refusal_ends_the_wait_with_its_exit_code() {
        let (base, _seen) = fake_server(vec![http(
            "403 Forbidden",
            "",
            r#"{"error":"a member waits for itself","code":"forbidden"}"#,
        )])
        .await;
        let err = run(&client(&base), "r", &opts(None, true), &Output::default())
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 9);
        assert_eq!(err.message, "a member waits for itself");
    }
}
