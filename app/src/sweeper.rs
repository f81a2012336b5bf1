//! The background sweeper: claim expiry, waking due sleepers (durable sleeps
//! and event-wait timeouts), firing due schedules, start/execution timeouts
//! and retention.
//!
//! Every replica runs one; the store makes each step safe to run
//! concurrently, so no leader election is needed.

use std::sync::Arc;
use std::time::Duration;

use durable_ports::store::Cleanup;
use durable_ports::{Observation, ServiceError};
use tracing::Instrument;

use crate::engine::Engine;
use crate::periodic::{OutageNotice, Periodic};

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Claims that ran out, whichever way their tasks went.
    pub claims_expired: usize,
    /// Of those, tasks failed for running out too many times in a row.
    pub tasks_failed_by_expiry: usize,
    pub sleepers_woken: usize,
    pub tasks_timed_out: u64,
    /// Schedule ticks fired.
    pub ticks_fired: usize,
    pub cleaned: Cleanup,
    /// Steps that failed this pass (each logged and counted); the others ran.
    pub failed_steps: usize,
}

impl Engine {
    /// One maintenance pass at the clock's current time. Each step handles
    /// at most `sweep_batch` rows, so one pass stays short; a backlog drains
    /// over the following passes.
    ///
    /// The steps are independent: one that fails (a queue or a row it cannot
    /// handle, a statement that errors) is logged, counted in
    /// `durable_sweep_failures_total` and skipped, and expiry, wake-ups,
    /// timeouts and retention go on for everything else. Only when every
    /// step failed (the store is down, say) is the pass an error.
    pub async fn sweep_once(&self) -> Result<SweepReport, ServiceError> {
        self.sweep().instrument(tracing::debug_span!("sweep")).await
    }

    async fn sweep(&self) -> Result<SweepReport, ServiceError> {
        let now = self.now();
        let batch = self.config.sweep_batch;
        let mut report = SweepReport::default();
        let mut first_error = None;
        let mut failed = |step: &'static str, err: ServiceError| {
            self.step_failed(step, &err);
            report.failed_steps += 1;
            first_error.get_or_insert(err);
        };

        match self.store.claims_expire(&self.config.policy, now, batch).await {
            Ok(expired) => {
                self.notify(&expired.wake).await;
                report.claims_expired = expired.total();
                report.tasks_failed_by_expiry = expired.tasks_failed;
            }
            Err(err) => failed("claims_expire", err.into()),
        }
        match self.store.sleepers_wake(now, batch).await {
            Ok(woken) => {
                self.notify(&woken.wake).await;
                report.sleepers_woken = woken.woken;
            }
            Err(err) => failed("sleepers_wake", err.into()),
        }
        let grace = time::Duration::try_from(self.config.schedule_grace).unwrap_or(time::Duration::MINUTE);
        match self.store.schedules_fire(now, grace, batch).await {
            Ok(fired) => {
                self.notify(&fired.wake).await;
                report.ticks_fired = fired.ticks;
            }
            Err(err) => failed("schedules_fire", err.into()),
        }
        match self.store.timeouts_enforce(now, batch).await {
            Ok(n) => report.tasks_timed_out = n,
            Err(err) => failed("timeouts_enforce", err.into()),
        }
        match self.store.retention_delete(now, batch).await {
            Ok(cleaned) => report.cleaned = cleaned,
            Err(err) => failed("cleanup", err.into()),
        }

        self.record_sweep(report.claims_expired, report.sleepers_woken, report.cleaned);
        match first_error {
            Some(err) if report.failed_steps == SWEEP_STEPS => Err(err),
            _ => Ok(report),
        }
    }

    fn step_failed(&self, step: &'static str, err: &ServiceError) {
        self.record(Observation::SweepStepFailed { step });
        match err {
            // An outage is logged once by the sweeper's loop, not per step and pass.
            ServiceError::Unavailable(e) => {
                tracing::debug!(step, error = %e, "sweep step skipped: storage unavailable");
            }
            e => tracing::error!(step, error = %e, "sweep step failed; the other steps go on"),
        }
    }
}

/// Expiry, wake-ups, schedules, timeouts, retention.
const SWEEP_STEPS: usize = 5;

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
    let outage = OutageNotice::default();
    Periodic::spawn("sweeper", interval, move || {
        let (engine, outage) = (engine.clone(), outage.clone());
        async move {
            match engine.sweep_once().await {
                Ok(report) => {
                    outage.answered("sweeper");
                    if report != SweepReport::default() {
                        tracing::debug!(?report, "sweep");
                    }
                }
                Err(ServiceError::Unavailable(e)) => outage.unavailable("sweeper", &e),
                // Failed steps were logged where they failed.
                Err(_) => {}
            }
        }
    })
}
