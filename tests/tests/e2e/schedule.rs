//! Scheduling: a pending run is deferred; a claimed run sleeps (durable
//! sleep: same run, same attempt) and is claimable again once the time passes.

use std::time::Duration;

use durable_client::{ClaimedTask, CreateTask, ErrorCode, ListRuns, RunStatus, TaskStatus};
use serde_json::json;
use time::OffsetDateTime;

use crate::support::{Harness, assert_nothing_claimable, claim_one, expect_api_error};

/// `now + seconds`, whole milliseconds (what a client would send).
fn in_seconds(seconds: i64) -> OffsetDateTime {
    let at = OffsetDateTime::now_utc() + time::Duration::seconds(seconds);
    at.replace_millisecond(at.millisecond()).unwrap()
}

/// Asserts `task` was handed out no earlier than `due`.
#[track_caller]
fn claimed_after(task: &ClaimedTask, due: OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    assert!(
        now >= due - time::Duration::milliseconds(50),
        "{} handed out at {now}, before it was due at {due}",
        task.run_id
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_run_is_deferred() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("sched").await;
    let created = c.create_task("sched", &CreateTask::new("later")).await.unwrap();

    let run_at = in_seconds(2);
    let scheduled = c.schedule_run(created.run_id, run_at).await.unwrap();
    assert_eq!(scheduled.run_id, created.run_id);
    assert_eq!(scheduled.scheduled_at, run_at);

    if OffsetDateTime::now_utc() < run_at - time::Duration::milliseconds(500) {
        assert_nothing_claimable(c, "sched").await;
        let stats = c.queue_stats("sched").await.unwrap();
        assert_eq!(stats.pending_runs, 1, "a deferred run is still pending");
        assert_eq!(stats.oldest_pending_run_age_seconds, None, "a deferred run is not claimable, so it has no age");
    }
    let runs = c.list_runs(&ListRuns::default().task(created.task_id)).await.unwrap().runs;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Pending);

    // A long poll ends when it becomes due (no notification fires for that).
    let task = claim_one(c, "sched", Duration::from_secs(10)).await;
    claimed_after(&task, run_at);
    assert_eq!((task.run_id, task.attempt), (created.run_id, 1));
    c.complete_run(task.run_id, None).await.unwrap();

    // A finished run cannot be scheduled.
    expect_api_error(c.schedule_run(created.run_id, in_seconds(5)).await, 409, ErrorCode::Conflict);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_created_with_run_at_waits_for_it() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("sched").await;
    let run_at = in_seconds(2);
    let created = c.create_task("sched", &CreateTask::new("later").run_at(run_at)).await.unwrap();
    if OffsetDateTime::now_utc() < run_at - time::Duration::milliseconds(500) {
        assert_nothing_claimable(c, "sched").await;
    }
    let task = claim_one(c, "sched", Duration::from_secs(10)).await;
    claimed_after(&task, run_at);
    assert_eq!(task.run_id, created.run_id);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claimed_run_sleeps_durably_and_comes_back() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("nap").await;
    let created = c.create_task("nap", &CreateTask::new("napper").params(json!({"n": 1}))).await.unwrap();
    let task = claim_one(c, "nap", Duration::from_secs(5)).await;
    assert_eq!(task.run_id, created.run_id);

    let run_at = in_seconds(2);
    let scheduled = c.schedule_run(task.run_id, run_at).await.unwrap();
    assert_eq!(scheduled.run_id, task.run_id);
    assert_eq!(scheduled.scheduled_at, run_at);

    // It sleeps: same run, no claim, not claimable, counted as sleeping.
    let runs = c.list_runs(&ListRuns::default().task(created.task_id)).await.unwrap().runs;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!((runs[0].id, runs[0].status), (task.run_id, RunStatus::Sleeping));
    if OffsetDateTime::now_utc() < run_at - time::Duration::milliseconds(500) {
        assert_nothing_claimable(c, "nap").await;
        let stats = c.queue_stats("nap").await.unwrap();
        assert_eq!((stats.pending_runs, stats.claimed_runs, stats.sleeping_runs), (0, 0, Some(1)));
    }
    expect_api_error(c.complete_run(task.run_id, None).await, 409, ErrorCode::Conflict);
    expect_api_error(c.heartbeat(task.run_id, 10).await, 409, ErrorCode::Conflict);

    // It comes back after run_at, as the same run and attempt.
    let back = claim_one(c, "nap", Duration::from_secs(10)).await;
    claimed_after(&back, run_at);
    assert_eq!((back.run_id, back.attempt), (task.run_id, 1));
    assert_eq!(back.params, json!({"n": 1}));
    c.complete_run(back.run_id, Some(&json!("rested"))).await.unwrap();

    let detail = c.get_task(created.task_id).await.unwrap();
    assert_eq!(detail.status, TaskStatus::Completed);
    assert_eq!(detail.attempts, 1, "a durable sleep is not a new attempt");
    let runs = c.list_runs(&ListRuns::default().task(created.task_id)).await.unwrap().runs;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Completed);
    h.stop().await;
}
