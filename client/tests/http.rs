//! The client against a local stub: paths, bodies, headers, error decoding,
//! which calls are retried, and timeouts, all over real HTTP.

mod common;

use std::time::Duration;

use common::{NOW, RUN, Reply, Stub, TASK, client};
use durable_client::{
    ClaimRequest, CompleteRun, CreateQueue, CreateTask, CreateWorkflowRun, EmitEvent, Error, ErrorCode, ListTasks,
    PutCheckpoint, TaskStatus, UpdateWorkflowRun, WaitForEvent, WaitOutcome, WorkflowStatus,
};
use futures::TryStreamExt;
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use uuid::Uuid;

fn run_id() -> Uuid {
    RUN.parse().unwrap()
}

fn task_id() -> Uuid {
    TASK.parse().unwrap()
}

fn stats() -> serde_json::Value {
    json!({"queue_name": "q", "pending_runs": 0, "claimed_runs": 0, "completed_runs": 0,
           "oldest_pending_run_age_seconds": null})
}

#[tokio::test]
async fn a_get_is_retried_on_503_until_it_succeeds() {
    let stub = Stub::start(|_, n| {
        if n < 2 { Reply::error(503, "UNAVAILABLE", "storage is unavailable") } else { Reply::json(200, stats()) }
    })
    .await;
    let stats = client(&stub).build().unwrap().queue_stats("q").await.unwrap();
    assert_eq!(stats.queue_name, "q");
    assert_eq!(stub.count("GET", "/api/v1/queues/q/stats"), 3);
}

#[tokio::test]
async fn retries_are_bounded_and_end_with_the_api_error() {
    let stub = Stub::start(|_, _| Reply::error(503, "UNAVAILABLE", "down")).await;
    let err = client(&stub).retries(4).build().unwrap().list_queues().await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert!(matches!(err, Error::Api { status: 503, code: ErrorCode::Unavailable, ref message } if message == "down"));
    assert_eq!(stub.count("GET", "/api/v1/queues"), 5);
}

#[tokio::test]
async fn non_idempotent_calls_are_sent_once_on_503() {
    let stub = Stub::start(|_, _| Reply::error(503, "UNAVAILABLE", "down")).await;
    let c = client(&stub).build().unwrap();
    assert!(c.complete_run(run_id(), None).await.unwrap_err().is_unavailable());
    assert!(c.complete_runs(&[CompleteRun::new(run_id(), None)]).await.is_err());
    assert!(c.fail_run(run_id(), "x").await.is_err());
    assert!(c.claim("q", &ClaimRequest::new(1, 30)).await.is_err());
    assert!(c.emit_event(&EmitEvent::new("e", None)).await.is_err());
    assert!(c.create_task("q", &CreateTask::new("t")).await.is_err());
    assert!(c.create_tasks("q", &[CreateTask::new("t").idempotency_key("k"), CreateTask::new("u")]).await.is_err());
    assert!(c.create_queue(&CreateQueue::new("q")).await.is_err());
    assert!(c.heartbeat(run_id(), 30).await.is_err());
    let counts = stub.counts();
    assert_eq!(counts.len(), 9, "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
}

#[tokio::test]
async fn idempotent_writes_are_retried_on_503() {
    let stub = Stub::start(|_, _| Reply::error(503, "UNAVAILABLE", "down")).await;
    let c = client(&stub).build().unwrap();
    assert!(c.create_task("q", &CreateTask::new("t").idempotency_key("k")).await.is_err());
    assert!(c.create_tasks("q", &[CreateTask::new("t").idempotency_key("k")]).await.is_err());
    assert!(c.delete_queue("q").await.is_err());
    assert!(c.put_checkpoint(task_id(), "s", &PutCheckpoint::new(run_id(), json!(1))).await.is_err());
    assert!(c.update_workflow_run(run_id(), &UpdateWorkflowRun::default()).await.is_err());
    let counts = stub.counts();
    assert_eq!(counts.len(), 5, "{counts:?}");
    assert!(counts.values().all(|&n| n == 3), "{counts:?}");
}

/// Accepts connections and closes them without answering; counts them.
async fn slamming_server() -> (String, tokio::task::JoinHandle<usize>, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, mut stopped) = tokio::sync::oneshot::channel();
    let counter = tokio::spawn(async move {
        let mut accepted = 0;
        loop {
            tokio::select! {
                _ = &mut stopped => return accepted,
                conn = listener.accept() => {
                    let (mut socket, _) = conn.unwrap();
                    accepted += 1;
                    let mut buf = [0u8; 1024];
                    let _ = socket.read(&mut buf).await;
                }
            }
        }
    });
    (url, counter, stop)
}

