use durable_domain::event::Checkpoint;
use durable_domain::{NotFound, Rejection, RunId, TaskId};
use durable_ports::MockService;
use serde_json::json;

use crate::fixtures::{NOW, NOW_TEXT};
use crate::harness::{app, call, get, untouched};

fn checkpoint(task_id: TaskId, step_name: &str, owner_run: RunId) -> Checkpoint {
    Checkpoint { task_id, step_name: step_name.into(), state: json!({"n": 1}), owner_run, updated_at: NOW }
}

#[tokio::test]
async fn put_checkpoint() {
    let (task, run) = (TaskId::new(), RunId::new());
    let mut service = MockService::new();
    service
        .expect_put_checkpoint()
        .withf(move |w| {
            w.task_id == task
                && w.step_name == "fetch"
                && w.state == json!({"n": 1})
                && w.owner_run == run
                && w.extend_claim_by == Some(15.0)
        })
        .returning(move |w| Ok(checkpoint(w.task_id, &w.step_name, w.owner_run)));
    let uri = format!("/api/v1/tasks/{task}/checkpoints/fetch");
    let body = json!({"state": {"n": 1}, "owner_run": run.to_string(), "extend_claim_by": 15});
    let body = call(app(service), axum::http::Method::PUT, &uri, body).await.ok(200);
    assert_eq!(body, json!({"task_id": task.to_string(), "step_name": "fetch", "updated_at": NOW_TEXT}));
}

#[tokio::test]
async fn put_checkpoint_rejections() {
    let uri = format!("/api/v1/tasks/{}/checkpoints/fetch", TaskId::new());
    let put = |body| call(untouched(), axum::http::Method::PUT, &uri, body);
    assert_eq!(
        put(json!({"owner_run": RunId::new().to_string()})).await.error(400, "VALIDATION_ERROR"),
        "state is required"
    );
    assert_eq!(
        put(json!({"state": 1, "owner_run": "r"})).await.error(400, "VALIDATION_ERROR"),
        "owner_run must be a valid UUID"
    );

    let mut service = MockService::new();
    service
        .expect_put_checkpoint()
        .returning(|w| Err(Rejection::RunNotOfTask { run: w.owner_run, task: w.task_id }.into()));
    let body = json!({"state": 1, "owner_run": RunId::new().to_string()});
    call(app(service), axum::http::Method::PUT, &uri, body).await.error(409, "CONFLICT");
}

#[tokio::test]
async fn get_checkpoint() {
    let (task, run) = (TaskId::new(), RunId::new());
    let mut service = MockService::new();
    service
        .expect_get_checkpoint()
        .withf(move |t, s| *t == task && s == "fetch")
        .returning(move |t, s| Ok(checkpoint(t, &s, run)));
    let body = get(app(service), &format!("/api/v1/tasks/{task}/checkpoints/fetch")).await.ok(200);
    assert_eq!(body["task_id"], task.to_string());
    assert_eq!(body["step_name"], "fetch");
    assert_eq!(body["state"], json!({"n": 1}));
    assert_eq!(body["updated_at"], NOW_TEXT);

    let mut service = MockService::new();
    service
        .expect_get_checkpoint()
        .returning(|task_id, step_name| Err(NotFound::Checkpoint { task_id, step_name }.into()));
    get(app(service), &format!("/api/v1/tasks/{task}/checkpoints/other")).await.error(404, "NOT_FOUND");
}

#[tokio::test]
async fn list_checkpoints() {
    let (task, run) = (TaskId::new(), RunId::new());
    let mut service = MockService::new();
    service
        .expect_list_checkpoints()
        .withf(move |t| *t == task)
        .returning(move |t| Ok(vec![checkpoint(t, "a", run), checkpoint(t, "b", run)]));
    let body = get(app(service), &format!("/api/v1/tasks/{task}/checkpoints")).await.ok(200);
    assert_eq!(body["checkpoints"].as_array().unwrap().len(), 2);
    assert_eq!(body["checkpoints"][1]["step_name"], "b");
    assert_eq!(body["checkpoints"][0]["state"], json!({"n": 1}));

    let reply = get(untouched(), "/api/v1/tasks/xyz/checkpoints").await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "task_id must be a valid UUID");
}
