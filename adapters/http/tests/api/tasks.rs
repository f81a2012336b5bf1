use durable_domain::command::{Page, TaskFilter};
use durable_domain::retry::RetryKind;
use durable_domain::{NotFound, Rejection, RunId, TaskId, TaskStatus, WorkflowRunId};
use durable_ports::MockService;
use durable_ports::service::CreatedTask;
use serde_json::{Value, json};
use time::macros::datetime;

use crate::fixtures::{NOW, NOW_TEXT, claimed, task_state};
use crate::harness::{app, get, post, untouched};

fn created(deduplicated: bool) -> CreatedTask {
    CreatedTask { task_id: TaskId::new(), run_id: RunId::new(), workflow_run_id: None, deduplicated }
}

#[tokio::test]
async fn create_task_passes_every_field() {
    let workflow = WorkflowRunId::new();
    let mut service = MockService::new();
    service
        .expect_create_task()
        .withf(move |queue, task| {
            let retry = task.retry_strategy.unwrap();
            queue == "emails"
                && task.task_name == "send"
                && task.params == json!({"to": "x"})
                && task.headers["trace"] == "abc"
                && retry.kind == RetryKind::Exponential
                && retry.base_seconds == 2.0
                && retry.factor == Some(3.0)
                && retry.max_seconds == Some(60.5)
                && task.max_attempts == Some(5)
                && task.start_timeout == Some(10.0)
                && task.execution_timeout == Some(2.5)
                && task.workflow_run_id == Some(workflow)
                && task.idempotency_key.as_deref() == Some("k1")
                && task.run_at == Some(datetime!(2026-05-01 10:00:00 UTC))
        })
        .returning(move |_, _| Ok(CreatedTask { workflow_run_id: Some(workflow), ..created(false) }));
    let body = json!({
        "task_name": "send",
        "params": {"to": "x"},
        "headers": {"trace": "abc"},
        "retry_strategy": {"kind": "exponential", "base_seconds": 2, "factor": 3.0, "max_seconds": 60.5},
        "max_attempts": 5,
        "start_timeout": 10,
        "execution_timeout": 2.5,
        "workflow_run_id": workflow.to_string(),
        "idempotency_key": "k1",
        "run_at": "2026-05-01T12:00:00+02:00",
    });
    let body = post(app(service), "/api/v1/queues/emails/tasks", body).await.ok(201);
    assert!(body["task_id"].as_str().unwrap().parse::<TaskId>().is_ok());
    assert!(body["run_id"].as_str().unwrap().parse::<RunId>().is_ok());
    assert_eq!(body["workflow_run_id"], workflow.to_string());
    assert_eq!(body["deduplicated"], false);
}

#[tokio::test]
async fn create_task_minimal_and_ids_are_lowercase_hyphenated() {
    let mut service = MockService::new();
    service
        .expect_create_task()
        .withf(|_, task| task.params == Value::Null && task.headers.is_empty() && task.max_attempts.is_none())
        .returning(|_, _| Ok(created(false)));
    let body = post(app(service), "/api/v1/queues/emails/tasks", json!({"task_name": "send"})).await.ok(201);
    let id = body["task_id"].as_str().unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(id, id.to_lowercase());
    assert!(body.get("workflow_run_id").is_none());
}

#[tokio::test]
async fn deduplicated_create_answers_200() {
    let mut service = MockService::new();
    service.expect_create_task().returning(|_, _| Ok(created(true)));
    let body = json!({"task_name": "send", "idempotency_key": "k1"});
    let body = post(app(service), "/api/v1/queues/emails/tasks", body).await.ok(200);
    assert_eq!(body["deduplicated"], true);
}

#[tokio::test]
async fn create_task_rejections_name_the_field() {
    let cases = [
        (json!({}), "task_name is required"),
        (json!({"task_name": 5}), "task_name must be a string"),
        (json!({"task_name": "a", "max_attempts": "3"}), "max_attempts must be an integer"),
        (json!({"task_name": "a", "start_timeout": "soon"}), "start_timeout must be a number"),
        (json!({"task_name": "a", "workflow_run_id": "wf-1"}), "workflow_run_id must be a valid UUID"),
        (json!({"task_name": "a", "run_at": "tomorrow"}), "run_at must be an RFC 3339 time"),
        (json!({"task_name": "a", "headers": {"x": 1}}), "headers.x must be a string"),
        (json!({"task_name": "a", "retry_strategy": {"base_seconds": 1}}), "retry_strategy.kind is required"),
        (
            json!({"task_name": "a", "retry_strategy": {"kind": "linear", "base_seconds": 1}}),
            "retry_strategy.kind must be `fixed` or `exponential`",
        ),
    ];
    for (body, message) in cases {
        let reply = post(untouched(), "/api/v1/queues/emails/tasks", body.clone()).await;
        assert_eq!(reply.error(400, "VALIDATION_ERROR"), message, "{body}");
    }
}

