//! The real server (the same composition root as `durable-server`) started
//! in-process on a loopback port, for end-to-end tests over HTTP.

use std::sync::Arc;

use durable_app::server::{self, Server, Settings};
use durable_ports::{Clock, SystemClock};

use crate::pg::{TestDatabase, test_database};

/// A running server and the database it owns (kept alive as long as it).
#[derive(Debug)]
pub struct TestServer {
    server: Server,
    database: Option<TestDatabase>,
}

impl TestServer {
    /// A server on its own fresh PostgreSQL database.
    pub async fn postgres() -> Self {
        Self::postgres_with_clock(Arc::new(SystemClock)).await
    }

    /// A server on the in-memory store.
    pub async fn memory() -> Self {
        Self::start(Self::settings(), None).await
    }

    /// Settings for tests: loopback port 0, a fast sweeper.
    pub fn settings() -> Settings {
        Settings { sweep_interval_ms: 50, ..Settings::default() }
    }

    pub async fn start(settings: Settings, database: Option<TestDatabase>) -> Self {
        let server = server::start(&settings).await.expect("server starts");
        Self { server, database }
    }

    /// A server on its own fresh PostgreSQL database whose engine reads
    /// time from `clock`.
    pub async fn postgres_with_clock(clock: Arc<dyn Clock>) -> Self {
        let database = test_database().await;
        let settings = Settings { database_url: database.url().to_owned(), ..Self::settings() };
        let server = server::start_with_clock(&settings, clock).await.expect("server starts");
        Self { server, database: Some(database) }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn database(&self) -> Option<&TestDatabase> {
        self.database.as_ref()
    }

    pub async fn stop(self) {
        self.server.shutdown().await.expect("clean shutdown");
    }
}
