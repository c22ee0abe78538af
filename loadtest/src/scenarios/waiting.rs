//! `waiting`: what an agent waiting around the clock costs. On a quiet room
//! the agent `waiter` calls `GET …/wait?for=waiter&timeout=50&ack=1` back to
//! back; each call polls D1 on the idle schedule and ends in a 204 whose
//! Server-Timing reports all its queries and rows. From those: requests per
//! hour, D1 queries per second, rows read per hour, and how many such agents
//! the free plan's daily allowances carry.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::{within, Ctx, Report, Run, WAITER};
use protocol::wire::Waited;

use crate::client::{Result, Timed};
use crate::results::WaitingResult;

/// Workers free plan: requests per day.
pub const FREE_REQUESTS_PER_DAY: f64 = 100_000.0;
/// D1 free plan: rows read per day.
pub const FREE_ROWS_READ_PER_DAY: f64 = 5_000_000.0;

#[derive(clap::Args, Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct WaitingArgs {
    /// How long to keep starting waits (the last one runs to its timeout).
    #[arg(long, default_value_t = 120.0)]
    pub seconds: f64,
    /// Each wait's `timeout` (s; the server's maximum is 50).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub timeout: u32,
    /// Messages the room holds, all read: the caller posts them first (the
    /// last mentions the waiter) and one wait with `ack=1` takes them in
    /// before measuring, so the waiter is caught up in a room this big.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub history: u32,
}

/// Agents waiting around the clock that the free plan carries: the smaller
/// of the request and the rows-read allowance divided by one agent's day.
pub fn free_plan_agents(requests_per_hour: f64, rows_read_per_hour: f64) -> Option<f64> {
    let by_requests =
        (requests_per_hour > 0.0).then(|| FREE_REQUESTS_PER_DAY / (requests_per_hour * 24.0));
    let by_rows =
        (rows_read_per_hour > 0.0).then(|| FREE_ROWS_READ_PER_DAY / (rows_read_per_hour * 24.0));
    match (by_requests, by_rows) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What the waits so far added up to, besides their D1 cost (which the
/// measured client's cost tally holds: it makes no other call).
#[derive(Default)]
struct Tally {
    statuses: BTreeMap<String, u64>,
    /// Seconds of each call that ended in a 204.
    call_s: Vec<f64>,
    errors: Vec<String>,
}

impl Tally {
    /// The step's record: one wait call. False when it did not end in the
    /// expected 204 (the loop then pauses before the next).
    fn record(&mut self, call: Timed<Waited>) -> bool {
        *self.statuses.entry(call.status_key()).or_default() += 1;
        if call.status == 204 {
            self.call_s.push(call.latency_ms / 1000.0);
            return true;
        }
        if self.errors.len() < 5 {
            let why = call
                .error
                .unwrap_or_else(|| "a message in a quiet room".into());
            self.errors.push(format!("{}: {why}", call.status));
        }
        false
    }
}

/// The loop: back-to-back waits for the given time.
pub async fn run(ctx: &Ctx, args: &WaitingArgs) -> Result<Report> {
    let run = Run::start("waiting", ctx);
    within("--seconds", args.seconds, 86_400.0)?;
    let setup = ctx.mention_room(1, "loadtest waiting").await?;
    for i in 0..args.history {
        let content = if i + 1 == args.history {
            format!("@{WAITER} that was the history")
        } else {
            format!("history {i}: nothing for the agent")
        };
        let t = ctx
            .client
            .post(&setup.caller, &setup.room, None, &content, None)
            .await;
        t.expect("POST a history message")?;
    }
    if args.history > 0 {
        let (caught_up, _) = ctx
            .client
            .wait_for(&setup.waiter, &setup.room, WAITER, 5, true)
            .await;
        caught_up.expect("the waiter's first wait (to read the history)")?;
    }
    let client = ctx.measured();
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let mut tally = Tally::default();
    let mut last_end = start;
    while Instant::now() < deadline {
        let (call, ended) = client
            .wait_for(&setup.waiter, &setup.room, WAITER, args.timeout, true)
            .await;
        last_end = ended;
        if !tally.record(call) {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    // Back to back: the calls cover the run, from the first start to the last end.
    let elapsed = (last_end - start).as_secs_f64();
    let cost = client.cost.totals();
    let (calls, timed) = (tally.statuses.values().sum(), cost.timed_responses);
    let per_hour = |n: u64| (elapsed > 0.0).then(|| n as f64 / elapsed * 3600.0);
    let (requests_per_hour, rows_per_hour) = (per_hour(calls), per_hour(cost.d1_rows_read));
    let ok_calls = tally.statuses.get("204").copied().unwrap_or(0);
    let error_count = calls - ok_calls;
    let mean = |v: u64| (timed > 0).then(|| v as f64 / timed as f64);
    let mut notes = tally.errors.clone();
    let result = WaitingResult {
        elapsed_s: elapsed,
        calls,
        statuses: tally.statuses,
        errors: error_count,
        sample_errors: tally.errors,
        timed_responses: timed,
        mean_call_s: crate::stats::mean(&tally.call_s),
        queries_per_call: mean(cost.d1_queries),
        rows_read_per_call: mean(cost.d1_rows_read),
        requests_per_hour,
        d1_queries_per_s: (elapsed > 0.0).then(|| cost.d1_queries as f64 / elapsed),
        rows_read_per_hour: rows_per_hour,
        rows_written_per_hour: per_hour(cost.d1_rows_written),
        free_plan_agents: requests_per_hour
            .zip(rows_per_hour)
            .and_then(|(r, w)| free_plan_agents(r, w)),
    };
    let ok = error_count == 0 && ok_calls > 0 && timed == calls;
    if timed < calls {
        notes.push(format!(
            "{} of {calls} responses had no Server-Timing d1 entry",
            calls - timed
        ));
    }
    Ok(run.report(ok, &notes, args, result, &client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_free_plan_is_bound_by_the_scarcer_allowance() {
        // 72 requests/h: 100000 / 1728 = 57.9 agents; 2000 rows/h: 104 agents.
        let a = free_plan_agents(72.0, 2000.0).unwrap();
        assert!((a - 100_000.0 / (72.0 * 24.0)).abs() < 1e-9);
        // Rows the scarcer: 72 requests/h, 100000 rows/h -> 2.08 agents.
        let b = free_plan_agents(72.0, 100_000.0).unwrap();
        assert!((b - 5_000_000.0 / (100_000.0 * 24.0)).abs() < 1e-9);
        // No rows read reported: requests alone.
        let c = free_plan_agents(72.0, 0.0).unwrap();
        assert!((c - 100_000.0 / (72.0 * 24.0)).abs() < 1e-9);
        assert_eq!(free_plan_agents(0.0, 0.0), None);
    }
}
