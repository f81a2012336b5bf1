//! Every 4xx path of API.md over raw HTTP: status, `{"error", "code"}` JSON
//! body, and a message that names the offending field or entity.

use durable_app::server::Settings;
use durable_client::{ClaimRequest, CreateTask};
use durable_tests::pg::test_database;
use durable_tests::server::TestServer;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{Harness, RawResponse, raw, read};

/// Sends `body` (as is, when given) with `Content-Type: application/json`.
async fn send(h: &Harness, method: Method, path: &str, body: Option<&str>) -> RawResponse {
    let mut request = raw().request(method, h.api(path));
    if let Some(body) = body {
        request = request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_owned());
    }
    read(request.send().await.unwrap()).await
}

/// Expects a 400 whose message contains `expected`.
async fn expect_400(h: &Harness, method: Method, path: &str, body: Option<&str>, expected: &str) {
    let response = send(h, method.clone(), path, body).await;
    let message = response.error(400, "VALIDATION_ERROR");
    assert!(message.contains(expected), "{method} {path} {body:?}: message {message:?} does not name {expected:?}");
}

/// Expects exactly this 400 message.
async fn expect_400_exactly(h: &Harness, method: Method, path: &str, body: &str, expected: &str) {
    let response = send(h, method.clone(), path, Some(body)).await;
    let message = response.error(400, "VALIDATION_ERROR");
    assert_eq!(message, expected, "{method} {path} {body}");
}

async fn expect_status(h: &Harness, method: Method, path: &str, body: Option<&str>, status: u16, code: &str) -> String {
    let response = send(h, method.clone(), path, body).await;
    let message = response.error(status, code);
    println!("{method} {path} → {status} {code}: {message}");
    message
}

/// A server with queue `q`, a pending task and a claimed task.
struct Fixture {
    h: Harness,
    pending_task: Uuid,
    pending_run: Uuid,
    claimed_task: Uuid,
    claimed_run: Uuid,
}

