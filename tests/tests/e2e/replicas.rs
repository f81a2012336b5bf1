//! Several server replicas on one database, and graceful shutdown.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use durable_client::{ClaimRequest, CreateTask};
use durable_tests::server::TestServer;
use serde_json::json;
use uuid::Uuid;

use crate::support::Harness;

/// A second replica on the database of `first`.
async fn replica_of(first: &Harness) -> Harness {
    let url = first.server.database().expect("a PostgreSQL server").url().to_owned();
    let settings = durable_app::server::Settings { database_url: url, ..TestServer::settings() };
    Harness::with(TestServer::start(settings, None).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_on_one_replica_wakes_a_long_poll_on_another() {
    let a = Harness::postgres().await;
    let b = replica_of(&a).await;
    a.queue("shared").await;
    // B sees A's queue: state lives in the database only.
    assert_eq!(b.client.queue_stats("shared").await.unwrap().pending_runs, 0);

    let claimer = b.client.clone();
    let poll = tokio::spawn(async move {
        let tasks = claimer.claim("shared", &ClaimRequest::new(1, 30).long_poll_seconds(20)).await;
        (tasks, Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished(), "the long poll answered with nothing to claim");
    let created = a.client.create_task("shared", &CreateTask::new("x")).await.unwrap();
    let created_at = Instant::now();
    let (tasks, answered_at) = poll.await.unwrap();
    let tasks = tasks.unwrap();
    let latency = answered_at.saturating_duration_since(created_at);
    println!("cross-replica long-poll wake-up latency (NOTIFY via PostgreSQL): {latency:?}");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].run_id, created.run_id);
    assert!(latency < Duration::from_secs(5), "woken {latency:?} after the create");
    // And A completes what B handed out.
    a.client.complete_run(created.run_id, None).await.unwrap();
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn claimers_on_two_replicas_never_share_a_run() {
    let a = Harness::postgres().await;
    let b = replica_of(&a).await;
    a.queue("race").await;
    const N: usize = 300;
    let tasks: Vec<_> = (0..N).map(|i| CreateTask::new("r").params(json!(i))).collect();
    let created = a.client.create_tasks("race", &tasks).await.unwrap();
    let expected: HashSet<Uuid> = created.iter().map(|t| t.run_id).collect();

    let mut claimers = Vec::new();
    for i in 0..8 {
        let client = if i % 2 == 0 { a.new_client() } else { b.new_client() };
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = client.claim("race", &ClaimRequest::new(7, 60)).await.unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|t| t.run_id));
            }
        }));
    }
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.unwrap());
    }
    let distinct: HashSet<Uuid> = all.iter().copied().collect();
    assert_eq!(all.len(), distinct.len(), "a run was handed out twice");
    assert_eq!(distinct, expected, "every run handed out once");
    let stats = b.client.queue_stats("race").await.unwrap();
    assert_eq!((stats.pending_runs, stats.claimed_runs), (0, N as u64));
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_answers_a_waiting_long_poll() {
    let h = Harness::postgres().await;
    h.queue("bye").await;
    let claimer = h.client.clone();
    let poll = tokio::spawn(async move { claimer.claim("bye", &ClaimRequest::new(1, 30).long_poll_seconds(60)).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished());
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(15), h.stop())
        .await
        .expect("shutdown does not wait for the 60 s long poll");
    let answer = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .expect("the long poll is answered at shutdown")
        .unwrap();
    println!("shutdown took {:?}; the long poll got {answer:?}", started.elapsed());
    assert!(answer.unwrap().is_empty(), "a long poll answered at shutdown claims nothing");
}
