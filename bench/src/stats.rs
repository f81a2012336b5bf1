//! Latency summaries and rates.

use std::time::{Duration, Instant};

use serde::Serialize;

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub(crate) struct Latency {
    pub samples: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    /// Nearest-rank percentiles; all zero for no samples.
    pub(crate) fn of(mut ms: Vec<f64>) -> Self {
        if ms.is_empty() {
            return Self::default();
        }
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1];
        Self {
            samples: ms.len(),
            p50_ms: round(at(0.50)),
            p90_ms: round(at(0.90)),
            p99_ms: round(at(0.99)),
            max_ms: round(ms[ms.len() - 1]),
            mean_ms: round(ms.iter().sum::<f64>() / ms.len() as f64),
        }
    }

    pub(crate) fn of_durations(durations: impl IntoIterator<Item = Duration>) -> Self {
        Self::of(durations.into_iter().map(ms).collect())
    }

    /// `p50 1.23 ms / p99 4.56 ms`.
    pub(crate) fn brief(&self) -> String {
        format!("p50 {:.2} ms / p99 {:.2} ms", self.p50_ms, self.p99_ms)
    }
}

pub(crate) fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// `later - earlier` in milliseconds, negative when `later` came first.
pub(crate) fn signed_ms(earlier: Instant, later: Instant) -> f64 {
    match later.checked_duration_since(earlier) {
        Some(d) => ms(d),
        None => -ms(earlier - later),
    }
}

/// Events per second over `elapsed`.
pub(crate) fn rate(count: usize, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 { (count as f64 / seconds).round() } else { 0.0 }
}

/// Three decimals are plenty for milliseconds.
fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let l = Latency::of((1..=100).map(f64::from).collect());
        assert_eq!((l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.mean_ms), (50.0, 90.0, 99.0, 100.0, 50.5));
        let one = Latency::of(vec![3.0]);
        assert_eq!((one.p50_ms, one.p99_ms), (3.0, 3.0));
        assert_eq!(Latency::of(Vec::new()), Latency::default());
    }

    #[test]
    fn signed_differences_and_rates() {
        let a = Instant::now();
        let b = a + Duration::from_millis(5);
        assert_eq!(signed_ms(a, b), 5.0);
        assert_eq!(signed_ms(b, a), -5.0);
        assert_eq!(rate(500, Duration::from_millis(250)), 2000.0);
        assert_eq!(rate(5, Duration::ZERO), 0.0);
    }
}
