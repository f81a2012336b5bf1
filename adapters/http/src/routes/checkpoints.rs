use axum::Router;
use axum::extract::State;
use axum::routing::get;
use durable_domain::TaskId;

use super::SharedService;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, PathParams};
use crate::types::checkpoints::{CheckpointList, CheckpointResponse, CheckpointWritten, PutCheckpointRequest};
use crate::types::rules::NameText;
use crate::types::rules::UuidText;

pub(crate) fn routes() -> Router<SharedService> {
    Router::new()
        .route("/tasks/{task_id}/checkpoints", get(list_checkpoints))
        .route("/tasks/{task_id}/checkpoints/{step_name}", get(get_checkpoint).put(put_checkpoint))
}

/// Upserts the state of a step; `owner_run` must hold its claim.
#[utoipa::path(
    put, path = "/api/v1/tasks/{task_id}/checkpoints/{step_name}", tag = "checkpoints",
    params(("task_id" = inline(UuidText), Path), ("step_name" = inline(NameText), Path)),
    request_body = PutCheckpointRequest,
    responses(
        (status = 200, body = CheckpointWritten),
        (status = 404, body = ErrorBody),
        (status = 409, description = "owner_run does not hold a claim on this task", body = ErrorBody),
    ),
)]
pub(crate) async fn put_checkpoint(
    State(service): State<SharedService>,
    params: PathParams,
    Json(request): Json<PutCheckpointRequest>,
) -> Result<Json<CheckpointWritten>, ApiError> {
    let write = request.into_domain(params.id("task_id")?, params.string("step_name")?);
    let checkpoint = service.put_checkpoint(write).await?;
    Ok(Json(checkpoint.into()))
}

#[utoipa::path(
    get, path = "/api/v1/tasks/{task_id}/checkpoints/{step_name}", tag = "checkpoints",
    params(("task_id" = inline(UuidText), Path), ("step_name" = inline(NameText), Path)),
    responses((status = 200, body = CheckpointResponse), (status = 404, body = ErrorBody)),
)]
pub(crate) async fn get_checkpoint(
    State(service): State<SharedService>,
    params: PathParams,
) -> Result<Json<CheckpointResponse>, ApiError> {
    let checkpoint = service.get_checkpoint(params.id("task_id")?, params.string("step_name")?).await?;
    Ok(Json(checkpoint.into()))
}

/// (ext) Every step of the task.
#[utoipa::path(
    get, path = "/api/v1/tasks/{task_id}/checkpoints", tag = "checkpoints",
    params(("task_id" = inline(UuidText), Path)),
    responses((status = 200, body = CheckpointList), (status = 404, body = ErrorBody)),
)]
pub(crate) async fn list_checkpoints(
    State(service): State<SharedService>,
    params: PathParams,
) -> Result<Json<CheckpointList>, ApiError> {
    let task: TaskId = params.id("task_id")?;
    let checkpoints = service.list_checkpoints(task).await?;
    Ok(Json(CheckpointList { checkpoints: checkpoints.into_iter().map(Into::into).collect() }))
}
