use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;

use super::SharedService;
use crate::error::ApiError;
use crate::extract::Json;
use crate::types::events::{EmitEventRequest, EventResponse};

pub(crate) fn routes() -> Router<SharedService> {
    Router::new().route("/events", post(emit_event))
}

/// Wakes every run sleeping on this event name.
#[utoipa::path(
    post, path = "/api/v1/events", tag = "events",
    request_body = EmitEventRequest,
    responses((status = 201, body = EventResponse)),
)]
pub(crate) async fn emit_event(
    State(service): State<SharedService>,
    Json(request): Json<EmitEventRequest>,
) -> Result<(StatusCode, Json<EventResponse>), ApiError> {
    let event = service.emit_event(request.event_name, request.payload).await?;
    Ok((StatusCode::CREATED, Json(event.into())))
}
