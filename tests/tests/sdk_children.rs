//! The SDK's features that need the server additions of issue 15: child
//! tasks (`parent_task_id`, `wait-for-task`), `GET /tasks/{id}/result`
//! (`Durable::wait_result`) and checkpoints handed out with the claim
//! (`include_checkpoints`).

#[path = "sdk/support.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use durable_client::{Durable, DurableError, ListTasks, SpawnOptions, TaskContext, TaskOutcome, TaskStatus};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use support::{Counter, RunningWorker, Setup, sleeping};

const CLAIM: Duration = Duration::from_secs(10);
const WAIT: Duration = Duration::from_secs(30);

fn ok<T>(value: T) -> Result<T, DurableError> {
    Ok(value)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Doubled {
    value: u32,
}

/// `double` doubles its params; `broken` always fails.
fn register_children(app: &mut Durable) {
    app.register("double", |_ctx: TaskContext, n: u32| async move { ok(Doubled { value: n * 2 }) });
    app.register("broken", |_ctx: TaskContext, (): ()| async move {
        Err::<(), _>(DurableError::failed("the printer is on fire"))
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_awaits_the_result_of_the_child_it_spawned() {
    parent_awaits_child(Setup::memory("family").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_awaits_the_result_of_the_child_it_spawned_on_postgres() {
    parent_awaits_child(Setup::on(durable_tests::server::TestServer::postgres().await, "family").await).await;
}

async fn parent_awaits_child(setup: Setup) {
    let parent_starts = Counter::shared();
    let mut app = Durable::new(setup.client.clone());
    register_children(&mut app);
    let starts = Arc::clone(&parent_starts);
    app.register("parent", move |ctx: TaskContext, n: u32| {
        starts.bump();
        async move {
            let child = ctx.spawn("double", &n).await?;
            let doubled: Doubled = ctx.await_task(&child).await?;
            ok(json!({"child": child.task_id(), "value": doubled.value + 1}))
        }
    });
    let worker = RunningWorker::start(&app, "family", CLAIM);
    let parent = app.spawn("family", "parent", &20, SpawnOptions::default()).await.unwrap();
    let outcome: TaskOutcome<Value> = app.wait_result(parent.task_id, WAIT).await.unwrap();
    worker.stop().await;

    let TaskOutcome::Completed(result) = outcome else { panic!("the parent did not complete: {outcome:?}") };
    assert_eq!(result["value"], json!(41));
    let child_id = result["child"].as_str().unwrap().parse().unwrap();
    let child = setup.client.get_task(child_id).await.unwrap();
    assert_eq!((child.status, child.parent_task_id), (TaskStatus::Completed, Some(parent.task_id)));
    let children = setup.client.list_child_tasks(parent.task_id, &ListTasks::default()).await.unwrap();
    assert_eq!(children.tasks.iter().map(|t| t.id).collect::<Vec<_>>(), [child_id]);
    assert!(parent_starts.get() <= 2, "at most one suspension: {}", parent_starts.get());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_child_is_a_typed_error_in_its_parent() {
    let setup = Setup::memory("failing-child").await;
    let mut app = Durable::new(setup.client.clone());
    register_children(&mut app);
    app.register("parent", |ctx: TaskContext, (): ()| async move {
        let child = ctx.spawn("broken", &()).await?;
        match ctx.await_task::<Value>(&child).await {
            Err(DurableError::ChildFailed { task_id, error }) if task_id == child.task_id() => ok(error),
            other => ok(format!("unexpected: {other:?}")),
        }
    });
    let worker = RunningWorker::start(&app, "failing-child", CLAIM);
    let parent = app.spawn("failing-child", "parent", &(), SpawnOptions::default()).await.unwrap();
    let outcome: TaskOutcome<String> = app.wait_result(parent.task_id, WAIT).await.unwrap();
    worker.stop().await;

    let TaskOutcome::Completed(error) = outcome else { panic!("{outcome:?}") };
    assert!(error.contains("the printer is on fire"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_child_times_out_or_sees_it_canceled() {
    let setup = Setup::memory("parents").await;
    setup.client.create_queue(&durable_client::CreateQueue::new("idle")).await.unwrap();
    let mut app = Durable::new(setup.client.clone());
    // Children go to a queue nobody works: they never end on their own.
    app.register("impatient", |ctx: TaskContext, (): ()| async move {
        let child = ctx.spawn_in("idle", "double", &1, SpawnOptions::default()).await?;
        match ctx.await_task_for::<Value>(&child, Duration::from_secs(1)).await {
            Err(DurableError::ChildTimeout { task_id }) if task_id == child.task_id() => ok("timeout".to_owned()),
            other => ok(format!("unexpected: {other:?}")),
        }
    });
    app.register("patient", |ctx: TaskContext, (): ()| async move {
        let child = ctx.spawn_in("idle", "double", &2, SpawnOptions::default()).await?;
        match ctx.await_task::<Value>(&child).await {
            Err(DurableError::ChildCanceled { task_id }) if task_id == child.task_id() => ok("canceled".to_owned()),
            other => ok(format!("unexpected: {other:?}")),
        }
    });
    let worker = RunningWorker::start(&app, "parents", CLAIM);
    let impatient = app.spawn("parents", "impatient", &(), SpawnOptions::default()).await.unwrap();
    let patient = app.spawn("parents", "patient", &(), SpawnOptions::default()).await.unwrap();
    sleeping(&setup.client, patient.task_id).await;
    let children = setup.client.list_child_tasks(patient.task_id, &ListTasks::default()).await.unwrap();
    assert_eq!(children.tasks.len(), 1);
    setup.client.cancel_task(children.tasks[0].id).await.unwrap();
    let timed_out: TaskOutcome<String> = app.wait_result(impatient.task_id, WAIT).await.unwrap();
    let canceled: TaskOutcome<String> = app.wait_result(patient.task_id, WAIT).await.unwrap();
    worker.stop().await;

    assert_eq!(timed_out, TaskOutcome::Completed("timeout".to_owned()));
    assert_eq!(canceled, TaskOutcome::Completed("canceled".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canceling_a_parent_leaves_its_child_to_run_to_its_end() {
    let setup = Setup::memory("orphans").await;
    setup.client.create_queue(&durable_client::CreateQueue::new("later")).await.unwrap();
    let mut app = Durable::new(setup.client.clone());
    register_children(&mut app);
    app.register("parent", |ctx: TaskContext, (): ()| async move {
        let child = ctx.spawn_in("later", "double", &5, SpawnOptions::default()).await?;
        ctx.await_task::<Value>(&child).await
    });
    let worker = RunningWorker::start(&app, "orphans", CLAIM);
    let parent = app.spawn("orphans", "parent", &(), SpawnOptions::default()).await.unwrap();
    sleeping(&setup.client, parent.task_id).await;
    setup.client.cancel_task(parent.task_id).await.unwrap();
    let children = setup.client.list_child_tasks(parent.task_id, &ListTasks::default()).await.unwrap();
    assert_eq!(children.tasks.len(), 1);
    let child = children.tasks[0].id;
    assert_eq!(setup.client.get_task(child).await.unwrap().status, TaskStatus::Pending);
    let later = RunningWorker::start(&app, "later", CLAIM);
    let outcome: TaskOutcome<Doubled> = app.wait_result(child, WAIT).await.unwrap();
    later.stop().await;
    worker.stop().await;

    assert_eq!(outcome, TaskOutcome::Completed(Doubled { value: 10 }));
    let parent_outcome: TaskOutcome<Value> = app.wait_result(parent.task_id, Duration::ZERO).await.unwrap();
    assert_eq!(parent_outcome, TaskOutcome::Canceled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_result_says_when_a_task_has_not_ended() {
    let setup = Setup::memory("waits").await;
    let app = Durable::new(setup.client.clone());
    let task = app.spawn("waits", "nobody-works-this", &(), SpawnOptions::default()).await.unwrap();
    let outcome: TaskOutcome<Value> = app.wait_result(task.task_id, Duration::from_secs(1)).await.unwrap();
    assert_eq!(outcome, TaskOutcome::Unfinished);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_run_gets_its_checkpoints_with_the_claim() {
    let setup = Setup::memory("claims").await;
    let mut app = Durable::new(setup.client.clone());
    app.register("five-steps", |ctx: TaskContext, (): ()| async move {
        let mut sum = 0;
        for i in 1..=5 {
            sum += ctx.step(&format!("step-{i}"), || async move { ok(i) }).await?;
            if i == 3 {
                ctx.sleep_for(Duration::from_secs(1)).await?;
            }
        }
        ok(sum)
    });
    let worker = RunningWorker::start(&app, "claims", CLAIM);
    let task = app.spawn("claims", "five-steps", &(), SpawnOptions::default()).await.unwrap();
    let outcome: TaskOutcome<u32> = app.wait_result(task.task_id, WAIT).await.unwrap();
    worker.stop().await;

    assert_eq!(outcome, TaskOutcome::Completed(15));
    let seen = setup.seen();
    let reads = seen.iter().filter(|s| s.method == "GET" && s.path.contains("/checkpoints")).count();
    assert_eq!(reads, 0, "{seen:?}");
    // Per task (the queue's creation aside): the create, five step writes,
    // the sleep's write and its schedule. Claims (and the completion, carried by one or sent alone
    // when the worker was long-polling) are the worker's cost.
    let of_task = seen
        .iter()
        .filter(|s| s.path != "/api/v1/queues")
        .filter(|s| !s.path.ends_with("/claim") && !s.path.ends_with("/complete") && !s.path.ends_with("/result"))
        .count();
    assert_eq!(of_task, 8, "{seen:?}");
}
