//! `send`: N senders post as fast as they can, each with its own key and
//! room (keys made from distinct client addresses), one request in flight
//! per sender.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use protocol::wire::Message;
use tokio::time::Instant;

use super::{Ctx, Report, Run};
use crate::client::{Result, Timed};
use crate::content::stamped;
use crate::results::SendResult;
use crate::stats::{mean, tally, Summary};

#[derive(clap::Args, Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SendArgs {
    /// Concurrent senders.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub senders: u32,
    /// How long to send.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
}

/// Before sending, the same number of clients call `GET /api/health` (no
/// D1, no auth) for this long: the cost of the path itself through the
/// runtime, to set POST latency against.
pub const BASELINE_SECONDS: f64 = 2.0;

/// `n` closed loops until `deadline`, each awaiting `step(loop, seq)` one
/// call after another until it gives `None`; every sample, in no order.
async fn closed_loops<T, F>(
    n: u32,
    deadline: Instant,
    step: impl Fn(u32, u64) -> F + Clone + Send + 'static,
) -> Result<Vec<T>>
where
    F: Future<Output = Option<T>> + Send,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let step = step.clone();
            tokio::spawn(async move {
                let mut out = Vec::new();
                while Instant::now() < deadline {
                    let Some(sample) = step(i, out.len() as u64).await else {
                        break;
                    };
                    out.push(sample);
                }
                out
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    Ok(all)
}

/// The loop: N senders, closed loop, for the given time, after the health
/// baseline from as many clients.
pub async fn run(ctx: &Ctx, args: &SendArgs) -> Result<Report> {
    let run = Run::start("send", ctx);
    let mut targets = Vec::new();
    for i in 0..args.senders {
        targets.push(ctx.key_and_room(i, &format!("loadtest send {i}")).await?);
    }
    let health = {
        let client = ctx.client.clone();
        move |_, _| {
            let client = client.clone();
            async move {
                let t = client.health().await;
                (t.status == 200).then_some(t.latency_ms)
            }
        }
    };
    let baseline = Duration::from_secs_f64(BASELINE_SECONDS);
    let baseline = closed_loops(args.senders, Instant::now() + baseline, health).await?;
    let baseline = Summary::of(&baseline);
    let client = ctx.measured();
    // The step: sender `i`'s stamped POST number `seq` to its own room, and
    // what came back (the stored message itself is not kept).
    let send = {
        let (client, targets, tag) = (client.clone(), Arc::new(targets), ctx.run);
        move |i: u32, seq| {
            let (client, targets) = (client.clone(), targets.clone());
            async move {
                let (key, room) = &targets[i as usize];
                let (name, content) = (format!("sender-{i}"), stamped(tag, seq));
                let t = client.post(key, room, Some(&name), &content, None).await;
                if t.status == 0 {
                    // No server to talk to: do not spin.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Some(Timed::<Message> { body: None, ..t })
            }
        }
    };
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let samples = closed_loops(args.senders, deadline, send).await?;
    let elapsed = start.elapsed().as_secs_f64();

    let statuses = tally(samples.iter().map(Timed::status_key));
    let accepted = statuses.get("201").copied().unwrap_or(0);
    // The accepted sends' latency, D1 time and queries.
    let (mut ok_lat, mut d1, mut queries) = (vec![], vec![], vec![]);
    for s in samples.iter().filter(|s| s.status == 201) {
        ok_lat.push(s.latency_ms);
        d1.extend(s.timing.map(|x| x.dur_ms));
        queries.extend(s.timing.map(|x| f64::from(x.queries)));
    }
    let latency = Summary::of(&ok_lat);
    let d1_summary = Summary::of(&d1);
    let first_error = samples.iter().find_map(|s| s.error.clone());
    let d1_share =
        (latency.count > 0 && d1_summary.count > 0).then(|| d1_summary.mean / latency.mean);
    let result = SendResult {
        elapsed_s: elapsed,
        requests: samples.len(),
        accepted,
        accepted_per_s: accepted as f64 / elapsed,
        statuses,
        latency_ms: latency,
        d1_ms: d1_summary,
        d1_share_of_latency: d1_share,
        d1_queries_per_message: mean(&queries),
        health_baseline_ms: baseline,
        first_error,
    };
    let ok = accepted > 0;
    let notes = if ok {
        vec![]
    } else {
        vec!["no message was accepted".to_owned()]
    };
    Ok(run.report(ok, &notes, args, result, &client))
}
