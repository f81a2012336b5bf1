//! Long-polling claims. They wait on real time, so every case keeps its
//! waits short. Cases that expect a *notification* to end the wait give the
//! engine a poll fallback longer than the wait itself, so only the adapter's
//! notifier can end it early; cases where a run becomes due because the
//! (manual) clock moved rely on the fallback re-check, as no notification
//! fires for that.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use durable_app::{Engine, EngineConfig};
use durable_domain::TaskState;
use durable_domain::command::{ClaimRequest, NewQueue, NewTask, WaitRequest};
use durable_domain::event::WaitResponse;
use durable_domain::retry::{RetryKind, RetryStrategy};
use durable_ports::Service;
use durable_ports::service::Retry;
use serde_json::json;
use tokio::task::JoinHandle;

use super::{Backend, Ctx, new_task, unique};

type Poll = JoinHandle<(Vec<TaskState>, StdDuration)>;

/// An engine whose waiters only re-check on a notification (or the due time
/// of a deferred run), never on the fallback, within a case's wait.
fn notified_only(backend: Backend) -> Ctx {
    Ctx::with_config(backend, EngineConfig { poll_fallback: StdDuration::from_secs(30), ..EngineConfig::default() })
}

fn spawn_poll(engine: &Arc<Engine>, queue: &str, seconds: f64) -> Poll {
    let engine = engine.clone();
    let queue = queue.to_owned();
    tokio::spawn(async move {
        let started = Instant::now();
        let request =
            ClaimRequest { limit: 10, claim_timeout: 30.0, long_poll_seconds: Some(seconds), worker_id: None };
        let claimed = engine.claim(queue, request).await.expect("long-poll claim");
        (claimed, started.elapsed())
    })
}

/// Lets the poll subscribe and find nothing, then checks it is still waiting.
async fn settle(poll: &Poll) {
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert!(!poll.is_finished(), "the long poll answered before anything was claimable");
}

/// The poll's answer, which must arrive within `within` from now.
async fn answer(poll: Poll, within: StdDuration) -> Vec<TaskState> {
    let (claimed, _) = tokio::time::timeout(within, poll).await.expect("the long poll did not end in time").unwrap();
    claimed
}

pub async fn long_poll_returns_at_once_when_work_is_due(backend: Backend) {
    let ctx = notified_only(backend);
    let queue = ctx.queue().await;
    let created = ctx.task(&queue).await;
    let poll = spawn_poll(&ctx.engine, &queue, 10.0);
    let claimed = answer(poll, StdDuration::from_secs(3)).await;
    assert_eq!(claimed.iter().map(|s| s.run.id).collect::<Vec<_>>(), vec![created.run_id]);
}

pub async fn long_poll_ends_when_a_task_is_created(backend: Backend) {
    let ctx = notified_only(backend);
    let queue = ctx.queue().await;
    let poll = spawn_poll(&ctx.engine, &queue, 10.0);
    settle(&poll).await;
    // created through another engine: another connection / replica
    let created = ctx.replica().create_task(queue.clone(), new_task("late")).await.unwrap();
    let claimed = answer(poll, StdDuration::from_secs(4)).await;
    assert_eq!(
        claimed.iter().map(|s| s.run.id).collect::<Vec<_>>(),
        vec![created.run_id],
        "it does not wait to fill the limit"
    );
}

pub async fn long_poll_ends_when_a_retry_is_created(backend: Backend) {
    let ctx = notified_only(backend);
    let queue = ctx.queue().await;
    let strategy = RetryStrategy { kind: RetryKind::Fixed, base_seconds: 0.0, factor: None, max_seconds: None };
    let task = NewTask { max_attempts: Some(2), retry_strategy: Some(strategy), ..new_task("flaky") };
    let held = ctx.started_with(&queue, task, 30.0).await;
    let poll = spawn_poll(&ctx.engine, &queue, 10.0);
    settle(&poll).await;
    let failed = ctx.replica().fail_run(held.run.id, "boom".into()).await.unwrap();
    let retry = failed.next.expect("a retry").run_id;
    let claimed = answer(poll, StdDuration::from_secs(4)).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].run.id, claimed[0].run.attempt), (retry, 2));
}

pub async fn long_poll_ends_when_a_retry_becomes_due(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let strategy = RetryStrategy { kind: RetryKind::Fixed, base_seconds: 30.0, factor: None, max_seconds: None };
    let task = NewTask { max_attempts: Some(2), retry_strategy: Some(strategy), ..new_task("flaky") };
    let held = ctx.started_with(&queue, task, 30.0).await;
    let Retry { run_id: retry, available_at: due } =
        ctx.engine.fail_run(held.run.id, "boom".into()).await.unwrap().next.expect("a retry");
    let poll = spawn_poll(&ctx.engine, &queue, 10.0);
    settle(&poll).await;
    ctx.set(due);
    let claimed = answer(poll, StdDuration::from_secs(5)).await;
    assert_eq!(claimed.iter().map(|s| s.run.id).collect::<Vec<_>>(), vec![retry]);
}

