//! In-process fan-out of "look now" hints to long-polling claimers.
//!
//! Each queue has a generation counter in a `watch` channel. Subscribing
//! marks the current generation as seen, so any bump after that completes the
//! wait — a wake-up between "check for work" and "wait" is never lost.
//! The memory and SQLite stores use it as their notifier; PostgreSQL's
//! LISTEN connection delivers through it. It is its own crate so that no
//! adapter has to depend on another to share it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use durable_domain::QueueName;
use durable_ports::{Notifier, Subscription};
use tokio::sync::watch;

/// A [`Notifier`] whose notifications reach only this process: complete
/// when this process is the only writer, and the delivery end of notifiers
/// that hear other processes.
#[derive(Clone, Debug, Default)]
pub struct LocalNotifier {
    channels: Arc<Mutex<HashMap<QueueName, watch::Sender<u64>>>>,
}

impl LocalNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Wakes every current waiter of `queue`.
    pub fn wake(&self, queue: &QueueName) {
        let channels = self.channels.lock().expect("notifier lock");
        if let Some(sender) = channels.get(queue) {
            sender.send_modify(|generation| *generation = generation.wrapping_add(1));
        }
    }

    /// Wakes every waiter of every queue, e.g. after notifications may have
    /// been missed.
    pub fn wake_all(&self) {
        let channels = self.channels.lock().expect("notifier lock");
        for sender in channels.values() {
            sender.send_modify(|generation| *generation = generation.wrapping_add(1));
        }
    }
}

#[async_trait]
impl Notifier for LocalNotifier {
    fn subscribe(&self, queue: &QueueName) -> Box<dyn Subscription> {
        let mut channels = self.channels.lock().expect("notifier lock");
        // Drop channels nobody listens to any more, so the map stays small.
        channels.retain(|_, sender| sender.receiver_count() > 0);
        let sender = channels.entry(queue.clone()).or_insert_with(|| watch::channel(0).0);
        Box::new(LocalSubscription(sender.subscribe()))
    }

    async fn notify(&self, queues: &[QueueName]) {
        for queue in queues {
            self.wake(queue);
        }
    }
}

struct LocalSubscription(watch::Receiver<u64>);

#[async_trait]
impl Subscription for LocalSubscription {
    async fn notified(&mut self) {
        // An error means the sender is gone: nothing will ever wake us, so
        // return and let the caller re-check rather than hang.
        let _ = self.0.changed().await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn q(name: &str) -> QueueName {
        QueueName::parse("queue", name).unwrap()
    }

    #[tokio::test]
    async fn a_notify_after_subscribe_is_not_lost() {
        let notifier = LocalNotifier::new();
        let mut sub = notifier.subscribe(&q("a"));
        notifier.notify(&[q("a")]).await;
        tokio::time::timeout(Duration::from_secs(5), sub.notified()).await.expect("woken");
    }

    #[tokio::test]
    async fn other_queues_do_not_wake() {
        let notifier = LocalNotifier::new();
        let mut sub = notifier.subscribe(&q("a"));
        notifier.notify(&[q("b")]).await;
        assert!(tokio::time::timeout(Duration::from_millis(50), sub.notified()).await.is_err());
        notifier.wake_all();
        tokio::time::timeout(Duration::from_secs(5), sub.notified()).await.expect("woken by wake_all");
    }
}
