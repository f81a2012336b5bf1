//! What the PostgreSQL store's statements do with awkward rows and tables:
//! rows a claim or a sweep cannot decode (made by hand with SQL, as an
//! operator or another version might leave one: the store logs them,
//! counts them and goes on with the good rows beside them), payloads written
//! under the first schema (jsonb, which rewrote numbers), and plans on a
//! fresh table that has no statistics yet.

use std::borrow::Cow;

use durable_domain::command::{Claim, Completion};
use durable_domain::machine::Policy;
use durable_domain::{CleanupPolicy, Queue, QueueName, TaskId, TaskSpec, Timestamp};
use durable_ports::{Clock, Store, SystemClock};
use durable_postgres::{MIGRATOR, PgStore, migrate};
use durable_tests::pg::{empty_database, test_database};
use serde_json::{Value, json};
use sqlx::migrate::Migrator;
use time::Duration;

async fn queue(store: &PgStore, name: &str, cleanup: CleanupPolicy) -> QueueName {
    let name = QueueName::parse("queue", name).unwrap();
    let queue = Queue { name, created_at: SystemClock.now(), cleanup, flow: Default::default() };
    store.queue_create(queue, 128).await.expect("create queue").name
}

fn spec(params: Value) -> TaskSpec {
    TaskSpec { params, max_attempts: 3, ..TaskSpec::named("job") }
}

fn claim(limit: u32, seconds: i64) -> Claim {
    Claim { limit, claim_timeout: Duration::seconds(seconds), long_poll: None, worker_id: Some("w".into()) }
}

async fn create(store: &PgStore, queue: &QueueName, n: usize, now: Timestamp) -> Vec<TaskId> {
    let specs = (0..n).map(|i| spec(json!({"i": i}))).collect();
    store.tasks_create(queue, specs, now).await.expect("create").tasks.into_iter().map(|c| c.task_id).collect()
}

/// Claims up to `limit` runs of `queue` and completes the first `complete`
/// of them, every completion accepted.
async fn claim_and_complete(store: &PgStore, queue: &QueueName, limit: u32, complete: usize, now: Timestamp) {
    let claimed = store.runs_claim(queue, &claim(limit, 60), now).await.unwrap();
    let items = claimed.iter().take(complete).map(|s| Completion::new(s.run.id, None)).collect();
    assert!(store.runs_complete(items, now).await.unwrap().iter().all(Result::is_ok));
}

/// Headers are a map of strings; a number there cannot be decoded.
async fn spoil(store: &PgStore, task: TaskId) {
    sqlx::query("UPDATE tasks SET headers = '{\"h\": 1}' WHERE id = $1")
        .bind(task.as_uuid())
        .execute(store.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_claim_hands_out_the_good_rows_beside_one_it_cannot_decode() {
    let db = test_database().await;
    let store = db.store(2).await;
    let queue = queue(&store, "q", CleanupPolicy::default()).await;
    let now = SystemClock.now();
    let tasks = create(&store, &queue, 3, now).await;
    spoil(&store, tasks[1]).await;

    let claimed = store.runs_claim(&queue, &claim(10, 60), now).await.expect("the claim answers");
    let ids: Vec<TaskId> = claimed.iter().map(|s| s.task.id).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&tasks[0]) && ids.contains(&tasks[2]));
    assert_eq!(store.rows_skipped(), 1);
}

#[tokio::test]
async fn a_row_that_cannot_be_decoded_does_not_stop_the_others_from_expiring() {
    let db = test_database().await;
    let store = db.store(2).await;
    let queue = queue(&store, "q", CleanupPolicy::default()).await;
    let now = SystemClock.now();
    let tasks = create(&store, &queue, 3, now).await;
    assert_eq!(store.runs_claim(&queue, &claim(10, 1), now).await.unwrap().len(), 3);
    spoil(&store, tasks[0]).await;

    let later = now + Duration::seconds(2);
    let expired = store.claims_expire(&Policy::default(), later, 100).await.expect("the sweep step answers");
    assert_eq!(expired.requeued.len(), 2);
    assert_eq!(store.rows_skipped(), 1);
    let again = store.runs_claim(&queue, &claim(10, 60), later).await.unwrap();
    let mut ids: Vec<TaskId> = again.iter().map(|s| s.task.id).collect();
    ids.sort();
    let mut expected = vec![tasks[1], tasks[2]];
    expected.sort();
    assert_eq!(ids, expected, "the good tasks were re-queued");
}

#[tokio::test]
async fn retention_deletes_the_good_rows_beside_one_it_cannot_decode() {
    let db = test_database().await;
    let store = db.store(2).await;
    let cleanup = CleanupPolicy { task_ttl_seconds: 1, event_ttl_seconds: 0 };
    let queue = queue(&store, "q", cleanup).await;
    let now = SystemClock.now();
    let tasks = create(&store, &queue, 3, now).await;
    claim_and_complete(&store, &queue, 10, usize::MAX, now).await;
    spoil(&store, tasks[2]).await;

    let cleaned = store.retention_delete(now + Duration::seconds(5), 100).await.expect("the sweep step answers");
    assert_eq!(cleaned.tasks, 2);
    assert_eq!(store.rows_skipped(), 1);
}

