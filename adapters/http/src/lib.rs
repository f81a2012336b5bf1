//! The HTTP adapter of durable: an axum router over the [`Service`] port.
//!
//! The adapter owns its wire types ([`types`]), turns every failure into the
//! API's `{"error", "code"}` body in one place ([`error`]), and serves the
//! OpenAPI document and Swagger UI generated from the same code.

mod auth;
mod dashboard;
mod decode;
mod docs;
pub mod error;
mod extract;
mod metrics;
mod observe;
pub mod openapi;
mod propagation;
mod routes;
pub mod types;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use durable_ports::{Metrics, NoopMetrics, Service};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};

pub use error::{ApiError, ErrorBody, ErrorCode};
pub use openapi::openapi;

/// Renders the current metrics for `GET /metrics`, in the Prometheus text
/// format. A function, so this adapter needs no metrics library.
pub type MetricsRenderer = Arc<dyn Fn() -> String + Send + Sync>;

/// Settings of the HTTP layer.
#[derive(Clone)]
pub struct HttpConfig {
    /// The largest request body accepted, in bytes; larger ones get 413.
    pub body_limit: usize,
    /// Receives one [`durable_ports::Observation::HttpRequest`] per request.
    pub metrics: Arc<dyn Metrics>,
    /// Serves `GET /metrics` when set; without it that path is a 404.
    pub metrics_renderer: Option<MetricsRenderer>,
    /// When set, every `/api/v1` request must carry `Authorization: Bearer
    /// <token>`; others get 401 `UNAUTHORIZED`.
    pub auth_token: Option<String>,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("body_limit", &self.body_limit)
            .field("serves_metrics", &self.metrics_renderer.is_some())
            .field("requires_token", &self.auth_token.is_some())
            .finish_non_exhaustive()
    }
}

impl HttpConfig {
    pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit: Self::DEFAULT_BODY_LIMIT,
            metrics: Arc::new(NoopMetrics),
            metrics_renderer: None,
            auth_token: None,
        }
    }
}

/// The whole HTTP surface: `/api/v1`, the probes, `/metrics` (when
/// configured), `/openapi.json` and `/docs`.
pub fn router(service: Arc<dyn Service>, config: HttpConfig) -> Router {
    // `Router::layer` wraps each route (and the fallbacks), inside routing,
    // which is what lets the middleware see the matched route template.
    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(observe::REQUEST_ID, observe::MakeUuidV7))
        .layer(PropagateRequestIdLayer::new(observe::REQUEST_ID))
        .layer(axum::middleware::from_fn_with_state(config.metrics, observe::observe_request))
        .layer(CatchPanicLayer::custom(observe::panic_response));
    let mut api = routes::api();
    if let Some(token) = config.auth_token.filter(|t| !t.is_empty()) {
        let token: Arc<str> = token.into();
        api = api.route_layer(axum::middleware::from_fn_with_state(token, auth::require_bearer));
    }
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(routes::ops::healthz))
        .route("/readyz", get(routes::ops::readyz))
        .merge(metrics::routes(config.metrics_renderer))
        .merge(docs::routes())
        .merge(dashboard::routes())
        // Must come after every route: it only reaches routes added before it.
        .method_not_allowed_fallback(routes::ops::method_not_allowed)
        .fallback(routes::ops::no_route)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .with_state(service)
        .layer(middleware)
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets requests
/// in flight finish (a long-polling claim included) before returning.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
