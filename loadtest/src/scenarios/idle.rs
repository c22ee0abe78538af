//! `idle`: what an SSE listener on a quiet room costs. Each stream polls D1
//! on the idle schedule until its poll budget ends it (`: bye queries=N`),
//! then the listener reconnects as EventSource does. From the completed
//! streams: requests (reconnects) per hour and D1 queries per second.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::{stream_stats, within, Ctx, Report};
use crate::client::{client_ip, Result};
use crate::listener::{self, lock, ListenerSpec, Reconnect, StreamEnd, Transport};
use crate::output::{progress, Run};
use crate::results::IdleResult;

/// Also the run's `params` in its result (crate::results).
#[derive(clap::Args, Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct IdleArgs {
    /// How long to listen. A stream on an idle room lasts about 172 s with
    /// the default poll settings, so a few minutes see a complete cycle.
    #[arg(long, default_value_t = 400.0)]
    pub seconds: f64,
    /// Listeners, each on its own quiet room.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub listeners: u32,
}

/// A completed stream's goodbye: (queries, rows read).
pub type Bye = (u32, u64);

/// Cost of an idle listener, from its connections' records:
/// `(cycles, mean_cycle_s, mean_queries_per_completed_stream,
/// mean_rows_read_per_completed_stream)`. A cycle runs from one connection's
/// start to the next one's; only connections the server ended with a goodbye
/// count.
pub fn idle_cost(streams: &[(i64, Option<Bye>)]) -> Option<(usize, f64, f64, f64)> {
    let mut cycles = Vec::new();
    let mut queries = Vec::new();
    let mut rows = Vec::new();
    for w in streams.windows(2) {
        let (open, bye) = w[0];
        let (next_open, _) = w[1];
        if let Some((q, r)) = bye {
            cycles.push((next_open - open) as f64 / 1e6);
            queries.push(f64::from(q));
            rows.push(r as f64);
        }
    }
    if cycles.is_empty() {
        return None;
    }
    let n = cycles.len() as f64;
    Some((
        cycles.len(),
        cycles.iter().sum::<f64>() / n,
        queries.iter().sum::<f64>() / n,
        rows.iter().sum::<f64>() / n,
    ))
}

/// One listener's streams as [`idle_cost`] reads them: when each opened,
/// and the goodbye's queries and rows read if it ended on one.
fn cycles_of(l: &listener::ListenerLog) -> Vec<(i64, Option<Bye>)> {
    l.streams
        .iter()
        .map(|s| {
            let bye = match s.end {
                StreamEnd::Bye(_) => s.bye_queries.map(|q| (q, s.bye_rows_read.unwrap_or(0))),
                _ => None,
            };
            (s.opened_us, bye)
        })
        .collect()
}

/// The loop: listeners on quiet rooms for the given time; each one's
/// streams are then costed by [`idle_cost`].
pub async fn run(ctx: &Ctx, args: &IdleArgs) -> Result<Report> {
    let run = Run::start("idle", &ctx.url, &ctx.runner);
    within("--seconds", args.seconds, 86_400.0)?;
    let client = ctx.measured();
    let (stop_tx, stop_rx) = watch::channel(false);
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let mut logs = Vec::new();
    let mut handles = Vec::new();
    for i in 0..args.listeners {
        let key = ctx.client.create_key(&client_ip(ctx.run, i)).await?;
        let room = ctx.client.create_room(&key, "loadtest idle").await?.id;
        let spec = ListenerSpec {
            client: client.clone(),
            key,
            room,
            transport: Transport::Sse,
            reconnect: Reconnect::Eventsource,
        };
        let (log, h) = listener::spawn(spec, stop_rx.clone(), deadline);
        logs.push(log);
        handles.push(h);
    }
    let start = Instant::now();
    let bar = progress(args.seconds.ceil() as u64, "idle");
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        bar.set_position(start.elapsed().as_secs());
    }
    let _ = stop_tx.send(true);
    for h in handles {
        let _ = h.await;
    }
    bar.finish_and_clear();
    let elapsed = start.elapsed().as_secs_f64();

    let mut all_cycles = 0usize;
    let mut cycle_sum = 0.0;
    let mut query_sum = 0.0;
    let mut rows_sum = 0.0;
    let mut errors = 0;
    let mut messages = 0;
    for log in &logs {
        let l = lock(log);
        errors += l.errors();
        messages += l.arrivals.len();
        if let Some((n, cycle, queries, rows)) = idle_cost(&cycles_of(&l)) {
            all_cycles += n;
            cycle_sum += cycle * n as f64;
            query_sum += queries * n as f64;
            rows_sum += rows * n as f64;
        }
    }
    let (cycle_s, queries_per_stream, rows_per_stream) = if all_cycles > 0 {
        (
            Some(cycle_sum / all_cycles as f64),
            Some(query_sum / all_cycles as f64),
            Some(rows_sum / all_cycles as f64),
        )
    } else {
        (None, None, None)
    };
    let requests_per_hour = cycle_s.map(|c| 3600.0 / c);
    let rows_read_per_hour = match (cycle_s, rows_per_stream) {
        (Some(c), Some(r)) => Some(r * 3600.0 / c),
        _ => None,
    };
    let queries_per_s = match (cycle_s, queries_per_stream) {
        (Some(c), Some(q)) => Some(q / c),
        _ => None,
    };
    let streams = stream_stats(&logs);
    let ok = all_cycles > 0 && errors == 0;
    let mut notes = Vec::new();
    if all_cycles == 0 {
        notes.push(format!(
            "no stream completed a cycle in {} s: listen longer",
            args.seconds
        ));
    }
    if errors > 0 {
        notes.push(format!("{errors} connections failed"));
    }
    if messages > 0 {
        notes.push(format!(
            "{messages} messages arrived in a room meant to be quiet"
        ));
    }
    let result = IdleResult {
        elapsed_s: elapsed,
        complete_cycles: all_cycles,
        mean_cycle_s: cycle_s,
        queries_per_stream,
        requests_per_hour,
        d1_queries_per_s: queries_per_s,
        rows_read_per_stream: rows_per_stream,
        rows_read_per_hour,
        streams,
    };
    Ok(run.report(ok, &notes, args, result, &client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_run_from_open_to_next_open_for_completed_streams() {
        // Streams opened at 0, 80 s and 160 s; the first two ended with a
        // goodbye (42 and 40 queries, 50 and 60 rows), the last is still open.
        let s = [
            (0, Some((42, 50))),
            (80_000_000, Some((40, 60))),
            (160_000_000, None),
        ];
        let (n, cycle, q, r) = idle_cost(&s).unwrap();
        assert_eq!(n, 2);
        assert!((cycle - 80.0).abs() < 1e-9);
        assert!((q - 41.0).abs() < 1e-9);
        assert!((r - 55.0).abs() < 1e-9);
    }

    #[test]
    fn errors_and_open_streams_are_not_cycles() {
        assert_eq!(idle_cost(&[(0, None), (5_000_000, None)]), None);
        assert_eq!(idle_cost(&[(0, Some((40, 50)))]), None);
    }
}
