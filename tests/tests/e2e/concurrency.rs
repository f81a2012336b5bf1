//! Races over HTTP: concurrent completes of one run, concurrent creates
//! with one idempotency key.

use std::collections::HashSet;

use durable_client::{ClaimRequest, CreateTask, ListTasks, TaskStatus};
use serde_json::json;
use uuid::Uuid;

use crate::support::Harness;

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_creates_with_one_idempotency_key_make_one_task() {
    let h = Harness::postgres().await;
    h.queue("idem").await;
    for round in 0..3 {
        let key = format!("key-{round}");
        let mut creates = Vec::new();
        for i in 0..12 {
            let client = h.new_client();
            let key = key.clone();
            creates.push(tokio::spawn(async move {
                client.create_task("idem", &CreateTask::new("once").params(json!(i)).idempotency_key(key)).await
            }));
        }
        let mut answers = Vec::new();
        for create in creates {
            answers.push(
                create
                    .await
                    .unwrap()
                    .unwrap_or_else(|e| panic!("round {round}: a racing create with one idempotency key failed: {e}")),
            );
        }
        let tasks: HashSet<(Uuid, Uuid)> = answers.iter().map(|a| (a.task_id, a.run_id)).collect();
        assert_eq!(tasks.len(), 1, "round {round}: one key, several tasks: {answers:?}");
        let fresh = answers.iter().filter(|a| !a.deduplicated).count();
        assert_eq!(fresh, 1, "round {round}: exactly one create is not deduplicated");
    }
    let listed = h.client.list_tasks(&ListTasks::default().queue("idem")).await.unwrap().tasks;
    assert_eq!(listed.len(), 3);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_completes_of_one_run_succeed_once() {
    let h = Harness::postgres().await;
    h.queue("dup").await;
    let created = h.client.create_task("dup", &CreateTask::new("t")).await.unwrap();
    let run = h.client.claim("dup", &ClaimRequest::new(1, 60)).await.unwrap()[0].run_id;
    assert_eq!(run, created.run_id);
    let mut completes = Vec::new();
    for i in 0..10 {
        let client = h.new_client();
        completes.push(tokio::spawn(async move {
            if i % 2 == 0 {
                client.complete_run(run, Some(&json!(i))).await.map(drop)
            } else {
                client.fail_run(run, &format!("fail {i}")).await.map(drop)
            }
        }));
    }
    let mut ok = 0;
    for complete in completes {
        match complete.await.unwrap() {
            Ok(()) => ok += 1,
            Err(e) => assert!(e.is_conflict(), "{e}"),
        }
    }
    assert_eq!(ok, 1, "exactly one of the racing completes/fails wins");
    let task = h.client.get_task(created.task_id).await.unwrap();
    assert!(matches!(task.status, TaskStatus::Completed | TaskStatus::Failed), "{task:?}");
    h.stop().await;
}
