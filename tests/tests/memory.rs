//! The Store conformance suite against the in-memory adapter.

use std::sync::Arc;

use durable_memory::{LocalNotifier, MemoryStore};
use durable_tests::conformance::Backend;

async fn backend() -> Backend {
    Backend { store: Arc::new(MemoryStore::new()), notifier: Arc::new(LocalNotifier::new()) }
}

durable_tests::conformance_suite!(backend);
