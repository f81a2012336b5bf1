//! Probes and the answers for requests no route takes.

use axum::extract::State;
use axum::http::{Method, Uri};

use super::SharedService;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::Json;
use crate::types::ops::StatusResponse;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = StatusResponse)))]
pub(crate) async fn healthz() -> Json<StatusResponse> {
    Json(StatusResponse { status: "ok" })
}

/// Storage answers.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, body = StatusResponse),
        (status = 503, description = "Storage does not answer", body = ErrorBody),
    ),
)]
pub(crate) async fn readyz(State(service): State<SharedService>) -> Result<Json<StatusResponse>, ApiError> {
    // Any failure means "not ready", whatever its kind.
    service.ready().await.map_err(ApiError::unavailable)?;
    Ok(Json(StatusResponse { status: "ready" }))
}

pub(crate) async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, format!("method {method} is not allowed on {}", uri.path()))
}
