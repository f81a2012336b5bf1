//! PostgreSQL adapter of durable: a [`durable_ports::Store`] whose claims use
//! `FOR UPDATE SKIP LOCKED`, a [`durable_ports::Notifier`] over
//! LISTEN/NOTIFY that reconnects by itself, and the schema migrations.
//!
//! The server wires it up as:
//!
//! ```no_run
//! # async fn wire(url: &str) -> Result<(), durable_ports::StoreError> {
//! let store = durable_postgres::PgStore::connect(url, 16).await?;
//! durable_postgres::migrate(store.pool()).await?;
//! let (notifier, listener) = durable_postgres::PgNotifier::start(url).await?;
//! // … serve with `store` and `notifier` …
//! listener.shutdown().await;
//! # Ok(()) }
//! ```

mod errors;
mod health;
mod json_text;
mod notifier;
mod retry;
mod rows;
mod skipped;
mod store;

use durable_ports::StoreError;
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use notifier::{ListenerConfig, ListenerTask, PgNotifier};
pub use store::{DEFAULT_ACQUIRE_TIMEOUT, PgStore, connect_options};

/// The claim statement and the batched lock statement, for `EXPLAIN` in
/// benchmarks and tests. The claim takes (`$1` queue; arrays of one element per combined
/// call: `$2` limit, `$3` now, `$4` claim end, `$5` worker id; then `$6` the
/// earliest now and `$7` the sum of the limits); the lock takes `$1`, run ids.
#[doc(hidden)]
pub use store::{CLAIM_SQL, LOCK_RUNS_SQL};

/// The channel every write that makes a run claimable notifies, with the
/// queue name as payload.
pub const NOTIFY_CHANNEL: &str = "durable_runs";

/// The embedded migrations of `migrations/postgres`.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Brings the schema up to date. Safe to call from several replicas at
/// once: sqlx holds a session advisory lock on the database while it
/// migrates, so the others wait and then find nothing left to do.
pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await.map_err(errors::map_sql)?;
    match MIGRATOR.run(&mut *conn).await {
        Ok(()) => Ok(()),
        Err(err) => {
            // A failed run can leave the session advisory lock held; never
            // hand that connection back to the pool, or every other replica
            // would wait for it for ever.
            let _ = conn.detach();
            Err(match err {
                sqlx::migrate::MigrateError::Execute(sql) => errors::map_sql(sql),
                other => StoreError::Other(format!("migration failed: {other}")),
            })
        }
    }
}
