//! Batch create (request order, all or nothing) and batch complete
//! (per-item answers, each fenced on its own).

use durable_client::{
    ClaimRequest, CompleteOutcome, CompleteRun, CreateTask, ErrorCode, ListTasks, RunStatus, TaskStatus,
};
use serde_json::json;
use uuid::Uuid;

use crate::support::{Harness, expect_api_error, raw, read};

#[tokio::test(flavor = "multi_thread")]
async fn batch_create_keeps_order_and_is_all_or_nothing() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("b").await;

    let names = ["alpha", "bravo", "charlie", "delta", "echo"];
    let batch: Vec<_> = names.iter().enumerate().map(|(i, n)| CreateTask::new(*n).params(json!({"i": i}))).collect();
    let created = c.create_tasks("b", &batch).await.unwrap();
    assert_eq!(created.len(), names.len());
    for (i, (t, name)) in created.iter().zip(names).enumerate() {
        let task = c.get_task(t.task_id).await.unwrap();
        assert_eq!(task.task_name, name, "item {i} answered out of order");
        assert_eq!(task.params, json!({"i": i}));
        assert!(!t.deduplicated);
    }
    let distinct: std::collections::HashSet<_> = created.iter().map(|t| t.run_id).collect();
    assert_eq!(distinct.len(), names.len());
    // Every run of the batch is claimable (all due at the same instant).
    let claimed = c.claim("b", &ClaimRequest::new(10, 30)).await.unwrap();
    let claimed_ids: std::collections::HashSet<Uuid> = claimed.iter().map(|t| t.run_id).collect();
    assert_eq!(claimed.len(), names.len());
    assert_eq!(claimed_ids, distinct);

    // An unknown workflow run in item 2: 404, and nothing of the batch exists.
    let unknown = Uuid::now_v7();
    let poisoned = vec![
        CreateTask::new("one"),
        CreateTask::new("two"),
        CreateTask::new("three").workflow_run_id(unknown),
        CreateTask::new("four"),
    ];
    let message = expect_api_error(c.create_tasks("b", &poisoned).await, 404, ErrorCode::NotFound);
    assert!(message.contains(&unknown.to_string()), "{message}");
    // An invalid item: 400 naming it, nothing created either.
    let invalid = vec![CreateTask::new("ok"), CreateTask::new("")];
    let message = expect_api_error(c.create_tasks("b", &invalid).await, 400, ErrorCode::ValidationError);
    assert_eq!(message, "tasks[1].task_name is required");
    let tasks = c.list_tasks(&ListTasks::default().queue("b")).await.unwrap().tasks;
    assert_eq!(tasks.len(), names.len(), "a rejected batch left tasks behind: {tasks:?}");
    assert!(c.claim("b", &ClaimRequest::new(10, 30)).await.unwrap().is_empty());
    let stats = c.queue_stats("b").await.unwrap();
    assert_eq!((stats.pending_runs, stats.claimed_runs), (0, 5));

    // One idempotency key twice in a batch: one task, answered twice.
    let twice = c
        .create_tasks(
            "b",
            &[CreateTask::new("first").idempotency_key("same"), CreateTask::new("second").idempotency_key("same")],
        )
        .await
        .unwrap();
    assert_eq!((twice[0].deduplicated, twice[1].deduplicated), (false, true));
    assert_eq!((twice[0].task_id, twice[0].run_id), (twice[1].task_id, twice[1].run_id));
    assert_eq!(c.get_task(twice[0].task_id).await.unwrap().task_name, "first");

    // Empty and oversized batches: 400.
    let http = raw();
    let empty = read(http.post(h.api("/queues/b/tasks/batch")).json(&json!({"tasks": []})).send().await.unwrap()).await;
    empty.error(400, "VALIDATION_ERROR");
    let too_many: Vec<_> = (0..1001).map(|_| json!({"task_name": "x"})).collect();
    let oversized =
        read(http.post(h.api("/queues/b/tasks/batch")).json(&json!({"tasks": too_many})).send().await.unwrap()).await;
    oversized.error(400, "VALIDATION_ERROR");
    // Unknown queue: 404.
    expect_api_error(c.create_tasks("nope", &[CreateTask::new("x")]).await, 404, ErrorCode::NotFound);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_complete_answers_each_item() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("bc").await;
    let created =
        c.create_tasks("bc", &(0..4).map(|i| CreateTask::new("t").params(json!(i))).collect::<Vec<_>>()).await.unwrap();
    let claimed = c.claim("bc", &ClaimRequest::new(3, 30)).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let (a, b, d) = (claimed[0].run_id, claimed[1].run_id, claimed[2].run_id);
    let rest = created
        .iter()
        .find(|t| claimed.iter().all(|c| c.run_id != t.run_id))
        .expect("one run is left unclaimed")
        .clone();
    let not_claimed = rest.run_id;
    let unknown = Uuid::now_v7();

    let outcomes = c
        .complete_runs(&[
            CompleteRun::new(a, Some(json!({"r": "a"}))),
            CompleteRun::new(unknown, None),
            CompleteRun::new(b, None),
            CompleteRun::new(not_claimed, Some(json!("nope"))),
            CompleteRun::new(d, Some(json!(4))),
        ])
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 5);
    let ids: Vec<Uuid> = outcomes.iter().map(CompleteOutcome::run_id).collect();
    assert_eq!(ids, [a, unknown, b, not_claimed, d], "answers in request order");
    let mut results = outcomes.into_iter().map(CompleteOutcome::into_result);
    assert_eq!(results.next().unwrap().unwrap(), a);
    let message = expect_api_error(results.next().unwrap(), 404, ErrorCode::NotFound);
    assert!(message.contains(&unknown.to_string()), "{message}");
    assert_eq!(results.next().unwrap().unwrap(), b);
    expect_api_error(results.next().unwrap(), 409, ErrorCode::Conflict);
    assert_eq!(results.next().unwrap().unwrap(), d);

    // The good ones completed with their results; the pending one is untouched.
    let task_a = c.get_task(claimed[0].task_id).await.unwrap();
    assert_eq!(task_a.status, TaskStatus::Completed);
    assert_eq!(task_a.result, Some(json!({"r": "a"})));
    assert_eq!(c.get_task(claimed[2].task_id).await.unwrap().result, Some(json!(4)));
    let pending = c.get_task(rest.task_id).await.unwrap();
    assert_eq!(pending.status, TaskStatus::Pending);
    let stats = c.queue_stats("bc").await.unwrap();
    assert_eq!((stats.pending_runs, stats.claimed_runs, stats.completed_runs), (1, 0, 3));

    // Completing again: each item is a conflict now, and the call still 200s.
    let again = c.complete_runs(&[CompleteRun::new(a, None), CompleteRun::new(b, None)]).await.unwrap();
    for outcome in again {
        expect_api_error(outcome.into_result(), 409, ErrorCode::Conflict);
    }
    // The raw shape of an item error.
    let http = raw();
    let answer = read(
        http.post(h.api("/runs/complete"))
            .json(&json!({"runs": [{"run_id": a}, {"run_id": not_claimed, "result": 1}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let items = answer.json["runs"].as_array().expect("runs array");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["run_id"], json!(a.to_string()));
    assert_eq!(items[0]["error"]["code"], json!("CONFLICT"));
    assert!(items[0]["error"]["error"].is_string());
    // The pending run completes neither.
    assert_eq!(items[1]["error"]["code"], json!("CONFLICT"));
    let runs = c.list_runs(&durable_client::ListRuns::default().task(rest.task_id)).await.unwrap().runs;
    assert_eq!(runs[0].status, RunStatus::Pending);

    // The same run twice in one batch: the first wins, the second conflicts.
    let extra = c.create_task("bc", &CreateTask::new("twice")).await.unwrap();
    let claimed_extra = c.claim("bc", &ClaimRequest::new(10, 30)).await.unwrap();
    let extra_run =
        claimed_extra.iter().find(|t| t.task_id == extra.task_id).expect("the extra task is claimed").run_id;
    let outcomes = c
        .complete_runs(&[
            CompleteRun::new(extra_run, Some(json!("first"))),
            CompleteRun::new(extra_run, Some(json!("second"))),
        ])
        .await
        .unwrap();
    assert!(matches!(outcomes[0], CompleteOutcome::Completed { .. }), "{outcomes:?}");
    expect_api_error(outcomes[1].clone().into_result(), 409, ErrorCode::Conflict);
    assert_eq!(c.get_task(extra.task_id).await.unwrap().result, Some(json!("first")));
    for t in claimed_extra.iter().filter(|t| t.task_id != extra.task_id) {
        // The pending run claimed along with it; give it back as done.
        c.complete_run(t.run_id, None).await.unwrap();
    }

    // Empty batch: 400.
    let empty = read(http.post(h.api("/runs/complete")).json(&json!({"runs": []})).send().await.unwrap()).await;
    empty.error(400, "VALIDATION_ERROR");
    h.stop().await;
}
