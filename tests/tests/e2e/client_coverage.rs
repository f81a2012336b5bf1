//! Every method of `durable_client::Client` against the real server, with
//! its decoded answer checked; and the `Worker` runtime end to end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use durable_client::{
    ClaimRequest, Client, CompleteOutcome, CompleteRun, CreateQueue, CreateTask, CreateWorkflowRun, EmitEvent, Error,
    ErrorCode, ListRuns, ListTasks, ListWorkflowRuns, PutCheckpoint, RetryPolicy, RetryStrategy, RunStatus, TaskError,
    TaskStatus, UpdateWorkflowRun, WaitForEvent, WaitOutcome, Worker, WorkflowStatus,
};
use futures::TryStreamExt;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::support::{Harness, claim_one, eventually, expect_api_error};

#[tokio::test(flavor = "multi_thread")]
async fn every_client_method_against_the_real_server() {
    let h = Harness::postgres().await;

    // Construction and configuration.
    let c = Client::builder(format!("{}/api/v1/", h.base_url()))
        .token("ignored-without-auth")
        .timeout(Duration::from_secs(15))
        .connect_timeout(Duration::from_secs(5))
        .retries(2)
        .build()
        .unwrap();
    assert_eq!(c.base_url().trim_end_matches('/'), h.base_url());
    assert_eq!(c.timeout(), Duration::from_secs(15));
    assert_eq!(c.retry_policy().max_retries, 2);
    let plain = Client::new(h.base_url()).unwrap();
    assert_eq!(plain.retry_policy(), &RetryPolicy::default());

    // Operations.
    c.healthz().await.unwrap();
    assert!(c.readyz().await.unwrap());

    // Queues.
    assert!(c.list_queues().await.unwrap().is_empty());
    let queue = c.create_queue(&CreateQueue::new("cov").task_ttl_seconds(3600)).await.unwrap();
    assert_eq!((queue.name.as_str(), queue.cleanup.task_ttl_seconds), ("cov", 3600));
    c.create_queue(&CreateQueue::new("scratch")).await.unwrap();
    c.create_queue(&CreateQueue::new("scratch2")).await.unwrap();
    let names: Vec<String> = c.list_queues().await.unwrap().into_iter().map(|q| q.name).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    c.delete_queue("scratch").await.unwrap();
    c.create_task("scratch2", &CreateTask::new("left-behind")).await.unwrap();
    c.force_delete_queue("scratch2").await.unwrap();
    let names: Vec<String> = c.list_queues().await.unwrap().into_iter().map(|q| q.name).collect();
    assert_eq!(names, ["cov"]);
    let stats = c.queue_stats("cov").await.unwrap();
    assert_eq!((stats.queue_name.as_str(), stats.pending_runs), ("cov", 0));

    // Workflow runs.
    let wf = c.create_workflow_run(&CreateWorkflowRun::new("cover").tag("k", "v")).await.unwrap();
    assert_eq!(wf.status, WorkflowStatus::Pending);
    let updated = c
        .update_workflow_run(wf.workflow_run_id, &UpdateWorkflowRun::default().status(WorkflowStatus::Running))
        .await
        .unwrap();
    assert_eq!(updated.status, WorkflowStatus::Running);

    // Tasks.
    let one = c
        .create_task(
            "cov",
            &CreateTask::new("single")
                .params(json!({"x": 1}))
                .header("h", "v")
                .max_attempts(2)
                .retry_strategy(RetryStrategy::exponential(1.0, Some(2.0), Some(10.0)))
                .start_timeout(3600.0)
                .execution_timeout(7200.0)
                .workflow_run_id(wf.workflow_run_id)
                .idempotency_key("single-1"),
        )
        .await
        .unwrap();
    assert_eq!(one.workflow_run_id, Some(wf.workflow_run_id));
    let detail = c.get_task(one.task_id).await.unwrap();
    assert_eq!(detail.id, one.task_id);
    assert_eq!(detail.status, TaskStatus::Pending);
    assert_eq!(detail.params, json!({"x": 1}));
    assert_eq!(detail.headers.get("h").map(String::as_str), Some("v"));
    assert_eq!(detail.retry_strategy, Some(RetryStrategy::exponential(1.0, Some(2.0), Some(10.0))));
    assert_eq!(detail.max_attempts, 2);
    assert_eq!(detail.attempts, 1);
    assert_eq!(detail.start_timeout, Some(3600.0));
    assert_eq!(detail.execution_timeout, Some(7200.0));
    assert_eq!(detail.workflow_run_id, Some(wf.workflow_run_id));
    assert_eq!((detail.result.clone(), detail.last_error.clone()), (None, None));
    let many = c.create_tasks("cov", &[CreateTask::new("batch-a"), CreateTask::new("batch-b")]).await.unwrap();
    assert_eq!(many.len(), 2);
    let page = c.list_tasks(&ListTasks::default().queue("cov").limit(2)).await.unwrap();
    assert_eq!(page.tasks.len(), 2);
    assert!(page.next_cursor.is_some());
    assert_eq!(page.tasks[0].id, many[1].task_id, "newest first");
    let all: Vec<Uuid> =
        c.list_all_tasks(ListTasks::default().queue("cov").limit(1)).map_ok(|t| t.id).try_collect().await.unwrap();
    assert_eq!(all, [many[1].task_id, many[0].task_id, one.task_id]);

    // Claim, heartbeat, checkpoints, wait-for-event, emit.
    let claimed = c.claim("cov", &ClaimRequest::new(1, 30).worker_id("cov-worker")).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let t = &claimed[0];
    assert_eq!(t.run_id, one.run_id);
    assert_eq!(t.workflow_run_id, Some(wf.workflow_run_id));
    let beat = c.heartbeat(t.run_id, 120).await.unwrap();
    assert_eq!(beat.run_id, t.run_id);
    assert!(beat.claim_expires_at > OffsetDateTime::now_utc() + time::Duration::seconds(100));
    let written = c
        .put_checkpoint(t.task_id, "a", &PutCheckpoint::new(t.run_id, json!({"n": 1})).extend_claim_by(300))
        .await
        .unwrap();
    assert_eq!((written.task_id, written.step_name.as_str()), (t.task_id, "a"));
    c.put_checkpoint(t.task_id, "a", &PutCheckpoint::new(t.run_id, json!({"n": 2}))).await.unwrap();
    c.put_checkpoint(t.task_id, "b", &PutCheckpoint::new(t.run_id, json!("bee"))).await.unwrap();
    let got = c.get_checkpoint(t.task_id, "a").await.unwrap();
    assert_eq!(got.state, json!({"n": 2}), "a later write replaces the state");
    let mut listed = c.list_checkpoints(t.task_id).await.unwrap();
    listed.sort_by(|x, y| x.step_name.cmp(&y.step_name));
    let steps: Vec<(&str, &serde_json::Value)> = listed.iter().map(|cp| (cp.step_name.as_str(), &cp.state)).collect();
    assert_eq!(steps, [("a", &json!({"n": 2})), ("b", &json!("bee"))]);
    // A step name that needs escaping in the path.
    c.put_checkpoint(t.task_id, "step one/two?", &PutCheckpoint::new(t.run_id, json!(3))).await.unwrap();
    assert_eq!(c.get_checkpoint(t.task_id, "step one/two?").await.unwrap().state, json!(3));

    let emitted = c.emit_event(&EmitEvent::new("cov-event", Some(json!({"ok": true})))).await.unwrap();
    assert_eq!(emitted.event_name, "cov-event");
    assert!(emitted.created_at <= OffsetDateTime::now_utc() + time::Duration::seconds(1));
    assert_eq!(
        c.wait_for_event(t.run_id, &WaitForEvent::new(t.task_id, "w", "cov-event", 60)).await.unwrap(),
        WaitOutcome::Resolved { payload: json!({"ok": true}) }
    );

    // Fail → retry (exponential, 1 s for attempt 1), schedule, complete.
    let failed = c.fail_run(t.run_id, "first try").await.unwrap();
    assert_eq!((failed.status, failed.attempt), (RunStatus::Failed, 1));
    let retry = failed.next_run_id.expect("a retry");
    let scheduled = c.schedule_run(retry, OffsetDateTime::now_utc() + time::Duration::seconds(1)).await.unwrap();
    assert_eq!(scheduled.run_id, retry);
    let again = claim_one(&c, "cov", Duration::from_secs(10)).await;
    // The batch tasks are older due than the retry: take them first.
    let mut batch_runs = vec![again];
    while batch_runs.iter().all(|r| r.run_id != retry) {
        batch_runs.push(claim_one(&c, "cov", Duration::from_secs(10)).await);
    }
    let retry_task = batch_runs.pop().unwrap();
    assert_eq!(retry_task.attempt, 2);
    let done = c.complete_run(retry, Some(&json!("second try"))).await.unwrap();
    assert_eq!((done.run_id, done.status), (retry, RunStatus::Completed));

    // Batch complete (whatever batch runs were claimed, plus the rest).
    while batch_runs.len() < 2 {
        batch_runs.push(claim_one(&c, "cov", Duration::from_secs(10)).await);
    }
    let items: Vec<CompleteRun> =
        batch_runs.iter().map(|r| CompleteRun::new(r.run_id, Some(json!(r.task_name)))).collect();
    let outcomes = c.complete_runs(&items).await.unwrap();
    assert_eq!(outcomes.len(), 2);
    for (outcome, run) in outcomes.iter().zip(&batch_runs) {
        assert!(
            matches!(outcome, CompleteOutcome::Completed { run_id, status: RunStatus::Completed } if *run_id == run.run_id),
            "{outcome:?}"
        );
    }

    // Runs.
    let runs = c.list_runs(&ListRuns::default().task(one.task_id)).await.unwrap();
    let attempts: Vec<(u32, RunStatus)> = runs.runs.iter().map(|r| (r.attempt, r.status)).collect();
    assert_eq!(attempts, [(2, RunStatus::Completed), (1, RunStatus::Failed)]);
    let all_runs: Vec<_> =
        c.list_all_runs(ListRuns::default().status(RunStatus::Completed).limit(1)).try_collect().await.unwrap();
    assert_eq!(all_runs.len(), 3);

    // Cancel.
    let doomed = c.create_task("cov", &CreateTask::new("doomed")).await.unwrap();
    let canceled = c.cancel_task(doomed.task_id).await.unwrap();
    assert_eq!((canceled.task_id, canceled.status), (doomed.task_id, TaskStatus::Canceled));

    // Workflow reads.
    let wf_full = c.get_workflow_run(wf.workflow_run_id).await.unwrap();
    assert_eq!(wf_full.status, WorkflowStatus::Running);
    assert_eq!(wf_full.tags.get("k").map(String::as_str), Some("v"));
    assert_eq!(wf_full.tasks.len(), 1);
    assert_eq!(wf_full.tasks[0].status, TaskStatus::Completed);
    let wf_page = c.list_workflow_runs(&ListWorkflowRuns::default()).await.unwrap();
    assert_eq!(wf_page.workflow_runs.len(), 1);
    let wf_all: Vec<_> = c
        .list_all_workflow_runs(ListWorkflowRuns::default().status(WorkflowStatus::Running))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(wf_all.len(), 1);
    assert_eq!(wf_all[0].workflow_run_id, wf.workflow_run_id);

    // The task's final state.
    let detail = c.get_task(one.task_id).await.unwrap();
    assert_eq!(detail.status, TaskStatus::Completed);
    assert_eq!(detail.result, Some(json!("second try")));
    assert_eq!(detail.last_error.as_deref(), Some("first try"));
    assert_eq!(detail.attempts, 2);

    // Errors decode with their code.
    let err = c.get_task(Uuid::now_v7()).await.unwrap_err();
    assert!(err.is_not_found() && !err.is_transient(), "{err}");
    let err = c.create_queue(&CreateQueue::new("cov")).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let err = c.claim("cov", &ClaimRequest::new(0, 1)).await.unwrap_err();
    assert!(err.is_validation(), "{err}");
    assert_eq!(err.status(), Some(400));
    // A server that is not there: a transport error, transient.
    let gone = Client::builder("http://127.0.0.1:9")
        .retry_policy(RetryPolicy::none())
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let err = gone.healthz().await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)) && err.is_transient(), "{err}");
    expect_api_error(c.queue_stats("gone").await, 404, ErrorCode::NotFound);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worker_runtime_processes_50_tasks_exactly_once() {
    let h = Harness::postgres().await;
    h.queue("jobs").await;
    const N: u64 = 50;
    // Every 10th task fails its first attempt and is retried at once.
    let tasks: Vec<_> = (0..N)
        .map(|n| {
            CreateTask::new("double").params(json!({"n": n})).max_attempts(2).retry_strategy(RetryStrategy::fixed(0.0))
        })
        .collect();
    let created = h.client.create_tasks("jobs", &tasks).await.unwrap();
    let by_task: HashMap<Uuid, u64> = created.iter().enumerate().map(|(n, t)| (t.task_id, n as u64)).collect();

    // (task, attempt) → how many times the handler saw it.
    let seen: Arc<Mutex<HashMap<(Uuid, u32), u32>>> = Arc::default();
    let handler_seen = Arc::clone(&seen);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = Worker::new(h.new_client(), "jobs")
        .concurrency(8)
        .claim_timeout(Duration::from_secs(30))
        .long_poll_seconds(2)
        .worker_id("e2e-worker")
        .handler(move |task| {
            let seen = Arc::clone(&handler_seen);
            async move {
                *seen.lock().unwrap().entry((task.task_id, task.attempt)).or_default() += 1;
                let Some(n) = task.params["n"].as_u64() else {
                    return Err(TaskError::from("params.n is required"));
                };
                tokio::time::sleep(Duration::from_millis(5)).await;
                if n.is_multiple_of(10) && task.attempt == 1 {
                    return Err(TaskError::from(format!("task {n} fails once")));
                }
                Ok(json!({"doubled": n * 2}))
            }
        });
    let running = tokio::spawn(worker.run_until(async {
        let _ = stopped.await;
    }));

    let client = &h.client;
    eventually("all 50 tasks completed", Duration::from_secs(60), || async {
        let stats = client.queue_stats("jobs").await.unwrap();
        (stats.completed_runs == N).then_some(())
    })
    .await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the worker stops on shutdown")
        .expect("the worker does not panic")
        .expect("the worker ends cleanly");

    let seen = seen.lock().unwrap().clone();
    let failing = N / 10;
    assert_eq!(seen.len() as u64, N + failing, "handler calls: {seen:?}");
    assert!(seen.values().all(|&count| count == 1), "a run was handled twice: {seen:?}");
    let tasks: Vec<_> =
        client.list_all_tasks(ListTasks::default().queue("jobs").limit(100)).try_collect().await.unwrap();
    assert_eq!(tasks.len() as u64, N);
    for t in &tasks {
        assert_eq!(t.status, TaskStatus::Completed, "{t:?}");
        let n = by_task[&t.id];
        let detail = client.get_task(t.id).await.unwrap();
        assert_eq!(detail.result, Some(json!({"doubled": n * 2})));
        let expected_attempts = if n.is_multiple_of(10) { 2 } else { 1 };
        assert_eq!(detail.attempts, expected_attempts, "task {n}");
        assert_eq!(seen.get(&(t.id, 1)), Some(&1));
    }
    let stats = client.queue_stats("jobs").await.unwrap();
    assert_eq!(
        (stats.pending_runs, stats.claimed_runs, stats.completed_runs, stats.failed_runs),
        (0, 0, N, Some(failing))
    );
    let failed_runs: Vec<_> =
        client.list_all_runs(ListRuns::default().status(RunStatus::Failed)).try_collect().await.unwrap();
    assert_eq!(failed_runs.len() as u64, failing);
    assert!(failed_runs.iter().all(|r| r.error.as_deref().is_some_and(|e| e.ends_with("fails once"))));
    h.stop().await;
}
