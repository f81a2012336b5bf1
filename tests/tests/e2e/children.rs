//! (ext) What durable execution builds on, over raw HTTP: child tasks
//! (`parent_task_id`) and claims that answer with each task's checkpoints.

use serde_json::{Value, json};

use crate::support::{Harness, raw, read};

async fn post(h: &Harness, path: &str, body: Value) -> Value {
    let response = read(raw().post(h.api(path)).json(&body).send().await.expect("request")).await;
    assert!(response.status < 300, "POST {path}: {} {}", response.status, response.text);
    response.json
}

#[tokio::test(flavor = "multi_thread")]
async fn a_child_names_its_parent_and_is_listed_by_it() {
    let h = Harness::postgres().await;
    h.queue("kids").await;
    let parent = post(&h, "/queues/kids/tasks", json!({"task_name": "parent"})).await["task_id"].clone();
    let child = post(&h, "/queues/kids/tasks", json!({"task_name": "child", "parent_task_id": parent})).await;

    let got =
        read(raw().get(h.api(&format!("/tasks/{}", child["task_id"].as_str().unwrap()))).send().await.unwrap()).await;
    assert_eq!(got.json["parent_task_id"], parent);
    let listed =
        read(raw().get(h.api(&format!("/tasks?parent_task_id={}", parent.as_str().unwrap()))).send().await.unwrap())
            .await;
    let ids: Vec<&Value> = listed.json["tasks"].as_array().unwrap().iter().map(|t| &t["id"]).collect();
    assert_eq!(ids, vec![&child["task_id"]]);

    let orphan = json!({"task_name": "child", "parent_task_id": "00000000-0000-4000-8000-000000000000"});
    let refused = read(raw().post(h.api("/queues/kids/tasks")).json(&orphan).send().await.unwrap()).await;
    refused.error(404, "NOT_FOUND");
    let bad = json!({"task_name": "child", "parent_task_id": "not-a-uuid"});
    let refused = read(raw().post(h.api("/queues/kids/tasks")).json(&bad).send().await.unwrap()).await;
    assert!(refused.error(400, "VALIDATION_ERROR").contains("parent_task_id"), "{}", refused.text);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claim_can_answer_with_every_checkpoint_of_its_tasks() {
    let h = Harness::postgres().await;
    h.queue("steps").await;
    let created = post(
        &h,
        "/queues/steps/tasks",
        json!({"task_name": "steps", "max_attempts": 2, "retry_strategy": {"kind": "fixed", "base_seconds": 0}}),
    )
    .await;
    let task = created["task_id"].as_str().unwrap().to_owned();
    post(&h, "/queues/steps/tasks", json!({"task_name": "fresh"})).await;

    let first = post(&h, "/queues/steps/tasks/claim", json!({"limit": 1, "claim_timeout": 60})).await;
    let run = first["tasks"][0]["run_id"].as_str().unwrap().to_owned();
    assert!(first["tasks"][0].get("checkpoints").is_none(), "absent unless asked: {first}");
    for (step, state) in [("b-second", json!({"n": 2})), ("a-first", json!([1]))] {
        let put = raw()
            .put(h.api(&format!("/tasks/{task}/checkpoints/{step}")))
            .json(&json!({"state": state, "owner_run": run}))
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200);
    }
    post(&h, &format!("/runs/{run}/fail"), json!({"error": "crash"})).await;

    // The retry and the fresh task, each with its own checkpoints.
    let body = json!({"limit": 10, "claim_timeout": 60, "include_checkpoints": true});
    let again = post(&h, "/queues/steps/tasks/claim", body).await;
    let tasks = again["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2, "{again}");
    for claimed in tasks {
        let steps: Vec<(&str, &Value)> = claimed["checkpoints"]
            .as_array()
            .expect("checkpoints asked for")
            .iter()
            .map(|c| (c["step_name"].as_str().unwrap(), &c["state"]))
            .collect();
        if claimed["task_id"] == task {
            assert_eq!(steps, vec![("a-first", &json!([1])), ("b-second", &json!({"n": 2}))]);
        } else {
            assert_eq!(steps, Vec::<(&str, &Value)>::new());
        }
    }
    h.stop().await;
}
