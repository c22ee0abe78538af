//! `send`: N senders post as fast as they can, each with its own key and
//! room (keys made from distinct client addresses), one request in flight
//! per sender.

use std::time::Duration;

use protocol::wire::Message;
use tokio::time::Instant;

use super::{Ctx, Report};
use crate::client::{client_ip, Result, Timed};
use crate::content::stamped;
use crate::output::Run;
use crate::results::SendResult;
use crate::stats::{mean, tally, Summary};

/// Also the run's `params` in its result (crate::results).
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

/// Latencies of closed-loop `GET /api/health` calls from `clients` tasks.
async fn health_baseline(client: &crate::client::Client, clients: u32, seconds: f64) -> Vec<f64> {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            while Instant::now() < deadline && out.len() < 100_000 {
                let t: crate::client::Timed<serde_json::Value> = client
                    .timed(client.http.get(client.url("/api/health")))
                    .await;
                if t.status != 200 {
                    break;
                }
                out.push(t.latency_ms);
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        if let Ok(v) = t.await {
            all.extend(v);
        }
    }
    all
}

/// One sender: its own key and room.
struct Sender {
    client: crate::client::Client,
    key: String,
    room: String,
    name: String,
    tag: u32,
}

impl Sender {
    /// The step: one stamped POST, and what came back (the stored message
    /// itself is not kept).
    async fn send_one(&self, seq: u64) -> Timed<Message> {
        let content = stamped(self.tag, seq);
        let t = self
            .client
            .post_message(&self.key, &self.room, &self.name, &content, None)
            .await;
        Timed { body: None, ..t }
    }
}

/// The loop: N senders, closed loop, for the given time.
pub async fn run(ctx: &Ctx, args: &SendArgs) -> Result<Report> {
    let run = Run::start("send", ctx);
    let mut targets = Vec::new();
    for i in 0..args.senders {
        let key = ctx.client.create_key(&client_ip(ctx.run, i)).await?;
        let room = ctx
            .client
            .create_room(&key, &format!("loadtest send {i}"))
            .await?;
        targets.push((key, room.id));
    }
    let baseline = health_baseline(&ctx.client, args.senders, BASELINE_SECONDS).await;
    let baseline = Summary::of(&baseline);
    let client = ctx.measured();
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let mut tasks = Vec::new();
    for (i, (key, room)) in targets.into_iter().enumerate() {
        let sender = Sender {
            client: client.clone(),
            key,
            room,
            name: format!("sender-{i}"),
            tag: ctx.run,
        };
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut seq = 0u64;
            while Instant::now() < deadline {
                let sample = sender.send_one(seq).await;
                seq += 1;
                if sample.status == 0 {
                    // No server to talk to: do not spin.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                samples.push(sample);
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await?);
    }
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
