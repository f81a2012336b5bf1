//! The durable-execution SDK over the wire, against a local stub: what a
//! resumed run sends (checkpoints with the claim, or one list as fallback),
//! replayed spawns, child waits and their outcomes, and `wait_result`'s
//! long polls. The same behaviour against the real server is in the
//! `durable-tests` package (`sdk*.rs`).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Recorded, Reply, Stub, TASK, client};
use durable_client::{Durable, DurableError, TaskContext, TaskOutcome};
use serde_json::{Value, json};
use uuid::Uuid;

const RUN: &str = "0192b9d4-5e3a-7f00-8000-0000000001aa";
const CHILD: &str = "0192b9d4-5e3a-7f00-8000-0000000002bb";

fn claimed(task_name: &str, checkpoints: Option<Value>) -> Value {
    let mut task = json!({"run_id": RUN, "task_id": TASK, "attempt": 1, "task_name": task_name, "params": null,
                          "headers": {}, "retry_strategy": null, "max_attempts": 1, "queue_name": "q"});
    if let Some(checkpoints) = checkpoints {
        task["checkpoints"] = checkpoints;
    }
    task
}

fn checkpoint(step: &str, state: Value) -> Value {
    json!({"task_id": TASK, "step_name": step, "state": state, "updated_at": "2030-01-01T00:00:00Z"})
}

