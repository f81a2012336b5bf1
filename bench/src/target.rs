//! What the load goes to: a running server over HTTP (`durable-client`), or
//! `durable_app::Engine` in this process on a store of our choosing. The
//! scenarios see only the few operations they need, with run ids as plain
//! UUIDs.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use durable_app::{Engine, EngineConfig};
use durable_client::{ClaimRequest, Client, CompleteOutcome, CompleteRun, CreateQueue, CreateTask, Finished};
use durable_domain::RunId;
use durable_domain::command::{self, Completion, NewQueue, NewTask};
use durable_memory::MemoryStore;
use durable_ports::service::Finished as EngineFinished;
use durable_ports::{Notifier, Service, ServiceError, Store, SystemClock};
use durable_postgres::{ListenerTask, PgNotifier, PgStore};
use durable_sqlite::SqliteStore;
use uuid::Uuid;

use crate::cli::TargetArgs;

/// How long a claim holds its runs; far longer than any scenario needs.
const CLAIM_TIMEOUT_SECONDS: u64 = 300;

/// The task every scenario creates: a no-op.
const TASK_NAME: &str = "noop";

#[derive(Debug)]
pub(crate) enum Target {
    Http(Client),
    InProcess(InProcess),
}

#[derive(Debug)]
pub(crate) struct InProcess {
    engine: Engine,
    closer: Closer,
}

#[derive(Debug)]
enum Closer {
    Nothing,
    Postgres(ListenerTask),
    Sqlite(Arc<SqliteStore>),
}

/// The queue counts the steady scenario samples.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Depth {
    pub pending: u64,
    pub claimed: u64,
}

