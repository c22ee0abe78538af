//! Latency summaries: exact percentiles over all samples (nearest rank).
//!
//! Runs are bounded in time, so every sample fits in memory; keeping them all
//! gives exact percentiles with no histogram bucketing error.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Count, mean and the percentiles every table shows, in milliseconds.
/// An empty summary has `count == 0` and zeros elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Summary {
    pub count: usize,
    #[serde(serialize_with = "ms")]
    pub min: f64,
    #[serde(serialize_with = "ms")]
    pub mean: f64,
    #[serde(serialize_with = "ms")]
    pub p50: f64,
    #[serde(serialize_with = "ms")]
    pub p90: f64,
    #[serde(serialize_with = "ms")]
    pub p99: f64,
    #[serde(serialize_with = "ms")]
    pub max: f64,
}

/// Milliseconds to three decimals (microseconds) in JSON.
fn ms<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((v * 1000.0).round() / 1000.0)
}

impl Summary {
    /// Summarizes samples in any order, NaNs dropped. The `p`th percentile
    /// is the nearest rank: the smallest sample with at least `p` percent
    /// of the samples at or below it.
    pub fn of(samples: &[f64]) -> Summary {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| !v.is_nan()).collect();
        sorted.sort_by(f64::total_cmp);
        let (Some(&min), Some(&max), n) = (sorted.first(), sorted.last(), sorted.len()) else {
            return Summary::default();
        };
        let pct = |p: f64| sorted[((p / 100.0 * n as f64).ceil() as usize).clamp(1, n) - 1];
        Summary {
            count: n,
            min,
            mean: sorted.iter().sum::<f64>() / n as f64,
            p50: pct(50.0),
            p90: pct(90.0),
            p99: pct(99.0),
            max,
        }
    }
}

/// The median of some values (for medians across repeated runs).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The mean, `None` when there is nothing to average.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// How often each key occurs (response statuses, stream ends).
pub fn tally<K: Ord>(keys: impl IntoIterator<Item = K>) -> BTreeMap<K, u64> {
    let mut out = BTreeMap::new();
    for k in keys {
        *out.entry(k).or_default() += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_summaries() {
        let of = |v: &[f64]| {
            let s = Summary::of(v);
            (s.count, s.min, s.p50, s.p90, s.p99, s.max, s.mean)
        };
        let hundred: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(of(&hundred), (100, 1.0, 50.0, 90.0, 99.0, 100.0, 50.5));
        // Small samples round up to the next rank; NaNs are dropped.
        let small = of(&[30.0, f64::NAN, 10.0, 20.0]);
        assert_eq!(small, (3, 10.0, 20.0, 30.0, 30.0, 30.0, 20.0));
        // 990 fast samples and 10 slow ones: p99 sits on the last fast one.
        let mut v = vec![1.0; 990];
        v.extend([1000.0; 10]);
        assert_eq!((of(&v).4, of(&v).5), (1.0, 1000.0));
        assert_eq!(Summary::of(&[]), Summary::default());
        let json = serde_json::to_value(Summary::of(&[1.234_567_8])).unwrap();
        let (p50, count) = (json["p50"].as_f64(), json["count"].as_u64());
        assert_eq!((p50, count), (Some(1.235), Some(1)));
    }

    #[test]
    fn median_mean_and_tally() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!((median(&[]), mean(&[])), (None, None));
        assert_eq!(mean(&[1.0, 2.0]), Some(1.5));
        let statuses = tally(["201", "429", "201"]);
        assert_eq!(statuses, BTreeMap::from([("201", 2), ("429", 1)]));
    }
}
