//! In-memory [`durable_ports::Store`] and the in-process notifier.

mod depths;
mod notifier;
mod state;
mod store;

pub use notifier::LocalNotifier;
pub use store::MemoryStore;
