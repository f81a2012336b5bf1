//! Picks and opens the storage backend named by the database URL.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use durable_memory::MemoryStore;
use durable_ports::{Notifier, Store};
use durable_postgres::{ListenerTask, PgNotifier, PgStore};
use durable_sqlite::SqliteStore;

use super::settings::Settings;

/// An opened backend: the ports plus whatever must be closed on shutdown.
pub(super) struct Storage {
    pub store: Arc<dyn Store>,
    pub notifier: Arc<dyn Notifier>,
    pub description: String,
    closer: Closer,
}

enum Closer {
    Nothing,
    Postgres { pool: sqlx::PgPool, listener: ListenerTask },
    Sqlite(Arc<SqliteStore>),
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").field("description", &self.description).finish_non_exhaustive()
    }
}

impl Storage {
    pub(super) async fn close(self) {
        match self.closer {
            Closer::Nothing => {}
            Closer::Postgres { pool, listener } => {
                listener.shutdown().await;
                pool.close().await;
            }
            Closer::Sqlite(store) => store.close().await,
        }
    }
}

/// The backends a database URL can name.
#[derive(Debug, PartialEq, Eq)]
enum Backend<'a> {
    Memory,
    Postgres(&'a str),
    Sqlite(PathBuf),
}

fn backend(url: &str) -> anyhow::Result<Backend<'_>> {
    if url == "memory:" || url == "memory" {
        return Ok(Backend::Memory);
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Backend::Postgres(url));
    }
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        if path.is_empty() {
            bail!("the database URL {url:?} names no file: use sqlite://path/to/durable.db");
        }
        return Ok(Backend::Sqlite(PathBuf::from(path)));
    }
    bail!("unsupported database URL {url:?}: use sqlite://path, postgres://… or memory:")
}

/// Opens the backend, applying migrations first when it has a schema.
pub(super) async fn open(settings: &Settings) -> anyhow::Result<Storage> {
    match backend(&settings.database_url)? {
        Backend::Memory => Ok({
            let memory = MemoryStore::new();
            Storage {
                notifier: Arc::new(memory.notifier()),
                store: Arc::new(memory),
                description: "memory (nothing survives a restart)".into(),
                closer: Closer::Nothing,
            }
        }),
        Backend::Sqlite(path) => {
            let store = Arc::new(
                SqliteStore::open(&path)
                    .await
                    .with_context(|| format!("opening SQLite database {}", path.display()))?,
            );
            Ok(Storage {
                store: store.clone(),
                notifier: Arc::new(store.notifier()),
                description: format!("sqlite {}", path.display()),
                closer: Closer::Sqlite(store),
            })
        }
        Backend::Postgres(url) => {
            let store = PgStore::connect(url, settings.pool_size).await.context("connecting to PostgreSQL")?;
            durable_postgres::migrate(store.pool()).await.context("applying PostgreSQL migrations")?;
            let (notifier, listener) = PgNotifier::start(url).await.context("starting the LISTEN connection")?;
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
    match backend(&settings.database_url)? {
        Backend::Memory => bail!("the memory store has no schema to migrate; set --database-url"),
        // Opening a SQLite store applies its migrations.
        Backend::Sqlite(path) => {
            let store = SqliteStore::open(&path)
                .await
                .with_context(|| format!("opening SQLite database {}", path.display()))?;
            store.close().await;
            Ok(())
        }
        Backend::Postgres(url) => {
            let store = PgStore::connect(url, 1).await.context("connecting to PostgreSQL")?;
            durable_postgres::migrate(store.pool()).await.context("applying PostgreSQL migrations")?;
            store.pool().close().await;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_backends() {
        assert_eq!(backend("memory:").unwrap(), Backend::Memory);
        assert_eq!(backend("sqlite://durable.db").unwrap(), Backend::Sqlite("durable.db".into()));
        assert_eq!(backend("sqlite:///var/lib/durable.db").unwrap(), Backend::Sqlite("/var/lib/durable.db".into()));
        assert_eq!(backend("postgres://u@h/db").unwrap(), Backend::Postgres("postgres://u@h/db"));
        assert!(backend("sqlite://").is_err());
        assert!(backend("mysql://x").unwrap_err().to_string().contains("unsupported"));
    }
}
