//! Events and wait-for-event: replay, resolve from an existing event, sleep,
//! wake on emit or timeout, and the same outcome for every later call.

use durable_domain::command::WaitRequest;
use durable_domain::event::{WaitOutcome, WaitResponse};
use durable_domain::{NotFound, Rejection, RunId, RunStatus, TaskId, TaskState};
use durable_ports::{Service, ServiceError};
use serde_json::{Value, json};

use super::{Backend, Ctx, JUST, new_task, unique};

pub(crate) fn wait_request(held: &TaskState, event: &str, step: &str, timeout_seconds: f64) -> WaitRequest {
    WaitRequest {
        run_id: held.run.id,
        task_id: held.task.id,
        event_name: event.to_owned(),
        step_name: step.to_owned(),
        timeout_seconds,
    }
}

async fn wait(ctx: &Ctx, held: &TaskState, event: &str, step: &str) -> WaitResponse {
    ctx.engine.wait_for_event(wait_request(held, event, step, 60.0)).await.expect("wait for event")
}

fn resolved(payload: Value) -> WaitResponse {
    WaitResponse::Outcome(WaitOutcome::Resolved { payload })
}

pub async fn wait_sleeps_until_an_emit_resolves_it(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let event = unique("ev");
    let held = ctx.started(&queue).await;
    assert_eq!(wait(&ctx, &held, &event, "step").await, WaitResponse::Sleeping);
    let run = ctx.run(held.task.id, held.run.id).await;
    assert_eq!((run.status, run.claim_expires_at), (RunStatus::Sleeping, None), "the claim was given up");
    assert_eq!(ctx.engine.queue_stats(queue.clone()).await.unwrap().sleeping_runs, 1);
    ctx.claim_none(&queue).await;
    ctx.advance(5.0);
    ctx.engine.emit_event(event.clone(), json!({"p": 1})).await.unwrap();
    // the emit recorded the outcome: a later event before the re-claimed
    // run asks again does not change it
    ctx.engine.emit_event(event.clone(), json!({"p": 2})).await.unwrap();
    // claimable at once: no sweep, no clock movement
    let again = ctx.claim_one(&queue).await;
    assert_eq!((again.run.id, again.run.attempt), (held.run.id, 1));
    assert_eq!(wait(&ctx, &again, &event, "step").await, resolved(json!({"p": 1})), "the waking event's payload");
    assert_eq!(wait(&ctx, &again, &event, "step").await, resolved(json!({"p": 1})), "replays are deterministic");
    ctx.engine.emit_event(event.clone(), json!({"p": 3})).await.unwrap();
    assert_eq!(wait(&ctx, &again, &event, "step").await, resolved(json!({"p": 1})), "a later event changes nothing");
    assert_eq!(ctx.run(held.task.id, held.run.id).await.status, RunStatus::Claimed, "a resolved wait keeps the claim");
    assert_eq!(ctx.runs(held.task.id).await.len(), 1);
    ctx.complete(held.run.id).await;
}

pub async fn wait_resolves_from_the_latest_existing_event(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let event = unique("ev");
    ctx.engine.emit_event(event.clone(), json!("first")).await.unwrap();
    ctx.advance(1.0);
    ctx.engine.emit_event(event.clone(), json!("second")).await.unwrap();
    let held = ctx.started(&queue).await;
    assert_eq!(wait(&ctx, &held, &event, "a").await, resolved(json!("second")));
    assert_eq!(ctx.run(held.task.id, held.run.id).await.status, RunStatus::Claimed);
    ctx.advance(1.0);
    ctx.engine.emit_event(event.clone(), json!("third")).await.unwrap();
    assert_eq!(wait(&ctx, &held, &event, "a").await, resolved(json!("second")), "step a keeps its outcome");
    assert_eq!(wait(&ctx, &held, &event, "b").await, resolved(json!("third")), "a new step takes the latest");
    // another event name does not resolve
    assert_eq!(wait(&ctx, &held, &unique("other"), "c").await, WaitResponse::Sleeping);
}

pub async fn wait_times_out_and_replays_the_timeout(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let event = unique("ev");
    let held = ctx.started(&queue).await;
    let response = ctx.engine.wait_for_event(wait_request(&held, &event, "step", 10.0)).await.unwrap();
    assert_eq!(response, WaitResponse::Sleeping);
    ctx.set(ctx.at(10.0) - JUST);
    ctx.sweep().await;
    ctx.claim_none(&queue).await;
    assert_eq!(ctx.run(held.task.id, held.run.id).await.status, RunStatus::Sleeping);
    ctx.set_at(10.0);
    ctx.sweep().await;
    let again = ctx.claim_one(&queue).await;
    assert_eq!(again.run.id, held.run.id);
    let timeout = WaitResponse::Outcome(WaitOutcome::Timeout);
    assert_eq!(wait(&ctx, &again, &event, "step").await, timeout);
    ctx.engine.emit_event(event.clone(), json!("too late")).await.unwrap();
    assert_eq!(wait(&ctx, &again, &event, "step").await, timeout, "the timeout is the step's outcome for good");
}

