//! The metric families, their names, help texts, labels and buckets. The
//! README's "Metrics" section documents the same list for operators.

use prometheus::{
    GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
};

/// Up to the longest long poll (60 s): HTTP requests include waiting claims.
const HTTP_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
/// From "claimed at once" to "waited an hour in a backlog".
const CLAIM_LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];
/// A claim asks for 1..=1000 runs; 0 is an empty claim.
const BATCH_BUCKETS: &[f64] = &[0.0, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];
const LONG_POLL_BUCKETS: &[f64] = &[0.01, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0];

pub(crate) struct Families {
    pub tasks_created: IntCounterVec,
    pub runs_claimed: IntCounterVec,
    pub runs_completed: IntCounter,
    pub runs_failed: IntCounterVec,
    pub runs_retried: IntCounterVec,
    pub claims_expired: IntCounter,
    pub events_emitted: IntCounter,
    pub wakeups: IntCounter,
    pub cleanup_tasks: IntCounter,
    pub cleanup_events: IntCounter,
    pub http_duration: HistogramVec,
    pub claim_latency: HistogramVec,
    pub claim_batch_size: HistogramVec,
    pub long_poll_wait: Histogram,
    pub runs: IntGaugeVec,
    pub oldest_pending_age: GaugeVec,
    pub pool: IntGaugeVec,
    pub notifier_reconnects: IntCounter,
    pub rows_skipped: IntCounter,
    pub sweep_failures: IntCounterVec,
}

impl Families {
    /// Creates every family and registers it. Names are fixed and distinct,
    /// so registration cannot fail.
    pub(crate) fn register(registry: &Registry) -> Self {
        let families = Self {
            tasks_created: counter_vec("durable_tasks_created_total", "Tasks created (deduplicated ones excluded).", &["queue"]),
            runs_claimed: counter_vec("durable_runs_claimed_total", "Runs handed to workers by claims.", &["queue"]),
            runs_completed: counter("durable_runs_completed_total", "Runs completed by their workers."),
            runs_failed: counter_vec("durable_runs_failed_total", "Run failures reported by workers.", &["queue"]),
            runs_retried: counter_vec(
                "durable_runs_retried_total",
                "Worker-reported failures that scheduled a retry.",
                &["queue"],
            ),
            claims_expired: counter("durable_claims_expired_total", "Claims that ran out, ended by the sweeper (the task re-queued, or failed after too many expiries in a row)."),
            events_emitted: counter("durable_events_emitted_total", "Events emitted."),
            wakeups: counter("durable_wakeups_total", "Sleeping runs woken: by their time coming or by an emitted event."),
            cleanup_tasks: counter("durable_cleanup_tasks_deleted_total", "Finished tasks deleted by retention."),
            cleanup_events: counter("durable_cleanup_events_deleted_total", "Events deleted by retention."),
            http_duration: histogram_vec(
                "durable_http_request_duration_seconds",
                "HTTP request duration, by route template, method and status.",
                &["route", "method", "status"],
                HTTP_BUCKETS,
            ),
            claim_latency: histogram_vec(
                "durable_claim_latency_seconds",
                "Time from a run becoming claimable (its available_at) to its claim.",
                &["queue"],
                CLAIM_LATENCY_BUCKETS,
            ),
            claim_batch_size: histogram_vec(
                "durable_claim_batch_size",
                "Runs handed out per claim call (0 = an empty claim).",
                &["queue"],
                BATCH_BUCKETS,
            ),
            long_poll_wait: histogram(
                "durable_long_poll_wait_seconds",
                "How long long-polling claims waited before answering.",
                LONG_POLL_BUCKETS,
            ),
            runs: gauge_vec_int(
                "durable_runs",
                "Live runs by queue and state (pending_due, pending_scheduled, claimed, sleeping), refreshed on an interval.",
                &["queue", "state"],
            ),
            oldest_pending_age: GaugeVec::new(
                Opts::new(
                    "durable_oldest_pending_age_seconds",
                    "Seconds since the oldest due pending run of the queue became claimable (0 when none): the consumer lag.",
                ),
                &["queue"],
            )
            .expect("valid metric"),
            pool: gauge_vec_int(
                "durable_store_pool_connections",
                "Connections of the store's pool by state (in_use, idle).",
                &["state"],
            ),
            notifier_reconnects: counter(
                "durable_notifier_reconnects_total",
                "Times the notifier re-established its LISTEN connection.",
            ),
            rows_skipped: counter(
                "durable_rows_skipped_total",
                "Stored rows that claims and sweeps could not decode and left out (each is logged with its ids).",
            ),
            sweep_failures: counter_vec(
                "durable_sweep_failures_total",
                "Sweeper steps that failed (expiry, wake, timeouts, retention); the other steps of the pass still ran.",
                &["step"],
            ),
        };
        families.register_all(registry);
        families
    }

    fn register_all(&self, registry: &Registry) {
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(self.tasks_created.clone()),
            Box::new(self.runs_claimed.clone()),
            Box::new(self.runs_completed.clone()),
            Box::new(self.runs_failed.clone()),
            Box::new(self.runs_retried.clone()),
            Box::new(self.claims_expired.clone()),
            Box::new(self.events_emitted.clone()),
            Box::new(self.wakeups.clone()),
            Box::new(self.cleanup_tasks.clone()),
            Box::new(self.cleanup_events.clone()),
            Box::new(self.http_duration.clone()),
            Box::new(self.claim_latency.clone()),
            Box::new(self.claim_batch_size.clone()),
            Box::new(self.long_poll_wait.clone()),
            Box::new(self.runs.clone()),
            Box::new(self.oldest_pending_age.clone()),
            Box::new(self.pool.clone()),
            Box::new(self.notifier_reconnects.clone()),
            Box::new(self.rows_skipped.clone()),
            Box::new(self.sweep_failures.clone()),
        ];
        for collector in collectors {
            registry.register(collector).expect("metric names are distinct");
        }
    }
}

fn counter(name: &str, help: &str) -> IntCounter {
    IntCounter::with_opts(Opts::new(name, help)).expect("valid metric")
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
}

fn gauge_vec_int(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric")
}

fn histogram(name: &str, help: &str, buckets: &[f64]) -> Histogram {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec())).expect("valid metric")
}

fn histogram_vec(name: &str, help: &str, labels: &[&str], buckets: &[f64]) -> HistogramVec {
    HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets.to_vec()), labels).expect("valid metric")
}
