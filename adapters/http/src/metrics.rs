//! `GET /metrics`: whatever the configured renderer produces, as the
//! Prometheus text exposition format.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::MetricsRenderer;

/// The Prometheus text format, version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The route when a renderer is configured; none otherwise.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(renderer: Option<MetricsRenderer>) -> Router<S> {
    let Some(render) = renderer else { return Router::new() };
    Router::new().route("/metrics", get(metrics)).with_state(render)
}

/// Prometheus metrics of this replica (the server always serves them; an
/// embedding without a metrics backend answers 404).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((
        status = 200,
        description = "The Prometheus text exposition format, version 0.0.4",
        content_type = "text/plain; version=0.0.4; charset=utf-8",
        body = String,
    )),
)]
pub(crate) async fn metrics(State(render): State<MetricsRenderer>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], render())
}
