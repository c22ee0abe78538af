//! The scenarios. Each separates its step (one send, one page, one wait,
//! one round) from the loop that runs it, and returns a [`Report`]: the one
//! JSON object it prints (its arguments, the clap struct that is also its
//! `params`, and its typed result, crate::results) and whether its
//! assertions held. The helpers here are what several
//! scenarios share: spawning and draining listeners, stream statistics,
//! argument checks, and the start and end of a run ([`Run`]).

pub mod fanout;
pub mod history;
pub mod idle;
pub mod send;
pub mod soak;
pub mod waiting;
pub mod wake;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use meet_ai::backoff::Backoff;
use meet_ai::client::with_retries;
use serde::Serialize;
use serde_json::Value;
use tokio::task::JoinHandle;

use protocol::wire::Role;

use crate::client::{client_ip, Client, Result};
use crate::delivery::check;
use crate::listener::{
    lock, ListenerSpec, Reconnect, SharedLog, StreamEnd, StreamRecord, Transport,
};
use crate::results::{Delivery, Envelope, ListenerResult, LoadAvg, Streams};
use crate::stats::{median, tally, Summary};

/// What every scenario gets.
#[derive(Clone)]
pub struct Ctx {
    pub client: Client,
    /// Which server runner is being measured (reported in every result).
    pub runner: String,
    /// This run's tag, in message content, seeded ids and client addresses.
    pub run: u32,
}

impl Ctx {
    /// The same target with a fresh cost tally, so a measurement phase does
    /// not count its setup.
    pub fn measured(&self) -> Client {
        let mut c = self.client.clone();
        c.cost = Default::default();
        c
    }

    /// A new key, as from the run's `n`th client address, and a room of it.
    pub async fn key_and_room(&self, n: u32, name: &str) -> Result<(String, String)> {
        let key = self.client.create_key(&client_ip(self.run, n)).await?;
        let room = self.client.create_room(&key, name).await?.id;
        Ok((key, room))
    }

    /// The room of a mention scenario, from the run's `n`th client address.
    pub async fn mention_room(&self, n: u32, name: &str) -> Result<MentionRoom> {
        let (key, room) = self.key_and_room(n, name).await?;
        // Setup, not measured: straight through the library.
        let owner = self.client.api(&key);
        let waiter = owner.invite(&room, WAITER, Role::Agent).await?.value.token;
        let caller = owner.invite(&room, CALLER, Role::Human).await?.value.token;
        Ok(MentionRoom {
            room,
            waiter,
            caller,
        })
    }

    /// A new room for listeners to follow through the [measured](Ctx::measured)
    /// client, over SSE reconnecting as EventSource does.
    pub async fn listened_room(&self, name: &str) -> Result<ListenerSpec> {
        let (key, room) = self.key_and_room(0, name).await?;
        Ok(ListenerSpec {
            client: self.measured(),
            key,
            room,
            transport: Transport::Sse,
            reconnect: Reconnect::Eventsource,
        })
    }
}

/// The one room every mention scenario uses: an owner key, a room, an agent
/// `waiter` and a human `caller`, with their tokens.
pub struct MentionRoom {
    pub room: String,
    pub waiter: String,
    pub caller: String,
}

pub const WAITER: &str = "waiter";
pub const CALLER: &str = "caller";

pub struct Report {
    pub json: Value,
    pub ok: bool,
}

