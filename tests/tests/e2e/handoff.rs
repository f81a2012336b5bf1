//! (ext) Finish and claim in one request: the runs a worker finished ride
//! along with its next claim; each item is fenced on its own, and a refused
//! request applies nothing.

use std::collections::HashSet;

use durable_client::{ClaimRequest, CompleteRun, CreateTask, FailRun, Finished, RetryStrategy, TaskStatus};
use serde_json::json;

use crate::support::{Harness, expect_api_error};

#[tokio::test(flavor = "multi_thread")]
async fn finished_runs_are_recorded_before_the_next_claim() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("hand").await;
    let retry = CreateTask::new("t").max_attempts(2).retry_strategy(RetryStrategy::fixed(0.0));
    let mut created = Vec::new();
    for _ in 0..4 {
        created.push(c.create_task("hand", &retry).await.unwrap());
    }
    let first = c.claim("hand", &ClaimRequest::new(2, 60)).await.unwrap();
    assert_eq!(first.len(), 2);

    let finished = Finished {
        complete: vec![CompleteRun::new(first[0].run_id, Some(json!({"ok": 1.50})))],
        fail: vec![FailRun::new(first[1].run_id, "boom")],
    };
    let handoff = c.claim_after("hand", &ClaimRequest::new(10, 60), &finished).await.unwrap();
    assert_eq!(handoff.completed.len(), 1);
    assert_eq!(handoff.completed[0].clone().into_result().unwrap(), first[0].run_id);
    let failed = handoff.failed.into_iter().next().unwrap().unwrap();
    assert_eq!((failed.run_id, failed.attempt), (first[1].run_id, 1));
    let retry_run = failed.next_run_id.expect("attempts left: a retry");
    // The claim came after the records: the other two tasks and the retry
    // (no backoff) are handed out.
    let claimed: HashSet<_> = handoff.tasks.iter().map(|t| t.run_id).collect();
    let expected: HashSet<_> = [created[2].run_id, created[3].run_id, retry_run].into();
    assert_eq!(claimed, expected);

    let done = c.get_task(first[0].task_id).await.unwrap();
    assert_eq!((done.status, done.result), (TaskStatus::Completed, Some(json!({"ok": 1.50}))));

    // A second report of the same run is refused for that item alone.
    let again = Finished { complete: vec![CompleteRun::new(first[0].run_id, None)], fail: vec![] };
    let handoff = c.claim_after("hand", &ClaimRequest::new(1, 60), &again).await.unwrap();
    let refused = handoff.completed[0].clone().into_result().unwrap_err();
    assert!(refused.is_conflict(), "{refused}");
    assert!(handoff.tasks.is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_request_records_nothing() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("strict").await;
    let created = c.create_task("strict", &CreateTask::new("t")).await.unwrap();
    let held = c.claim("strict", &ClaimRequest::new(1, 60)).await.unwrap();
    assert_eq!(held[0].run_id, created.run_id);

    // The fail item's error holds a NUL: the whole request is a 400, and
    // the completion beside it was not applied.
    let finished = Finished {
        complete: vec![CompleteRun::new(created.run_id, None)],
        fail: vec![FailRun::new(uuid::Uuid::now_v7(), "bad\0error")],
    };
    expect_api_error(
        c.claim_after("strict", &ClaimRequest::new(1, 60), &finished).await,
        400,
        durable_client::ErrorCode::ValidationError,
    );
    assert_eq!(c.get_task(created.task_id).await.unwrap().status, TaskStatus::Pending);
    // A plain claim still answers only {"tasks": [...]}.
    let raw = reqwest::Client::new()
        .post(h.api("/queues/strict/tasks/claim"))
        .json(&json!({"limit": 1, "claim_timeout": 5}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(raw.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()), Some(vec!["tasks".to_owned()]));
    h.stop().await;
}
