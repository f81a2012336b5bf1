//! Claims: due order, limits, what a claim hands out, 404s.

use std::collections::HashSet;

use durable_domain::command::{ClaimRequest, MAX_CLAIM_LIMIT, NewTask};
use durable_domain::retry::{RetryKind, RetryStrategy};
use durable_domain::{NotFound, RunStatus};
use durable_ports::{Service, ServiceError};
use serde_json::json;

use super::{Backend, Ctx, JUST, headers, new_task, unique};

pub async fn claim_hands_out_oldest_due_first(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    // created in the order a, b, c; due in the order c, b, a
    let a = ctx.create(&queue, NewTask { run_at: Some(ctx.at(10.0)), ..new_task("a") }).await;
    let b = ctx.create(&queue, NewTask { run_at: Some(ctx.at(5.0)), ..new_task("b") }).await;
    let c = ctx.create(&queue, new_task("c")).await;
    ctx.set(ctx.at(5.0) - JUST);
    let first = ctx.claim(&queue, 10).await;
    assert_eq!(first.iter().map(|s| s.run.id).collect::<Vec<_>>(), vec![c.run_id], "only c is due");
    ctx.complete(c.run_id).await;
    ctx.set_at(10.0);
    let one = ctx.claim(&queue, 1).await;
    assert_eq!(one.iter().map(|s| s.run.id).collect::<Vec<_>>(), vec![b.run_id], "b became due first");
    let two = ctx.claim(&queue, 1).await;
    assert_eq!(two.iter().map(|s| s.run.id).collect::<Vec<_>>(), vec![a.run_id]);
    ctx.claim_none(&queue).await;
}

pub async fn claim_respects_the_limit(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let created = ctx.engine.create_tasks(queue.clone(), vec![new_task("t"); 5]).await.unwrap();
    let first = ctx.claim(&queue, 3).await;
    assert_eq!(first.len(), 3);
    let second = ctx.claim(&queue, 3).await;
    assert_eq!(second.len(), 2);
    ctx.claim_none(&queue).await;
    let handed: HashSet<_> = first.iter().chain(&second).map(|s| s.run.id).collect();
    let expected: HashSet<_> = created.iter().map(|c| c.run_id).collect();
    assert_eq!(handed, expected, "every run exactly once");
}

/// The original server has no upper bound on `limit`: a larger one is
/// lowered to the maximum, not refused.
pub async fn claim_over_the_maximum_takes_the_maximum(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let most = usize::try_from(MAX_CLAIM_LIMIT).unwrap();
    ctx.engine.create_tasks(queue.clone(), vec![new_task("t"); most]).await.unwrap();
    ctx.task(&queue).await;
    assert_eq!(ctx.claim(&queue, MAX_CLAIM_LIMIT * 5).await.len(), most);
    assert_eq!(ctx.claim(&queue, i64::MAX).await.len(), 1);
}

pub async fn claim_returns_the_task_and_sets_the_claim(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let strategy = RetryStrategy { kind: RetryKind::Fixed, base_seconds: 3.0, factor: None, max_seconds: None };
    let created = ctx
        .create(
            &queue,
            NewTask {
                params: json!({"x": 1}),
                headers: headers(&[("h", "v")]),
                retry_strategy: Some(strategy),
                max_attempts: Some(4),
                ..new_task("resize")
            },
        )
        .await;
    ctx.advance(1.5);
    let request =
        ClaimRequest { limit: 5, claim_timeout: 45.0, long_poll_seconds: None, worker_id: Some("w-7".into()) };
    let mut claimed = ctx.engine.claim(queue.clone(), request).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let state = claimed.remove(0);
    assert_eq!(state.task.id, created.task_id);
    assert_eq!(state.task.queue.as_str(), queue);
    assert_eq!(state.task.spec.task_name, "resize");
    assert_eq!(state.task.spec.params, json!({"x": 1}));
    assert_eq!(state.task.spec.headers, headers(&[("h", "v")]));
    assert_eq!(state.task.spec.retry_strategy, Some(strategy));
    assert_eq!(state.task.spec.max_attempts, 4);
    assert_eq!(state.run.id, created.run_id);
    assert_eq!(state.run.attempt, 1);
    assert_eq!(state.run.status, RunStatus::Claimed);
    assert_eq!(state.run.claimed_at, Some(ctx.now()));
    assert_eq!(state.run.claim_expires_at, Some(ctx.at(46.5)));
    assert_eq!(state.run.worker_id.as_deref(), Some("w-7"));
    // the stored run agrees
    let stored = ctx.run(created.task_id, created.run_id).await;
    assert_eq!(stored.status, RunStatus::Claimed);
    assert_eq!(stored.claim_expires_at, Some(ctx.at(46.5)));
    assert_eq!(ctx.get(created.task_id).await.first_claimed_at, Some(ctx.now()));
}

pub async fn claim_validates_input(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    ctx.task(&queue).await;
    let ok = ClaimRequest { limit: 1, claim_timeout: 30.0, long_poll_seconds: None, worker_id: None };
    for bad in [
        ClaimRequest { limit: 0, ..ok.clone() },
        ClaimRequest { limit: -1, ..ok.clone() },
        ClaimRequest { claim_timeout: 0.5, ..ok.clone() },
        ClaimRequest { long_poll_seconds: Some(0.0), ..ok.clone() },
        ClaimRequest { long_poll_seconds: Some(61.0), ..ok.clone() },
    ] {
        assert_err!(ctx.engine.claim(queue.clone(), bad).await, ServiceError::Validation(_));
    }
    assert_eq!(ctx.claim(&queue, 10).await.len(), 1, "rejected claims took nothing");
}

pub async fn claim_in_unknown_queue_is_not_found(backend: Backend) {
    let ctx = Ctx::new(backend);
    let request = ClaimRequest { limit: 1, claim_timeout: 30.0, long_poll_seconds: None, worker_id: None };
    assert_err!(ctx.engine.claim(unique("q"), request.clone()).await, ServiceError::NotFound(NotFound::Queue(_)));
    let polling = ClaimRequest { long_poll_seconds: Some(1.0), ..request };
    assert_err!(ctx.engine.claim(unique("q"), polling).await, ServiceError::NotFound(NotFound::Queue(_)));
}

pub async fn claim_only_takes_runs_of_its_queue(backend: Backend) {
    let ctx = Ctx::new(backend);
    let a = ctx.queue().await;
    let b = ctx.queue().await;
    let in_b = ctx.task(&b).await;
    ctx.claim_none(&a).await;
    assert_eq!(ctx.claim_one(&b).await.run.id, in_b.run_id);
}
