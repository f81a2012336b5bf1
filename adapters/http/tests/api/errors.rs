//! Every rejection is `{"error", "code"}` JSON with the contract's status.

use std::sync::Arc;

use axum::http::{Method, header};
use durable_domain::{NotFound, Rejection, ValidationError};
use durable_http::{HttpConfig, router};
use durable_ports::{MockService, ServiceError};
use serde_json::json;

use crate::harness::{app, delete, get, post, raw, untouched};

/// `ServiceError` is not `Clone`, so a mock makes a fresh one per call.
type MakeError = fn() -> ServiceError;

#[tokio::test]
async fn each_service_error_kind_has_its_status_and_code() {
    let kinds: [(MakeError, u16, &str); 5] = [
        (|| ValidationError::invalid("limit", "must be between 1 and 1000").into(), 400, "VALIDATION_ERROR"),
        (|| NotFound::Queue("q".into()).into(), 404, "NOT_FOUND"),
        (|| Rejection::QueueExists("q".into()).into(), 409, "CONFLICT"),
        (|| ServiceError::Unavailable("connection refused".into()), 503, "UNAVAILABLE"),
        (|| ServiceError::Internal("disk on fire".into()), 500, "INTERNAL_ERROR"),
    ];
    for (error, status, code) in kinds {
        let mut service = MockService::new();
        service.expect_list_queues().returning(move || Err(error()));
        get(app(service), "/api/v1/queues").await.error(status, code);
    }
}

#[tokio::test]
async fn validation_messages_come_from_the_domain() {
    let mut service = MockService::new();
    service
        .expect_claim()
        .returning(|_, _| Err(ValidationError::invalid("limit", "must be between 1 and 1000").into()));
    let reply = post(app(service), "/api/v1/queues/q/tasks/claim", json!({"limit": 0, "claim_timeout": 5})).await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "limit must be between 1 and 1000");
}

#[tokio::test]
async fn server_errors_hide_their_cause() {
    let mut service = MockService::new();
    service.expect_list_queues().returning(|| Err(ServiceError::Internal("password=hunter2".into())));
    let message = get(app(service), "/api/v1/queues").await.error(500, "INTERNAL_ERROR");
    assert!(!message.contains("hunter2"));

    let mut service = MockService::new();
    service.expect_list_queues().returning(|| Err(ServiceError::Unavailable("db.internal:5432".into())));
    let message = get(app(service), "/api/v1/queues").await.error(503, "UNAVAILABLE");
    assert!(!message.contains("db.internal"));
}

#[tokio::test]
async fn malformed_json_is_400() {
    for body in ["{", "{\"name\": }", "not json", "{\"name\": \"q\"} x"] {
        let reply = raw(untouched(), Method::POST, "/api/v1/queues", Some("application/json"), body).await;
        assert!(reply.error(400, "VALIDATION_ERROR").starts_with("malformed JSON"), "{body}");
    }
    let reply = raw(untouched(), Method::POST, "/api/v1/queues", Some("application/json"), "").await;
    assert!(reply.error(400, "VALIDATION_ERROR").contains("empty"));
    let reply = raw(untouched(), Method::POST, "/api/v1/queues", Some("application/json"), "[1]").await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "request body must be a JSON object");
}

fn expect_event(service: &mut MockService) {
    service.expect_emit_event().times(1).returning(|name, payload| {
        Ok(durable_domain::event::Event {
            id: durable_domain::EventId::new(),
            name,
            payload,
            created_at: crate::fixtures::NOW,
        })
    });
}

