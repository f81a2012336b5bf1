//! The Store conformance suite against the embedded SQLite adapter, plus
//! what only a file-backed store has: surviving a restart and refusing a
//! second owner.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use durable_domain::QueueName;
use durable_ports::{Notifier, Subscription};
use durable_sqlite::{LocalNotifier, SqliteStore};
use durable_tests::conformance::Backend;
use tempfile::TempDir;

/// A fresh database file per case, in a temporary folder.
async fn backend() -> Backend {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("durable.db")).await.expect("open sqlite store");
    let notifier = FolderKeeper { inner: store.notifier(), _dir: dir };
    Backend { store: Arc::new(store), notifier: Arc::new(notifier) }
}

/// The case's notifier, which also owns the case's temporary folder: the
/// suite keeps store and notifier alive together and drops them together,
/// so the folder is removed when the case ends instead of piling up.
struct FolderKeeper {
    inner: LocalNotifier,
    _dir: TempDir,
}

impl Notifier for FolderKeeper {
    fn subscribe(&self, queue: &QueueName) -> Box<dyn Subscription> {
        self.inner.subscribe(queue)
    }

    // The expansion of `#[async_trait]`, written out to delegate without
    // adding a dependency for one method.
    fn notify<'s, 'q, 'f>(&'s self, queues: &'q [QueueName]) -> Pin<Box<dyn Future<Output = ()> + Send + 'f>>
    where
        's: 'f,
        'q: 'f,
        Self: 'f,
    {
        self.inner.notify(queues)
    }
}

durable_tests::conformance_suite!(backend);

/// What only a file-backed store has to prove, and the store's own races.
mod file {
    use std::collections::BTreeMap;
    use std::collections::HashSet;

    use durable_domain::command::{Claim, RunFilter};
    use durable_domain::event::{Checkpoint, WaitResponse};
    use durable_domain::retry::{RetryKind, RetryStrategy};
    use durable_domain::workflow::{NewWorkflowRun, WorkflowRun};
    use durable_domain::{CleanupPolicy, Queue, QueueName, RunStatus, TaskSpec, Timestamp, clock};
    use durable_ports::{Store, StoreError};
    use durable_sqlite::SqliteStore;
    use serde_json::json;
    use time::{Duration, OffsetDateTime};

    fn now() -> Timestamp {
        clock::truncate(OffsetDateTime::now_utc())
    }

    fn claim(limit: u32) -> Claim {
        Claim { limit, claim_timeout: Duration::seconds(30), long_poll: None, worker_id: Some("w".into()) }
    }

    fn spec(name: &str) -> TaskSpec {
        TaskSpec::named(name)
    }

