//! The durable-execution SDK (`durable_client::Durable`) against a real
//! server: steps run once and replay, loops of same-named steps, retries,
//! durable sleeps (also across a server restart), event waits, lost claims,
//! idempotent spawns, and what a resumed run costs in requests.
//!
//! Everything here works with servers that predate the SDK's server
//! additions; tests that need those are in `sdk_children.rs`.

#[path = "sdk/support.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use durable_app::server::Settings;
use durable_client::{
    Durable, DurableError, EmitEvent, ListRuns, ListTasks, RetryStrategy, RunStatus, SpawnOptions, TaskContext,
    TaskStatus,
};
use durable_tests::server::TestServer;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use support::{Counter, RunningWorker, Setup, ended, sleeping};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

const CLAIM: Duration = Duration::from_secs(10);

fn ok<T>(value: T) -> Result<T, DurableError> {
    Ok(value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_of_same_named_steps_records_each_and_replays_them_in_order() {
    let setup = Setup::memory("loops").await;
    let item_runs = Counter::shared();
    let mut app = Durable::new(setup.client.clone());
    let counter = Arc::clone(&item_runs);
    app.register("loop", move |ctx: TaskContext, n: u32| {
        let counter = Arc::clone(&counter);
        async move {
            let mut total = 0;
            for i in 0..n {
                let counter = Arc::clone(&counter);
                total += ctx
                    .step("item", || async move {
                        counter.bump();
                        ok(i * 10)
                    })
                    .await?;
            }
            // The resumed run replays the loop from the checkpoints.
            ctx.sleep_for(Duration::from_secs(1)).await?;
            ok(total)
        }
    });
    let worker = RunningWorker::start(&app, "loops", CLAIM);
    let task = app.spawn("loops", "loop", &3, SpawnOptions::default()).await.unwrap();
    let done = ended(&setup.client, task.task_id).await;
    worker.stop().await;

    assert_eq!((done.status, done.result), (TaskStatus::Completed, Some(json!(30))));
    assert_eq!(item_runs.get(), 3, "each step ran once, although the loop ran twice");
    let checkpoints = setup.client.list_checkpoints(task.task_id).await.unwrap();
    let mut stored: Vec<(String, Value)> = checkpoints.into_iter().map(|c| (c.step_name, c.state)).collect();
    stored.sort_by(|a, b| a.0.cmp(&b.0));
    let steps: Vec<_> = stored.iter().filter(|(name, _)| !name.starts_with('$')).cloned().collect();
    assert_eq!(
        steps,
        [("item".to_owned(), json!(0)), ("item#2".to_owned(), json!(10)), ("item#3".to_owned(), json!(20))]
    );
    assert!(stored.iter().any(|(name, state)| name == "$sleep" && state.get("wake_at").is_some()), "{stored:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_fails_the_run_and_the_retry_replays_finished_steps() {
    let setup = Setup::memory("retries").await;
    let (first_runs, flaky_runs) = (Counter::shared(), Counter::shared());
    let mut app = Durable::new(setup.client.clone());
    let (first, flaky) = (Arc::clone(&first_runs), Arc::clone(&flaky_runs));
    app.register("flaky", move |ctx: TaskContext, (): ()| {
        let (first, flaky) = (Arc::clone(&first), Arc::clone(&flaky));
        async move {
            let a: u32 = ctx
                .step("first", || async move {
                    first.bump();
                    ok(1)
                })
                .await?;
            let b: u32 =
                ctx.step("flaky", || async move {
                    if flaky.bump() == 1 { Err("the payment service is down") } else { Ok(2) }
                })
                .await?;
            ok(json!({"sum": a + b, "attempt": ctx.attempt()}))
        }
    });
    let worker = RunningWorker::start(&app, "retries", CLAIM);
    let options = SpawnOptions::default().max_attempts(2).retry_strategy(RetryStrategy::fixed(0.0));
    let task = app.spawn("retries", "flaky", &(), options).await.unwrap();
    let done = ended(&setup.client, task.task_id).await;
    worker.stop().await;

    assert_eq!(done.status, TaskStatus::Completed, "{done:?}");
    assert_eq!(done.result, Some(json!({"sum": 3, "attempt": 2})));
    assert_eq!((first_runs.get(), flaky_runs.get()), (1, 2));
    let runs = setup.client.list_runs(&ListRuns::default().task(task.task_id)).await.unwrap().runs;
    let failed: Vec<_> = runs.iter().filter(|r| r.status == RunStatus::Failed).collect();
    assert_eq!(failed.len(), 1);
    let error = failed[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("step \"flaky\" failed") && error.contains("the payment service is down"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_sleep_gives_up_the_claim_and_the_same_run_resumes_after_it() {
    let setup = Setup::memory("sleeps").await;
    let (handler_runs, before_runs) = (Counter::shared(), Counter::shared());
    let mut app = Durable::new(setup.client.clone());
    let (handler, before) = (Arc::clone(&handler_runs), Arc::clone(&before_runs));
    app.register("nap", move |ctx: TaskContext, (): ()| {
        handler.bump();
        let before = Arc::clone(&before);
        async move {
            ctx.step("before", || async move {
                before.bump();
                ok(())
            })
            .await?;
            // Already over: returns at once, no suspension, nothing recorded.
            ctx.sleep_until(OffsetDateTime::now_utc() - time::Duration::hours(1)).await?;
            ctx.sleep_for(Duration::from_secs(1)).await?;
            ok(ctx.run_id())
        }
    });
    let worker = RunningWorker::start(&app, "sleeps", CLAIM);
    let task = app.spawn("sleeps", "nap", &(), SpawnOptions::default()).await.unwrap();
    let done = ended(&setup.client, task.task_id).await;
    worker.stop().await;

    assert_eq!(done.status, TaskStatus::Completed, "{done:?}");
    assert_eq!(done.result, Some(json!(task.run_id)), "the first run itself resumed");
    assert_eq!((handler_runs.get(), before_runs.get()), (2, 1));
    let runs = setup.client.list_runs(&ListRuns::default().task(task.task_id)).await.unwrap().runs;
    assert_eq!(runs.len(), 1, "a sleep is not a retry: {runs:?}");
    let names: Vec<_> =
        setup.client.list_checkpoints(task.task_id).await.unwrap().into_iter().map(|c| c.step_name).collect();
    assert!(names.contains(&"$sleep#2".to_owned()) && !names.contains(&"$sleep".to_owned()), "{names:?}");
    // Suspending never reports an outcome: the run was completed once and never failed.
    let reports = setup.seen().into_iter().filter(|s| s.path.ends_with("/fail")).count();
    assert_eq!(reports, 0);
    assert_no_refusals(&setup);
}

/// The suspended handler was dropped at once: it did not linger until a
/// heartbeat of the run it gave up was refused.
fn assert_no_refusals(setup: &Setup) {
    let refused: Vec<_> = setup.seen().into_iter().filter(|s| s.status == 409).collect();
    assert!(refused.is_empty(), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_sleep_survives_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        database_url: format!("sqlite://{}", dir.path().join("durable.db").display()),
        ..TestServer::settings()
    };
    let before_runs = Counter::shared();
    let register = |app: &mut Durable| {
        let before = Arc::clone(&before_runs);
        app.register("long-nap", move |ctx: TaskContext, (): ()| {
            let before = Arc::clone(&before);
            async move {
                let n: usize = ctx.step("before", || async move { ok(before.bump()) }).await?;
                ctx.sleep_for(Duration::from_secs(2)).await?;
                ok(json!({"before": n}))
            }
        });
    };

    let setup = Setup::on(TestServer::start(settings.clone(), None).await, "restarts").await;
    let mut app = Durable::new(setup.client.clone());
    register(&mut app);
    let worker = RunningWorker::start(&app, "restarts", CLAIM);
    let task = app.spawn("restarts", "long-nap", &(), SpawnOptions::default()).await.unwrap();
    sleeping(&setup.client, task.task_id).await;
    worker.stop().await;
    setup.server.stop().await;

    let server = TestServer::start(settings, None).await;
    let client = support::client(&server.base_url());
    let mut app = Durable::new(client.clone());
    register(&mut app);
    let worker = RunningWorker::start(&app, "restarts", CLAIM);
    let done = ended(&client, task.task_id).await;
    worker.stop().await;
    server.stop().await;

    assert_eq!((done.status, done.result), (TaskStatus::Completed, Some(json!({"before": 1}))));
    assert_eq!(before_runs.get(), 1, "the step before the sleep ran once across both servers");
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Packed {
    tracking: String,
}

/// A handler that waits for `packed:<id>` and counts how often it was started.
fn register_event_waiter(app: &mut Durable, starts: &Arc<Counter>) {
    let starts = Arc::clone(starts);
    app.register("await-packing", move |ctx: TaskContext, order: u32| {
        starts.bump();
        async move {
            let packed: Packed = ctx.await_event(&format!("packed:{order}"), Duration::from_secs(60)).await?;
            ok(packed)
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_emitted_before_the_wait_resolves_it_at_once() {
    let setup = Setup::memory("events-early").await;
    let starts = Counter::shared();
    let mut app = Durable::new(setup.client.clone());
    register_event_waiter(&mut app, &starts);
    setup.client.emit_event(&EmitEvent::new("packed:1", Some(json!({"tracking": "T-1"})))).await.unwrap();
    let worker = RunningWorker::start(&app, "events-early", CLAIM);
    let task = app.spawn("events-early", "await-packing", &1, SpawnOptions::default()).await.unwrap();
    let done = ended(&setup.client, task.task_id).await;
    worker.stop().await;

    assert_eq!((done.status, done.result), (TaskStatus::Completed, Some(json!({"tracking": "T-1"}))));
    assert_eq!(starts.get(), 1, "no suspension");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_emitted_after_the_wait_wakes_the_suspended_run() {
    let setup = Setup::memory("events-late").await;
    let starts = Counter::shared();
    let mut app = Durable::new(setup.client.clone());
    register_event_waiter(&mut app, &starts);
    let worker = RunningWorker::start(&app, "events-late", CLAIM);
    let task = app.spawn("events-late", "await-packing", &2, SpawnOptions::default()).await.unwrap();
    sleeping(&setup.client, task.task_id).await;
    setup.client.emit_event(&EmitEvent::new("packed:2", Some(json!({"tracking": "T-2"})))).await.unwrap();
    let done = ended(&setup.client, task.task_id).await;
    worker.stop().await;

    assert_eq!((done.status, done.result), (TaskStatus::Completed, Some(json!({"tracking": "T-2"}))));
    assert_eq!(starts.get(), 2, "suspended once, then replayed to the wait");
    assert_no_refusals(&setup);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_wait_that_times_out_is_a_typed_error_the_handler_can_match() {
    let setup = Setup::memory("events-timeout").await;
    let mut app = Durable::new(setup.client.clone());
    app.register("impatient", |ctx: TaskContext, (): ()| async move {
        match ctx.await_event::<Value>("never-emitted", Duration::from_secs(1)).await {
            Err(DurableError::EventTimeout { event_name }) => ok(json!({"timed_out": event_name})),
            Err(other) => Err(other),
            Ok(payload) => ok(json!({"payload": payload})),
        }
    });
    let worker = RunningWorker::start(&app, "events-timeout", CLAIM);
    let task = app.spawn("events-timeout", "impatient", &(), SpawnOptions::default()).await.unwrap();
    let done = ended(&setup.client, task.task_id).await;
    worker.stop().await;

    assert_eq!((done.status, done.result), (TaskStatus::Completed, Some(json!({"timed_out": "never-emitted"}))));
}

/// Sends on drop: proves the handler's future was dropped.
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(dropped) = self.0.take() {
            let _ = dropped.send(());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canceling_the_task_mid_step_stops_the_handler_at_the_next_heartbeat() {
    let setup = Setup::memory("cancels").await;
    let (started_tx, mut started) = mpsc::unbounded_channel::<()>();
    let (dropped_tx, dropped) = oneshot::channel::<()>();
    let dropped_tx = Arc::new(Mutex::new(Some(dropped_tx)));
    let mut app = Durable::new(setup.client.clone());
    app.register("stuck", move |ctx: TaskContext, (): ()| {
        let started = started_tx.clone();
        let guard = DropSignal(dropped_tx.lock().unwrap().take());
        async move {
            ctx.step("forever", || async move {
                let _guard = guard;
                let _ = started.send(());
                std::future::pending::<()>().await;
                ok(())
            })
            .await?;
            ok(())
        }
    });
    // Heartbeats every second.
    let worker = RunningWorker::start(&app, "cancels", Duration::from_secs(2));
    let task = app.spawn("cancels", "stuck", &(), SpawnOptions::default()).await.unwrap();
    started.recv().await.expect("the step started");
    let canceled_at = setup.seen().len();
    setup.client.cancel_task(task.task_id).await.unwrap();
    tokio::time::timeout(support::PATIENCE, dropped).await.expect("the handler was dropped").unwrap();
    worker.stop().await;

    let run_path = format!("/api/v1/runs/{}/", task.run_id);
    let after: Vec<_> = setup.seen()[canceled_at..].iter().filter(|s| s.path.starts_with(&run_path)).cloned().collect();
    let last = after.last().expect("a heartbeat after the cancel");
    assert!(last.path.ends_with("/heartbeat") && last.status == 409, "{after:?}");
    // The first heartbeat after the cancel stopped it; one more may have
    // been answered just before the cancel landed.
    assert!(after.len() <= 2 && after.iter().all(|s| s.path.ends_with("/heartbeat")), "{after:?}");
    let task_path = format!("/api/v1/tasks/{}/checkpoints", task.task_id);
    assert!(!setup.seen().iter().any(|s| s.path.starts_with(&task_path) && s.method == "PUT"), "nothing was recorded");
    let runs = setup.client.list_runs(&ListRuns::default().task(task.task_id)).await.unwrap().runs;
    assert_eq!(runs.iter().map(|r| r.status).collect::<Vec<_>>(), [RunStatus::Canceled]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_spawn_returns_the_same_child_without_creating_another() {
    let setup = Setup::memory("spawns").await;
    let children = Arc::new(Mutex::new(Vec::<Uuid>::new()));
    let flaky_runs = Counter::shared();
    let mut app = Durable::new(setup.client.clone());
    let (seen, flaky) = (Arc::clone(&children), Arc::clone(&flaky_runs));
    app.register("parent", move |ctx: TaskContext, (): ()| {
        let (seen, flaky) = (Arc::clone(&seen), Arc::clone(&flaky));
        async move {
            let child = ctx.spawn("child", &json!({"n": 7})).await?;
            seen.lock().unwrap().push(child.task_id());
            ctx.step("flaky", || async move { if flaky.bump() == 1 { Err("once") } else { Ok(()) } }).await?;
            ok(child.task_id())
        }
    });
    app.register("child", |_ctx: TaskContext, params: Value| async move { ok(params) });
    let worker = RunningWorker::start(&app, "spawns", CLAIM);
    let options = SpawnOptions::default().max_attempts(2).retry_strategy(RetryStrategy::fixed(0.0));
    let task = app.spawn("spawns", "parent", &(), options).await.unwrap();
    let done = ended(&setup.client, task.task_id).await;
    let seen = children.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "the parent ran twice");
    let child = ended(&setup.client, seen[0]).await;
    worker.stop().await;

    assert_eq!(seen[0], seen[1], "the replay got the same child");
    assert_eq!((done.status, done.result), (TaskStatus::Completed, Some(json!(seen[0]))));
    assert_eq!((child.status, child.result), (TaskStatus::Completed, Some(json!({"n": 7}))));
    let named = setup.client.list_tasks(&ListTasks::default().queue("spawns").task_name("child")).await.unwrap();
    assert_eq!(named.tasks.len(), 1);
    let creates = setup.seen().iter().filter(|s| s.method == "POST" && s.path == "/api/v1/queues/spawns/tasks").count();
    assert_eq!(creates, 2, "the parent's create and one child create; the replay sent none");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_run_loads_its_checkpoints_at_once_and_writes_only_new_steps() {
    let setup = Setup::memory("costs").await;
    let mut app = Durable::new(setup.client.clone());
    app.register("five-steps", |ctx: TaskContext, (): ()| async move {
        let mut sum = 0;
        for i in 1..=3 {
            sum += ctx.step(&format!("step-{i}"), || async move { ok(i) }).await?;
        }
        ctx.sleep_for(Duration::from_secs(1)).await?;
        for i in 4..=5 {
            sum += ctx.step(&format!("step-{i}"), || async move { ok(i) }).await?;
        }
        ok(sum)
    });
    let worker = RunningWorker::start(&app, "costs", CLAIM);
    let task = app.spawn("costs", "five-steps", &(), SpawnOptions::default()).await.unwrap();
    let done = ended(&setup.client, task.task_id).await;
    worker.stop().await;
    assert_eq!((done.status, done.result), (TaskStatus::Completed, Some(json!(15))));

    let checkpoints = format!("/api/v1/tasks/{}/checkpoints", task.task_id);
    let seen = setup.seen();
    let of_task: Vec<_> = seen.iter().filter(|s| s.path.starts_with(&checkpoints)).collect();
    let one_by_one = of_task.iter().filter(|s| s.method == "GET" && s.path != checkpoints).count();
    let all_at_once = of_task.iter().filter(|s| s.method == "GET" && s.path == checkpoints).count();
    let writes = of_task.iter().filter(|s| s.method == "PUT").count();
    assert_eq!(one_by_one, 0, "{of_task:?}");
    // One list per claimed run at most: none when the claim carries them.
    assert!(all_at_once <= 2, "{of_task:?}");
    assert_eq!(writes, 6, "five steps and the sleep, each written once: {of_task:?}");
    let schedules = seen.iter().filter(|s| s.path.ends_with("/schedule")).count();
    assert_eq!(schedules, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_name_without_a_handler_fails_its_run_saying_so() {
    let setup = Setup::memory("unknown").await;
    let mut app = Durable::new(setup.client.clone());
    app.register("known", |_ctx: TaskContext, (): ()| async move { ok(()) });
    let worker = RunningWorker::start(&app, "unknown", CLAIM);
    let task = app.spawn("unknown", "nobody", &(), SpawnOptions::default()).await.unwrap();
    let done = ended(&setup.client, task.task_id).await;
    worker.stop().await;

    assert_eq!(done.status, TaskStatus::Failed);
    let error = done.last_error.unwrap_or_default();
    assert!(error.contains("no handler is registered for task name \"nobody\"") && error.contains("known"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn params_that_do_not_decode_and_handler_errors_fail_the_run() {
    let setup = Setup::memory("failures").await;
    let mut app = Durable::new(setup.client.clone());
    app.register("typed", |_ctx: TaskContext, n: u32| async move {
        if n == 0 { Err(DurableError::failed("zero is not allowed")) } else { ok(n) }
    });
    let worker = RunningWorker::start(&app, "failures", CLAIM);
    let bad_params = app.spawn("failures", "typed", "not a number", SpawnOptions::default()).await.unwrap();
    let refused = app.spawn("failures", "typed", &0, SpawnOptions::default()).await.unwrap();
    let (bad_params, refused) =
        (ended(&setup.client, bad_params.task_id).await, ended(&setup.client, refused.task_id).await);
    worker.stop().await;

    assert_eq!((bad_params.status, refused.status), (TaskStatus::Failed, TaskStatus::Failed));
    let error = bad_params.last_error.unwrap_or_default();
    assert!(error.contains("params of task \"typed\" do not decode"), "{error}");
    assert_eq!(refused.last_error.as_deref(), Some("zero is not allowed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_checkpoint_write_stops_the_handler_before_the_next_step() {
    let setup = Setup::memory("refusals").await;
    let (started_tx, mut started) = mpsc::unbounded_channel::<()>();
    let (release_tx, release) = oneshot::channel::<()>();
    let release = Arc::new(Mutex::new(Some(release)));
    let after_runs = Counter::shared();
    let mut app = Durable::new(setup.client.clone());
    let after = Arc::clone(&after_runs);
    app.register("outlived", move |ctx: TaskContext, (): ()| {
        let (started, release, after) = (started_tx.clone(), release.lock().unwrap().take(), Arc::clone(&after));
        async move {
            ctx.step("slow", || async move {
                let _ = started.send(());
                if let Some(release) = release {
                    let _ = release.await;
                }
                ok(1)
            })
            .await?;
            ctx.step("after", || async move { ok(after.bump()) }).await?;
            ok(())
        }
    });
    // Heartbeats only every 30 s: the refused write is what stops it.
    let worker = RunningWorker::start(&app, "refusals", Duration::from_secs(60));
    let task = app.spawn("refusals", "outlived", &(), SpawnOptions::default()).await.unwrap();
    started.recv().await.expect("the step started");
    setup.client.cancel_task(task.task_id).await.unwrap();
    release_tx.send(()).unwrap();
    let put = format!("/api/v1/tasks/{}/checkpoints/slow", task.task_id);
    support::eventually("the step's write", || async { setup.seen().iter().any(|s| s.path == put).then_some(()) })
        .await;
    worker.stop().await;

    assert_eq!(after_runs.get(), 0, "the next step never ran");
    let about_task: Vec<_> = setup
        .seen()
        .into_iter()
        .filter(|s| s.path.contains(&task.task_id.to_string()) || s.path.contains(&task.run_id.to_string()))
        .collect();
    let last = about_task.last().unwrap();
    assert_eq!((last.path.as_str(), last.status), (put.as_str(), 409), "nothing after the refusal: {about_task:?}");
    assert!(!setup.seen().iter().any(|s| s.path.ends_with("/fail") || s.path.ends_with("/complete")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_an_event_wait_and_a_sleep_replay_on_postgres() {
    let setup = Setup::on(TestServer::postgres().await, "pg").await;
    let step_runs = Counter::shared();
    let mut app = Durable::new(setup.client.clone());
    let counter = Arc::clone(&step_runs);
    app.register("mixed", move |ctx: TaskContext, order: u32| {
        let counter = Arc::clone(&counter);
        async move {
            let mut picked = Vec::new();
            for item in ["a", "b"] {
                let counter = Arc::clone(&counter);
                picked.push(
                    ctx.step("pick", || async move {
                        counter.bump();
                        ok(item.to_owned())
                    })
                    .await?,
                );
            }
            let packed: Packed = ctx.await_event(&format!("packed:{order}"), Duration::from_secs(60)).await?;
            ctx.sleep_for(Duration::from_secs(1)).await?;
            ok(json!({"picked": picked, "tracking": packed.tracking}))
        }
    });
    let worker = RunningWorker::start(&app, "pg", CLAIM);
    let task = app.spawn("pg", "mixed", &9, SpawnOptions::default()).await.unwrap();
    sleeping(&setup.client, task.task_id).await;
    setup.client.emit_event(&EmitEvent::new("packed:9", Some(json!({"tracking": "T-9"})))).await.unwrap();
    let done = ended(&setup.client, task.task_id).await;
    worker.stop().await;

    assert_eq!(done.status, TaskStatus::Completed, "{done:?}");
    assert_eq!(done.result, Some(json!({"picked": ["a", "b"], "tracking": "T-9"})));
    assert_eq!(step_runs.get(), 2, "each pick ran once over three runs of the handler");
    assert_no_refusals(&setup);
}