/// The first schema stored payloads as jsonb, which turned
/// 1.7976931348623157e308 into a 309-digit integer that could not be read
/// back as a number: such rows must be readable after the upgrade.
#[tokio::test]
async fn payloads_stored_by_the_jsonb_schema_are_readable_after_the_upgrade() {
    let db = empty_database().await;
    let pool = db.pool(2).await;
    // The first schema, plus the later columns today's store writes (the
    // additive 0003 and 0005); 0002, the one under test, comes after the writes.
    let first_only = Migrator {
        migrations: Cow::Owned(vec![
            MIGRATOR.migrations[0].clone(),
            MIGRATOR.migrations[2].clone(),
            MIGRATOR.migrations[4].clone(),
        ]),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    };
    first_only.run(&pool).await.expect("the first migration");
    let store = PgStore::from_pool(pool);
    let queue = queue(&store, "legacy", CleanupPolicy::default()).await;
    let now = SystemClock.now();
    let poisoned: Value = serde_json::from_str(r#"{"x": 1.7976931348623157e308}"#).unwrap();
    // Written as jsonb, the way the first schema's store bound it.
    let task = create(&store, &queue, 1, now).await[0];
    sqlx::query("UPDATE tasks SET params = $1::text::jsonb WHERE id = $2")
        .bind(poisoned.to_string())
        .bind(task.as_uuid())
        .execute(store.pool())
        .await
        .unwrap();
    let stored: String = sqlx::query_scalar("SELECT params::text FROM tasks").fetch_one(store.pool()).await.unwrap();
    assert!(stored.len() > 300, "jsonb spelled the number out: {stored}");

    migrate(store.pool()).await.expect("the remaining migrations");
    let claimed = store.runs_claim(&queue, &claim(1, 60), now).await.expect("the claim answers");
    assert_eq!(claimed.len(), 1);
    let x = claimed[0].task.spec.params["x"].as_f64();
    assert_eq!(x, Some(f64::MAX), "the same number, spelled as jsonb left it");
}

/// A fresh table has no statistics; the create statement must not join its
/// inserted rows to anything, or the planner's guess turns a batch of 1 000
/// into a million comparisons (it did: 1.5 s per batch until autovacuum
/// first analyzed the tables).
#[tokio::test]
async fn a_batch_create_on_a_fresh_table_joins_nothing() {
    let db = test_database().await;
    let store = db.store(1).await;
    let queue = queue(&store, "fresh", CleanupPolicy::default()).await;
    let specs = (0..1000).map(|i| spec(json!({"i": i}))).collect();
    let plan = store.explain_tasks_create(&queue, specs, SystemClock.now()).await.unwrap();
    // Every node runs once (the answer's one-row join included); the runs
    // come straight from the rows the task insert returned.
    assert!(!plan.contains("Join Filter") && !plan.contains("loops=1000"), "{plan}");
    let lines: Vec<&str> = plan.lines().map(str::trim).collect();
    let runs = lines.iter().position(|l| l.starts_with("->  Insert on runs")).expect(&plan);
    assert!(lines[runs + 1].starts_with("->  CTE Scan on t"), "{plan}");
    let tasks: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks").fetch_one(store.pool()).await.unwrap();
    assert_eq!(tasks, 0, "the explained statement was rolled back");
}

#[tokio::test]
async fn a_batch_acknowledgement_completes_the_good_runs_beside_one_it_cannot_decode() {
    let db = test_database().await;
    let store = db.store(2).await;
    let queue = queue(&store, "q", CleanupPolicy::default()).await;
    let now = SystemClock.now();
    let tasks = create(&store, &queue, 3, now).await;
    let claimed = store.runs_claim(&queue, &claim(10, 60), now).await.unwrap();
    assert_eq!(claimed.len(), 3);
    spoil(&store, tasks[1]).await;

    let items = claimed.iter().map(|s| Completion::new(s.run.id, Some(json!("done")))).collect();
    let answers = store.runs_complete(items, now).await.expect("the batch answers");
    for (state, answer) in claimed.iter().zip(&answers) {
        assert_eq!(answer.is_ok(), state.task.id != tasks[1], "{answer:?}");
    }
    let done: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks WHERE status = 'completed'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(done, 2);
    assert_eq!(store.rows_skipped(), 1);
}

#[tokio::test]
async fn an_emit_wakes_the_good_sleepers_beside_one_it_cannot_decode() {
    let db = test_database().await;
    let store = db.store(2).await;
    let queue = queue(&store, "q", CleanupPolicy::default()).await;
    let now = SystemClock.now();
    let tasks = create(&store, &queue, 3, now).await;
    for state in store.runs_claim(&queue, &claim(10, 60), now).await.unwrap() {
        let wait = durable_domain::command::Wait {
            run_id: state.run.id,
            task_id: state.task.id,
            event_name: "go".into(),
            step_name: "s".into(),
            timeout: Duration::hours(1),
        };
        store.run_wait_for_event(&wait, now).await.expect("the run sleeps");
    }
    spoil(&store, tasks[2]).await;

    let emitted = store.event_emit("go", json!(1), now).await.expect("the emit answers");
    assert_eq!(emitted.woken.len(), 2);
    assert_eq!(store.rows_skipped(), 1);
    assert_eq!(store.runs_claim(&queue, &claim(10, 60), now).await.unwrap().len(), 2);
}

/// A generic plan of a listing estimates its `LIMIT $1` at a tenth of the
/// table; on a large table that passes `jit_above_cost`, and PostgreSQL
/// would compile the statement on every execution (131 ms for a 0.4 ms
/// query on 1 000 000 tasks). The store's sessions turn JIT off.
#[tokio::test]
async fn the_store_sessions_never_jit_compile() {
    let db = test_database().await;
    let store = db.store(1).await;
    let settings: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, setting FROM pg_settings \
         WHERE name IN ('jit', 'plan_cache_mode', 'enable_hashjoin', 'enable_mergejoin') ORDER BY name",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let expected = [
        ("enable_hashjoin", "off"),
        ("enable_mergejoin", "off"),
        ("jit", "off"),
        ("plan_cache_mode", "force_generic_plan"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
    assert_eq!(settings, expected);
}

async fn runs_of(store: &PgStore, tasks: &[TaskId]) -> i64 {
    let ids: Vec<uuid::Uuid> = tasks.iter().map(TaskId::as_uuid).collect();
    sqlx::query_scalar("SELECT count(*) FROM runs WHERE task_id = ANY($1)")
        .bind(&ids)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// Runs have no foreign key to their task (migration 0008): the writers
/// that delete tasks delete their runs.
#[tokio::test]
async fn retention_and_a_forced_queue_delete_leave_no_runs_behind() {
    let db = test_database().await;
    let store = db.store(2).await;
    let now = SystemClock.now();
    let kept = queue(&store, "kept", CleanupPolicy::default()).await;
    let survivors = create(&store, &kept, 2, now).await;

    let expiring = queue(&store, "expiring", CleanupPolicy { task_ttl_seconds: 1, event_ttl_seconds: 0 }).await;
    let finished = create(&store, &expiring, 3, now).await;
    claim_and_complete(&store, &expiring, 10, usize::MAX, now).await;
    assert_eq!(runs_of(&store, &finished).await, 3);
    let cleaned = store.retention_delete(now + Duration::seconds(5), 100).await.unwrap();
    assert_eq!(cleaned.tasks, 3);
    assert_eq!(runs_of(&store, &finished).await, 0, "retention deleted the runs with their tasks");

    let doomed = queue(&store, "doomed", CleanupPolicy::default()).await;
    let live = create(&store, &doomed, 4, now).await;
    store.runs_claim(&doomed, &claim(2, 60), now).await.unwrap();
    store.queue_delete(&doomed, true).await.expect("forced delete");
    assert_eq!(runs_of(&store, &live).await, 0, "a forced queue delete deleted the runs with the tasks");
    assert_eq!(runs_of(&store, &survivors).await, 2, "other queues keep theirs");
}

/// The statistics and the depth gauges count runs from partial indexes of
/// live, failed and canceled runs (there is no index by status since
/// migration 0008): on a fresh table of mostly finished runs, before any
/// statistics exist, they read none of the finished ones.
#[tokio::test]
async fn the_statistics_read_no_finished_runs() {
    let db = test_database().await;
    let store = db.store(2).await;
    let queue = queue(&store, "counted", CleanupPolicy::default()).await;
    let now = SystemClock.now();
    create(&store, &queue, 2000, now).await;
    claim_and_complete(&store, &queue, 1000, 900, now).await;

    let plan = store.explain_statistics(&queue, now).await.unwrap();
    assert!(!plan.contains("Seq Scan on runs") && !plan.contains("Seq Scan on tasks"), "{plan}");
    // The 900 completed runs are counted from the finished tasks' index; the
    // largest scan of runs is the 1 000 pending ones.
    let run_rows = plan
        .lines()
        .filter(|l| l.contains("Scan using runs_"))
        .filter_map(|l| l.split("rows=").nth(1)?.split(' ').next()?.parse::<usize>().ok())
        .max()
        .unwrap();
    assert!(run_rows <= 1000, "a scan of runs read {run_rows} rows:\n{plan}");
    let stats = store.queue_stats(&queue, now).await.unwrap();
    assert_eq!((stats.pending_runs, stats.claimed_runs, stats.completed_runs), (1000, 100, 900), "{stats:?}");
}
