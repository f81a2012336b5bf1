//! Scheduling runs: deferring a pending run, durable sleep of a claimed run
//! (same run, same attempt), 409 on finished runs.

use durable_domain::{NotFound, Rejection, RunId, RunStatus, TaskStatus};
use durable_ports::{Service, ServiceError};

use super::{Backend, Ctx, JUST};

pub async fn schedule_defers_a_pending_run(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let created = ctx.task(&queue).await;
    let scheduled = ctx.engine.schedule_run(created.run_id, ctx.at(60.0)).await.unwrap();
    assert_eq!(scheduled, ctx.at(60.0));
    let run = ctx.run(created.task_id, created.run_id).await;
    assert_eq!((run.status, run.available_at), (RunStatus::Pending, ctx.at(60.0)));
    ctx.claim_none(&queue).await;
    ctx.set(ctx.at(60.0) - JUST);
    ctx.claim_none(&queue).await;
    ctx.set_at(60.0);
    let claimed = ctx.claim_one(&queue).await;
    assert_eq!((claimed.run.id, claimed.run.attempt), (created.run_id, 1));
    assert_eq!(ctx.runs(created.task_id).await.len(), 1);
}

pub async fn schedule_puts_a_claimed_run_to_sleep(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started(&queue).await; // claim ends at +30
    ctx.set_at(2.0);
    let scheduled = ctx.engine.schedule_run(held.run.id, ctx.at(60.0)).await.unwrap();
    assert_eq!(scheduled, ctx.at(60.0));
    let run = ctx.run(held.task.id, held.run.id).await;
    assert_eq!(run.status, RunStatus::Sleeping);
    assert_eq!(run.attempt, 1);
    assert_eq!(run.claim_expires_at, None, "the claim was given up");
    ctx.claim_none(&queue).await;
    // the old claim's end passing does not expire a sleeping run
    ctx.set_at(40.0);
    ctx.sweep().await;
    ctx.claim_none(&queue).await;
    ctx.set(ctx.at(60.0) - JUST);
    ctx.sweep().await;
    ctx.claim_none(&queue).await;
    assert_eq!(ctx.run(held.task.id, held.run.id).await.status, RunStatus::Sleeping);
    ctx.set_at(60.0);
    ctx.sweep().await;
    let woken = ctx.claim_one(&queue).await;
    assert_eq!((woken.run.id, woken.run.attempt), (held.run.id, 1), "same run, same attempt");
    let runs = ctx.runs(held.task.id).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(ctx.get(held.task.id).await.attempts, 1);
    ctx.complete(held.run.id).await;
    assert_eq!(ctx.get(held.task.id).await.status, TaskStatus::Completed);
}

pub async fn schedule_to_the_past_makes_the_run_claimable(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started(&queue).await;
    ctx.advance(5.0);
    ctx.engine.schedule_run(held.run.id, ctx.at(1.0)).await.unwrap();
    let again = ctx.claim_one(&queue).await;
    assert_eq!((again.run.id, again.run.attempt), (held.run.id, 1));
}

pub async fn schedule_of_a_finished_run_conflicts(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let completed = ctx.started(&queue).await;
    ctx.complete(completed.run.id).await;
    let failed = ctx.started(&queue).await;
    ctx.engine.fail_run(failed.run.id, "boom".into()).await.unwrap();
    let canceled = ctx.task(&queue).await;
    ctx.engine.cancel_task(canceled.task_id).await.unwrap();
    for (task, run) in
        [(completed.task.id, completed.run.id), (failed.task.id, failed.run.id), (canceled.task_id, canceled.run_id)]
    {
        let before = ctx.snapshot(task).await;
        assert_err!(
            ctx.engine.schedule_run(run, ctx.at(60.0)).await,
            ServiceError::Conflict(Rejection::RunFinished { .. } | Rejection::AlreadyFinished { .. })
        );
        assert_eq!(ctx.snapshot(task).await, before);
    }
    ctx.set_at(60.0);
    ctx.sweep().await;
    ctx.claim_none(&queue).await;
}

pub async fn schedule_of_unknown_run_is_not_found(backend: Backend) {
    let ctx = Ctx::new(backend);
    assert_err!(ctx.engine.schedule_run(RunId::new(), ctx.at(1.0)).await, ServiceError::NotFound(NotFound::Run(_)));
}
