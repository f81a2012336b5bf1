use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use durable_domain::command::WorkflowFilter;
use durable_domain::workflow::WorkflowStatus as DomainWorkflowStatus;

use super::SharedService;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, PathParams, Query, page_limit, present, query_id, status};
use crate::types::rules::UuidText;
use crate::types::workflows::{
    CreateWorkflowRunRequest, PatchWorkflowRunRequest, WorkflowQuery, WorkflowRunDetail, WorkflowRunList,
    WorkflowRunResponse,
};

pub(crate) fn routes() -> Router<SharedService> {
    Router::new()
        .route("/workflow-runs", get(list_workflow_runs).post(create_workflow_run))
        .route("/workflow-runs/{id}", get(get_workflow_run).patch(update_workflow_run))
}

#[utoipa::path(
    post, path = "/api/v1/workflow-runs", tag = "workflow runs",
    request_body = CreateWorkflowRunRequest,
    responses((status = 201, body = WorkflowRunResponse)),
)]
pub(crate) async fn create_workflow_run(
    State(service): State<SharedService>,
    Json(request): Json<CreateWorkflowRunRequest>,
) -> Result<(StatusCode, Json<WorkflowRunResponse>), ApiError> {
    let run = service.create_workflow_run(request.into()).await?;
    Ok((StatusCode::CREATED, Json(run.into())))
}

#[utoipa::path(
    patch, path = "/api/v1/workflow-runs/{id}", tag = "workflow runs",
    params(("id" = inline(UuidText), Path)),
    request_body = PatchWorkflowRunRequest,
    responses((status = 200, body = WorkflowRunResponse), (status = 404, body = ErrorBody)),
)]
pub(crate) async fn update_workflow_run(
    State(service): State<SharedService>,
    params: PathParams,
    Json(request): Json<PatchWorkflowRunRequest>,
) -> Result<Json<WorkflowRunResponse>, ApiError> {
    let run = service.update_workflow_run(params.id("id")?, request.into()).await?;
    Ok(Json(run.into()))
}

/// (ext) The workflow run with summaries of its tasks.
#[utoipa::path(
    get, path = "/api/v1/workflow-runs/{id}", tag = "workflow runs",
    params(("id" = inline(UuidText), Path)),
    responses((status = 200, body = WorkflowRunDetail), (status = 404, body = ErrorBody)),
)]
pub(crate) async fn get_workflow_run(
    State(service): State<SharedService>,
    params: PathParams,
) -> Result<Json<WorkflowRunDetail>, ApiError> {
    let run = service.get_workflow_run(params.id("id")?).await?;
    Ok(Json(run.into()))
}

/// (ext) Newest first.
#[utoipa::path(
    get, path = "/api/v1/workflow-runs", tag = "workflow runs",
    params(WorkflowQuery),
    responses((status = 200, body = WorkflowRunList)),
)]
pub(crate) async fn list_workflow_runs(
    State(service): State<SharedService>,
    Query(query): Query<WorkflowQuery>,
) -> Result<Json<WorkflowRunList>, ApiError> {
    let filter = WorkflowFilter {
        status: status(
            query.status,
            DomainWorkflowStatus::parse,
            DomainWorkflowStatus::ALL.map(DomainWorkflowStatus::as_str),
        )?,
        workflow_name: present(query.workflow_name),
        cursor: query_id("cursor", query.cursor)?,
        limit: page_limit(query.limit)?,
    };
    let page = service.list_workflow_runs(filter).await?;
    Ok(Json(WorkflowRunList {
        workflow_runs: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor.map(|id| id.to_string()),
    }))
}
