//! Child tasks **(ext)**: a task created with `parent_task_id` records its
//! parent, is listed by it, and lives its own life (a parent's end or
//! cancel does not end it); the parent's runs may wait for its end
//! (wait-for-task), woken by it; anyone may read a task's end (its result).

use durable_domain::child::WaitForTaskRequest;
use durable_domain::command::{NewTask, TaskFilter};
use durable_domain::event::{WaitOutcome, WaitResponse};
use durable_domain::{NotFound, Rejection, RunStatus, TaskId, TaskState, TaskStatus};
use durable_ports::{Service, ServiceError};
use serde_json::json;

use super::{Backend, Ctx, new_task};

fn child_of(parent: TaskId, name: &str) -> NewTask {
    NewTask { parent_task_id: Some(parent), ..new_task(name) }
}

async fn children(ctx: &Ctx, parent: TaskId) -> Vec<TaskId> {
    let filter = TaskFilter { parent_task_id: Some(parent), limit: 100, ..TaskFilter::default() };
    ctx.engine.list_tasks(filter).await.expect("list children").items.into_iter().map(|t| t.id).collect()
}

pub async fn a_child_records_its_parent_and_is_listed_by_it(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let parent = ctx.task(&queue).await.task_id;
    let other_parent = ctx.task(&queue).await.task_id;
    let first = ctx.create(&queue, child_of(parent, "child")).await.task_id;
    let second = ctx.create(&queue, child_of(parent, "child")).await.task_id;
    let unrelated = ctx.create(&queue, child_of(other_parent, "child")).await.task_id;

    assert_eq!(ctx.get(first).await.spec.parent_task_id, Some(parent));
    assert_eq!(ctx.get(parent).await.spec.parent_task_id, None);
    // Newest first, like every listing.
    assert_eq!(children(&ctx, parent).await, vec![second, first]);
    assert_eq!(children(&ctx, other_parent).await, vec![unrelated]);
    assert_eq!(children(&ctx, first).await, Vec::<TaskId>::new());
}

pub async fn a_child_of_an_unknown_parent_is_not_found(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let missing = TaskId::new();
    let refused = ctx.engine.create_task(queue.clone(), child_of(missing, "child")).await;
    assert!(matches!(refused, Err(ServiceError::NotFound(NotFound::Task(id))) if id == missing), "{refused:?}");
    // In a batch, the whole batch is refused.
    let parent = ctx.task(&queue).await.task_id;
    let batch = vec![child_of(parent, "fine"), child_of(missing, "orphan")];
    assert_err!(ctx.engine.create_tasks(queue.clone(), batch).await, ServiceError::NotFound(NotFound::Task(_)));
    assert_eq!(children(&ctx, parent).await, Vec::<TaskId>::new());
}

pub async fn canceling_a_parent_leaves_its_children_running(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let parent = ctx.started(&queue).await;
    let child = ctx.create(&queue, child_of(parent.task.id, "child")).await;

    ctx.engine.cancel_task(parent.task.id).await.expect("cancel the parent");
    assert_eq!(ctx.get(parent.task.id).await.status, TaskStatus::Canceled);
    let claimed = ctx.claim_one(&queue).await;
    assert_eq!(claimed.task.id, child.task_id, "the child is still claimable");
    ctx.complete(claimed.run.id).await;
    let child = ctx.get(child.task_id).await;
    assert_eq!(child.status, TaskStatus::Completed);
    assert_eq!(ctx.run(child.id, child.current_run).await.status, RunStatus::Completed);
}

fn wait_for(parent: &TaskState, child: TaskId, step: &str, timeout_seconds: Option<f64>) -> WaitForTaskRequest {
    WaitForTaskRequest { run_id: parent.run.id, task_id: child, step_name: step.into(), timeout_seconds }
}

fn resolved(payload: serde_json::Value) -> WaitResponse {
    WaitResponse::Outcome(WaitOutcome::Resolved { payload })
}

