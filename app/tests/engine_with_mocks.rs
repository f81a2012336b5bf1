//! Engine behaviour that only mocks can pin down: what it asks the store,
//! when it notifies, and how store errors surface.

use std::sync::Arc;
use std::time::Duration;

use durable_app::{Engine, EngineConfig};
use durable_domain::command::{ClaimRequest, NewQueue, NewTask};
use durable_domain::{NotFound, QueueName, Rejection, RunId, TaskId};
use durable_ports::store::{
    CreatedTask, CreatedTasks, Emitted, ExpiredClaims, FailedRun, FiredSchedules, Retry, ScheduledRun, SleepersWoken,
};
use durable_ports::{ManualClock, MockNotifier, MockStore, MockSubscription, Service, ServiceError, StoreError};
use mockall::Sequence;
use mockall::predicate::always;
use serde_json::json;

fn engine(store: MockStore, notifier: MockNotifier) -> Engine {
    let config = EngineConfig { poll_fallback: Duration::from_millis(20), ..EngineConfig::default() };
    Engine::new(Arc::new(store), Arc::new(notifier), Arc::new(ManualClock::starting_now()), config)
}

fn queue(name: &str) -> QueueName {
    QueueName::parse("queue", name).unwrap()
}

fn created() -> CreatedTask {
    CreatedTask { task_id: TaskId::new(), run_id: RunId::new(), workflow_run_id: None, deduplicated: false }
}

fn task(name: &str) -> NewTask {
    NewTask { task_name: name.into(), ..NewTask::default() }
}

#[tokio::test]
async fn create_notifies_after_the_store_wrote() {
    let mut seq = Sequence::new();
    let mut store = MockStore::new();
    let mut notifier = MockNotifier::new();
    store
        .expect_tasks_create()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(CreatedTasks { tasks: vec![created()], wake: vec![queue("emails")] }));
    notifier
        .expect_notify()
        .withf(|queues| queues == [queue("emails")])
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| ());
    engine(store, notifier).create_task("emails".into(), task("send")).await.unwrap();
}

#[tokio::test]
async fn a_failed_write_notifies_nobody() {
    let mut store = MockStore::new();
    let mut notifier = MockNotifier::new();
    store.expect_tasks_create().returning(|_, _, _| Err(StoreError::Unavailable("connection refused".into())));
    notifier.expect_notify().never();
    let err = engine(store, notifier).create_task("emails".into(), task("send")).await.unwrap_err();
    assert!(matches!(err, ServiceError::Unavailable(_)), "{err:?}");
}

/// Deferred and deduplicated creates leave nothing claimable: the store
/// says so (its decision is `durable_domain::wake`, tested there and in the
/// conformance suite), and the engine adds no wake-up of its own.
#[tokio::test]
async fn a_create_that_wakes_nobody_notifies_nobody() {
    let mut store = MockStore::new();
    let mut notifier = MockNotifier::new();
    store.expect_tasks_create().returning(|_, _, _| {
        Ok(CreatedTasks { tasks: vec![CreatedTask { deduplicated: true, ..created() }], wake: vec![] })
    });
    notifier.expect_notify().never();
    let engine = engine(store, notifier);
    engine.create_task("emails".into(), task("send")).await.unwrap();
    let later = NewTask { run_at: Some(time::OffsetDateTime::now_utc() + time::Duration::hours(1)), ..task("x") };
    engine.create_task("emails".into(), later).await.unwrap();
}

#[tokio::test]
async fn invalid_input_never_reaches_the_store() {
    let store = MockStore::new();
    let notifier = MockNotifier::new();
    let engine = engine(store, notifier);
    let err = engine.create_task("emails".into(), task("")).await.unwrap_err();
    assert!(matches!(&err, ServiceError::Validation(e) if e.message == "task_name is required"), "{err:?}");
    let err = engine.create_queue(NewQueue { name: "bad\tname".into(), ..NewQueue::default() }).await.unwrap_err();
    assert!(matches!(&err, ServiceError::Validation(e) if e.field == "name"), "{err:?}");
    let bad_claim = ClaimRequest { limit: 0, claim_timeout: 30.0, ..ClaimRequest::default() };
    let err = engine.claim("emails".into(), bad_claim).await.unwrap_err();
    assert!(matches!(&err, ServiceError::Validation(e) if e.field == "limit"), "{err:?}");
    let err = engine.heartbeat_run(RunId::new(), 0.0).await.unwrap_err();
    assert!(matches!(&err, ServiceError::Validation(e) if e.field == "extend_by_seconds"), "{err:?}");
}

