//! User payloads come back exactly as sent, on every store, through HTTP:
//! params, results, checkpoint state, event payloads, workflow inputs and
//! results. The server never interprets them, so extreme numbers, deep
//! nesting and long unicode strings survive the trip; only numbers beyond
//! a 64-bit float are refused, naming the field.

use std::time::Duration;

use durable_app::server::Settings;
use durable_tests::server::TestServer;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::support::Harness;

/// Numbers as their text, so nothing on the test's side rounds them.
const NUMBERS: &str = r#"{"max": 1.7976931348623157e308, "min": -1.7976931348623157e308, "tiny": 5e-324,
    "big": 1234567890123456789012345678901234567890, "negative_zero": -0, "trailing": 1.50,
    "under": 1e-400, "plain": 3}"#;

fn extreme_payload() -> Value {
    let mut payload: Value = serde_json::from_str(NUMBERS).unwrap();
    // Deep but legal: the whole request body must stay within the JSON
    // parser's nesting limit (128), wrapper objects included.
    let mut deep = json!("bottom");
    for _ in 0..100 {
        deep = json!([deep]);
    }
    payload["deep"] = deep;
    payload["text"] = json!("tâches 任务 🚀 \u{202e}ltr ".repeat(5_000));
    payload
}

/// Reads `text` the way the server does, so both sides spell numbers alike.
fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON: {e}: {text:.200}"))
}

async fn send(http: &Client, method: reqwest::Method, url: String, body: Option<&Value>) -> (StatusCode, Value) {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let text = response.text().await.expect("body read");
    (status, if text.is_empty() { Value::Null } else { parse(&text) })
}

async fn post(http: &Client, url: String, body: &Value) -> Value {
    let (status, answer) = send(http, reqwest::Method::POST, url.clone(), Some(body)).await;
    assert!(status.is_success(), "POST {url}: {status} {answer}");
    answer
}

async fn get(http: &Client, url: String) -> Value {
    let (status, answer) = send(http, reqwest::Method::GET, url.clone(), None).await;
    assert!(status.is_success(), "GET {url}: {status} {answer}");
    answer
}

async fn round_trips(h: &Harness) {
    let http = Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let api = |path: &str| h.api(path);
    let payload = extreme_payload();
    post(&http, api("/queues"), &json!({"name": "pay"})).await;

    let created = post(&http, api("/queues/pay/tasks"), &json!({"task_name": "p", "params": payload})).await;
    let task_id = created["task_id"].as_str().unwrap().to_owned();
    let task = get(&http, api(&format!("/tasks/{task_id}"))).await;
    assert_eq!(task["params"], payload, "task read");

    let claimed = post(&http, api("/queues/pay/tasks/claim"), &json!({"limit": 10, "claim_timeout": 60})).await;
    assert_eq!(claimed["tasks"].as_array().map(Vec::len), Some(1), "{claimed:.300}");
    assert_eq!(claimed["tasks"][0]["params"], payload, "claimed task");
    let run_id = claimed["tasks"][0]["run_id"].as_str().unwrap().to_owned();

    let checkpoint = json!({"state": payload, "owner_run": run_id});
    let (status, answer) =
        send(&http, reqwest::Method::PUT, api(&format!("/tasks/{task_id}/checkpoints/s")), Some(&checkpoint)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let stored = get(&http, api(&format!("/tasks/{task_id}/checkpoints/s"))).await;
    assert_eq!(stored["state"], payload, "checkpoint");

    post(&http, api("/events"), &json!({"event_name": "e", "payload": payload})).await;
    let wait = json!({"event_name": "e", "timeout_seconds": 60, "task_id": task_id, "step_name": "w"});
    let resolved = post(&http, api(&format!("/runs/{run_id}/wait-for-event")), &wait).await;
    assert_eq!(resolved["payload"], payload, "event payload");

    post(&http, api(&format!("/runs/{run_id}/complete")), &json!({"result": payload})).await;
    let done = get(&http, api(&format!("/tasks/{task_id}"))).await;
    assert_eq!(done["result"], payload, "task result");

    let workflow = post(&http, api("/workflow-runs"), &json!({"workflow_name": "w", "inputs": payload})).await;
    let workflow_id = workflow["workflow_run_id"].as_str().unwrap().to_owned();
    let patch = json!({"status": "completed", "result": payload});
    let (status, answer) =
        send(&http, reqwest::Method::PATCH, api(&format!("/workflow-runs/{workflow_id}")), Some(&patch)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let read = get(&http, api(&format!("/workflow-runs/{workflow_id}"))).await;
    assert_eq!((&read["inputs"], &read["result"]), (&payload, &payload), "workflow run");
    let listed = get(&http, api("/workflow-runs")).await;
    assert!(listed.to_string().contains("workflow_runs"), "{listed:.200}");

    // The digits themselves, as text on the wire.
    let raw = http.get(api(&format!("/tasks/{task_id}"))).send().await.unwrap().text().await.unwrap();
    for digits in ["1.7976931348623157e+308", "1234567890123456789012345678901234567890", "-0,", "1.50", "1e-400"] {
        assert!(raw.contains(digits), "{digits} is not in the answer");
    }
}

async fn refuses_numbers_beyond_a_double(h: &Harness) {
    let http = Client::new();
    post(&http, h.api("/queues"), &json!({"name": "big"})).await;
    let body = parse(r#"{"task_name": "p", "params": {"x": [1e400]}}"#);
    let (status, answer) = send(&http, reqwest::Method::POST, h.api("/queues/big/tasks"), Some(&body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let message = answer["error"].as_str().unwrap_or_default();
    assert!(message.starts_with("params ") && message.contains("64-bit float"), "{answer}");
    let body = parse(r#"{"event_name": "e", "payload": -1e400}"#);
    let (status, answer) = send(&http, reqwest::Method::POST, h.api("/events"), Some(&body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["error"].as_str().unwrap_or_default().starts_with("payload "), "{answer}");
}

async fn sqlite() -> (Harness, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("durable.db").display());
    let server = TestServer::start(Settings { database_url: url, ..TestServer::settings() }, None).await;
    (Harness::with(server), dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn payloads_round_trip_exactly_on_postgres() {
    let h = Harness::postgres().await;
    round_trips(&h).await;
    refuses_numbers_beyond_a_double(&h).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn payloads_round_trip_exactly_on_sqlite() {
    let (h, _dir) = sqlite().await;
    round_trips(&h).await;
    refuses_numbers_beyond_a_double(&h).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn payloads_round_trip_exactly_in_memory() {
    let h = Harness::with(TestServer::memory().await);
    round_trips(&h).await;
    refuses_numbers_beyond_a_double(&h).await;
    h.stop().await;
}