impl Target {
    pub(crate) async fn open(args: &TargetArgs) -> anyhow::Result<Self> {
        if !args.in_process {
            let mut builder = Client::builder(&args.server).retries(0);
            if let Some(token) = &args.token {
                builder = builder.token(token);
            }
            let client = builder.build().context("building the HTTP client")?;
            return Ok(Self::Http(client));
        }
        let Some(url) = args.database_url.as_deref() else {
            bail!("--in-process needs --database-url (postgres://…, sqlite://path or memory:)");
        };
        let (store, notifier, closer): (Arc<dyn Store>, Arc<dyn Notifier>, Closer) = if url.starts_with("postgres") {
            let store = PgStore::connect(url, args.pool_size).await.context("connecting to PostgreSQL")?;
            durable_postgres::migrate(store.pool()).await.context("migrating PostgreSQL")?;
            let (notifier, listener) = PgNotifier::start(url).await.context("starting LISTEN")?;
            (Arc::new(store), Arc::new(notifier), Closer::Postgres(listener))
        } else if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let store = Arc::new(SqliteStore::open(PathBuf::from(path)).await.context("opening SQLite")?);
            (store.clone(), Arc::new(store.notifier()), Closer::Sqlite(store))
        } else if url.starts_with("memory") {
            let store = MemoryStore::new();
            let notifier = Arc::new(store.notifier());
            (Arc::new(store), notifier, Closer::Nothing)
        } else {
            bail!("unsupported database URL {url:?}: use postgres://…, sqlite://path or memory:");
        };
        let engine = Engine::new(store, notifier, Arc::new(SystemClock), EngineConfig::default());
        Ok(Self::InProcess(InProcess { engine, closer }))
    }

    /// `http` or `in-process`.
    pub(crate) fn mode(&self) -> &'static str {
        match self {
            Self::Http(_) => "http",
            Self::InProcess(_) => "in-process",
        }
    }

    /// Whether a call may be abandoned half-way. Over HTTP that only drops a
    /// request; in process it would drop a store transaction mid-flight.
    pub(crate) fn abandon_is_safe(&self) -> bool {
        matches!(self, Self::Http(_))
    }

    /// In process: ends every waiting long poll (they answer empty) and makes
    /// later claims answer at once, for good. Over HTTP: nothing.
    pub(crate) fn end_long_polls(&self) {
        if let Self::InProcess(p) = self {
            p.engine.shutdown();
        }
    }

    pub(crate) async fn close(self) {
        if let Self::InProcess(InProcess { engine, closer }) = self {
            engine.shutdown();
            match closer {
                Closer::Nothing => {}
                Closer::Postgres(listener) => listener.shutdown().await,
                Closer::Sqlite(store) => store.close().await,
            }
        }
    }

    pub(crate) async fn create_queue(&self, name: &str) -> anyhow::Result<()> {
        match self {
            // A queue given with --queue may exist already (made with the
            // settings a scenario should run under): use it as it is.
            Self::Http(client) => match client.create_queue(&CreateQueue::new(name)).await {
                Err(error) if error.is_conflict() => {}
                other => drop(other?),
            },
            Self::InProcess(p) => {
                match p.engine.create_queue(NewQueue { name: name.into(), ..NewQueue::default() }).await {
                    Err(ServiceError::Conflict(_)) => {}
                    other => drop(other?),
                }
            }
        }
        Ok(())
    }

    /// Creates a queue with a key limit (`key_concurrency_limit`).
    pub(crate) async fn create_keyed_queue(&self, name: &str, key_limit: u32) -> anyhow::Result<()> {
        match self {
            Self::Http(client) => {
                drop(client.create_queue(&CreateQueue::new(name).key_concurrency_limit(key_limit)).await?);
            }
            Self::InProcess(p) => {
                let new = NewQueue {
                    name: name.into(),
                    key_concurrency_limit: Some(i64::from(key_limit)),
                    ..NewQueue::default()
                };
                drop(p.engine.create_queue(new).await?);
            }
        }
        Ok(())
    }

    /// Creates one no-op task per key, in one call; returns their run ids.
    pub(crate) async fn create_keyed(&self, queue: &str, keys: &[String]) -> anyhow::Result<Vec<Uuid>> {
        Ok(match self {
            Self::Http(client) => {
                let tasks: Vec<CreateTask> =
                    keys.iter().map(|key| CreateTask::new(TASK_NAME).concurrency_key(key.clone())).collect();
                client.create_tasks(queue, &tasks).await?.into_iter().map(|c| c.run_id).collect()
            }
            Self::InProcess(p) => {
                let tasks = keys.iter().map(|key| NewTask { concurrency_key: Some(key.clone()), ..noop() }).collect();
                p.engine.create_tasks(queue.into(), tasks).await?.into_iter().map(|c| c.run_id.as_uuid()).collect()
            }
        })
    }

    /// Creates `n` no-op tasks in one call (the batch endpoint when `n > 1`)
    /// and returns their run ids.
    pub(crate) async fn create(&self, queue: &str, n: usize) -> anyhow::Result<Vec<Uuid>> {
        Ok(match self {
            Self::Http(client) if n == 1 => vec![client.create_task(queue, &CreateTask::new(TASK_NAME)).await?.run_id],
            Self::Http(client) => {
                let tasks = vec![CreateTask::new(TASK_NAME); n];
                client.create_tasks(queue, &tasks).await?.into_iter().map(|c| c.run_id).collect()
            }
            Self::InProcess(p) if n == 1 => {
                vec![p.engine.create_task(queue.into(), noop()).await?.run_id.as_uuid()]
            }
            Self::InProcess(p) => {
                let tasks = vec![noop(); n];
                p.engine.create_tasks(queue.into(), tasks).await?.into_iter().map(|c| c.run_id.as_uuid()).collect()
            }
        })
    }

    /// Claims up to `limit` runs, long-polling up to `long_poll` seconds
    /// (0: answer at once).
    pub(crate) async fn claim(
        &self,
        queue: &str,
        limit: u32,
        long_poll: u64,
        worker: &str,
    ) -> anyhow::Result<Vec<Uuid>> {
        Ok(match self {
            Self::Http(client) => {
                let request = http_claim(limit, long_poll, worker);
                client.claim(queue, &request).await?.into_iter().map(|t| t.run_id).collect()
            }
            Self::InProcess(p) => {
                let request = engine_claim(limit, long_poll, worker);
                p.engine.claim(queue.into(), request).await?.into_iter().map(|s| s.run.id.as_uuid()).collect()
            }
        })
    }

    /// Completes `finished` (each on its own), then claims as [`Target::claim`]
    /// does, in one call: returns how many of `finished` completed, and the
    /// runs claimed.
    pub(crate) async fn claim_after(
        &self,
        queue: &str,
        limit: u32,
        long_poll: u64,
        worker: &str,
        finished: &[Uuid],
    ) -> anyhow::Result<(usize, Vec<Uuid>)> {
        if finished.is_empty() {
            return Ok((0, self.claim(queue, limit, long_poll, worker).await?));
        }
        Ok(match self {
            Self::Http(client) => {
                let request = http_claim(limit, long_poll, worker);
                let complete = finished.iter().map(|run| CompleteRun::new(*run, None)).collect();
                let handoff = client.claim_after(queue, &request, &Finished { complete, fail: Vec::new() }).await?;
                let completed =
                    handoff.completed.iter().filter(|o| matches!(o, CompleteOutcome::Completed { .. })).count();
                (completed, handoff.tasks.into_iter().map(|t| t.run_id).collect())
            }
            Self::InProcess(p) => {
                let request = engine_claim(limit, long_poll, worker);
                let complete = finished.iter().map(|run| Completion::new(RunId::from_uuid(*run), None)).collect();
                let handoff = p
                    .engine
                    .finish_and_claim(queue.into(), EngineFinished { complete, fail: Vec::new() }, request)
                    .await?;
                let completed = handoff.completed.iter().filter(|a| a.is_ok()).count();
                (completed, handoff.claimed.into_iter().map(|s| s.run.id.as_uuid()).collect())
            }
        })
    }

    /// Completes `runs`: in one batch call, or one call per run. Returns how
    /// many completed (the rest were rejected).
    pub(crate) async fn complete(&self, runs: &[Uuid], batch: bool) -> anyhow::Result<usize> {
        if runs.is_empty() {
            return Ok(0);
        }
        if !batch {
            for run in runs {
                match self {
                    Self::Http(client) => {
                        client.complete_run(*run, None).await?;
                    }
                    Self::InProcess(p) => p.engine.complete_run(RunId::from_uuid(*run), None).await?,
                }
            }
            return Ok(runs.len());
        }
        Ok(match self {
            Self::Http(client) => {
                let items: Vec<_> = runs.iter().map(|run| CompleteRun::new(*run, None)).collect();
                let outcomes = client.complete_runs(&items).await?;
                outcomes.iter().filter(|o| matches!(o, CompleteOutcome::Completed { .. })).count()
            }
            Self::InProcess(p) => {
                let items = runs.iter().map(|run| Completion::new(RunId::from_uuid(*run), None)).collect();
                p.engine.complete_runs(items).await?.iter().filter(|a| a.is_ok()).count()
            }
        })
    }

    pub(crate) async fn depth(&self, queue: &str) -> anyhow::Result<Depth> {
        Ok(match self {
            Self::Http(client) => {
                let stats = client.queue_stats(queue).await?;
                Depth { pending: stats.pending_runs, claimed: stats.claimed_runs }
            }
            Self::InProcess(p) => {
                let stats = p.engine.queue_stats(queue.into()).await?;
                Depth { pending: stats.pending_runs, claimed: stats.claimed_runs }
            }
        })
    }
}

/// A claim of `limit` runs over HTTP, long-polling `long_poll` seconds (0: not).
fn http_claim(limit: u32, long_poll: u64, worker: &str) -> ClaimRequest {
    let mut request = ClaimRequest::new(limit, CLAIM_TIMEOUT_SECONDS).worker_id(worker);
    request.long_poll_seconds = (long_poll > 0).then_some(long_poll);
    request
}

/// The same claim, as the engine takes it.
fn engine_claim(limit: u32, long_poll: u64, worker: &str) -> command::ClaimRequest {
    command::ClaimRequest {
        limit: i64::from(limit),
        claim_timeout: CLAIM_TIMEOUT_SECONDS as f64,
        long_poll_seconds: (long_poll > 0).then_some(long_poll as f64),
        worker_id: Some(worker.into()),
    }
}

fn noop() -> NewTask {
    NewTask { task_name: TASK_NAME.into(), ..NewTask::default() }
}
