//! Fencing: once a claim is lost, the old worker's calls get 409 and change
//! nothing; heartbeats move the claim end.

use durable_domain::command::{Completion, NewTask, WaitRequest};
use durable_domain::{NotFound, Rejection, RunId, RunStatus, TaskState, TaskStatus};
use durable_ports::service::PutCheckpoint;
use durable_ports::{ItemError, Service, ServiceError};
use serde_json::json;

use super::{Backend, Ctx, JUST, is_conflict, new_task};

fn checkpoint(held: &TaskState, step: &str, state: serde_json::Value) -> PutCheckpoint {
    PutCheckpoint {
        task_id: held.task.id,
        step_name: step.into(),
        state,
        owner_run: held.run.id,
        extend_claim_by: None,
    }
}

/// Every call a worker makes with the run id it was given; each must be
/// rejected with 409.
async fn assert_all_fenced(ctx: &Ctx, stale: &TaskState) {
    let run = stale.run.id;
    let mut outcomes: Vec<(&str, bool, String)> = Vec::new();
    let r = ctx.engine.complete_run(run, Some(json!("stale"))).await;
    outcomes.push(("complete", is_conflict(&r), format!("{r:?}")));
    let r = ctx.engine.fail_run(run, "stale".into()).await;
    outcomes.push(("fail", is_conflict(&r), format!("{r:?}")));
    let r = ctx.engine.schedule_run(run, ctx.at(1000.0)).await;
    outcomes.push(("schedule", is_conflict(&r), format!("{r:?}")));
    let r = ctx.engine.heartbeat_run(run, 60.0).await;
    outcomes.push(("heartbeat", is_conflict(&r), format!("{r:?}")));
    let wait = WaitRequest {
        run_id: run,
        task_id: stale.task.id,
        event_name: "never-emitted".into(),
        step_name: "wait".into(),
        timeout_seconds: 60.0,
    };
    let r = ctx.engine.wait_for_event(wait).await;
    outcomes.push(("wait-for-event", is_conflict(&r), format!("{r:?}")));
    let r = ctx.engine.put_checkpoint(checkpoint(stale, "step", json!("stale"))).await;
    outcomes.push(("checkpoint", is_conflict(&r), format!("{r:?}")));
    let r = ctx.engine.complete_runs(vec![Completion::new(run, None)]).await;
    let fenced = matches!(r.as_deref(), Ok([Err(ItemError::Conflict(_))]));
    outcomes.push(("batch complete", fenced, format!("{r:?}")));
    for (call, fenced, shown) in outcomes {
        assert!(fenced, "{call}: expected a 409, got {shown}");
    }
}

pub async fn stale_worker_is_fenced_before_the_sweep(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let task = NewTask { max_attempts: Some(3), ..new_task("job") };
    let held = ctx.started_with(&queue, task, 10.0).await;
    ctx.engine.put_checkpoint(checkpoint(&held, "step", json!("fresh"))).await.unwrap();
    ctx.set_at(10.0);
    let before = ctx.snapshot(held.task.id).await;
    assert_all_fenced(&ctx, &held).await;
    assert_eq!(ctx.snapshot(held.task.id).await, before, "rejected calls changed nothing");
    // the sweep then expires it as usual
    ctx.sweep().await;
    let runs = ctx.runs(held.task.id).await;
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].status, RunStatus::Failed);
}

pub async fn stale_worker_is_fenced_after_takeover(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let task = NewTask { max_attempts: Some(3), ..new_task("job") };
    let old = ctx.started_with(&queue, task, 10.0).await;
    ctx.engine.put_checkpoint(checkpoint(&old, "step", json!("old"))).await.unwrap();
    ctx.set_at(10.0);
    ctx.sweep().await;
    let new = ctx.claim_one(&queue).await;
    assert_eq!((new.task.id, new.run.attempt), (old.task.id, 2));
    let before = ctx.snapshot(old.task.id).await;
    assert_all_fenced(&ctx, &old).await;
    assert_eq!(ctx.snapshot(old.task.id).await, before, "rejected calls changed nothing");
    // the new holder is unaffected
    ctx.engine.put_checkpoint(checkpoint(&new, "step", json!("new"))).await.unwrap();
    ctx.engine.complete_run(new.run.id, Some(json!("done"))).await.unwrap();
    let task = ctx.get(old.task.id).await;
    assert_eq!((task.status, task.result), (TaskStatus::Completed, Some(json!("done"))));
    assert_eq!(ctx.engine.get_checkpoint(old.task.id, "step".into()).await.unwrap().state, json!("new"));
}

pub async fn heartbeat_sets_the_claim_end(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started_with(&queue, new_task("job"), 10.0).await;
    ctx.set_at(8.0);
    let end = ctx.engine.heartbeat_run(held.run.id, 30.0).await.unwrap();
    assert_eq!(end, ctx.at(38.0));
    assert_eq!(ctx.run(held.task.id, held.run.id).await.claim_expires_at, Some(ctx.at(38.0)));
    ctx.set(ctx.at(38.0) - JUST);
    ctx.sweep().await;
    assert_eq!(ctx.run(held.task.id, held.run.id).await.status, RunStatus::Claimed, "the heartbeat kept it");
    // the end is set to now + N, also when that is sooner
    let end = ctx.engine.heartbeat_run(held.run.id, 5.0).await.unwrap();
    let expected = ctx.at(43.0) - JUST;
    assert_eq!(end, expected);
    ctx.set(expected - JUST);
    ctx.sweep().await;
    assert_eq!(ctx.run(held.task.id, held.run.id).await.status, RunStatus::Claimed);
    ctx.set(expected);
    ctx.sweep().await;
    let run = ctx.run(held.task.id, held.run.id).await;
    assert_eq!(run.status, RunStatus::Failed, "expired at the heartbeat's end");
}

pub async fn heartbeat_requires_a_held_claim(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    assert_err!(ctx.engine.heartbeat_run(RunId::new(), 10.0).await, ServiceError::NotFound(NotFound::Run(_)));
    let pending = ctx.task(&queue).await;
    assert_err!(
        ctx.engine.heartbeat_run(pending.run_id, 10.0).await,
        ServiceError::Conflict(Rejection::NotClaimed { .. })
    );
    let held = ctx.claim_one(&queue).await;
    assert_err!(ctx.engine.heartbeat_run(held.run.id, 0.5).await, ServiceError::Validation(_));
    ctx.engine.schedule_run(held.run.id, ctx.at(100.0)).await.unwrap();
    assert!(is_conflict(&ctx.engine.heartbeat_run(held.run.id, 10.0).await), "sleeping");
    let done = ctx.started(&queue).await;
    ctx.complete(done.run.id).await;
    assert_err!(
        ctx.engine.heartbeat_run(done.run.id, 10.0).await,
        ServiceError::Conflict(Rejection::RunFinished { .. })
    );
    let run = ctx.run(done.task.id, done.run.id).await;
    assert_eq!((run.status, run.claim_expires_at), (RunStatus::Completed, None));
}
