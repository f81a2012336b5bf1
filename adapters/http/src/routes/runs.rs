use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use durable_domain::command::{Completion, RunFilter};
use durable_domain::{RunId, RunStatus as DomainRunStatus};

use super::SharedService;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, OptionalJson, PathParams, Query, page_limit, query_id, status};
use crate::types::rules::UuidText;
use crate::types::runs::{
    BatchCompleteRequest, BatchCompleteResponse, BatchCompleteResult, CompleteRequest, CompletedRun, FailRequest,
    FailedRunResponse, HeartbeatRequest, HeartbeatResponse, RunList, RunQuery, ScheduleRequest, ScheduledRunResponse,
    WaitForEventRequest, WaitForEventResponse, WaitForTaskRequest,
};
use crate::types::status::RunStatus;

pub(crate) fn routes() -> Router<SharedService> {
    Router::new()
        .route("/runs", get(list_runs))
        .route("/runs/complete", post(complete_runs))
        .route("/runs/{run_id}/complete", post(complete_run))
        .route("/runs/{run_id}/fail", post(fail_run))
        .route("/runs/{run_id}/schedule", post(schedule_run))
        .route("/runs/{run_id}/heartbeat", post(heartbeat_run))
        .route("/runs/{run_id}/wait-for-event", post(wait_for_event))
        .route("/runs/{run_id}/wait-for-task", post(wait_for_task))
}

/// Newest first.
#[utoipa::path(
    get, path = "/api/v1/runs", tag = "runs",
    params(RunQuery),
    responses((status = 200, body = RunList)),
)]
pub(crate) async fn list_runs(
    State(service): State<SharedService>,
    Query(query): Query<RunQuery>,
) -> Result<Json<RunList>, ApiError> {
    let filter = RunFilter {
        task_id: query_id("task_id", query.task_id)?,
        status: status(query.status, DomainRunStatus::parse, DomainRunStatus::ALL.map(DomainRunStatus::as_str))?,
        cursor: query_id("cursor", query.cursor)?,
        limit: page_limit(query.limit)?,
    };
    let page = service.list_runs(filter).await?;
    Ok(Json(RunList {
        runs: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor.map(|id| id.to_string()),
    }))
}

/// The body is optional: an empty one completes the run without a result.
#[utoipa::path(
    post, path = "/api/v1/runs/{run_id}/complete", tag = "runs",
    params(("run_id" = inline(UuidText), Path)),
    request_body(content = Option<CompleteRequest>, description = "Optional"),
    responses(
        (status = 200, body = CompletedRun),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The run is not claimed or its claim was lost", body = ErrorBody),
    ),
)]
pub(crate) async fn complete_run(
    State(service): State<SharedService>,
    params: PathParams,
    OptionalJson(request): OptionalJson<CompleteRequest>,
) -> Result<Json<CompletedRun>, ApiError> {
    let run: RunId = params.id("run_id")?;
    service.complete_run(run, request.unwrap_or_default().result).await?;
    Ok(Json(CompletedRun::new(run)))
}

/// (ext) Acknowledges 1–1000 runs in one transaction, each fenced on its own.
#[utoipa::path(
    post, path = "/api/v1/runs/complete", tag = "runs",
    request_body = BatchCompleteRequest,
    responses((status = 200, description = "One result per run, in request order", body = BatchCompleteResponse)),
)]
pub(crate) async fn complete_runs(
    State(service): State<SharedService>,
    Json(request): Json<BatchCompleteRequest>,
) -> Result<Json<BatchCompleteResponse>, ApiError> {
    let items: Vec<Completion> =
        request.runs.into_iter().map(|item| Completion::new(RunId::from_uuid(item.run_id), item.result)).collect();
    let ids: Vec<RunId> = items.iter().map(|item| item.run_id).collect();
    let outcomes = service.complete_runs(items).await?;
    if outcomes.len() != ids.len() {
        return Err(ApiError::internal(format!(
            "complete_runs answered {} results for {} runs",
            outcomes.len(),
            ids.len()
        )));
    }
    let runs = ids
        .into_iter()
        .zip(outcomes)
        .map(|(id, outcome)| match outcome {
            Ok(()) => BatchCompleteResult::Completed { run_id: id.as_uuid(), status: RunStatus::Completed },
            Err(e) => BatchCompleteResult::Rejected { run_id: id.as_uuid(), error: ApiError::from(e).body() },
        })
        .collect();
    Ok(Json(BatchCompleteResponse { runs }))
}

