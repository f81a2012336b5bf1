use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use durable_domain::command::EventFilter;

use super::SharedService;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, PathParams, Query, page_limit, present, query_id};
use crate::types::events::{EmitEventRequest, EventList, EventQuery, EventResponse, WaitOutcomeList};
use crate::types::rules::UuidText;

pub(crate) fn routes() -> Router<SharedService> {
    Router::new().route("/events", get(list_events).post(emit_event)).route("/tasks/{task_id}/waits", get(list_waits))
}

/// (ext) The recorded outcomes of a task's waits (for events and for child
/// tasks), by step name.
#[utoipa::path(
    get, path = "/api/v1/tasks/{task_id}/waits", tag = "events",
    params(("task_id" = inline(UuidText), Path)),
    responses((status = 200, body = WaitOutcomeList), (status = 404, body = ErrorBody)),
)]
pub(crate) async fn list_waits(
    State(service): State<SharedService>,
    params: PathParams,
) -> Result<Json<WaitOutcomeList>, ApiError> {
    let outcomes = service.list_wait_outcomes(params.id("task_id")?).await?;
    Ok(Json(WaitOutcomeList { waits: outcomes.into_iter().map(Into::into).collect() }))
}

/// (ext) Recent events, newest first.
#[utoipa::path(
    get, path = "/api/v1/events", tag = "events",
    params(EventQuery),
    responses((status = 200, body = EventList)),
)]
pub(crate) async fn list_events(
    State(service): State<SharedService>,
    Query(query): Query<EventQuery>,
) -> Result<Json<EventList>, ApiError> {
    let filter = EventFilter {
        event_name: present(query.event_name),
        cursor: query_id("cursor", query.cursor)?,
        limit: page_limit(query.limit)?,
    };
    let page = service.list_events(filter).await?;
    Ok(Json(EventList {
        events: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor.map(|id| id.to_string()),
    }))
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
