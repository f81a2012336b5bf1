//! Prometheus adapter of the [`Metrics`] port: every [`Observation`] lands in
//! a `prometheus` registry, and [`PrometheusMetrics::render`] answers a
//! scrape in the text exposition format.
//!
//! Why the `prometheus` crate rather than `opentelemetry-prometheus`: the
//! latter's README says the crate is discontinued and no longer maintained,
//! so it is no base for a server meant to run for years. Traces still go
//! through OpenTelemetry; only metrics take this direct route.
//!
//! Gauges of queue depth are written from a periodic store reading (see
//! `Observation::QueueDepths`), never computed at scrape time, so scraping
//! costs the database nothing.

mod depths;
mod families;

use std::fmt;

use durable_ports::{Metrics, Observation};
use prometheus::{Encoder, Registry, TextEncoder};

use crate::depths::DepthGauges;
use crate::families::Families;

/// The content type of [`PrometheusMetrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Every durable metric in its own registry (not the process-global one, so
/// two servers in one test process never share counters).
pub struct PrometheusMetrics {
    registry: Registry,
    families: Families,
    depths: DepthGauges,
}

impl PrometheusMetrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let families = Families::register(&registry);
        let depths = DepthGauges::new(families.runs.clone(), families.oldest_pending_age.clone());
        Self { registry, families, depths }
    }

    /// The current value of every metric, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        match TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            // The encoder only writes UTF-8 (names, escaped label values, numbers).
            Ok(()) => String::from_utf8_lossy(&buffer).into_owned(),
            // Only a malformed metric can fail to encode; say so instead of
            // answering an empty page that would look like "no data".
            Err(e) => format!("# durable: encoding metrics failed: {e}\n"),
        }
    }
}

impl Default for PrometheusMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for PrometheusMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusMetrics").finish_non_exhaustive()
    }
}

impl Metrics for PrometheusMetrics {
    fn record(&self, observation: Observation) {
        let m = &self.families;
        match observation {
            Observation::TasksCreated { queue, n } => m.tasks_created.with_label_values(&[queue.as_str()]).inc_by(n),
            Observation::RunsClaimed { queue, latencies_seconds } => {
                let queue = [queue.as_str()];
                m.runs_claimed.with_label_values(&queue).inc_by(latencies_seconds.len() as u64);
                m.claim_batch_size.with_label_values(&queue).observe(latencies_seconds.len() as f64);
                let latency = m.claim_latency.with_label_values(&queue);
                for seconds in latencies_seconds {
                    latency.observe(seconds.max(0.0));
                }
            }
            Observation::RunsCompleted { n } => m.runs_completed.inc_by(n),
            Observation::RunFailed { queue, retried } => {
                m.runs_failed.with_label_values(&[queue.as_str()]).inc();
                if retried {
                    m.runs_retried.with_label_values(&[queue.as_str()]).inc();
                }
            }
            Observation::ClaimsExpired { n } => m.claims_expired.inc_by(n),
            Observation::EventEmitted => m.events_emitted.inc(),
            Observation::Wakeups { n } => m.wakeups.inc_by(n),
            Observation::Cleanup { tasks, events } => {
                m.cleanup_tasks.inc_by(tasks);
                m.cleanup_events.inc_by(events);
            }
            Observation::LongPollWait { seconds } => m.long_poll_wait.observe(seconds.max(0.0)),
            Observation::HttpRequest { route, method, status, seconds } => m
                .http_duration
                .with_label_values(&[route.as_str(), method.as_str(), &status.to_string()])
                .observe(seconds.max(0.0)),
            Observation::QueueDepths(depths) => self.depths.set(&depths),
            Observation::Pool { in_use, idle } => {
                m.pool.with_label_values(&["in_use"]).set(i64::from(in_use));
                m.pool.with_label_values(&["idle"]).set(i64::from(idle));
            }
            Observation::NotifierReconnects(total) => {
                // The notifier reports a running total; a counter only moves
                // forward, so add what is new since the last reading.
                let seen = m.notifier_reconnects.get();
                m.notifier_reconnects.inc_by(total.saturating_sub(seen));
            }
            Observation::RowsSkipped(total) => {
                let seen = m.rows_skipped.get();
                m.rows_skipped.inc_by(total.saturating_sub(seen));
            }
            Observation::SweepStepFailed { step } => m.sweep_failures.with_label_values(&[step]).inc(),
        }
    }
}

#[cfg(test)]
mod tests;
