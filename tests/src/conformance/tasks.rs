//! Creating tasks: the spec, 404s, validation, idempotency keys, batches and
//! deferred first runs.

use durable_domain::command::{NewTask, TaskFilter};
use durable_domain::retry::{RetryKind, RetryStrategy};
use durable_domain::workflow::NewWorkflowRun;
use durable_domain::{NotFound, RunStatus, TaskId, TaskStatus, WorkflowRunId};
use durable_ports::{Service, ServiceError};
use serde_json::json;
use time::Duration;

use super::{Backend, Ctx, JUST, headers, new_task, unique};

/// Tasks of a queue, newest first.
pub(crate) async fn tasks_in(ctx: &Ctx, queue: &str) -> Vec<durable_domain::Task> {
    let filter = TaskFilter { queue_name: Some(queue.to_owned()), limit: 1000, ..TaskFilter::default() };
    ctx.engine.list_tasks(filter).await.expect("list tasks").items
}

pub async fn create_stores_the_spec_and_a_first_run(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    ctx.advance(2.0);
    let strategy =
        RetryStrategy { kind: RetryKind::Exponential, base_seconds: 2.0, factor: Some(3.0), max_seconds: Some(60.0) };
    let request = NewTask {
        task_name: "send-email".into(),
        params: json!({"to": "a@example.com", "n": [1, 2, 3]}),
        headers: headers(&[("trace", "abc"), ("tenant", "t1")]),
        retry_strategy: Some(strategy),
        max_attempts: Some(3),
        start_timeout: Some(60.0),
        execution_timeout: Some(600.0),
        ..NewTask::default()
    };
    let created = ctx.create(&queue, request).await;
    assert!(!created.deduplicated);
    assert_eq!(created.workflow_run_id, None);
    let task = ctx.get(created.task_id).await;
    assert_eq!(task.id, created.task_id);
    assert_eq!(task.queue.as_str(), queue);
    assert_eq!(task.spec.task_name, "send-email");
    assert_eq!(task.spec.params, json!({"to": "a@example.com", "n": [1, 2, 3]}));
    assert_eq!(task.spec.headers, headers(&[("trace", "abc"), ("tenant", "t1")]));
    assert_eq!(task.spec.retry_strategy, Some(strategy));
    assert_eq!(task.spec.max_attempts, 3);
    assert_eq!(task.spec.start_timeout, Some(Duration::seconds(60)));
    assert_eq!(task.spec.execution_timeout, Some(Duration::seconds(600)));
    assert_eq!(task.status, TaskStatus::Pending);
    assert_eq!(task.attempts, 1);
    assert_eq!(task.current_run, created.run_id);
    assert_eq!(task.created_at, ctx.now());
    assert_eq!(task.completed_at, None);
    assert_eq!(task.result, None);
    let runs = ctx.runs(created.task_id).await;
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(
        (run.id, run.task_id, run.attempt, run.status),
        (created.run_id, created.task_id, 1, RunStatus::Pending)
    );
    assert_eq!(run.available_at, ctx.now());
    assert_eq!(run.created_at, ctx.now());
}

pub async fn create_in_unknown_queue_is_not_found(backend: Backend) {
    let ctx = Ctx::new(backend);
    let missing = unique("q");
    assert_err!(
        ctx.engine.create_task(missing.clone(), new_task("x")).await,
        ServiceError::NotFound(NotFound::Queue(_))
    );
    assert_err!(
        ctx.engine.create_tasks(missing, vec![new_task("x")]).await,
        ServiceError::NotFound(NotFound::Queue(_))
    );
}

pub async fn create_with_unknown_workflow_run_is_not_found(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let request = NewTask { workflow_run_id: Some(WorkflowRunId::new()), ..new_task("x") };
    assert_err!(ctx.engine.create_task(queue.clone(), request).await, ServiceError::NotFound(NotFound::WorkflowRun(_)));
    assert!(tasks_in(&ctx, &queue).await.is_empty(), "nothing was created");
    ctx.claim_none(&queue).await;
}

pub async fn create_validates_input(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let strategy = |base: f64, factor: Option<f64>| RetryStrategy {
        kind: RetryKind::Exponential,
        base_seconds: base,
        factor,
        max_seconds: None,
    };
    let bad = [
        new_task(""),
        new_task("   "),
        NewTask { max_attempts: Some(0), ..new_task("x") },
        NewTask { start_timeout: Some(-1.0), ..new_task("x") },
        NewTask { execution_timeout: Some(f64::NAN), ..new_task("x") },
        NewTask { retry_strategy: Some(strategy(-1.0, None)), ..new_task("x") },
        NewTask { retry_strategy: Some(strategy(1.0, Some(0.5))), ..new_task("x") },
        NewTask { idempotency_key: Some(String::new()), ..new_task("x") },
    ];
    for request in bad {
        let shown = format!("{request:?}");
        match ctx.engine.create_task(queue.clone(), request).await {
            Err(ServiceError::Validation(_)) => {}
            other => panic!("{shown}: expected a validation error, got {other:?}"),
        }
    }
    assert!(tasks_in(&ctx, &queue).await.is_empty());
}

