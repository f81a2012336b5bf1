//! Claim expiry: the run fails with "claim expired", a new run is claimable
//! at once, expiries don't use up `max_attempts`, but a row of them fails
//! the task.

use durable_app::EngineConfig;
use durable_domain::command::NewTask;
use durable_domain::machine::Policy;
use durable_domain::retry::{RetryKind, RetryStrategy};
use durable_domain::task::CLAIM_EXPIRED;
use durable_domain::{RunStatus, TaskId, TaskState, TaskStatus};
use durable_ports::Service;

use super::{Backend, Ctx, JUST, new_task};

const SHORT: f64 = 5.0;

/// Claims the queue's one claimable run with a short claim and lets the
/// claim expire through a sweep. Returns the claim that expired.
async fn claim_and_expire(ctx: &Ctx, queue: &str) -> TaskState {
    let mut claimed = ctx.claim_with(queue, 10, SHORT).await;
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    ctx.advance(SHORT);
    ctx.sweep().await;
    claimed.remove(0)
}

fn patient() -> NewTask {
    let strategy = RetryStrategy { kind: RetryKind::Fixed, base_seconds: 0.0, factor: None, max_seconds: None };
    NewTask { max_attempts: Some(100), retry_strategy: Some(strategy), ..new_task("crashy") }
}

async fn expired_runs(ctx: &Ctx, task: TaskId) -> usize {
    ctx.runs(task).await.iter().filter(|r| r.error.as_deref() == Some(CLAIM_EXPIRED)).count()
}

pub async fn expired_claim_fails_the_run_and_requeues_at_once(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started_with(&queue, new_task("job"), 10.0).await;
    ctx.set(ctx.at(10.0) - JUST);
    ctx.sweep().await;
    assert_eq!(ctx.run(held.task.id, held.run.id).await.status, RunStatus::Claimed, "not expired a microsecond early");
    ctx.set_at(10.0);
    ctx.sweep().await;
    let runs = ctx.runs(held.task.id).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0].id, held.run.id);
    assert_eq!(runs[0].status, RunStatus::Failed);
    assert_eq!(runs[0].error.as_deref(), Some(CLAIM_EXPIRED));
    assert_eq!(runs[0].completed_at, Some(ctx.now()));
    assert_eq!((runs[1].attempt, runs[1].status), (2, RunStatus::Pending));
    let task = ctx.get(held.task.id).await;
    assert_eq!((task.status, task.attempts, task.current_run), (TaskStatus::Pending, 2, runs[1].id));
    assert_eq!(task.last_error.as_deref(), Some(CLAIM_EXPIRED));
    // claimable at once, without moving the clock
    let again = ctx.claim_one(&queue).await;
    assert_eq!((again.run.id, again.run.attempt), (runs[1].id, 2));
    assert_eq!(again.task.id, held.task.id);
}

pub async fn expiries_do_not_use_up_attempts(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let strategy = RetryStrategy { kind: RetryKind::Fixed, base_seconds: 0.0, factor: None, max_seconds: None };
    let task =
        ctx.create(&queue, NewTask { max_attempts: Some(2), retry_strategy: Some(strategy), ..new_task("t") }).await;
    for _ in 0..5 {
        claim_and_expire(&ctx, &queue).await;
    }
    assert_eq!(ctx.get(task.task_id).await.status, TaskStatus::Pending);
    let held = ctx.claim_one(&queue).await;
    assert_eq!(held.run.attempt, 6);
    let failed = ctx.engine.fail_run(held.run.id, "first real failure".into()).await.unwrap();
    assert!(failed.next.is_some(), "five expiries and one failure leave an attempt of two");
    claim_and_expire(&ctx, &queue).await;
    let held = ctx.claim_one(&queue).await;
    let failed = ctx.engine.fail_run(held.run.id, "second real failure".into()).await.unwrap();
    assert_eq!(failed.next, None);
    assert_eq!(ctx.get(task.task_id).await.status, TaskStatus::Failed);

    // with one attempt, any number of expiries still leaves the task to finish
    let single = ctx.task(&queue).await;
    for _ in 0..9 {
        claim_and_expire(&ctx, &queue).await;
    }
    let held = ctx.claim_one(&queue).await;
    ctx.complete(held.run.id).await;
    assert_eq!(ctx.get(single.task_id).await.status, TaskStatus::Completed);
}

