//! What the engine tells the metrics port, pinned down with mocks: one
//! observation per successful use case, none for a failed one, and a gauge
//! refresh that reads storage once and the notifier's running total.

use std::sync::{Arc, Mutex};

use durable_app::{Engine, EngineConfig};
use durable_domain::{QueueName, RunId};
use durable_ports::metrics::{PoolStats, QueueDepth};
use durable_ports::store::FailedRun;
use durable_ports::{ManualClock, Metrics, MockNotifier, MockStore, Observation, Service, ServiceError, StoreError};

/// Keeps every observation, in order.
#[derive(Default)]
struct Recorded(Mutex<Vec<Observation>>);

impl Metrics for Recorded {
    fn record(&self, observation: Observation) {
        self.0.lock().unwrap().push(observation);
    }
}

impl Recorded {
    fn taken(&self) -> Vec<Observation> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

fn engine(store: MockStore, notifier: MockNotifier) -> (Engine, Arc<Recorded>) {
    let metrics = Arc::new(Recorded::default());
    let engine = Engine::new(
        Arc::new(store),
        Arc::new(notifier),
        Arc::new(ManualClock::starting_now()),
        EngineConfig::default(),
    )
    .with_metrics(metrics.clone());
    (engine, metrics)
}

fn queue(name: &str) -> QueueName {
    QueueName::parse("queue", name).unwrap()
}

#[tokio::test]
async fn a_gauge_refresh_reads_depths_once_plus_pool_reconnects_and_skipped_rows() {
    let depth = QueueDepth {
        queue: queue("emails"),
        pending_due: 4,
        pending_scheduled: 1,
        claimed: 2,
        sleeping: 0,
        oldest_pending_age_seconds: Some(7.5),
    };
    let mut store = MockStore::new();
    let reading = depth.clone();
    store.expect_queue_depths().times(1).returning(move |_| Ok(vec![reading.clone()]));
    store.expect_pool_stats().times(1).returning(|| Some(PoolStats { in_use: 3, idle: 5 }));
    store.expect_rows_skipped().times(1).returning(|| 1);
    let mut notifier = MockNotifier::new();
    notifier.expect_reconnects().times(1).returning(|| 2);
    let (engine, metrics) = engine(store, notifier);

    engine.refresh_gauges().await.unwrap();
    assert_eq!(
        metrics.taken(),
        [
            Observation::QueueDepths(vec![depth]),
            Observation::Pool { in_use: 3, idle: 5 },
            Observation::NotifierReconnects(2),
            Observation::RowsSkipped(1),
        ]
    );
}

#[tokio::test]
async fn a_failed_reading_records_nothing_and_surfaces() {
    let mut store = MockStore::new();
    store.expect_queue_depths().returning(|_| Err(StoreError::Unavailable("connection refused".into())));
    let (engine, metrics) = engine(store, MockNotifier::new());
    let err = engine.refresh_gauges().await.unwrap_err();
    assert!(matches!(err, ServiceError::Unavailable(_)), "{err:?}");
    assert!(metrics.taken().is_empty(), "the gauges keep their last values");
}

#[tokio::test]
async fn a_failure_is_recorded_only_once_the_store_took_it() {
    let mut store = MockStore::new();
    let run = RunId::new();
    store.expect_run_fail().times(1).returning(move |_, _, _| {
        Ok(FailedRun { run_id: run, queue: queue("emails"), attempt: 1, next: None, wake: vec![] })
    });
    store.expect_run_fail().returning(|_, _, _| Err(StoreError::Unavailable("down".into())));
    let (engine, metrics) = engine(store, MockNotifier::new());

    engine.fail_run(run, "boom".into()).await.unwrap();
    assert_eq!(metrics.taken(), [Observation::RunFailed { queue: queue("emails"), retried: false }]);
    engine.fail_run(run, "boom".into()).await.unwrap_err();
    assert!(metrics.taken().is_empty());
}