    #[tokio::test]
    async fn everything_survives_a_restart_and_stays_claimable() {
        let dir = tempfile::tempdir().unwrap();
        // A folder that does not exist yet: open creates it.
        let path = dir.path().join("data").join("nested").join("durable.db");
        let t0 = now();
        let queue = Queue {
            name: QueueName::parse("name", "emails").unwrap(),
            created_at: t0,
            cleanup: CleanupPolicy { task_ttl_seconds: 60, event_ttl_seconds: 0 },
            flow: Default::default(),
        };

        let store = SqliteStore::open(&path).await.expect("open creates the file and its folder");
        assert!(path.exists());
        store.queue_create(queue.clone(), 10).await.unwrap();
        let workflow = store
            .workflow_create(WorkflowRun::create(
                NewWorkflowRun {
                    workflow_name: "signup".into(),
                    workflow_version: Some("v2".into()),
                    inputs: Some(json!({"user": 7})),
                    created_by: None,
                    tags: BTreeMap::from([("team".into(), "growth".into())]),
                },
                t0,
            ))
            .await
            .unwrap();
        let rich = TaskSpec {
            params: json!({"to": "a@example.com", "n": [1, 2.5, -3], "deep": {"x": null}}),
            headers: BTreeMap::from([("trace".into(), "abc".into())]),
            retry_strategy: Some(RetryStrategy {
                kind: RetryKind::Exponential,
                base_seconds: 1.5,
                factor: Some(3.0),
                max_seconds: Some(60.0),
            }),
            max_attempts: 5,
            start_timeout: Some(Duration::seconds(600)),
            execution_timeout: Some(Duration::microseconds(3_600_000_001)),
            workflow_run_id: Some(workflow.id),
            idempotency_key: Some("key-1".into()),
            ..spec("send")
        };
        let created = store.tasks_create(&queue.name, vec![rich, spec("a"), spec("b")], t0).await.unwrap().tasks;
        let held = store.runs_claim(&queue.name, &claim(1), t0).await.unwrap();
        assert_eq!(held.len(), 1);
        let checkpoint = store
            .checkpoint_put(
                durable_domain::command::CheckpointWrite {
                    task_id: held[0].task.id,
                    step_name: "step".into(),
                    state: json!({"done": 1}),
                    owner_run: held[0].run.id,
                    extend_claim_by: None,
                },
                t0,
            )
            .await
            .unwrap();
        let tasks_before: Vec<_> = {
            let mut all = Vec::new();
            for c in &created {
                all.push(store.task_get(c.task_id).await.unwrap());
            }
            all
        };
        let runs_filter = RunFilter { task_id: None, status: None, cursor: None, limit: 100 };
        let runs_before = store.run_list(&runs_filter).await.unwrap();
        drop(store);

        let store = SqliteStore::open(&path).await.expect("reopen after the first store is gone");
        assert_eq!(store.queue_list().await.unwrap(), vec![queue.clone()]);
        for before in &tasks_before {
            assert_eq!(&store.task_get(before.id).await.unwrap(), before, "a task round-trips exactly");
        }
        assert_eq!(store.run_list(&runs_filter).await.unwrap(), runs_before);
        let durable_domain::workflow::WorkflowWithTasks { run: workflow_after, tasks: its_tasks } =
            store.workflow_get(workflow.id).await.unwrap();
        assert_eq!(workflow_after, workflow);
        assert_eq!(its_tasks.len(), 1);
        let checkpoints: Vec<Checkpoint> = store.checkpoint_list(held[0].task.id).await.unwrap();
        assert_eq!(checkpoints, vec![checkpoint]);
        // The idempotency key is still known after the restart.
        let again = store
            .tasks_create(&queue.name, vec![TaskSpec { idempotency_key: Some("key-1".into()), ..spec("x") }], t0)
            .await
            .unwrap()
            .tasks;
        assert!(again[0].deduplicated);
        assert_eq!(again[0].task_id, created[0].task_id);
        // The claim held before the restart is still held; the rest is claimable.
        store.run_heartbeat(held[0].run.id, Duration::seconds(5), t0).await.expect("claim still held");
        let rest = store.runs_claim(&queue.name, &claim(10), t0).await.unwrap();
        let rest_ids: HashSet<_> = rest.iter().map(|s| s.task.id).collect();
        let expected: HashSet<_> = created.iter().map(|c| c.task_id).filter(|id| *id != held[0].task.id).collect();
        assert_eq!(rest_ids, expected);
        let results = store
            .runs_complete(
                rest.iter().map(|s| durable_domain::command::Completion::new(s.run.id, Some(json!("ok")))).collect(),
                t0,
            )
            .await
            .unwrap();
        assert!(results.iter().all(Result::is_ok));
        store.close().await;
    }

    /// A schedule survives the restart of a server that was down for ten
    /// minutes, and the restarted one catches up as the schedule says.
    #[tokio::test]
    async fn a_schedule_catches_up_after_a_restart() {
        use durable_domain::schedule::{NewSchedule, ScheduleName};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("durable.db");
        let t0 = time::macros::datetime!(2030-01-01 00:00 UTC);
        let queue = Queue {
            name: QueueName::parse("name", "cron").unwrap(),
            created_at: t0,
            cleanup: CleanupPolicy::default(),
            flow: Default::default(),
        };
        let store = SqliteStore::open(&path).await.unwrap();
        store.queue_create(queue.clone(), 10).await.unwrap();
        for (name, catch_up) in [("all", "all"), ("one", "one")] {
            let new = NewSchedule {
                name: name.into(),
                queue_name: "cron".into(),
                cron: "* * * * *".into(),
                timezone: None,
                task: durable_domain::command::NewTask { task_name: name.into(), ..Default::default() },
                catch_up: Some(catch_up.into()),
                paused: None,
            };
            store.schedule_create(new.validate(t0).unwrap()).await.unwrap();
        }
        assert_eq!(store.schedules_fire(t0 + Duration::MINUTE, Duration::MINUTE, 100).await.unwrap().ticks, 2);
        store.close().await;
        drop(store);

        // Down from 00:01 to 00:11:30.
        let store = SqliteStore::open(&path).await.unwrap();
        let now = t0 + Duration::minutes(11) + Duration::seconds(30);
        let fired = store.schedules_fire(now, Duration::seconds(5), 100).await.unwrap();
        assert_eq!(fired.ticks, 10 + 1, "all: the ten missed ticks 00:02-00:11; one: the latest, 00:11");
        for name in ["all", "one"] {
            let s = store.schedule_get(&ScheduleName::parse("n", name).unwrap()).await.unwrap();
            assert_eq!(s.next_tick, Some(t0 + Duration::minutes(12)), "{name}");
            assert_eq!(s.last_tick, Some(t0 + Duration::minutes(11)), "{name}");
        }
        let filter = durable_domain::command::TaskFilter { limit: 100, ..Default::default() };
        assert_eq!(store.task_list(&filter).await.unwrap().items.len(), 2 + 11);
    }