pub async fn ten_expiries_in_a_row_fail_the_task(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let task = ctx.create(&queue, patient()).await;
    for _ in 0..9 {
        claim_and_expire(&ctx, &queue).await;
    }
    let current = ctx.get(task.task_id).await;
    assert_eq!((current.status, current.attempts), (TaskStatus::Pending, 10));
    claim_and_expire(&ctx, &queue).await;
    let failed = ctx.get(task.task_id).await;
    assert_eq!(failed.status, TaskStatus::Failed);
    assert_eq!(failed.completed_at, Some(ctx.now()));
    assert!(failed.last_error.as_deref().is_some_and(|e| e.contains(CLAIM_EXPIRED)), "{:?}", failed.last_error);
    let runs = ctx.runs(task.task_id).await;
    assert_eq!(runs.len(), 10, "no eleventh run");
    assert!(runs.iter().all(|r| r.status == RunStatus::Failed));
    assert_eq!(expired_runs(&ctx, task.task_id).await, 10);
    ctx.claim_none(&queue).await;
}

pub async fn other_outcomes_reset_the_expiry_streak(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let task = ctx.create(&queue, patient()).await;
    for _ in 0..9 {
        claim_and_expire(&ctx, &queue).await;
    }
    let held = ctx.claim_one(&queue).await;
    ctx.engine.fail_run(held.run.id, "worker failure".into()).await.unwrap();
    for _ in 0..9 {
        claim_and_expire(&ctx, &queue).await;
    }
    assert_eq!(ctx.get(task.task_id).await.status, TaskStatus::Pending, "the row was broken by a worker failure");
    claim_and_expire(&ctx, &queue).await;
    assert_eq!(ctx.get(task.task_id).await.status, TaskStatus::Failed);
    assert_eq!(ctx.runs(task.task_id).await.len(), 20);
}

pub async fn expiry_limit_is_configurable(backend: Backend) {
    let config = EngineConfig { policy: Policy { max_consecutive_expiries: 3 }, ..EngineConfig::default() };
    let ctx = Ctx::with_config(backend, config);
    let queue = ctx.queue().await;
    let task = ctx.create(&queue, patient()).await;
    for _ in 0..2 {
        claim_and_expire(&ctx, &queue).await;
    }
    assert_eq!(ctx.get(task.task_id).await.status, TaskStatus::Pending);
    assert_eq!(ctx.claim_with(&queue, 10, SHORT).await.len(), 1);
    ctx.advance(SHORT);
    let report = ctx.engine.sweep_once().await.unwrap();
    assert_eq!((report.claims_expired, report.tasks_failed_by_expiry), (1, 1), "{report:?}");
    assert_eq!(ctx.get(task.task_id).await.status, TaskStatus::Failed);
    assert_eq!(ctx.runs(task.task_id).await.len(), 3);
}

pub async fn a_requeued_run_keeps_its_place_ahead_of_a_later_backlog(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started_with(&queue, new_task("crashed"), SHORT).await;
    // A backlog that became due after the crashed task's run did.
    ctx.advance(1.0);
    let backlog = ctx.engine.create_tasks(queue.clone(), vec![new_task("later"); 20]).await.unwrap();
    ctx.advance(SHORT);
    ctx.sweep().await;
    let first = ctx.claim(&queue, 1).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].task.id, held.task.id, "the crashed worker's task is handed out first");
    assert_eq!(first[0].run.attempt, 2);
    assert_eq!(first[0].run.available_at, held.run.available_at, "due when its first run was");
    let rest = ctx.claim(&queue, 100).await;
    assert_eq!(rest.len(), backlog.len());
}
