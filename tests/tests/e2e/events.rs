//! Wait-for-event: sleeping (202), woken by an emit, resolved (200) with
//! the payload; a timeout (408) after the sweeper; replays are deterministic.

use std::collections::HashSet;
use std::time::Duration;

use durable_client::{
    ClaimRequest, CreateTask, EmitEvent, ErrorCode, ListRuns, RunStatus, TaskStatus, WaitForEvent, WaitOutcome,
};
use serde_json::json;

use crate::support::{Harness, SWEEPER_DEADLINE, assert_nothing_claimable, claim_one, expect_api_error};

fn resolved(payload: serde_json::Value) -> WaitOutcome {
    WaitOutcome::Resolved { payload }
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_sleep_wake_resolve_timeout_and_replay() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("ev").await;
    let created = c.create_task("ev", &CreateTask::new("approve-order")).await.unwrap();
    let task = created.task_id;
    let run = claim_one(c, "ev", Duration::from_secs(5)).await;
    assert_eq!(run.run_id, created.run_id);

    // 1. Nothing emitted yet: the run sleeps (202) and gives up its claim.
    let approval = WaitForEvent::new(task, "approval", "order-42-approved", 3600);
    match c.wait_for_event(run.run_id, &approval).await.unwrap() {
        WaitOutcome::Sleeping { message } => assert!(!message.is_empty()),
        other => panic!("expected 202 sleeping, got {other:?}"),
    }
    let runs = c.list_runs(&ListRuns::default().task(task)).await.unwrap().runs;
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].id, runs[0].status), (run.run_id, RunStatus::Sleeping));
    let stats = c.queue_stats("ev").await.unwrap();
    assert_eq!((stats.pending_runs, stats.claimed_runs, stats.sleeping_runs), (0, 0, Some(1)));
    assert_nothing_claimable(c, "ev").await;
    // The sleeper no longer holds a claim.
    expect_api_error(c.complete_run(run.run_id, None).await, 409, ErrorCode::Conflict);
    expect_api_error(c.wait_for_event(run.run_id, &approval).await, 409, ErrorCode::Conflict);

    // 2. The emit wakes it: the same run, claimable again at once.
    let emitted = c.emit_event(&EmitEvent::new("order-42-approved", Some(json!({"by": "alice"})))).await.unwrap();
    assert_eq!(emitted.event_name, "order-42-approved");
    let again = claim_one(c, "ev", Duration::from_secs(5)).await;
    assert_eq!((again.run_id, again.attempt), (run.run_id, 1));
    assert_eq!(again.task_id, task);

    // 3. Waiting again answers 200 with the payload, as often as asked.
    for _ in 0..2 {
        assert_eq!(c.wait_for_event(again.run_id, &approval).await.unwrap(), resolved(json!({"by": "alice"})));
    }

    // A later event of the same name does not change a recorded outcome...
    c.emit_event(&EmitEvent::new("order-42-approved", Some(json!({"by": "bob"})))).await.unwrap();
    assert_eq!(c.wait_for_event(again.run_id, &approval).await.unwrap(), resolved(json!({"by": "alice"})));
    // ...but a new step on that name resolves at once with the latest one.
    assert_eq!(
        c.wait_for_event(again.run_id, &WaitForEvent::new(task, "second-look", "order-42-approved", 3600))
            .await
            .unwrap(),
        resolved(json!({"by": "bob"}))
    );
    // An event without a payload resolves with null.
    c.emit_event(&EmitEvent::new("bare", None)).await.unwrap();
    assert_eq!(
        c.wait_for_event(again.run_id, &WaitForEvent::new(task, "bare-step", "bare", 60)).await.unwrap(),
        resolved(serde_json::Value::Null)
    );

    // 4. A step with a 1 s timeout: it sleeps, the sweeper wakes it, 408.
    let shipping = WaitForEvent::new(task, "shipping", "order-42-shipped", 1);
    assert!(matches!(c.wait_for_event(again.run_id, &shipping).await.unwrap(), WaitOutcome::Sleeping { .. }));
    let woken = claim_one(c, "ev", SWEEPER_DEADLINE).await;
    assert_eq!((woken.run_id, woken.attempt), (run.run_id, 1));
    for _ in 0..2 {
        match c.wait_for_event(woken.run_id, &shipping).await.unwrap() {
            WaitOutcome::Timeout { message } => assert!(!message.is_empty()),
            other => panic!("expected 408 timeout, got {other:?}"),
        }
    }
    // Emitting after the timeout does not change the recorded timeout.
    c.emit_event(&EmitEvent::new("order-42-shipped", Some(json!(1)))).await.unwrap();
    assert!(matches!(c.wait_for_event(woken.run_id, &shipping).await.unwrap(), WaitOutcome::Timeout { .. }));
    // The first step still replays its payload.
    assert_eq!(c.wait_for_event(woken.run_id, &approval).await.unwrap(), resolved(json!({"by": "alice"})));

    c.complete_run(woken.run_id, Some(&json!("approved and shipped"))).await.unwrap();
    let detail = c.get_task(task).await.unwrap();
    assert_eq!(detail.status, TaskStatus::Completed);
    assert_eq!(detail.attempts, 1, "sleeps are not new attempts");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_emit_wakes_every_sleeper_on_its_name_and_only_those() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("fan").await;
    let batch: Vec<_> = (0..5).map(|i| CreateTask::new("wait").params(json!(i))).collect();
    c.create_tasks("fan", &batch).await.unwrap();
    let claimed = c.claim("fan", &ClaimRequest::new(10, 30)).await.unwrap();
    assert_eq!(claimed.len(), 5);
    // Four wait on "go", one on "other".
    for (i, t) in claimed.iter().enumerate() {
        let event = if i == 4 { "other" } else { "go" };
        let outcome = c.wait_for_event(t.run_id, &WaitForEvent::new(t.task_id, "s", event, 3600)).await.unwrap();
        assert!(matches!(outcome, WaitOutcome::Sleeping { .. }), "{outcome:?}");
    }
    c.emit_event(&EmitEvent::new("go", Some(json!("now")))).await.unwrap();
    let mut woken = HashSet::new();
    while woken.len() < 4 {
        let t = claim_one(c, "fan", Duration::from_secs(5)).await;
        assert_ne!(t.run_id, claimed[4].run_id, "a sleeper on another name woke");
        assert!(woken.insert(t.run_id));
        assert_eq!(
            c.wait_for_event(t.run_id, &WaitForEvent::new(t.task_id, "s", "go", 3600)).await.unwrap(),
            resolved(json!("now"))
        );
    }
    assert_nothing_claimable(c, "fan").await;
    let stats = c.queue_stats("fan").await.unwrap();
    assert_eq!((stats.claimed_runs, stats.sleeping_runs), (4, Some(1)));
    h.stop().await;
}

