//! A running deployment: the database (a private PostgreSQL cluster or a
//! SQLite file), the server replicas, the workers, and the ledger they
//! report to.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use durable_client::CreateQueue;
use durable_tests::pg::PgCluster;
use sqlx::{Connection, PgConnection};
use tempfile::TempDir;
use tokio::runtime::Runtime;

use crate::ledger::Ledger;
use crate::processes::{ServerProcess, WorkerProcess, tail};
use crate::worker::{self, WorkerConfig};

/// The database the servers share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Store {
    Postgres { replicas: usize },
    Sqlite,
}

/// The database the servers use on the private cluster (the `postgres`
/// database stays for the suite's own connections).
pub(crate) const PG_DATABASE: &str = "chaos";
pub(crate) const QUEUE: &str = "chaos";

#[derive(Debug)]
pub(crate) struct System {
    pub cluster: Option<PgCluster>,
    pub database_url: String,
    pub servers: Vec<ServerProcess>,
    workers: Vec<Option<WorkerProcess>>,
    worker_configs: Vec<WorkerConfig>,
    pub ledger: Arc<Ledger>,
    pub dir: TempDir,
}

impl System {
    /// Starts the database and the servers, and creates the queue.
    pub(crate) fn start(runtime: &Runtime, store: Store, server_args: &[String]) -> Result<Self, String> {
        let dir = tempfile::Builder::new().prefix("durable-chaos-").tempdir().map_err(|e| e.to_string())?;
        let (cluster, database_url, replicas) = match store {
            Store::Postgres { replicas } => {
                let cluster = PgCluster::start()?;
                runtime.block_on(create_database(&cluster.url()))?;
                let url = cluster.url_for(PG_DATABASE);
                (Some(cluster), url, replicas)
            }
            Store::Sqlite => (None, format!("sqlite://{}", dir.path().join("chaos.db").display()), 1),
        };
        let mut servers = Vec::new();
        for replica in 0..replicas {
            let log = dir.path().join(format!("server-{replica}.log"));
            servers.push(ServerProcess::start(&database_url, server_args, log)?);
        }
        let system = Self {
            cluster,
            database_url,
            servers,
            workers: Vec::new(),
            worker_configs: Vec::new(),
            ledger: Arc::new(Ledger::default()),
            dir,
        };
        let admin = worker::client(&system.servers[0].url());
        runtime
            .block_on(admin.create_queue(&CreateQueue::new(QUEUE)))
            .map_err(|e| format!("creating the queue: {e}"))?;
        Ok(system)
    }

    pub(crate) fn urls(&self) -> Vec<String> {
        self.servers.iter().map(ServerProcess::url).collect()
    }

    /// Starts `count` workers of this shape (named `w0`, `w1`, …).
    pub(crate) fn start_workers(&mut self, count: usize, shape: &WorkerConfig) -> Result<(), String> {
        for index in 0..count {
            let config = WorkerConfig { name: format!("w{index}"), servers: self.urls(), ..shape.clone() };
            let process = WorkerProcess::start(&config, self.ledger.clone(), &self.worker_log(index))?;
            self.workers.push(Some(process));
            self.worker_configs.push(config);
        }
        Ok(())
    }

    pub(crate) fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// SIGKILLs worker `index` and starts a replacement in its place.
    pub(crate) fn kill_worker(&mut self, index: usize) -> Result<(), String> {
        if let Some(process) = self.workers[index].take() {
            process.kill();
        }
        let process = WorkerProcess::start(&self.worker_configs[index], self.ledger.clone(), &self.worker_log(index))?;
        self.workers[index] = Some(process);
        Ok(())
    }

    /// Lets the workers print what they were acknowledged, then ends them.
    pub(crate) fn stop_workers(&mut self) {
        std::thread::sleep(Duration::from_millis(500));
        for process in self.workers.iter_mut().filter_map(Option::take) {
            process.stop();
        }
    }

    pub(crate) fn stop_servers(&mut self) {
        for server in &mut self.servers {
            server.kill();
        }
    }

    /// Where to point SQL at the end (the suite's own connection).
    pub(crate) fn sql_url(&self) -> String {
        self.database_url.clone()
    }

    fn worker_log(&self, index: usize) -> PathBuf {
        self.dir.path().join(format!("worker-{index}.log"))
    }

    /// The tails of every log, for a failure message.
    pub(crate) fn log_tails(&self) -> String {
        let mut text = String::new();
        for (index, server) in self.servers.iter().enumerate() {
            text.push_str(&format!("--- server {index} ---\n{}\n", server.log_tail()));
        }
        if let Some(cluster) = &self.cluster {
            text.push_str(&format!("--- postgresql ---\n{}\n", tail(&cluster.log_path(), 15)));
        }
        text
    }
}

async fn create_database(admin_url: &str) -> Result<(), String> {
    let mut admin = PgConnection::connect(admin_url).await.map_err(|e| format!("connecting to {admin_url}: {e}"))?;
    sqlx::query(&format!("CREATE DATABASE {PG_DATABASE}"))
        .execute(&mut admin)
        .await
        .map_err(|e| format!("creating database {PG_DATABASE}: {e}"))?;
    let _ = admin.close().await;
    Ok(())
}