    #[tokio::test]
    async fn a_second_store_on_the_same_file_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("durable.db");
        let first = SqliteStore::open(&path).await.unwrap();
        let refused = SqliteStore::open(&path).await.expect_err("the file is taken");
        let message = refused.to_string();
        assert!(matches!(refused, StoreError::Unavailable(_)), "{refused:?}");
        assert!(message.contains("another durable-server"), "{message}");
        assert!(message.contains(&path.display().to_string()), "names the database: {message}");
        assert!(message.contains("durable.db.lock"), "names the lock file: {message}");
        assert_eq!(first.lock_path(), dir.path().join("durable.db.lock"));
        // The first store is unharmed and keeps working.
        first.ping().await.unwrap();
        drop(first);
        let second = SqliteStore::open(&path).await.expect("free once the first store is gone");
        second.ping().await.unwrap();
    }

    #[tokio::test]
    async fn an_event_emitted_before_a_restart_resolves_a_wait_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("durable.db");
        let t0 = now();
        let name = QueueName::parse("name", "q").unwrap();
        let store = SqliteStore::open(&path).await.unwrap();
        store
            .queue_create(
                Queue {
                    name: name.clone(),
                    created_at: t0,
                    cleanup: CleanupPolicy::default(),
                    flow: Default::default(),
                },
                10,
            )
            .await
            .unwrap();
        store.tasks_create(&name, vec![spec("t")], t0).await.unwrap();
        store.event_emit("paid", json!({"amount": 3}), t0).await.unwrap();
        drop(store);

        let store = SqliteStore::open(&path).await.unwrap();
        let held = store.runs_claim(&name, &claim(1), t0).await.unwrap().remove(0);
        let wait = durable_domain::command::Wait {
            run_id: held.run.id,
            task_id: held.task.id,
            event_name: "paid".into(),
            step_name: "s".into(),
            timeout: Duration::seconds(10),
        };
        let answer = store.run_wait_for_event(&wait, t0).await.unwrap();
        assert_eq!(
            answer,
            WaitResponse::Outcome(durable_domain::event::WaitOutcome::Resolved { payload: json!({"amount": 3}) })
        );
        let runs = store
            .run_list(&RunFilter { task_id: Some(held.task.id), status: None, cursor: None, limit: 10 })
            .await
            .unwrap();
        assert_eq!(runs.items[0].status, RunStatus::Claimed);
    }

    /// A caller that goes away mid-write (an HTTP client hanging up on a
    /// long poll drops the handler's future) must not leave the one writer
    /// connection inside its transaction: every later write would fail.
    /// Claims racing each other for the writer are cut off after 0 to 2 ms,
    /// so some are cut while waiting for the connection, some inside their
    /// transaction and some not at all.
    /// A store in a fresh folder, shared between tasks, with one queue.
    async fn shared_store(queue: &str) -> (tempfile::TempDir, std::sync::Arc<SqliteStore>, QueueName) {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(SqliteStore::open(dir.path().join("durable.db")).await.unwrap());
        let name = QueueName::parse("name", queue).unwrap();
        let queue = Queue {
            name: name.clone(),
            created_at: now(),
            cleanup: CleanupPolicy::default(),
            flow: Default::default(),
        };
        store.queue_create(queue, 10).await.unwrap();
        (dir, store, name)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn writes_abandoned_half_way_leave_the_store_writable() {
        let (_dir, store, name) = shared_store("abandoned").await;
        let t0 = now();
        store.tasks_create(&name, vec![spec("a"); 400], t0).await.unwrap();
        let callers: Vec<_> = (0..8_u64)
            .map(|caller| {
                let (store, name) = (store.clone(), name.clone());
                tokio::spawn(async move {
                    let one = claim(1);
                    for round in 0..40_u64 {
                        // Only where the call is cut depends on the time; the
                        // test's verdict does not.
                        let cut = std::time::Duration::from_micros((round * 7 + caller) % 40 * 50);
                        let _ = tokio::time::timeout(cut, store.runs_claim(&name, &one, t0)).await;
                    }
                })
            })
            .collect();
        for caller in callers {
            caller.await.unwrap();
        }
        let created = store.tasks_create(&name, vec![spec("after")], t0).await.expect("a create after them").tasks;
        let claimed = store.runs_claim(&name, &claim(1000), t0).await.expect("a claim after them");
        assert!(claimed.iter().any(|s| s.run.id == created[0].run_id));
    }

    /// Writes that arrive together share a transaction: the ones that fail
    /// are answered with their own error and leave the others' effects
    /// committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failing_write_among_concurrent_ones_undoes_only_itself() {
        let (_dir, store, name) = shared_store("group").await;
        let t0 = now();
        let missing = QueueName::parse("name", "missing").unwrap();
        let writers: Vec<_> = (0..64)
            .map(|i| {
                let (store, queue) = (store.clone(), if i % 2 == 0 { name.clone() } else { missing.clone() });
                tokio::spawn(async move { store.tasks_create(&queue, vec![spec("group"); 3], t0).await })
            })
            .collect();
        let mut created = Vec::new();
        for (i, writer) in writers.into_iter().enumerate() {
            match writer.await.unwrap() {
                Ok(answer) if i % 2 == 0 => created.extend(answer.tasks),
                Err(StoreError::NotFound(_)) if i % 2 == 1 => {}
                other => panic!("writer {i}: {other:?}"),
            }
        }
        assert_eq!(created.len(), 32 * 3);
        for task in &created {
            store.task_get(task.task_id).await.expect("a committed task");
        }
        let claimed = store.runs_claim(&name, &claim(1000), t0).await.unwrap();
        assert_eq!(claimed.len(), created.len());
    }

    /// Eight claimers race over 2 000 runs straight on the store, completing
    /// what they claim as they go: every run is handed out exactly once,
    /// none is lost, and all end completed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_claimers_on_the_store_hand_out_each_run_once() {
        const RUNS: usize = 2000;
        const CLAIMERS: usize = 8;
        let (_dir, store, name) = shared_store("race").await;
        let t0 = now();
        let mut created = HashSet::new();
        for _ in 0..RUNS / 1000 {
            let batch = store.tasks_create(&name, vec![spec("race"); 1000], t0).await.unwrap();
            created.extend(batch.tasks.into_iter().map(|c| c.run_id));
        }
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(CLAIMERS));
        let claimers: Vec<_> = (0..CLAIMERS)
            .map(|_| {
                let (store, name, start) = (store.clone(), name.clone(), start.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    let mut mine = Vec::new();
                    loop {
                        let claimed = store.runs_claim(&name, &claim(25), t0).await.expect("claim");
                        if claimed.is_empty() {
                            return mine;
                        }
                        let items =
                            claimed.iter().map(|s| durable_domain::command::Completion::new(s.run.id, None)).collect();
                        let answers = store.runs_complete(items, t0).await.expect("complete");
                        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
                        mine.extend(claimed.into_iter().map(|s| s.run.id));
                    }
                })
            })
            .collect();
        let mut handed = Vec::new();
        for claimer in claimers {
            handed.push(claimer.await.unwrap());
        }
        let total: usize = handed.iter().map(Vec::len).sum();
        let distinct: HashSet<_> = handed.iter().flatten().copied().collect();
        assert_eq!(total, distinct.len(), "a run was handed out twice");
        assert_eq!(distinct, created, "every run was handed out (none lost)");
        assert!(handed.iter().filter(|h| !h.is_empty()).count() > 1, "the claimers did race");
        let stats = store.queue_stats(&name, t0).await.unwrap();
        assert_eq!((stats.pending_runs, stats.claimed_runs, stats.completed_runs), (0, 0, RUNS as u64));
    }

    /// Headers are a map of strings; a number there cannot be decoded. The
    /// change is made through a connection of its own, as a hand edit would.
    async fn spoil(dir: &tempfile::TempDir, task: durable_domain::TaskId) {
        use sqlx::Connection;
        let url = format!("sqlite://{}", dir.path().join("durable.db").display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("UPDATE tasks SET headers = '{\"h\": 1}' WHERE id = ?")
            .bind(task.to_string())
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_row_that_cannot_be_decoded_stops_neither_claims_nor_expiry_of_the_others() {
        let (dir, store, name) = shared_store("spoiled").await;
        let t0 = now();
        let created = store.tasks_create(&name, (0..4).map(|_| spec("job")).collect(), t0).await.unwrap().tasks;
        spoil(&dir, created[0].task_id).await;

        // The spoiled task is first in line; the claim still hands out the others, one at a time.
        let short = Claim { limit: 1, claim_timeout: Duration::seconds(1), ..claim(1) };
        let mut handed = Vec::new();
        for _ in 0..3 {
            let claimed = store.runs_claim(&name, &short, t0).await.expect("the claim answers");
            assert_eq!(claimed.len(), 1, "{claimed:?}");
            handed.push(claimed[0].task.id);
        }
        assert!(!handed.contains(&created[0].task_id));
        assert!(store.runs_claim(&name, &short, t0).await.unwrap().is_empty());
        assert_eq!(store.rows_skipped(), 1);

        let later = t0 + Duration::seconds(2);
        let expired = store.claims_expire(&Default::default(), later, 100).await.expect("the sweep step answers");
        assert_eq!(expired.requeued.len(), 3, "the good claims expired");
        assert_eq!(store.rows_skipped(), 2, "the spoiled one was met again and left out");
    }
}