pub async fn long_poll_ends_when_a_deferred_run_becomes_due(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let created = ctx.create(&queue, NewTask { run_at: Some(ctx.at(30.0)), ..new_task("later") }).await;
    let poll = spawn_poll(&ctx.engine, &queue, 10.0);
    settle(&poll).await;
    ctx.set_at(30.0);
    let claimed = answer(poll, StdDuration::from_secs(5)).await;
    assert_eq!(claimed.iter().map(|s| s.run.id).collect::<Vec<_>>(), vec![created.run_id]);
}

pub async fn long_poll_ends_when_a_sleeper_wakes(backend: Backend) {
    let ctx = notified_only(backend);
    let queue = ctx.queue().await;
    let held = ctx.started(&queue).await;
    ctx.engine.schedule_run(held.run.id, ctx.at(30.0)).await.unwrap();
    let poll = spawn_poll(&ctx.engine, &queue, 10.0);
    settle(&poll).await;
    ctx.set_at(30.0);
    ctx.replica().sweep_once().await.unwrap();
    let claimed = answer(poll, StdDuration::from_secs(4)).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].run.id, claimed[0].run.attempt), (held.run.id, 1), "the same run wakes");
}

pub async fn long_poll_ends_when_an_event_wakes_a_waiter(backend: Backend) {
    let ctx = notified_only(backend);
    let queue = ctx.queue().await;
    let held = ctx.started(&queue).await;
    let event = unique("ev");
    let wait = WaitRequest {
        run_id: held.run.id,
        task_id: held.task.id,
        event_name: event.clone(),
        step_name: "s".into(),
        timeout_seconds: 60.0,
    };
    assert_eq!(ctx.engine.wait_for_event(wait).await.unwrap(), WaitResponse::Sleeping);
    let poll = spawn_poll(&ctx.engine, &queue, 10.0);
    settle(&poll).await;
    ctx.replica().emit_event(event, json!("go")).await.unwrap();
    let claimed = answer(poll, StdDuration::from_secs(4)).await;
    assert_eq!(claimed.iter().map(|s| s.run.id).collect::<Vec<_>>(), vec![held.run.id]);
}

pub async fn long_poll_returns_empty_when_time_is_up(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    ctx.create(&queue, NewTask { run_at: Some(ctx.at(3600.0)), ..new_task("much-later") }).await;
    ctx.started(&queue).await;
    let poll = spawn_poll(&ctx.engine, &queue, 1.0);
    let (claimed, waited) = tokio::time::timeout(StdDuration::from_secs(5), poll).await.expect("ended").unwrap();
    assert!(claimed.is_empty(), "{claimed:?}");
    assert!(waited >= StdDuration::from_millis(900), "answered after {waited:?}, before the time was up");
    assert!(waited < StdDuration::from_secs(3), "answered after {waited:?}");
}

pub async fn long_poll_returns_empty_at_once_on_shutdown(backend: Backend) {
    let ctx = notified_only(backend);
    let queue = ctx.queue().await;
    let poll = spawn_poll(&ctx.engine, &queue, 30.0);
    settle(&poll).await;
    ctx.engine.shutdown();
    let claimed = answer(poll, StdDuration::from_secs(2)).await;
    assert!(claimed.is_empty());
    // and a poll started after shutdown does not wait
    let late = spawn_poll(&ctx.engine, &queue, 30.0);
    assert!(answer(late, StdDuration::from_secs(2)).await.is_empty());
}

pub async fn long_poll_ends_when_a_key_slot_frees(backend: Backend) {
    let ctx = notified_only(backend);
    let queue = ctx.queue().await;
    let keyed = NewTask { concurrency_key: Some("k".into()), ..new_task("keyed") };
    let held = ctx.started_with(&queue, keyed.clone(), 30.0).await;
    let next = ctx.create(&queue, keyed).await;
    let poll = spawn_poll(&ctx.engine, &queue, 10.0);
    settle(&poll).await;
    ctx.replica().complete_run(held.run.id, None).await.unwrap();
    let claimed = answer(poll, StdDuration::from_secs(4)).await;
    assert_eq!(claimed.iter().map(|s| s.run.id).collect::<Vec<_>>(), vec![next.run_id]);
}

pub async fn long_poll_ends_when_a_capped_queue_has_room_again(backend: Backend) {
    let ctx = notified_only(backend);
    let queue = unique("q");
    let new = NewQueue { name: queue.clone(), concurrency_limit: Some(1), ..NewQueue::default() };
    ctx.engine.create_queue(new).await.unwrap();
    let held = ctx.started(&queue).await;
    let waiting = ctx.task(&queue).await;
    let poll = spawn_poll(&ctx.engine, &queue, 20.0);
    // A full queue's poller re-checks less and less often (10 ms, doubled
    // each time): after 5.5 s its next look is at about 10.2 s, so only the
    // notification that the queue has room answers it within the bound.
    tokio::time::sleep(StdDuration::from_millis(5500)).await;
    assert!(!poll.is_finished(), "the long poll answered while the queue was full");
    ctx.replica().complete_run(held.run.id, None).await.unwrap();
    let claimed = answer(poll, StdDuration::from_secs(4)).await;
    assert_eq!(claimed.iter().map(|s| s.run.id).collect::<Vec<_>>(), vec![waiting.run_id]);
}