#[tokio::test]
async fn a_queue_name_that_cannot_exist_is_not_found() {
    let engine = engine(MockStore::new(), MockNotifier::new());
    let err = engine.queue_stats("no\0such queue".into()).await.unwrap_err();
    assert!(matches!(err, ServiceError::NotFound(NotFound::Queue(_))), "{err:?}");
}

#[tokio::test]
async fn store_errors_map_onto_service_errors() {
    type Expect = fn(&ServiceError) -> bool;
    let cases: Vec<(StoreError, Expect)> = vec![
        (NotFound::Run(RunId::new()).into(), |e| matches!(e, ServiceError::NotFound(_))),
        (Rejection::ClaimLost { run: RunId::new() }.into(), |e| matches!(e, ServiceError::Conflict(_))),
        (StoreError::Unavailable("down".into()), |e| matches!(e, ServiceError::Unavailable(_))),
        (StoreError::Other("boom".into()), |e| matches!(e, ServiceError::Internal(_))),
    ];
    for (store_error, expected) in cases {
        let mut store = MockStore::new();
        let mut once = Some(store_error);
        store.expect_run_fail().returning(move |_, _, _| Err(once.take().unwrap()));
        let err = engine(store, MockNotifier::new()).fail_run(RunId::new(), "x".into()).await.unwrap_err();
        assert!(expected(&err), "{err:?}");
    }
}

/// Whether a retry is due now is the store's answer (`wake`), not the
/// engine's: a retry due now comes with its queue, a later one without.
#[tokio::test]
async fn a_failure_notifies_exactly_the_queues_the_store_wakes() {
    for (delay, notifies) in [(time::Duration::ZERO, 1), (time::Duration::seconds(5), 0)] {
        let mut store = MockStore::new();
        let mut notifier = MockNotifier::new();
        store.expect_run_fail().returning(move |run, _, now| {
            let next = Some(Retry { run_id: RunId::new(), available_at: now + delay });
            let wake = if delay.is_zero() { vec![queue("q")] } else { vec![] };
            Ok(FailedRun { run_id: run, queue: queue("q"), attempt: 1, next, wake })
        });
        notifier.expect_notify().withf(|q| q == [queue("q")]).times(notifies).returning(|_| ());
        engine(store, notifier).fail_run(RunId::new(), "boom".into()).await.unwrap();
    }
}

#[tokio::test]
async fn schedule_and_emit_notify_only_when_runs_became_claimable() {
    let mut store = MockStore::new();
    let mut notifier = MockNotifier::new();
    store
        .expect_run_schedule()
        .returning(|_, at, _| Ok(ScheduledRun { queue: queue("q"), scheduled_at: at, wake: vec![] }));
    store.expect_event_emit().returning(|name, payload, now| {
        let event = durable_domain::event::Event {
            id: durable_domain::EventId::new(),
            name: name.to_owned(),
            payload,
            created_at: now,
        };
        Ok(Emitted { event, woken: vec![queue("b"), queue("a"), queue("b")], wake: vec![queue("a"), queue("b")] })
    });
    notifier.expect_notify().withf(|queues| queues == [queue("a"), queue("b")]).times(1).returning(|_| ());
    let engine = engine(store, notifier);
    engine.schedule_run(RunId::new(), time::OffsetDateTime::now_utc()).await.unwrap();
    engine.emit_event("paid".into(), json!({"order": 1})).await.unwrap();
}

#[tokio::test]
async fn long_poll_subscribes_before_claiming_and_returns_once_woken() {
    let mut seq = Sequence::new();
    let mut store = MockStore::new();
    let mut notifier = MockNotifier::new();
    notifier.expect_subscribe().times(1).in_sequence(&mut seq).returning(|_| {
        let mut sub = MockSubscription::new();
        sub.expect_notified().returning(|| ());
        Box::new(sub)
    });
    store.expect_runs_claim().times(1).in_sequence(&mut seq).returning(|_, _, _| Ok(vec![]));
    store.expect_queue_next_due().times(1).in_sequence(&mut seq).returning(|_| Ok(None));
    notifier.expect_subscribe().times(1).in_sequence(&mut seq).returning(|_| Box::new(MockSubscription::new()));
    store.expect_runs_claim().times(1).in_sequence(&mut seq).returning(|_, _, _| {
        let state =
            durable_domain::task::create(queue("q"), task("x").validate().unwrap(), time::OffsetDateTime::now_utc());
        Ok(vec![state])
    });
    let request = ClaimRequest { limit: 1, claim_timeout: 30.0, long_poll_seconds: Some(10.0), worker_id: None };
    let claimed = engine(store, notifier).claim("q".into(), request).await.unwrap();
    assert_eq!(claimed.len(), 1);
}

