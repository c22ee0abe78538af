//! What every scenario prints and the report reads back: one serde type per
//! scenario's result, inside the common [`Envelope`] beside its parameters
//! (the scenario's clap arguments; report/ names each pair, e.g.
//! `SendRun`). The same types are written (scenarios/*.rs) and read
//! (report/), so a field renamed on one side is a compile error on the
//! other. This module names no scenario, so that they all import it and
//! nothing here imports them back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::client::CostTotals;
use crate::stats::Summary;

/// What the measured phase cost the server, from its responses.
pub type Cost = CostTotals;

/// Responses by status ("201", "429", "error", …).
pub type Statuses = BTreeMap<String, u64>;

/// Loss, repeats and order of a set of listeners against the stored history.
pub type Totals = crate::delivery::DeliveryCheck;

/// Every type below: written and read back, missing fields defaulted (so
/// result files written before a field existed still load; the report shows
/// "–" or 0 for it).
macro_rules! record {
    ($($(#[$m:meta])* pub struct $name:ident $(<$($g:ident),*>)? { $($body:tt)* })*) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, Default, Serialize, Deserialize)]
        #[serde(default)]
        pub struct $name $(<$($g),*>)? { $($body)* }
    )*};
}

impl<T> From<[T; 3]> for Kinds<T> {
    fn from([latest, after, before]: [T; 3]) -> Kinds<T> {
        Kinds {
            latest,
            after,
            before,
        }
    }
}

record! {
    /// Envelope common to every scenario's JSON.
    pub struct Envelope<P, R> {
        pub scenario: String,
        pub ok: bool,
        pub url: String,
        pub runner: String,
        pub started_unix: f64,
        pub duration_s: f64,
        pub load_avg: LoadAvg,
        pub params: P,
        pub result: R,
        pub cost: Cost,
        pub notes: Vec<String>,
    }

    /// One of each kind of history page: the newest, and after or before a
    /// random message.
    pub struct Kinds<T> {
        pub latest: T,
        pub after: T,
        pub before: T,
    }

    /// The 1, 5 and 15 minute load averages when the run started and ended.
    pub struct LoadAvg {
        pub start: Option<[f64; 3]>,
        pub end: Option<[f64; 3]>,
    }

    pub struct SendResult {
        pub elapsed_s: f64,
        pub requests: usize,
        pub accepted: u64,
        pub accepted_per_s: f64,
        pub statuses: Statuses,
        pub latency_ms: Summary,
        pub d1_ms: Summary,
        pub d1_share_of_latency: Option<f64>,
        pub d1_queries_per_message: Option<f64>,
        pub health_baseline_ms: Summary,
        pub first_error: Option<String>,
    }

    /// One listener's judgement.
    pub struct ListenerResult {
        pub listener: usize,
        /// Its arrivals against the history (received, lost, duplicated, …).
        #[serde(flatten)]
        pub check: Totals,
        pub connections: usize,
        pub errors: usize,
        pub fatal: Option<String>,
    }

    /// Connections a set of listeners made and how they ended (scenarios::stream_stats).
    pub struct Streams {
        pub connections: usize,
        /// "bye:budget", "error", "stopped", … and how many streams ended so.
        pub ends: BTreeMap<String, u64>,
        pub completed_streams: usize,
        pub queries_in_completed_streams: u64,
        /// The `retry:` hint streams gave before a planned end (median).
        pub retry_after_bye_ms: Option<f64>,
        pub sample_errors: Vec<String>,
    }

    /// How a set of listeners received the room (fanout, soak): latency from
    /// the start of each send, each listener judged against the history.
    pub struct Delivery {
        pub delivery_ms: Summary,
        pub delivery_connected_ms: Summary,
        pub delivery_across_reconnect_ms: Summary,
        pub totals: Totals,
        pub all_exactly_once_in_order: bool,
        pub caught_up: bool,
        pub streams: Streams,
        pub listeners: Vec<ListenerResult>,
    }

    pub struct FanoutResult {
        pub sent: usize,
        pub warmup_messages: usize,
        pub send_statuses: Statuses,
        pub post_latency_ms: Summary,
        pub stored: usize,
        pub warmup_delivery_ms: Summary,
        pub delivery_after_ack_ms: Summary,
        pub post_d1_ms: Summary,
        #[serde(flatten)]
        pub delivery: Delivery,
        /// The room object's own counters (WebSocket runs on the paid variant).
        pub object: Option<protocol::ws::PushStats>,
    }

    pub struct Seeding {
        pub method: String,
        pub seconds: f64,
    }

    /// One kind of page (latest, after, before) in one room.
    pub struct Page {
        pub latency_ms: Summary,
        pub d1_ms: Summary,
        pub d1_rows_read: Summary,
    }

    pub struct HistoryRoom {
        pub messages: u64,
        pub pages: Kinds<Page>,
    }

    pub struct HistoryResult {
        pub seeding: Seeding,
        pub rooms: Vec<HistoryRoom>,
        /// Median page latency in the largest room over that in the smallest.
        pub p50_ratio_largest_to_smallest: Kinds<Option<f64>>,
        pub failures: u64,
    }

    pub struct IdleResult {
        pub elapsed_s: f64,
        pub complete_cycles: usize,
        pub mean_cycle_s: Option<f64>,
        pub queries_per_stream: Option<f64>,
        pub requests_per_hour: Option<f64>,
        pub d1_queries_per_s: Option<f64>,
        pub rows_read_per_stream: Option<f64>,
        pub rows_read_per_hour: Option<f64>,
        pub streams: Streams,
    }

    pub struct SoakSender {
        pub attempts: u64,
        pub accepted: u64,
        pub replayed_after_retry: u64,
        pub gave_up: u64,
        pub statuses: Statuses,
        pub post_latency_ms: Summary,
    }

    /// The restart hook's run.
    pub struct Restart {
        pub at_s: f64,
        pub duration_s: f64,
        pub exit: Option<i32>,
        pub output_tail: String,
    }

    pub struct SoakResult {
        pub stored: usize,
        pub sender: SoakSender,
        pub restart: Option<Restart>,
        #[serde(flatten)]
        pub delivery: Delivery,
    }

    /// One round of `wake`: a wait, a mention, and what the wait returned.
    pub struct WakeRound {
        pub pause_ms: f64,
        pub wake_ms: Option<f64>,
        pub wait_status: Option<u16>,
        pub wait_s: Option<f64>,
        pub queries: Option<u32>,
        pub rows_read: Option<u64>,
        /// The mention's POST: its status (no wait is judged unless 201) and latency.
        pub send_status: Option<u16>,
        pub send_latency_ms: Option<f64>,
        /// Wake time minus the send's response (negative when the wait answered first).
        pub after_send_response_ms: Option<f64>,
    }

    pub struct WakeResult {
        pub elapsed_s: f64,
        pub rounds: u32,
        pub woken: usize,
        pub errors: u64,
        pub error_kinds: BTreeMap<String, u64>,
        pub sample_errors: Vec<String>,
        pub wake_ms: Summary,
        pub wake_after_send_response_ms: Summary,
        pub send_latency_ms: Summary,
        pub wait_queries_per_call: Option<f64>,
        pub wait_rows_read_per_call: Option<f64>,
        pub per_round: Vec<WakeRound>,
    }

    pub struct WaitingResult {
        pub elapsed_s: f64,
        pub calls: u64,
        pub statuses: Statuses,
        pub errors: u64,
        pub sample_errors: Vec<String>,
        pub timed_responses: u64,
        pub mean_call_s: Option<f64>,
        pub queries_per_call: Option<f64>,
        pub rows_read_per_call: Option<f64>,
        pub requests_per_hour: Option<f64>,
        pub d1_queries_per_s: Option<f64>,
        pub rows_read_per_hour: Option<f64>,
        pub rows_written_per_hour: Option<f64>,
        pub free_plan_agents: Option<f64>,
    }

    /// What only scripts/bench.sh knows, written beside the results as meta.json.
    pub struct Meta {
        pub date: String,
        pub commit: String,
        pub runner: String,
        pub runner_detail: String,
        pub machine: Machine,
        pub server_vars: String,
        pub sse_active_poll_ms: Option<f64>,
        pub sse_retry_ms: Option<f64>,
        pub rss_kb: Rss,
        pub wasm_gz_bytes: Option<f64>,
        pub wasm_paid_gz_bytes: Option<f64>,
        /// The paid variant's room objects, a script of their own.
        pub wasm_rooms_gz_bytes: Option<f64>,
        pub ws_skipped: Option<String>,
        pub rss_series: Vec<RssSample>,
        pub notes: Vec<String>,
        pub commands: Vec<String>,
    }

    pub struct Machine {
        pub nproc: Option<u32>,
        pub cpu_model: String,
        pub mem_total_kb: Option<f64>,
        pub os: String,
    }

    /// workerd RSS (kB) at the points the script sampled it.
    pub struct Rss {
        pub before: Option<f64>,
        pub after_load: Option<f64>,
        pub after_soak: Option<f64>,
        pub peak: Option<f64>,
    }

    /// workerd RSS (kB) after one scenario: all of it, wrangler's proxy, the rest.
    pub struct RssSample {
        pub after: String,
        pub total_kb: f64,
        pub proxy_kb: f64,
        pub runtime_kb: f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_round_trips_and_old_files_load() {
        let mut run = Envelope::<serde_json::Value, SendResult> {
            scenario: "send".into(),
            ..Default::default()
        };
        run.result.statuses.insert("201".into(), 3);
        run.result.latency_ms = Summary::of(&[1.0, 2.0, 3.0]);
        let text = serde_json::to_string(&run).unwrap();
        let back: Envelope<serde_json::Value, SendResult> = serde_json::from_str(&text).unwrap();
        assert_eq!(back.result.statuses["201"], 3);
        assert_eq!(back.result.latency_ms, run.result.latency_ms);
        // A file without most fields (an older shape) still loads.
        let old: Envelope<serde_json::Value, FanoutResult> =
            serde_json::from_str(r#"{"scenario":"fanout","result":{"totals":{"lost":2}}}"#)
                .unwrap();
        assert_eq!(old.result.delivery.totals.lost, 2);
        assert_eq!(old.result.object, None);
    }
}
