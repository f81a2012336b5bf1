//! Picks and opens the storage backend named by the database URL.

use std::sync::Arc;

use anyhow::{Context, bail};
use durable_memory::{LocalNotifier, MemoryStore};
use durable_ports::{Notifier, Store};

use super::settings::Settings;

/// An opened backend: the ports plus whatever must be closed on shutdown.
pub struct Storage {
    pub store: Arc<dyn Store>,
    pub notifier: Arc<dyn Notifier>,
    pub description: String,
    closer: Closer,
}

enum Closer {
    Nothing,
    Postgres { pool: sqlx::PgPool, listener: durable_postgres::ListenerTask },
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").field("description", &self.description).finish_non_exhaustive()
    }
}

impl Storage {
    pub async fn close(self) {
        match self.closer {
            Closer::Nothing => {}
            Closer::Postgres { pool, listener } => {
                listener.shutdown().await;
                pool.close().await;
            }
        }
    }
}

enum Kind<'a> {
    Memory,
    Postgres(&'a str),
}

fn kind(url: &str) -> anyhow::Result<Kind<'_>> {
    if url == "memory:" || url == "memory" {
        Ok(Kind::Memory)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Kind::Postgres(url))
    } else {
        bail!("unsupported database URL {url:?}: use postgres://…, or memory:")
    }
}

/// Opens the backend, applying migrations first when it has a schema.
pub async fn open(settings: &Settings) -> anyhow::Result<Storage> {
    match kind(&settings.database_url)? {
        Kind::Memory => Ok(Storage {
            store: Arc::new(MemoryStore::new()),
            notifier: Arc::new(LocalNotifier::new()),
            description: "memory (nothing survives a restart)".into(),
            closer: Closer::Nothing,
        }),
        Kind::Postgres(url) => {
            let store = durable_postgres::PgStore::connect(url, settings.pool_size)
                .await
                .context("connecting to PostgreSQL")?;
            durable_postgres::migrate(store.pool()).await.context("applying PostgreSQL migrations")?;
            let (notifier, listener) =
                durable_postgres::PgNotifier::start(url).await.context("starting the LISTEN connection")?;
            let pool = store.pool().clone();
            Ok(Storage {
                store: Arc::new(store),
                notifier: Arc::new(notifier),
                description: "postgres".into(),
                closer: Closer::Postgres { pool, listener },
            })
        }
    }
}

/// `durable-server migrate`: applies migrations and returns.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    match kind(&settings.database_url)? {
        Kind::Memory => bail!("the memory store has no schema to migrate; set --database-url"),
        Kind::Postgres(url) => {
            let store = durable_postgres::PgStore::connect(url, 1).await.context("connecting to PostgreSQL")?;
            durable_postgres::migrate(store.pool()).await.context("applying PostgreSQL migrations")?;
            store.pool().close().await;
            Ok(())
        }
    }
}
