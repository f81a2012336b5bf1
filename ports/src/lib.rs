//! The ports of durable's hexagon. Driven ports ([`Store`], [`Notifier`],
//! [`Clock`], [`Metrics`]) are implemented by adapters; the driving port
//! ([`Service`]) is implemented by the engine and called by the HTTP adapter.

pub mod clock;
pub mod error;
pub mod metrics;
pub mod notifier;
pub mod service;
pub mod store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ItemError, ServiceError, StoreError};
pub use metrics::{Metrics, NoopMetrics, Observation};
pub use notifier::{Notifier, Subscription};
pub use service::Service;
pub use store::Store;

#[cfg(feature = "mock")]
pub use {
    clock::MockClock, metrics::MockMetrics, notifier::MockNotifier, notifier::MockSubscription, service::MockService,
    store::MockStore,
};
