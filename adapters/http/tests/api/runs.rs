use axum::http::Method;
use durable_domain::command::{Completion, Page, RunFilter};
use durable_domain::event::{WaitOutcome, WaitResponse};
use durable_domain::{NotFound, Rejection, RunId, RunStatus, TaskId};
use durable_ports::service::{FailedRun, Retry};
use durable_ports::{ItemError, MockService};
use serde_json::{Value, json};
use time::macros::datetime;

use crate::fixtures::{NOW, NOW_TEXT, claimed, queue_name};
use crate::harness::{app, get, post, raw, untouched};

#[tokio::test]
async fn list_runs_passes_filters_and_pages() {
    let mut state = claimed("send");
    state.run.status = RunStatus::Failed;
    state.run.error = Some("boom".into());
    state.run.completed_at = Some(NOW);
    let run = state.run.clone();
    let (task_id, run_id) = (run.task_id, run.id);
    let mut service = MockService::new();
    service
        .expect_list_runs()
        .withf(move |f| {
            *f == RunFilter { task_id: Some(task_id), status: Some(RunStatus::Failed), cursor: None, limit: 10 }
        })
        .returning(move |_| Ok(Page { items: vec![run.clone()], next_cursor: Some(run_id) }));
    let body = get(app(service), &format!("/api/v1/runs?task_id={task_id}&status=failed&limit=10")).await.ok(200);
    let item = &body["runs"][0];
    assert_eq!(item["id"], run_id.to_string());
    assert_eq!(item["task_id"], task_id.to_string());
    assert_eq!(item["attempt"], 1);
    assert_eq!(item["status"], "failed");
    assert_eq!(item["error"], "boom");
    assert_eq!(item["created_at"], NOW_TEXT);
    assert_eq!(item["completed_at"], NOW_TEXT);
    assert_eq!(body["next_cursor"], run_id.to_string());
}

#[tokio::test]
async fn list_runs_rejections_name_the_parameter() {
    let cases = [
        ("/api/v1/runs?task_id=7", "task_id must be a valid UUID"),
        ("/api/v1/runs?cursor=zz", "cursor must be a valid UUID"),
        (
            "/api/v1/runs?status=running",
            "status must be one of pending, claimed, sleeping, completed, failed, canceled",
        ),
        ("/api/v1/runs?limit=1.5", "limit must be an integer"),
    ];
    for (uri, message) in cases {
        assert_eq!(get(untouched(), uri).await.error(400, "VALIDATION_ERROR"), message, "{uri}");
    }
}

fn expect_complete(result: Option<Value>) -> (MockService, RunId) {
    let run = RunId::new();
    let mut service = MockService::new();
    service.expect_complete_run().withf(move |r, res| *r == run && *res == result).times(1).returning(|_, _| Ok(()));
    (service, run)
}

#[tokio::test]
async fn complete_run_with_a_result() {
    let (service, run) = expect_complete(Some(json!({"ok": 1})));
    let reply = post(app(service), &format!("/api/v1/runs/{run}/complete"), json!({"result": {"ok": 1}})).await;
    assert_eq!(reply.ok(200), json!({"run_id": run.to_string(), "status": "completed"}));
}

#[tokio::test]
async fn complete_run_accepts_an_empty_body_without_content_type() {
    let (service, run) = expect_complete(None);
    let reply = raw(app(service), Method::POST, &format!("/api/v1/runs/{run}/complete"), None, "").await;
    assert_eq!(reply.ok(200)["status"], "completed");

    let (service, run) = expect_complete(None);
    let uri = format!("/api/v1/runs/{run}/complete");
    raw(app(service), Method::POST, &uri, Some("application/json"), "").await.ok(200);

    let (service, run) = expect_complete(None);
    post(app(service), &format!("/api/v1/runs/{run}/complete"), json!({})).await.ok(200);
}