/// An emit racing many waits is never lost: every waiter ends up resolved,
/// either at once or by being woken.
#[tokio::test(flavor = "multi_thread")]
async fn an_emit_racing_waits_is_never_lost() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("race").await;
    const N: usize = 30;
    let batch: Vec<_> = (0..N).map(|i| CreateTask::new("wait").params(json!(i))).collect();
    c.create_tasks("race", &batch).await.unwrap();
    let claimed = c.claim("race", &ClaimRequest::new(N as u32, 60)).await.unwrap();
    assert_eq!(claimed.len(), N);

    let mut waits = Vec::new();
    for (i, t) in claimed.iter().cloned().enumerate() {
        let client = h.new_client();
        waits.push(tokio::spawn(async move {
            if i % 2 == 0 {
                tokio::time::sleep(Duration::from_millis(i as u64)).await;
            }
            let outcome =
                client.wait_for_event(t.run_id, &WaitForEvent::new(t.task_id, "s", "raced", 3600)).await.unwrap();
            (t, outcome)
        }));
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    c.emit_event(&EmitEvent::new("raced", Some(json!("payload")))).await.unwrap();

    let mut sleeping = HashSet::new();
    for wait in waits {
        let (t, outcome) = wait.await.unwrap();
        match outcome {
            WaitOutcome::Resolved { payload } => {
                assert_eq!(payload, json!("payload"));
                c.complete_run(t.run_id, None).await.unwrap();
            }
            WaitOutcome::Sleeping { .. } => {
                sleeping.insert(t.run_id);
            }
            WaitOutcome::Timeout { .. } => panic!("timeout for {t:?}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    println!("{} of {N} waits slept and must be woken by the emit", sleeping.len());
    while !sleeping.is_empty() {
        let t = claim_one(c, "race", Duration::from_secs(10)).await;
        assert!(sleeping.remove(&t.run_id), "claimed {t:?} twice or unexpectedly");
        assert_eq!(
            c.wait_for_event(t.run_id, &WaitForEvent::new(t.task_id, "s", "raced", 3600)).await.unwrap(),
            resolved(json!("payload"))
        );
        c.complete_run(t.run_id, None).await.unwrap();
    }
    let stats = c.queue_stats("race").await.unwrap();
    assert_eq!(stats.completed_runs, N as u64);
    assert_eq!(stats.sleeping_runs, Some(0));
    h.stop().await;
}
