//! Completing and failing runs: results, and the 409s of calls on a run that
//! is not claimed or whose claim is no longer held.

use durable_domain::command::{ClaimRequest, Completion};
use durable_domain::{NotFound, Rejection, RunId, RunStatus, TaskStatus};
use durable_ports::service::Finished;
use durable_ports::{ItemError, Service, ServiceError};
use serde_json::json;

use super::{Backend, Ctx};

pub async fn complete_records_the_result(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started(&queue).await;
    ctx.advance(4.0);
    ctx.engine.complete_run(held.run.id, Some(json!({"ok": true}))).await.unwrap();
    let task = ctx.get(held.task.id).await;
    assert_eq!(task.status, TaskStatus::Completed);
    assert_eq!(task.result, Some(json!({"ok": true})));
    assert_eq!(task.completed_at, Some(ctx.now()));
    let run = ctx.run(held.task.id, held.run.id).await;
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.result, Some(json!({"ok": true})));
    assert_eq!(run.completed_at, Some(ctx.now()));
    assert_eq!(run.claim_expires_at, None);
    // an empty body is fine too
    let other = ctx.started(&queue).await;
    ctx.engine.complete_run(other.run.id, None).await.unwrap();
    let task = ctx.get(other.task.id).await;
    assert_eq!((task.status, task.result), (TaskStatus::Completed, None));
    ctx.claim_none(&queue).await;
}

pub async fn complete_requires_a_held_claim(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    // unknown
    assert_err!(ctx.engine.complete_run(RunId::new(), None).await, ServiceError::NotFound(NotFound::Run(_)));
    // pending
    let pending = ctx.task(&queue).await;
    assert_err!(
        ctx.engine.complete_run(pending.run_id, None).await,
        ServiceError::Conflict(Rejection::NotClaimed { .. })
    );
    assert_eq!(ctx.get(pending.task_id).await.status, TaskStatus::Pending);
    // sleeping
    let held = ctx.claim_one(&queue).await;
    ctx.engine.schedule_run(held.run.id, ctx.at(100.0)).await.unwrap();
    assert_err!(ctx.engine.complete_run(held.run.id, None).await, ServiceError::Conflict(Rejection::NotClaimed { .. }));
    // already completed: only one completion counts
    let done = ctx.started(&queue).await;
    ctx.engine.complete_run(done.run.id, Some(json!(1))).await.unwrap();
    assert_err!(
        ctx.engine.complete_run(done.run.id, Some(json!(2))).await,
        ServiceError::Conflict(Rejection::RunFinished { .. })
    );
    assert_eq!(ctx.get(done.task.id).await.result, Some(json!(1)));
    // claim ran out (not yet swept)
    let expired = ctx.started_with(&queue, super::new_task("job"), 5.0).await;
    ctx.advance(5.0);
    assert_err!(
        ctx.engine.complete_run(expired.run.id, None).await,
        ServiceError::Conflict(Rejection::ClaimLost { .. })
    );
    assert_eq!(ctx.get(expired.task.id).await.status, TaskStatus::Pending);
}

pub async fn fail_requires_a_held_claim(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    assert_err!(ctx.engine.fail_run(RunId::new(), "x".into()).await, ServiceError::NotFound(NotFound::Run(_)));
    let pending = ctx.task(&queue).await;
    assert_err!(
        ctx.engine.fail_run(pending.run_id, "x".into()).await,
        ServiceError::Conflict(Rejection::NotClaimed { .. })
    );
    let before = ctx.snapshot(pending.task_id).await;
    assert_eq!(before.task.status, TaskStatus::Pending);
    assert_eq!(before.runs.len(), 1, "a rejected fail creates no retry");
    let done = ctx.claim_one(&queue).await;
    ctx.complete(done.run.id).await;
    assert_err!(
        ctx.engine.fail_run(done.run.id, "x".into()).await,
        ServiceError::Conflict(Rejection::RunFinished { .. })
    );
    assert_eq!(ctx.get(done.task.id).await.status, TaskStatus::Completed);
    let expired = ctx.started_with(&queue, super::new_task("job"), 5.0).await;
    ctx.advance(6.0);
    assert_err!(
        ctx.engine.fail_run(expired.run.id, "x".into()).await,
        ServiceError::Conflict(Rejection::ClaimLost { .. })
    );
    assert_eq!(ctx.runs(expired.task.id).await.len(), 1);
}