/// The document allows a `null` body (the body is optional), so it means
/// the same as none.
#[tokio::test]
async fn complete_run_takes_a_null_body_as_none() {
    let (service, run) = expect_complete(None);
    let uri = format!("/api/v1/runs/{run}/complete");
    raw(app(service), Method::POST, &uri, Some("application/json"), "null").await.ok(200);
}

#[tokio::test]
async fn complete_run_rejections() {
    let run = RunId::new();
    let uri = format!("/api/v1/runs/{run}/complete");
    let reply = raw(untouched(), Method::POST, &uri, Some("text/plain"), "done").await;
    reply.error(400, "VALIDATION_ERROR");
    let reply = raw(untouched(), Method::POST, &uri, Some("application/json"), "{\"result\": ").await;
    assert!(reply.error(400, "VALIDATION_ERROR").starts_with("malformed JSON"));
    let reply = post(untouched(), "/api/v1/runs/123/complete", json!({})).await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "run_id must be a valid UUID");

    let mut service = MockService::new();
    service.expect_complete_run().returning(|run, _| Err(Rejection::ClaimLost { run }.into()));
    post(app(service), &uri, json!({})).await.error(409, "CONFLICT");
}

#[tokio::test]
async fn batch_complete_answers_per_item() {
    let (a, b, c) = (RunId::new(), RunId::new(), RunId::new());
    let mut service = MockService::new();
    service
        .expect_complete_runs()
        .withf(move |items| {
            *items == vec![Completion::new(a, Some(json!(1))), Completion::new(b, None), Completion::new(c, None)]
        })
        .returning(move |_| {
            Ok(vec![
                Ok(()),
                Err(ItemError::Conflict(Rejection::ClaimLost { run: b })),
                Err(ItemError::NotFound(NotFound::Run(c))),
            ])
        });
    let body =
        json!({"runs": [{"run_id": a.to_string(), "result": 1}, {"run_id": b.to_string()}, {"run_id": c.to_string()}]});
    let body = post(app(service), "/api/v1/runs/complete", body).await.ok(200);
    assert_eq!(body["runs"][0], json!({"run_id": a.to_string(), "status": "completed"}));
    assert_eq!(body["runs"][1]["run_id"], b.to_string());
    assert_eq!(body["runs"][1]["error"]["code"], "CONFLICT");
    assert_eq!(
        body["runs"][2],
        json!({"run_id": c.to_string(), "error": {"error": format!("run {c} not found"), "code": "NOT_FOUND"}})
    );
}

#[tokio::test]
async fn batch_complete_rejections_name_the_item() {
    let body = json!({"runs": [{"run_id": RunId::new().to_string()}, {"run_id": "x"}]});
    let reply = post(untouched(), "/api/v1/runs/complete", body).await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "runs[1].run_id must be a valid UUID");
}

#[tokio::test]
async fn fail_run_with_and_without_a_retry() {
    let run = RunId::new();
    let next = RunId::new();
    let mut service = MockService::new();
    service.expect_fail_run().withf(move |r, e| *r == run && e == "boom").returning(move |r, _| {
        Ok(FailedRun {
            run_id: r,
            queue: queue_name("emails"),
            attempt: 1,
            next: Some(Retry { run_id: next, available_at: NOW }),
            wake: vec![],
        })
    });
    let body = post(app(service), &format!("/api/v1/runs/{run}/fail"), json!({"error": "boom"})).await.ok(200);
    assert_eq!(
        body,
        json!({
            "run_id": run.to_string(), "status": "failed", "attempt": 1,
            "next_run_id": next.to_string(), "next_attempt_at": NOW_TEXT,
        })
    );

    let mut service = MockService::new();
    service.expect_fail_run().returning(|r, _| {
        Ok(FailedRun { run_id: r, queue: queue_name("emails"), attempt: 3, next: None, wake: vec![] })
    });
    let body = post(app(service), &format!("/api/v1/runs/{run}/fail"), json!({"error": "boom"})).await.ok(200);
    assert_eq!(body, json!({"run_id": run.to_string(), "status": "failed", "attempt": 3}));

    let reply = post(untouched(), &format!("/api/v1/runs/{run}/fail"), json!({})).await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "error is required");
}

