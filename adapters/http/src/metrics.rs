//! `GET /metrics`: whatever the configured renderer produces, as the
//! Prometheus text exposition format.

use axum::Router;
use axum::http::header;
use axum::routing::get;

use crate::MetricsRenderer;

/// The Prometheus text format, version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The route when a renderer is configured; none otherwise.
pub fn routes<S: Clone + Send + Sync + 'static>(renderer: Option<MetricsRenderer>) -> Router<S> {
    let Some(render) = renderer else { return Router::new() };
    let handler = move || {
        let render = render.clone();
        async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], render()) }
    };
    Router::new().route("/metrics", get(handler))
}