/// Retries after the backoff if attempts are left; otherwise the task fails.
#[utoipa::path(
    post, path = "/api/v1/runs/{run_id}/fail", tag = "runs",
    params(("run_id" = inline(UuidText), Path)),
    request_body = FailRequest,
    responses(
        (status = 200, body = FailedRunResponse),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The run is not claimed or its claim was lost", body = ErrorBody),
    ),
)]
pub(crate) async fn fail_run(
    State(service): State<SharedService>,
    params: PathParams,
    Json(request): Json<FailRequest>,
) -> Result<Json<FailedRunResponse>, ApiError> {
    let failed = service.fail_run(params.id("run_id")?, request.error).await?;
    Ok(Json(failed.into()))
}

/// Defers a pending run, or puts a claimed one to sleep until `run_at`.
#[utoipa::path(
    post, path = "/api/v1/runs/{run_id}/schedule", tag = "runs",
    params(("run_id" = inline(UuidText), Path)),
    request_body = ScheduleRequest,
    responses(
        (status = 200, body = ScheduledRunResponse),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The run is finished", body = ErrorBody),
    ),
)]
pub(crate) async fn schedule_run(
    State(service): State<SharedService>,
    params: PathParams,
    Json(request): Json<ScheduleRequest>,
) -> Result<Json<ScheduledRunResponse>, ApiError> {
    let run: RunId = params.id("run_id")?;
    let scheduled_at = service.schedule_run(run, request.run_at).await?;
    Ok(Json(ScheduledRunResponse { run_id: run.as_uuid(), scheduled_at }))
}

/// (ext) Extends a held claim to now + `extend_by_seconds`.
#[utoipa::path(
    post, path = "/api/v1/runs/{run_id}/heartbeat", tag = "runs",
    params(("run_id" = inline(UuidText), Path)),
    request_body = HeartbeatRequest,
    responses(
        (status = 200, body = HeartbeatResponse),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The claim was lost", body = ErrorBody),
    ),
)]
pub(crate) async fn heartbeat_run(
    State(service): State<SharedService>,
    params: PathParams,
    Json(request): Json<HeartbeatRequest>,
) -> Result<Json<HeartbeatResponse>, ApiError> {
    let run: RunId = params.id("run_id")?;
    let claim_expires_at = service.heartbeat_run(run, request.extend_by_seconds).await?;
    Ok(Json(HeartbeatResponse { run_id: run.as_uuid(), claim_expires_at }))
}

/// Replays a recorded outcome, resolves from the latest event, or sleeps.
#[utoipa::path(
    post, path = "/api/v1/runs/{run_id}/wait-for-event", tag = "runs",
    params(("run_id" = inline(UuidText), Path)),
    request_body = WaitForEventRequest,
    responses(
        (status = 200, description = "`resolved`, with the event's payload", body = WaitForEventResponse),
        (status = 202, description = "`sleeping`: the run gave up its claim", body = WaitForEventResponse),
        (status = 408, description = "`timeout`: no event came in time", body = WaitForEventResponse),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The caller does not hold the claim", body = ErrorBody),
    ),
)]
pub(crate) async fn wait_for_event(
    State(service): State<SharedService>,
    params: PathParams,
    Json(request): Json<WaitForEventRequest>,
) -> Result<(StatusCode, Json<WaitForEventResponse>), ApiError> {
    let event_name = request.event_name.clone();
    let response = service.wait_for_event(request.into_domain(params.id("run_id")?)).await?;
    let response = WaitForEventResponse::new(response, &event_name);
    Ok((response.status(), Json(response)))
}

/// (ext) Waits for a child task to end, with wait-for-event's replay rules:
/// replays a recorded outcome, resolves when the child has ended (payload
/// `{"task_id", "status", "result"?, "error"?}`), or sleeps until it does.
#[utoipa::path(
    post, path = "/api/v1/runs/{run_id}/wait-for-task", tag = "runs",
    params(("run_id" = inline(UuidText), Path)),
    request_body = WaitForTaskRequest,
    responses(
        (status = 200, description = "`resolved`, with the child's end", body = WaitForEventResponse),
        (status = 202, description = "`sleeping`: the run gave up its claim until the child ends", body = WaitForEventResponse),
        (status = 408, description = "`timeout`: the child did not end in time", body = WaitForEventResponse),
        (status = 400, description = "`task_id` is not a child task", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The caller does not hold the claim, or its task is not the child's parent", body = ErrorBody),
    ),
)]
pub(crate) async fn wait_for_task(
    State(service): State<SharedService>,
    params: PathParams,
    Json(request): Json<WaitForTaskRequest>,
) -> Result<(StatusCode, Json<WaitForEventResponse>), ApiError> {
    let child = request.task_id;
    let response = service.wait_for_task(request.into_domain(params.id("run_id")?)).await?;
    let response = WaitForEventResponse::for_task(response, child);
    Ok((response.status(), Json(response)))
}