pub async fn outcome_is_shared_by_a_reclaimed_run(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let event = unique("ev");
    // resolved
    let held = ctx.started_with(&queue, new_task("resolved"), 10.0).await;
    assert_eq!(wait(&ctx, &held, &event, "step").await, WaitResponse::Sleeping);
    ctx.engine.emit_event(event.clone(), json!("payload")).await.unwrap();
    let woken = ctx.claim_with(&queue, 1, 10.0).await;
    assert_eq!(woken.len(), 1);
    // the worker crashes before asking again; its claim expires
    ctx.advance(10.0);
    ctx.sweep().await;
    let retry = ctx.claim_one(&queue).await;
    assert_eq!((retry.task.id, retry.run.attempt), (held.task.id, 2));
    assert_eq!(wait(&ctx, &retry, &event, "step").await, resolved(json!("payload")));
    ctx.complete(retry.run.id).await;
    // timed out
    let other = unique("ev");
    let held = ctx.started_with(&queue, new_task("timeout"), 10.0).await;
    ctx.engine.wait_for_event(wait_request(&held, &other, "step", 5.0)).await.unwrap();
    ctx.advance(5.0);
    ctx.sweep().await;
    assert_eq!(ctx.claim_with(&queue, 1, 10.0).await.len(), 1);
    ctx.advance(10.0);
    ctx.sweep().await;
    let retry = ctx.claim_one(&queue).await;
    assert_eq!((retry.task.id, retry.run.attempt), (held.task.id, 2));
    ctx.engine.emit_event(other.clone(), json!("late")).await.unwrap();
    assert_eq!(wait(&ctx, &retry, &other, "step").await, WaitResponse::Outcome(WaitOutcome::Timeout));
}

pub async fn emit_wakes_every_waiter_of_that_name_only(backend: Backend) {
    let ctx = Ctx::new(backend);
    let (qa, qb) = (ctx.queue().await, ctx.queue().await);
    let (event, other) = (unique("ev"), unique("ev"));
    let a = ctx.started(&qa).await;
    let b = ctx.started(&qb).await;
    let c = ctx.started(&qa).await;
    assert_eq!(wait(&ctx, &a, &event, "s").await, WaitResponse::Sleeping);
    assert_eq!(wait(&ctx, &b, &event, "s").await, WaitResponse::Sleeping);
    assert_eq!(wait(&ctx, &c, &other, "s").await, WaitResponse::Sleeping);
    ctx.engine.emit_event(event.clone(), json!(7)).await.unwrap();
    let in_a = ctx.claim_one(&qa).await;
    assert_eq!(in_a.run.id, a.run.id, "only the waiter of that name wakes");
    assert_eq!(ctx.claim_one(&qb).await.run.id, b.run.id, "events are global, not per queue");
    assert_eq!(ctx.run(c.task.id, c.run.id).await.status, RunStatus::Sleeping);
    assert_eq!(wait(&ctx, &in_a, &event, "s").await, resolved(json!(7)));
}

pub async fn emit_returns_the_event(backend: Backend) {
    let ctx = Ctx::new(backend);
    let event = unique("ev");
    ctx.advance(3.0);
    let first = ctx.engine.emit_event(event.clone(), json!({"k": "v"})).await.unwrap();
    assert_eq!(
        (first.name.as_str(), &first.payload, first.created_at),
        (event.as_str(), &json!({"k": "v"}), ctx.at(3.0))
    );
    let second = ctx.engine.emit_event(event.clone(), Value::Null).await.unwrap();
    assert_ne!(first.id, second.id);
    assert_err!(ctx.engine.emit_event(String::new(), json!(1)).await, ServiceError::Validation(_));
}

pub async fn wait_validation_and_not_found(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started(&queue).await;
    let mut unknown = wait_request(&held, "ev", "s", 10.0);
    unknown.run_id = RunId::new();
    assert_err!(ctx.engine.wait_for_event(unknown).await, ServiceError::NotFound(NotFound::Run(_)));
    for bad in
        [wait_request(&held, "ev", "s", 0.5), wait_request(&held, "", "s", 10.0), wait_request(&held, "ev", "", 10.0)]
    {
        assert_err!(ctx.engine.wait_for_event(bad).await, ServiceError::Validation(_));
    }
    assert_eq!(ctx.run(held.task.id, held.run.id).await.status, RunStatus::Claimed);
}

