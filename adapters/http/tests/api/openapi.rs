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
    ("/api/v1/runs/{run_id}/wait-for-task", &["post"]),
    ("/api/v1/tasks/{task_id}/result", &["get"]),
    ("/api/v1/runs/{run_id}/heartbeat", &["post"]),
    ("/api/v1/tasks/{task_id}/checkpoints", &["get"]),
    ("/api/v1/tasks/{task_id}/checkpoints/{step_name}", &["get", "put"]),
    ("/api/v1/events", &["get", "post"]),
    ("/api/v1/queues/{queue_name}/history", &["get"]),
    ("/api/v1/tasks/{task_id}/waits", &["get"]),
    ("/api/v1/workflow-runs", &["get", "post"]),
    ("/api/v1/workflow-runs/{id}", &["get", "patch"]),
    ("/api/v1/tasks/{task_id}/retry", &["post"]),
    ("/api/v1/schedules", &["get", "post"]),
    ("/api/v1/schedules/{name}", &["get", "patch", "delete"]),
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

/// `AnyJson` already admits `null`; offering it next to a `null` arm in a
/// `oneOf` makes every `null` match twice, which `oneOf` forbids.
#[tokio::test]
async fn no_one_of_offers_null_twice() {
    fn walk(value: &serde_json::Value, at: &str, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Array(arms)) = map.get("oneOf") {
                    let nullable = |arm: &serde_json::Value| {
                        arm["type"] == "null"
                            || arm["$ref"] == "#/components/schemas/AnyJson"
                            || arm["type"].as_array().is_some_and(|types| types.iter().any(|t| t == "null"))
                    };
                    if arms.iter().filter(|arm| nullable(arm)).count() > 1 {
                        found.push(at.to_owned());
                    }
                }
                for (key, child) in map {
                    walk(child, &format!("{at}/{key}"), found);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{at}/{i}"), found);
                }
            }
            _ => {}
        }
    }
    let (raw, _) = document().await;
    let mut found = Vec::new();
    walk(&raw, "", &mut found);
    assert!(found.is_empty(), "null matches more than one arm at {found:?}");
    let inputs = &raw["components"]["schemas"]["WorkflowRunResponse"]["properties"]["inputs"];
    assert_eq!(inputs["$ref"], "#/components/schemas/AnyJson");
}

/// The limits the server enforces are in the document, so generated
/// clients do not send what gets a 400; a limit over 1000 is clamped, so
/// only its minimum is published.
#[tokio::test]
async fn openapi_publishes_the_enforced_limits() {
    let (raw, _) = document().await;
    let schemas = &raw["components"]["schemas"];
    let claim = &schemas["ClaimRequestBody"]["properties"];
    assert_eq!(claim["limit"]["$ref"], "#/components/schemas/ClaimLimit");
    let limit = &schemas["ClaimLimit"];
    assert_eq!((&limit["type"], &limit["minimum"]), (&"integer".into(), &1.into()));
    // A 64-bit `format` would read as a maximum too.
    assert!(limit["maximum"].is_null() && limit["format"].is_null(), "{limit}");
    assert_eq!(claim["claim_timeout"]["minimum"], 1);
    assert_eq!(
        (&claim["long_poll_seconds"]["minimum"], &claim["long_poll_seconds"]["maximum"]),
        (&1.into(), &60.into())
    );
    for (schema, field) in [("BatchCreateRequest", "tasks"), ("BatchCompleteRequest", "runs")] {
        let items = &schemas[schema]["properties"][field];
        assert_eq!((&items["minItems"], &items["maxItems"]), (&1.into(), &1000.into()), "{schema}.{field}");
    }
    assert_eq!(schemas["CreateTaskRequest"]["properties"]["task_name"]["$ref"], "#/components/schemas/NameText");
    assert_eq!(schemas["NameText"]["minLength"], 1);
    assert_eq!(schemas["CreateQueueRequest"]["properties"]["name"]["$ref"], "#/components/schemas/QueueNameText");
    assert_eq!(schemas["QueueNameText"]["maxLength"], 255);
    assert_eq!(schemas["UuidText"]["format"], "uuid");
    assert_eq!(schemas["TimeText"]["format"], "date-time");
    assert_eq!(schemas["HeartbeatRequest"]["properties"]["extend_by_seconds"]["minimum"], 1);
    assert_eq!(schemas["WaitForEventRequest"]["properties"]["timeout_seconds"]["minimum"], 1);
    let list = raw["paths"]["/api/v1/tasks"]["get"]["parameters"].as_array().unwrap();
    let limit = list.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["anyOf"][0], serde_json::json!({"type": "integer", "minimum": 1}));
    let claim_path = &raw["paths"]["/api/v1/queues/{queue_name}/tasks/claim"]["post"]["parameters"][0];
    assert_eq!(claim_path["schema"]["minLength"], 1);
}
