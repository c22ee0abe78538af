//! `fanout`: L listeners on one room, one sender at R messages a second.
//! Delivery latency runs from the start of the send to the listener's
//! receipt; every listener is judged against the room's stored history.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::{fail_if, within, Ctx, Listeners, Report, Run};
use crate::client::{Client, Result};
use crate::content::{now_us, stamped};
use crate::listener::{self, lock, ListenerSpec, Reconnect, SharedLog, Transport};
use crate::results::FanoutResult;
use crate::stats::{tally, Summary};

#[derive(clap::Args, Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct FanoutArgs {
    #[arg(long, value_enum, default_value_t = Transport::Sse)]
    pub transport: Transport,
    /// Listeners on the room.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=2000))]
    pub listeners: u32,
    /// Messages per second from the one sender.
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// How long to send.
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// What a listener does when the server ends a stream.
    #[arg(long, value_enum, default_value_t = Reconnect::Eventsource)]
    pub reconnect: Reconnect,
}

/// Longest wait, after the last send, for every listener to catch up.
pub const DRAIN_SECONDS: f64 = 20.0;

/// Sends one unstamped message and waits until every listener has it, so
/// the timed sends measure an active room; returns each listener's latency
/// for it (a quiet room's first message, which waits for streams polling at
/// the idle interval, reported apart).
async fn warm_up(spec: &ListenerSpec, logs: &[SharedLog]) -> Result<Vec<f64>> {
    let (sent_us, sender) = (now_us(), Some("fanout-warmup"));
    let content = format!("warm-up at {sent_us}");
    let t = spec
        .client
        .post(&spec.key, &spec.room, sender, &content, None);
    let id = t.await.expect("POST warm-up message")?.id;
    let arrived = listener::wait_caught_up(logs, &id, Duration::from_secs(30)).await;
    fail_if(
        !arrived,
        "the warm-up message did not reach every listener within 30 s",
    )?;
    let latency = |l: &SharedLog| {
        let a = lock(l).arrivals.iter().find(|a| a.id == id)?.recv_us;
        Some((a - sent_us) as f64 / 1000.0)
    };
    Ok(logs.iter().filter_map(latency).collect())
}

/// The sender's record of one send.
pub struct Sent {
    pub seq: u64,
    pub status: String,
    pub latency_ms: f64,
    /// When the response arrived (µs since the epoch).
    pub acked_us: i64,
    /// The Worker's D1 time for it, from Server-Timing.
    pub d1_ms: Option<f64>,
}

/// The step: one stamped send (`tag`: the run and the sequence number), and
/// when it was answered.
pub async fn send_one(client: &Client, key: &str, room: &str, (run, seq): (u32, u64)) -> Sent {
    let content = stamped(run, seq);
    let t = client
        .post(key, room, Some("fanout-sender"), &content, None)
        .await;
    Sent {
        seq,
        status: t.status_key(),
        latency_ms: t.latency_ms,
        acked_us: now_us(),
        d1_ms: t.timing.map(|x| x.dur_ms),
    }
}

/// The loop: this run's (`run_tag`) sends at `args.rate` for `args.seconds`,
/// open loop: each send starts on its tick whether or not the previous one
/// has finished (at most 64 in flight).
pub async fn send_at_rate(spec: &ListenerSpec, args: &FanoutArgs, run_tag: u32) -> Vec<Sent> {
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let count = (args.rate * args.seconds).round().max(1.0) as u64;
    let start = Instant::now();
    let permits = Arc::new(Semaphore::new(64));
    let mut tasks = Vec::with_capacity(count as usize);
    for seq in 0..count {
        tokio::time::sleep_until(start + interval.mul_f64(seq as f64)).await;
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let spec = spec.clone();
        tasks.push(tokio::spawn(async move {
            let sent = send_one(&spec.client, &spec.key, &spec.room, (run_tag, seq)).await;
            drop(permit);
            sent
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        if let Ok(s) = t.await {
            out.push(s);
        }
    }
    out
}

pub async fn run(ctx: &Ctx, args: &FanoutArgs) -> Result<Report> {
    let run = Run::start("fanout", ctx);
    within("--rate", args.rate, 1000.0)?;
    let spec = ListenerSpec {
        transport: args.transport,
        reconnect: args.reconnect,
        ..ctx.listened_room("loadtest fanout").await?
    };
    let listeners = Listeners::connected(&spec, args.listeners).await?;
    let warmup = warm_up(&spec, &listeners.logs).await?;
    let sent = send_at_rate(&spec, args, ctx.run).await;
    let acks = sent
        .iter()
        .filter(|s| s.status == "201")
        .map(|s| (s.seq, s.acked_us))
        .collect();
    let mut notes = Vec::new();
    let wait = (
        Duration::from_secs_f64(DRAIN_SECONDS),
        Duration::from_millis(300),
    );
    let finished = listeners.finish((ctx, &spec), wait, &acks, &mut notes);
    let (history, delivery, after_ack) = finished.await?;
    let client = &spec.client;
    // The room object's own account of the pushes (paid variant).
    let object = match args.transport {
        Transport::Ws => meet_ai::ws::push_stats(&client.streams(&spec.key), &spec.room).await,
        Transport::Sse => None,
    };

    let statuses = tally(sent.iter().map(|s| s.status.clone()));
    let post_latency = Summary::of(&sent.iter().map(|s| s.latency_ms).collect::<Vec<_>>());
    let ok = delivery.all_exactly_once_in_order && delivery.caught_up;
    let accepted = statuses.get("201").copied().unwrap_or(0);
    if accepted as usize + 1 != history.len() {
        notes.push(format!(
            "{accepted} sends (and 1 warm-up) accepted but the history holds {} messages",
            history.len()
        ));
    }
    let result = FanoutResult {
        sent: sent.len(),
        warmup_messages: 1,
        send_statuses: statuses,
        post_latency_ms: post_latency,
        stored: history.len(),
        warmup_delivery_ms: Summary::of(&warmup),
        delivery_after_ack_ms: Summary::of(&after_ack),
        post_d1_ms: Summary::of(&sent.iter().filter_map(|s| s.d1_ms).collect::<Vec<_>>()),
        delivery,
        object,
    };
    Ok(run.report(ok, &notes, args, result, client))
}
