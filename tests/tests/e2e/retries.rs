//! Retry backoff (fixed, exponential with a cap, the 1 s default) and a
//! task failing once `max_attempts` runs have failed.

use std::time::Duration;

use durable_client::{ClaimRequest, CreateTask, ListRuns, RetryStrategy, RunStatus, TaskStatus};
use time::OffsetDateTime;

use crate::support::{Harness, claim_one};

/// Asserts `at` is `seconds` after the fail call (which ran between
/// `before` and `after`), within 100 ms.
#[track_caller]
fn after_backoff(at: OffsetDateTime, before: OffsetDateTime, after: OffsetDateTime, seconds: f64) {
    let delay = time::Duration::seconds_f64(seconds);
    let slack = time::Duration::milliseconds(100);
    assert!(
        at >= before + delay - slack && at <= after + delay + slack,
        "next_attempt_at {at} is not {seconds} s after the fail ({before} .. {after})"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn exponential_backoff_is_capped_and_attempts_run_out() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("rt").await;
    // 0.5 s × 2^(attempt−1), capped at 1.5 s: 0.5, 1, 1.5 (not 2).
    let created = c
        .create_task(
            "rt",
            &CreateTask::new("flaky").max_attempts(4).retry_strategy(RetryStrategy::exponential(
                0.5,
                Some(2.0),
                Some(1.5),
            )),
        )
        .await
        .unwrap();
    let expected = [0.5, 1.0, 1.5];
    let mut run = claim_one(c, "rt", Duration::from_secs(5)).await;
    for (i, seconds) in expected.into_iter().enumerate() {
        let attempt = i as u32 + 1;
        assert_eq!(run.attempt, attempt);
        let before = OffsetDateTime::now_utc();
        let failed = c.fail_run(run.run_id, &format!("failure {attempt}")).await.unwrap();
        let after = OffsetDateTime::now_utc();
        assert_eq!(failed.attempt, attempt);
        let next = failed.next_run_id.expect("attempts are left");
        after_backoff(failed.next_attempt_at.unwrap(), before, after, seconds);
        run = claim_one(c, "rt", Duration::from_secs(10)).await;
        assert_eq!(run.run_id, next);
        assert!(OffsetDateTime::now_utc() >= failed.next_attempt_at.unwrap() - time::Duration::milliseconds(50));
    }
    // The 4th failure is the last one.
    assert_eq!(run.attempt, 4);
    let failed = c.fail_run(run.run_id, "failure 4").await.unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!((failed.next_run_id, failed.next_attempt_at), (None, None));
    let task = c.get_task(created.task_id).await.unwrap();
    assert_eq!(task.status, TaskStatus::Failed);
    assert_eq!(task.attempts, 4);
    assert_eq!(task.last_error.as_deref(), Some("failure 4"));
    assert!(task.completed_at.is_some());
    let runs = c.list_runs(&ListRuns::default().task(created.task_id)).await.unwrap().runs;
    let summary: Vec<_> = runs.iter().map(|r| (r.attempt, r.status, r.error.clone())).collect();
    let expected: Vec<_> = (1..=4).rev().map(|a| (a, RunStatus::Failed, Some(format!("failure {a}")))).collect();
    assert_eq!(summary, expected);
    let failed_tasks =
        c.list_tasks(&durable_client::ListTasks::default().status(TaskStatus::Failed)).await.unwrap().tasks;
    assert_eq!(failed_tasks.len(), 1);
    assert!(c.claim("rt", &ClaimRequest::new(1, 30)).await.unwrap().is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_strategy_a_retry_waits_one_second_and_one_attempt_is_the_default() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("rt").await;
    let two = c.create_task("rt", &CreateTask::new("two").max_attempts(2)).await.unwrap();
    let run = claim_one(c, "rt", Duration::from_secs(5)).await;
    assert_eq!(run.run_id, two.run_id);
    assert_eq!(run.retry_strategy, None);
    let before = OffsetDateTime::now_utc();
    let failed = c.fail_run(run.run_id, "once").await.unwrap();
    let after = OffsetDateTime::now_utc();
    after_backoff(failed.next_attempt_at.expect("a retry"), before, after, 1.0);

    // Default max_attempts is 1: the first failure fails the task.
    let one = c.create_task("rt", &CreateTask::new("one")).await.unwrap();
    let detail = c.get_task(one.task_id).await.unwrap();
    assert_eq!(detail.max_attempts, 1);
    let claimed = claim_one(c, "rt", Duration::from_secs(5)).await;
    let claimed = if claimed.task_id == one.task_id {
        claimed
    } else {
        // The retry of "two" came first.
        c.complete_run(claimed.run_id, None).await.unwrap();
        claim_one(c, "rt", Duration::from_secs(5)).await
    };
    assert_eq!(claimed.task_id, one.task_id);
    let failed = c.fail_run(claimed.run_id, "only").await.unwrap();
    assert_eq!(failed.next_run_id, None);
    assert_eq!(c.get_task(one.task_id).await.unwrap().status, TaskStatus::Failed);
    h.stop().await;
}

/// Oldest due first: runs are handed out by when they became due.
#[tokio::test(flavor = "multi_thread")]
async fn claims_hand_out_the_oldest_due_run_first() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("order").await;
    let now = OffsetDateTime::now_utc();
    // Created in this order, due in the reverse one (all in the past or now).
    let late = c.create_task("order", &CreateTask::new("due-now")).await.unwrap();
    let early =
        c.create_task("order", &CreateTask::new("due-earlier").run_at(now - time::Duration::minutes(5))).await.unwrap();
    let earliest =
        c.create_task("order", &CreateTask::new("due-earliest").run_at(now - time::Duration::hours(1))).await.unwrap();
    // The age counts from when the oldest run became due, not its creation.
    let age = c.queue_stats("order").await.unwrap().oldest_pending_run_age_seconds.expect("due runs have an age");
    assert!((3595.0..3700.0).contains(&age), "age {age} of a run due an hour ago");
    let claimed = c.claim("order", &ClaimRequest::new(1, 30)).await.unwrap();
    assert_eq!(claimed[0].task_id, earliest.task_id);
    let claimed = c.claim("order", &ClaimRequest::new(2, 30)).await.unwrap();
    let ids: Vec<_> = claimed.iter().map(|t| t.task_id).collect();
    assert_eq!(ids, [early.task_id, late.task_id]);
    let stats = c.queue_stats("order").await.unwrap();
    assert_eq!(stats.oldest_pending_run_age_seconds, None);
    h.stop().await;
}
