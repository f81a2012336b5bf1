//! Retention: finished tasks (with runs and checkpoints) go after their
//! queue's task TTL, events after the largest event TTL of any queue, in
//! bounded batches.

use durable_app::EngineConfig;
use durable_domain::command::{NewTask, TaskFilter};
use durable_domain::event::WaitResponse;
use durable_domain::{NotFound, TaskId, TaskStatus};
use durable_ports::service::PutCheckpoint;
use durable_ports::{Service, ServiceError};
use serde_json::json;

use super::events::wait_request;
use super::{Backend, Ctx, new_task, unique};

const MS: f64 = 0.001;

async fn assert_gone(ctx: &Ctx, task: TaskId) {
    assert_err!(ctx.engine.get_task(task).await, ServiceError::NotFound(NotFound::Task(_)));
    assert!(ctx.runs(task).await.is_empty(), "its runs are deleted too");
    assert_err!(ctx.engine.list_checkpoints(task).await, ServiceError::NotFound(_));
    assert_err!(ctx.engine.get_checkpoint(task, "s".into()).await, ServiceError::NotFound(_));
}

/// Whether an event of that name still exists, seen through wait-for-event
/// (step 2 resolves from an existing event; otherwise the run sleeps).
async fn event_exists(ctx: &Ctx, queue: &str, event: &str) -> bool {
    let held = ctx.started(queue).await;
    match ctx.engine.wait_for_event(wait_request(&held, event, "probe", 60.0)).await.unwrap() {
        WaitResponse::Outcome(_) => {
            ctx.complete(held.run.id).await;
            true
        }
        WaitResponse::Sleeping => {
            ctx.engine.cancel_task(held.task.id).await.unwrap();
            false
        }
    }
}

pub async fn finished_tasks_are_deleted_after_their_ttl(backend: Backend) {
    let ctx = Ctx::new(backend);
    let short = ctx.queue_with(Some(100), None).await;
    let long = ctx.queue().await;
    let held = ctx.started_with(&short, new_task("job"), 120.0).await;
    let kept = ctx.started_with(&long, new_task("job"), 120.0).await;
    let write = PutCheckpoint {
        task_id: held.task.id,
        step_name: "s".into(),
        state: json!(1),
        owner_run: held.run.id,
        extend_claim_by: None,
    };
    ctx.engine.put_checkpoint(write).await.unwrap();
    ctx.set_at(50.0);
    ctx.complete(held.run.id).await;
    ctx.complete(kept.run.id).await;
    ctx.set_at(150.0 - MS);
    ctx.sweep().await;
    assert_eq!(ctx.get(held.task.id).await.status, TaskStatus::Completed, "kept until the TTL after completion");
    assert_eq!(ctx.engine.list_checkpoints(held.task.id).await.unwrap().len(), 1);
    ctx.set_at(150.0 + MS);
    ctx.sweep().await;
    assert_gone(&ctx, held.task.id).await;
    assert_eq!(ctx.get(kept.task.id).await.status, TaskStatus::Completed, "the other queue's TTL applies there");
    assert_eq!(ctx.runs(kept.task.id).await.len(), 1);
}

pub async fn failed_and_canceled_tasks_are_deleted_too(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue_with(Some(10), None).await;
    let failed = ctx.started(&queue).await;
    ctx.engine.fail_run(failed.run.id, "boom".into()).await.unwrap();
    let canceled = ctx.task(&queue).await;
    ctx.engine.cancel_task(canceled.task_id).await.unwrap();
    ctx.set_at(10.0 + MS);
    ctx.sweep().await;
    assert_gone(&ctx, failed.task.id).await;
    assert_gone(&ctx, canceled.task_id).await;
}

pub async fn unfinished_tasks_are_kept(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue_with(Some(10), None).await;
    let pending = ctx.create(&queue, NewTask { run_at: Some(ctx.at(1e7)), ..new_task("pending") }).await;
    let claimed = ctx.started(&queue).await;
    let sleeping = ctx.started(&queue).await;
    ctx.engine.schedule_run(sleeping.run.id, ctx.at(1e7)).await.unwrap();
    let waiting = ctx.started(&queue).await;
    ctx.engine.wait_for_event(wait_request(&waiting, &unique("ev"), "s", 1e7)).await.unwrap();
    ctx.set_at(1000.0);
    ctx.sweep().await;
    ctx.sweep().await;
    for task in [pending.task_id, claimed.task.id, sleeping.task.id, waiting.task.id] {
        assert_eq!(ctx.get(task).await.status, TaskStatus::Pending);
    }
}

