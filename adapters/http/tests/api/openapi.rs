use utoipa::openapi::OpenApi;

use crate::harness::{get, untouched};

/// Every path of API.md, as OpenAPI templates.
const API_PATHS: &[(&str, &[&str])] = &[
    ("/api/v1/queues", &["get", "post"]),
    ("/api/v1/queues/{queue_name}", &["delete"]),
    ("/api/v1/queues/{queue_name}/stats", &["get"]),
    ("/api/v1/queues/{queue_name}/tasks", &["post"]),
    ("/api/v1/queues/{queue_name}/tasks/batch", &["post"]),
    ("/api/v1/queues/{queue_name}/tasks/claim", &["post"]),
    ("/api/v1/tasks", &["get"]),
    ("/api/v1/tasks/{task_id}", &["get"]),
    ("/api/v1/tasks/{task_id}/cancel", &["post"]),
    ("/api/v1/runs", &["get"]),
    ("/api/v1/runs/complete", &["post"]),
    ("/api/v1/runs/{run_id}/complete", &["post"]),
    ("/api/v1/runs/{run_id}/fail", &["post"]),
    ("/api/v1/runs/{run_id}/schedule", &["post"]),
    ("/api/v1/runs/{run_id}/wait-for-event", &["post"]),
    ("/api/v1/runs/{run_id}/heartbeat", &["post"]),
    ("/api/v1/tasks/{task_id}/checkpoints", &["get"]),
    ("/api/v1/tasks/{task_id}/checkpoints/{step_name}", &["get", "put"]),
    ("/api/v1/events", &["post"]),
    ("/api/v1/workflow-runs", &["get", "post"]),
    ("/api/v1/workflow-runs/{id}", &["get", "patch"]),
    ("/healthz", &["get"]),
    ("/readyz", &["get"]),
    ("/metrics", &["get"]),
];

async fn document() -> (serde_json::Value, OpenApi) {
    let reply = get(untouched(), "/openapi.json").await;
    assert_eq!(reply.status.as_u16(), 200);
    let parsed: OpenApi = serde_json::from_slice(&reply.bytes).expect("parses as an OpenAPI document");
    (reply.json(), parsed)
}

#[tokio::test]
async fn openapi_is_3_1_and_has_every_path_of_the_contract() {
    let (raw, parsed) = document().await;
    assert!(raw["openapi"].as_str().unwrap().starts_with("3.1"), "{}", raw["openapi"]);
    for (path, methods) in API_PATHS {
        assert!(parsed.paths.paths.contains_key(*path), "missing {path}");
        for method in *methods {
            assert!(raw["paths"][path][method].is_object(), "missing {method} {path}");
        }
    }
    assert_eq!(parsed.paths.paths.len(), API_PATHS.len());
}

#[tokio::test]
async fn openapi_documents_the_error_body_everywhere() {
    let (raw, _) = document().await;
    assert!(raw["components"]["schemas"]["ErrorBody"].is_object());
    let claim = &raw["paths"]["/api/v1/queues/{queue_name}/tasks/claim"]["post"];
    for status in ["200", "400", "404", "500", "503"] {
        assert!(claim["responses"][status].is_object(), "claim lacks {status}");
    }
    assert!(claim["responses"]["413"].is_object(), "claim lacks 413");
    assert!(raw["paths"]["/api/v1/tasks"]["get"]["responses"]["413"].is_null(), "a GET has no body");
    let wait = &raw["paths"]["/api/v1/runs/{run_id}/wait-for-event"]["post"]["responses"];
    for status in ["200", "202", "408"] {
        assert!(wait[status].is_object(), "wait-for-event lacks {status}");
    }
}
