//! `soak`: listeners that reconnect the way real clients do follow one room
//! for minutes while a sender alternates busy and quiet spells; optionally a
//! hook command restarts the server part-way. At the end every listener must
//! have seen every stored message exactly once, in order.

use std::time::Duration;

use meet_ai::backoff::{Attempts, Backoff};
use tokio::time::Instant;

use super::{within, Ctx, Listeners, Report, Run};
use crate::client::Result;
use crate::content::stamped;
use crate::listener::ListenerSpec;
use crate::results::{Restart, SoakResult, SoakSender};
use crate::stats::Summary;

#[derive(clap::Args, Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SoakArgs {
    #[arg(long, default_value_t = 5.0)]
    pub minutes: f64,
    /// SSE listeners on the room.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub listeners: u32,
    /// Messages per second during a busy spell.
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// Length of a busy spell.
    #[arg(long, default_value_t = 40.0)]
    pub active_seconds: f64,
    /// Length of the quiet spell after it (streams back off to idle polling).
    #[arg(long, default_value_t = 20.0)]
    pub quiet_seconds: f64,
    /// A shell command that restarts the server (same address, same state).
    #[arg(long, requires = "restart_after")]
    pub restart_hook: Option<String>,
    /// Seconds into the run at which to run the hook.
    #[arg(long, requires = "restart_hook")]
    pub restart_after: Option<f64>,
}

/// Longest the restart hook may take.
pub const HOOK_TIMEOUT: f64 = 180.0;
/// Longest wait at the end for every listener to catch up.
pub const DRAIN_SECONDS: f64 = 60.0;

/// The sender's counts so far, and the latency of each stored message.
#[derive(Default)]
struct SenderLog {
    counts: SoakSender,
    latency: Vec<f64>,
}

/// The step: one message under one Idempotency-Key, retried on failure (no
/// response, 5xx, 429) with backoff until stored or `give_up_at`.
async fn send_until_stored(
    ListenerSpec {
        client, key, room, ..
    }: &ListenerSpec,
    content: &str,
    give_up_at: Instant,
    log: &mut SenderLog,
) {
    let idem = uuid::Uuid::new_v4().to_string();
    let mut backoff = Attempts::new(Backoff::LOAD);
    let counts = &mut log.counts;
    for attempt in 0..60 {
        counts.attempts += 1;
        let r = client
            .post(key, room, Some("soak-sender"), content, Some(&idem))
            .await;
        *counts.statuses.entry(r.status_key()).or_default() += 1;
        if r.ok() {
            counts.accepted += 1;
            // Answered 200: the first attempt had been stored after all.
            if r.status == 200 && attempt > 0 {
                counts.replayed_after_retry += 1;
            }
            log.latency.push(r.latency_ms);
            return;
        }
        let retryable = r.status == 0 || r.status == 429 || r.status >= 500;
        if !retryable || Instant::now() >= give_up_at {
            counts.gave_up += 1;
            return;
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// The loop: sends with an Idempotency-Key, retrying failures (no response, 5xx, 429)
/// with backoff, so a restart neither loses nor doubles a message.
async fn sender(
    spec: ListenerSpec,
    args: SoakArgs,
    run_tag: u32,
    (start, end): (Instant, Instant),
) -> SenderLog {
    let mut log = SenderLog::default();
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let cycle = args.active_seconds + args.quiet_seconds;
    let give_up_at = end + Duration::from_secs(60);
    let mut seq = 0u64;
    let mut next = start;
    while Instant::now() < end {
        tokio::time::sleep_until(next.min(end)).await;
        let t = start.elapsed().as_secs_f64();
        if Instant::now() >= end {
            break;
        }
        let phase = if cycle > 0.0 { t % cycle } else { 0.0 };
        if phase >= args.active_seconds {
            next = Instant::now() + Duration::from_secs_f64(cycle - phase);
            continue;
        }
        next = Instant::now() + interval;
        let content = stamped(run_tag, seq);
        seq += 1;
        send_until_stored(&spec, &content, give_up_at, &mut log).await;
    }
    log
}

/// Runs the restart hook `after` seconds into the run; what it printed
/// last, and its exit code.
async fn run_hook(cmd: String, start: Instant, after: f64) -> Restart {
    tokio::time::sleep_until(start + Duration::from_secs_f64(after)).await;
    let timeout = HOOK_TIMEOUT;
    let at_s = start.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let child = tokio::process::Command::new("sh")
        .args(["-c", &cmd])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let (exit, text) = match tokio::time::timeout(Duration::from_secs_f64(timeout), child).await {
        Err(_) => (None, format!("the hook did not finish within {timeout} s")),
        Ok(Err(e)) => (None, format!("could not run the hook: {e}")),
        Ok(Ok(out)) => (
            out.status.code(),
            String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned(),
        ),
    };
    let tail = text.chars().count().saturating_sub(600);
    Restart {
        at_s,
        duration_s: t0.elapsed().as_secs_f64(),
        exit,
        output_tail: text.chars().skip(tail).collect(),
    }
}

pub async fn run(ctx: &Ctx, args: &SoakArgs) -> Result<Report> {
    let run = Run::start("soak", ctx);
    within("--minutes", args.minutes, 24.0 * 60.0)?;
    within("--rate", args.rate, 100.0)?;
    let spec = ctx.listened_room("loadtest soak").await?;
    let seconds = args.minutes * 60.0;
    let listeners = Listeners::connected(&spec, args.listeners).await?;
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let sender_task = tokio::spawn(sender(spec.clone(), args.clone(), ctx.run, (start, end)));
    let hook_task = match (&args.restart_hook, args.restart_after) {
        (Some(cmd), Some(after)) if after < seconds => {
            Some(tokio::spawn(run_hook(cmd.clone(), start, after)))
        }
        _ => None,
    };
    tokio::time::sleep_until(end).await;
    let sent = sender_task.await?;
    let hook = match hook_task {
        Some(t) => Some(t.await?),
        None => None,
    };
    let (drain, acks) = (Duration::from_secs_f64(DRAIN_SECONDS), Default::default());
    let mut notes = Vec::new();
    let wait = (drain, Duration::from_millis(500));
    let finished = listeners.finish((ctx, &spec), wait, &acks, &mut notes);
    let (history, delivery, _) = finished.await?;
    let mut ok = delivery.all_exactly_once_in_order && delivery.caught_up && !history.is_empty();
    if history.is_empty() {
        notes.push("nothing was stored: the sender never got through".to_owned());
    }
    if sent.counts.gave_up > 0 {
        let n = sent.counts.gave_up;
        notes.push(format!("the sender gave up on {n} messages"));
    }
    match (&hook, &args.restart_hook) {
        (Some(h), _) if h.exit != Some(0) => {
            ok = false;
            notes.push(format!("the restart hook failed: {}", h.output_tail.trim()));
        }
        (None, Some(_)) => {
            notes.push("--restart-after is past the end of the run: no restart".to_owned())
        }
        _ => {}
    }
    let result = SoakResult {
        stored: history.len(),
        sender: SoakSender {
            post_latency_ms: Summary::of(&sent.latency),
            ..sent.counts
        },
        restart: hook,
        delivery,
    };
    Ok(run.report(ok, &notes, args, result, &spec.client))
}