#[tokio::test]
async fn connection_errors_are_retried_only_for_idempotent_calls() {
    let (url, counter, stop) = slamming_server().await;
    let policy = durable_client::RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
    };
    let c = durable_client::Client::builder(url).retry_policy(policy).build().unwrap();
    let err = c.get_task(task_id()).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    let err = c.complete_run(run_id(), None).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    stop.send(()).unwrap();
    assert_eq!(counter.await.unwrap(), 3 + 1, "3 tries of the GET, 1 of the complete");
}

#[tokio::test]
async fn the_bearer_token_is_sent_when_configured() {
    let stub = Stub::start(|_, _| Reply::json(200, json!({"queues": []}))).await;
    client(&stub).token("s3cret").build().unwrap().list_queues().await.unwrap();
    client(&stub).build().unwrap().list_queues().await.unwrap();
    let requests = stub.requests();
    assert_eq!(requests[0].authorization.as_deref(), Some("Bearer s3cret"));
    assert_eq!(requests[1].authorization, None);
}

#[tokio::test]
async fn a_claim_may_outlast_the_normal_timeout_by_its_long_poll() {
    let stub = Stub::start(|_, _| Reply::json(200, json!({"tasks": []})).after(Duration::from_millis(400))).await;
    let c = client(&stub).timeout(Duration::from_millis(150)).retries(0).build().unwrap();
    let tasks = c.claim("q", &ClaimRequest::new(5, 30).long_poll_seconds(1)).await.unwrap();
    assert!(tasks.is_empty());
    // Without a long poll the claim gets the normal timeout, like any call;
    // each of these would succeed if it waited for the 400 ms answer.
    let err = c.claim("q", &ClaimRequest::new(5, 30)).await.unwrap_err();
    assert!(matches!(err, Error::Transport(ref e) if e.is_timeout()), "{err:?}");
    let err = c.list_queues().await.unwrap_err();
    assert!(matches!(err, Error::Transport(ref e) if e.is_timeout()), "{err:?}");
    let claim = &stub.requests()[0];
    assert_eq!(claim.body, json!({"limit": 5, "claim_timeout": 30, "long_poll_seconds": 1}));
}

#[tokio::test]
async fn error_bodies_become_typed_errors() {
    let stub = Stub::start(|r, _| match r.path.as_str() {
        "/api/v1/queues/nope/stats" => Reply::error(404, "NOT_FOUND", "queue \"nope\" not found"),
        "/api/v1/queues" => Reply::error(409, "CONFLICT", "queue \"q\" already exists"),
        "/api/v1/events" => Reply::error(413, "PAYLOAD_TOO_LARGE", "too big"),
        "/api/v1/tasks" => Reply::error(401, "UNAUTHORIZED", "missing token"),
        _ => Reply::error(400, "VALIDATION_ERROR", "run_id must be a valid UUID"),
    })
    .await;
    let c = client(&stub).build().unwrap();
    let err = c.queue_stats("nope").await.unwrap_err();
    assert!(err.is_not_found() && err.status() == Some(404));
    assert_eq!(err.to_string(), "HTTP 404 NOT_FOUND: queue \"nope\" not found");
    assert!(c.create_queue(&CreateQueue::new("q")).await.unwrap_err().is_conflict());
    let err = c.emit_event(&EmitEvent::new("e", Some(json!("x")))).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::PayloadTooLarge));
    assert!(c.list_tasks(&ListTasks::default()).await.unwrap_err().is_unauthorized());
    assert!(c.cancel_task(task_id()).await.unwrap_err().is_validation());
}

