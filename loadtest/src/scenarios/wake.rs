//! `wake`: how soon a waiting agent hears its name. A room with two members,
//! agent `waiter` and human `caller`. Each round the waiter starts
//! `GET …/wait?for=waiter&timeout=30&ack=1`; after a random pause (so the
//! wait's poll schedule, 500 ms doubling to 2 s, is caught at every phase)
//! the caller posts a message mentioning `@waiter`. Mention-to-wake latency
//! runs from the start of that send's request to the arrival of the wait's
//! whole 200 response (so it includes the send itself, as fanout's delivery
//! latency does); the time from the send's response is reported beside it.
//! The wait must return exactly the message sent, else the round is an error.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::{fail_if, Ctx, MentionRoom, Report, Run, WAITER};
use protocol::wire::Waited;

use crate::client::{Client, Result, Timed};
use crate::results::{WakeResult, WakeRound};
use crate::stats::{mean, Summary};

#[derive(clap::Args, Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct WakeArgs {
    /// Rounds: one wait and one mention each.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub rounds: u32,
    /// Shortest pause between starting the wait and sending the mention (s).
    #[arg(long, default_value_t = 0.3)]
    pub min_pause: f64,
    /// Longest pause (s); pauses are uniform between the two.
    #[arg(long, default_value_t = 3.0)]
    pub max_pause: f64,
    /// The wait's `timeout` (s); a round whose wait times out is an error.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub timeout: u32,
}

