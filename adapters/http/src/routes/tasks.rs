use std::collections::HashMap;

use crate::types::checkpoints::CheckpointResponse;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use durable_domain::command::TaskFilter;
use durable_domain::{TaskId, TaskState, TaskStatus as DomainTaskStatus};

use uuid::Uuid;

use super::SharedService;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, PathParams, Query, page_limit, present, query_id, query_time, status};
use crate::types::rules::QueueNameText;
use crate::types::rules::UuidText;
use crate::types::runs::{BatchCompleteResult, FailResult};
use crate::types::status::{RunStatus, TaskStatus};
use crate::types::tasks::{
    BatchCreateRequest, BatchCreateResponse, CanceledTask, ClaimRequestBody, ClaimResponse, ClaimedTask,
    CreateTaskRequest, CreatedTaskResponse, RetriedTaskResponse, TaskDetail, TaskList, TaskQuery, TaskResultQuery,
    TaskResultResponse,
};

pub(crate) fn routes() -> Router<SharedService> {
    Router::new()
        .route("/queues/{queue_name}/tasks", post(create_task))
        .route("/queues/{queue_name}/tasks/batch", post(create_tasks))
        .route("/queues/{queue_name}/tasks/claim", post(claim))
        .route("/tasks", get(list_tasks))
        .route("/tasks/{task_id}", get(get_task))
        .route("/tasks/{task_id}/cancel", post(cancel_task))
        .route("/tasks/{task_id}/retry", post(retry_task))
        .route("/tasks/{task_id}/result", get(task_result))
}

#[utoipa::path(
    post, path = "/api/v1/queues/{queue_name}/tasks", tag = "tasks",
    params(("queue_name" = inline(QueueNameText), Path)),
    request_body = CreateTaskRequest,
    responses(
        (status = 201, description = "Created", body = CreatedTaskResponse),
        (status = 200, description = "(ext) Deduplicated by idempotency_key", body = CreatedTaskResponse),
        (status = 404, description = "Unknown queue or workflow run", body = ErrorBody),
    ),
)]
pub(crate) async fn create_task(
    State(service): State<SharedService>,
    params: PathParams,
    Json(request): Json<CreateTaskRequest>,
) -> Result<(StatusCode, Json<CreatedTaskResponse>), ApiError> {
    let created = service.create_task(params.string("queue_name")?, request.into()).await?;
    let status = if created.deduplicated { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(created.into())))
}

/// (ext) Creates 1–1000 tasks in one transaction, answered in request order.
#[utoipa::path(
    post, path = "/api/v1/queues/{queue_name}/tasks/batch", tag = "tasks",
    params(("queue_name" = inline(QueueNameText), Path)),
    request_body = BatchCreateRequest,
    responses((status = 201, body = BatchCreateResponse), (status = 404, body = ErrorBody)),
)]
pub(crate) async fn create_tasks(
    State(service): State<SharedService>,
    params: PathParams,
    Json(request): Json<BatchCreateRequest>,
) -> Result<(StatusCode, Json<BatchCreateResponse>), ApiError> {
    let tasks = request.tasks.into_iter().map(Into::into).collect();
    let created = service.create_tasks(params.string("queue_name")?, tasks).await?;
    let tasks = created.into_iter().map(Into::into).collect();
    Ok((StatusCode::CREATED, Json(BatchCreateResponse { tasks })))
}

/// Hands out due pending runs, oldest due first; may long-poll. (ext) With
/// `complete` and `fail`, first records what the worker finished, each item
/// on its own, so a batch costs one request instead of two.
#[utoipa::path(
    post, path = "/api/v1/queues/{queue_name}/tasks/claim", tag = "tasks",
    params(("queue_name" = inline(QueueNameText), Path)),
    request_body = ClaimRequestBody,
    responses((status = 200, body = ClaimResponse), (status = 404, body = ErrorBody)),
)]
pub(crate) async fn claim(
    State(service): State<SharedService>,
    params: PathParams,
    Json(request): Json<ClaimRequestBody>,
) -> Result<Json<ClaimResponse>, ApiError> {
    let queue = params.string("queue_name")?;
    let include_checkpoints = request.include_checkpoints;
    let (claim, finished) = request.split();
    if finished.is_empty() {
        let claimed = service.claim(queue, claim).await?;
        let tasks = claimed_tasks(&service, claimed, include_checkpoints).await?;
        return Ok(Json(ClaimResponse { tasks, completed: None, failed: None }));
    }
    let completed_ids: Vec<Uuid> = finished.complete.iter().map(|c| c.run_id.as_uuid()).collect();
    let failed_ids: Vec<Uuid> = finished.fail.iter().map(|f| f.run_id.as_uuid()).collect();
    let with_complete = !completed_ids.is_empty();
    let with_fail = !failed_ids.is_empty();
    let handoff = service.finish_and_claim(queue, finished, claim).await?;
    if handoff.completed.len() != completed_ids.len() || handoff.failed.len() != failed_ids.len() {
        return Err(ApiError::internal("finish_and_claim answered a different number of items than it was sent"));
    }
    let completed = completed_ids
        .into_iter()
        .zip(handoff.completed)
        .map(|(run_id, outcome)| match outcome {
            Ok(()) => BatchCompleteResult::Completed { run_id, status: RunStatus::Completed },
            Err(e) => BatchCompleteResult::Rejected { run_id, error: ApiError::from(e).body() },
        })
        .collect();
    let failed = failed_ids
        .into_iter()
        .zip(handoff.failed)
        .map(|(run_id, outcome)| match outcome {
            Ok(failed) => FailResult::Failed(failed.into()),
            Err(e) => FailResult::Rejected { run_id, error: ApiError::from(e).body() },
        })
        .collect();
    Ok(Json(ClaimResponse {
        tasks: claimed_tasks(&service, handoff.claimed, include_checkpoints).await?,
        completed: with_complete.then_some(completed),
        failed: with_fail.then_some(failed),
    }))
}

