//! (ext) Flow control over raw HTTP: priorities and concurrency keys on
//! tasks, key limits and caps on queues (`POST` and `PATCH /queues`), and
//! the fields naming what is wrong.

use serde_json::{Value, json};

use crate::support::{Harness, raw, read};

async fn send(h: &Harness, method: reqwest::Method, path: &str, body: Value) -> Value {
    let response = read(raw().request(method.clone(), h.api(path)).json(&body).send().await.expect("request")).await;
    assert!(response.status < 300, "{method} {path}: {} {}", response.status, response.text);
    response.json
}

#[tokio::test(flavor = "multi_thread")]
async fn queues_take_flow_settings_and_tasks_their_priority_and_key() {
    let h = Harness::postgres().await;
    let created = send(
        &h,
        reqwest::Method::POST,
        "/queues",
        json!({"name": "api-calls", "key_concurrency_limit": 1, "concurrency_limit": 2}),
    )
    .await;
    assert_eq!((created["key_concurrency_limit"].clone(), created["concurrency_limit"].clone()), (json!(1), json!(2)));
    let tasks = "/queues/api-calls/tasks";
    let low = send(&h, reqwest::Method::POST, tasks, json!({"task_name": "call", "priority": -1})).await;
    send(&h, reqwest::Method::POST, tasks, json!({"task_name": "call", "concurrency_key": "customer:42"})).await;
    send(&h, reqwest::Method::POST, tasks, json!({"task_name": "call", "concurrency_key": "customer:42"})).await;
    let batch = json!({"tasks": [{"task_name": "call", "priority": 3}, {"task_name": "call", "priority": 3}]});
    send(&h, reqwest::Method::POST, "/queues/api-calls/tasks/batch", batch).await;

    let got =
        read(raw().get(h.api(&format!("/tasks/{}", low["task_id"].as_str().unwrap()))).send().await.unwrap()).await;
    assert_eq!((got.json["priority"].clone(), got.json["concurrency_key"].clone()), (json!(-1), Value::Null));

    // The cap of 2 hands out the two priority-3 tasks first.
    let claim = json!({"limit": 10, "claim_timeout": 60});
    let first = send(&h, reqwest::Method::POST, "/queues/api-calls/tasks/claim", claim.clone()).await;
    let priorities: Vec<&Value> = first["tasks"].as_array().unwrap().iter().map(|t| &t["priority"]).collect();
    assert_eq!(priorities, vec![&json!(3), &json!(3)], "{first}");
    // Without the cap: one run of the key, and the low-priority task last.
    let patched = send(&h, reqwest::Method::PATCH, "/queues/api-calls", json!({"concurrency_limit": null})).await;
    assert_eq!(patched["concurrency_limit"], Value::Null);
    assert_eq!(patched["key_concurrency_limit"], 1);
    let rest = send(&h, reqwest::Method::POST, "/queues/api-calls/tasks/claim", claim).await;
    let keys: Vec<&Value> = rest["tasks"].as_array().unwrap().iter().map(|t| &t["concurrency_key"]).collect();
    assert_eq!(keys, vec![&json!("customer:42"), &Value::Null], "{rest}");
    let listed = read(raw().get(h.api("/queues")).send().await.unwrap()).await;
    assert_eq!(listed.json["queues"][0]["concurrency_limit"], Value::Null);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_flow_settings_are_400_naming_the_field() {
    let h = Harness::postgres().await;
    h.queue("flow").await;
    for (path, method, body, field) in [
        ("/queues", reqwest::Method::POST, json!({"name": "x", "key_concurrency_limit": 0}), "key_concurrency_limit"),
        ("/queues", reqwest::Method::POST, json!({"name": "x", "concurrency_limit": 1.5}), "concurrency_limit"),
        ("/queues/flow", reqwest::Method::PATCH, json!({"concurrency_limit": 0}), "concurrency_limit"),
        ("/queues/flow", reqwest::Method::PATCH, json!({"key_concurrency_limit": "2"}), "key_concurrency_limit"),
        ("/queues/flow/tasks", reqwest::Method::POST, json!({"task_name": "t", "priority": 99999}), "priority"),
        ("/queues/flow/tasks", reqwest::Method::POST, json!({"task_name": "t", "priority": 1e300}), "priority"),
        (
            "/queues/flow/tasks",
            reqwest::Method::POST,
            json!({"task_name": "t", "concurrency_key": ""}),
            "concurrency_key",
        ),
        (
            "/queues/flow/tasks",
            reqwest::Method::POST,
            json!({"task_name": "t", "concurrency_key": 7}),
            "concurrency_key",
        ),
    ] {
        let response = read(raw().request(method.clone(), h.api(path)).json(&body).send().await.unwrap()).await;
        let message = response.error(400, "VALIDATION_ERROR");
        assert!(message.contains(field), "{method} {path} {body}: {message}");
    }
    let missing = read(raw().patch(h.api("/queues/nope")).json(&json!({})).send().await.unwrap()).await;
    missing.error(404, "NOT_FOUND");
    h.stop().await;
}
