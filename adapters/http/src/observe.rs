//! Request ids, one span, one log line and one metric per request, and
//! panics turned into 500s.

use std::any::Any;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use durable_ports::{Metrics, Observation};
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Instrument;
use tracing::field::Empty;
use uuid::Uuid;

use crate::error::ApiError;
use crate::propagation;

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The `route` of requests no route took: one label value for all of them,
/// so probes of random paths cannot grow the metric's label space.
const UNMATCHED: &str = "unmatched";

/// Time-ordered ids, like every other id of the system.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MakeUuidV7;

impl MakeRequestId for MakeUuidV7 {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&Uuid::now_v7().to_string()).ok().map(RequestId::new)
    }
}

/// Runs the request inside its span (continuing the caller's trace when it
/// sent `traceparent`), then logs method, path, status, latency and request
/// id (5xx at error level) and records the duration by route template.
/// Everything the handler and the engine log happens inside the span, so
/// those lines carry the request id too.
pub(crate) async fn observe_request(State(metrics): State<Arc<dyn Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // The template (`/api/v1/runs/{run_id}/complete`), never the raw path:
    // ids in a span name or a label would make every request unique.
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, MatchedPath::as_str).to_owned();
    let request_id =
        request.headers().get(&REQUEST_ID).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = %method,
        http.route = %route,
        url.path = %path,
        http.response.status_code = Empty,
        %request_id,
    );
    propagation::continue_trace(&span, request.headers());

    let response = next.run(request).instrument(span.clone()).await;

    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    // As i64: tracing-opentelemetry exports unsigned fields as strings.
    span.record("http.response.status_code", i64::from(status));
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    if response.status().is_server_error() {
        span.record("otel.status_code", "ERROR");
        tracing::error!(%method, %path, status, latency_ms, %request_id, "request failed");
    } else {
        tracing::info!(%method, %path, status, latency_ms, %request_id, "request");
    }
    metrics.record(Observation::HttpRequest {
        route,
        method: method_label(&method).to_owned(),
        status,
        seconds: elapsed.as_secs_f64(),
    });
    response
}

/// Standard methods by name; anything else as one value, for the same
/// reason as [`UNMATCHED`].
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// A panicking handler answers 500 like any other internal error.
pub(crate) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic with no message");
    ApiError::internal(format!("handler panicked: {detail}")).into_response()
}
