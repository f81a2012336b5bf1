//! PostgreSQL for tests: a fresh, migrated database per test (so tests run
//! in parallel), from `DATABASE_URL` or a private throwaway cluster;
//! [`PgCluster`] for tests that need a server of their own to stop and
//! start again; [`ReplyLoser`] for tests that need a reply to go missing.
//!
//! ```text
//! let db = durable_tests::pg::test_database().await;
//! let store = db.store(4).await;
//! ```

mod cluster;
mod database;
mod proxy;

pub use cluster::{PgCluster, find_binaries};
pub use database::{TestDatabase, empty_database, test_database, try_test_database, with_database};
pub use proxy::{LoseReplyTo, ReplyLoser};