/// The 1, 5 and 15 minute load averages (Linux), or `None` elsewhere.
pub fn loadavg() -> Option<[f64; 3]> {
    parse_loadavg(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

pub fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut it = text.split_whitespace().map(|s| s.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// A scenario's run so far: what its envelope (crate::results) says
/// besides its params and result.
pub struct Run {
    pub scenario: &'static str,
    pub url: String,
    pub runner: String,
    pub started_unix: f64,
    pub load_start: Option<[f64; 3]>,
}

fn unix_now() -> f64 {
    crate::content::now_us() as f64 / 1e6
}

impl Run {
    pub fn start(scenario: &'static str, ctx: &Ctx) -> Run {
        Run {
            scenario,
            url: ctx.client.base.as_str().trim_end_matches('/').to_owned(),
            runner: ctx.runner.clone(),
            started_unix: unix_now(),
            load_start: loadavg(),
        }
    }

    /// A scenario's end: the one JSON object it prints, its typed params and
    /// result in the common envelope with what the measured client's
    /// requests cost.
    pub fn report<P: Serialize, R: Serialize>(
        &self,
        ok: bool,
        notes: &[String],
        params: P,
        result: R,
        client: &Client,
    ) -> Report {
        let envelope = Envelope {
            scenario: self.scenario.to_owned(),
            ok,
            url: self.url.clone(),
            runner: self.runner.clone(),
            started_unix: self.started_unix.floor(),
            duration_s: ((unix_now() - self.started_unix) * 10.0).round() / 10.0,
            load_avg: LoadAvg {
                start: self.load_start,
                end: loadavg(),
            },
            params,
            result,
            cost: client.cost.totals(),
            notes: notes.to_vec(),
        };
        let json = serde_json::to_value(envelope).unwrap_or_default();
        Report { json, ok }
    }
}

/// Ends the run with `why` when `bad`: arguments out of range, or a setup
/// step that did not come right.
pub fn fail_if(bad: bool, why: &str) -> Result<()> {
    match bad {
        true => Err(why.into()),
        false => Ok(()),
    }
}

/// Refuses `value` of option `name` unless it is in (0, max].
pub fn within(name: &str, value: f64, max: f64) -> Result<()> {
    let why = format!("{name} must be in (0, {max}]");
    fail_if(!(value > 0.0 && value <= max), &why)
}

/// A set of running listeners.
pub struct Listeners {
    pub logs: Vec<SharedLog>,
    handles: Vec<JoinHandle<()>>,
}

impl Listeners {
    /// `n` listeners on `spec`'s room.
    pub fn spawn(spec: &ListenerSpec, n: u32) -> Listeners {
        let (logs, handles) = (0..n).map(|_| crate::listener::spawn(spec.clone())).unzip();
        Listeners { logs, handles }
    }

    /// `n` listeners on `spec`'s room, all connected: the room is empty, so
    /// a stream opened before the first send sees every message. An error
    /// (and every listener stopped) unless all connect within 60 s; sooner
    /// when one gives up (a deployment without WebSockets refuses the socket
    /// with a 404 that says so).
    pub async fn connected(spec: &ListenerSpec, n: u32) -> Result<Listeners> {
        let mut l = Listeners::spawn(spec, n);
        crate::listener::wait_settled(&l.logs, Duration::from_secs(60)).await;
        let open = l.logs.iter().filter(|x| lock(x).connected()).count();
        if open == l.logs.len() {
            return Ok(l);
        }
        l.stop().await;
        // Why: a listener that gave up (a refusal), or a sample error.
        let errors = stream_stats(&l.logs).sample_errors;
        let timeout = || format!("not within 60 s {}", errors.join("; "));
        let why = l.logs.iter().find_map(|x| lock(x).fatal.clone());
        let why = why.unwrap_or_else(timeout);
        Err(format!("only {open} of {n} listeners connected: {why}").into())
    }

    /// Stops every listener and waits for them to finish; a stream still
    /// open ends as stopped.
    pub async fn stop(&mut self) {
        for h in std::mem::take(&mut self.handles) {
            h.abort();
            let _ = h.await;
        }
        for log in &self.logs {
            let mut l = lock(log);
            if let Some(s) = l.streams.last_mut().filter(|s| s.end == StreamEnd::Open) {
                s.end = StreamEnd::Stopped;
            }
        }
    }

    /// After the last send: reads the room's whole history, what every
    /// listener must have seen (transient failures are retried: after the
    /// soak's restart the server may still be settling); waits (up to
    /// `drain`) until every listener has its last message and `settle` more,
    /// so a late duplicate would still be seen (a note says so when one
    /// had not); then stops them and [judges](judge) them against it. The
    /// history's ids, and the judgement.
    pub async fn finish(
        mut self,
        (ctx, spec): (&Ctx, &ListenerSpec),
        (drain, settle): (Duration, Duration),
        acks: &HashMap<u64, i64>,
        notes: &mut Vec<String>,
    ) -> Result<(Vec<String>, Delivery, Vec<f64>)> {
        let api = ctx.client.api(&spec.key);
        let whole = || api.whole_history(&spec.room, 1_000_000);
        let all = with_retries(4, Backoff::LISTEN, whole, |_, _, _| {}).await?;
        let history: Vec<String> = all.into_iter().map(|m| m.id).collect();
        let caught_up = match history.last() {
            Some(last) => crate::listener::wait_caught_up(&self.logs, last, drain).await,
            None => true,
        };
        if !caught_up {
            let drain = drain.as_secs();
            notes.push(format!(
                "not every listener had the last message {drain} s after the last send"
            ));
        }
        tokio::time::sleep(settle).await;
        self.stop().await;
        let (delivery, after_ack) = judge(&self.logs, &history, ctx.run, acks, caught_up);
        Ok((history, delivery, after_ack))
    }
}

/// Judges every listener against the room's `history` and collects the
/// latency of each first arrival of this run's stamped messages. Also
/// returns receipt minus the sender's response (`acks`: sequence number to
/// µs) for messages sent while the listener was connected: the push or poll
/// part alone, negative when the message arrived before the sender heard back.
pub fn judge(
    logs: &[SharedLog],
    history: &[String],
    run_tag: u32,
    acks: &HashMap<u64, i64>,
    caught_up: bool,
) -> (Delivery, Vec<f64>) {
    let mut d = Delivery {
        all_exactly_once_in_order: true,
        caught_up,
        streams: stream_stats(logs),
        ..Default::default()
    };
    let (mut latency, mut connected, mut across) = (Vec::new(), Vec::new(), Vec::new());
    let mut after_ack = Vec::new();
    for (i, log) in logs.iter().enumerate() {
        let l = lock(log);
        let c = check(history, &l.ids());
        d.all_exactly_once_in_order &= c.exactly_once_in_order() && l.fatal.is_none();
        d.totals.add(&c);
        let mut seen = HashSet::new();
        for a in &l.arrivals {
            let Some(stamp) = a.stamp.filter(|s| s.run == run_tag) else {
                continue;
            };
            if !seen.insert(a.id.as_str()) {
                continue;
            }
            // From the start of the send.
            let ms = (a.recv_us - stamp.sent_us) as f64 / 1000.0;
            latency.push(ms);
            if a.across_reconnect {
                across.push(ms);
                continue;
            }
            connected.push(ms);
            if let Some(&acked) = acks.get(&stamp.seq) {
                after_ack.push((a.recv_us - acked) as f64 / 1000.0);
            }
        }
        d.listeners.push(ListenerResult {
            listener: i,
            check: c,
            connections: l.streams.len(),
            errors: l.errors(),
            fatal: l.fatal.clone(),
        });
    }
    d.delivery_ms = Summary::of(&latency);
    d.delivery_connected_ms = Summary::of(&connected);
    d.delivery_across_reconnect_ms = Summary::of(&across);
    (d, after_ack)
}

/// Connections made by a set of listeners and how they ended, with the D1
/// queries their goodbye comments reported.
pub fn stream_stats(logs: &[SharedLog]) -> Streams {
    let all: Vec<StreamRecord> = logs.iter().flat_map(|l| lock(l).streams.clone()).collect();
    // Streams that ended with a goodbye saying how many queries they made,
    // and the `retry:` hint in force then.
    let byes: Vec<(u64, Option<u64>)> = all
        .iter()
        .filter_map(|s| match &s.end {
            StreamEnd::Bye(bye) => Some((u64::from(bye.queries), s.retry_ms)),
            _ => None,
        })
        .collect();
    let mut sample_errors: Vec<String> = Vec::new();
    for e in all.iter().filter_map(|s| s.end.error()) {
        if sample_errors.len() < 5 && !sample_errors.contains(e) {
            sample_errors.push(e.clone());
        }
    }
    let retries: Vec<f64> = byes.iter().filter_map(|b| Some(b.1? as f64)).collect();
    Streams {
        connections: all.len(),
        ends: tally(all.iter().map(|s| s.end.label())),
        completed_streams: byes.len(),
        queries_in_completed_streams: byes.iter().map(|b| b.0).sum(),
        retry_after_bye_ms: median(&retries),
        sample_errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_loadavg() {
        assert_eq!(
            parse_loadavg("0.52 1.03 0.99 2/345 6789\n"),
            Some([0.52, 1.03, 0.99])
        );
        assert_eq!(parse_loadavg("garbage"), None);
    }
}