pub async fn wait_requires_the_claim_on_a_run_of_the_task(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let event = unique("ev");
    let a = ctx.started(&queue).await;
    let b = ctx.started(&queue).await;
    // run of another task
    let mut crossed = wait_request(&a, &event, "s", 10.0);
    crossed.task_id = b.task.id;
    assert_err!(ctx.engine.wait_for_event(crossed).await, ServiceError::Conflict(Rejection::RunNotOfTask { .. }));
    assert_eq!(ctx.run(a.task.id, a.run.id).await.status, RunStatus::Claimed, "nothing changed");
    // pending run
    let pending = ctx.task(&queue).await;
    let request = durable_domain::command::WaitRequest {
        run_id: pending.run_id,
        task_id: pending.task_id,
        event_name: event.clone(),
        step_name: "s".into(),
        timeout_seconds: 10.0,
    };
    assert_err!(ctx.engine.wait_for_event(request).await, ServiceError::Conflict(Rejection::NotClaimed { .. }));
    // sleeping run (already waiting)
    assert_eq!(wait(&ctx, &a, &event, "s").await, WaitResponse::Sleeping);
    assert_err!(ctx.engine.wait_for_event(wait_request(&a, &event, "s", 10.0)).await, ServiceError::Conflict(_));
    // finished run
    ctx.complete(b.run.id).await;
    assert_err!(ctx.engine.wait_for_event(wait_request(&b, &event, "s", 10.0)).await, ServiceError::Conflict(_));
    // and an emit still finds exactly the one real waiter
    ctx.engine.emit_event(event, json!(1)).await.unwrap();
    let woken = ctx.claim(&queue, 10).await;
    let ids: Vec<_> = woken.iter().map(|s| s.run.id).collect();
    assert!(ids.contains(&a.run.id) && ids.contains(&pending.run_id) && ids.len() == 2, "{ids:?}");
}

pub async fn events_are_listed_newest_first_by_name_and_page(backend: Backend) {
    let ctx = Ctx::new(backend);
    let (a, b) = (super::unique("a"), super::unique("b"));
    for (name, n) in [(&a, 1), (&b, 2), (&a, 3)] {
        ctx.engine.emit_event(name.clone(), serde_json::json!({"n": n})).await.unwrap();
        ctx.advance(1.0);
    }
    let list = |name: Option<&String>, cursor, limit| {
        let filter = durable_domain::command::EventFilter { event_name: name.cloned(), cursor, limit };
        ctx.engine.list_events(filter)
    };
    let of_a = list(Some(&a), None, 10).await.unwrap();
    let payloads: Vec<&serde_json::Value> = of_a.items.iter().map(|e| &e.payload).collect();
    assert_eq!(payloads, [&serde_json::json!({"n": 3}), &serde_json::json!({"n": 1})], "newest first");
    assert_eq!(of_a.next_cursor, None);
    let first = list(Some(&a), None, 1).await.unwrap();
    assert_eq!(first.items.len(), 1);
    let cursor = first.next_cursor.expect("a second page");
    let second = list(Some(&a), Some(cursor), 1).await.unwrap();
    assert_eq!(second.items[0].payload, serde_json::json!({"n": 1}));
    let all = list(None, None, 1000).await.unwrap();
    assert!(all.items.iter().any(|e| e.name == b));
}

pub async fn a_tasks_wait_outcomes_are_listed_by_step(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let held = ctx.started_with(&queue, super::new_task("job"), 600.0).await;
    let event = super::unique("paid");
    let slept = ctx.engine.wait_for_event(wait_request(&held, &event, "b-payment", 60.0)).await.unwrap();
    assert!(matches!(slept, WaitResponse::Sleeping));
    ctx.engine.emit_event(event, serde_json::json!({"amount": 5})).await.unwrap();
    let again = ctx.claim_one(&queue).await;
    let timing_out = ctx.engine.wait_for_event(wait_request(&again, &super::unique("never"), "a-shipping", 1.0)).await;
    assert!(matches!(timing_out, Ok(WaitResponse::Sleeping)));
    ctx.advance(2.0);
    ctx.sweep().await;
    let outcomes = ctx.engine.list_wait_outcomes(held.task.id).await.unwrap();
    assert_eq!(
        outcomes,
        vec![
            ("a-shipping".to_owned(), WaitOutcome::Timeout),
            ("b-payment".to_owned(), WaitOutcome::Resolved { payload: serde_json::json!({"amount": 5}) }),
        ]
    );
    assert_err!(ctx.engine.list_wait_outcomes(TaskId::new()).await, ServiceError::NotFound(NotFound::Task(_)));
}
