//! `idle`: what an SSE listener on a quiet room costs. Each stream polls D1
//! on the idle schedule until its poll budget ends it (`: bye queries=N`),
//! then the listener reconnects as EventSource does. From the completed
//! streams: requests (reconnects) per hour and D1 queries per second.

use std::time::Duration;

use tokio::time::Instant;

use super::{stream_stats, within, Ctx, Listeners, Report, Run};
use crate::client::Result;
use crate::listener::{self, lock, StreamEnd};
use crate::results::IdleResult;
use crate::stats::mean;

#[derive(clap::Args, Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct IdleArgs {
    /// How long to listen. A stream on an idle room lasts about 172 s with
    /// the default poll settings, so a few minutes see a complete cycle.
    #[arg(long, default_value_t = 400.0)]
    pub seconds: f64,
}

/// The complete cycles of one listener's streams, as (seconds, queries, rows
/// read): a cycle runs from one connection's start to the next one's, and
/// only connections the server ended with a goodbye count.
pub fn cycles_of(l: &listener::ListenerLog) -> Vec<(f64, f64, f64)> {
    l.streams
        .windows(2)
        .filter_map(|w| {
            let StreamEnd::Bye(bye) = &w[0].end else {
                return None;
            };
            let seconds = (w[1].opened_us - w[0].opened_us) as f64 / 1e6;
            Some((seconds, f64::from(bye.queries), bye.rows_read as f64))
        })
        .collect()
}

/// The loop: one listener on a quiet room for the given time; its streams
/// are then costed by [`cycles_of`].
pub async fn run(ctx: &Ctx, args: &IdleArgs) -> Result<Report> {
    let run = Run::start("idle", ctx);
    within("--seconds", args.seconds, 86_400.0)?;
    let spec = ctx.listened_room("loadtest idle").await?;
    let mut listeners = Listeners::spawn(&spec, 1);
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    listeners.stop().await;
    let logs = &listeners.logs;
    let elapsed = start.elapsed().as_secs_f64();

    let (mut cycles, mut errors, mut messages) = (Vec::new(), 0, 0);
    for log in logs {
        let l = lock(log);
        errors += l.errors();
        messages += l.arrivals.len();
        cycles.extend(cycles_of(&l));
    }
    let all_cycles = cycles.len();
    let col = |f: fn(&(f64, f64, f64)) -> f64| mean(&cycles.iter().map(f).collect::<Vec<_>>());
    let (cycle_s, queries_per_stream, rows_per_stream) = (col(|c| c.0), col(|c| c.1), col(|c| c.2));
    let per_s = |x: Option<f64>| Some(x? / cycle_s?);
    let streams = stream_stats(logs);
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
        requests_per_hour: per_s(Some(3600.0)),
        d1_queries_per_s: per_s(queries_per_stream),
        rows_read_per_stream: rows_per_stream,
        rows_read_per_hour: per_s(rows_per_stream).map(|r| r * 3600.0),
        streams,
    };
    Ok(run.report(ok, &notes, args, result, &spec.client))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::{ListenerLog, StreamRecord};

    #[test]
    fn a_cycle_runs_from_a_goodbye_stream_to_the_next_open() {
        // Streams opened at 0, 80 s, 160 s and 170 s: the first two ended with
        // a goodbye (42 and 40 queries, 50 rows and none), the third with an
        // error, the last is still open.
        let stream = |at: i64, end: StreamEnd| StreamRecord {
            opened_us: at * 1_000_000,
            end,
            ..Default::default()
        };
        let bye = |queries, rows_read| {
            let reason = protocol::sse::ByeReason::Budget;
            StreamEnd::Bye(protocol::sse::Bye {
                queries,
                rows_read,
                reason,
            })
        };
        let log = ListenerLog {
            streams: vec![
                stream(0, bye(42, 50)),
                stream(80, bye(40, 0)),
                stream(160, StreamEnd::Error("x".into())),
                stream(170, StreamEnd::Open),
            ],
            ..Default::default()
        };
        assert_eq!(cycles_of(&log), vec![(80.0, 42.0, 50.0), (80.0, 40.0, 0.0)]);
    }
}