async fn fixture() -> Fixture {
    let h = Harness::postgres().await;
    h.queue("q").await;
    let claimed = h.client.create_task("q", &CreateTask::new("held")).await.unwrap();
    let run = h.client.claim("q", &ClaimRequest::new(1, 300)).await.unwrap();
    assert_eq!(run[0].run_id, claimed.run_id);
    let pending = h.client.create_task("q", &CreateTask::new("waiting")).await.unwrap();
    Fixture {
        h,
        pending_task: pending.task_id,
        pending_run: pending.run_id,
        claimed_task: claimed.task_id,
        claimed_run: claimed.run_id,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_and_missing_fields_are_400_naming_the_field() {
    let f = fixture().await;
    let h = &f.h;
    let run = f.claimed_run;
    let task = f.claimed_task;
    use Method as M;

    // Malformed bodies.
    for body in [r#"{"name":"#, r#"{"name": "a",}"#, r#"{"name": "a"} trailing"#, "nul"] {
        let response = send(h, M::POST, "/queues", Some(body)).await;
        let message = response.error(400, "VALIDATION_ERROR");
        assert!(message.starts_with("malformed JSON"), "{body}: {message}");
    }
    expect_400(h, M::POST, "/queues", Some(""), "empty").await;
    expect_400_exactly(h, M::POST, "/queues", "[]", "request body must be a JSON object").await;
    // A body that is not JSON, sent as a form (`curl -d`).
    let response = read(
        raw()
            .post(h.api("/queues"))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("name=form")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let message = response.error(400, "VALIDATION_ERROR");
    assert!(message.starts_with("malformed JSON") && message.contains("JSON object"), "{message}");

    // Missing and empty required fields.
    expect_400_exactly(h, M::POST, "/queues", "{}", "name is required").await;
    expect_400_exactly(h, M::POST, "/queues", r#"{"name": ""}"#, "name is required").await;
    expect_400_exactly(h, M::POST, "/queues/q/tasks", "{}", "task_name is required").await;
    expect_400_exactly(h, M::POST, "/queues/q/tasks", r#"{"task_name": ""}"#, "task_name is required").await;
    expect_400_exactly(h, M::POST, "/queues/q/tasks", r#"{"task_name": "   "}"#, "task_name is required").await;
    expect_400_exactly(h, M::POST, "/queues/q/tasks/batch", "{}", "tasks is required").await;
    expect_400_exactly(
        h,
        M::POST,
        "/queues/q/tasks/batch",
        r#"{"tasks": [{"task_name": "a"}, {}]}"#,
        "tasks[1].task_name is required",
    )
    .await;
    expect_400_exactly(h, M::POST, "/queues/q/tasks/claim", r#"{"claim_timeout": 30}"#, "limit is required").await;
    expect_400_exactly(h, M::POST, "/queues/q/tasks/claim", r#"{"limit": 1}"#, "claim_timeout is required").await;
    expect_400_exactly(h, M::POST, &format!("/runs/{run}/fail"), "{}", "error is required").await;
    expect_400_exactly(h, M::POST, &format!("/runs/{run}/schedule"), "{}", "run_at is required").await;
    expect_400_exactly(h, M::POST, &format!("/runs/{run}/heartbeat"), "{}", "extend_by_seconds is required").await;
    expect_400_exactly(
        h,
        M::POST,
        &format!("/runs/{run}/wait-for-event"),
        &json!({"timeout_seconds": 5, "task_id": task, "step_name": "s"}).to_string(),
        "event_name is required",
    )
    .await;
    expect_400_exactly(
        h,
        M::POST,
        &format!("/runs/{run}/wait-for-event"),
        &json!({"event_name": "e", "timeout_seconds": 5, "task_id": task}).to_string(),
        "step_name is required",
    )
    .await;
    expect_400_exactly(
        h,
        M::POST,
        &format!("/runs/{run}/wait-for-event"),
        &json!({"event_name": "", "timeout_seconds": 5, "task_id": task, "step_name": "s"}).to_string(),
        "event_name is required",
    )
    .await;
    expect_400_exactly(h, M::PUT, &format!("/tasks/{task}/checkpoints/s"), r#"{"state": 1}"#, "owner_run is required")
        .await;
    expect_400_exactly(h, M::POST, "/events", "{}", "event_name is required").await;
    expect_400_exactly(h, M::POST, "/events", r#"{"event_name": ""}"#, "event_name is required").await;
    expect_400_exactly(h, M::POST, "/workflow-runs", "{}", "workflow_name is required").await;
    expect_400_exactly(h, M::POST, "/runs/complete", "{}", "runs is required").await;
    expect_400(h, M::POST, "/runs/complete", Some(r#"{"runs": [{}]}"#), "run_id").await;

    // Wrong types name the field.
    expect_400_exactly(h, M::POST, "/queues", r#"{"name": 5}"#, "name must be a string").await;
    expect_400_exactly(
        h,
        M::POST,
        "/queues/q/tasks",
        r#"{"task_name": "x", "max_attempts": 1.5}"#,
        "max_attempts must be an integer",
    )
    .await;
    expect_400_exactly(
        h,
        M::POST,
        "/queues/q/tasks",
        r#"{"task_name": "x", "headers": {"a": 1}}"#,
        "headers.a must be a string",
    )
    .await;
    expect_400_exactly(
        h,
        M::POST,
        "/queues/q/tasks/claim",
        r#"{"limit": "x", "claim_timeout": 30}"#,
        "limit must be an integer",
    )
    .await;
    expect_400(
        h,
        M::POST,
        "/queues/q/tasks",
        Some(r#"{"task_name": "x", "retry_strategy": {"kind": "daily", "base_seconds": 1}}"#),
        "retry_strategy.kind",
    )
    .await;
    expect_400(h, M::POST, "/queues/q/tasks", Some(r#"{"task_name": "x", "run_at": "tomorrow"}"#), "run_at").await;
    expect_400(h, M::POST, &format!("/runs/{run}/schedule"), Some(r#"{"run_at": "soon"}"#), "run_at").await;
    expect_400(h, M::PATCH, &format!("/workflow-runs/{}", Uuid::now_v7()), Some(r#"{"status": "bogus"}"#), "status")
        .await;
    expect_400(
        h,
        M::POST,
        "/queues",
        Some(r#"{"name": "x", "cleanup": {"task_ttl_seconds": -1}}"#),
        "task_ttl_seconds",
    )
    .await;

    // UUIDs in bodies.
    expect_400(
        h,
        M::POST,
        "/queues/q/tasks",
        Some(r#"{"task_name": "x", "workflow_run_id": "nope"}"#),
        "workflow_run_id",
    )
    .await;
    expect_400(
        h,
        M::POST,
        &format!("/runs/{run}/wait-for-event"),
        Some(r#"{"event_name": "e", "timeout_seconds": 5, "task_id": "nope", "step_name": "s"}"#),
        "task_id",
    )
    .await;
    expect_400(
        h,
        M::PUT,
        &format!("/tasks/{task}/checkpoints/s"),
        Some(r#"{"state": 1, "owner_run": "nope"}"#),
        "owner_run",
    )
    .await;
    expect_400(h, M::POST, "/runs/complete", Some(r#"{"runs": [{"run_id": "nope"}]}"#), "run_id").await;

    // Out-of-range numbers.
    let claim = |body: Value| body.to_string();
    for (body, field) in [
        (claim(json!({"limit": 0, "claim_timeout": 30})), "limit"),
        (claim(json!({"limit": -1, "claim_timeout": 30})), "limit"),
        (claim(json!({"limit": 1, "claim_timeout": 0})), "claim_timeout"),
        (claim(json!({"limit": 1, "claim_timeout": 0.5})), "claim_timeout"),
        (claim(json!({"limit": 1, "claim_timeout": -3})), "claim_timeout"),
        (claim(json!({"limit": 1, "claim_timeout": 30, "long_poll_seconds": 61})), "long_poll_seconds"),
        (claim(json!({"limit": 1, "claim_timeout": 30, "long_poll_seconds": 0})), "long_poll_seconds"),
    ] {
        expect_400(h, M::POST, "/queues/q/tasks/claim", Some(&body), field).await;
    }
    for (body, field) in [
        (json!({"task_name": "x", "max_attempts": 0}), "max_attempts"),
        (json!({"task_name": "x", "max_attempts": -2}), "max_attempts"),
        (json!({"task_name": "x", "start_timeout": -1}), "start_timeout"),
        (json!({"task_name": "x", "execution_timeout": -1}), "execution_timeout"),
        (
            json!({"task_name": "x", "retry_strategy": {"kind": "fixed", "base_seconds": -1}}),
            "retry_strategy.base_seconds",
        ),
        (
            json!({"task_name": "x", "retry_strategy": {"kind": "exponential", "base_seconds": 1, "factor": 0.5}}),
            "retry_strategy.factor",
        ),
        (
            json!({"task_name": "x", "retry_strategy": {"kind": "exponential", "base_seconds": 1, "max_seconds": -1}}),
            "retry_strategy.max_seconds",
        ),
    ] {
        expect_400(h, M::POST, "/queues/q/tasks", Some(&body.to_string()), field).await;
    }
    expect_400(h, M::POST, &format!("/runs/{run}/heartbeat"), Some(r#"{"extend_by_seconds": 0}"#), "extend_by_seconds")
        .await;
    expect_400(
        h,
        M::POST,
        &format!("/runs/{run}/wait-for-event"),
        Some(&json!({"event_name": "e", "timeout_seconds": 0, "task_id": task, "step_name": "s"}).to_string()),
        "timeout_seconds",
    )
    .await;
    expect_400(
        h,
        M::PUT,
        &format!("/tasks/{task}/checkpoints/s"),
        Some(&json!({"state": 1, "owner_run": run, "extend_claim_by": 0}).to_string()),
        "extend_claim_by",
    )
    .await;
    for path in ["/tasks", "/runs", "/workflow-runs"] {
        for limit in ["0", "-1", "ten"] {
            expect_400(h, M::GET, &format!("{path}?limit={limit}"), None, "limit").await;
        }
        // The bounds are fine, and so is more than the maximum (clamped).
        for limit in ["1", "1000", "1001", "99999999999999999999"] {
            let ok = send(h, M::GET, &format!("{path}?limit={limit}"), None).await;
            assert_eq!(ok.status, 200, "{path}?limit={limit}: {}", ok.text);
        }
    }
    let batch: Vec<Value> = (0..1001).map(|_| json!({"run_id": Uuid::now_v7()})).collect();
    expect_400(h, M::POST, "/runs/complete", Some(&json!({"runs": batch}).to_string()), "runs").await;

    // Enumerations in queries.
    expect_400(h, M::DELETE, "/queues/q?force=maybe", None, "force").await;
    expect_400(h, M::GET, "/tasks?status=done", None, "status").await;
    expect_400(h, M::GET, "/runs?status=bogus", None, "status").await;
    expect_400(h, M::GET, "/workflow-runs?status=bogus", None, "status").await;

    // Invalid queue names.
    for (name, message) in [
        ("", "name is required"),
        ("tab\there", "name must not contain control characters"),
        ("nul\u{0}", "name must not contain control characters"),
        ("..", "name must not be \".\" or \"..\""),
        (&"x".repeat(256), "name must be at most 255 bytes"),
    ] {
        let body = json!({"name": name}).to_string();
        expect_400_exactly(h, M::POST, "/queues", &body, message).await;
    }
    let longest = "y".repeat(255);
    let ok = send(h, M::POST, "/queues", Some(&json!({"name": longest}).to_string())).await;
    assert_eq!(ok.status, 201, "a 255-byte name is valid: {}", ok.text);

    h.client.complete_run(run, None).await.unwrap();
    f.h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_that_are_not_uuids_are_400_naming_the_parameter() {
    let f = fixture().await;
    let h = &f.h;
    let task = f.claimed_task;
    use Method as M;
    let wait = json!({"event_name": "e", "timeout_seconds": 5, "task_id": task, "step_name": "s"}).to_string();
    let cases: Vec<(Method, String, Option<String>, &str)> = vec![
        (M::GET, "/tasks/not-a-uuid".into(), None, "task_id must be a valid UUID"),
        (M::POST, "/tasks/not-a-uuid/cancel".into(), None, "task_id must be a valid UUID"),
        (M::GET, "/tasks/123/checkpoints".into(), None, "task_id must be a valid UUID"),
        (M::GET, "/tasks/123/checkpoints/s".into(), None, "task_id must be a valid UUID"),
        (
            M::PUT,
            "/tasks/123/checkpoints/s".into(),
            Some(json!({"state": 1, "owner_run": f.claimed_run}).to_string()),
            "task_id must be a valid UUID",
        ),
        (M::POST, "/runs/xyz/complete".into(), None, "run_id must be a valid UUID"),
        (M::POST, "/runs/xyz/complete".into(), Some("{}".into()), "run_id must be a valid UUID"),
        (M::POST, "/runs/xyz/fail".into(), Some(r#"{"error": "e"}"#.into()), "run_id must be a valid UUID"),
        (
            M::POST,
            "/runs/xyz/schedule".into(),
            Some(r#"{"run_at": "2030-01-01T00:00:00Z"}"#.into()),
            "run_id must be a valid UUID",
        ),
        (
            M::POST,
            "/runs/xyz/heartbeat".into(),
            Some(r#"{"extend_by_seconds": 5}"#.into()),
            "run_id must be a valid UUID",
        ),
        (M::POST, "/runs/xyz/wait-for-event".into(), Some(wait), "run_id must be a valid UUID"),
        (M::GET, "/workflow-runs/nope".into(), None, "must be a valid UUID"),
        (M::PATCH, "/workflow-runs/nope".into(), Some("{}".into()), "must be a valid UUID"),
        (M::GET, "/tasks?cursor=nope".into(), None, "cursor must be a valid UUID"),
        (M::GET, "/runs?cursor=nope".into(), None, "cursor must be a valid UUID"),
        (M::GET, "/runs?task_id=nope".into(), None, "task_id must be a valid UUID"),
        (M::GET, "/workflow-runs?cursor=nope".into(), None, "cursor must be a valid UUID"),
    ];
    for (method, path, body, expected) in cases {
        expect_400(h, method, &path, body.as_deref(), expected).await;
    }
    f.h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_entities_are_404() {
    let f = fixture().await;
    let h = &f.h;
    use Method as M;
    let ghost = Uuid::now_v7();
    let task = f.claimed_task;
    let run = f.claimed_run;

    // Queues (an invalid name cannot exist either).
    for queue in ["nope", "tab%09name", "nul%00", &"x".repeat(256)] {
        for (method, path, body) in [
            (M::POST, format!("/queues/{queue}/tasks"), Some(r#"{"task_name": "x"}"#)),
            (M::POST, format!("/queues/{queue}/tasks/batch"), Some(r#"{"tasks": [{"task_name": "x"}]}"#)),
            (M::POST, format!("/queues/{queue}/tasks/claim"), Some(r#"{"limit": 1, "claim_timeout": 5}"#)),
            (
                M::POST,
                format!("/queues/{queue}/tasks/claim"),
                Some(r#"{"limit": 1, "claim_timeout": 5, "long_poll_seconds": 5}"#),
            ),
            (M::GET, format!("/queues/{queue}/stats"), None),
            (M::DELETE, format!("/queues/{queue}"), None),
            (M::DELETE, format!("/queues/{queue}?force=true"), None),
        ] {
            let message = expect_status(h, method, &path, body, 404, "NOT_FOUND").await;
            if queue == "nope" {
                assert_eq!(message, r#"queue "nope" not found"#, "{path}");
            }
        }
    }
    // Tasks.
    let task_not_found = format!("task {ghost} not found");
    for (method, path) in [
        (M::GET, format!("/tasks/{ghost}")),
        (M::POST, format!("/tasks/{ghost}/cancel")),
        (M::GET, format!("/tasks/{ghost}/checkpoints")),
        (M::GET, format!("/tasks/{ghost}/checkpoints/s")),
    ] {
        let message = expect_status(h, method, &path, None, 404, "NOT_FOUND").await;
        assert_eq!(message, task_not_found, "{path}");
    }
    let body = json!({"state": 1, "owner_run": run}).to_string();
    expect_status(h, M::PUT, &format!("/tasks/{ghost}/checkpoints/s"), Some(&body), 404, "NOT_FOUND").await;
    // Checkpoints.
    let message =
        expect_status(h, M::GET, &format!("/tasks/{task}/checkpoints/never-written"), None, 404, "NOT_FOUND").await;
    assert!(message.contains("never-written"), "{message}");
    // Runs.
    let run_not_found = format!("run {ghost} not found");
    let wait = json!({"event_name": "e", "timeout_seconds": 5, "task_id": task, "step_name": "s"}).to_string();
    for (path, body) in [
        (format!("/runs/{ghost}/complete"), None),
        (format!("/runs/{ghost}/complete"), Some(r#"{"result": 1}"#)),
        (format!("/runs/{ghost}/fail"), Some(r#"{"error": "e"}"#)),
        (format!("/runs/{ghost}/schedule"), Some(r#"{"run_at": "2030-01-01T00:00:00Z"}"#)),
        (format!("/runs/{ghost}/heartbeat"), Some(r#"{"extend_by_seconds": 5}"#)),
        (format!("/runs/{ghost}/wait-for-event"), Some(wait.as_str())),
    ] {
        let message = expect_status(h, M::POST, &path, body, 404, "NOT_FOUND").await;
        assert_eq!(message, run_not_found, "{path}");
    }
    // wait-for-event naming a task that does not exist.
    let wait_ghost = json!({"event_name": "e", "timeout_seconds": 5, "task_id": ghost, "step_name": "s"}).to_string();
    expect_status(h, M::POST, &format!("/runs/{run}/wait-for-event"), Some(&wait_ghost), 404, "NOT_FOUND").await;
    // Workflow runs.
    let wf_not_found = format!("workflow run {ghost} not found");
    let message = expect_status(h, M::GET, &format!("/workflow-runs/{ghost}"), None, 404, "NOT_FOUND").await;
    assert_eq!(message, wf_not_found);
    let message = expect_status(
        h,
        M::PATCH,
        &format!("/workflow-runs/{ghost}"),
        Some(r#"{"status": "running"}"#),
        404,
        "NOT_FOUND",
    )
    .await;
    assert_eq!(message, wf_not_found);
    let body = json!({"task_name": "x", "workflow_run_id": ghost}).to_string();
    let message = expect_status(h, M::POST, "/queues/q/tasks", Some(&body), 404, "NOT_FOUND").await;
    assert_eq!(message, wf_not_found);
    f.h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn state_conflicts_are_409() {
    let f = fixture().await;
    let h = &f.h;
    use Method as M;
    let (pending_run, pending_task) = (f.pending_run, f.pending_task);
    let (claimed_run, claimed_task) = (f.claimed_run, f.claimed_task);

    expect_status(h, M::POST, "/queues", Some(r#"{"name": "q"}"#), 409, "CONFLICT").await;
    // A run that is not claimed.
    let wait = json!({"event_name": "e", "timeout_seconds": 5, "task_id": pending_task, "step_name": "s"}).to_string();
    for (path, body) in [
        (format!("/runs/{pending_run}/complete"), None),
        (format!("/runs/{pending_run}/fail"), Some(r#"{"error": "e"}"#)),
        (format!("/runs/{pending_run}/heartbeat"), Some(r#"{"extend_by_seconds": 5}"#)),
        (format!("/runs/{pending_run}/wait-for-event"), Some(wait.as_str())),
    ] {
        expect_status(h, M::POST, &path, body, 409, "CONFLICT").await;
    }
    let body = json!({"state": 1, "owner_run": pending_run}).to_string();
    expect_status(h, M::PUT, &format!("/tasks/{pending_task}/checkpoints/s"), Some(&body), 409, "CONFLICT").await;
    // A claimed run used for another task.
    let body = json!({"state": 1, "owner_run": claimed_run}).to_string();
    expect_status(h, M::PUT, &format!("/tasks/{pending_task}/checkpoints/s"), Some(&body), 409, "CONFLICT").await;
    let wait = json!({"event_name": "e", "timeout_seconds": 5, "task_id": pending_task, "step_name": "s"}).to_string();
    expect_status(h, M::POST, &format!("/runs/{claimed_run}/wait-for-event"), Some(&wait), 409, "CONFLICT").await;
    // Nothing of that changed anything.
    expect_status(h, M::GET, &format!("/tasks/{pending_task}/checkpoints/s"), None, 404, "NOT_FOUND").await;

    // A queue with unfinished tasks.
    let message = expect_status(h, M::DELETE, "/queues/q", None, 409, "CONFLICT").await;
    assert!(message.contains("\"q\""), "{message}");

    // Finished runs and tasks. An empty body completes (no content type needed).
    let done = read(raw().post(h.api(&format!("/runs/{claimed_run}/complete"))).send().await.unwrap()).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.json, json!({"run_id": claimed_run, "status": "completed"}));
    for (path, body) in [
        (format!("/runs/{claimed_run}/complete"), None),
        (format!("/runs/{claimed_run}/complete"), Some(r#"{"result": 2}"#)),
        (format!("/runs/{claimed_run}/fail"), Some(r#"{"error": "e"}"#)),
        (format!("/runs/{claimed_run}/schedule"), Some(r#"{"run_at": "2030-01-01T00:00:00Z"}"#)),
        (format!("/runs/{claimed_run}/heartbeat"), Some(r#"{"extend_by_seconds": 5}"#)),
        (format!("/tasks/{claimed_task}/cancel"), None),
    ] {
        expect_status(h, M::POST, &path, body, 409, "CONFLICT").await;
    }
    let body = json!({"state": 1, "owner_run": claimed_run}).to_string();
    expect_status(h, M::PUT, &format!("/tasks/{claimed_task}/checkpoints/s"), Some(&body), 409, "CONFLICT").await;
    f.h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_limit_is_413() {
    let f = fixture().await;
    let h = &f.h;
    // The default limit is 1 MiB.
    let big = json!({"task_name": "big", "params": "x".repeat(2 * 1024 * 1024)}).to_string();
    let response = send(h, Method::POST, "/queues/q/tasks", Some(&big)).await;
    response.error(413, "PAYLOAD_TOO_LARGE");
    let batch = json!({"tasks": [{"task_name": "big", "params": "x".repeat(1024 * 1024)}]}).to_string();
    send(h, Method::POST, "/queues/q/tasks/batch", Some(&batch)).await.error(413, "PAYLOAD_TOO_LARGE");
    let result = json!({"result": "x".repeat(1024 * 1024 + 1)}).to_string();
    send(h, Method::POST, &format!("/runs/{}/complete", f.claimed_run), Some(&result))
        .await
        .error(413, "PAYLOAD_TOO_LARGE");
    // The run was not completed by it.
    assert_eq!(h.client.heartbeat(f.claimed_run, 60).await.unwrap().run_id, f.claimed_run);
    // Just under the limit is accepted.
    let fits = json!({"task_name": "fits", "params": "x".repeat(900 * 1024)}).to_string();
    let response = send(h, Method::POST, "/queues/q/tasks", Some(&fits)).await;
    assert_eq!(response.status, 201, "{}", &response.text[..response.text.len().min(300)]);
    f.h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_are_404_and_wrong_methods_405_as_json() {
    let f = fixture().await;
    let h = &f.h;
    use Method as M;
    for (method, url) in [
        (M::GET, h.api("/nope")),
        (M::POST, h.api("/queues/q/unknown")),
        (M::GET, format!("{}/nope", h.base_url())),
        (M::GET, format!("{}/api/v2/queues", h.base_url())),
    ] {
        let response = read(raw().request(method.clone(), &url).send().await.unwrap()).await;
        let message = response.error(404, "NOT_FOUND");
        println!("{method} {url} → 404: {message}");
    }
    for (method, path) in [
        (M::DELETE, "/tasks".to_owned()),
        (M::PUT, "/queues".to_owned()),
        (M::GET, format!("/runs/{}/complete", f.claimed_run)),
        (M::DELETE, format!("/tasks/{}", f.claimed_task)),
        (M::POST, "/queues/q/stats".to_owned()),
    ] {
        let response = read(raw().request(method.clone(), h.api(&path)).send().await.unwrap()).await;
        let message = response.error(405, "METHOD_NOT_ALLOWED");
        println!("{method} {path} → 405: {message}");
    }
    f.h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_queue_limit_is_400() {
    let database = test_database().await;
    let settings = Settings { database_url: database.url().to_owned(), max_queues: 2, ..TestServer::settings() };
    let h = Harness::with(TestServer::start(settings, Some(database)).await);
    h.queue("one").await;
    h.queue("two").await;
    let response = send(&h, Method::POST, "/queues", Some(r#"{"name": "three"}"#)).await;
    let message = response.error(400, "VALIDATION_ERROR");
    assert!(message.contains("limit") && message.contains('2'), "{message}");
    assert_eq!(h.client.list_queues().await.unwrap().len(), 2);
    // Deleting one makes room again.
    h.client.delete_queue("one").await.unwrap();
    h.queue("three").await;
    let response = send(&h, Method::POST, "/queues", Some(r#"{"name": "four"}"#)).await;
    response.error(400, "VALIDATION_ERROR");
    h.stop().await;
}

/// A NUL character (U+0000) in a string is the client's input, never a
/// server fault: it is stored and read back, or refused with a 400 that
/// names the field — never a 500.
#[tokio::test(flavor = "multi_thread")]
async fn nul_characters_are_never_a_500() {
    let f = fixture().await;
    let h = &f.h;
    use Method as M;
    let (run, task) = (f.claimed_run, f.claimed_task);
    h.client.emit_event(&durable_client::EmitEvent::new("exists", Some(json!(1)))).await.unwrap();
    let cases: Vec<(Method, String, Value, &str)> = vec![
        (M::POST, "/queues/q/tasks".into(), json!({"task_name": "a\u{0}b"}), "task_name"),
        (M::POST, "/queues/q/tasks".into(), json!({"task_name": "x", "idempotency_key": "k\u{0}"}), "idempotency_key"),
        (M::POST, "/queues/q/tasks".into(), json!({"task_name": "x", "params": "a\u{0}b"}), "params"),
        (M::POST, "/queues/q/tasks".into(), json!({"task_name": "x", "headers": {"h": "v\u{0}"}}), "headers"),
        (
            M::POST,
            "/queues/q/tasks/claim".into(),
            json!({"limit": 1, "claim_timeout": 30, "worker_id": "w\u{0}"}),
            "worker_id",
        ),
        (M::POST, "/events".into(), json!({"event_name": "e\u{0}"}), "event_name"),
        (M::POST, "/events".into(), json!({"event_name": "e", "payload": "\u{0}"}), "payload"),
        (M::POST, "/workflow-runs".into(), json!({"workflow_name": "w\u{0}"}), "workflow_name"),
        (M::POST, "/workflow-runs".into(), json!({"workflow_name": "w", "created_by": "\u{0}"}), "created_by"),
        (M::PUT, format!("/tasks/{task}/checkpoints/s"), json!({"state": "\u{0}", "owner_run": run}), "state"),
        // "exists" was emitted: a wait that is accepted resolves and keeps the claim.
        (
            M::POST,
            format!("/runs/{run}/wait-for-event"),
            json!({"event_name": "exists", "step_name": "s\u{0}", "task_id": task, "timeout_seconds": 10}),
            "step_name",
        ),
        (M::POST, format!("/runs/{run}/fail"), json!({"error": "bad\u{0}"}), "error"),
    ];
    let mut failures = Vec::new();
    for (method, path, body, field) in cases {
        let response = send(h, method.clone(), &path, Some(&body.to_string())).await;
        println!("{method} {path} {body} → {} {}", response.status, response.text);
        let fine = (200..300).contains(&response.status)
            || (response.status == 400
                && response.json["code"] == "VALIDATION_ERROR"
                && response.json["error"].as_str().is_some_and(|m| m.contains(field)));
        if !fine {
            failures.push(format!("{method} {path} {body} → {} {}", response.status, response.text));
        }
    }
    for (path, field) in [
        ("/tasks?task_name=%00", "task_name"),
        ("/tasks?queue_name=q%00", "queue_name"),
        ("/workflow-runs?workflow_name=%00", "workflow_name"),
    ] {
        let response = send(h, M::GET, path, None).await;
        println!("GET {path} → {} {}", response.status, response.text);
        let fine = response.status == 200
            || (response.status == 400 && response.json["error"].as_str().is_some_and(|m| m.contains(field)));
        if !fine {
            failures.push(format!("GET {path} → {} {}", response.status, response.text));
        }
    }
    assert!(
        failures.is_empty(),
        "NUL characters must be stored or refused with a 400 naming the field:\n{}",
        failures.join("\n")
    );
    f.h.stop().await;
}
