//! The Store conformance suite against the in-memory adapter.

use std::sync::Arc;

use durable_memory::MemoryStore;
use durable_tests::conformance::Backend;

async fn backend() -> Backend {
    let store = MemoryStore::new();
    Backend { notifier: Arc::new(store.notifier()), store: Arc::new(store) }
}

durable_tests::conformance_suite!(backend);