pub async fn batch_complete_fences_each_item(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let a = ctx.started(&queue).await;
    let b = ctx.started(&queue).await;
    let pending = ctx.task(&queue).await;
    let unknown = RunId::new();
    let answers = ctx
        .engine
        .complete_runs(vec![
            Completion::new(a.run.id, Some(json!("a"))),
            Completion::new(unknown, None),
            Completion::new(pending.run_id, None),
            Completion::new(b.run.id, None),
            Completion::new(a.run.id, Some(json!("again"))),
        ])
        .await
        .unwrap();
    assert_eq!(answers.len(), 5, "{answers:?}");
    assert_eq!(answers[0], Ok(()));
    assert!(matches!(answers[1], Err(ItemError::NotFound(NotFound::Run(_)))), "{answers:?}");
    assert!(matches!(answers[2], Err(ItemError::Conflict(Rejection::NotClaimed { .. }))), "{answers:?}");
    assert_eq!(answers[3], Ok(()));
    assert!(matches!(answers[4], Err(ItemError::Conflict(Rejection::RunFinished { .. }))), "{answers:?}");
    let task_a = ctx.get(a.task.id).await;
    assert_eq!((task_a.status, task_a.result), (TaskStatus::Completed, Some(json!("a"))));
    assert_eq!(ctx.get(b.task.id).await.status, TaskStatus::Completed);
    assert_eq!(ctx.get(pending.task_id).await.status, TaskStatus::Pending);
}

/// (ext) Acknowledge and claim in one call, completions only: each item is
/// fenced on its own, then the claim hands out what is due, never a run the
/// call just completed.
pub async fn handoff_completes_each_item_then_claims(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let a = ctx.started(&queue).await;
    let waiting = ctx.task(&queue).await;
    let unknown = RunId::new();
    let finished = Finished {
        complete: vec![
            Completion::new(a.run.id, Some(json!({"n": 1}))),
            Completion::new(unknown, None),
            Completion::new(a.run.id, None),
        ],
        fail: vec![],
    };
    let request = ClaimRequest { limit: 10, claim_timeout: 60.0, long_poll_seconds: None, worker_id: None };
    let handoff = ctx.engine.finish_and_claim(queue.clone(), finished, request.clone()).await.unwrap();
    assert_eq!(handoff.completed.len(), 3, "{:?}", handoff.completed);
    assert_eq!(handoff.completed[0], Ok(()));
    assert!(matches!(handoff.completed[1], Err(ItemError::NotFound(NotFound::Run(_)))), "{:?}", handoff.completed);
    assert!(
        matches!(handoff.completed[2], Err(ItemError::Conflict(Rejection::RunFinished { .. }))),
        "{:?}",
        handoff.completed
    );
    assert!(handoff.failed.is_empty());
    let claimed: Vec<_> = handoff.claimed.iter().map(|s| s.run.id).collect();
    assert_eq!(claimed, vec![waiting.run_id]);
    let done = ctx.get(a.task.id).await;
    assert_eq!((done.status, done.result), (TaskStatus::Completed, Some(json!({"n": 1}))));

    // Nothing left: the claim long-polls like a plain one, and comes back
    // empty when its time is up.
    let finished = Finished { complete: vec![Completion::new(waiting.run_id, None)], fail: vec![] };
    let polling = ClaimRequest { long_poll_seconds: Some(1.0), ..request };
    let handoff = ctx.engine.finish_and_claim(queue, finished, polling).await.unwrap();
    assert_eq!(handoff.completed, vec![Ok(())]);
    assert!(handoff.claimed.is_empty());
    assert_eq!(ctx.get(waiting.task_id).await.status, TaskStatus::Completed);
}
