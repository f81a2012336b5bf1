//! The accept loop: at most `max_connections` connections at once (beyond,
//! new ones wait in the listen backlog), accept errors such as EMFILE met
//! with a short back-off instead of a spin, and a graceful drain: stop
//! accepting, let each connection answer what it has in flight, wait for
//! all of them.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection::{self, Timeouts};

/// The first pause after a failed accept; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `stop` completes, then drains.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    timeouts: Timeouts,
    max_connections: usize,
    stop: impl Future<Output = ()>,
) {
    let connections = TaskTracker::new();
    let shutdown = CancellationToken::new();
    let accepting = Acceptor {
        address: listener.local_addr().map_or_else(|error| error.to_string(), |address| address.to_string()),
        listener,
        app,
        timeouts,
        connections: connections.clone(),
        shutdown: shutdown.clone(),
    };
    tokio::select! {
        () = accepting.run(max_connections) => {}
        () = stop => {}
    }
    // The acceptor, and with it the listener, is dropped: new connections
    // are refused from here on.
    shutdown.cancel();
    connections.close();
    connections.wait().await;
}

#[derive(Debug)]
struct Acceptor {
    /// Named in the log lines, to tell listeners (and test servers) apart.
    address: String,
    listener: TcpListener,
    app: Router,
    timeouts: Timeouts,
    connections: TaskTracker,
    shutdown: CancellationToken,
}

impl Acceptor {
    async fn run(self, max_connections: usize) {
        let address = &self.address;
        let slots = Arc::new(Semaphore::new(max_connections));
        let mut at_cap = false;
        loop {
            let slot = if let Ok(slot) = slots.clone().try_acquire_owned() {
                if std::mem::take(&mut at_cap) {
                    tracing::info!(%address, max_connections, "open connections below the cap again");
                }
                slot
            } else {
                // Logged once per episode: while every accept has to wait
                // for a slot, the episode goes on.
                if !std::mem::replace(&mut at_cap, true) {
                    tracing::warn!(
                        %address,
                        max_connections,
                        "connection cap reached: new connections wait in the listen backlog until open ones \
                         close (raise --max-connections if this is normal load)"
                    );
                }
                wait_for_slot(&slots).await
            };
            let stream = self.accept().await;
            self.spawn(stream, slot);
        }
    }

    /// The next connection. Errors that concern only that connection (the
    /// client gave up) are skipped; others, such as EMFILE, leave the
    /// connection in the backlog and would fail again at once, so they are
    /// waited out with a growing pause, logged at the first and at recovery.
    async fn accept(&self) -> TcpStream {
        let mut failures: u64 = 0;
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    if failures > 0 {
                        tracing::info!(address = %self.address, failures, "accepting connections again");
                    }
                    return stream;
                }
                Err(error) if concerns_one_connection(&error) => {}
                Err(error) => {
                    if failures == 0 {
                        tracing::error!(
                            address = %self.address,
                            %error,
                            "accepting connections failed; retrying with a back-off"
                        );
                    }
                    failures += 1;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Serves `stream` in a task of its own, holding `slot` until it closes.
    fn spawn(&self, stream: TcpStream, slot: OwnedSemaphorePermit) {
        let (app, timeouts, shutdown) = (self.app.clone(), self.timeouts, self.shutdown.clone());
        self.connections.spawn(async move {
            connection::serve(stream, app, timeouts, shutdown).await;
            drop(slot);
        });
    }
}

async fn wait_for_slot(slots: &Arc<Semaphore>) -> OwnedSemaphorePermit {
    match slots.clone().acquire_owned().await {
        Ok(slot) => slot,
        // Never closed: the semaphore lives as long as the accept loop.
        Err(_) => std::future::pending().await,
    }
}

fn concerns_one_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
    )
}
