//! Canceling tasks: the task and its live run end as canceled; the worker
//! still holding it gets 409; finished tasks cannot be canceled.

use durable_domain::{NotFound, Rejection, RunStatus, TaskId, TaskStatus};
use durable_ports::service::PutCheckpoint;
use durable_ports::{Service, ServiceError};
use serde_json::json;

use super::events::wait_request;
use super::{Backend, Ctx, is_conflict, unique};

pub async fn cancel_pending_task(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let created = ctx.task(&queue).await;
    ctx.advance(2.0);
    ctx.engine.cancel_task(created.task_id).await.unwrap();
    let task = ctx.get(created.task_id).await;
    assert_eq!((task.status, task.completed_at), (TaskStatus::Canceled, Some(ctx.now())));
    let run = ctx.run(created.task_id, created.run_id).await;
    assert_eq!(run.status, RunStatus::Canceled);
    ctx.claim_none(&queue).await;
    let stats = ctx.engine.queue_stats(queue.clone()).await.unwrap();
    assert_eq!((stats.pending_runs, stats.oldest_pending_run_age_seconds), (0, None));
}

pub async fn cancel_claimed_task_fences_the_worker(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started(&queue).await;
    ctx.engine.cancel_task(held.task.id).await.unwrap();
    assert_eq!(ctx.run(held.task.id, held.run.id).await.status, RunStatus::Canceled);
    let before = ctx.snapshot(held.task.id).await;
    let run = held.run.id;
    assert!(is_conflict(&ctx.engine.complete_run(run, None).await), "complete");
    assert!(is_conflict(&ctx.engine.fail_run(run, "x".into()).await), "fail");
    assert!(is_conflict(&ctx.engine.heartbeat_run(run, 10.0).await), "heartbeat");
    assert!(is_conflict(&ctx.engine.schedule_run(run, ctx.at(10.0)).await), "schedule");
    assert!(is_conflict(&ctx.engine.wait_for_event(wait_request(&held, "ev", "s", 10.0)).await), "wait");
    let write = PutCheckpoint {
        task_id: held.task.id,
        step_name: "s".into(),
        state: json!(1),
        owner_run: run,
        extend_claim_by: None,
    };
    assert!(is_conflict(&ctx.engine.put_checkpoint(write).await), "checkpoint");
    assert_eq!(ctx.snapshot(held.task.id).await, before, "rejected calls changed nothing");
    // its old claim end passing does not bring it back
    ctx.advance(60.0);
    ctx.sweep().await;
    ctx.claim_none(&queue).await;
    assert_eq!(ctx.snapshot(held.task.id).await, before);
}

pub async fn cancel_sleeping_task_is_never_woken(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let event = unique("ev");
    let waiting = ctx.started(&queue).await;
    ctx.engine.wait_for_event(wait_request(&waiting, &event, "s", 10.0)).await.unwrap();
    let sleeping = ctx.started(&queue).await;
    ctx.engine.schedule_run(sleeping.run.id, ctx.at(10.0)).await.unwrap();
    for task in [waiting.task.id, sleeping.task.id] {
        ctx.engine.cancel_task(task).await.unwrap();
    }
    ctx.engine.emit_event(event, json!(1)).await.unwrap();
    ctx.claim_none(&queue).await;
    ctx.advance(20.0);
    ctx.sweep().await;
    ctx.claim_none(&queue).await;
    for state in [&waiting, &sleeping] {
        assert_eq!(ctx.get(state.task.id).await.status, TaskStatus::Canceled);
        let runs = ctx.runs(state.task.id).await;
        assert_eq!(runs.iter().map(|r| r.status).collect::<Vec<_>>(), vec![RunStatus::Canceled]);
    }
}

pub async fn cancel_of_finished_task_conflicts(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let completed = ctx.started(&queue).await;
    ctx.complete(completed.run.id).await;
    let failed = ctx.started(&queue).await;
    ctx.engine.fail_run(failed.run.id, "boom".into()).await.unwrap();
    let canceled = ctx.task(&queue).await;
    ctx.engine.cancel_task(canceled.task_id).await.unwrap();
    for (task, status) in [
        (completed.task.id, TaskStatus::Completed),
        (failed.task.id, TaskStatus::Failed),
        (canceled.task_id, TaskStatus::Canceled),
    ] {
        let before = ctx.snapshot(task).await;
        assert_err!(ctx.engine.cancel_task(task).await, ServiceError::Conflict(Rejection::AlreadyFinished { .. }));
        let after = ctx.snapshot(task).await;
        assert_eq!(after.task.status, status);
        assert_eq!(after, before);
    }
}

pub async fn cancel_unknown_task_is_not_found(backend: Backend) {
    let ctx = Ctx::new(backend);
    assert_err!(ctx.engine.cancel_task(TaskId::new()).await, ServiceError::NotFound(NotFound::Task(_)));
}
