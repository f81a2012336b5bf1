//! The operations endpoints outside `/api/v1`: probes, metrics, OpenAPI, docs.

use serde_json::Value;

use crate::support::{Harness, raw, read};

#[tokio::test(flavor = "multi_thread")]
async fn probes_metrics_openapi_and_docs() {
    let h = Harness::postgres().await;
    let http = raw();
    let get = |path: &str| http.get(format!("{}{path}", h.base_url())).send();

    let health = read(get("/healthz").await.unwrap()).await;
    assert_eq!(health.status, 200, "{}", health.text);
    let ready = read(get("/readyz").await.unwrap()).await;
    assert_eq!(ready.status, 200, "{}", ready.text);

    let spec = read(get("/openapi.json").await.unwrap()).await;
    assert_eq!(spec.status, 200);
    let version = spec.json["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "openapi version {version:?}");
    let paths = spec.json["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/queues",
        "/api/v1/queues/{queue_name}/tasks",
        "/api/v1/queues/{queue_name}/tasks/claim",
        "/api/v1/runs/{run_id}/complete",
        "/api/v1/events",
        "/api/v1/workflow-runs",
    ] {
        assert!(paths.contains_key(path), "the OpenAPI document lacks {path}");
    }
    assert!(matches!(spec.json["components"], Value::Object(_)));

    let docs = read(get("/docs").await.unwrap()).await;
    assert_eq!(docs.status, 200);
    assert!(docs.content_type.as_deref().is_some_and(|t| t.starts_with("text/html")), "{:?}", docs.content_type);

    // Some traffic, then the metrics.
    h.queue("m").await;
    let metrics = read(get("/metrics").await.unwrap()).await;
    assert_eq!(
        metrics.status, 200,
        "API.md: GET /metrics → Prometheus text format; got {} {}",
        metrics.status, metrics.text
    );
    assert!(
        metrics.content_type.as_deref().is_some_and(|t| t.starts_with("text/plain")),
        "metrics content type {:?}",
        metrics.content_type
    );
    assert!(metrics.text.lines().any(|l| l.starts_with("# TYPE ")), "not Prometheus text format: {}", metrics.text);
    h.stop().await;
}
