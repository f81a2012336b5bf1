//! The PostgreSQL adapter: the Store conformance suite, plus what only
//! PostgreSQL has: many claimers on separate connections, NOTIFY reaching
//! another replica's listener, and surviving a server restart.
//!
//! Needs a PostgreSQL server: `DATABASE_URL`, or the local server binaries
//! (see `durable_tests::pg`).

use std::sync::Arc;

use async_trait::async_trait;
use durable_domain::QueueName;
use durable_ports::{Notifier, Subscription};
use durable_postgres::{ListenerTask, PgNotifier};
use durable_tests::conformance::Backend;
use durable_tests::pg::{TestDatabase, test_database};

/// The notifier of a conformance case, keeping its listener task and its
/// database alive for as long as the case holds the backend.
struct CaseNotifier {
    notifier: PgNotifier,
    _listener: ListenerTask,
    _db: TestDatabase,
}

#[async_trait]
impl Notifier for CaseNotifier {
    fn subscribe(&self, queue: &QueueName) -> Box<dyn Subscription> {
        self.notifier.subscribe(queue)
    }

    async fn notify(&self, queues: &[QueueName]) {
        self.notifier.notify(queues).await;
    }
}

/// A fresh database per case, a store on it and a listening notifier.
async fn backend() -> Backend {
    let db = test_database().await;
    let store = db.store(8).await;
    let (notifier, listener) = PgNotifier::start(db.url()).await.expect("start the notifier");
    Backend { store: Arc::new(store), notifier: Arc::new(CaseNotifier { notifier, _listener: listener, _db: db }) }
}

durable_tests::conformance_suite!(backend);

