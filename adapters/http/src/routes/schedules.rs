use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::SharedService;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, PathParams};
use crate::types::rules::ScheduleNameText;
use crate::types::schedules::{CreateScheduleRequest, ScheduleList, ScheduleResponse, UpdateScheduleRequest};

pub(crate) fn routes() -> Router<SharedService> {
    Router::new()
        .route("/schedules", get(list_schedules).post(create_schedule))
        .route("/schedules/{name}", get(get_schedule).patch(update_schedule).delete(delete_schedule))
}

#[utoipa::path(
    post, path = "/api/v1/schedules", tag = "schedules",
    request_body = CreateScheduleRequest,
    responses(
        (status = 201, body = ScheduleResponse),
        (status = 404, description = "Unknown queue", body = ErrorBody),
        (status = 409, description = "A schedule of that name exists", body = ErrorBody),
    ),
)]
/// (ext) Creates a cron schedule: its task is created once per tick, by
/// whichever replica's sweeper gets there first.
pub(crate) async fn create_schedule(
    State(service): State<SharedService>,
    Json(request): Json<CreateScheduleRequest>,
) -> Result<(StatusCode, Json<ScheduleResponse>), ApiError> {
    let schedule = service.create_schedule(request.into()).await?;
    Ok((StatusCode::CREATED, Json(schedule.into())))
}

#[utoipa::path(
    get, path = "/api/v1/schedules", tag = "schedules",
    responses((status = 200, body = ScheduleList)),
)]
/// (ext) Every schedule, by name.
pub(crate) async fn list_schedules(State(service): State<SharedService>) -> Result<Json<ScheduleList>, ApiError> {
    let schedules = service.list_schedules().await?;
    Ok(Json(ScheduleList { schedules: schedules.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(
    get, path = "/api/v1/schedules/{name}", tag = "schedules",
    params(("name" = inline(ScheduleNameText), Path)),
    responses((status = 200, body = ScheduleResponse), (status = 404, body = ErrorBody)),
)]
/// (ext) A schedule with its next fire times and the last task it fired.
pub(crate) async fn get_schedule(
    State(service): State<SharedService>,
    params: PathParams,
) -> Result<Json<ScheduleResponse>, ApiError> {
    Ok(Json(service.get_schedule(params.string("name")?).await?.into()))
}

#[utoipa::path(
    patch, path = "/api/v1/schedules/{name}", tag = "schedules",
    params(("name" = inline(ScheduleNameText), Path)),
    request_body = UpdateScheduleRequest,
    responses((status = 200, body = ScheduleResponse), (status = 404, body = ErrorBody)),
)]
/// (ext) Changes a schedule's expression, zone, task, catch-up policy or
/// pause.
pub(crate) async fn update_schedule(
    State(service): State<SharedService>,
    params: PathParams,
    Json(request): Json<UpdateScheduleRequest>,
) -> Result<Json<ScheduleResponse>, ApiError> {
    Ok(Json(service.update_schedule(params.string("name")?, request.into()).await?.into()))
}

#[utoipa::path(
    delete, path = "/api/v1/schedules/{name}", tag = "schedules",
    params(("name" = inline(ScheduleNameText), Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)),
)]
/// (ext) Deletes a schedule; the tasks it fired stay.
pub(crate) async fn delete_schedule(
    State(service): State<SharedService>,
    params: PathParams,
) -> Result<StatusCode, ApiError> {
    service.delete_schedule(params.string("name")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