#[tokio::test]
async fn create_task_in_unknown_queue_is_404() {
    let mut service = MockService::new();
    service.expect_create_task().returning(|queue, _| Err(NotFound::Queue(queue).into()));
    let reply = post(app(service), "/api/v1/queues/nope/tasks", json!({"task_name": "a"})).await;
    assert_eq!(reply.error(404, "NOT_FOUND"), "queue \"nope\" not found");
}

#[tokio::test]
async fn batch_create_answers_in_order() {
    let first = created(false);
    let second = created(true);
    let answer = vec![first.clone(), second.clone()];
    let mut service = MockService::new();
    service
        .expect_create_tasks()
        .withf(|queue, tasks| queue == "emails" && tasks.len() == 2 && tasks[1].task_name == "b")
        .returning(move |_, _| Ok(answer.clone()));
    let body = json!({"tasks": [{"task_name": "a"}, {"task_name": "b", "max_attempts": 2}]});
    let body = post(app(service), "/api/v1/queues/emails/tasks/batch", body).await.ok(201);
    assert_eq!(body["tasks"][0]["task_id"], first.task_id.to_string());
    assert_eq!(body["tasks"][1]["run_id"], second.run_id.to_string());
    assert_eq!(body["tasks"][1]["deduplicated"], true);
}

#[tokio::test]
async fn batch_create_names_the_item() {
    let body = json!({"tasks": [{"task_name": "a"}, {"params": {}}]});
    let reply = post(untouched(), "/api/v1/queues/emails/tasks/batch", body).await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "tasks[1].task_name is required");
}

#[tokio::test]
async fn claim_returns_claimed_tasks() {
    let state = claimed("send");
    let (task_id, run_id) = (state.task.id, state.run.id);
    let mut service = MockService::new();
    service
        .expect_claim()
        .withf(|queue, r| {
            queue == "emails"
                && r.limit == 10
                && r.claim_timeout == 30.0
                && r.long_poll_seconds == Some(2.5)
                && r.worker_id.as_deref() == Some("w1")
        })
        .returning(move |_, _| Ok(vec![state.clone()]));
    let body = json!({"limit": 10, "claim_timeout": 30, "long_poll_seconds": 2.5, "worker_id": "w1"});
    let body = post(app(service), "/api/v1/queues/emails/tasks/claim", body).await.ok(200);
    assert_eq!(
        body["tasks"][0],
        json!({
            "run_id": run_id.to_string(),
            "task_id": task_id.to_string(),
            "attempt": 1,
            "task_name": "send",
            "params": {"to": "a@example.com"},
            "headers": {"trace": "abc"},
            "retry_strategy": {"kind": "exponential", "base_seconds": 1.5, "factor": 2.0},
            "max_attempts": 3,
            "queue_name": "emails",
            "claim_expires_at": "2026-03-04T05:06:37.123456Z",
            "workflow_run_id": null,
            "parent_task_id": null,
            "priority": 0,
            "concurrency_key": null,
        })
    );
}

#[tokio::test]
async fn claim_with_nothing_due_is_an_empty_list() {
    let mut service = MockService::new();
    service.expect_claim().returning(|_, _| Ok(vec![]));
    let body = json!({"limit": 1, "claim_timeout": 1.5});
    let body = post(app(service), "/api/v1/queues/emails/tasks/claim", body).await.ok(200);
    assert_eq!(body, json!({"tasks": []}));
}

#[tokio::test]
async fn claim_rejections() {
    let reply = post(untouched(), "/api/v1/queues/q/tasks/claim", json!({"limit": "ten", "claim_timeout": 5})).await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "limit must be an integer");
    let reply = post(untouched(), "/api/v1/queues/q/tasks/claim", json!({"limit": 1})).await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "claim_timeout is required");
}

#[tokio::test]
async fn list_tasks_passes_filters_and_pages() {
    let state = task_state("send");
    let next = state.task.id;
    let mut service = MockService::new();
    let cursor = TaskId::new();
    let parent = TaskId::new();
    service
        .expect_list_tasks()
        .withf(move |f| {
            *f == TaskFilter {
                queue_name: Some("emails".into()),
                status: Some(TaskStatus::Pending),
                task_name: Some("send".into()),
                parent_task_id: Some(parent),
                created_after: Some(time::macros::datetime!(2026-12-01 10:00 UTC)),
                created_before: Some(time::macros::datetime!(2026-12-01 11:30 UTC)),
                cursor: Some(cursor),
                limit: 2,
            }
        })
        .returning(move |_| Ok(Page { items: vec![state.task.clone()], next_cursor: Some(next) }));
    let uri = format!(
        "/api/v1/tasks?queue_name=emails&status=pending&task_name=send&parent_task_id={parent}&cursor={cursor}&limit=2\
         &created_after=2026-12-01T10:00:00Z&created_before=2026-12-01T12:30:00%2B01:00"
    );
    let body = get(app(service), &uri).await.ok(200);
    assert_eq!(
        body["tasks"][0],
        json!({
            "id": next.to_string(), "task_name": "send", "status": "pending", "queue_name": "emails",
            "max_attempts": 3, "created_at": NOW_TEXT,
        })
    );
    assert_eq!(body["next_cursor"], next.to_string());
}

