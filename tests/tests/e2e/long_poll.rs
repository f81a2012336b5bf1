//! A long-polling claim is woken by a create from another connection.

use std::time::{Duration, Instant};

use durable_client::{ClaimRequest, CreateTask};
use serde_json::json;

use crate::support::Harness;

/// How long the claim may wait; the wake-up must come well before it.
const LONG_POLL_SECONDS: u64 = 20;

#[tokio::test(flavor = "multi_thread")]
async fn long_poll_is_woken_by_a_create_from_another_client() {
    let h = Harness::postgres().await;
    h.queue("lp").await;
    // Two client instances: separate connection pools, as two processes would have.
    let worker = h.new_client();
    let producer = h.new_client();

    let mut latencies = Vec::new();
    for round in 0..3 {
        let claimer = worker.clone();
        let started = Instant::now();
        let poll = tokio::spawn(async move {
            let tasks = claimer.claim("lp", &ClaimRequest::new(10, 30).long_poll_seconds(LONG_POLL_SECONDS)).await;
            (tasks, Instant::now())
        });
        // Let the claim reach the server and start waiting (not a timing
        // assertion: the checks below hold however long this takes).
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!poll.is_finished(), "round {round}: the long poll answered before any task existed: {:?}", poll.await);

        let before_create = Instant::now();
        let created =
            producer.create_task("lp", &CreateTask::new("wake").params(json!({"round": round}))).await.unwrap();
        let created_at = Instant::now();

        let (tasks, answered_at) = tokio::time::timeout(Duration::from_secs(LONG_POLL_SECONDS + 10), poll)
            .await
            .expect("the long poll answers")
            .expect("the claim task does not panic");
        let tasks = tasks.unwrap();
        assert_eq!(tasks.len(), 1, "round {round}: {tasks:?}");
        assert_eq!(tasks[0].run_id, created.run_id);
        assert_eq!(tasks[0].task_id, created.task_id);
        assert_eq!(tasks[0].params, json!({"round": round}));

        let latency = answered_at.saturating_duration_since(created_at);
        let waited = answered_at.duration_since(started);
        println!(
            "long-poll wake-up latency, round {round}: {latency:?} after the create returned \
             ({:?} after it was sent); the claim waited {waited:?} in all",
            answered_at.saturating_duration_since(before_create)
        );
        assert!(
            waited < Duration::from_secs(LONG_POLL_SECONDS / 2),
            "round {round}: the claim answered after {waited:?}, not well before its {LONG_POLL_SECONDS} s deadline"
        );
        assert!(latency < Duration::from_secs(5), "round {round}: woken {latency:?} after the create");
        latencies.push(latency);

        worker.complete_run(created.run_id, None).await.unwrap();
    }
    latencies.sort();
    println!(
        "long-poll wake-up latency over {} rounds: min {:?}, median {:?}, max {:?}",
        latencies.len(),
        latencies[0],
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn long_poll_with_nothing_to_claim_answers_empty_at_its_deadline() {
    let h = Harness::postgres().await;
    h.queue("idle").await;
    let started = Instant::now();
    let tasks = h.client.claim("idle", &ClaimRequest::new(1, 30).long_poll_seconds(1)).await.unwrap();
    let waited = started.elapsed();
    assert!(tasks.is_empty(), "{tasks:?}");
    assert!(waited >= Duration::from_millis(900), "a 1 s long poll answered after only {waited:?}");
    assert!(waited < Duration::from_secs(10), "a 1 s long poll took {waited:?}");
    h.stop().await;
}
