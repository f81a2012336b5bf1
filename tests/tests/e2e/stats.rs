//! Queue stats: counts per run status and the age of the oldest claimable
//! pending run.

use std::sync::Arc;

use durable_client::{ClaimRequest, CreateTask, ErrorCode, QueueStats};
use durable_ports::{Clock, ManualClock};
use durable_tests::server::TestServer;

use crate::support::{Harness, expect_api_error};

fn counts(s: &QueueStats) -> (u64, u64, u64, Option<u64>, Option<u64>) {
    (s.pending_runs, s.claimed_runs, s.completed_runs, s.sleeping_runs, s.failed_runs)
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_count_runs_by_status_and_age_the_oldest_pending_run() {
    // The server's clock only moves when the test moves it, so the age is exact.
    let clock = ManualClock::starting_now();
    let h = Harness::with(TestServer::postgres_with_clock(Arc::new(clock.clone())).await);
    let c = &h.client;
    h.queue("st").await;
    h.queue("other").await;

    let empty = c.queue_stats("st").await.unwrap();
    assert_eq!(empty.queue_name, "st");
    assert_eq!(counts(&empty), (0, 0, 0, Some(0), Some(0)));
    assert_eq!(empty.oldest_pending_run_age_seconds, None);

    // Five tasks, claimed in creation order (oldest due first) and driven to
    // claimed, completed, sleeping and failed; the fifth stays pending.
    for name in ["claimed", "completed", "sleeping", "failed"] {
        c.create_task("st", &CreateTask::new(name).max_attempts(1)).await.unwrap();
    }
    let claimed = c.claim("st", &ClaimRequest::new(4, 60)).await.unwrap();
    let names: Vec<&str> = claimed.iter().map(|t| t.task_name.as_str()).collect();
    assert_eq!(names, ["claimed", "completed", "sleeping", "failed"]);
    c.complete_run(claimed[1].run_id, None).await.unwrap();
    c.schedule_run(claimed[2].run_id, clock.now() + time::Duration::hours(1)).await.unwrap();
    let failed = c.fail_run(claimed[3].run_id, "nope").await.unwrap();
    assert_eq!(failed.next_run_id, None, "max_attempts 1: the task fails");

    c.create_task("st", &CreateTask::new("pending")).await.unwrap();
    // A deferred run counts as pending but has no age yet.
    c.create_task("st", &CreateTask::new("deferred").run_at(clock.now() + time::Duration::hours(1))).await.unwrap();
    // Another queue's runs do not count.
    c.create_task("other", &CreateTask::new("elsewhere")).await.unwrap();

    clock.advance(time::Duration::milliseconds(1500));
    let stats = c.queue_stats("st").await.unwrap();
    assert_eq!(stats.queue_name, "st");
    assert_eq!(counts(&stats), (2, 1, 1, Some(1), Some(1)), "{stats:?}");
    assert_eq!(stats.oldest_pending_run_age_seconds, Some(1.5), "the age of the oldest due pending run");

    // Once the due run is claimed only the deferred one is pending: no age.
    let taken = c.claim("st", &ClaimRequest::new(10, 60)).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].task_name, "pending");
    let stats = c.queue_stats("st").await.unwrap();
    assert_eq!(counts(&stats), (1, 2, 1, Some(1), Some(1)), "{stats:?}");
    assert_eq!(stats.oldest_pending_run_age_seconds, None);

    let other = c.queue_stats("other").await.unwrap();
    assert_eq!(counts(&other), (1, 0, 0, Some(0), Some(0)));
    assert!(other.oldest_pending_run_age_seconds.is_some());

    expect_api_error(c.queue_stats("nope").await, 404, ErrorCode::NotFound);
    h.stop().await;
}
