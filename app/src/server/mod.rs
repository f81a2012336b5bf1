//! The composition root: opens the storage backend named by the settings,
//! wires the engine, the sweeper and the HTTP API, and takes it all down in
//! order. The `durable-server` binary is a thin shell around [`start`]; tests
//! start the very same server in-process on a loopback port.

mod logging;
mod settings;
mod storage;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use durable_domain::machine::Policy;
use durable_ports::SystemClock;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use logging::init as init_logging;
pub use settings::{LogFormat, Settings};
pub use storage::migrate;

use crate::{Engine, EngineConfig, SweeperHandle, spawn_sweeper};

/// A running server.
#[derive(Debug)]
pub struct Server {
    address: SocketAddr,
    engine: Arc<Engine>,
    stop: oneshot::Sender<()>,
    http: JoinHandle<std::io::Result<()>>,
    sweeper: SweeperHandle,
    storage: storage::Storage,
}

/// Opens storage (applying migrations), binds `settings.listen` and starts
/// serving. Returns once the listener is bound.
pub async fn start(settings: &Settings) -> anyhow::Result<Server> {
    let storage = storage::open(settings).await?;
    let config = EngineConfig {
        max_queues: settings.max_queues,
        policy: Policy { max_consecutive_expiries: settings.max_consecutive_expiries.max(1) },
        ..EngineConfig::default()
    };
    let engine = Arc::new(Engine::new(storage.store.clone(), storage.notifier.clone(), Arc::new(SystemClock), config));
    let sweeper = spawn_sweeper(engine.clone(), settings.sweep_interval());
    let app = durable_http::router(engine.clone(), durable_http::HttpConfig { body_limit: settings.body_limit });

    let listener =
        tokio::net::TcpListener::bind(settings.listen).await.with_context(|| format!("binding {}", settings.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, storage = %storage.description, "durable-server listening");

    let (stop, stopped) = oneshot::channel::<()>();
    let draining = engine.clone();
    let http = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
                // Long polls would otherwise hold the shutdown for up to a minute.
                draining.shutdown();
            })
            .await
    });
    Ok(Server { address, engine, stop, http, sweeper, storage })
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
    /// in-flight requests, stop the sweeper, close the storage.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        let served = self.http.await.context("HTTP task panicked")?;
        self.sweeper.stop().await;
        self.storage.close().await;
        served.context("serving HTTP")
    }
}
