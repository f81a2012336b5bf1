//! Optional bearer-token authentication of `/api/v1`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use durable_http::{HttpConfig, router};
use durable_ports::MockService;

use crate::harness::{get, send};

fn guarded(service: MockService) -> Router {
    let config = HttpConfig { auth_token: Some("s3cret".into()), ..HttpConfig::default() };
    router(Arc::new(service), config)
}

fn with_token(uri: &str, authorization: &str) -> Request<Body> {
    Request::get(uri).header(header::AUTHORIZATION, authorization).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn api_calls_without_the_token_get_401_and_never_reach_the_service() {
    let reply = get(guarded(MockService::new()), "/api/v1/queues").await;
    reply.error(401, "UNAUTHORIZED");
    assert_eq!(reply.headers.get(header::WWW_AUTHENTICATE).unwrap(), "Bearer");
    send(guarded(MockService::new()), with_token("/api/v1/queues", "Bearer wrong")).await.error(401, "UNAUTHORIZED");
    send(guarded(MockService::new()), with_token("/api/v1/queues", "Basic czNjcmV0")).await.error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn the_right_token_is_let_through() {
    let mut service = MockService::new();
    service.expect_list_queues().times(1).returning(|| Ok(vec![]));
    let reply = send(guarded(service), with_token("/api/v1/queues", "Bearer s3cret")).await;
    assert_eq!(reply.ok(200)["queues"], serde_json::json!([]));
}

/// RFC 9110: the scheme name is case-insensitive.
#[tokio::test]
async fn the_scheme_may_be_spelled_in_any_case() {
    for authorization in ["bearer s3cret", "BEARER s3cret", "BeArEr  s3cret"] {
        let mut service = MockService::new();
        service.expect_list_queues().times(1).returning(|| Ok(vec![]));
        let reply = send(guarded(service), with_token("/api/v1/queues", authorization)).await;
        assert_eq!(reply.status.as_u16(), 200, "{authorization:?}");
    }
    send(guarded(MockService::new()), with_token("/api/v1/queues", "bearer wrong")).await.error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn probes_and_docs_stay_open() {
    let mut service = MockService::new();
    service.expect_ready().returning(|| Ok(()));
    let app = guarded(service);
    get(app.clone(), "/healthz").await.ok(200);
    get(app.clone(), "/readyz").await.ok(200);
    assert_eq!(get(app, "/openapi.json").await.status.as_u16(), 200);
}

#[tokio::test]
async fn without_a_configured_token_nothing_is_required() {
    let mut service = MockService::new();
    service.expect_list_queues().returning(|| Ok(vec![]));
    let app = router(Arc::new(service), HttpConfig::default());
    get(app, "/api/v1/queues").await.ok(200);
}
