//! The background sweeper: claim expiry, waking due sleepers (durable sleeps
//! and event-wait timeouts), start/execution timeouts and retention.
//!
//! Every replica runs one; the store makes each step safe to run
//! concurrently, so no leader election is needed.

use std::sync::Arc;
use std::time::Duration;

use durable_ports::ServiceError;
use durable_ports::store::Cleanup;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::engine::Engine;

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub claims_expired: usize,
    pub sleepers_woken: usize,
    pub tasks_timed_out: u64,
    pub cleaned: Cleanup,
}

impl Engine {
    /// One maintenance pass at the clock's current time. Each step handles
    /// at most `sweep_batch` rows, so one pass stays short; a backlog drains
    /// over the following passes.
    pub async fn sweep_once(&self) -> Result<SweepReport, ServiceError> {
        let now = self.now();
        let batch = self.config.sweep_batch;
        let requeued = self.store.claims_expire(&self.config.policy, now, batch).await?;
        self.notify(&requeued).await;
        let woken = self.store.sleepers_wake(now, batch).await?;
        self.notify(&woken).await;
        let tasks_timed_out = self.store.timeouts_enforce(now, batch).await?;
        let cleaned = self.store.cleanup(now, batch).await?;
        Ok(SweepReport { claims_expired: requeued.len(), sleepers_woken: woken.len(), tasks_timed_out, cleaned })
    }
}

/// A running sweeper; [`SweeperHandle::stop`] ends it after the current pass.
#[derive(Debug)]
pub struct SweeperHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl SweeperHandle {
    pub async fn stop(self) {
        self.stop.send_replace(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "sweeper task panicked");
        }
    }
}

/// Runs [`Engine::sweep_once`] every `interval` until stopped. Failures are
/// logged and retried on the next tick: a database outage must not kill it.
pub fn spawn_sweeper(engine: Arc<Engine>, interval: Duration) -> SweeperHandle {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stopped.changed() => return,
            }
            match engine.sweep_once().await {
                Ok(report) if report != SweepReport::default() => tracing::debug!(?report, "sweep"),
                Ok(_) => {}
                Err(ServiceError::Unavailable(e)) => tracing::warn!(error = %e, "sweep skipped: storage unavailable"),
                Err(e) => tracing::error!(error = %e, "sweep failed"),
            }
        }
    });
    SweeperHandle { stop, task }
}
