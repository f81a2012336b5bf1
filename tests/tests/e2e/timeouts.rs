//! Task timeouts: `start_timeout` and `execution_timeout` cancel the task.

use durable_client::{ClaimRequest, CreateTask, ErrorCode, ListRuns, RunStatus, TaskStatus};
use uuid::Uuid;

use crate::support::{Harness, SWEEPER_DEADLINE, eventually, expect_api_error};

async fn wait_for_status(h: &Harness, task: Uuid, what: &str) -> durable_client::Task {
    eventually(what, SWEEPER_DEADLINE, || async {
        let t = h.client.get_task(task).await.unwrap();
        (t.status != TaskStatus::Pending).then_some(t)
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn start_and_execution_timeouts_cancel_tasks() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("never").await;
    h.queue("slow").await;
    h.queue("busy").await;

    // Claimed in time: its start timeout does not apply.
    let started = c.create_task("busy", &CreateTask::new("started").start_timeout(1.0)).await.unwrap();
    let held = c.claim("busy", &ClaimRequest::new(1, 60)).await.unwrap();
    assert_eq!(held[0].run_id, started.run_id);
    // Never claimed within 1 s: canceled.
    let unstarted = c.create_task("never", &CreateTask::new("unstarted").start_timeout(1.0)).await.unwrap();
    // Claimed but not done within 1 s: canceled, the worker fenced off.
    let slow = c.create_task("slow", &CreateTask::new("slow").execution_timeout(1.0)).await.unwrap();
    let claimed = c.claim("slow", &ClaimRequest::new(10, 60)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let slow_run = claimed[0].run_id;
    assert_eq!(slow_run, slow.run_id);

    let task = wait_for_status(&h, unstarted.task_id, "the start timeout").await;
    assert_eq!(task.status, TaskStatus::Canceled);
    let runs = c.list_runs(&ListRuns::default().task(unstarted.task_id)).await.unwrap().runs;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Canceled);
    assert!(c.claim("never", &ClaimRequest::new(10, 60)).await.unwrap().is_empty());

    let task = wait_for_status(&h, slow.task_id, "the execution timeout").await;
    assert_eq!(task.status, TaskStatus::Canceled);
    expect_api_error(c.complete_run(slow_run, None).await, 409, ErrorCode::Conflict);
    let runs = c.list_runs(&ListRuns::default().task(slow.task_id)).await.unwrap().runs;
    assert_eq!(runs[0].status, RunStatus::Canceled);

    // The started task was past its start timeout all along (created before
    // "slow", same 1 s): the passes that canceled the others saw it and left
    // it running.
    assert_eq!(c.get_task(started.task_id).await.unwrap().status, TaskStatus::Pending);
    c.complete_run(started.run_id, None).await.unwrap();
    assert_eq!(c.get_task(started.task_id).await.unwrap().status, TaskStatus::Completed);
    h.stop().await;
}
