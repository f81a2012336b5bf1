//! Claim expiry and fencing: an expired claim's run fails with "claim
//! expired", a new attempt is claimable, and every call of the old worker
//! gets 409 and changes nothing.

use durable_client::{
    ClaimRequest, ClaimedTask, CreateTask, ErrorCode, ListRuns, PutCheckpoint, RunStatus, TaskStatus, WaitForEvent,
};
use serde_json::json;
use time::OffsetDateTime;

use crate::support::{Harness, SWEEPER_DEADLINE, eventually, expect_api_error};

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_claim_is_requeued_and_the_old_worker_is_fenced_off() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("exp").await;
    // max_attempts 1: an expiry must not use up the task's only attempt.
    let created = c.create_task("exp", &CreateTask::new("crashy").max_attempts(1)).await.unwrap();

    let claimed = c.claim("exp", &ClaimRequest::new(1, 1)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let old = claimed[0].clone();
    assert_eq!((old.run_id, old.attempt), (created.run_id, 1));

    // The sweeper (every 50 ms) expires the claim; attempt 2 becomes claimable.
    let new: ClaimedTask = eventually("the expired run's retry", SWEEPER_DEADLINE, || async {
        c.claim("exp", &ClaimRequest::new(1, 30)).await.unwrap().pop()
    })
    .await;
    assert_eq!(new.task_id, created.task_id);
    assert_eq!(new.attempt, 2);
    assert_ne!(new.run_id, old.run_id);
    assert_eq!(new.max_attempts, 1);

    // The old worker, fenced off by its run id.
    let conflict = ErrorCode::Conflict;
    expect_api_error(c.complete_run(old.run_id, Some(&json!("late"))).await, 409, conflict.clone());
    expect_api_error(c.fail_run(old.run_id, "late failure").await, 409, conflict.clone());
    expect_api_error(c.heartbeat(old.run_id, 30).await, 409, conflict.clone());
    expect_api_error(
        c.put_checkpoint(created.task_id, "step", &PutCheckpoint::new(old.run_id, json!({"from": "old"}))).await,
        409,
        conflict.clone(),
    );
    expect_api_error(
        c.schedule_run(old.run_id, OffsetDateTime::now_utc() + time::Duration::seconds(60)).await,
        409,
        conflict.clone(),
    );
    expect_api_error(
        c.wait_for_event(old.run_id, &WaitForEvent::new(created.task_id, "wait", "some-event", 60)).await,
        409,
        conflict.clone(),
    );
    expect_api_error(
        c.complete_runs(&[durable_client::CompleteRun::new(old.run_id, None)]).await.unwrap().remove(0).into_result(),
        409,
        conflict,
    );

    // None of it changed anything.
    expect_api_error(c.get_checkpoint(created.task_id, "step").await, 404, ErrorCode::NotFound);
    let runs = c.list_runs(&ListRuns::default().task(created.task_id)).await.unwrap().runs;
    let summary: Vec<_> = runs.iter().map(|r| (r.id, r.attempt, r.status, r.error.as_deref())).collect();
    assert_eq!(
        summary,
        [(new.run_id, 2, RunStatus::Claimed, None), (old.run_id, 1, RunStatus::Failed, Some("claim expired")),]
    );
    let task = c.get_task(created.task_id).await.unwrap();
    assert_eq!(task.status, TaskStatus::Pending);
    assert_eq!(task.attempts, 2);

    // The new holder works normally.
    c.put_checkpoint(created.task_id, "step", &PutCheckpoint::new(new.run_id, json!({"from": "new"}))).await.unwrap();
    let beat = c.heartbeat(new.run_id, 60).await.unwrap();
    assert_eq!(beat.run_id, new.run_id);
    assert!(beat.claim_expires_at > OffsetDateTime::now_utc() + time::Duration::seconds(50));
    c.complete_run(new.run_id, Some(&json!("done"))).await.unwrap();
    let task = c.get_task(created.task_id).await.unwrap();
    assert_eq!(task.status, TaskStatus::Completed);
    assert_eq!(task.result, Some(json!("done")));
    assert_eq!(c.get_checkpoint(created.task_id, "step").await.unwrap().state, json!({"from": "new"}));
    // And its late complete still changes nothing.
    expect_api_error(c.complete_run(old.run_id, None).await, 409, ErrorCode::Conflict);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn heartbeats_and_checkpoints_keep_a_short_claim_alive() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("hb").await;
    let batch: Vec<_> = ["beating", "checkpointing", "silent"].into_iter().map(CreateTask::new).collect();
    c.create_tasks("hb", &batch).await.unwrap();
    let claimed = c.claim("hb", &ClaimRequest::new(3, 2)).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let by_name = |name: &str| claimed.iter().find(|t| t.task_name == name).unwrap().clone();
    let (beating, checkpointing, silent) = (by_name("beating"), by_name("checkpointing"), by_name("silent"));

    let beat = c.heartbeat(beating.run_id, 60).await.unwrap();
    assert!(beat.claim_expires_at > OffsetDateTime::now_utc() + time::Duration::seconds(50));
    c.put_checkpoint(
        checkpointing.task_id,
        "progress",
        &PutCheckpoint::new(checkpointing.run_id, json!(50)).extend_claim_by(60),
    )
    .await
    .unwrap();

    // The silent one expires; by then the other two would have as well.
    let expired = eventually("the silent claim to expire", SWEEPER_DEADLINE, || async {
        let runs = c.list_runs(&ListRuns::default().task(silent.task_id)).await.unwrap().runs;
        runs.into_iter().find(|r| r.id == silent.run_id && r.status == RunStatus::Failed)
    })
    .await;
    assert_eq!(expired.error.as_deref(), Some("claim expired"));
    for t in [&beating, &checkpointing] {
        let runs = c.list_runs(&ListRuns::default().task(t.task_id)).await.unwrap().runs;
        assert_eq!(runs.len(), 1, "{}: the extended claim expired: {runs:?}", t.task_name);
        assert_eq!(runs[0].status, RunStatus::Claimed);
        c.complete_run(t.run_id, None).await.unwrap();
    }
    h.stop().await;
}

