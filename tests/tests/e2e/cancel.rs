//! Cancel: 200 canceled; the worker still holding the run gets 409; a
//! second cancel gets 409.

use durable_client::{ClaimRequest, CreateTask, ErrorCode, ListRuns, ListTasks, PutCheckpoint, RunStatus, TaskStatus};
use serde_json::json;
use uuid::Uuid;

use crate::support::{Harness, assert_nothing_claimable, expect_api_error};

#[tokio::test(flavor = "multi_thread")]
async fn cancel_fences_the_worker_and_cannot_repeat() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("cx").await;

    // A claimed task.
    let created = c.create_task("cx", &CreateTask::new("doomed")).await.unwrap();
    let held = c.claim("cx", &ClaimRequest::new(1, 60)).await.unwrap();
    assert_eq!(held[0].run_id, created.run_id);

    let canceled = c.cancel_task(created.task_id).await.unwrap();
    assert_eq!(canceled.task_id, created.task_id);
    assert_eq!(canceled.status, TaskStatus::Canceled);

    // The worker's next calls get 409.
    expect_api_error(c.complete_run(created.run_id, Some(&json!("too late"))).await, 409, ErrorCode::Conflict);
    expect_api_error(c.fail_run(created.run_id, "x").await, 409, ErrorCode::Conflict);
    expect_api_error(c.heartbeat(created.run_id, 30).await, 409, ErrorCode::Conflict);
    expect_api_error(
        c.put_checkpoint(created.task_id, "s", &PutCheckpoint::new(created.run_id, json!(1))).await,
        409,
        ErrorCode::Conflict,
    );
    // Cancel again: 409.
    expect_api_error(c.cancel_task(created.task_id).await, 409, ErrorCode::Conflict);

    let task = c.get_task(created.task_id).await.unwrap();
    assert_eq!(task.status, TaskStatus::Canceled);
    assert_eq!(task.result, None);
    assert!(task.completed_at.is_some(), "a canceled task is finished");
    let runs = c.list_runs(&ListRuns::default().task(created.task_id)).await.unwrap().runs;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].status, RunStatus::Canceled);
    let listed = c.list_tasks(&ListTasks::default().status(TaskStatus::Canceled)).await.unwrap();
    assert_eq!(listed.tasks.len(), 1);
    assert_eq!(listed.tasks[0].id, created.task_id);

    // A pending task: canceled before any worker sees it.
    let pending = c.create_task("cx", &CreateTask::new("never")).await.unwrap();
    c.cancel_task(pending.task_id).await.unwrap();
    assert_nothing_claimable(c, "cx").await;
    let runs = c.list_runs(&ListRuns::default().task(pending.task_id)).await.unwrap().runs;
    assert_eq!(runs[0].status, RunStatus::Canceled);

    // A pending retry: canceled during its backoff, it never comes back.
    let retrying = c
        .create_task(
            "cx",
            &CreateTask::new("flaky").max_attempts(3).retry_strategy(durable_client::RetryStrategy::fixed(1.0)),
        )
        .await
        .unwrap();
    let run = c.claim("cx", &ClaimRequest::new(1, 60)).await.unwrap()[0].run_id;
    let failed = c.fail_run(run, "first").await.unwrap();
    assert!(failed.next_run_id.is_some());
    c.cancel_task(retrying.task_id).await.unwrap();
    let after = c.claim("cx", &ClaimRequest::new(1, 60).long_poll_seconds(2)).await.unwrap();
    assert!(after.is_empty(), "a canceled task's retry was handed out: {after:?}");

    // A completed task: 409.
    let done = c.create_task("cx", &CreateTask::new("quick")).await.unwrap();
    let run = c.claim("cx", &ClaimRequest::new(1, 60)).await.unwrap()[0].run_id;
    c.complete_run(run, None).await.unwrap();
    expect_api_error(c.cancel_task(done.task_id).await, 409, ErrorCode::Conflict);
    assert_eq!(c.get_task(done.task_id).await.unwrap().status, TaskStatus::Completed);

    // Unknown: 404.
    expect_api_error(c.cancel_task(Uuid::now_v7()).await, 404, ErrorCode::NotFound);
    h.stop().await;
}

/// A canceled sleeper stays canceled: neither an emit nor its wake-up time
/// brings it back.
#[tokio::test(flavor = "multi_thread")]
async fn canceled_sleepers_do_not_wake() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("zz").await;
    let created = c.create_tasks("zz", &[CreateTask::new("on-event"), CreateTask::new("on-time")]).await.unwrap();
    let claimed = c.claim("zz", &ClaimRequest::new(2, 60)).await.unwrap();
    let find = |id: Uuid| claimed.iter().find(|t| t.task_id == id).unwrap().clone();
    let (on_event, on_time) = (find(created[0].task_id), find(created[1].task_id));

    let outcome = c
        .wait_for_event(on_event.run_id, &durable_client::WaitForEvent::new(on_event.task_id, "s", "never-mind", 3600))
        .await
        .unwrap();
    assert!(matches!(outcome, durable_client::WaitOutcome::Sleeping { .. }));
    let wake_at = time::OffsetDateTime::now_utc() + time::Duration::milliseconds(500);
    c.schedule_run(on_time.run_id, wake_at).await.unwrap();

    for t in [&on_event, &on_time] {
        let canceled = c.cancel_task(t.task_id).await.unwrap();
        assert_eq!(canceled.status, TaskStatus::Canceled);
    }
    c.emit_event(&durable_client::EmitEvent::new("never-mind", None)).await.unwrap();
    // Past the scheduled wake-up (a long poll would end as soon as anything
    // became claimable).
    let after = c.claim("zz", &ClaimRequest::new(10, 60).long_poll_seconds(2)).await.unwrap();
    assert!(after.is_empty(), "a canceled sleeper woke: {after:?}");
    assert!(time::OffsetDateTime::now_utc() > wake_at);
    for t in [&on_event, &on_time] {
        let runs = c.list_runs(&ListRuns::default().task(t.task_id)).await.unwrap().runs;
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].status, RunStatus::Canceled, "{}", t.task_name);
        assert_eq!(c.get_task(t.task_id).await.unwrap().status, TaskStatus::Canceled);
    }
    let stats = c.queue_stats("zz").await.unwrap();
    assert_eq!((stats.pending_runs, stats.claimed_runs, stats.sleeping_runs), (0, 0, Some(0)));
    // Nothing unfinished is left: the queue can be deleted.
    c.delete_queue("zz").await.unwrap();
    h.stop().await;
}