#[tokio::test]
async fn schedule_run() {
    let run = RunId::new();
    let at = datetime!(2026-06-01 00:00:00 UTC);
    let mut service = MockService::new();
    service.expect_schedule_run().withf(move |r, t| *r == run && *t == at).returning(|_, t| Ok(t));
    let uri = format!("/api/v1/runs/{run}/schedule");
    let body = post(app(service), &uri, json!({"run_at": "2026-06-01T00:00:00Z"})).await.ok(200);
    assert_eq!(body, json!({"run_id": run.to_string(), "scheduled_at": "2026-06-01T00:00:00Z"}));

    let reply = post(untouched(), &uri, json!({"run_at": 1_700_000_000})).await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "run_at must be an RFC 3339 time");

    let mut service = MockService::new();
    service.expect_schedule_run().returning(|run, _| Err(Rejection::RunFinished { run, status: "completed" }.into()));
    post(app(service), &uri, json!({"run_at": "2026-06-01T00:00:00Z"})).await.error(409, "CONFLICT");
}

#[tokio::test]
async fn heartbeat_accepts_integer_and_float_seconds() {
    for extend in [json!(30), json!(30.0)] {
        let run = RunId::new();
        let mut service = MockService::new();
        service.expect_heartbeat_run().withf(move |r, s| *r == run && *s == 30.0).returning(|_, _| Ok(NOW));
        let uri = format!("/api/v1/runs/{run}/heartbeat");
        let body = post(app(service), &uri, json!({"extend_by_seconds": extend})).await.ok(200);
        assert_eq!(body, json!({"run_id": run.to_string(), "claim_expires_at": NOW_TEXT}));
    }
    let uri = format!("/api/v1/runs/{}/heartbeat", RunId::new());
    let reply = post(untouched(), &uri, json!({"extend_by_seconds": "30"})).await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "extend_by_seconds must be a number");
}

async fn wait(response: WaitResponse) -> crate::harness::Reply {
    let (run, task) = (RunId::new(), TaskId::new());
    let mut service = MockService::new();
    service
        .expect_wait_for_event()
        .withf(move |w| {
            w.run_id == run
                && w.task_id == task
                && w.event_name == "paid"
                && w.step_name == "await-payment"
                && w.timeout_seconds == 60.0
        })
        .returning(move |_| Ok(response.clone()));
    let body =
        json!({"event_name": "paid", "timeout_seconds": 60, "task_id": task.to_string(), "step_name": "await-payment"});
    post(app(service), &format!("/api/v1/runs/{run}/wait-for-event"), body).await
}

#[tokio::test]
async fn wait_for_event_resolved_timeout_and_sleeping() {
    let resolved = WaitResponse::Outcome(WaitOutcome::Resolved { payload: json!({"amount": 5}) });
    let body = wait(resolved).await.ok(200);
    assert_eq!(body, json!({"status": "resolved", "payload": {"amount": 5}}));

    let body = wait(WaitResponse::Outcome(WaitOutcome::Timeout)).await.ok(408);
    assert_eq!(body["status"], "timeout");
    assert!(body["message"].as_str().unwrap().contains("paid"));

    let body = wait(WaitResponse::Sleeping).await.ok(202);
    assert_eq!(body["status"], "sleeping");
    assert!(body["message"].is_string());
}

#[tokio::test]
async fn wait_for_event_rejections() {
    let uri = format!("/api/v1/runs/{}/wait-for-event", RunId::new());
    let body = json!({"event_name": "paid", "timeout_seconds": 60, "task_id": "t", "step_name": "s"});
    assert_eq!(post(untouched(), &uri, body).await.error(400, "VALIDATION_ERROR"), "task_id must be a valid UUID");
    let body = json!({"event_name": "paid", "timeout_seconds": 60, "task_id": TaskId::new().to_string()});
    assert_eq!(post(untouched(), &uri, body).await.error(400, "VALIDATION_ERROR"), "step_name is required");
}
