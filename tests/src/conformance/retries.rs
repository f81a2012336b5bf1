//! Worker-reported failures: exact backoff delays and `max_attempts`.

use durable_domain::command::NewTask;
use durable_domain::retry::{RetryKind, RetryStrategy};
use durable_domain::{RunStatus, TaskState, TaskStatus};
use durable_ports::Service;
use durable_ports::service::Retry;

use super::{Backend, Ctx, JUST, new_task};

fn with(kind: RetryKind, base: f64, factor: Option<f64>, max: Option<f64>, attempts: i64) -> NewTask {
    NewTask {
        retry_strategy: Some(RetryStrategy { kind, base_seconds: base, factor, max_seconds: max }),
        max_attempts: Some(attempts),
        ..new_task("flaky")
    }
}

/// Fails the held run and checks the retry is due exactly `delay` seconds
/// later: not claimable a microsecond before, claimable at the due time.
/// Returns the retry, claimed.
async fn fail_and_expect_retry_after(ctx: &Ctx, queue: &str, held: &TaskState, delay: i64) -> TaskState {
    let failed = ctx.engine.fail_run(held.run.id, format!("attempt {} failed", held.run.attempt)).await.unwrap();
    assert_eq!(failed.run_id, held.run.id);
    assert_eq!(failed.attempt, held.run.attempt);
    let Retry { run_id: next, available_at: due } = failed.next.expect("a retry");
    assert_eq!(due, ctx.now() + time::Duration::seconds(delay), "backoff after attempt {}", held.run.attempt);
    let run = ctx.run(held.task.id, next).await;
    assert_eq!((run.status, run.attempt, run.available_at), (RunStatus::Pending, held.run.attempt + 1, due));
    let failed_run = ctx.run(held.task.id, held.run.id).await;
    assert_eq!(failed_run.status, RunStatus::Failed);
    assert_eq!(failed_run.error, Some(format!("attempt {} failed", held.run.attempt)));
    if delay > 0 {
        ctx.set(due - JUST);
        ctx.claim_none(queue).await;
    }
    ctx.set(due);
    let retry = ctx.claim_one(queue).await;
    assert_eq!((retry.run.id, retry.run.attempt), (next, held.run.attempt + 1));
    retry
}

pub async fn fixed_backoff_is_exact(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let mut held = ctx.started_with(&queue, with(RetryKind::Fixed, 5.0, None, None, 4), 30.0).await;
    for _ in 0..3 {
        held = fail_and_expect_retry_after(&ctx, &queue, &held, 5).await;
    }
    assert_eq!(held.run.attempt, 4);
}

pub async fn exponential_backoff_grows_and_is_capped(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let mut held = ctx.started_with(&queue, with(RetryKind::Exponential, 2.0, Some(3.0), Some(50.0), 6), 30.0).await;
    for delay in [2, 6, 18, 50, 50] {
        held = fail_and_expect_retry_after(&ctx, &queue, &held, delay).await;
    }
    assert_eq!(held.run.attempt, 6);
}

pub async fn exponential_factor_defaults_to_two(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let mut held = ctx.started_with(&queue, with(RetryKind::Exponential, 1.0, None, None, 4), 30.0).await;
    for delay in [1, 2, 4] {
        held = fail_and_expect_retry_after(&ctx, &queue, &held, delay).await;
    }
}

pub async fn no_strategy_retries_after_one_second(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let task = NewTask { max_attempts: Some(3), ..new_task("flaky") };
    let mut held = ctx.started_with(&queue, task, 30.0).await;
    for _ in 0..2 {
        held = fail_and_expect_retry_after(&ctx, &queue, &held, 1).await;
    }
}

pub async fn max_attempts_bounds_worker_failures(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let mut held = ctx.started_with(&queue, with(RetryKind::Fixed, 0.0, None, None, 3), 30.0).await;
    for _ in 0..2 {
        held = fail_and_expect_retry_after(&ctx, &queue, &held, 0).await;
        let task = ctx.get(held.task.id).await;
        assert_eq!((task.status, task.attempts), (TaskStatus::Pending, held.run.attempt));
    }
    ctx.advance(1.0);
    let last = ctx.engine.fail_run(held.run.id, "final".into()).await.unwrap();
    assert_eq!(last.attempt, 3);
    assert_eq!(last.next, None, "no attempts left");
    let task = ctx.get(held.task.id).await;
    assert_eq!(task.status, TaskStatus::Failed);
    assert_eq!(task.last_error.as_deref(), Some("final"));
    assert_eq!(task.completed_at, Some(ctx.now()));
    let runs = ctx.runs(held.task.id).await;
    assert_eq!(
        runs.iter().map(|r| (r.attempt, r.status)).collect::<Vec<_>>(),
        vec![(1, RunStatus::Failed), (2, RunStatus::Failed), (3, RunStatus::Failed)]
    );
    ctx.advance(100.0);
    ctx.claim_none(&queue).await;
}

pub async fn one_attempt_by_default(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started(&queue).await;
    assert_eq!(held.task.spec.max_attempts, 1);
    let failed = ctx.engine.fail_run(held.run.id, "boom".into()).await.unwrap();
    assert_eq!((failed.attempt, failed.next), (1, None));
    assert_eq!(ctx.get(held.task.id).await.status, TaskStatus::Failed);
    ctx.advance(10.0);
    ctx.claim_none(&queue).await;
}
