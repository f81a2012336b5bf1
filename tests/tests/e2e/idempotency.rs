//! Idempotency keys: a repeated create returns 200 with the same ids and
//! `"deduplicated": true`, and creates nothing.

use durable_client::{ClaimRequest, CreateTask, ListTasks};
use serde_json::json;

use crate::support::{Harness, raw, read};

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_idempotency_key_returns_the_same_task() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("idem").await;
    h.queue("idem2").await;

    // Over raw HTTP first: 201, then 200 with the same ids.
    let http = raw();
    let body = json!({"task_name": "charge", "params": {"cents": 100}, "idempotency_key": "order-1"});
    let first = read(http.post(h.api("/queues/idem/tasks")).json(&body).send().await.unwrap()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.json["deduplicated"], json!(false), "{}", first.text);
    let second = read(http.post(h.api("/queues/idem/tasks")).json(&body).send().await.unwrap()).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.json["deduplicated"], json!(true), "{}", second.text);
    assert_eq!(second.json["task_id"], first.json["task_id"]);
    assert_eq!(second.json["run_id"], first.json["run_id"]);
    assert!(first.json["task_id"].is_string());

    // Through the client, with different params: still the first task.
    let again = c
        .create_task("idem", &CreateTask::new("charge").params(json!({"cents": 999})).idempotency_key("order-1"))
        .await
        .unwrap();
    assert!(again.deduplicated);
    assert_eq!(again.task_id.to_string(), first.json["task_id"].as_str().unwrap());
    assert_eq!(again.run_id.to_string(), first.json["run_id"].as_str().unwrap());
    let tasks = c.list_tasks(&ListTasks::default().queue("idem")).await.unwrap().tasks;
    assert_eq!(tasks.len(), 1, "a deduplicated create created a task: {tasks:?}");
    assert_eq!(
        c.get_task(again.task_id).await.unwrap().params,
        json!({"cents": 100}),
        "the first create's params stay"
    );

    // A different key is a different task; the same key in another queue too.
    let other = c.create_task("idem", &CreateTask::new("charge").idempotency_key("order-2")).await.unwrap();
    assert!(!other.deduplicated);
    assert_ne!(other.task_id, again.task_id);
    let elsewhere = c.create_task("idem2", &CreateTask::new("charge").idempotency_key("order-1")).await.unwrap();
    assert!(!elsewhere.deduplicated, "keys are per queue");
    assert_ne!(elsewhere.task_id, again.task_id);

    // After the task finished, the key still finds it.
    let claimed = c.claim("idem", &ClaimRequest::new(10, 30)).await.unwrap();
    assert_eq!(claimed.len(), 2, "exactly one run per created task: {claimed:?}");
    for t in &claimed {
        c.complete_run(t.run_id, None).await.unwrap();
    }
    let after = c.create_task("idem", &CreateTask::new("charge").idempotency_key("order-1")).await.unwrap();
    assert!(after.deduplicated);
    assert_eq!((after.task_id, after.run_id), (again.task_id, again.run_id));
    assert!(c.claim("idem", &ClaimRequest::new(10, 30)).await.unwrap().is_empty());

    // In a batch: a known key answers its task, a new one creates.
    let batch = c
        .create_tasks(
            "idem",
            &[
                CreateTask::new("charge").idempotency_key("order-2"),
                CreateTask::new("charge").idempotency_key("order-3"),
            ],
        )
        .await
        .unwrap();
    assert!(batch[0].deduplicated);
    assert_eq!(batch[0].task_id, other.task_id);
    assert!(!batch[1].deduplicated);
    assert_eq!(c.list_tasks(&ListTasks::default().queue("idem")).await.unwrap().tasks.len(), 3);
    h.stop().await;
}
