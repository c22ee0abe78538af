//! Latency summaries: exact percentiles over all samples (nearest rank).
//!
//! Runs are bounded in time, so every sample fits in memory; keeping them all
//! gives exact percentiles with no histogram bucketing error.

use serde::{Deserialize, Serialize};

/// The nearest-rank percentile of `sorted` (ascending): the smallest sample
/// such that at least `p` percent of samples are at or below it. `p` is
/// clamped to 0..=100; `p == 0` gives the minimum. `None` when empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

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
    /// Summarizes samples in any order. NaNs are dropped.
    pub fn of(samples: &[f64]) -> Summary {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|v| !v.is_nan()).collect();
        if sorted.is_empty() {
            return Summary::default();
        }
        sorted.sort_by(f64::total_cmp);
        let pct = |p| percentile(&sorted, p).unwrap_or(0.0);
        Summary {
            count: sorted.len(),
            min: sorted[0],
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
            p50: pct(50.0),
            p90: pct(90.0),
            p99: pct(99.0),
            max: sorted[sorted.len() - 1],
        }
    }
}

/// The median of some values (for medians across repeated runs).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    Some(if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_on_one_to_hundred() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 90.0), Some(90.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 99.5), Some(100.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
    }

    #[test]
    fn small_samples_round_up_to_the_next_rank() {
        let v = [10.0, 20.0, 30.0];
        assert_eq!(percentile(&v, 50.0), Some(20.0));
        // 99% of 3 samples needs all 3: the maximum.
        assert_eq!(percentile(&v, 99.0), Some(30.0));
        assert_eq!(percentile(&v, 33.0), Some(10.0));
        assert_eq!(percentile(&v, 34.0), Some(20.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
        // Out-of-range p is clamped, not a panic.
        assert_eq!(percentile(&v, 150.0), Some(30.0));
        assert_eq!(percentile(&v, -5.0), Some(10.0));
    }

    #[test]
    fn summary_sorts_and_ignores_nan() {
        let s = Summary::of(&[5.0, 1.0, f64::NAN, 3.0, 2.0, 4.0]);
        assert_eq!(s.count, 5);
        assert_eq!((s.min, s.max, s.mean), (1.0, 5.0, 3.0));
        assert_eq!(s.p50, 3.0);
        assert_eq!(s.p99, 5.0);
        assert_eq!(Summary::of(&[]), Summary::default());
    }

    #[test]
    fn summary_of_a_long_tail() {
        // 990 fast samples and 10 slow ones: p99 sits on the last fast one,
        // anything past it on the tail.
        let mut v = vec![1.0; 990];
        v.extend([1000.0; 10]);
        let s = Summary::of(&v);
        assert_eq!(s.p50, 1.0);
        assert_eq!(s.p99, 1.0);
        assert_eq!(
            percentile(
                &{
                    v.sort_by(f64::total_cmp);
                    v
                },
                99.1
            ),
            Some(1000.0)
        );
        assert_eq!(s.max, 1000.0);
    }

    #[test]
    fn json_rounds_to_microseconds() {
        let s = Summary::of(&[1.234_567_8]);
        let json = serde_json::to_value(s).unwrap();
        assert_eq!(json["p50"], 1.235);
        assert_eq!(json["count"], 1);
    }

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
