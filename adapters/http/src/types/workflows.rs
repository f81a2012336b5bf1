use std::collections::BTreeMap;

use durable_domain::workflow::{NewWorkflowRun, WorkflowPatch, WorkflowRun, WorkflowWithTasks};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AnyJson;
use super::rules::{NameText, QueryLimit, QueryUuid, QueryWorkflowStatus, Text, TimeText};
use super::status::WorkflowStatus;
use super::tasks::TaskSummary;
use super::wire;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateWorkflowRunRequest {
    #[schema(value_type = NameText)]
    pub workflow_name: String,
    #[serde(default)]
    #[schema(value_type = Option<Text>)]
    pub workflow_version: Option<String>,
    #[serde(default)]
    #[schema(value_type = AnyJson)]
    pub inputs: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<Text>)]
    pub created_by: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<Text, Text>>)]
    pub tags: Option<BTreeMap<String, String>>,
}

impl From<CreateWorkflowRunRequest> for NewWorkflowRun {
    fn from(request: CreateWorkflowRunRequest) -> Self {
        Self {
            workflow_name: request.workflow_name,
            workflow_version: request.workflow_version,
            inputs: request.inputs,
            created_by: request.created_by,
            tags: request.tags.unwrap_or_default(),
        }
    }
}

/// A partial update; absent (or `null`) fields are left as they are.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchWorkflowRunRequest {
    #[serde(default)]
    pub status: Option<WorkflowStatus>,
    #[serde(default)]
    #[schema(value_type = AnyJson)]
    pub result: Option<Value>,
    #[serde(default, deserialize_with = "wire::opt_time")]
    #[schema(value_type = Option<TimeText>)]
    pub started_at: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "wire::opt_time")]
    #[schema(value_type = Option<TimeText>)]
    pub completed_at: Option<OffsetDateTime>,
}

impl From<PatchWorkflowRunRequest> for WorkflowPatch {
    fn from(request: PatchWorkflowRunRequest) -> Self {
        Self {
            status: request.status.map(Into::into),
            result: request.result,
            started_at: request.started_at,
            completed_at: request.completed_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowRunResponse {
    pub workflow_run_id: Uuid,
    pub workflow_name: String,
    pub workflow_version: Option<String>,
    #[schema(value_type = AnyJson)]
    pub inputs: Option<Value>,
    pub created_by: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub status: WorkflowStatus,
    #[schema(value_type = AnyJson)]
    pub result: Option<Value>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<WorkflowRun> for WorkflowRunResponse {
    fn from(run: WorkflowRun) -> Self {
        Self {
            workflow_run_id: run.id.as_uuid(),
            workflow_name: run.workflow_name,
            workflow_version: run.workflow_version,
            inputs: run.inputs,
            created_by: run.created_by,
            tags: run.tags,
            status: run.status.into(),
            result: run.result,
            started_at: run.started_at,
            completed_at: run.completed_at,
            created_at: run.created_at,
            updated_at: run.updated_at,
        }
    }
}

/// A workflow run with summaries of its tasks.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowRunDetail {
    #[serde(flatten)]
    pub run: WorkflowRunResponse,
    pub tasks: Vec<TaskSummary>,
}

impl From<WorkflowWithTasks> for WorkflowRunDetail {
    fn from(WorkflowWithTasks { run, tasks }: WorkflowWithTasks) -> Self {
        Self { run: run.into(), tasks: tasks.iter().map(TaskSummary::from).collect() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowRunList {
    pub workflow_runs: Vec<WorkflowRunResponse>,
    /// Pass as `cursor` to get the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkflowQuery {
    #[param(value_type = Option<QueryWorkflowStatus>, inline)]
    pub status: Option<String>,
    #[param(value_type = Option<Text>, inline)]
    pub workflow_name: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(value_type = Option<QueryUuid>, inline)]
    pub cursor: Option<String>,
    /// At least 1, default 50; more than 1000 is taken as 1000.
    #[param(value_type = Option<QueryLimit>, inline)]
    pub limit: Option<String>,
}
