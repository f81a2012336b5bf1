use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};

use super::SharedService;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, PathParams, Query, present};
use crate::types::queues::{
    CreateQueueRequest, DeleteQueueQuery, QueueHistoryResponse, QueueList, QueueResponse, QueueStatsResponse,
    UpdateQueueRequest,
};
use crate::types::rules::QueueNameText;

pub(crate) fn routes() -> Router<SharedService> {
    Router::new()
        .route("/queues", get(list_queues).post(create_queue))
        .route("/queues/{queue_name}", delete(delete_queue).patch(update_queue))
        .route("/queues/{queue_name}/stats", get(queue_stats))
        .route("/queues/{queue_name}/history", get(queue_history))
}

#[utoipa::path(
    get, path = "/api/v1/queues", tag = "queues",
    responses((status = 200, body = QueueList)),
)]
pub(crate) async fn list_queues(State(service): State<SharedService>) -> Result<Json<QueueList>, ApiError> {
    let queues = service.list_queues().await?;
    Ok(Json(QueueList { queues: queues.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(
    post, path = "/api/v1/queues", tag = "queues",
    request_body = CreateQueueRequest,
    responses(
        (status = 201, body = QueueResponse),
        (status = 409, description = "The queue exists", body = ErrorBody),
    ),
)]
pub(crate) async fn create_queue(
    State(service): State<SharedService>,
    Json(request): Json<CreateQueueRequest>,
) -> Result<(StatusCode, Json<QueueResponse>), ApiError> {
    let queue = service.create_queue(request.into()).await?;
    Ok((StatusCode::CREATED, Json(queue.into())))
}

#[utoipa::path(
    patch, path = "/api/v1/queues/{queue_name}", tag = "queues",
    params(("queue_name" = inline(QueueNameText), Path)),
    request_body = UpdateQueueRequest,
    responses((status = 200, body = QueueResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
)]
/// (ext) Changes a queue's flow settings.
pub(crate) async fn update_queue(
    State(service): State<SharedService>,
    params: PathParams,
    Json(request): Json<UpdateQueueRequest>,
) -> Result<Json<QueueResponse>, ApiError> {
    let queue = service.update_queue(params.string("queue_name")?, request.into()).await?;
    Ok(Json(queue.into()))
}

#[utoipa::path(
    delete, path = "/api/v1/queues/{queue_name}", tag = "queues",
    params(("queue_name" = inline(QueueNameText), Path), DeleteQueueQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The queue holds unfinished tasks", body = ErrorBody),
    ),
)]
pub(crate) async fn delete_queue(
    State(service): State<SharedService>,
    params: PathParams,
    Query(query): Query<DeleteQueueQuery>,
) -> Result<StatusCode, ApiError> {
    let name = params.string("queue_name")?;
    let force = match present(query.force).as_deref() {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(_) => return Err(ApiError::validation("force must be true or false")),
    };
    service.delete_queue(name, force).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/api/v1/queues/{queue_name}/stats", tag = "queues",
    params(("queue_name" = inline(QueueNameText), Path)),
    responses((status = 200, body = QueueStatsResponse), (status = 404, body = ErrorBody)),
)]
pub(crate) async fn queue_stats(
    State(service): State<SharedService>,
    params: PathParams,
) -> Result<Json<QueueStatsResponse>, ApiError> {
    let stats = service.queue_stats(params.string("queue_name")?).await?;
    Ok(Json(stats.into()))
}

#[utoipa::path(
    get, path = "/api/v1/queues/{queue_name}/history", tag = "queues",
    params(("queue_name" = inline(QueueNameText), Path)),
    responses((status = 200, body = QueueHistoryResponse), (status = 404, body = ErrorBody)),
)]
/// (ext) The queue's last hour, minute by minute, as this server saw it
/// (what the dashboard charts).
pub(crate) async fn queue_history(
    State(service): State<SharedService>,
    params: PathParams,
) -> Result<Json<QueueHistoryResponse>, ApiError> {
    let name = params.string("queue_name")?;
    let overview = service.queue_history(name.clone()).await?;
    Ok(Json(QueueHistoryResponse {
        queue_name: name,
        interval_seconds: 60,
        samples: overview.minutes.into_iter().map(Into::into).collect(),
        completed_runs: overview.completed_runs,
        failed_runs: overview.failed_runs,
        count_cap: overview.count_cap,
    }))
}
