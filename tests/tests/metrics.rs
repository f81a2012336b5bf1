//! The metrics readings every store answers: `queue_depths` (one grouped
//! query in the SQL stores) counts live runs by state exactly like the
//! domain sees them, and the SQL stores report their pools.

use std::sync::Arc;

use durable_domain::command::NewTask;
use durable_domain::{QueueName, Timestamp};
use durable_memory::{LocalNotifier, MemoryStore};
use durable_ports::metrics::QueueDepth;
use durable_ports::{Service, Store};
use durable_sqlite::SqliteStore;
use durable_tests::conformance::{Backend, Ctx, new_task};

fn queue(name: &str) -> QueueName {
    QueueName::parse("queue", name).unwrap()
}

fn depth_of(depths: &[QueueDepth], name: &str) -> QueueDepth {
    depths
        .iter()
        .find(|d| d.queue.as_str() == name)
        .cloned()
        .unwrap_or_else(|| panic!("no depth for {name}: {depths:?}"))
}

/// Builds one queue with runs in every state and one empty queue, then
/// reads their depths 30 s after the oldest due run became due.
async fn depths_count_live_runs_by_state(backend: Backend) {
    let ctx = Ctx::new(backend);
    let busy = ctx.queue().await;
    let idle = ctx.queue().await;

    let _held = ctx.started(&busy).await;
    let sleeper = ctx.started(&busy).await;
    ctx.engine.schedule_run(sleeper.run.id, ctx.at(3600.0)).await.expect("sleep");
    let done = ctx.started(&busy).await;
    ctx.complete(done.run.id).await;
    let failed = ctx.started(&busy).await;
    ctx.engine.fail_run(failed.run.id, "no retry left".into()).await.expect("fail");

    ctx.task(&busy).await; // due at 0
    ctx.set_at(10.0);
    ctx.task(&busy).await; // due at 10
    ctx.create(&busy, NewTask { run_at: Some(ctx.at(100.0)), ..new_task("later") }).await;
    ctx.set_at(30.0);

    let depths = ctx.store.queue_depths(ctx.now()).await.expect("depths");
    assert_eq!(depths.len(), 2, "one entry per queue: {depths:?}");
    assert_eq!(
        depth_of(&depths, &busy),
        QueueDepth {
            queue: queue(&busy),
            pending_due: 2,
            pending_scheduled: 1,
            claimed: 1,
            sleeping: 1,
            oldest_pending_age_seconds: Some(30.0),
        }
    );
    assert_eq!(
        depth_of(&depths, &idle),
        QueueDepth {
            queue: queue(&idle),
            pending_due: 0,
            pending_scheduled: 0,
            claimed: 0,
            sleeping: 0,
            oldest_pending_age_seconds: None,
        }
    );

    // Once its time comes, the scheduled run counts as due.
    let later: Timestamp = ctx.at(100.0);
    let depths = ctx.store.queue_depths(later).await.expect("depths");
    let busy_later = depth_of(&depths, &busy);
    assert_eq!((busy_later.pending_due, busy_later.pending_scheduled), (3, 0));
    assert_eq!(busy_later.oldest_pending_age_seconds, Some(100.0));
}

async fn memory() -> Backend {
    Backend { store: Arc::new(MemoryStore::new()), notifier: Arc::new(LocalNotifier::new()) }
}

#[tokio::test]
async fn memory_depths() {
    let backend = memory().await;
    assert_eq!(backend.store.pool_stats(), None, "no pool in memory");
    depths_count_live_runs_by_state(backend).await;
}

#[tokio::test]
async fn sqlite_depths_and_pool() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open(dir.path().join("durable.db")).await.expect("open"));
    let pool = store.pool_stats().expect("a pool");
    assert!(pool.idle >= 1 && pool.in_use + pool.idle <= 5, "one writer and up to four readers: {pool:?}");
    let backend = Backend { store: store.clone(), notifier: Arc::new(store.notifier()) };
    depths_count_live_runs_by_state(backend).await;
    store.close().await;
}

#[tokio::test]
async fn postgres_depths_and_pool() {
    let db = durable_tests::pg::test_database().await;
    let store = Arc::new(db.store(4).await);
    store.ping().await.expect("connected");
    let pool = store.pool_stats().expect("a pool");
    // The connection the ping used goes back to the pool in the background,
    // so it may still count as in use: only the total is certain.
    assert!((1..=4).contains(&(pool.in_use + pool.idle)), "at most the pool's size: {pool:?}");
    let backend = Backend { store: store.clone(), notifier: Arc::new(LocalNotifier::new()) };
    depths_count_live_runs_by_state(backend).await;
    store.pool().close().await;
    drop(db);
}
