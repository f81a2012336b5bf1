//! Retention: the sweeper deletes finished tasks older than their queue's
//! `task_ttl_seconds` (with runs and checkpoints), and events older than
//! the largest `event_ttl_seconds` of any queue (0 anywhere keeps them).

use std::time::Duration;

use durable_client::{
    ClaimRequest, CreateQueue, CreateTask, EmitEvent, ErrorCode, ListRuns, PutCheckpoint, TaskStatus, WaitForEvent,
    WaitOutcome,
};
use serde_json::json;

use crate::support::{Harness, SWEEPER_DEADLINE, claim_one, eventually, expect_api_error};

#[tokio::test(flavor = "multi_thread")]
async fn finished_tasks_and_old_events_are_deleted() {
    let h = Harness::postgres().await;
    let c = &h.client;
    c.create_queue(&CreateQueue::new("short").task_ttl_seconds(1).event_ttl_seconds(1)).await.unwrap();
    c.create_queue(&CreateQueue::new("long")).await.unwrap();
    c.create_queue(&CreateQueue::new("forever").task_ttl_seconds(0).event_ttl_seconds(2)).await.unwrap();

    // Unfinished work is never deleted, whatever its age.
    let pending = c.create_task("short", &CreateTask::new("pending")).await.unwrap();
    let done = c.create_task("short", &CreateTask::new("done")).await.unwrap();
    let kept = c.create_task("long", &CreateTask::new("kept")).await.unwrap();
    let kept_forever = c.create_task("forever", &CreateTask::new("kept")).await.unwrap();
    for (queue, id) in [("short", done.task_id), ("long", kept.task_id), ("forever", kept_forever.task_id)] {
        let mut t = claim_one(c, queue, Duration::from_secs(5)).await;
        if t.task_id != id {
            // "short" hands out "pending" first (older); keep it claimed.
            assert_eq!(t.task_id, pending.task_id);
            t = claim_one(c, queue, Duration::from_secs(5)).await;
        }
        assert_eq!(t.task_id, id);
        c.put_checkpoint(id, "s", &PutCheckpoint::new(t.run_id, json!(1))).await.unwrap();
        c.complete_run(t.run_id, None).await.unwrap();
    }
    c.emit_event(&EmitEvent::new("old-news", Some(json!("stale")))).await.unwrap();

    // The finished task of "short" goes, with its runs and checkpoints.
    eventually("the finished task to be deleted", SWEEPER_DEADLINE, || async {
        c.get_task(done.task_id).await.err().map(|e| assert!(e.is_not_found(), "{e}"))
    })
    .await;
    assert!(c.list_runs(&ListRuns::default().task(done.task_id)).await.unwrap().runs.is_empty());
    expect_api_error(c.get_checkpoint(done.task_id, "s").await, 404, ErrorCode::NotFound);
    // The claimed one and the other queues' finished ones stay.
    assert_eq!(c.get_task(pending.task_id).await.unwrap().status, TaskStatus::Pending);
    assert_eq!(c.get_task(kept.task_id).await.unwrap().status, TaskStatus::Completed);
    assert_eq!(c.get_task(kept_forever.task_id).await.unwrap().status, TaskStatus::Completed);
    c.get_checkpoint(kept.task_id, "s").await.unwrap();

    // Events: kept for the largest event TTL (long's 3 days): still there.
    let waiter = c.create_task("long", &CreateTask::new("waiter")).await.unwrap();
    let w = claim_one(c, "long", Duration::from_secs(5)).await;
    assert_eq!(w.task_id, waiter.task_id);
    assert_eq!(
        c.wait_for_event(w.run_id, &WaitForEvent::new(w.task_id, "s1", "old-news", 60)).await.unwrap(),
        WaitOutcome::Resolved { payload: json!("stale") }
    );
    // Without the long-lived queue the largest event TTL is 2 s: it goes.
    c.force_delete_queue("long").await.unwrap();
    let probe = c.create_task("short", &CreateTask::new("probe")).await.unwrap();
    let p = claim_one(c, "short", Duration::from_secs(5)).await;
    assert_eq!(p.task_id, probe.task_id);
    let mut step = 0;
    eventually("the old event to be deleted", SWEEPER_DEADLINE, || {
        step += 1;
        let wait = WaitForEvent::new(p.task_id, format!("probe-{step}"), "old-news", 3600);
        async move {
            match c.wait_for_event(p.run_id, &wait).await.unwrap() {
                WaitOutcome::Resolved { .. } => None,
                WaitOutcome::Sleeping { .. } => Some(()),
                other => panic!("{other:?}"),
            }
        }
    })
    .await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_ttl_of_zero_anywhere_keeps_events_forever() {
    let h = Harness::postgres().await;
    let c = &h.client;
    c.create_queue(&CreateQueue::new("short").task_ttl_seconds(1).event_ttl_seconds(1)).await.unwrap();
    c.create_queue(&CreateQueue::new("keep").event_ttl_seconds(0)).await.unwrap();
    c.emit_event(&EmitEvent::new("news", Some(json!("kept")))).await.unwrap();
    // A finished task in "short" being cleaned up shows a cleanup pass ran
    // past 1 s after the event: under a 1 s event TTL that same pass would
    // have deleted the event too.
    let done = c.create_task("short", &CreateTask::new("done")).await.unwrap();
    let t = c.claim("short", &ClaimRequest::new(1, 30)).await.unwrap();
    c.complete_run(t[0].run_id, None).await.unwrap();
    eventually("the finished task to be deleted", SWEEPER_DEADLINE, || async {
        c.get_task(done.task_id).await.err().map(|e| assert!(e.is_not_found(), "{e}"))
    })
    .await;

    c.create_task("keep", &CreateTask::new("waiter")).await.unwrap();
    let w = claim_one(c, "keep", Duration::from_secs(5)).await;
    assert_eq!(
        c.wait_for_event(w.run_id, &WaitForEvent::new(w.task_id, "s", "news", 60)).await.unwrap(),
        WaitOutcome::Resolved { payload: json!("kept") }
    );
    h.stop().await;
}
