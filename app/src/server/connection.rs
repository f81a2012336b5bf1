//! One HTTP/1.1 connection, served by hyper, closed when it holds a slot
//! without using it:
//!
//! - a new connection has the header timeout to send its first complete
//!   request headers (an idle socket, a slow or half-sent header);
//! - after each response, a keep-alive connection has the idle timeout until
//!   the next request's headers are complete;
//! - while a request is in flight (until its response has been written)
//!   neither runs: a long-polling claim holds its connection as long as it
//!   waits.
//!
//! hyper's own `header_read_timeout` restarts when a keep-alive connection
//! goes idle, so it cannot tell an idle pooled connection from a slow header
//! and the two timeouts could not differ; [`Activity`] tracks both instead.

use std::convert::Infallible;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// How long a connection may hold its slot without a request in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Timeouts {
    /// From accept to the end of the first request's headers.
    pub header: Duration,
    /// From the end of a response to the end of the next request's headers.
    pub idle: Duration,
}

/// Serves `stream` until the client closes it, a timeout closes it, or
/// `shutdown` has been cancelled and the request in flight (if any) is
/// answered.
pub(super) async fn serve(stream: TcpStream, app: Router, timeouts: Timeouts, shutdown: CancellationToken) {
    let activity = Arc::new(Activity::new(Instant::now()));
    let service = Tracked { app, activity: activity.clone() };
    let mut builder = http1::Builder::new();
    builder.header_read_timeout(None);
    let mut connection = pin!(builder.serve_connection(TokioIo::new(stream), service));
    let mut draining = false;
    loop {
        let now = Instant::now();
        let wake_at = match activity.deadline(&timeouts) {
            Some((at, _)) if at > now => at,
            Some((_, reason)) => {
                // Dropping the connection closes the socket; no request of it
                // is in flight, so nothing is cut short.
                tracing::debug!(reason, "closing connection");
                return;
            }
            // A request is in flight: look again later, it may have ended.
            None => now + timeouts.header.min(timeouts.idle),
        };
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(error) = served {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            () = shutdown.cancelled(), if !draining => {
                // Closes an idle keep-alive connection at once; otherwise the
                // request in flight (or the next one, still bounded by the
                // timeouts) is answered with `Connection: close`.
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(wake_at) => {}
        }
    }
}

/// Where a connection is between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Accepted then, no request yet.
    New(Instant),
    /// This many requests in flight (one at a time over HTTP/1.1).
    Busy(usize),
    /// The last response ended then.
    Idle(Instant),
}

/// The phase of one connection, moved by its requests and responses.
#[derive(Debug)]
struct Activity(Mutex<Phase>);

impl Activity {
    fn new(accepted: Instant) -> Self {
        Self(Mutex::new(Phase::New(accepted)))
    }

    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        // The phase is a plain value, whole after any panic.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request's headers are complete: it is in flight until the returned
    /// guard is dropped (with the response body, once written).
    fn begin(self: &Arc<Self>) -> InFlight {
        let mut phase = self.phase();
        *phase = match *phase {
            Phase::Busy(requests) => Phase::Busy(requests + 1),
            Phase::New(_) | Phase::Idle(_) => Phase::Busy(1),
        };
        InFlight(self.clone())
    }

    fn end(&self, now: Instant) {
        let mut phase = self.phase();
        if let Phase::Busy(requests) = *phase {
            *phase = if requests > 1 { Phase::Busy(requests - 1) } else { Phase::Idle(now) };
        }
    }

    /// When the connection is to be closed and why; `None` while a request
    /// is in flight.
    fn deadline(&self, timeouts: &Timeouts) -> Option<(Instant, &'static str)> {
        match *self.phase() {
            Phase::New(accepted) => {
                Some((accepted + timeouts.header, "no complete request headers in the header timeout"))
            }
            Phase::Idle(since) => Some((since + timeouts.idle, "no request in the idle timeout")),
            Phase::Busy(_) => None,
        }
    }
}

/// A request in flight; dropping it ends the request.
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end(Instant::now());
    }
}

/// The router as a hyper service that tells [`Activity`] when requests
/// start and end.
#[derive(Debug, Clone)]
struct Tracked {
    app: Router,
    activity: Arc<Activity>,
}

impl hyper::service::Service<Request<Incoming>> for Tracked {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.begin();
        let app = self.app.clone();
        Box::pin(async move {
            let response = app.oneshot(request).await?;
            Ok(response.map(|body| TrackedBody { body, _in_flight: in_flight }))
        })
    }
}

/// A response body that keeps its request in flight until hyper has
/// written it and drops it.
#[derive(Debug)]
struct TrackedBody {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: Timeouts = Timeouts { header: Duration::from_secs(10), idle: Duration::from_secs(75) };

    #[test]
    fn a_new_connection_has_the_header_timeout() {
        let accepted = Instant::now();
        let activity = Activity::new(accepted);
        assert_eq!(activity.deadline(&TIMEOUTS).map(|(at, _)| at), Some(accepted + TIMEOUTS.header));
    }

    #[test]
    fn no_timeout_runs_while_a_request_is_in_flight() {
        let activity = Arc::new(Activity::new(Instant::now()));
        let request = activity.begin();
        assert_eq!(activity.deadline(&TIMEOUTS), None);
        drop(request);
        assert!(activity.deadline(&TIMEOUTS).is_some());
    }

    #[test]
    fn the_idle_timeout_runs_from_the_end_of_the_last_response() {
        let activity = Arc::new(Activity::new(Instant::now()));
        let (first, second) = (activity.begin(), activity.begin());
        drop(first);
        assert_eq!(activity.deadline(&TIMEOUTS), None, "one request is still in flight");
        let before = Instant::now();
        drop(second);
        let (at, _) = activity.deadline(&TIMEOUTS).unwrap();
        assert!(before + TIMEOUTS.idle <= at && at <= Instant::now() + TIMEOUTS.idle);
    }
}