pub async fn a_parent_sleeps_until_its_child_ends_then_replays_the_end(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let parent = ctx.started(&queue).await;
    let child = ctx.create(&queue, child_of(parent.task.id, "child")).await.task_id;

    let waited = ctx.engine.wait_for_task(wait_for(&parent, child, "await-child", None)).await.unwrap();
    assert_eq!(waited, WaitResponse::Sleeping);
    assert_eq!(ctx.run(parent.task.id, parent.run.id).await.status, RunStatus::Sleeping);

    let running = ctx.claim_one(&queue).await;
    assert_eq!(running.task.id, child, "the sleeping parent is not claimable");
    ctx.engine.complete_run(running.run.id, Some(json!({"sent": 3}))).await.unwrap();

    // The child's end woke the parent: claimable now, not at its timeout.
    let again = ctx.claim_one(&queue).await;
    assert_eq!((again.task.id, again.run.id), (parent.task.id, parent.run.id));
    let end = json!({"task_id": child.to_string(), "status": "completed", "result": {"sent": 3}});
    let replayed = ctx.engine.wait_for_task(wait_for(&again, child, "await-child", None)).await.unwrap();
    assert_eq!(replayed, resolved(end.clone()));
    let once_more = ctx.engine.wait_for_task(wait_for(&again, child, "await-child", None)).await.unwrap();
    assert_eq!(once_more, resolved(end), "replays are deterministic");
}

/// The child ends while the parent holds its claim and has not waited yet:
/// the wait resolves at once (nothing to lose between the two).
pub async fn a_child_that_ended_before_the_wait_resolves_it_at_once(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let parent = ctx.started_with(&queue, new_task("parent"), 600.0).await;
    let child = ctx.create(&queue, NewTask { max_attempts: Some(1), ..child_of(parent.task.id, "child") }).await;
    let running = ctx.claim_one(&queue).await;
    ctx.engine.fail_run(running.run.id, "out of stock".into()).await.unwrap();

    let waited = ctx.engine.wait_for_task(wait_for(&parent, child.task_id, "await", Some(60.0))).await.unwrap();
    let end = json!({"task_id": child.task_id.to_string(), "status": "failed", "error": "out of stock"});
    assert_eq!(waited, resolved(end));
    assert_eq!(ctx.run(parent.task.id, parent.run.id).await.status, RunStatus::Claimed, "the parent keeps its claim");
}

pub async fn a_canceled_child_wakes_its_waiting_parent(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let parent = ctx.started(&queue).await;
    let child = ctx.create(&queue, child_of(parent.task.id, "child")).await.task_id;
    assert_eq!(
        ctx.engine.wait_for_task(wait_for(&parent, child, "await", Some(3600.0))).await.unwrap(),
        WaitResponse::Sleeping
    );
    ctx.engine.cancel_task(child).await.unwrap();
    let again = ctx.claim_one(&queue).await;
    assert_eq!(again.run.id, parent.run.id);
    let answer = ctx.engine.wait_for_task(wait_for(&again, child, "await", Some(3600.0))).await.unwrap();
    assert_eq!(answer, resolved(json!({"task_id": child.to_string(), "status": "canceled"})));
}

pub async fn a_wait_for_a_task_times_out_and_replays_the_timeout(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let parent = ctx.started(&queue).await;
    let child = ctx.create(&queue, child_of(parent.task.id, "slow")).await.task_id;
    let timeout = Some(5.0);
    assert_eq!(
        ctx.engine.wait_for_task(wait_for(&parent, child, "await", timeout)).await.unwrap(),
        WaitResponse::Sleeping
    );

    ctx.advance(6.0);
    ctx.sweep().await;
    let woken = ctx.claim(&queue, 10).await;
    let again = woken.iter().find(|s| s.task.id == parent.task.id).expect("the parent woke at its timeout");
    let timed_out = WaitResponse::Outcome(WaitOutcome::Timeout);
    assert_eq!(ctx.engine.wait_for_task(wait_for(again, child, "await", timeout)).await.unwrap(), timed_out);
    // The child ending later changes nothing: the outcome is recorded.
    let slow = woken.iter().find(|s| s.task.id == child).expect("the child was claimable all along");
    ctx.complete(slow.run.id).await;
    assert_eq!(ctx.engine.wait_for_task(wait_for(again, child, "await", timeout)).await.unwrap(), timed_out);
}