/// The original's quick start posts with `curl -d` (form-urlencoded) and
/// some clients send no header: the body is JSON whatever it says.
#[tokio::test]
async fn a_json_body_is_read_whatever_the_content_type() {
    let body = r#"{"event_name": "e", "payload": {"n": 1}}"#;
    let content_types = [
        None,
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
        Some("text/json"),
        Some("application/vnd.api+json"),
        Some("application/json; charset=utf-8"),
        Some("application/octet-stream"),
        Some("not a mime type"),
    ];
    for content_type in content_types {
        let mut service = MockService::new();
        expect_event(&mut service);
        let reply = raw(app(service), Method::POST, "/api/v1/events", content_type, body).await;
        assert_eq!(reply.ok(201)["event_name"], "e", "{content_type:?}");
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400_whatever_the_content_type() {
    for content_type in [None, Some("application/x-www-form-urlencoded"), Some("application/json")] {
        let reply = raw(untouched(), Method::POST, "/api/v1/events", content_type, "event_name=e").await;
        let message = reply.error(400, "VALIDATION_ERROR");
        assert!(message.starts_with("malformed JSON"), "{message}");
        assert!(message.contains("must be a JSON object"), "{message}");
    }
}

#[tokio::test]
async fn bad_uuids_in_path_name_the_parameter() {
    let cases = [
        (Method::POST, "/api/v1/runs/nope/fail", "run_id"),
        (Method::POST, "/api/v1/runs/nope/heartbeat", "run_id"),
        (Method::POST, "/api/v1/runs/nope/schedule", "run_id"),
        (Method::POST, "/api/v1/runs/nope/wait-for-event", "run_id"),
        (Method::GET, "/api/v1/tasks/nope", "task_id"),
        (Method::POST, "/api/v1/tasks/nope/cancel", "task_id"),
        (Method::GET, "/api/v1/tasks/nope/checkpoints/step", "task_id"),
    ];
    for (method, uri, name) in cases {
        let body = json!({
            "error": "e", "run_at": "2026-01-01T00:00:00Z", "extend_by_seconds": 5, "event_name": "e",
            "timeout_seconds": 5, "task_id": durable_domain::TaskId::new().to_string(), "step_name": "s",
        });
        let reply = crate::harness::call(untouched(), method, uri, body).await;
        assert_eq!(reply.error(400, "VALIDATION_ERROR"), format!("{name} must be a valid UUID"), "{uri}");
    }
}

#[tokio::test]
async fn unknown_route_is_404_json() {
    for uri in ["/nope", "/api/v1/nope", "/api/v2/queues", "/api/v1/queues/q/unknown"] {
        let message = get(untouched(), uri).await.error(404, "NOT_FOUND");
        assert!(message.contains(uri), "{message}");
    }
}

#[tokio::test]
async fn wrong_method_is_405_json() {
    let reply = delete(untouched(), "/api/v1/queues/q/stats").await;
    assert_eq!(reply.error(405, "METHOD_NOT_ALLOWED"), "method DELETE is not allowed on /api/v1/queues/q/stats");
    assert_eq!(reply.headers.get(header::ALLOW).unwrap(), "GET,HEAD");
    delete(untouched(), "/api/v1/events").await.error(405, "METHOD_NOT_ALLOWED");
    get(untouched(), "/api/v1/runs/complete").await.error(405, "METHOD_NOT_ALLOWED");
    delete(untouched(), "/healthz").await.error(405, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let app = router(Arc::new(MockService::new()), HttpConfig { body_limit: 64, ..HttpConfig::default() });
    let body = json!({"task_name": "x".repeat(100)}).to_string();
    let reply = raw(app.clone(), Method::POST, "/api/v1/queues/q/tasks", Some("application/json"), &body).await;
    reply.error(413, "PAYLOAD_TOO_LARGE");
    let uri = format!("/api/v1/runs/{}/complete", durable_domain::RunId::new());
    let body = json!({"result": "x".repeat(100)}).to_string();
    raw(app, Method::POST, &uri, Some("application/json"), &body).await.error(413, "PAYLOAD_TOO_LARGE");
}

#[test]
fn default_body_limit_is_one_mebibyte() {
    assert_eq!(HttpConfig::default().body_limit, 1024 * 1024);
}