/// What went wrong in a round: its kind (the key of the results'
/// `error_kinds`) and what happened.
pub type RoundError = (&'static str, String);

/// Judges a wait against the id of the message that was sent.
pub fn check_wait(call: &Timed<Waited>, sent_id: &str) -> std::result::Result<(), RoundError> {
    let ids: Vec<&str> = call
        .body
        .iter()
        .flat_map(|b| &b.messages)
        .map(|m| m.id.as_str())
        .collect();
    match call.status {
        200 if ids == [sent_id] => Ok(()),
        // Not exactly the message sent: the ids it returned.
        200 => Err(("wrong message", format!("{ids:?}"))),
        // The wait ran out without seeing the mention.
        204 => Err(("wait timed out", "204".into())),
        s => Err((
            "wait failed",
            format!("{s}: {}", call.error.clone().unwrap_or_default()),
        )),
    }
}

/// `a - b` in milliseconds, negative when `a` came first.
fn ms_after(a: Instant, b: Instant) -> f64 {
    let (later, earlier) = (
        a.saturating_duration_since(b),
        b.saturating_duration_since(a),
    );
    (later.as_secs_f64() - earlier.as_secs_f64()) * 1000.0
}

/// The step: the waiter starts a wait, the caller mentions it after a random
/// pause, and the round's record says what the wait returned and when.
async fn round(
    client: &Client,
    setup: &MentionRoom,
    args: &WakeArgs,
    content: String,
) -> Result<(WakeRound, std::result::Result<(), RoundError>)> {
    let waiter = {
        let (client, token, room) = (client.clone(), setup.waiter.clone(), setup.room.clone());
        let timeout = args.timeout;
        tokio::spawn(async move { client.wait_for(&token, &room, WAITER, timeout, true).await })
    };
    let pause = args.min_pause + fastrand::f64() * (args.max_pause - args.min_pause);
    tokio::time::sleep(Duration::from_secs_f64(pause)).await;
    let send_start = Instant::now();
    let sent = client
        .post(&setup.caller, &setup.room, None, &content, None)
        .await;
    let send_end = Instant::now();
    let mut record = WakeRound {
        pause_ms: pause * 1000.0,
        send_status: Some(sent.status),
        ..WakeRound::default()
    };
    let Some(message) = sent.body.filter(|_| sent.status == 201) else {
        // No mention went out: this wait would only time out.
        waiter.abort();
        let e = format!("{}: {}", sent.status, sent.error.unwrap_or_default());
        return Ok((record, Err(("send failed", e))));
    };
    record.send_latency_ms = Some(sent.latency_ms);
    let (call, ended) = waiter.await.map_err(|e| format!("wait task: {e}"))?;
    let checked = check_wait(&call, &message.id);
    if checked.is_ok() {
        record.wake_ms = Some(ms_after(ended, send_start));
        // Signed: the wait may answer before the send's response arrives.
        record.after_send_response_ms = Some(ms_after(ended, send_end));
    }
    record.wait_status = Some(call.status);
    record.wait_s = Some(call.latency_ms / 1000.0);
    record.queries = call.timing.map(|t| t.queries);
    record.rows_read = call.timing.map(|t| t.rows_read);
    Ok((record, checked))
}

/// The loop: `rounds` rounds, one after another.
pub async fn run(ctx: &Ctx, args: &WakeArgs) -> Result<Report> {
    let run = Run::start("wake", ctx);
    fail_if(
        !(args.min_pause >= 0.0 && args.min_pause <= args.max_pause && args.max_pause <= 60.0),
        "need 0 <= --min-pause <= --max-pause <= 60",
    )?;
    let setup = ctx.mention_room(0, "loadtest wake").await?;
    let client = ctx.measured();
    let mut rounds = Vec::new();
    let mut errors: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut sample_errors: Vec<String> = Vec::new();
    let start = Instant::now();
    for i in 0..args.rounds {
        let content = format!("@{WAITER} round {i} of run {}: your turn", ctx.run);
        let (record, outcome) = round(&client, &setup, args, content).await?;
        rounds.push(record);
        if let Err((kind, what)) = outcome {
            *errors.entry(kind).or_default() += 1;
            if sample_errors.len() < 5 {
                sample_errors.push(format!("round {i}: {kind}: {what}"));
            }
            // Let the next round start from a read cursor past everything.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let of = |f: fn(&WakeRound) -> Option<f64>| rounds.iter().filter_map(f).collect::<Vec<f64>>();
    let wake = of(|r| r.wake_ms);
    let after_response = of(|r| r.after_send_response_ms);
    let send_lat = of(|r| r.send_latency_ms);
    let queries = of(|r| r.queries.map(f64::from));
    let rows_read = of(|r| r.rows_read.map(|n| n as f64));
    let error_count: u64 = errors.values().sum();
    let ok = error_count == 0 && !wake.is_empty();
    let result = WakeResult {
        elapsed_s: elapsed,
        rounds: args.rounds,
        woken: wake.len(),
        errors: error_count,
        error_kinds: errors.into_iter().map(|(k, n)| (k.to_owned(), n)).collect(),
        sample_errors: sample_errors.clone(),
        wake_ms: Summary::of(&wake),
        wake_after_send_response_ms: Summary::of(&after_response),
        send_latency_ms: Summary::of(&send_lat),
        wait_queries_per_call: mean(&queries),
        wait_rows_read_per_call: mean(&rows_read),
        per_round: rounds,
    };
    Ok(run.report(ok, &sample_errors, args, result, &client))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(status: u16, ids: &[&str]) -> Timed<Waited> {
        let body = (status == 200).then(|| {
            serde_json::from_value::<Waited>(serde_json::json!({
                "handle": "waiter", "cursor": "x",
                "messages": ids.iter().map(|id| serde_json::json!({
                    "id": id, "room_id": "r", "sender": "caller", "sender_type": "human",
                    "color": null, "content": "@waiter", "created_at": "t",
                    "verified": true, "mentions": ["waiter"], "kind": "message"
                })).collect::<Vec<_>>()
            }))
            .unwrap()
        });
        Timed {
            status,
            latency_ms: 0.0,
            timing: None,
            body,
            error: None,
        }
    }

    #[test]
    fn a_round_needs_exactly_the_sent_message() {
        assert_eq!(check_wait(&call(200, &["m1"]), "m1"), Ok(()));
        let wrong = check_wait(&call(200, &["m0"]), "m1");
        assert_eq!(wrong, Err(("wrong message", r#"["m0"]"#.into())));
        let kind = |status, ids: &[&str]| check_wait(&call(status, ids), "m1").unwrap_err().0;
        let kinds = [kind(200, &["m0", "m1"]), kind(204, &[]), kind(401, &[])];
        assert_eq!(kinds, ["wrong message", "wait timed out", "wait failed"]);
    }
}
