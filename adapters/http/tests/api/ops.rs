use axum::body::Body;
use axum::http::{Request, header};
use durable_ports::{MockService, ServiceError};
use serde_json::json;

use crate::harness::{app, get, send, untouched};

#[tokio::test]
async fn healthz_is_200() {
    assert_eq!(get(untouched(), "/healthz").await.ok(200), json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_follows_storage() {
    let mut service = MockService::new();
    service.expect_ready().returning(|| Ok(()));
    assert_eq!(get(app(service), "/readyz").await.ok(200)["status"], "ready");

    let mut service = MockService::new();
    service.expect_ready().returning(|| Err(ServiceError::Unavailable("connection refused".into())));
    get(app(service), "/readyz").await.error(503, "UNAVAILABLE");

    let mut service = MockService::new();
    service.expect_ready().returning(|| Err(ServiceError::Internal("pool closed".into())));
    get(app(service), "/readyz").await.error(503, "UNAVAILABLE");
}

#[tokio::test]
async fn request_id_is_echoed() {
    let request = Request::get("/healthz").header("x-request-id", "req-42").body(Body::empty()).unwrap();
    let reply = send(untouched(), request).await;
    assert_eq!(reply.headers.get("x-request-id").unwrap(), "req-42");
}

#[tokio::test]
async fn request_id_is_generated_when_absent() {
    let reply = get(untouched(), "/healthz").await;
    let id = reply.headers.get("x-request-id").expect("a generated id").to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    // Error replies carry it too.
    let reply = get(untouched(), "/nope").await;
    assert!(reply.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn docs_serve_the_swagger_ui_offline() {
    for uri in ["/docs", "/docs/"] {
        let reply = get(untouched(), uri).await;
        assert_eq!(reply.status.as_u16(), 200, "{uri}");
        assert!(reply.content_type().starts_with("text/html"), "{uri}");
        let page = String::from_utf8(reply.bytes).unwrap();
        assert!(page.contains("swagger-ui"));
        assert!(page.contains("<base href=\"/docs/\">"));
    }
    let reply = get(untouched(), "/docs/swagger-ui.css").await;
    assert_eq!(reply.status.as_u16(), 200);
    assert!(reply.content_type().starts_with("text/css"));
    let reply = get(untouched(), "/docs/swagger-initializer.js").await;
    assert!(String::from_utf8(reply.bytes).unwrap().contains("/openapi.json"));
    get(untouched(), "/docs/missing.js").await.error(404, "NOT_FOUND");
}

#[tokio::test]
async fn the_openapi_document_is_json() {
    let reply = get(untouched(), "/openapi.json").await;
    assert_eq!(reply.status.as_u16(), 200);
    assert_eq!(reply.headers.get(header::CONTENT_TYPE).unwrap(), "application/json");
}