#[tokio::test]
async fn shutdown_ends_a_long_poll_with_an_empty_answer() {
    let mut store = MockStore::new();
    let mut notifier = MockNotifier::new();
    notifier.expect_subscribe().returning(|_| {
        let mut sub = MockSubscription::new();
        sub.expect_notified().returning(|| ());
        Box::new(sub)
    });
    store.expect_runs_claim().returning(|_, _, _| Ok(vec![]));
    store.expect_queue_next_due().returning(|_| Ok(None));
    let engine = Arc::new(engine(store, notifier));
    engine.shutdown();
    let request = ClaimRequest { limit: 1, claim_timeout: 30.0, long_poll_seconds: Some(60.0), worker_id: None };
    let claimed = tokio::time::timeout(Duration::from_secs(5), engine.claim("q".into(), request))
        .await
        .expect("answered at once")
        .unwrap();
    assert!(claimed.is_empty());
}

#[tokio::test]
async fn sweep_notifies_the_queues_it_made_claimable() {
    let mut store = MockStore::new();
    let mut notifier = MockNotifier::new();
    store
        .expect_claims_expire()
        .with(always(), always(), always())
        .returning(|_, _, _| Ok(ExpiredClaims { requeued: vec![queue("a")], tasks_failed: 1, wake: vec![queue("a")] }));
    store.expect_sleepers_wake().returning(|_, _| Ok(SleepersWoken { woken: 1, wake: vec![queue("b")] }));
    store.expect_schedules_fire().returning(|_, _, _| Ok(FiredSchedules { ticks: 4, wake: vec![queue("c")] }));
    store.expect_timeouts_enforce().returning(|_, _| Ok(2));
    store.expect_retention_delete().returning(|_, _| Ok(durable_ports::store::Cleanup { tasks: 3, events: 1 }));
    notifier.expect_notify().withf(|q| q == [queue("a")]).times(1).returning(|_| ());
    notifier.expect_notify().withf(|q| q == [queue("b")]).times(1).returning(|_| ());
    notifier.expect_notify().withf(|q| q == [queue("c")]).times(1).returning(|_| ());
    let report = engine(store, notifier).sweep_once().await.unwrap();
    assert_eq!((report.claims_expired, report.tasks_failed_by_expiry), (2, 1));
    assert_eq!(report.sleepers_woken, 1);
    assert_eq!(report.ticks_fired, 4);
    assert_eq!(report.tasks_timed_out, 2);
    assert_eq!(report.cleaned.tasks, 3);
}

#[tokio::test]
async fn a_failing_sweep_step_does_not_stop_the_others() {
    let mut store = MockStore::new();
    let mut notifier = MockNotifier::new();
    store.expect_claims_expire().times(1).returning(|_, _, _| Err(StoreError::Other("corrupt row".into())));
    store.expect_sleepers_wake().times(1).returning(|_, _| Ok(SleepersWoken { woken: 1, wake: vec![queue("b")] }));
    store.expect_schedules_fire().times(1).returning(|_, _, _| Err(StoreError::Other("bad schedule".into())));
    store.expect_timeouts_enforce().times(1).returning(|_, _| Err(StoreError::Other("statement failed".into())));
    store
        .expect_retention_delete()
        .times(1)
        .returning(|_, _| Ok(durable_ports::store::Cleanup { tasks: 3, events: 1 }));
    notifier.expect_notify().withf(|q| q == [queue("b")]).times(1).returning(|_| ());
    let report = engine(store, notifier).sweep_once().await.unwrap();
    assert_eq!(report.failed_steps, 3);
    assert_eq!(report.sleepers_woken, 1);
    assert_eq!(report.cleaned.tasks, 3);
}

#[tokio::test]
async fn a_sweep_is_an_error_only_when_every_step_failed() {
    let mut store = MockStore::new();
    let down = || StoreError::Unavailable("connection refused".into());
    store.expect_claims_expire().times(1).returning(move |_, _, _| Err(down()));
    store.expect_sleepers_wake().times(1).returning(move |_, _| Err(down()));
    store.expect_schedules_fire().times(1).returning(move |_, _, _| Err(down()));
    store.expect_timeouts_enforce().times(1).returning(move |_, _| Err(down()));
    store.expect_retention_delete().times(1).returning(move |_, _| Err(down()));
    let err = engine(store, MockNotifier::new()).sweep_once().await.unwrap_err();
    assert!(matches!(err, ServiceError::Unavailable(_)), "{err:?}");
}