/// Newest first.
#[utoipa::path(
    get, path = "/api/v1/tasks", tag = "tasks",
    params(TaskQuery),
    responses((status = 200, body = TaskList)),
)]
pub(crate) async fn list_tasks(
    State(service): State<SharedService>,
    Query(query): Query<TaskQuery>,
) -> Result<Json<TaskList>, ApiError> {
    let filter = TaskFilter {
        queue_name: present(query.queue_name),
        status: status(query.status, DomainTaskStatus::parse, DomainTaskStatus::ALL.map(DomainTaskStatus::as_str))?,
        task_name: present(query.task_name),
        parent_task_id: query_id("parent_task_id", query.parent_task_id)?,
        created_after: query_time("created_after", query.created_after)?,
        created_before: query_time("created_before", query.created_before)?,
        cursor: query_id("cursor", query.cursor)?,
        limit: page_limit(query.limit)?,
    };
    let page = service.list_tasks(filter).await?;
    Ok(Json(TaskList {
        tasks: page.items.iter().map(Into::into).collect(),
        next_cursor: page.next_cursor.map(|id| id.to_string()),
    }))
}

/// (ext) The whole task.
#[utoipa::path(
    get, path = "/api/v1/tasks/{task_id}", tag = "tasks",
    params(("task_id" = inline(UuidText), Path)),
    responses((status = 200, body = TaskDetail), (status = 404, body = ErrorBody)),
)]
pub(crate) async fn get_task(
    State(service): State<SharedService>,
    params: PathParams,
) -> Result<Json<TaskDetail>, ApiError> {
    let task = service.get_task(params.id("task_id")?).await?;
    Ok(Json(task.into()))
}

/// (ext) Cancels an unfinished task and its live run.
#[utoipa::path(
    post, path = "/api/v1/tasks/{task_id}/cancel", tag = "tasks",
    params(("task_id" = inline(UuidText), Path)),
    responses(
        (status = 200, body = CanceledTask),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The task already finished", body = ErrorBody),
    ),
)]
pub(crate) async fn cancel_task(
    State(service): State<SharedService>,
    params: PathParams,
) -> Result<Json<CanceledTask>, ApiError> {
    let id: TaskId = params.id("task_id")?;
    service.cancel_task(id).await?;
    Ok(Json(CanceledTask { task_id: id.as_uuid(), status: TaskStatus::Canceled }))
}

/// (ext) Retries a failed or canceled task: a new run, due now, with the
/// next attempt number, and the task pending again with its whole failure
/// budget.
#[utoipa::path(
    post, path = "/api/v1/tasks/{task_id}/retry", tag = "tasks",
    params(("task_id" = inline(UuidText), Path)),
    responses(
        (status = 200, body = RetriedTaskResponse),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The task is not failed or canceled, or is past its timeout", body = ErrorBody),
    ),
)]
pub(crate) async fn retry_task(
    State(service): State<SharedService>,
    params: PathParams,
) -> Result<Json<RetriedTaskResponse>, ApiError> {
    let retried = service.retry_task(params.id("task_id")?).await?;
    Ok(Json(RetriedTaskResponse {
        task_id: retried.task_id.as_uuid(),
        run_id: retried.run_id.as_uuid(),
        attempt: retried.attempt,
        status: TaskStatus::Pending,
    }))
}

/// The claimed tasks as answered, each with its checkpoints when asked
/// (one store call for all of them).
async fn claimed_tasks(
    service: &SharedService,
    claimed: Vec<TaskState>,
    include_checkpoints: bool,
) -> Result<Vec<ClaimedTask>, ApiError> {
    let ids: Vec<TaskId> = claimed.iter().map(|c| c.task.id).collect();
    let mut tasks: Vec<ClaimedTask> = claimed.into_iter().map(Into::into).collect();
    if !include_checkpoints {
        return Ok(tasks);
    }
    let mut by_task: HashMap<Uuid, Vec<CheckpointResponse>> = HashMap::new();
    if !ids.is_empty() {
        for checkpoint in service.checkpoints_of_tasks(ids).await? {
            by_task.entry(checkpoint.task_id.as_uuid()).or_default().push(checkpoint.into());
        }
    }
    for task in &mut tasks {
        task.checkpoints = Some(by_task.remove(&task.task_id).unwrap_or_default());
    }
    Ok(tasks)
}

/// (ext) The task's end: 200 once it has ended, else waits up to
/// `wait_seconds` for it and answers 202 with its status.
#[utoipa::path(
    get, path = "/api/v1/tasks/{task_id}/result", tag = "tasks",
    params(("task_id" = inline(UuidText), Path), TaskResultQuery),
    responses(
        (status = 200, description = "The task has ended", body = TaskResultResponse),
        (status = 202, description = "The wait ran out before the task ended", body = TaskResultResponse),
        (status = 404, body = ErrorBody),
    ),
)]
pub(crate) async fn task_result(
    State(service): State<SharedService>,
    params: PathParams,
    Query(query): Query<TaskResultQuery>,
) -> Result<(StatusCode, Json<TaskResultResponse>), ApiError> {
    let wait_seconds = present(query.wait_seconds)
        .map(|raw| raw.parse::<f64>().map_err(|_| ApiError::validation("wait_seconds must be a number of seconds")))
        .transpose()?;
    let end = service.task_result(params.id("task_id")?, wait_seconds).await?;
    let status = if end.is_finished() { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((status, Json(end.into())))
}