pub async fn zero_task_ttl_keeps_forever(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue_with(Some(0), None).await;
    let held = ctx.started(&queue).await;
    ctx.complete(held.run.id).await;
    ctx.advance(10.0 * 365.0 * 86_400.0);
    ctx.sweep().await;
    assert_eq!(ctx.get(held.task.id).await.status, TaskStatus::Completed);
    assert_eq!(ctx.runs(held.task.id).await.len(), 1);
}

pub async fn events_expire_after_the_largest_event_ttl(backend: Backend) {
    let ctx = Ctx::new(backend);
    // the only queues of this (isolated) store
    let queue = ctx.queue_with(None, Some(100)).await;
    ctx.queue_with(None, Some(200)).await;
    let (old, young) = (unique("old"), unique("young"));
    ctx.engine.emit_event(old.clone(), json!(1)).await.unwrap();
    ctx.set_at(100.0);
    ctx.engine.emit_event(young.clone(), json!(2)).await.unwrap();
    ctx.set_at(150.0);
    ctx.sweep().await;
    assert!(event_exists(&ctx, &queue, &old).await, "the largest TTL (200 s) applies, not 100 s");
    ctx.set_at(200.0 - MS);
    ctx.sweep().await;
    assert!(event_exists(&ctx, &queue, &old).await);
    ctx.set_at(200.0 + MS);
    ctx.sweep().await;
    assert!(!event_exists(&ctx, &queue, &old).await, "older than the largest TTL: deleted");
    assert!(event_exists(&ctx, &queue, &young).await);
    ctx.set_at(300.0 + MS);
    ctx.sweep().await;
    assert!(!event_exists(&ctx, &queue, &young).await);
}

pub async fn zero_event_ttl_anywhere_keeps_events(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue_with(None, Some(100)).await;
    let keeper = ctx.queue_with(None, Some(0)).await;
    let event = unique("ev");
    ctx.engine.emit_event(event.clone(), json!(1)).await.unwrap();
    ctx.advance(10.0 * 365.0 * 86_400.0);
    ctx.sweep().await;
    assert!(event_exists(&ctx, &queue, &event).await, "0 anywhere keeps events forever");
    // once that queue is gone, the largest TTL is 100 s again
    ctx.engine.delete_queue(keeper, false).await.unwrap();
    ctx.sweep().await;
    assert!(!event_exists(&ctx, &queue, &event).await);
}

pub async fn sweeps_work_in_bounded_batches(backend: Backend) {
    let ctx = Ctx::with_config(backend, EngineConfig { sweep_batch: 2, ..EngineConfig::default() });
    let queue = ctx.queue_with(Some(10), None).await;
    // five finished tasks past their TTL
    ctx.engine.create_tasks(queue.clone(), vec![new_task("done"); 5]).await.unwrap();
    for held in ctx.claim(&queue, 10).await {
        ctx.complete(held.run.id).await;
    }
    // three claims that run out
    ctx.engine.create_tasks(queue.clone(), vec![new_task("crash"); 3]).await.unwrap();
    assert_eq!(ctx.claim_with(&queue, 10, 5.0).await.len(), 3);
    ctx.set_at(10.0 + MS);
    let count = |status| {
        let filter =
            TaskFilter { queue_name: Some(queue.clone()), status: Some(status), limit: 1000, ..TaskFilter::default() };
        let engine = ctx.engine.clone();
        async move { engine.list_tasks(filter).await.unwrap().items.len() }
    };
    let first = ctx.engine.sweep_once().await.unwrap();
    assert_eq!((first.claims_expired, first.cleaned.tasks), (2, 2), "{first:?}");
    assert_eq!(count(TaskStatus::Completed).await, 3);
    let second = ctx.engine.sweep_once().await.unwrap();
    assert_eq!((second.claims_expired, second.cleaned.tasks), (1, 2), "{second:?}");
    let third = ctx.engine.sweep_once().await.unwrap();
    assert_eq!((third.claims_expired, third.cleaned.tasks), (0, 1), "{third:?}");
    assert_eq!(count(TaskStatus::Completed).await, 0);
    assert_eq!(ctx.claim(&queue, 10).await.len(), 3, "every expired claim was re-queued");
}
