//! Retrying a failed or canceled task **(ext)**: a new run with the next
//! attempt, claimable at once, and the task pending again.

use durable_domain::command::NewTask;
use durable_domain::{NotFound, Rejection, RunStatus, TaskId, TaskStatus};
use durable_ports::{Service, ServiceError};

use super::{Backend, Ctx, new_task};

pub async fn a_failed_task_is_retried_with_a_new_run(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started(&queue).await;
    ctx.engine.fail_run(held.run.id, "boom".into()).await.unwrap();
    assert_eq!(ctx.get(held.task.id).await.status, TaskStatus::Failed);
    ctx.advance(5.0);

    let retried = ctx.engine.retry_task(held.task.id).await.expect("retry");
    assert_eq!((retried.task_id, retried.attempt), (held.task.id, 2));
    let task = ctx.get(held.task.id).await;
    assert_eq!(
        (task.status, task.current_run, task.attempts, task.completed_at),
        (TaskStatus::Pending, retried.run_id, 2, None)
    );
    assert_eq!(task.last_error.as_deref(), Some("boom"), "the last error stays until a run ends");
    let claimed = ctx.claim_one(&queue).await;
    assert_eq!((claimed.run.id, claimed.run.attempt), (retried.run_id, 2));
    ctx.complete(claimed.run.id).await;
    assert_eq!(ctx.get(held.task.id).await.status, TaskStatus::Completed);
    let runs = ctx.runs(held.task.id).await;
    let statuses: Vec<RunStatus> = runs.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![RunStatus::Failed, RunStatus::Completed], "the failed run stays as it ended");
}

pub async fn a_canceled_task_is_retried(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let created = ctx.task(&queue).await;
    ctx.engine.cancel_task(created.task_id).await.unwrap();
    let retried = ctx.engine.retry_task(created.task_id).await.unwrap();
    assert_eq!(retried.attempt, 2);
    let claimed = ctx.claim_one(&queue).await;
    assert_eq!(claimed.run.id, retried.run_id);
    assert_eq!(ctx.get(created.task_id).await.status, TaskStatus::Pending);
}

pub async fn only_failed_or_canceled_tasks_are_retried(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let pending = ctx.task(&queue).await;
    assert_err!(
        ctx.engine.retry_task(pending.task_id).await,
        ServiceError::Conflict(Rejection::NotRetryable { status: "pending", .. })
    );
    let other = ctx.queue().await;
    let done = ctx.started(&other).await;
    ctx.complete(done.run.id).await;
    assert_err!(
        ctx.engine.retry_task(done.task.id).await,
        ServiceError::Conflict(Rejection::NotRetryable { status: "completed", .. })
    );
    assert_err!(ctx.engine.retry_task(TaskId::new()).await, ServiceError::NotFound(NotFound::Task(_)));
    let runs = ctx.runs(pending.task_id).await;
    assert_eq!(runs.len(), 1, "a refused retry creates no run");
}

pub async fn a_retried_keyed_task_waits_for_its_key(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let keyed = || NewTask { concurrency_key: Some("customer:7".into()), ..new_task("job") };
    let first = ctx.started_with(&queue, keyed(), 30.0).await;
    ctx.engine.fail_run(first.run.id, "boom".into()).await.unwrap();
    let second = ctx.started_with(&queue, keyed(), 30.0).await;
    let retried = ctx.engine.retry_task(first.task.id).await.unwrap();
    ctx.claim_none(&queue).await;
    ctx.complete(second.run.id).await;
    let claimed = ctx.claim_one(&queue).await;
    assert_eq!(claimed.run.id, retried.run_id, "the key's slot freed: the retried run goes");
}
