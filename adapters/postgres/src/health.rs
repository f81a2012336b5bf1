//! Whether the database can be reached, as far as the store can tell, so
//! that calls answer `Unavailable` at once during an outage instead of each
//! waiting out the pool's acquire timeout (the pool keeps retrying a
//! refused connection until then).
//!
//! A lost connection, or a call still running after [`SUSPECT_AFTER`],
//! starts a *probe*: a fresh connection of its own, one at a time, at most
//! one per [`PROBE_INTERVAL`]. If it cannot connect, the database is *down*:
//! calls fail without touching the pool, calls in flight are abandoned with
//! the same answer, and the probe repeats every [`PROBE_INTERVAL`] until a
//! connection succeeds and the database is *up* again. A server that
//! answers, even with a refusal (too many clients, a bad password), is up:
//! the calls then report what it says.
//!
//! It also remembers when a connection was last found broken, so that
//! pooled connections idle since then are pinged before they are handed
//! out ([`StaleCheck`]): the killed or restarted server broke them too.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use durable_ports::StoreError;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::sync::watch;

use crate::errors::{Error, Result, is_connection_loss};

/// Spacing of probes: while down, how soon a server that is back is noticed.
const PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// A probe that has not connected by then counts as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A call running this long starts a probe: with the server gone and no
/// pooled connection left, the pool's own connection attempts show nothing
/// until its acquire timeout.
const SUSPECT_AFTER: Duration = Duration::from_millis(250);

/// What `/readyz` waits at most for the database before answering no.
const READY_WITHIN: Duration = Duration::from_millis(800);

/// The store's view of the database; clones share it.
#[derive(Clone, Debug)]
pub(crate) struct Health {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    options: PgConnectOptions,
    state: watch::Sender<State>,
    /// A probe task is running (or waiting for its turn).
    probing: AtomicBool,
    clock: Clock,
    last_probe: AtomicU64,
    last_loss: AtomicU64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Up,
    Down(Arc<str>),
}

impl State {
    fn down_reason(&self) -> Option<Arc<str>> {
        match self {
            Self::Up => None,
            Self::Down(reason) => Some(reason.clone()),
        }
    }
}

impl Health {
    /// Starts up: the store was just able to connect, or will find out.
    pub(crate) fn new(options: PgConnectOptions) -> Self {
        let inner = Inner {
            options,
            state: watch::Sender::new(State::Up),
            probing: AtomicBool::new(false),
            clock: Clock::new(),
            last_probe: AtomicU64::new(0),
            last_loss: AtomicU64::new(0),
        };
        Self { inner: Arc::new(inner) }
    }

    /// `Unavailable` while the database is down.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        match &*self.inner.state.borrow() {
            State::Up => Ok(()),
            State::Down(reason) => Err(unavailable(reason)),
        }
    }

    /// A connection was found broken: the idle ones may be too, and the
    /// database may be gone.
    pub(crate) fn connection_lost(&self) {
        self.inner.mark_loss();
        self.suspect();
    }

    /// Something looks wrong (a slow call, a timed-out acquire): probe.
    pub(crate) fn suspect(&self) {
        if !self.inner.probing.swap(true, Ordering::AcqRel) {
            tokio::spawn(probe_until_up(Arc::downgrade(&self.inner)));
        }
    }

    /// Runs `op`, abandoning it with `Unavailable` as soon as the database
    /// is found down; starts a probe if it runs long.
    pub(crate) async fn watch<T>(&self, op: impl Future<Output = Result<T>>) -> Result<T> {
        let mut state = self.inner.state.subscribe();
        let mut op = std::pin::pin!(op);
        let mut slow = std::pin::pin!(tokio::time::sleep(SUSPECT_AFTER));
        let mut suspected = false;
        loop {
            tokio::select! {
                biased;
                result = &mut op => return result,
                reason = went_down(&mut state) => return Err(Error::Store(unavailable(&reason))),
                () = &mut slow, if !suspected => {
                    suspected = true;
                    self.suspect();
                }
            }
        }
    }

    /// Bounds a readiness check by [`READY_WITHIN`]: a database that does
    /// not answer by then is "not ready" (and gets probed).
    pub(crate) async fn ready(&self, ping: impl Future<Output = Result<(), StoreError>>) -> Result<(), StoreError> {
        if let Ok(answer) = tokio::time::timeout(READY_WITHIN, ping).await {
            answer
        } else {
            self.suspect();
            Err(StoreError::Unavailable(format!("the database did not answer within {READY_WITHIN:?}")))
        }
    }

    /// For the pool's acquire hook, which must not keep the store alive.
    pub(crate) fn stale_check(&self) -> StaleCheck {
        StaleCheck(Arc::downgrade(&self.inner))
    }
}

/// Tells whether a pooled connection may have been broken while it sat idle.
#[derive(Clone, Debug)]
pub(crate) struct StaleCheck(Weak<Inner>);

