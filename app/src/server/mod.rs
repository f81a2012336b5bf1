//! The composition root: opens the storage backend named by the settings,
//! wires the engine, the sweeper, the metrics and the HTTP API, and takes it
//! all down in order. The `durable-server` binary is a thin shell around
//! [`start`]; tests start the very same server in-process on a loopback port.

mod connection;
mod listen;
mod logging;
pub mod open_files;
mod settings;
mod storage;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use durable_domain::machine::Policy;
use durable_http::HttpConfig;
use durable_metrics::PrometheusMetrics;
use durable_ports::{Clock, SystemClock};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use settings::{LogFormat, Settings};
pub use storage::migrate;
pub use telemetry::{Telemetry, init as init_telemetry};

use crate::{Engine, EngineConfig, Periodic, SweeperHandle, spawn_gauge_refresher, spawn_sweeper};

/// A running server.
#[derive(Debug)]
pub struct Server {
    address: SocketAddr,
    engine: Arc<Engine>,
    stop: oneshot::Sender<()>,
    http: JoinHandle<()>,
    sweeper: SweeperHandle,
    gauges: Periodic,
    storage: storage::Storage,
}

/// Opens storage (applying migrations), binds `settings.listen` and starts
/// serving. Returns once the listener is bound.
pub async fn start(settings: &Settings) -> anyhow::Result<Server> {
    start_with_clock(settings, Arc::new(SystemClock)).await
}

/// [`start`] with the engine reading time from `clock`: end-to-end tests
/// drive a [`durable_ports::ManualClock`] instead of waiting on the wall clock.
pub async fn start_with_clock(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Server> {
    let storage = storage::open(settings).await?;
    let config = EngineConfig {
        max_queues: settings.max_queues,
        policy: Policy { max_consecutive_expiries: settings.max_consecutive_expiries.max(1) },
        ..EngineConfig::default()
    };
    // Per server, not the process-global registry: tests run several servers
    // in one process and each must count only its own work.
    let metrics = Arc::new(PrometheusMetrics::new());
    let engine = Arc::new(
        Engine::new(storage.store.clone(), storage.notifier.clone(), clock, config).with_metrics(metrics.clone()),
    );
    let sweeper = spawn_sweeper(engine.clone(), settings.sweep_interval());
    let gauges = spawn_gauge_refresher(engine.clone(), settings.metrics_interval());
    let http = HttpConfig {
        body_limit: settings.body_limit,
        metrics: metrics.clone(),
        metrics_renderer: Some(Arc::new(move || metrics.render())),
        auth_token: settings.auth_token.clone(),
    };
    let app = durable_http::router(engine.clone(), http);

    let max_connections = connection_cap(settings);
    let timeouts = connection::Timeouts { header: settings.header_timeout(), idle: settings.idle_timeout() };

    let listener =
        tokio::net::TcpListener::bind(settings.listen).await.with_context(|| format!("binding {}", settings.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(
        %address,
        storage = %storage.description,
        max_connections,
        header_timeout_secs = timeouts.header.as_secs(),
        idle_timeout_secs = timeouts.idle.as_secs(),
        "durable-server listening"
    );

    let (stop, stopped) = oneshot::channel::<()>();
    let draining = engine.clone();
    let http = tokio::spawn(listen::serve(listener, app, timeouts, max_connections, async move {
        let _ = stopped.await;
        // Long polls would otherwise hold the shutdown for up to a minute.
        draining.shutdown();
    }));
    Ok(Server { address, engine, stop, http, sweeper, gauges, storage })
}

/// `--max-connections`, after raising the open-file limit, lowered to fit
/// under it if need be.
fn connection_cap(settings: &Settings) -> usize {
    let wanted = usize::try_from(settings.max_connections).unwrap_or(usize::MAX);
    let Some(limit) = open_files::raise() else { return wanted };
    let cap = limit.fit_connections(wanted, settings.pool_size);
    if cap < wanted {
        tracing::warn!(
            max_connections = wanted,
            open_file_limit = limit.soft,
            cap,
            "--max-connections lowered to fit under the open-file limit (raise the hard limit, e.g. ulimit -Hn)"
        );
    }
    cap
}

impl Server {
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// `http://<address>`, with a loopback address if bound to all interfaces.
    pub fn base_url(&self) -> String {
        let mut address = self.address;
        if address.ip().is_unspecified() {
            address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{address}")
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Graceful shutdown: stop accepting, answer waiting long polls, finish
    /// in-flight requests, stop the sweeper and the gauge refresher, close
    /// the storage.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.http.await.context("HTTP task panicked")?;
        self.sweeper.stop().await;
        self.gauges.stop().await;
        self.storage.close().await;
        Ok(())
    }
}
