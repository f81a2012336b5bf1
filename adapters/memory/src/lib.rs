//! In-memory [`durable_ports::Store`] and the in-process notifier.

mod notifier;

pub use notifier::LocalNotifier;