pub async fn only_a_parent_may_wait_for_a_task(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let parent = ctx.started(&queue).await;
    let stranger = ctx.task(&queue).await.task_id;
    assert_err!(
        ctx.engine.wait_for_task(wait_for(&parent, stranger, "await", None)).await,
        ServiceError::Validation(e) if e.field == "task_id"
    );
    let other = ctx.task(&queue).await.task_id;
    let someone_elses = ctx.create(&queue, child_of(other, "child")).await.task_id;
    assert_err!(
        ctx.engine.wait_for_task(wait_for(&parent, someone_elses, "await", None)).await,
        ServiceError::Conflict(Rejection::RunNotOfTask { .. })
    );
    assert_err!(
        ctx.engine.wait_for_task(wait_for(&parent, TaskId::new(), "await", None)).await,
        ServiceError::NotFound(NotFound::Task(_))
    );
    let child = ctx.create(&queue, child_of(parent.task.id, "child")).await.task_id;
    assert_err!(
        ctx.engine.wait_for_task(wait_for(&parent, child, "await", Some(0.5))).await,
        ServiceError::Validation(e) if e.field == "timeout_seconds"
    );
}

pub async fn a_task_result_is_its_end(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let created = ctx.task(&queue).await;
    let pending = ctx.engine.task_result(created.task_id, None).await.unwrap();
    assert_eq!((pending.status, pending.result.clone(), pending.error.clone()), (TaskStatus::Pending, None, None));
    assert!(!pending.is_finished());

    let held = ctx.claim_one(&queue).await;
    ctx.engine.complete_run(held.run.id, Some(json!([1, 2]))).await.unwrap();
    let done = ctx.engine.task_result(created.task_id, Some(30.0)).await.unwrap();
    assert_eq!((done.status, done.result, done.error), (TaskStatus::Completed, Some(json!([1, 2])), None));
    assert_err!(ctx.engine.task_result(TaskId::new(), None).await, ServiceError::NotFound(NotFound::Task(_)));
    assert_err!(
        ctx.engine.task_result(created.task_id, Some(61.0)).await,
        ServiceError::Validation(e) if e.field == "wait_seconds"
    );
}

/// A child's end is delivered as an event of a reserved name; no client
/// may emit one and fake it.
pub async fn reserved_event_names_cannot_be_emitted(backend: Backend) {
    let ctx = Ctx::new(backend);
    let name = durable_domain::child::end_event_name(TaskId::new());
    assert_err!(
        ctx.engine.emit_event(name, json!(null)).await,
        ServiceError::Validation(e) if e.field == "event_name"
    );
}

/// A result waiter marks the task watched; the transaction that ends a
/// watched task signals its queue (PostgreSQL: through `NOTIFY`, so every
/// replica hears it), and an unwatched one does not. The unwatched task
/// ends first, in a queue of its own: signals arrive in commit order, so
/// once the watched task's signal is in, any signal of the other would be.
pub async fn the_end_of_a_watched_task_signals_its_queue(backend: Backend) {
    use futures::FutureExt;

    let ctx = Ctx::new(backend);
    let (watched_queue, unwatched_queue) = (ctx.queue().await, ctx.queue().await);
    let watched = ctx.task(&watched_queue).await.task_id;
    let unwatched = ctx.task(&unwatched_queue).await.task_id;
    let marked = ctx.store.task_watch_result(watched).await.expect("watch");
    assert!(marked.result_watched && marked.status == TaskStatus::Pending);
    assert_err!(ctx.store.task_watch_result(TaskId::new()).await, durable_ports::StoreError::NotFound(_));
    let (watched_run, unwatched_run) = (ctx.claim_one(&watched_queue).await, ctx.claim_one(&unwatched_queue).await);
    assert_eq!((watched_run.task.id, unwatched_run.task.id), (watched, unwatched));

    let name = |queue: &str| durable_domain::QueueName::parse("queue", queue).unwrap();
    let mut quiet = ctx.notifier.subscribe(&name(&unwatched_queue));
    let mut hint = ctx.notifier.subscribe(&name(&watched_queue));
    ctx.complete(unwatched_run.run.id).await;
    ctx.complete(watched_run.run.id).await;
    tokio::time::timeout(std::time::Duration::from_secs(10), hint.notified())
        .await
        .expect("the watched task's end signals its queue");
    assert!(quiet.notified().now_or_never().is_none(), "an unwatched task's end signals nothing");
    let end = ctx.engine.task_result(watched, Some(5.0)).await.unwrap();
    assert_eq!(end.status, TaskStatus::Completed);
}