/// A task whose claims keep expiring fails (here after 2 in a row).
#[tokio::test(flavor = "multi_thread")]
async fn a_task_whose_claims_keep_expiring_fails() {
    let database = durable_tests::pg::test_database().await;
    let settings = durable_app::server::Settings {
        database_url: database.url().to_owned(),
        max_consecutive_expiries: 2,
        ..durable_tests::server::TestServer::settings()
    };
    let h = Harness::with(durable_tests::server::TestServer::start(settings, Some(database)).await);
    let c = &h.client;
    h.queue("crash").await;
    let created = c.create_task("crash", &CreateTask::new("poison").max_attempts(5)).await.unwrap();
    let first = c.claim("crash", &ClaimRequest::new(1, 1)).await.unwrap();
    assert_eq!(first[0].attempt, 1);
    let second: ClaimedTask = eventually("the first expiry's retry", SWEEPER_DEADLINE, || async {
        c.claim("crash", &ClaimRequest::new(1, 1)).await.unwrap().pop()
    })
    .await;
    assert_eq!(second.attempt, 2);
    let task = eventually("the task to fail", SWEEPER_DEADLINE, || async {
        let task = c.get_task(created.task_id).await.unwrap();
        (task.status != TaskStatus::Pending).then_some(task)
    })
    .await;
    assert_eq!(task.status, TaskStatus::Failed);
    assert_eq!(task.attempts, 2);
    assert!(task.completed_at.is_some());
    let runs = c.list_runs(&ListRuns::default().task(created.task_id)).await.unwrap().runs;
    let summary: Vec<_> = runs.iter().map(|r| (r.attempt, r.status, r.error.as_deref())).collect();
    assert_eq!(
        summary,
        [(2, RunStatus::Failed, Some("claim expired")), (1, RunStatus::Failed, Some("claim expired")),]
    );
    assert!(c.claim("crash", &ClaimRequest::new(1, 1)).await.unwrap().is_empty());
    h.stop().await;
}
