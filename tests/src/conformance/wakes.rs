//! Which queues a write asks to wake (`wake` in the store's answers): the
//! domain's decision, `durable_domain::wake`, held of every store. The
//! engine notifies exactly this list, so a wrong one strands long polls or
//! wakes them for nothing.

use durable_domain::command::Claim;
use durable_domain::retry::{RetryKind, RetryStrategy};
use durable_domain::{Queue, QueueName, TaskSpec, Timestamp, clock};
use durable_ports::{Clock, SystemClock};

use super::{Backend, unique};

fn spec(run_at: Option<Timestamp>) -> TaskSpec {
    TaskSpec { run_at, ..TaskSpec::named("job") }
}

async fn queue(backend: &Backend, now: Timestamp) -> QueueName {
    let name = QueueName::parse("queue", &unique("wakes")).unwrap();
    let queue = Queue { name: name.clone(), created_at: now, cleanup: Default::default(), flow: Default::default() };
    backend.store.queue_create(queue, 1000).await.expect("queue");
    name
}

fn claim() -> Claim {
    Claim { limit: 10, claim_timeout: clock::seconds(30.0), long_poll: None, worker_id: None }
}

pub async fn a_create_wakes_its_queue_only_for_a_new_claimable_run(backend: Backend) {
    let now = SystemClock.now();
    let q = queue(&backend, now).await;
    let later = Some(clock::add(now, clock::seconds(60.0)));
    let store = &backend.store;
    let just_q = vec![q.clone()];
    assert_eq!(store.tasks_create(&q, vec![spec(None)], now).await.unwrap().wake, just_q, "due now");
    assert_eq!(store.tasks_create(&q, vec![spec(later)], now).await.unwrap().wake, [], "deferred");
    let batch = vec![spec(None), spec(later), spec(None)];
    assert_eq!(store.tasks_create(&q, batch, now).await.unwrap().wake, just_q, "one entry per queue");
    let keyed = TaskSpec { idempotency_key: Some("k".into()), ..spec(None) };
    assert_eq!(store.tasks_create(&q, vec![keyed.clone()], now).await.unwrap().wake, just_q, "new key");
    assert_eq!(store.tasks_create(&q, vec![keyed], now).await.unwrap().wake, [], "deduplicated");
}

pub async fn a_failure_wakes_its_queue_only_for_a_retry_due_now(backend: Backend) {
    let now = SystemClock.now();
    let q = queue(&backend, now).await;
    let store = &backend.store;
    for (base_seconds, wakes) in [(0.0, true), (60.0, false)] {
        let retry = RetryStrategy { kind: RetryKind::Fixed, base_seconds, factor: None, max_seconds: None };
        let retried = TaskSpec { max_attempts: 2, retry_strategy: Some(retry), ..spec(None) };
        store.tasks_create(&q, vec![retried], now).await.unwrap();
        let held = store.runs_claim(&q, &claim(), now).await.unwrap();
        let failed = store.run_fail(held[0].run.id, "boom", now).await.unwrap();
        assert!(failed.next.is_some(), "retried");
        let expected = if wakes { vec![q.clone()] } else { vec![] };
        assert_eq!(failed.wake, expected, "retry after {base_seconds} s");
        let last = store.runs_claim(&q, &claim(), now).await.unwrap();
        if let Some(last) = last.first() {
            assert!(store.run_fail(last.run.id, "boom", now).await.unwrap().wake.is_empty(), "task failed");
        }
    }
}

pub async fn a_schedule_wakes_its_queue_only_when_the_run_is_claimable_now(backend: Backend) {
    let now = SystemClock.now();
    let q = queue(&backend, now).await;
    let store = &backend.store;
    store.tasks_create(&q, vec![spec(None)], now).await.unwrap();
    let held = store.runs_claim(&q, &claim(), now).await.unwrap();
    let run = held[0].run.id;
    let later = clock::add(now, clock::seconds(60.0));
    assert_eq!(store.run_schedule(run, later, now).await.unwrap().wake, [], "asleep");
    assert_eq!(store.run_schedule(run, now, now).await.unwrap().wake, vec![q], "woken now");
}
