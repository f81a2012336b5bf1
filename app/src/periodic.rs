//! A pass repeated on an interval in the background until stopped: the
//! shape of the sweeper and of the gauge refresher.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running background loop; [`Periodic::stop`] ends it after the pass in
/// progress, so a pass is never cut off halfway through a store call.
#[derive(Debug)]
pub struct Periodic {
    name: &'static str,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Periodic {
    /// Runs `pass` now and then every `interval`. A slow pass delays the next
    /// one instead of piling passes up.
    pub(crate) fn spawn<F, Fut>(name: &'static str, interval: Duration, mut pass: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = stopped.changed() => return,
                }
                pass().await;
            }
        });
        Self { name, stop, task }
    }

    pub async fn stop(self) {
        self.stop.send_replace(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, task = self.name, "background task panicked");
        }
    }
}

/// A storage outage as a periodic task logs it: once when a pass first
/// meets it and once when storage answers again, not on every tick (every
/// 500 ms for the sweeper).
#[derive(Clone, Debug, Default)]
pub(crate) struct OutageNotice(Arc<AtomicBool>);

impl OutageNotice {
    pub(crate) fn unavailable(&self, task: &'static str, error: &str) {
        if !self.0.swap(true, Ordering::Relaxed) {
            tracing::warn!(task, error, "storage unavailable; retrying every pass, logged again when it answers");
        }
    }

    pub(crate) fn answered(&self, task: &'static str) {
        if self.0.swap(false, Ordering::Relaxed) {
            tracing::info!(task, "storage answers again");
        }
    }
}
