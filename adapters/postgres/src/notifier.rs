//! [`PgNotifier`]: "look now" hints across replicas through LISTEN/NOTIFY.
//!
//! Writes that make a run claimable send `NOTIFY durable_runs, '<queue>'`
//! in their own transaction (see `store::write::notify`), so every replica
//! hears of them at commit. Each process keeps one listening connection and
//! fans notifications out to its in-process waiters through a
//! [`LocalNotifier`]. When that connection drops, a background task
//! reconnects with capped exponential backoff and then wakes every waiter
//! once, since notifications sent meanwhile are lost. Waiters re-check on a
//! fallback interval anyway: a notification is a hint, not delivery.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use durable_domain::QueueName;
use durable_fanout::LocalNotifier;
use durable_ports::{Notifier, StoreError, Subscription};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::NOTIFY_CHANNEL;
use crate::errors::map_sql;

/// Tuning of the listening connection.
#[derive(Clone, Debug)]
pub struct ListenerConfig {
    /// First wait after a failed reconnect; doubles on each failure.
    pub backoff_initial: Duration,
    /// The longest wait between reconnect attempts.
    pub backoff_max: Duration,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
    /// After this long without a notification the connection is pinged, so
    /// a connection that died silently (no FIN) is noticed and replaced.
    pub keepalive: Duration,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        Self {
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            keepalive: Duration::from_secs(30),
        }
    }
}

/// The PostgreSQL notifier. Cheap to clone; clones share the listener.
#[derive(Clone, Debug)]
pub struct PgNotifier {
    local: LocalNotifier,
    health: Arc<Health>,
}

#[derive(Debug, Default)]
struct Health {
    reconnects: AtomicU64,
    listening: AtomicBool,
}

/// The background task that owns the listening connection. Dropping it
/// stops the task too; [`ListenerTask::shutdown`] also waits for it.
#[derive(Debug)]
pub struct ListenerTask {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl ListenerTask {
    /// Stops listening, closes the connection and waits for the task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.handle.await;
    }
}

impl PgNotifier {
    /// Starts listening on `url` with the default [`ListenerConfig`].
    pub async fn start(url: &str) -> Result<(Self, ListenerTask), StoreError> {
        let options: PgConnectOptions = url.parse().map_err(map_sql)?;
        Self::start_with(options, ListenerConfig::default()).await
    }

    /// Connects and issues `LISTEN` before returning, so every commit after
    /// this call is heard; fails with `Unavailable` if the server cannot be
    /// reached. Must be called within a Tokio runtime, which runs the
    /// background task.
    pub async fn start_with(
        options: PgConnectOptions,
        config: ListenerConfig,
    ) -> Result<(Self, ListenerTask), StoreError> {
        let options = options.application_name("durable-listener");
        let listener = connect(&options, &config).await.map_err(map_sql)?;
        let notifier = Self { local: LocalNotifier::new(), health: Arc::new(Health::default()) };
        notifier.health.listening.store(true, Ordering::SeqCst);
        let (stop, stopped) = watch::channel(false);
        let background = Background { options, config, notifier: notifier.clone(), stop: stopped };
        let handle = tokio::spawn(background.run(listener));
        Ok((notifier, ListenerTask { stop, handle }))
    }

    /// How often the listening connection was re-established after a loss.
    pub fn reconnects(&self) -> u64 {
        self.health.reconnects.load(Ordering::SeqCst)
    }

    /// Whether the listening connection is up right now.
    pub fn is_listening(&self) -> bool {
        self.health.listening.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Notifier for PgNotifier {
    fn subscribe(&self, queue: &QueueName) -> Box<dyn Subscription> {
        self.local.subscribe(queue)
    }

    /// Wakes this process's waiters at once; other replicas hear the NOTIFY
    /// the store sent in the committed transaction.
    async fn notify(&self, queues: &[QueueName]) {
        self.local.notify(queues).await;
    }

    fn reconnects(&self) -> u64 {
        self.health.reconnects.load(Ordering::SeqCst)
    }
}

struct Background {
    options: PgConnectOptions,
    config: ListenerConfig,
    notifier: PgNotifier,
    stop: watch::Receiver<bool>,
}

/// Why forwarding ended.
enum Ended {
    Stopped,
    Lost,
}

impl Background {
    async fn run(mut self, mut listener: PgListener) {
        loop {
            if let Ended::Stopped = self.forward(&mut listener).await {
                return;
            }
            self.notifier.health.listening.store(false, Ordering::SeqCst);
            drop(listener);
            tracing::warn!("lost the LISTEN connection to PostgreSQL; reconnecting");
            listener = match self.reconnect().await {
                Some(listener) => listener,
                None => return,
            };
            self.notifier.health.reconnects.fetch_add(1, Ordering::SeqCst);
            self.notifier.health.listening.store(true, Ordering::SeqCst);
            tracing::info!("LISTEN connection to PostgreSQL re-established");
            // Whatever was notified while we were away is lost: every waiter
            // looks again. LISTEN is already active, so nothing after this
            // point is missed.
            self.notifier.local.wake_all();
        }
    }

    /// Wakes local waiters for each notification until the connection is
    /// lost or a stop is requested.
    async fn forward(&mut self, listener: &mut PgListener) -> Ended {
        loop {
            let received = tokio::select! {
                () = stopped(&mut self.stop) => return Ended::Stopped,
                // `try_recv` is cancel-safe: a timeout loses no notification.
                received = tokio::time::timeout(self.config.keepalive, listener.try_recv()) => received,
            };
            match received {
                Ok(Ok(Some(notification))) => {
                    if let Ok(queue) = QueueName::parse("queue", notification.payload()) {
                        self.notifier.local.wake(&queue);
                    } else {
                        tracing::debug!(payload = notification.payload(), "ignoring a notification");
                    }
                }
                // `None`: the connection closed (we reconnect ourselves).
                Ok(Ok(None)) => return Ended::Lost,
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "LISTEN connection failed");
                    return Ended::Lost;
                }
                Err(_idle) => {
                    let ping = sqlx::query("SELECT 1").execute(&mut *listener);
                    if !matches!(tokio::time::timeout(self.config.connect_timeout, ping).await, Ok(Ok(_))) {
                        return Ended::Lost;
                    }
                }
            }
        }
    }

    /// Connects again, waiting `backoff_initial`, twice that, … up to
    /// `backoff_max` between attempts. `None` when a stop was requested.
    async fn reconnect(&mut self) -> Option<PgListener> {
        let mut delay = self.config.backoff_initial;
        loop {
            let attempt = tokio::select! {
                () = stopped(&mut self.stop) => return None,
                attempt = connect(&self.options, &self.config) => attempt,
            };
            match attempt {
                Ok(listener) => return Some(listener),
                Err(err) => {
                    tracing::debug!(error = %err, retry_in = ?delay, "reconnecting LISTEN failed");
                }
            }
            tokio::select! {
                () = stopped(&mut self.stop) => return None,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(self.config.backoff_max);
        }
    }
}

/// A listener on its own single-connection pool. The listener would
/// reconnect on its own through the pool, but we turn that off: reconnecting
/// here lets us count it, back off, and wake everyone afterwards.
async fn connect(options: &PgConnectOptions, config: &ListenerConfig) -> Result<PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(config.connect_timeout)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with(options.clone());
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.eager_reconnect(false);
    listener.ignore_pool_close_event(true);
    listener.listen(NOTIFY_CHANNEL).await?;
    Ok(listener)
}

/// Completes once a stop is requested or the [`ListenerTask`] is dropped.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}