/// What only PostgreSQL has: real connections racing, NOTIFY between
/// replicas, a server that goes away.
mod postgres_only {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration as StdDuration, Instant};

    use durable_app::server::Settings;
    use durable_domain::command::{Claim, RunFilter};
    use durable_domain::{Queue, QueueName, RunStatus, TaskSpec, TaskState, TaskStatus, machine};
    use durable_ports::{Clock, Notifier, Store, StoreError, SystemClock};
    use durable_postgres::{ListenerConfig, PgNotifier, PgStore, migrate};
    use durable_tests::pg::{LoseReplyTo, PgCluster, ReplyLoser, empty_database, test_database};
    use durable_tests::server::TestServer;
    use sqlx::postgres::PgPoolOptions;
    use sqlx::{Connection, PgConnection};
    use time::Duration;

    fn name(raw: &str) -> QueueName {
        QueueName::parse("queue", raw).unwrap()
    }

    async fn queue(store: &PgStore, raw: &str) -> QueueName {
        let queue = Queue {
            name: name(raw),
            created_at: SystemClock.now(),
            cleanup: Default::default(),
            flow: Default::default(),
        };
        store.queue_create(queue, 128).await.expect("create queue").name
    }

    fn spec(task_name: &str) -> TaskSpec {
        TaskSpec { params: serde_json::json!({"n": 1}), ..TaskSpec::named(task_name) }
    }

    fn claim(limit: u32) -> Claim {
        Claim { limit, claim_timeout: Duration::minutes(10), long_poll: None, worker_id: Some("w".into()) }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn eight_claimers_complete_every_run_exactly_once() {
        const RUNS: usize = 5_000;
        const CLAIMERS: usize = 8;
        let db = test_database().await;
        let setup = db.store(2).await;
        let queue = queue(&setup, "crowd").await;
        for _ in 0..RUNS / 1000 {
            let specs = (0..1000).map(|_| spec("job")).collect();
            setup.tasks_create(&queue, specs, SystemClock.now()).await.expect("create");
        }

        // Each claimer has a pool of its own, as separate replicas would.
        let handed_out: Arc<Mutex<HashMap<durable_domain::RunId, usize>>> = Arc::default();
        let mut claimers = Vec::new();
        for _ in 0..CLAIMERS {
            let store = db.store(1).await;
            let queue = queue.clone();
            let handed_out = handed_out.clone();
            claimers.push(tokio::spawn(async move {
                loop {
                    // Any error (a deadlock above all) fails the test.
                    let claimed = store.runs_claim(&queue, &claim(25), SystemClock.now()).await.expect("claim");
                    if claimed.is_empty() {
                        // Everything was created up front and nothing is
                        // re-queued, so empty means every run is taken.
                        return;
                    }
                    let ids: Vec<_> = claimed.iter().map(|s| s.run.id).collect();
                    {
                        let mut seen = handed_out.lock().unwrap();
                        for id in &ids {
                            *seen.entry(*id).or_default() += 1;
                        }
                    }
                    let items = ids
                        .iter()
                        .map(|id| durable_domain::command::Completion::new(*id, Some(serde_json::json!("done"))))
                        .collect();
                    let answers = store.runs_complete(items, SystemClock.now()).await.expect("complete");
                    assert!(answers.iter().all(Result::is_ok), "a claimed run failed to complete: {answers:?}");
                }
            }));
        }
        for claimer in claimers {
            claimer.await.expect("claimer panicked");
        }

        let seen = std::mem::take(&mut *handed_out.lock().unwrap());
        assert_eq!(seen.len(), RUNS, "every run handed out");
        assert!(seen.values().all(|n| *n == 1), "a run was handed out twice");
        let counts: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, count(*) FROM runs GROUP BY status ORDER BY status")
                .fetch_all(setup.pool())
                .await
                .unwrap();
        assert_eq!(counts, vec![("completed".to_owned(), RUNS as i64)]);
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks WHERE status = 'completed'")
            .fetch_one(setup.pool())
            .await
            .unwrap();
        assert_eq!(done, RUNS as i64);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_commit_on_another_replica_wakes_local_waiters() {
        let db = test_database().await;
        let (notifier, listener) = PgNotifier::start(db.url()).await.expect("listen");
        // Another replica: its own pool; nothing calls our notifier locally.
        let other = db.store(1).await;
        let queue = queue(&other, "hinted").await;

        let mut latencies = Vec::new();
        for _ in 0..20 {
            let mut sub = notifier.subscribe(&queue);
            other.tasks_create(&queue, vec![spec("job")], SystemClock.now()).await.unwrap();
            let committed = Instant::now();
            tokio::time::timeout(StdDuration::from_secs(10), sub.notified())
                .await
                .expect("the NOTIFY of another replica's commit woke the waiter");
            latencies.push(committed.elapsed());
        }
        latencies.sort();
        eprintln!(
            "commit → wake-up over LISTEN/NOTIFY: min {:?}, median {:?}, max {:?}",
            latencies[0],
            latencies[latencies.len() / 2],
            latencies[latencies.len() - 1]
        );

        // A run that is not claimable yet sends no hint.
        let mut sub = notifier.subscribe(&queue);
        let mut later = spec("later");
        later.run_at = Some(SystemClock.now() + Duration::hours(1));
        other.tasks_create(&queue, vec![later], SystemClock.now()).await.unwrap();
        assert!(tokio::time::timeout(StdDuration::from_millis(300), sub.notified()).await.is_err());
        assert_eq!(notifier.reconnects(), 0);
        listener.shutdown().await;
    }

    /// A long-polling claimer as the engine runs one: subscribe, claim, wait
    /// for a hint. The fallback interval is long on purpose, so only a
    /// notification (or the wake-up after a reconnect) ends the wait early.
    async fn long_poll(store: PgStore, notifier: PgNotifier, queue: QueueName) -> Vec<TaskState> {
        loop {
            let mut sub = notifier.subscribe(&queue);
            match store.runs_claim(&queue, &claim(10), SystemClock.now()).await {
                Ok(claimed) if !claimed.is_empty() => return claimed,
                Ok(_) => {}
                // As the engine's waiters do: storage that was down is
                // asked again soon, not only when a notification comes (the
                // store may learn that the database is back a moment after
                // the listener does).
                Err(StoreError::Unavailable(_)) => {
                    tokio::time::sleep(StdDuration::from_millis(100)).await;
                    continue;
                }
                Err(e) => panic!("long poll: {e}"),
            }
            let _ = tokio::time::timeout(StdDuration::from_secs(60), sub.notified()).await;
        }
    }

    async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + StdDuration::from_secs(60);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn survives_a_server_restart() {
        let mut cluster = tokio::task::spawn_blocking(PgCluster::start).await.unwrap().expect("private cluster");
        let url = cluster.url();
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(StdDuration::from_secs(1))
            .connect(&url)
            .await
            .unwrap();
        migrate(&pool).await.unwrap();
        let store = PgStore::from_pool(pool);
        let config = ListenerConfig {
            backoff_initial: StdDuration::from_millis(50),
            backoff_max: StdDuration::from_millis(500),
            connect_timeout: StdDuration::from_secs(1),
            ..ListenerConfig::default()
        };
        let (notifier, listener) = PgNotifier::start_with(url.parse().unwrap(), config).await.unwrap();
        let queue = queue(&store, "restart").await;

        // Acknowledged before the stop: three tasks, all claimed, one done.
        let created = store.tasks_create(&queue, vec![spec("a"), spec("b"), spec("c")], SystemClock.now()).await;
        let created = created.unwrap().tasks;
        let claimed = store.runs_claim(&queue, &claim(10), SystemClock.now()).await.unwrap();
        assert_eq!(claimed.len(), 3);
        let done = claimed[0].run.id;
        let acked = store
            .runs_complete(
                vec![durable_domain::command::Completion::new(done, Some(serde_json::json!(42)))],
                SystemClock.now(),
            )
            .await;
        assert!(acked.unwrap()[0].is_ok());

        let poller = tokio::spawn(long_poll(store.clone(), notifier.clone(), queue.clone()));
        // A waiter on a queue nobody writes to: only the reconnect's
        // wake-everyone (notifications may have been missed) ends its wait.
        let mut quiet = notifier.subscribe(&name("quiet"));
        tokio::time::sleep(StdDuration::from_millis(200)).await;

        let mut cluster = tokio::task::spawn_blocking(move || {
            cluster.stop().expect("stop");
            cluster
        })
        .await
        .unwrap();
        eventually("the listener notices", || !notifier.is_listening()).await;
        assert!(matches!(store.ping().await, Err(StoreError::Unavailable(_))));
        let outage = store.tasks_create(&queue, vec![spec("lost")], SystemClock.now()).await;
        assert!(matches!(outage, Err(StoreError::Unavailable(_))), "{outage:?}");
        let outage = store.runs_claim(&queue, &claim(1), SystemClock.now()).await;
        assert!(matches!(outage, Err(StoreError::Unavailable(_))), "{outage:?}");

        let cluster = tokio::task::spawn_blocking(move || {
            cluster.start_again().expect("start again");
            cluster
        })
        .await
        .unwrap();
        eventually("the listener is back", || notifier.reconnects() >= 1 && notifier.is_listening()).await;
        tokio::time::timeout(StdDuration::from_secs(10), quiet.notified())
            .await
            .expect("every waiter re-checks after a reconnect");

        // A new task, committed by another replica, wakes a waiter again.
        let mut sub = notifier.subscribe(&queue);
        let other = PgStore::connect(&url, 1).await.unwrap();
        let fresh = other.tasks_create(&queue, vec![spec("fresh")], SystemClock.now()).await.unwrap().tasks;
        tokio::time::timeout(StdDuration::from_secs(10), sub.notified()).await.expect("woken after the restart");
        let polled =
            tokio::time::timeout(StdDuration::from_secs(30), poller).await.expect("the long poll ended").unwrap();
        assert_eq!(polled.iter().map(|s| s.task.id).collect::<Vec<_>>(), vec![fresh[0].task_id]);

        // Nothing acknowledged before the stop was lost.
        let done_task = store.task_get(claimed[0].task.id).await.unwrap();
        assert_eq!(done_task.status, TaskStatus::Completed);
        assert_eq!(done_task.result, Some(serde_json::json!(42)));
        for held in &claimed[1..] {
            let filter = RunFilter { task_id: Some(held.task.id), limit: 10, ..Default::default() };
            let runs = store.run_list(&filter).await.unwrap().items;
            assert_eq!(runs.iter().map(|r| r.status).collect::<Vec<_>>(), vec![RunStatus::Claimed]);
        }
        assert_eq!(created.len(), 3);
        let tasks: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks").fetch_one(store.pool()).await.unwrap();
        assert_eq!(tasks, 4, "the three from before the stop and the fresh one; the outage's create is not there");
        listener.shutdown().await;
        drop(cluster);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replicas_migrating_at_once_do_not_collide() {
        let db = empty_database().await;
        let pools: Vec<_> = futures::future::join_all((0..4).map(|_| db.pool(1))).await;
        let results = futures::future::join_all(pools.iter().map(migrate)).await;
        for result in results {
            result.expect("concurrent migrate");
        }
        migrate(&pools[0]).await.expect("migrating again changes nothing");
        let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&pools[0])
            .await
            .unwrap();
        assert_eq!(applied, durable_postgres::MIGRATOR.iter().count() as i64);
    }

    #[tokio::test]
    async fn the_claim_statement_writes_what_machine_claim_decides() {
        let db = test_database().await;
        let store = db.store(2).await;
        let queue = queue(&store, "parity").await;
        let mut timed = spec("timed");
        timed.start_timeout = Some(Duration::seconds(30));
        let created = store.tasks_create(&queue, vec![timed], SystemClock.now()).await.unwrap().tasks;
        let task = store.task_get(created[0].task_id).await.unwrap();
        let filter = RunFilter { task_id: Some(task.id), limit: 1, ..Default::default() };
        let run = store.run_list(&filter).await.unwrap().items.remove(0);

        let now = SystemClock.now();
        let mut expected = TaskState { task, run };
        machine::claim(&mut expected, &claim(1), now).unwrap();
        let got = store.runs_claim(&queue, &claim(1), now).await.unwrap();
        assert_eq!(got, vec![expected.clone()]);
        assert_eq!(store.task_get(expected.task.id).await.unwrap(), expected.task, "as stored");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn racing_creates_with_one_idempotency_key_make_one_task() {
        let db = test_database().await;
        let setup = db.store(1).await;
        let queue = queue(&setup, "dedup").await;
        let mut creates = Vec::new();
        for _ in 0..8 {
            let store = db.store(1).await;
            let queue = queue.clone();
            creates.push(tokio::spawn(async move {
                let mut keyed = spec("once");
                keyed.idempotency_key = Some("order-17".into());
                store.tasks_create(&queue, vec![keyed], SystemClock.now()).await.unwrap().tasks.remove(0)
            }));
        }
        let created: Vec<_> = futures::future::join_all(creates).await.into_iter().map(Result::unwrap).collect();
        assert_eq!(created.iter().filter(|c| !c.deduplicated).count(), 1);
        assert!(created.iter().all(|c| c.task_id == created[0].task_id && c.run_id == created[0].run_id));
        let (tasks, runs): (i64, i64) =
            sqlx::query_as("SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM runs)")
                .fetch_one(setup.pool())
                .await
                .unwrap();
        assert_eq!((tasks, runs), (1, 1));
    }

    #[tokio::test]
    async fn the_timeout_deadline_moves_on_once_a_task_is_claimed() {
        let db = test_database().await;
        let store = db.store(2).await;
        let queue = queue(&store, "deadline").await;
        let start = SystemClock.now();
        let mut timed = spec("timed");
        timed.start_timeout = Some(Duration::seconds(10));
        timed.execution_timeout = Some(Duration::seconds(100));
        let created = store.tasks_create(&queue, vec![timed], start).await.unwrap().tasks;
        let deadline = async || -> Option<time::OffsetDateTime> {
            sqlx::query_scalar("SELECT deadline FROM tasks").fetch_one(store.pool()).await.unwrap()
        };
        assert_eq!(deadline().await, Some(start + Duration::seconds(10)));
        // The claim statement leaves the stored deadline behind (a lower
        // bound); the sweeper then lets the domain decide and moves it on.
        store.runs_claim(&queue, &claim(1), start + Duration::seconds(1)).await.unwrap();
        assert_eq!(store.timeouts_enforce(start + Duration::seconds(11), 10).await.unwrap(), 0);
        assert_eq!(deadline().await, Some(start + Duration::seconds(100)));
        assert_eq!(store.timeouts_enforce(start + Duration::seconds(100), 10).await.unwrap(), 1);
        assert_eq!(store.task_get(created[0].task_id).await.unwrap().status, TaskStatus::Canceled);
        assert_eq!(deadline().await, None);
    }

    /// The batched statements stay key look-ups whatever the planner
    /// guesses: on a fresh, never analysed table it would hash a thousand
    /// ids against a full scan of `runs`, and a prepared statement keeps
    /// that plan long after the table has grown.
    #[tokio::test]
    async fn a_thousand_ids_are_looked_up_by_key_on_a_fresh_table() {
        let db = test_database().await;
        let store = db.store(1).await;
        let queue = queue(&store, "plans").await;
        let created = store.tasks_create(&queue, (0..200).map(|_| spec("p")).collect(), SystemClock.now()).await;
        let mut ids: Vec<uuid::Uuid> = created.unwrap().tasks.iter().map(|c| c.run_id.as_uuid()).collect();
        ids.extend((0..800).map(|_| uuid::Uuid::now_v7()));
        let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {}", durable_postgres::LOCK_RUNS_SQL))
            .bind(&ids)
            .fetch_all(store.pool())
            .await
            .unwrap();
        let plan = plan.join("\n");
        assert!(!plan.contains("Hash Join") && !plan.contains("Seq Scan on runs"), "{plan}");
        assert!(plan.contains("Index Scan using runs_pkey"), "{plan}");
    }

    /// The call answers `Unavailable`, and soon: before, each waited out
    /// the pool's 5 s acquire timeout (a long-poll claim twice that).
    async fn unavailable_soon<T: std::fmt::Debug>(what: &str, call: impl Future<Output = Result<T, StoreError>>) {
        let answer = tokio::time::timeout(StdDuration::from_secs(3), call)
            .await
            .unwrap_or_else(|_| panic!("{what} did not answer within 3 s"));
        assert!(matches!(answer, Err(StoreError::Unavailable(_))), "{what}: {answer:?}");
    }

    async fn stop(mut cluster: PgCluster) -> PgCluster {
        tokio::task::spawn_blocking(move || {
            cluster.stop().expect("stop");
            cluster
        })
        .await
        .unwrap()
    }

    async fn start_again(mut cluster: PgCluster) -> PgCluster {
        tokio::task::spawn_blocking(move || {
            cluster.start_again().expect("start again");
            cluster
        })
        .await
        .unwrap()
    }

    async fn until_ready(store: &PgStore) {
        let deadline = Instant::now() + StdDuration::from_secs(60);
        while let Err(e) = store.ping().await {
            assert!(Instant::now() < deadline, "the store did not see the server again: {e}");
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_answer_unavailable_at_once_while_the_server_is_down() {
        let cluster = tokio::task::spawn_blocking(PgCluster::start).await.unwrap().expect("private cluster");
        let url = cluster.url();
        // The server's pool settings: a 5 s acquire timeout.
        let store = PgStore::connect(&url, 4).await.unwrap();
        migrate(store.pool()).await.unwrap();
        let queue = queue(&store, "outage").await;
        store.tasks_create(&queue, vec![spec("before")], SystemClock.now()).await.unwrap();
        // Another replica, idle through the stop.
        let idle = PgStore::connect(&url, 2).await.unwrap();

        let cluster = stop(cluster).await;
        // The first calls meet the connections the shutdown ended; the
        // later ones find the pool empty and the server refusing.
        for _ in 0..3 {
            unavailable_soon("ping", store.ping()).await;
            unavailable_soon("create", store.tasks_create(&queue, vec![spec("lost")], SystemClock.now())).await;
            unavailable_soon("stats", store.queue_stats(&queue, SystemClock.now())).await;
            unavailable_soon("claim", store.runs_claim(&queue, &claim(1), SystemClock.now())).await;
            unavailable_soon("next due", store.queue_next_due(&queue)).await;
            unavailable_soon("complete", store.runs_complete(vec![], SystemClock.now())).await;
        }
        unavailable_soon(
            "create on the idle replica",
            idle.tasks_create(&queue, vec![spec("lost")], SystemClock.now()),
        )
        .await;
        unavailable_soon("ping of the idle replica", idle.ping()).await;

        // Back without a restart of ours.
        let cluster = start_again(cluster).await;
        until_ready(&store).await;
        let created = store.tasks_create(&queue, vec![spec("after")], SystemClock.now()).await.unwrap().tasks;
        let claimed = store.runs_claim(&queue, &claim(10), SystemClock.now()).await.unwrap();
        assert_eq!(claimed.len(), 2, "the task from before the stop and the new one");
        let items = claimed.iter().map(|c| durable_domain::command::Completion::new(c.run.id, None)).collect();
        let answers = store.runs_complete(items, SystemClock.now()).await.unwrap();
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        assert_eq!(store.task_get(created[0].task_id).await.unwrap().status, TaskStatus::Completed);
        until_ready(&idle).await;
        assert_eq!(idle.queue_stats(&queue, SystemClock.now()).await.unwrap().completed_runs, 2);
        let tasks: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks").fetch_one(store.pool()).await.unwrap();
        assert_eq!(tasks, 2, "no create of the outage was written");
        drop(cluster);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readyz_creates_and_long_polls_answer_503_at_once_while_the_server_is_down() {
        let cluster = tokio::task::spawn_blocking(PgCluster::start).await.unwrap().expect("private cluster");
        let settings = Settings { database_url: cluster.url(), ..TestServer::settings() };
        let server = TestServer::start(settings, None).await;
        let http = reqwest::Client::new();
        let base = server.base_url();
        let get = |path: &str| http.get(format!("{base}{path}")).timeout(StdDuration::from_secs(3)).send();
        let post = |path: &str, body: serde_json::Value| {
            http.post(format!("{base}/api/v1{path}")).json(&body).timeout(StdDuration::from_secs(3)).send()
        };
        let created = post("/queues", serde_json::json!({"name": "probed"})).await.unwrap();
        assert_eq!(created.status(), 201);
        assert_eq!(get("/readyz").await.unwrap().status(), 200);

        let cluster = stop(cluster).await;
        for _ in 0..3 {
            // A timeout here fails the test: the probe must see a 503.
            assert_eq!(get("/readyz").await.expect("/readyz answers").status(), 503);
            let create = post("/queues/probed/tasks", serde_json::json!({"task_name": "x"}));
            assert_eq!(create.await.expect("a create answers").status(), 503);
            let long_poll = serde_json::json!({"limit": 1, "claim_timeout": 30, "long_poll_seconds": 30});
            let claim = post("/queues/probed/tasks/claim", long_poll).await.expect("a long poll answers");
            assert_eq!(claim.status(), 503);
            assert_eq!(get("/api/v1/queues/probed/stats").await.expect("stats answer").status(), 503);
        }

        let cluster = start_again(cluster).await;
        let deadline = Instant::now() + StdDuration::from_secs(60);
        while get("/readyz").await.map(|r| r.status()).ok() != Some(reqwest::StatusCode::OK) {
            assert!(Instant::now() < deadline, "/readyz did not turn ready again");
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        let create = post("/queues/probed/tasks", serde_json::json!({"task_name": "x"})).await.unwrap();
        assert_eq!(create.status(), 201);
        let claim = post("/queues/probed/tasks/claim", serde_json::json!({"limit": 1, "claim_timeout": 30})).await;
        let claimed: serde_json::Value = claim.unwrap().json().await.unwrap();
        assert_eq!(claimed["tasks"].as_array().map(Vec::len), Some(1), "{claimed}");
        server.stop().await;
        drop(cluster);
    }

    /// Ends every session on `database` but the admin connection's own, and
    /// waits until they are gone; returns how many there were.
    async fn kill_backends(admin: &mut PgConnection, database: &str) -> usize {
        let pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
        )
        .bind(database)
        .fetch_all(&mut *admin)
        .await
        .unwrap();
        sqlx::query("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid")
            .bind(&pids)
            .execute(&mut *admin)
            .await
            .unwrap();
        let deadline = Instant::now() + StdDuration::from_secs(10);
        loop {
            let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)")
                .bind(&pids)
                .fetch_one(&mut *admin)
                .await
                .unwrap();
            if left == 0 {
                return pids.len();
            }
            assert!(Instant::now() < deadline, "{left} terminated backends still there");
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
    }

    /// Opens `n` pooled connections at once and hands them back.
    async fn fill_pool(store: &PgStore, n: usize) {
        let sleeps = (0..n).map(|_| sqlx::query("SELECT pg_sleep(0.05)").execute(store.pool()));
        for slept in futures::future::join_all(sleeps).await {
            slept.unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn killed_backends_cost_no_error_and_write_nothing_twice() {
        const POOL: usize = 6;
        const ROUNDS: usize = 3;
        let db = test_database().await;
        // The server's pool settings.
        let store = PgStore::connect(db.url(), POOL as u32).await.unwrap();
        let queue = queue(&store, "killed").await;
        let mut admin = PgConnection::connect(db.url()).await.unwrap();

        let mut keys = 0;
        for round in 0..ROUNDS {
            fill_pool(&store, POOL).await;
            assert!(kill_backends(&mut admin, db.name()).await >= POOL, "the pool's sessions were ended");
            // At once, each on a dead connection: plain creates (one
            // autocommit statement) and keyed ones (a transaction).
            let creates = (0..POOL).map(|i| {
                let mut task = spec("job");
                if i % 2 == 0 {
                    keys += 1;
                    task.idempotency_key = Some(format!("key-{keys}"));
                }
                store.tasks_create(&queue, vec![task], SystemClock.now())
            });
            for created in futures::future::join_all(creates).await {
                created.unwrap_or_else(|e| panic!("create in round {round}: {e}"));
            }

            fill_pool(&store, POOL).await;
            kill_backends(&mut admin, db.name()).await;
            let mut claimed = Vec::new();
            for _ in 0..POOL {
                let one = store.runs_claim(&queue, &claim(1), SystemClock.now()).await;
                claimed.extend(one.unwrap_or_else(|e| panic!("claim in round {round}: {e}")));
            }
            assert_eq!(claimed.len(), POOL, "every new run claimed once");

            fill_pool(&store, POOL).await;
            kill_backends(&mut admin, db.name()).await;
            let completes = claimed.iter().map(|c| {
                store.runs_complete(vec![durable_domain::command::Completion::new(c.run.id, None)], SystemClock.now())
            });
            for answers in futures::future::join_all(completes).await {
                let answers = answers.unwrap_or_else(|e| panic!("complete in round {round}: {e}"));
                assert!(answers.iter().all(Result::is_ok), "{answers:?}");
            }
        }

        let (tasks, runs, completed): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM runs),
                    (SELECT count(*) FROM tasks WHERE status = 'completed')",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap();
        let expected = (POOL * ROUNDS) as i64;
        assert_eq!((tasks, runs, completed), (expected, expected, expected), "each write exactly once");
    }

    /// The safety side of the retry: when the reply to a write is lost,
    /// the server may have committed it, so the call is not run again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_whose_reply_was_lost_is_not_written_again() {
        let db = test_database().await;
        let options = durable_postgres::connect_options(db.url()).unwrap();
        let relay = ReplyLoser::start(&options).await;
        let store =
            PgStore::connect_with(relay.options(&options), PgPoolOptions::new().max_connections(2)).await.unwrap();
        let queue = queue(&store, "lost-replies").await;

        // A plain create is one statement, committed on its own.
        relay.lose_reply_to(LoseReplyTo::Execute);
        let lost = store.tasks_create(&queue, vec![spec("plain")], SystemClock.now()).await;
        assert!(matches!(lost, Err(StoreError::Unavailable(_))), "{lost:?}");
        // A keyed create is a transaction; the reply to its COMMIT is lost.
        relay.lose_reply_to(LoseReplyTo::Commit);
        let mut keyed = spec("keyed");
        keyed.idempotency_key = Some("once".into());
        let lost = store.tasks_create(&queue, vec![keyed], SystemClock.now()).await;
        assert!(matches!(lost, Err(StoreError::Unavailable(_))), "{lost:?}");
        assert_eq!(relay.lost(), 2);

        let direct = db.pool(1).await;
        let names: Vec<String> =
            sqlx::query_scalar("SELECT task_name FROM tasks ORDER BY task_name").fetch_all(&direct).await.unwrap();
        assert_eq!(names, ["keyed", "plain"], "each committed by the server once, neither written again");
        until_ready(&store).await;
        store.tasks_create(&queue, vec![spec("after")], SystemClock.now()).await.expect("the store goes on");
    }

    fn keyed(key: &str) -> TaskSpec {
        TaskSpec { concurrency_key: Some(key.to_owned()), ..spec("keyed") }
    }

    /// Replicas with pools of their own race over keyed runs while an
    /// auditor on another connection counts the claimed runs per key.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn replicas_on_separate_pools_never_exceed_a_key_limit() {
        const RUNS: usize = 2_000;
        let db = test_database().await;
        let setup = db.store(2).await;
        let flow = durable_domain::flow::FlowLimits { key_concurrency_limit: 2, concurrency_limit: None };
        let queue = Queue { name: name("keys"), created_at: SystemClock.now(), cleanup: Default::default(), flow };
        let queue = setup.queue_create(queue, 128).await.unwrap().name;
        for chunk in 0..RUNS / 1000 {
            let specs = (0..1000).map(|i| keyed(&format!("k{}", (chunk * 1000 + i) % 20))).collect();
            setup.tasks_create(&queue, specs, SystemClock.now()).await.expect("create");
        }
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let auditor = {
            let (pool, done) = (db.pool(1).await, done.clone());
            tokio::spawn(async move {
                let mut audits = 0;
                while done.load(std::sync::atomic::Ordering::SeqCst) < RUNS {
                    let over: Vec<(String, i64)> = sqlx::query_as(
                        "SELECT concurrency_key, count(*) FROM runs WHERE status = 'claimed' \
                         GROUP BY concurrency_key HAVING count(*) > 2",
                    )
                    .fetch_all(&pool)
                    .await
                    .unwrap();
                    assert!(over.is_empty(), "keys over their limit: {over:?}");
                    audits += 1;
                }
                audits
            })
        };
        let mut claimers = Vec::new();
        for _ in 0..8 {
            let (store, queue, done) = (db.store(1).await, queue.clone(), done.clone());
            claimers.push(tokio::spawn(async move {
                let mut mine = 0;
                while done.load(std::sync::atomic::Ordering::SeqCst) < RUNS {
                    let claimed = store.runs_claim(&queue, &claim(10), SystemClock.now()).await.expect("claim");
                    if claimed.is_empty() {
                        tokio::time::sleep(StdDuration::from_millis(1)).await;
                        continue;
                    }
                    let items =
                        claimed.iter().map(|s| durable_domain::command::Completion::new(s.run.id, None)).collect();
                    let answers = store.runs_complete(items, SystemClock.now()).await.expect("complete");
                    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
                    done.fetch_add(claimed.len(), std::sync::atomic::Ordering::SeqCst);
                    mine += claimed.len();
                }
                mine
            }));
        }
        let mut handed = 0;
        for claimer in claimers {
            handed += claimer.await.expect("claimer panicked");
        }
        assert!(auditor.await.unwrap() > 0);
        assert_eq!(handed, RUNS, "every run handed out once");
        let completed: i64 = sqlx::query_scalar("SELECT count(*) FROM runs WHERE status = 'completed'")
            .fetch_one(setup.pool())
            .await
            .unwrap();
        assert_eq!(completed, RUNS as i64);
    }

    fn minute_schedule(name: &str, queue: &QueueName, now: time::OffsetDateTime) -> durable_domain::schedule::Schedule {
        let new = durable_domain::schedule::NewSchedule {
            name: name.to_owned(),
            queue_name: queue.as_str().to_owned(),
            cron: "* * * * *".into(),
            timezone: None,
            task: durable_domain::command::NewTask { task_name: "tick".into(), ..Default::default() },
            catch_up: None,
            paused: None,
        };
        new.validate(now).expect("valid schedule")
    }

    /// Four replicas with pools of their own sweep the same schedules at the
    /// same instants: every tick makes one task.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn replicas_on_separate_pools_fire_each_tick_once() {
        let db = test_database().await;
        let setup = db.store(2).await;
        let queue = queue(&setup, "cron").await;
        let t0 = time::macros::datetime!(2030-01-01 00:00 UTC);
        for i in 0..5 {
            setup.schedule_create(minute_schedule(&format!("s{i}"), &queue, t0)).await.unwrap();
        }
        let mut replicas = Vec::new();
        for _ in 0..4 {
            replicas.push(Arc::new(db.store(2).await));
        }
        let grace = Duration::MINUTE;
        let mut fired = 0;
        for minute in 1..=30 {
            let now = t0 + Duration::minutes(minute);
            let sweeps: Vec<_> = replicas
                .iter()
                .map(|r| {
                    let r = r.clone();
                    tokio::spawn(async move { r.schedules_fire(now, grace, 100).await.expect("fire") })
                })
                .collect();
            for sweep in sweeps {
                fired += sweep.await.unwrap().ticks;
            }
        }
        assert_eq!(fired, 5 * 30, "each tick reported fired by exactly one replica");
        let (tasks, distinct): (i64, i64) =
            sqlx::query_as("SELECT count(*), count(DISTINCT idempotency_key) FROM tasks WHERE queue = $1")
                .bind(queue.as_str())
                .fetch_one(setup.pool())
                .await
                .unwrap();
        assert_eq!((tasks, distinct), (150, 150));
    }

    /// A replica that dies while it holds a schedule's row (mid-tick) commits
    /// nothing: the others skip the locked row meanwhile, and once its
    /// connection is gone the next sweep fires the tick, once.
    #[tokio::test]
    async fn a_replica_killed_mid_tick_leaves_the_tick_to_the_next_sweep() {
        let db = test_database().await;
        let store = db.store(2).await;
        let queue = queue(&store, "cron").await;
        let t0 = time::macros::datetime!(2030-01-01 00:00 UTC);
        store.schedule_create(minute_schedule("mid-tick", &queue, t0)).await.unwrap();
        let mut dying = PgConnection::connect(db.url()).await.unwrap();
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut dying).await.unwrap();
        sqlx::query("BEGIN").execute(&mut dying).await.unwrap();
        sqlx::query("SELECT * FROM schedules WHERE name = 'mid-tick' FOR UPDATE").execute(&mut dying).await.unwrap();
        let tick = t0 + Duration::MINUTE;
        let meanwhile = store.schedules_fire(tick, Duration::MINUTE, 100).await.unwrap();
        assert_eq!(meanwhile.ticks, 0, "the row is held: another replica is firing it");
        let mut admin = PgConnection::connect(db.url()).await.unwrap();
        sqlx::query("SELECT pg_terminate_backend($1)").bind(pid).execute(&mut admin).await.unwrap();
        drop(dying);
        let mut fired = 0;
        let deadline = Instant::now() + StdDuration::from_secs(10);
        while fired == 0 && Instant::now() < deadline {
            fired = store.schedules_fire(tick + Duration::SECOND, Duration::MINUTE, 100).await.unwrap().ticks;
        }
        assert_eq!(fired, 1, "the next sweep fires the tick the dead replica held");
        let tasks: i64 = sqlx::query_scalar("SELECT count(*) FROM tasks").fetch_one(store.pool()).await.unwrap();
        assert_eq!(tasks, 1);
    }

    /// A schedule row nobody can read (written by hand, say) is logged and
    /// left; the schedules beside it fire.
    #[tokio::test]
    async fn a_bad_schedule_row_does_not_stop_the_others() {
        let db = test_database().await;
        let store = db.store(2).await;
        let queue = queue(&store, "cron").await;
        let t0 = time::macros::datetime!(2030-01-01 00:00 UTC);
        store.schedule_create(minute_schedule("bad", &queue, t0)).await.unwrap();
        store.schedule_create(minute_schedule("good", &queue, t0)).await.unwrap();
        sqlx::query("UPDATE schedules SET cron = 'not a cron' WHERE name = 'bad'").execute(store.pool()).await.unwrap();
        let fired = store.schedules_fire(t0 + Duration::MINUTE, Duration::MINUTE, 100).await.expect("the pass goes on");
        assert_eq!(fired.ticks, 1);
        let good = store.schedule_get(&durable_domain::schedule::ScheduleName::parse("n", "good").unwrap()).await;
        assert_eq!(good.unwrap().next_tick, Some(t0 + Duration::minutes(2)));
    }

    /// A claim that expires frees its key's slot when the sweeper of another
    /// replica (another pool) expires it, and the claimer of a third sees it.
    #[tokio::test]
    async fn the_sweeper_of_another_replica_frees_an_expired_key_slot() {
        let db = test_database().await;
        let (claimer, sweeper) = (db.store(1).await, db.store(1).await);
        let queue = queue(&claimer, "expiring").await;
        let now = SystemClock.now();
        claimer.tasks_create(&queue, vec![keyed("k"), keyed("k")], now).await.unwrap();
        let short = Claim { claim_timeout: Duration::seconds(1), ..claim(10) };
        let held = claimer.runs_claim(&queue, &short, now).await.unwrap();
        assert_eq!(held.len(), 1, "one run of the key at a time");
        let later = now + Duration::seconds(2);
        assert!(claimer.runs_claim(&queue, &claim(10), later).await.unwrap().is_empty(), "expired but not swept");
        let expired = sweeper.claims_expire(&machine::Policy::default(), later, 100).await.unwrap();
        assert_eq!(expired.total(), 1);
        let next = claimer.runs_claim(&queue, &claim(10), later).await.unwrap();
        assert_eq!(next.len(), 1, "the slot was freed");
        assert_ne!(next[0].run.id, held[0].run.id);
    }

    #[tokio::test]
    async fn a_closed_pool_is_unavailable_not_a_panic() {
        let db = test_database().await;
        let store = db.store(1).await;
        store.pool().close().await;
        assert!(matches!(store.ping().await, Err(StoreError::Unavailable(_))));
        assert!(matches!(store.queue_list().await, Err(StoreError::Unavailable(_))));
    }
}
