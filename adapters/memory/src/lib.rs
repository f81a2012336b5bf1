//! In-memory [`durable_ports::Store`]. Its notifier is the in-process
//! fan-out of `durable-fanout`, re-exported here so a test builds both from
//! one crate.

mod depths;
mod state;
mod store;

pub use durable_fanout::LocalNotifier;
pub use store::MemoryStore;
