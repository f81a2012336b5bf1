//! Connections: one writer and a few readers over the same WAL database.
//!
//! SQLite admits one writer at a time. Funnelling every write through a
//! single connection makes writers queue (fairly, without spinning on
//! `SQLITE_BUSY`; concurrent ones share a transaction, see
//! [`crate::group`]), and `BEGIN IMMEDIATE` takes the write lock when
//! the transaction starts, so a transaction never reads under a shared lock
//! and then fails to upgrade it. The write lock is therefore the row lock:
//! what a transaction loaded cannot change before it writes. Readers use
//! their own pool; in WAL mode they see the last commit and never block the
//! writer.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use durable_ports::StoreError;
use durable_ports::metrics::PoolStats;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous, SqliteTransactionManager,
};
use sqlx::{Sqlite, SqliteConnection, Transaction, TransactionManager};

use crate::errors;
use crate::group::{Waker, WriteFuture, Writes};
use crate::rows;
use crate::skipped::SkippedRows;

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// How long a statement waits for a lock held by someone else (only a
/// checkpoint or an outside tool can hold one) before failing as unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a write waits for the writer connection. Writes queue here under
/// load; past this the caller gets `Unavailable` and may retry.
const WRITER_WAIT: Duration = Duration::from_secs(30);
const READERS: u32 = 4;

#[derive(Debug)]
pub(crate) struct Db {
    write: SqlitePool,
    read: SqlitePool,
    writes: Writes,
    skipped: Arc<SkippedRows>,
}

pub(crate) type Tx = Transaction<'static, Sqlite>;

impl Db {
    /// Opens (creating when missing) the database at `path` and brings its
    /// schema up to date.
    pub(crate) async fn open(path: &Path, waker: Waker) -> Result<Self, StoreError> {
        let base = SqliteConnectOptions::new()
            .filename(path)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            // FULL: a commit is on disk (WAL fsynced) before the caller hears
            // "ok", so an acknowledged task survives a power cut, not only a
            // process crash. NORMAL would be faster but may lose the last
            // commits on power loss, which a durable queue must not.
            .synchronous(SqliteSynchronous::Full);
        let writer =
            base.clone().create_if_missing(true).journal_mode(SqliteJournalMode::Wal).optimize_on_close(true, 400);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(WRITER_WAIT)
            // Keep the one connection (and its prepared statements) forever.
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            // ... unless it comes back still inside a transaction: a write
            // whose caller went away mid-transaction (a client that hung up
            // on a long poll) can leave it so, and every later `BEGIN
            // IMMEDIATE` on it would fail. Closing it rolls that transaction
            // back; the pool opens a fresh one.
            .before_acquire(|conn, _| {
                Box::pin(async move { Ok(SqliteTransactionManager::get_transaction_depth(conn) == 0) })
            })
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query(rows::admission::WAKES_TABLE).execute(conn).await?;
                    Ok(())
                })
            })
            .connect_with(writer)
            .await
            .map_err(errors::map_sql)?;
        MIGRATOR.run(&write).await.map_err(migrate)?;
        // query_only: a bug that sends a write to a reader fails loudly
        // instead of racing the writer.
        let reader = base.pragma("query_only", "ON");
        let read = SqlitePoolOptions::new()
            .max_connections(READERS)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_with(reader)
            .await
            .map_err(errors::map_sql)?;
        Ok(Self { write, read, writes: Writes::waking(waker), skipped: Arc::default() })
    }

    /// The count of rows claims and sweeps left out (see [`SkippedRows`]).
    pub(crate) fn skipped(&self) -> Arc<SkippedRows> {
        self.skipped.clone()
    }

    /// Runs `work` in a write transaction shared with the writes queued
    /// beside it (group commit, see [`crate::group`]): answers once it is
    /// committed, or failed with its changes undone.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> WriteFuture<'c, T> + Send + 'static,
    {
        self.writes.write(&self.write, work).await
    }

    /// A read transaction: a consistent snapshot across several statements.
    pub(crate) async fn begin_read(&self) -> Result<Tx, StoreError> {
        self.read.begin().await.map_err(errors::map_sql)
    }

    /// The reader pool, for single-statement reads.
    pub(crate) fn reader(&self) -> &SqlitePool {
        &self.read
    }

    /// Both pools together: the writer and the readers.
    pub(crate) fn pool_stats(&self) -> PoolStats {
        let (size, idle) = [&self.write, &self.read].iter().fold((0u32, 0u32), |(size, idle), pool| {
            let pool_idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
            (size + pool.size(), idle.saturating_add(pool_idle))
        });
        PoolStats { in_use: size.saturating_sub(idle), idle }
    }

    pub(crate) async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

fn migrate(err: MigrateError) -> StoreError {
    match err {
        MigrateError::Execute(e) => errors::map_sql(e),
        other => StoreError::Other(format!("cannot migrate the SQLite database: {other}")),
    }
}
