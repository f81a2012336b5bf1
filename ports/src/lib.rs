//! The ports of durable's hexagon. Driven ports ([`Store`], [`Notifier`],
//! [`Clock`]) are implemented by adapters; the driving port ([`Service`]) is
//! implemented by the engine and called by the HTTP adapter.

pub mod clock;
pub mod error;
pub mod notifier;
pub mod service;
pub mod store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ItemError, ServiceError, StoreError};
pub use notifier::{Notifier, Subscription};
pub use service::Service;
pub use store::Store;

#[cfg(feature = "mock")]
pub use {
    clock::MockClock, notifier::MockNotifier, notifier::MockSubscription, service::MockService, store::MockStore,
};
