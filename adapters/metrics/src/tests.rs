//! What a scrape shows after each kind of observation.

use durable_domain::QueueName;
use durable_ports::metrics::QueueDepth;
use durable_ports::{Metrics, Observation};

use crate::PrometheusMetrics;

fn queue(name: &str) -> QueueName {
    QueueName::parse("queue", name).unwrap()
}

/// The value of one exact series (`name{labels}`) in a scrape.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn depth(name: &str, pending_due: u64, age: Option<f64>) -> QueueDepth {
    QueueDepth {
        queue: queue(name),
        pending_due,
        pending_scheduled: 2,
        claimed: 3,
        sleeping: 4,
        oldest_pending_age_seconds: age,
    }
}

#[test]
fn counters_move_by_what_was_observed() {
    let metrics = PrometheusMetrics::new();
    metrics.record(Observation::TasksCreated { queue: queue("emails"), n: 3 });
    metrics.record(Observation::RunsClaimed { queue: queue("emails"), latencies_seconds: vec![0.5, 2.0] });
    metrics.record(Observation::RunsClaimed { queue: queue("emails"), latencies_seconds: vec![] });
    metrics.record(Observation::RunsCompleted { n: 1 });
    metrics.record(Observation::RunFailed { queue: queue("emails"), retried: true });
    metrics.record(Observation::RunFailed { queue: queue("emails"), retried: false });
    metrics.record(Observation::ClaimsExpired { n: 2 });
    metrics.record(Observation::EventEmitted);
    metrics.record(Observation::Wakeups { n: 5 });
    metrics.record(Observation::Cleanup { tasks: 7, events: 8 });
    let text = metrics.render();
    let q = r#"{queue="emails"}"#;
    assert_eq!(value(&text, &format!("durable_tasks_created_total{q}")), Some(3.0), "{text}");
    assert_eq!(value(&text, &format!("durable_runs_claimed_total{q}")), Some(2.0));
    assert_eq!(value(&text, &format!("durable_claim_batch_size_count{q}")), Some(2.0));
    assert_eq!(value(&text, &format!("durable_claim_batch_size_sum{q}")), Some(2.0));
    assert_eq!(value(&text, &format!("durable_claim_latency_seconds_sum{q}")), Some(2.5));
    assert_eq!(value(&text, r#"durable_claim_latency_seconds_bucket{queue="emails",le="1"}"#), Some(1.0));
    assert_eq!(value(&text, "durable_runs_completed_total"), Some(1.0));
    assert_eq!(value(&text, &format!("durable_runs_failed_total{q}")), Some(2.0));
    assert_eq!(value(&text, &format!("durable_runs_retried_total{q}")), Some(1.0));
    assert_eq!(value(&text, "durable_claims_expired_total"), Some(2.0));
    assert_eq!(value(&text, "durable_events_emitted_total"), Some(1.0));
    assert_eq!(value(&text, "durable_wakeups_total"), Some(5.0));
    assert_eq!(value(&text, "durable_cleanup_tasks_deleted_total"), Some(7.0));
    assert_eq!(value(&text, "durable_cleanup_events_deleted_total"), Some(8.0));
}

#[test]
fn histograms_carry_their_labels() {
    let metrics = PrometheusMetrics::new();
    let request = |status| Observation::HttpRequest {
        route: "/api/v1/runs/{run_id}/complete".into(),
        method: "POST".into(),
        status,
        seconds: 0.02,
    };
    metrics.record(request(200));
    metrics.record(request(200));
    metrics.record(request(409));
    metrics.record(Observation::LongPollWait { seconds: 3.0 });
    let text = metrics.render();
    let ok = r#"durable_http_request_duration_seconds_count{method="POST",route="/api/v1/runs/{run_id}/complete",status="200"}"#;
    assert_eq!(value(&text, ok), Some(2.0), "{text}");
    assert_eq!(value(&text, &ok.replace("200", "409")), Some(1.0));
    assert_eq!(value(&text, "durable_long_poll_wait_seconds_count"), Some(1.0));
    assert_eq!(value(&text, r#"durable_long_poll_wait_seconds_bucket{le="2.5"}"#), Some(0.0));
    assert_eq!(value(&text, r#"durable_long_poll_wait_seconds_bucket{le="5"}"#), Some(1.0));
}

#[test]
fn depth_readings_replace_the_previous_one() {
    let metrics = PrometheusMetrics::new();
    metrics.record(Observation::QueueDepths(vec![depth("a", 1, Some(12.5)), depth("b", 0, None)]));
    let text = metrics.render();
    assert_eq!(value(&text, r#"durable_runs{queue="a",state="pending_due"}"#), Some(1.0), "{text}");
    assert_eq!(value(&text, r#"durable_runs{queue="a",state="pending_scheduled"}"#), Some(2.0));
    assert_eq!(value(&text, r#"durable_runs{queue="a",state="claimed"}"#), Some(3.0));
    assert_eq!(value(&text, r#"durable_runs{queue="a",state="sleeping"}"#), Some(4.0));
    assert_eq!(value(&text, r#"durable_oldest_pending_age_seconds{queue="a"}"#), Some(12.5));
    assert_eq!(value(&text, r#"durable_oldest_pending_age_seconds{queue="b"}"#), Some(0.0));

    // Queue "b" was deleted: its series go, they do not freeze.
    metrics.record(Observation::QueueDepths(vec![depth("a", 9, Some(1.0))]));
    let text = metrics.render();
    assert_eq!(value(&text, r#"durable_runs{queue="a",state="pending_due"}"#), Some(9.0));
    assert!(!text.contains(r#"queue="b""#), "{text}");
}

#[test]
fn pool_and_reconnects() {
    let metrics = PrometheusMetrics::new();
    metrics.record(Observation::Pool { in_use: 3, idle: 5 });
    metrics.record(Observation::NotifierReconnects(2));
    metrics.record(Observation::NotifierReconnects(2));
    metrics.record(Observation::NotifierReconnects(4));
    let text = metrics.render();
    assert_eq!(value(&text, r#"durable_store_pool_connections{state="in_use"}"#), Some(3.0), "{text}");
    assert_eq!(value(&text, r#"durable_store_pool_connections{state="idle"}"#), Some(5.0));
    assert_eq!(value(&text, "durable_notifier_reconnects_total"), Some(4.0));
}

#[test]
fn skipped_rows_and_sweep_failures() {
    let metrics = PrometheusMetrics::new();
    metrics.record(Observation::RowsSkipped(3));
    metrics.record(Observation::RowsSkipped(5));
    metrics.record(Observation::SweepStepFailed { step: "claims_expire" });
    metrics.record(Observation::SweepStepFailed { step: "claims_expire" });
    metrics.record(Observation::SweepStepFailed { step: "cleanup" });
    let text = metrics.render();
    assert_eq!(value(&text, "durable_rows_skipped_total"), Some(5.0), "{text}");
    assert_eq!(value(&text, r#"durable_sweep_failures_total{step="claims_expire"}"#), Some(2.0));
    assert_eq!(value(&text, r#"durable_sweep_failures_total{step="cleanup"}"#), Some(1.0));
}

#[test]
fn every_family_has_help_and_type() {
    let text = PrometheusMetrics::new().render();
    // Families without a sample yet are still described for the unlabelled ones.
    assert!(text.contains("# TYPE durable_runs_completed_total counter"), "{text}");
    assert!(text.contains("# TYPE durable_long_poll_wait_seconds histogram"), "{text}");
}