/// Hands out `task` on the first claim, nothing after; answers outcomes
/// carried by claims; everything else by `other`.
fn serving(
    task: Value,
    other: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static {
    move |r, n| {
        if !r.path.ends_with("/claim") {
            return other(r);
        }
        let mut answer = json!({"tasks": if n == 0 { json!([task]) } else { json!([]) }});
        if let Some(done) = r.body.get("complete").and_then(Value::as_array) {
            let done: Vec<_> = done.iter().map(|c| json!({"run_id": c["run_id"], "status": "completed"})).collect();
            answer["completed"] = json!(done);
        }
        if let Some(failed) = r.body.get("fail").and_then(Value::as_array) {
            let failed: Vec<_> =
                failed.iter().map(|f| json!({"run_id": f["run_id"], "status": "failed", "attempt": 1})).collect();
            answer["failed"] = json!(failed);
        }
        let reply = Reply::json(200, answer);
        if n == 0 { reply } else { reply.after(Duration::from_millis(30)) }
    }
}

/// The results reported for the run, on their own or carried by a claim.
fn completed(stub: &Stub) -> Vec<Value> {
    let mut found = Vec::new();
    for r in stub.requests() {
        if r.path.ends_with("/complete") {
            found.push(r.body["result"].clone());
        }
        for item in r.body.get("complete").and_then(Value::as_array).into_iter().flatten() {
            found.push(item["result"].clone());
        }
    }
    found
}

fn failed(stub: &Stub) -> usize {
    stub.requests()
        .iter()
        .map(|r| {
            usize::from(r.path.ends_with("/fail")) + r.body.get("fail").and_then(Value::as_array).map_or(0, Vec::len)
        })
        .sum()
}

async fn until(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "condition not reached in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A parent that spawns `child` and returns twice its result.
fn parent_app(stub: &Stub) -> Durable {
    let mut app = Durable::new(client(stub).build().unwrap());
    app.register("parent", |ctx: TaskContext, (): ()| async move {
        let child = ctx.spawn("child", &json!({"n": 1})).await?;
        let value: u32 = ctx.await_task(&child).await?;
        Ok::<_, DurableError>(value * 2)
    });
    app
}

fn resolved_child(result: Value) -> Reply {
    Reply::json(
        200,
        json!({"status": "resolved", "payload": {"task_id": CHILD, "status": "completed", "result": result}}),
    )
}

#[tokio::test]
async fn a_resumed_run_replays_from_the_checkpoints_its_claim_carried() {
    let task = claimed("parent", Some(json!([checkpoint("$spawn:child", json!({"task_id": CHILD}))])));
    let stub = Stub::start(serving(task, |r| {
        if r.path.ends_with("/wait-for-task") {
            resolved_child(json!(21))
        } else {
            Reply::error(500, "X", "unexpected")
        }
    }))
    .await;
    let app = parent_app(&stub);
    app.worker("q").run_until(until(|| completed(&stub).len() == 1)).await.unwrap();

    assert_eq!(completed(&stub), [json!(42)]);
    let requests = stub.requests();
    assert_eq!(requests[0].body["include_checkpoints"], json!(true), "the worker asks for checkpoints");
    let paths: Vec<_> = requests.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert!(!paths.iter().any(|p| p.contains("/checkpoints")), "nothing loaded or written: {paths:?}");
    assert!(!paths.iter().any(|p| p.ends_with("/tasks")), "the replayed spawn created nothing: {paths:?}");
    let wait = requests.iter().find(|r| r.path.ends_with("/wait-for-task")).unwrap();
    assert_eq!(wait.path, format!("/api/v1/runs/{RUN}/wait-for-task"));
    assert_eq!(wait.body, json!({"task_id": CHILD, "step_name": format!("$task:{CHILD}")}));
}

#[tokio::test]
async fn without_checkpoints_in_the_claim_a_run_lists_them_once_then_spawns_idempotently() {
    let task = claimed("parent", None);
    let stub = Stub::start(serving(task, |r| match (r.method.as_str(), r.path.rsplit('/').next()) {
        ("GET", Some("checkpoints")) => Reply::json(200, json!({"checkpoints": []})),
        ("POST", Some("tasks")) => Reply::json(201, json!({"task_id": CHILD, "run_id": RUN})),
        ("PUT", _) => {
            Reply::json(200, json!({"task_id": TASK, "step_name": "x", "updated_at": "2030-01-01T00:00:00Z"}))
        }
        (_, Some("wait-for-task")) => resolved_child(json!(4)),
        _ => Reply::error(500, "X", "unexpected"),
    }))
    .await;
    let app = parent_app(&stub);
    app.worker("q")
        .claim_timeout(Duration::from_secs(30))
        .run_until(until(|| completed(&stub).len() == 1))
        .await
        .unwrap();

    assert_eq!(completed(&stub), [json!(8)]);
    assert_eq!(stub.count("GET", &format!("/tasks/{TASK}/checkpoints")), 1);
    let create = stub.requests().into_iter().find(|r| r.path == "/api/v1/queues/q/tasks").unwrap();
    assert_eq!(
        create.body,
        json!({"task_name": "child", "params": {"n": 1}, "idempotency_key": format!("{TASK}/$spawn:child"),
               "parent_task_id": TASK})
    );
    let put = stub.requests().into_iter().find(|r| r.method == "PUT").unwrap();
    assert_eq!(put.path, format!("/api/v1/tasks/{TASK}/checkpoints/%24spawn%3Achild"));
    assert_eq!(put.body, json!({"state": {"task_id": CHILD}, "owner_run": RUN, "extend_claim_by": 30}));
}

#[tokio::test]
async fn a_child_still_running_suspends_the_parent_and_a_lost_claim_stops_it_silently() {
    for (answer, what) in [
        (Reply::json(202, json!({"status": "sleeping", "message": "zz"})), "suspended"),
        (Reply::error(409, "CONFLICT", "claim lost"), "claim lost"),
    ] {
        let task = claimed("parent", Some(json!([checkpoint("$spawn:child", json!({"task_id": CHILD}))])));
        let stub = Stub::start(serving(task, move |r| {
            if r.path.ends_with("/wait-for-task") { answer.clone() } else { Reply::error(500, "X", "unexpected") }
        }))
        .await;
        let app = parent_app(&stub);
        app.worker("q")
            .run_until(until(|| stub.count("POST", "/wait-for-task") == 1 && stub.count("POST", "/claim") >= 2))
            .await
            .unwrap();

        assert_eq!((completed(&stub).len(), failed(&stub)), (0, 0), "{what}: nothing is reported");
        assert_eq!(stub.requests().iter().filter(|r| !r.path.ends_with("/claim")).count(), 1, "{what}");
    }
}

#[tokio::test]
async fn a_failed_canceled_or_late_child_is_a_typed_error() {
    let outcomes = [
        (
            Reply::json(
                200,
                json!({"status": "resolved", "payload": {"task_id": CHILD, "status": "failed", "error": "boom"}}),
            ),
            "failed: boom",
        ),
        (
            Reply::json(200, json!({"status": "resolved", "payload": {"task_id": CHILD, "status": "canceled"}})),
            "canceled",
        ),
        (Reply::json(408, json!({"status": "timeout", "message": "late"})), "timeout"),
    ];
    for (answer, expected) in outcomes {
        let task = claimed("matcher", Some(json!([checkpoint("$spawn:child", json!({"task_id": CHILD}))])));
        let stub = Stub::start(serving(task, move |r| {
            if r.path.ends_with("/wait-for-task") { answer.clone() } else { Reply::error(500, "X", "unexpected") }
        }))
        .await;
        let mut app = Durable::new(client(&stub).build().unwrap());
        app.register("matcher", |ctx: TaskContext, (): ()| async move {
            let child = ctx.spawn("child", &()).await?;
            let seen = match ctx.await_task_for::<Value>(&child, Duration::from_millis(1_500)).await {
                Err(DurableError::ChildFailed { task_id, error }) => format!("failed: {error} {task_id}"),
                Err(DurableError::ChildCanceled { task_id }) => format!("canceled {task_id}"),
                Err(DurableError::ChildTimeout { task_id }) => format!("timeout {task_id}"),
                other => format!("unexpected {other:?}"),
            };
            Ok::<_, DurableError>(seen)
        });
        app.worker("q").run_until(until(|| completed(&stub).len() == 1)).await.unwrap();

        assert_eq!(completed(&stub), [json!(format!("{expected} {CHILD}"))]);
        let wait = stub.requests().into_iter().find(|r| r.path.ends_with("/wait-for-task")).unwrap();
        assert_eq!(wait.body["timeout_seconds"], json!(2), "rounded up to whole seconds");
    }
}

#[tokio::test]
async fn wait_result_long_polls_until_the_task_ends() {
    let stub = Stub::start(|r, n| {
        assert!(r.path.ends_with("/result"), "{}", r.path);
        if n < 2 {
            Reply::json(202, json!({"task_id": TASK, "status": "pending"}))
        } else {
            Reply::json(200, json!({"task_id": TASK, "status": "completed", "result": {"ok": true}}))
        }
    })
    .await;
    let app = Durable::new(client(&stub).build().unwrap());
    let task: Uuid = TASK.parse().unwrap();
    let outcome: TaskOutcome<Value> = app.wait_result(task, Duration::from_secs(30)).await.unwrap();
    assert_eq!(outcome, TaskOutcome::Completed(json!({"ok": true})));
    let queries: Vec<_> = stub.requests().into_iter().map(|r| r.query.unwrap_or_default()).collect();
    assert_eq!(queries, ["wait_seconds=30"; 3]);
}

#[tokio::test]
async fn wait_result_reports_every_end_and_a_wait_that_ran_out() {
    let answers = Arc::new([
        json!({"task_id": TASK, "status": "failed", "error": "boom"}),
        json!({"task_id": TASK, "status": "canceled"}),
    ]);
    let served = Arc::clone(&answers);
    let stub = Stub::start(move |r, n| match served.get(n) {
        Some(body) => Reply::json(200, body.clone()),
        None if r.query.as_deref() == Some("wait_seconds=0") => {
            Reply::json(202, json!({"task_id": TASK, "status": "pending"}))
        }
        None => Reply::error(500, "X", "unexpected"),
    })
    .await;
    let app = Durable::new(client(&stub).build().unwrap());
    let task: Uuid = TASK.parse().unwrap();
    let wait = Duration::from_secs(5);
    assert_eq!(app.wait_result::<Value>(task, wait).await.unwrap(), TaskOutcome::Failed { error: "boom".into() });
    assert_eq!(app.wait_result::<Value>(task, wait).await.unwrap(), TaskOutcome::Canceled);
    assert_eq!(app.wait_result::<Value>(task, Duration::ZERO).await.unwrap(), TaskOutcome::Unfinished);
    assert_eq!(stub.requests().len(), 3, "a zero timeout looks once");
}
