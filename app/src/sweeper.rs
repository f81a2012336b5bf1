//! The background sweeper: claim expiry, waking due sleepers (durable sleeps
//! and event-wait timeouts), start/execution timeouts and retention.
//!
//! Every replica runs one; the store makes each step safe to run
//! concurrently, so no leader election is needed.

use std::sync::Arc;
use std::time::Duration;

use durable_ports::store::Cleanup;
use durable_ports::{Observation, ServiceError};
use tracing::Instrument;

use crate::engine::Engine;
use crate::observe::traced;
use crate::periodic::Periodic;

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Claims that ran out, whichever way their tasks went.
    pub claims_expired: usize,
    /// Of those, tasks failed for running out too many times in a row.
    pub tasks_failed_by_expiry: usize,
    pub sleepers_woken: usize,
    pub tasks_timed_out: u64,
    pub cleaned: Cleanup,
}

impl Engine {
    /// One maintenance pass at the clock's current time. Each step handles
    /// at most `sweep_batch` rows, so one pass stays short; a backlog drains
    /// over the following passes.
    pub async fn sweep_once(&self) -> Result<SweepReport, ServiceError> {
        self.sweep().instrument(tracing::debug_span!("sweep")).await
    }

    async fn sweep(&self) -> Result<SweepReport, ServiceError> {
        let now = self.now();
        let batch = self.config.sweep_batch;
        let expired = traced("store.claims_expire", self.store.claims_expire(&self.config.policy, now, batch)).await?;
        self.notify(&expired.requeued).await;
        let woken = traced("store.sleepers_wake", self.store.sleepers_wake(now, batch)).await?;
        self.notify(&woken).await;
        let tasks_timed_out = traced("store.timeouts_enforce", self.store.timeouts_enforce(now, batch)).await?;
        let cleaned = traced("store.cleanup", self.store.cleanup(now, batch)).await?;
        self.record_sweep(expired.total(), woken.len(), cleaned);
        Ok(SweepReport {
            claims_expired: expired.total(),
            tasks_failed_by_expiry: expired.tasks_failed,
            sleepers_woken: woken.len(),
            tasks_timed_out,
            cleaned,
        })
    }
}

impl Engine {
    fn record_sweep(&self, claims_expired: usize, sleepers_woken: usize, cleaned: Cleanup) {
        // Zero observations are skipped: most passes find nothing to do.
        if claims_expired > 0 {
            self.record(Observation::ClaimsExpired { n: claims_expired as u64 });
        }
        if sleepers_woken > 0 {
            self.record(Observation::Wakeups { n: sleepers_woken as u64 });
        }
        if cleaned != Cleanup::default() {
            self.record(Observation::Cleanup { tasks: cleaned.tasks, events: cleaned.events });
        }
    }
}

/// A running sweeper; [`SweeperHandle::stop`] ends it after the current pass.
pub type SweeperHandle = Periodic;

/// Runs [`Engine::sweep_once`] every `interval` until stopped. Failures are
/// logged and retried on the next tick: a database outage must not kill it.
pub fn spawn_sweeper(engine: Arc<Engine>, interval: Duration) -> SweeperHandle {
    Periodic::spawn("sweeper", interval, move || {
        let engine = engine.clone();
        async move {
            match engine.sweep_once().await {
                Ok(report) if report != SweepReport::default() => tracing::debug!(?report, "sweep"),
                Ok(_) => {}
                Err(ServiceError::Unavailable(e)) => tracing::warn!(error = %e, "sweep skipped: storage unavailable"),
                Err(e) => tracing::error!(error = %e, "sweep failed"),
            }
        }
    })
}
