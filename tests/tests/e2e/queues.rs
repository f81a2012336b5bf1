//! Queues: create with retention, list, 409 on a duplicate, delete (409
//! while unfinished, 204 after), force delete, 404 for unknown.

use durable_client::{ClaimRequest, CreateQueue, CreateTask, ErrorCode, ListTasks};
use time::OffsetDateTime;

use crate::support::{Harness, expect_api_error, raw, read};

#[tokio::test(flavor = "multi_thread")]
async fn queue_lifecycle_and_deletion_rules() {
    let h = Harness::postgres().await;
    let c = &h.client;

    let before = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let custom =
        c.create_queue(&CreateQueue::new("custom.queue-1_a").task_ttl_seconds(60).event_ttl_seconds(0)).await.unwrap();
    assert_eq!(custom.name, "custom.queue-1_a");
    assert!(custom.created_at >= before);
    assert_eq!((custom.cleanup.task_ttl_seconds, custom.cleanup.event_ttl_seconds), (60, 0));
    let default = c.create_queue(&CreateQueue::new("plain")).await.unwrap();
    assert_eq!(
        (default.cleanup.task_ttl_seconds, default.cleanup.event_ttl_seconds),
        (259_200, 259_200),
        "3 days by default"
    );
    let partial = c.create_queue(&CreateQueue::new("partial").event_ttl_seconds(10)).await.unwrap();
    assert_eq!((partial.cleanup.task_ttl_seconds, partial.cleanup.event_ttl_seconds), (259_200, 10));

    let message = expect_api_error(c.create_queue(&CreateQueue::new("plain")).await, 409, ErrorCode::Conflict);
    assert!(message.contains("plain"), "{message}");

    let mut listed = c.list_queues().await.unwrap();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = listed.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["custom.queue-1_a", "partial", "plain"]);
    let listed_custom = listed.iter().find(|q| q.name == "custom.queue-1_a").unwrap();
    assert_eq!(listed_custom, &custom);

    // A pending task blocks a delete; so do a claimed and a sleeping one.
    let t = c.create_task("plain", &CreateTask::new("x")).await.unwrap();
    let message = expect_api_error(c.delete_queue("plain").await, 409, ErrorCode::Conflict);
    assert!(message.contains("plain"), "{message}");
    let run = c.claim("plain", &ClaimRequest::new(1, 60)).await.unwrap()[0].run_id;
    assert_eq!(run, t.run_id);
    expect_api_error(c.delete_queue("plain").await, 409, ErrorCode::Conflict);
    c.schedule_run(run, OffsetDateTime::now_utc() + time::Duration::hours(1)).await.unwrap();
    expect_api_error(c.delete_queue("plain").await, 409, ErrorCode::Conflict);
    // Finished: 204 (checked raw), and it is gone with its tasks.
    c.cancel_task(t.task_id).await.unwrap();
    let http = raw();
    let deleted = read(http.delete(h.api("/queues/plain")).send().await.unwrap()).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert!(deleted.text.is_empty(), "204 with a body: {}", deleted.text);
    let names: Vec<String> = c.list_queues().await.unwrap().into_iter().map(|q| q.name).collect();
    assert!(!names.contains(&"plain".to_owned()), "{names:?}");
    expect_api_error(c.queue_stats("plain").await, 404, ErrorCode::NotFound);
    expect_api_error(c.create_task("plain", &CreateTask::new("x")).await, 404, ErrorCode::NotFound);
    expect_api_error(c.delete_queue("plain").await, 404, ErrorCode::NotFound);
    // The name can be used again.
    c.create_queue(&CreateQueue::new("plain")).await.unwrap();
    assert_eq!(c.queue_stats("plain").await.unwrap().pending_runs, 0);

    // Force deletes a queue with pending and claimed tasks, and them with it.
    let kept = c.create_tasks("custom.queue-1_a", &[CreateTask::new("a"), CreateTask::new("b")]).await.unwrap();
    c.claim("custom.queue-1_a", &ClaimRequest::new(1, 60)).await.unwrap();
    expect_api_error(c.delete_queue("custom.queue-1_a").await, 409, ErrorCode::Conflict);
    c.force_delete_queue("custom.queue-1_a").await.unwrap();
    expect_api_error(c.queue_stats("custom.queue-1_a").await, 404, ErrorCode::NotFound);
    for t in &kept {
        expect_api_error(c.get_task(t.task_id).await, 404, ErrorCode::NotFound);
    }
    assert!(c.list_tasks(&ListTasks::default().queue("custom.queue-1_a")).await.unwrap().tasks.is_empty());

    // Unknown: 404, forced or not.
    expect_api_error(c.delete_queue("nope").await, 404, ErrorCode::NotFound);
    expect_api_error(c.force_delete_queue("nope").await, 404, ErrorCode::NotFound);
    expect_api_error(c.claim("nope", &ClaimRequest::new(1, 1)).await, 404, ErrorCode::NotFound);
    h.stop().await;
}

/// What `POST /queues` answers is what the queue is: the listing agrees,
/// even for TTLs beyond what the store can hold (those are refused or
/// stored exactly).
#[tokio::test(flavor = "multi_thread")]
async fn a_queue_reads_back_as_created() {
    let h = Harness::postgres().await;
    let c = &h.client;
    for (name, ttl) in [("zero", 0), ("big", i64::MAX as u64), ("bigger", i64::MAX as u64 + 1), ("max", u64::MAX)] {
        let created = c.create_queue(&CreateQueue::new(name).task_ttl_seconds(ttl).event_ttl_seconds(ttl)).await;
        let created = match created {
            Ok(queue) => queue,
            Err(e) => {
                assert!(e.is_validation(), "TTL {ttl}: {e}");
                continue;
            }
        };
        let listed = c.list_queues().await.unwrap().into_iter().find(|q| q.name == name).unwrap();
        assert_eq!(listed, created, "queue {name}: POST /queues answered one TTL, GET /queues shows another");
    }
    h.stop().await;
}
