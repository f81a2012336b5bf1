//! The worker loop over HTTP: create → claim → checkpoint → fail → retry
//! after the backoff → claim → read the checkpoint back → complete.

use std::time::{Duration, Instant};

use durable_client::{ClaimRequest, CreateTask, PutCheckpoint, RetryKind, RetryStrategy, RunStatus, TaskStatus};
use serde_json::json;
use time::OffsetDateTime;

use crate::support::Harness;

#[tokio::test(flavor = "multi_thread")]
async fn create_claim_checkpoint_fail_retry_complete() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("work").await;

    let created = c
        .create_task(
            "work",
            &CreateTask::new("resize")
                .params(json!({"image": "a.png", "width": 100}))
                .header("trace", "abc")
                .max_attempts(3)
                .retry_strategy(RetryStrategy::fixed(1.0)),
        )
        .await
        .unwrap();
    assert!(!created.deduplicated);
    assert_eq!(created.workflow_run_id, None);

    // Attempt 1.
    let before_claim = OffsetDateTime::now_utc();
    let claimed = c.claim("work", &ClaimRequest::new(5, 30).worker_id("worker-1")).await.unwrap();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    let first = &claimed[0];
    assert_eq!(first.run_id, created.run_id);
    assert_eq!(first.task_id, created.task_id);
    assert_eq!(first.attempt, 1);
    assert_eq!(first.task_name, "resize");
    assert_eq!(first.params, json!({"image": "a.png", "width": 100}));
    assert_eq!(first.headers.get("trace").map(String::as_str), Some("abc"));
    assert_eq!(first.max_attempts, 3);
    let strategy = first.retry_strategy.expect("retry strategy is handed out");
    assert_eq!((strategy.kind, strategy.base_seconds), (RetryKind::Fixed, 1.0));
    assert_eq!(first.queue_name.as_deref(), Some("work"));
    let expires = first.claim_expires_at.expect("claim_expires_at");
    assert!(
        expires > before_claim + time::Duration::seconds(25) && expires < before_claim + time::Duration::seconds(35),
        "claim_expires_at {expires} is not about 30 s after {before_claim}"
    );

    // Nothing else is due.
    assert!(c.claim("work", &ClaimRequest::new(5, 30)).await.unwrap().is_empty());

    let written = c
        .put_checkpoint(
            created.task_id,
            "download",
            &PutCheckpoint::new(first.run_id, json!({"bytes": 42, "path": "/tmp/a"})),
        )
        .await
        .unwrap();
    assert_eq!(written.task_id, created.task_id);
    assert_eq!(written.step_name, "download");

    // Fail: a retry comes about 1 s later (fixed backoff).
    let before_fail = OffsetDateTime::now_utc();
    let failed_at = Instant::now();
    let failed = c.fail_run(first.run_id, "boom").await.unwrap();
    let after_fail = OffsetDateTime::now_utc();
    assert_eq!(failed.run_id, first.run_id);
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(failed.attempt, 1);
    let retry_run = failed.next_run_id.expect("a retry run (attempt 1 of 3 failed)");
    assert_ne!(retry_run, first.run_id);
    let retry_at = failed.next_attempt_at.expect("next_attempt_at");
    assert!(
        retry_at >= before_fail + time::Duration::milliseconds(900)
            && retry_at <= after_fail + time::Duration::milliseconds(1100),
        "next_attempt_at {retry_at} is not ~1 s after the fail ({before_fail}..{after_fail})"
    );

    // The retry is not claimable before its backoff has passed.
    let early = c.claim("work", &ClaimRequest::new(5, 30)).await.unwrap();
    if failed_at.elapsed() < Duration::from_millis(800) {
        assert!(early.is_empty(), "retry handed out before its backoff: {early:?}");
    }

    // A long poll ends when the retry becomes due.
    let claimed = if early.is_empty() {
        c.claim("work", &ClaimRequest::new(5, 30).long_poll_seconds(10)).await.unwrap()
    } else {
        early
    };
    let claimed_at = OffsetDateTime::now_utc();
    assert_eq!(claimed.len(), 1, "the retry after its backoff: {claimed:?}");
    let second = &claimed[0];
    assert_eq!(second.run_id, retry_run);
    assert_eq!(second.task_id, created.task_id);
    assert_eq!(second.attempt, 2);
    assert_eq!(second.params, json!({"image": "a.png", "width": 100}));
    assert!(
        claimed_at >= retry_at - time::Duration::milliseconds(50),
        "claimed at {claimed_at}, before the retry was due at {retry_at}"
    );

    // The checkpoint of attempt 1 is there for attempt 2.
    let checkpoint = c.get_checkpoint(created.task_id, "download").await.unwrap();
    assert_eq!(checkpoint.task_id, created.task_id);
    assert_eq!(checkpoint.step_name, "download");
    assert_eq!(checkpoint.state, json!({"bytes": 42, "path": "/tmp/a"}));
    assert_eq!(checkpoint.updated_at, written.updated_at);

    let completed = c.complete_run(second.run_id, Some(&json!({"thumbnail": "a-100.png"}))).await.unwrap();
    assert_eq!(completed.run_id, second.run_id);
    assert_eq!(completed.status, RunStatus::Completed);

    let task = c.get_task(created.task_id).await.unwrap();
    assert_eq!(task.id, created.task_id);
    assert_eq!(task.status, TaskStatus::Completed);
    assert_eq!(task.attempts, 2);
    assert_eq!(task.result, Some(json!({"thumbnail": "a-100.png"})));
    assert_eq!(task.last_error.as_deref(), Some("boom"));
    assert_eq!(task.queue_name, "work");
    assert_eq!(task.task_name, "resize");
    assert_eq!(task.max_attempts, 3);
    let completed_at = task.completed_at.expect("completed_at of a completed task");
    assert!(completed_at >= task.created_at);

    let runs = c.list_runs(&durable_client::ListRuns::default().task(created.task_id)).await.unwrap();
    assert_eq!(runs.next_cursor, None);
    let summary: Vec<_> = runs.runs.iter().map(|r| (r.id, r.attempt, r.status, r.error.as_deref())).collect();
    assert_eq!(
        summary,
        [(retry_run, 2, RunStatus::Completed, None), (first.run_id, 1, RunStatus::Failed, Some("boom")),],
        "runs, newest first"
    );
    assert!(runs.runs.iter().all(|r| r.task_id == created.task_id));
    assert!(runs.runs.iter().all(|r| r.completed_at.is_some()));

    // Nothing is left to claim.
    assert!(c.claim("work", &ClaimRequest::new(5, 30)).await.unwrap().is_empty());
    h.stop().await;
}