impl StaleCheck {
    /// The connection, idle for `idle_for`, was idle already when a
    /// connection was last found broken.
    pub(crate) fn may_be_stale(&self, idle_for: Duration) -> bool {
        let Some(inner) = self.0.upgrade() else { return false };
        let loss = inner.last_loss.load(Ordering::Acquire);
        loss != 0 && inner.clock.now().saturating_sub(nanos(idle_for)) < loss
    }

    /// A pooled connection failed its ping.
    pub(crate) fn connection_lost(&self) {
        if let Some(inner) = self.0.upgrade() {
            Health { inner }.connection_lost();
        }
    }
}

impl Inner {
    fn mark_loss(&self) {
        self.last_loss.fetch_max(self.clock.now(), Ordering::AcqRel);
    }

    fn set(&self, state: State) {
        self.state.send_if_modified(|current| {
            if *current == state {
                return false;
            }
            match &state {
                State::Down(reason) => {
                    tracing::warn!(%reason, "PostgreSQL is unreachable; store calls answer Unavailable until it is back");
                }
                State::Up => tracing::info!("PostgreSQL is reachable again"),
            }
            *current = state;
            true
        });
    }

    /// How long until the next probe may start.
    fn until_next_probe(&self) -> Duration {
        let last = self.last_probe.load(Ordering::Acquire);
        if last == 0 {
            return Duration::ZERO;
        }
        let next = last.saturating_add(nanos(PROBE_INTERVAL));
        Duration::from_nanos(next.saturating_sub(self.clock.now()))
    }
}

/// Probes until a connection succeeds (or the store is gone).
async fn probe_until_up(inner: Weak<Inner>) {
    loop {
        let Some(health) = inner.upgrade() else { return };
        tokio::time::sleep(health.until_next_probe()).await;
        health.last_probe.store(health.clock.now(), Ordering::Release);
        match probe(&health.options).await {
            Ok(()) => {
                if *health.state.borrow() != State::Up {
                    // Every pooled connection predates the outage.
                    health.mark_loss();
                }
                health.set(State::Up);
                health.probing.store(false, Ordering::Release);
                return;
            }
            Err(reason) => {
                health.mark_loss();
                health.set(State::Down(reason.into()));
            }
        }
    }
}

/// Opens and closes a connection: `Err` with the reason when the server
/// cannot be reached.
async fn probe(options: &PgConnectOptions) -> Result<(), String> {
    match tokio::time::timeout(PROBE_TIMEOUT, PgConnection::connect_with(options)).await {
        Ok(Ok(conn)) => {
            tokio::spawn(conn.close());
            Ok(())
        }
        Ok(Err(err)) if is_connection_loss(&err) => Err(err.to_string()),
        // The server answered: it is there.
        Ok(Err(_)) => Ok(()),
        Err(_) => Err(format!("no connection within {PROBE_TIMEOUT:?}")),
    }
}

async fn went_down(state: &mut watch::Receiver<State>) -> Arc<str> {
    let reason = state.wait_for(|s| s.down_reason().is_some()).await.map(|down| down.down_reason());
    match reason {
        Ok(reason) => reason.unwrap_or_default(),
        // The sender lives as long as the receiver's owner holds `Health`.
        Err(_) => std::future::pending().await,
    }
}

fn unavailable(reason: &str) -> StoreError {
    StoreError::Unavailable(format!("the database is unreachable: {reason}"))
}

/// Monotonic nanoseconds since the store started, never 0 (0 means "never").
#[derive(Debug)]
struct Clock(Instant);

impl Clock {
    fn new() -> Self {
        Self(Instant::now())
    }

    fn now(&self) -> u64 {
        nanos(self.0.elapsed()).saturating_add(1)
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health() -> Health {
        Health::new(PgConnectOptions::new().host("127.0.0.1").port(1))
    }

    #[test]
    fn connections_idle_since_before_a_loss_are_suspect() {
        let health = health();
        let stale = health.stale_check();
        assert!(!stale.may_be_stale(Duration::from_secs(3600)), "nothing was lost yet");
        health.inner.mark_loss();
        assert!(stale.may_be_stale(Duration::from_secs(3600)), "idle since before the loss");
        assert!(!stale.may_be_stale(Duration::ZERO), "back in the pool after the loss");
    }

    #[tokio::test]
    async fn calls_in_flight_give_up_once_the_database_is_found_down() {
        let health = health();
        assert!(health.check().is_ok());
        let in_flight = health.watch(std::future::pending::<Result<()>>());
        let found_down = async {
            tokio::task::yield_now().await;
            health.inner.set(State::Down("connection refused".into()));
        };
        let (answer, ()) = tokio::join!(in_flight, found_down);
        assert!(matches!(answer, Err(Error::Store(StoreError::Unavailable(_)))), "{answer:?}");
        assert!(matches!(health.check(), Err(StoreError::Unavailable(_))));
    }
}
