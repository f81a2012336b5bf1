//! The gauge refresher: queue depths, the store's pool, the notifier's
//! reconnects and the rows the store skipped, read on an interval and
//! recorded as gauges (or counters, for running totals).
//!
//! Reading on an interval rather than per scrape means scrapers, however
//! many and however frequent, cost the database one grouped query per
//! interval and nothing more.

use std::sync::Arc;
use std::time::Duration;

use durable_ports::{Observation, ServiceError};
use tracing::Instrument;

use crate::engine::Engine;
use crate::periodic::{OutageNotice, Periodic};

impl Engine {
    /// Reads every level the gauges show and records it. The refresher
    /// calls this on its interval; tests call it to refresh at once.
    pub async fn refresh_gauges(&self) -> Result<(), ServiceError> {
        async {
            let depths = self.store.queue_depths(self.now()).await?;
            self.record(Observation::QueueDepths(depths));
            if let Some(pool) = self.store.pool_stats() {
                self.record(Observation::Pool { in_use: pool.in_use, idle: pool.idle });
            }
            self.record(Observation::NotifierReconnects(self.notifier.reconnects()));
            self.record(Observation::RowsSkipped(self.store.rows_skipped()));
            Ok(())
        }
        .instrument(tracing::debug_span!("refresh_gauges"))
        .await
    }
}

/// Runs [`Engine::refresh_gauges`] every `interval` until stopped; a failed
/// reading is logged and the gauges keep their last values until the next.
pub fn spawn_gauge_refresher(engine: Arc<Engine>, interval: Duration) -> Periodic {
    let outage = OutageNotice::default();
    Periodic::spawn("gauge refresher", interval, move || {
        let (engine, outage) = (engine.clone(), outage.clone());
        async move {
            match engine.refresh_gauges().await {
                Ok(()) => outage.answered("gauge refresher"),
                Err(ServiceError::Unavailable(e)) => outage.unavailable("gauge refresher", &e),
                Err(e) => tracing::error!(error = %e, "gauges not refreshed"),
            }
        }
    })
}