#[tokio::test]
async fn wait_for_event_maps_200_202_and_408() {
    let stub = Stub::start(|_, n| match n {
        0 => Reply::json(202, json!({"status": "sleeping", "message": "waiting for order.paid"})),
        1 => Reply::json(200, json!({"status": "resolved", "payload": {"amount": 5}})),
        2 => Reply::json(408, json!({"status": "timeout", "message": "timed out"})),
        _ => Reply::error(409, "CONFLICT", "claim lost"),
    })
    .await;
    let c = client(&stub).build().unwrap();
    let wait = WaitForEvent::new(task_id(), "pay", "order.paid", 60);
    assert_eq!(
        c.wait_for_event(run_id(), &wait).await.unwrap(),
        WaitOutcome::Sleeping { message: "waiting for order.paid".into() }
    );
    assert_eq!(
        c.wait_for_event(run_id(), &wait).await.unwrap(),
        WaitOutcome::Resolved { payload: json!({"amount": 5}) }
    );
    assert_eq!(c.wait_for_event(run_id(), &wait).await.unwrap(), WaitOutcome::Timeout { message: "timed out".into() });
    assert!(c.wait_for_event(run_id(), &wait).await.unwrap_err().is_conflict());
    let sent = &stub.requests()[0];
    assert_eq!(sent.path, format!("/api/v1/runs/{RUN}/wait-for-event"));
    assert_eq!(
        sent.body,
        json!({"event_name": "order.paid", "timeout_seconds": 60, "task_id": TASK, "step_name": "pay"})
    );
}

