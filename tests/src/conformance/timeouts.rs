//! Start and execution timeouts, enforced by the sweep.

use durable_domain::command::NewTask;
use durable_domain::machine::{EXECUTION_TIMEOUT, START_TIMEOUT};
use durable_domain::retry::{RetryKind, RetryStrategy};
use durable_domain::{RunStatus, TaskStatus};
use durable_ports::Service;

use super::{Backend, Ctx, JUST, is_conflict, new_task};

pub async fn start_timeout_cancels_unclaimed_task(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let due = ctx
        .create(&queue, NewTask { start_timeout: Some(10.0), run_at: Some(ctx.at(60.0)), ..new_task("deferred") })
        .await;
    let now = ctx.create(&queue, NewTask { start_timeout: Some(10.0), ..new_task("ready") }).await;
    ctx.set(ctx.at(10.0) - JUST);
    ctx.sweep().await;
    for task in [due.task_id, now.task_id] {
        assert_eq!(ctx.get(task).await.status, TaskStatus::Pending);
    }
    ctx.set_at(10.0);
    ctx.sweep().await;
    for (task, run) in [(due.task_id, due.run_id), (now.task_id, now.run_id)] {
        let canceled = ctx.get(task).await;
        assert_eq!(canceled.status, TaskStatus::Canceled);
        assert_eq!(canceled.completed_at, Some(ctx.now()));
        assert_eq!(canceled.last_error.as_deref(), Some(START_TIMEOUT));
        assert_eq!(ctx.run(task, run).await.status, RunStatus::Canceled);
    }
    ctx.set_at(60.0);
    ctx.claim_none(&queue).await;
}

pub async fn start_timeout_spares_a_claimed_task(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let created = ctx.create(&queue, NewTask { start_timeout: Some(10.0), ..new_task("job") }).await;
    ctx.set_at(5.0);
    let held = ctx.claim_one(&queue).await;
    ctx.set_at(11.0);
    ctx.sweep().await;
    assert_eq!(ctx.get(created.task_id).await.status, TaskStatus::Pending);
    ctx.complete(held.run.id).await;
    assert_eq!(ctx.get(created.task_id).await.status, TaskStatus::Completed);
}

pub async fn execution_timeout_cancels_across_retries(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let strategy = RetryStrategy { kind: RetryKind::Fixed, base_seconds: 1.0, factor: None, max_seconds: None };
    let task = NewTask {
        execution_timeout: Some(20.0),
        max_attempts: Some(5),
        retry_strategy: Some(strategy),
        ..new_task("slow")
    };
    let first = ctx.started_with(&queue, task, 30.0).await;
    ctx.set_at(2.0);
    ctx.engine.fail_run(first.run.id, "boom".into()).await.unwrap();
    ctx.set_at(3.0);
    let second = ctx.claim_one(&queue).await;
    assert_eq!(second.run.attempt, 2);
    ctx.set(ctx.at(20.0) - JUST);
    ctx.sweep().await;
    assert_eq!(ctx.get(first.task.id).await.status, TaskStatus::Pending);
    ctx.set_at(20.0);
    ctx.sweep().await;
    let task = ctx.get(first.task.id).await;
    assert_eq!(task.status, TaskStatus::Canceled);
    assert_eq!(task.last_error.as_deref(), Some(EXECUTION_TIMEOUT));
    assert_eq!(ctx.run(first.task.id, second.run.id).await.status, RunStatus::Canceled, "the live run is canceled");
    assert!(is_conflict(&ctx.engine.complete_run(second.run.id, None).await), "the worker is fenced");
    assert_eq!(ctx.get(first.task.id).await.status, TaskStatus::Canceled);
}

pub async fn execution_timeout_spares_a_completed_task(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started_with(&queue, NewTask { execution_timeout: Some(20.0), ..new_task("quick") }, 30.0).await;
    ctx.set_at(5.0);
    ctx.complete(held.run.id).await;
    ctx.set_at(30.0);
    ctx.sweep().await;
    let task = ctx.get(held.task.id).await;
    assert_eq!((task.status, task.completed_at), (TaskStatus::Completed, Some(ctx.at(5.0))));
}