pub async fn idempotency_key_returns_the_existing_task(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let keyed = |params| NewTask { idempotency_key: Some("order-42".into()), params, ..new_task("charge") };
    let first = ctx.create(&queue, keyed(json!(1))).await;
    assert!(!first.deduplicated);
    let second = ctx.create(&queue, keyed(json!(2))).await;
    assert!(second.deduplicated);
    assert_eq!((second.task_id, second.run_id), (first.task_id, first.run_id));
    assert_eq!(tasks_in(&ctx, &queue).await.len(), 1);
    assert_eq!(ctx.get(first.task_id).await.spec.params, json!(1), "the existing task is unchanged");
    // still deduplicated once the task has finished
    let held = ctx.claim_one(&queue).await;
    ctx.complete(held.run.id).await;
    let third = ctx.create(&queue, keyed(json!(3))).await;
    assert!(third.deduplicated);
    assert_eq!(third.task_id, first.task_id);
    ctx.claim_none(&queue).await;
    // keys are per queue
    let other = ctx.queue().await;
    let elsewhere = ctx.create(&other, keyed(json!(4))).await;
    assert!(!elsewhere.deduplicated);
    assert_ne!(elsewhere.task_id, first.task_id);
}

pub async fn idempotency_key_dedups_within_a_batch(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let keyed = |key: &str| NewTask { idempotency_key: Some(key.into()), ..new_task("t") };
    let created = ctx
        .engine
        .create_tasks(queue.clone(), vec![keyed("a"), keyed("a"), keyed("b"), new_task("plain")])
        .await
        .unwrap();
    assert_eq!(created.len(), 4);
    assert!(!created[0].deduplicated);
    assert!(created[1].deduplicated);
    assert_eq!((created[1].task_id, created[1].run_id), (created[0].task_id, created[0].run_id));
    assert!(!created[2].deduplicated);
    assert_ne!(created[2].task_id, created[0].task_id);
    assert_eq!(tasks_in(&ctx, &queue).await.len(), 3);
    // and against tasks created earlier
    let again = ctx.engine.create_tasks(queue.clone(), vec![keyed("b"), keyed("c")]).await.unwrap();
    assert!(again[0].deduplicated);
    assert_eq!(again[0].task_id, created[2].task_id);
    assert!(!again[1].deduplicated);
    assert_eq!(tasks_in(&ctx, &queue).await.len(), 4);
}

pub async fn batch_answers_in_request_order(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let requests: Vec<NewTask> = (0..5).map(|i| NewTask { params: json!(i), ..new_task(&format!("t{i}")) }).collect();
    let created = ctx.engine.create_tasks(queue.clone(), requests).await.unwrap();
    assert_eq!(created.len(), 5);
    for (i, item) in created.iter().enumerate() {
        let task = ctx.get(item.task_id).await;
        assert_eq!(task.spec.task_name, format!("t{i}"));
        assert_eq!(task.current_run, item.run_id);
        assert!(!item.deduplicated);
    }
    let claimed = ctx.claim(&queue, 10).await;
    assert_eq!(claimed.len(), 5, "every run of the batch is claimable");
}

pub async fn batch_is_all_or_nothing(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    // one invalid item
    let batch = vec![new_task("a"), new_task("b"), new_task("")];
    assert_err!(ctx.engine.create_tasks(queue.clone(), batch).await, ServiceError::Validation(_));
    // one item naming an unknown workflow run: only the store can tell
    let workflow = ctx
        .engine
        .create_workflow_run(NewWorkflowRun {
            workflow_name: unique("wf"),
            workflow_version: None,
            inputs: None,
            created_by: None,
            tags: Default::default(),
        })
        .await
        .unwrap();
    let batch = vec![
        NewTask { workflow_run_id: Some(workflow.id), idempotency_key: Some("k".into()), ..new_task("a") },
        NewTask { workflow_run_id: Some(WorkflowRunId::new()), ..new_task("b") },
    ];
    assert_err!(ctx.engine.create_tasks(queue.clone(), batch).await, ServiceError::NotFound(NotFound::WorkflowRun(_)));
    // sizes
    assert_err!(ctx.engine.create_tasks(queue.clone(), vec![]).await, ServiceError::Validation(_));
    let too_many = vec![new_task("x"); 1001];
    assert_err!(ctx.engine.create_tasks(queue.clone(), too_many).await, ServiceError::Validation(_));
    assert!(tasks_in(&ctx, &queue).await.is_empty(), "nothing was created");
    ctx.claim_none(&queue).await;
    assert!(ctx.engine.get_workflow_run(workflow.id).await.unwrap().tasks.is_empty());
    // the idempotency key of the rolled-back item is not taken
    let fresh = ctx.create(&queue, NewTask { idempotency_key: Some("k".into()), ..new_task("a") }).await;
    assert!(!fresh.deduplicated);
}

pub async fn run_at_defers_the_first_run(backend: Backend) {
    let ctx = Ctx::new(backend);
    let queue = ctx.queue().await;
    let due = ctx.at(60.0);
    let created = ctx.create(&queue, NewTask { run_at: Some(due), ..new_task("later") }).await;
    let run = ctx.run(created.task_id, created.run_id).await;
    assert_eq!((run.status, run.available_at), (RunStatus::Pending, due));
    ctx.claim_none(&queue).await;
    ctx.set(due - JUST);
    ctx.claim_none(&queue).await;
    ctx.set(due);
    let claimed = ctx.claim_one(&queue).await;
    assert_eq!((claimed.run.id, claimed.run.attempt), (created.run_id, 1));
}

pub async fn get_unknown_task_is_not_found(backend: Backend) {
    let ctx = Ctx::new(backend);
    assert_err!(ctx.engine.get_task(TaskId::new()).await, ServiceError::NotFound(NotFound::Task(_)));
}