#[tokio::test]
async fn task_calls_send_the_documented_paths_and_bodies() {
    let created = json!({"task_id": TASK, "run_id": RUN});
    let stub = Stub::start(move |r, _| match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/api/v1/queues/q/tasks") if r.body.get("idempotency_key").is_some() => {
            Reply::json(200, json!({"task_id": TASK, "run_id": RUN, "deduplicated": true}))
        }
        ("POST", "/api/v1/queues/q/tasks") => Reply::json(201, created.clone()),
        ("POST", "/api/v1/queues/q/tasks/batch") => Reply::json(201, json!({"tasks": [created, created]})),
        ("DELETE", _) => Reply::empty(204),
        ("POST", p) if p.ends_with("/cancel") => Reply::json(200, json!({"task_id": TASK, "status": "canceled"})),
        _ => Reply::error(500, "INTERNAL_ERROR", "unexpected"),
    })
    .await;
    let c = client(&stub).build().unwrap();
    let first = c.create_task("q", &CreateTask::new("send").params(json!({"to": "a"}))).await.unwrap();
    assert!(!first.deduplicated);
    let again = c.create_task("q", &CreateTask::new("send").idempotency_key("k")).await.unwrap();
    assert!(again.deduplicated && again.task_id == first.task_id);
    let batch = c.create_tasks("q", &[CreateTask::new("a"), CreateTask::new("b")]).await.unwrap();
    assert_eq!(batch.len(), 2);
    c.delete_queue("q").await.unwrap();
    c.force_delete_queue("q").await.unwrap();
    assert_eq!(c.cancel_task(task_id()).await.unwrap().status, TaskStatus::Canceled);

    let requests = stub.requests();
    assert_eq!(requests[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(requests[0].body, json!({"task_name": "send", "params": {"to": "a"}}));
    assert_eq!(requests[2].body, json!({"tasks": [{"task_name": "a"}, {"task_name": "b"}]}));
    assert_eq!((requests[3].path.as_str(), requests[3].query.as_deref()), ("/api/v1/queues/q", None));
    assert_eq!(requests[4].query.as_deref(), Some("force=true"));
    assert_eq!(requests[5].path, format!("/api/v1/tasks/{TASK}/cancel"));
}

#[tokio::test]
async fn list_all_follows_cursors_across_pages() {
    let summary = |name: &str| {
        json!({"id": TASK, "task_name": name, "status": "pending", "queue_name": "q", "max_attempts": 1,
               "created_at": NOW})
    };
    let stub = Stub::start(move |r, _| match r.query.as_deref() {
        Some("queue_name=q&limit=2") => {
            Reply::json(200, json!({"tasks": [summary("a"), summary("b")], "next_cursor": "c1"}))
        }
        Some("queue_name=q&cursor=c1&limit=2") => Reply::json(200, json!({"tasks": [summary("c")]})),
        other => Reply::error(400, "VALIDATION_ERROR", &format!("unexpected query {other:?}")),
    })
    .await;
    let c = client(&stub).build().unwrap();
    let all: Vec<_> = c.list_all_tasks(ListTasks::default().queue("q").limit(2)).try_collect().await.unwrap();
    let names: Vec<_> = all.iter().map(|t| t.task_name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(stub.count("GET", "/api/v1/tasks"), 2);
}

#[tokio::test]
async fn run_checkpoint_event_and_workflow_calls_round_trip() {
    let stub = Stub::start(|r, _| match (r.method.as_str(), r.path.rsplit('/').next().unwrap_or_default()) {
        ("POST", "complete") if r.path == "/api/v1/runs/complete" => Reply::json(
            200,
            json!({"runs": [
            {"run_id": RUN, "status": "completed"},
            {"run_id": TASK, "error": {"error": "claim lost", "code": "CONFLICT"}}]}),
        ),
        ("POST", "complete") => Reply::json(200, json!({"run_id": RUN, "status": "completed"})),
        ("POST", "fail") => Reply::json(
            200,
            json!({"run_id": RUN, "status": "failed", "attempt": 1,
                                                     "next_run_id": TASK, "next_attempt_at": NOW}),
        ),
        ("POST", "schedule") => Reply::json(200, json!({"run_id": RUN, "scheduled_at": NOW})),
        ("POST", "heartbeat") => Reply::json(200, json!({"run_id": RUN, "claim_expires_at": NOW})),
        ("PUT", _) => Reply::json(200, json!({"task_id": TASK, "step_name": "s 1", "updated_at": NOW})),
        ("GET", "checkpoints") => Reply::json(
            200,
            json!({"checkpoints": [
            {"task_id": TASK, "step_name": "s 1", "state": [1], "updated_at": NOW}]}),
        ),
        ("POST", "events") => Reply::json(201, json!({"event_id": RUN, "event_name": "e", "created_at": NOW})),
        ("POST", "workflow-runs") => Reply::json(
            201,
            json!({"workflow_run_id": RUN, "workflow_name": "w",
                                                            "status": "pending", "created_at": NOW}),
        ),
        ("PATCH", _) => Reply::json(200, json!({"workflow_run_id": RUN, "status": "running", "updated_at": NOW})),
        ("GET", "workflow-runs") => Reply::json(
            200,
            json!({"workflow_runs": [
            {"workflow_run_id": RUN, "workflow_name": "w", "status": "running", "created_at": NOW}]}),
        ),
        ("GET", "healthz" | "readyz") => Reply::empty(200),
        _ => Reply::error(500, "INTERNAL_ERROR", "unexpected"),
    })
    .await;
    let c = client(&stub).build().unwrap();
    c.complete_run(run_id(), Some(&json!({"ok": true}))).await.unwrap();
    let outcomes =
        c.complete_runs(&[CompleteRun::new(run_id(), None), CompleteRun::new(task_id(), None)]).await.unwrap();
    assert!(outcomes[0].clone().into_result().is_ok() && outcomes[1].clone().into_result().unwrap_err().is_conflict());
    let failed = c.fail_run(run_id(), "boom").await.unwrap();
    assert_eq!(failed.next_run_id, Some(task_id()));
    c.schedule_run(run_id(), time::macros::datetime!(2030-01-01 00:00 UTC)).await.unwrap();
    c.heartbeat(run_id(), 30).await.unwrap();
    let put = PutCheckpoint::new(run_id(), json!({"step": 1})).extend_claim_by(30);
    assert_eq!(c.put_checkpoint(task_id(), "s 1", &put).await.unwrap().step_name, "s 1");
    assert_eq!(c.list_checkpoints(task_id()).await.unwrap()[0].state, json!([1]));
    assert_eq!(c.emit_event(&EmitEvent::new("e", Some(json!(1)))).await.unwrap().event_name, "e");
    let wf = c.create_workflow_run(&CreateWorkflowRun::new("w").tag("env", "test")).await.unwrap();
    let update = UpdateWorkflowRun::default().status(WorkflowStatus::Running);
    assert_eq!(c.update_workflow_run(wf.workflow_run_id, &update).await.unwrap().status, WorkflowStatus::Running);
    let page = c.list_workflow_runs(&Default::default()).await.unwrap();
    assert_eq!(page.workflow_runs.len(), 1);
    c.healthz().await.unwrap();
    assert!(c.readyz().await.unwrap());

    let bodies: Vec<_> = stub.requests().into_iter().map(|r| (r.method, r.path, r.body)).collect();
    assert_eq!(bodies[0].2, json!({"result": {"ok": true}}));
    assert_eq!(bodies[1].2, json!({"runs": [{"run_id": RUN}, {"run_id": TASK}]}));
    assert_eq!(bodies[2].2, json!({"error": "boom"}));
    assert_eq!(bodies[3].2, json!({"run_at": "2030-01-01T00:00:00Z"}));
    assert_eq!(bodies[4].2, json!({"extend_by_seconds": 30}));
    assert_eq!(bodies[5].1, format!("/api/v1/tasks/{TASK}/checkpoints/s%201"));
    assert_eq!(bodies[5].2, json!({"state": {"step": 1}, "owner_run": RUN, "extend_claim_by": 30}));
    assert_eq!(bodies[7].2, json!({"event_name": "e", "payload": 1}));
    assert_eq!(bodies[8].2, json!({"workflow_name": "w", "tags": {"env": "test"}}));
    assert_eq!((bodies[9].0.as_str(), bodies[9].2.clone()), ("PATCH", json!({"status": "running"})));
    assert_eq!((bodies[11].1.as_str(), bodies[12].1.as_str()), ("/healthz", "/readyz"));
}

#[tokio::test]
async fn readyz_reports_an_unready_server_without_retrying() {
    let stub = Stub::start(|_, _| Reply::error(503, "UNAVAILABLE", "storage down")).await;
    let c = client(&stub).build().unwrap();
    assert!(!c.readyz().await.unwrap());
    assert!(c.healthz().await.unwrap_err().is_unavailable());
    assert_eq!(stub.requests().len(), 2);
}

#[tokio::test]
async fn a_success_body_of_the_wrong_shape_is_a_decode_error() {
    let stub = Stub::start(|_, _| Reply::json(200, json!({"queues": "nope"}))).await;
    let err = client(&stub).build().unwrap().list_queues().await.unwrap_err();
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
}

/// A queue name is one path segment, whatever it holds: `/`, `?`, `#`, `%`,
/// non-ASCII and control characters are percent-encoded, none dropped.
#[tokio::test]
async fn queue_names_are_percent_encoded_in_every_queue_path() {
    let stub = Stub::start(|r, _| match r.method.as_str() {
        "DELETE" => Reply::empty(204),
        _ => Reply::error(404, "NOT_FOUND", "queue not found"),
    })
    .await;
    let c = client(&stub).build().unwrap();
    let name = "billing/eu:tâches ?#%\t";
    let encoded = "billing%2Feu%3At%C3%A2ches%20%3F%23%25%09";
    c.delete_queue(name).await.unwrap();
    assert!(c.queue_stats(name).await.unwrap_err().is_not_found());
    assert!(c.create_task(name, &CreateTask::new("t")).await.unwrap_err().is_not_found());
    assert!(c.create_tasks(name, &[CreateTask::new("t")]).await.unwrap_err().is_not_found());
    assert!(c.claim(name, &ClaimRequest::new(1, 5)).await.unwrap_err().is_not_found());
    let paths: Vec<String> = stub.requests().into_iter().map(|r| r.path).collect();
    let base = format!("/api/v1/queues/{encoded}");
    let expected = [
        base.clone(),
        format!("{base}/stats"),
        format!("{base}/tasks"),
        format!("{base}/tasks/batch"),
        format!("{base}/tasks/claim"),
    ];
    assert_eq!(paths, expected);
}

/// `.` and `..` would be resolved away by any URL parser, sending the call
/// to another resource; the client refuses them and sends nothing.
#[tokio::test]
async fn dot_segments_are_refused_before_sending() {
    let stub = Stub::start(|_, _| Reply::empty(204)).await;
    let c = client(&stub).build().unwrap();
    for name in [".", ".."] {
        assert!(matches!(c.delete_queue(name).await, Err(Error::InvalidArgument(_))), "{name}");
        assert!(matches!(c.queue_stats(name).await, Err(Error::InvalidArgument(_))), "{name}");
        assert!(matches!(c.get_checkpoint(task_id(), name).await, Err(Error::InvalidArgument(_))), "{name}");
    }
    assert!(stub.requests().is_empty());
}
