//! The notifier port: "look now" hints for long-polling claimers.
//!
//! A notification is a hint, never delivery: waiters also re-check on a
//! fallback interval, so a lost hint delays work but never strands it.

use async_trait::async_trait;
use durable_domain::QueueName;

/// Delivers "look now" hints from writers to long-polling claimers, in
/// this process and, for a shared database, in every replica.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// Registers interest in `queue`. Subscribe *before* checking for work:
    /// any notification after this call completes the subscription's wait.
    fn subscribe(&self, queue: &QueueName) -> Box<dyn Subscription>;

    /// Wakes the waiters of these queues. Called after the write that made
    /// runs claimable has committed.
    async fn notify(&self, queues: &[QueueName]);

    /// How often the notifier had to re-establish its connection since it
    /// started (a running total, for metrics). In-process notifiers never
    /// reconnect.
    fn reconnects(&self) -> u64 {
        0
    }
}

/// Interest in one queue, registered by [`Notifier::subscribe`].
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Subscription: Send {
    /// Completes once a notification for the queue arrived after subscribing
    /// (immediately if one already has).
    async fn notified(&mut self);
}
