//! Embedded SQLite [`durable_ports::Store`]: durable with zero set-up, the
//! server's default backend.
//!
//! One process owns the database file (an advisory lock on `<file>.lock`
//! refuses a second one), so every write goes through a single connection in
//! `BEGIN IMMEDIATE` transactions, concurrent writes sharing one transaction
//! and one fsync (group commit), and readers use a small pool beside it (WAL
//! lets them read while the writer writes). Since only this process writes,
//! in-process notifications are complete: the notifier is
//! [`durable_fanout::LocalNotifier`], see [`SqliteStore::notifier`].

mod db;
mod errors;
mod group;
mod lock;
mod rows;
mod skipped;
mod store;

pub use durable_fanout::LocalNotifier;
pub use store::SqliteStore;