#[tokio::test]
async fn list_tasks_defaults_and_last_page() {
    let mut service = MockService::new();
    service
        .expect_list_tasks()
        .withf(|f| *f == TaskFilter { limit: 50, ..TaskFilter::default() })
        .returning(|_| Ok(Page { items: vec![], next_cursor: None }));
    let body = get(app(service), "/api/v1/tasks").await.ok(200);
    assert_eq!(body, json!({"tasks": []}));
}

/// The original has no upper bound: a larger limit is lowered to 1000.
#[tokio::test]
async fn list_limits_over_the_maximum_are_clamped() {
    for limit in ["1001", "5000", "99999999999999999999"] {
        let mut service = MockService::new();
        service
            .expect_list_tasks()
            .withf(|f| f.limit == 1000)
            .times(1)
            .returning(|_| Ok(Page { items: vec![], next_cursor: None }));
        get(app(service), &format!("/api/v1/tasks?limit={limit}")).await.ok(200);
    }
}

#[tokio::test]
async fn list_tasks_rejections_name_the_parameter() {
    let cases = [
        ("/api/v1/tasks?cursor=abc", "cursor must be a valid UUID"),
        ("/api/v1/tasks?limit=many", "limit must be an integer"),
        ("/api/v1/tasks?limit=0", "limit must be at least 1"),
        ("/api/v1/tasks?limit=-1", "limit must be at least 1"),
        ("/api/v1/tasks?status=done", "status must be one of pending, completed, failed, canceled"),
        ("/api/v1/tasks?created_after=yesterday", "created_after must be an RFC 3339 time"),
        ("/api/v1/tasks?created_before=2026-13-01T00:00:00Z", "created_before must be an RFC 3339 time"),
    ];
    for (uri, message) in cases {
        assert_eq!(get(untouched(), uri).await.error(400, "VALIDATION_ERROR"), message, "{uri}");
    }
}

#[tokio::test]
async fn get_task_returns_the_whole_task() {
    let mut state = task_state("send");
    state.task.status = TaskStatus::Completed;
    state.task.completed_at = Some(NOW);
    state.task.result = Some(json!({"sent": true}));
    let task = state.task.clone();
    let id = task.id;
    let mut service = MockService::new();
    service.expect_get_task().withf(move |t| *t == id).returning(move |_| Ok(task.clone()));
    let body = get(app(service), &format!("/api/v1/tasks/{id}")).await.ok(200);
    assert_eq!(body["id"], id.to_string());
    assert_eq!(body["status"], "completed");
    assert_eq!(body["completed_at"], NOW_TEXT);
    assert_eq!(body["params"], json!({"to": "a@example.com"}));
    assert_eq!(body["headers"], json!({"trace": "abc"}));
    assert_eq!(body["retry_strategy"]["kind"], "exponential");
    assert_eq!(body["attempts"], 1);
    assert_eq!(body["result"], json!({"sent": true}));
    assert_eq!(body["last_error"], Value::Null);
    assert_eq!(body["workflow_run_id"], Value::Null);
    assert_eq!(body["start_timeout"], Value::Null);
    assert_eq!(body["execution_timeout"], 90.0);
    assert_eq!(body["current_run_id"], state.run.id.to_string());
}

#[tokio::test]
async fn get_task_rejects_a_bad_id() {
    let reply = get(untouched(), "/api/v1/tasks/not-a-uuid").await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "task_id must be a valid UUID");
}

#[tokio::test]
async fn cancel_task() {
    let id = TaskId::new();
    let mut service = MockService::new();
    service.expect_cancel_task().withf(move |t| *t == id).returning(|_| Ok(()));
    let reply =
        crate::harness::raw(app(service), axum::http::Method::POST, &format!("/api/v1/tasks/{id}/cancel"), None, "")
            .await;
    assert_eq!(reply.ok(200), json!({"task_id": id.to_string(), "status": "canceled"}));

    let mut service = MockService::new();
    service.expect_cancel_task().returning(|task| Err(Rejection::AlreadyFinished { task, status: "completed" }.into()));
    post(app(service), &format!("/api/v1/tasks/{id}/cancel"), json!({})).await.error(409, "CONFLICT");
}
