use std::collections::BTreeMap;

use axum::http::Method;
use durable_domain::command::{Page, WorkflowFilter};
use durable_domain::workflow::{NewWorkflowRun, WorkflowRun, WorkflowStatus, WorkflowWithTasks};
use durable_domain::{NotFound, WorkflowRunId};
use durable_ports::MockService;
use serde_json::{Value, json};
use time::macros::datetime;

use crate::fixtures::{NOW, NOW_TEXT, task_state};
use crate::harness::{app, call, get, post, untouched};

fn workflow_run(name: &str) -> WorkflowRun {
    WorkflowRun::create(
        NewWorkflowRun {
            workflow_name: name.into(),
            workflow_version: Some("v2".into()),
            inputs: Some(json!({"order": 7})),
            created_by: None,
            tags: BTreeMap::from([("env".to_owned(), "prod".to_owned())]),
        },
        NOW,
    )
}

#[tokio::test]
async fn create_workflow_run() {
    let run = workflow_run("checkout");
    let id = run.id;
    let mut service = MockService::new();
    service
        .expect_create_workflow_run()
        .withf(|new| {
            new.workflow_name == "checkout"
                && new.workflow_version.as_deref() == Some("v2")
                && new.inputs == Some(json!({"order": 7}))
                && new.created_by.as_deref() == Some("cli")
                && new.tags["env"] == "prod"
        })
        .returning(move |_| Ok(run.clone()));
    let body = json!({
        "workflow_name": "checkout", "workflow_version": "v2", "inputs": {"order": 7},
        "created_by": "cli", "tags": {"env": "prod"},
    });
    let body = post(app(service), "/api/v1/workflow-runs", body).await.ok(201);
    assert_eq!(body["workflow_run_id"], id.to_string());
    assert_eq!(body["workflow_name"], "checkout");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["created_at"], NOW_TEXT);

    let reply = post(untouched(), "/api/v1/workflow-runs", json!({"tags": {}})).await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "workflow_name is required");
}

#[tokio::test]
async fn patch_workflow_run() {
    let id = WorkflowRunId::new();
    let started = datetime!(2026-03-04 05:00:00 UTC);
    let mut service = MockService::new();
    service
        .expect_update_workflow_run()
        .withf(move |w, patch| {
            *w == id
                && patch.status == Some(WorkflowStatus::Running)
                && patch.result.is_none()
                && patch.started_at == Some(started)
                && patch.completed_at.is_none()
        })
        .returning(|_, patch| {
            let mut run = workflow_run("checkout");
            run.apply(patch, NOW);
            Ok(run)
        });
    let body = json!({"status": "running", "started_at": "2026-03-04T05:00:00Z"});
    let body = call(app(service), Method::PATCH, &format!("/api/v1/workflow-runs/{id}"), body).await.ok(200);
    assert_eq!(body["status"], "running");
    assert_eq!(body["updated_at"], NOW_TEXT);
    assert!(body["workflow_run_id"].is_string());

    let reply =
        call(untouched(), Method::PATCH, &format!("/api/v1/workflow-runs/{id}"), json!({"status": "done"})).await;
    assert_eq!(
        reply.error(400, "VALIDATION_ERROR"),
        "status must be one of `pending`, `running`, `completed`, `failed`, `canceled`"
    );
    let mut service = MockService::new();
    service.expect_update_workflow_run().returning(|id, _| Err(NotFound::WorkflowRun(id).into()));
    call(app(service), Method::PATCH, &format!("/api/v1/workflow-runs/{id}"), json!({})).await.error(404, "NOT_FOUND");
}

#[tokio::test]
async fn get_workflow_run_with_its_tasks() {
    let run = workflow_run("checkout");
    let id = run.id;
    let task = task_state("charge").task;
    let task_id = task.id;
    let mut service = MockService::new();
    service
        .expect_get_workflow_run()
        .withf(move |w| *w == id)
        .returning(move |_| Ok(WorkflowWithTasks { run: run.clone(), tasks: vec![task.clone()] }));
    let body = get(app(service), &format!("/api/v1/workflow-runs/{id}")).await.ok(200);
    assert_eq!(body["workflow_run_id"], id.to_string());
    assert_eq!(body["workflow_version"], "v2");
    assert_eq!(body["inputs"], json!({"order": 7}));
    assert_eq!(body["tags"], json!({"env": "prod"}));
    assert_eq!(body["result"], Value::Null);
    assert_eq!(body["tasks"][0]["id"], task_id.to_string());
    assert_eq!(body["tasks"][0]["task_name"], "charge");

    let reply = get(untouched(), "/api/v1/workflow-runs/42").await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "id must be a valid UUID");
}

#[tokio::test]
async fn list_workflow_runs() {
    let run = workflow_run("checkout");
    let id = run.id;
    let mut service = MockService::new();
    service
        .expect_list_workflow_runs()
        .withf(|f| {
            *f == WorkflowFilter {
                status: Some(WorkflowStatus::Pending),
                workflow_name: Some("checkout".into()),
                cursor: None,
                limit: 50,
            }
        })
        .returning(move |_| Ok(Page { items: vec![run.clone()], next_cursor: None }));
    let body = get(app(service), "/api/v1/workflow-runs?status=pending&workflow_name=checkout").await.ok(200);
    assert_eq!(body["workflow_runs"][0]["workflow_run_id"], id.to_string());
    assert!(body.get("next_cursor").is_none());

    let reply = get(untouched(), "/api/v1/workflow-runs?status=sleeping").await;
    assert_eq!(
        reply.error(400, "VALIDATION_ERROR"),
        "status must be one of pending, running, completed, failed, canceled"
    );
}
