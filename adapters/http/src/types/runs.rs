use durable_domain::command::WaitRequest;
use durable_domain::event::{WaitOutcome, WaitResponse};
use durable_domain::{Run, RunId, TaskId};
use durable_ports::service::FailedRun;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AnyJson;
use super::rules::{NameText, QueryLimit, QueryRunStatus, QueryUuid, Text, TimeText, UuidText};
use super::status::RunStatus;
use super::wire;
use crate::error::ErrorBody;

#[derive(Debug, Serialize, ToSchema)]
pub struct RunSummary {
    pub id: Uuid,
    pub task_id: Uuid,
    pub attempt: u32,
    pub status: RunStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<OffsetDateTime>,
    /// (ext)
    pub queue_name: String,
    /// (ext) Pending: when it becomes claimable. Sleeping: when it wakes.
    #[serde(with = "time::serde::rfc3339")]
    pub available_at: OffsetDateTime,
    /// (ext)
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub claim_expires_at: Option<OffsetDateTime>,
    /// (ext)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    /// (ext) When its claim began.
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<OffsetDateTime>,
    /// (ext) While sleeping on an event: which, and the step it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<RunWait>,
}

/// (ext) The event a sleeping run waits for.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunWait {
    pub event_name: String,
    pub step_name: String,
}

impl From<Run> for RunSummary {
    fn from(run: Run) -> Self {
        Self {
            id: run.id.as_uuid(),
            task_id: run.task_id.as_uuid(),
            attempt: run.attempt,
            status: run.status.into(),
            error: run.error,
            created_at: run.created_at,
            completed_at: run.completed_at,
            queue_name: run.queue.to_string(),
            available_at: run.available_at,
            claim_expires_at: run.claim_expires_at,
            worker_id: run.worker_id,
            claimed_at: run.claimed_at,
            wait: run.wait.map(|w| RunWait { event_name: w.event_name, step_name: w.step_name }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunList {
    pub runs: Vec<RunSummary>,
    /// Pass as `cursor` to get the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    #[param(value_type = Option<QueryUuid>, inline)]
    pub task_id: Option<String>,
    #[param(value_type = Option<QueryRunStatus>, inline)]
    pub status: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(value_type = Option<QueryUuid>, inline)]
    pub cursor: Option<String>,
    /// At least 1, default 50; more than 1000 is taken as 1000.
    #[param(value_type = Option<QueryLimit>, inline)]
    pub limit: Option<String>,
}

/// The body of `complete` is optional; an empty body is no result.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CompleteRequest {
    #[serde(default)]
    #[schema(value_type = AnyJson)]
    pub result: Option<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompletedRun {
    pub run_id: Uuid,
    /// Always `completed`.
    pub status: RunStatus,
}

impl CompletedRun {
    pub fn new(run: RunId) -> Self {
        Self { run_id: run.as_uuid(), status: RunStatus::Completed }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchCompleteRequest {
    /// 1–1000 runs.
    #[serde(deserialize_with = "wire::objects")]
    #[schema(min_items = 1, max_items = 1000)]
    pub runs: Vec<BatchCompleteItem>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchCompleteItem {
    #[serde(deserialize_with = "wire::uuid")]
    #[schema(value_type = UuidText)]
    pub run_id: Uuid,
    #[serde(default)]
    #[schema(value_type = AnyJson)]
    pub result: Option<Value>,
}

/// One item's outcome: completed, or why not.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchCompleteResult {
    Completed { run_id: Uuid, status: RunStatus },
    Rejected { run_id: Uuid, error: ErrorBody },
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchCompleteResponse {
    pub runs: Vec<BatchCompleteResult>,
}

/// (ext) One run a worker failed, reported with its next claim.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FailItem {
    #[serde(deserialize_with = "wire::uuid")]
    #[schema(value_type = UuidText)]
    pub run_id: Uuid,
    #[schema(value_type = Text)]
    pub error: String,
}

/// One failed item's outcome: the failure as `POST /runs/{id}/fail`
/// answers it, or why it was refused.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum FailResult {
    Failed(FailedRunResponse),
    Rejected { run_id: Uuid, error: ErrorBody },
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FailRequest {
    #[schema(value_type = Text)]
    pub error: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FailedRunResponse {
    pub run_id: Uuid,
    /// Always `failed`.
    pub status: RunStatus,
    pub attempt: u32,
    /// The retry, when the task has attempts left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_run_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<OffsetDateTime>,
}

impl From<FailedRun> for FailedRunResponse {
    fn from(failed: FailedRun) -> Self {
        Self {
            run_id: failed.run_id.as_uuid(),
            status: RunStatus::Failed,
            attempt: failed.attempt,
            next_run_id: failed.next.map(|retry| retry.run_id.as_uuid()),
            next_attempt_at: failed.next.map(|retry| retry.available_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ScheduleRequest {
    #[serde(deserialize_with = "wire::time")]
    #[schema(value_type = TimeText)]
    pub run_at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduledRunResponse {
    pub run_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub scheduled_at: OffsetDateTime,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct HeartbeatRequest {
    /// Seconds from now the claim should last, >= 1.
    #[schema(minimum = 1)]
    pub extend_by_seconds: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeartbeatResponse {
    pub run_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub claim_expires_at: OffsetDateTime,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WaitForEventRequest {
    #[schema(value_type = NameText)]
    pub event_name: String,
    /// Seconds, >= 1.
    #[schema(minimum = 1)]
    pub timeout_seconds: f64,
    #[serde(deserialize_with = "wire::uuid")]
    #[schema(value_type = UuidText)]
    pub task_id: Uuid,
    #[schema(value_type = NameText)]
    pub step_name: String,
}

impl WaitForEventRequest {
    pub fn into_domain(self, run_id: RunId) -> WaitRequest {
        WaitRequest {
            run_id,
            task_id: TaskId::from_uuid(self.task_id),
            event_name: self.event_name,
            step_name: self.step_name,
            timeout_seconds: self.timeout_seconds,
        }
    }
}

/// 200 `resolved`, 408 `timeout` or 202 `sleeping`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum WaitForEventResponse {
    Resolved {
        #[schema(value_type = AnyJson)]
        payload: Value,
    },
    Timeout {
        message: String,
    },
    Sleeping {
        message: String,
    },
}

impl WaitForEventResponse {
    pub fn new(response: WaitResponse, event_name: &str) -> Self {
        match response {
            WaitResponse::Outcome(WaitOutcome::Resolved { payload }) => Self::Resolved { payload },
            WaitResponse::Outcome(WaitOutcome::Timeout) => {
                Self::Timeout { message: format!("timed out waiting for event \"{event_name}\"") }
            }
            WaitResponse::Sleeping => Self::Sleeping {
                message: format!(
                    "run is sleeping until event \"{event_name}\" is emitted or the timeout passes; \
                     claim it again, then call wait-for-event again"
                ),
            },
        }
    }
}

/// (ext) `wait-for-task`: wait at `step_name` for the child task `task_id`
/// to end.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WaitForTaskRequest {
    /// The awaited task: a child of the waiting run's task.
    #[serde(deserialize_with = "wire::uuid")]
    #[schema(value_type = UuidText)]
    pub task_id: Uuid,
    #[schema(value_type = NameText)]
    pub step_name: String,
    /// Seconds, >= 1; absent: no timeout (the wait ends with the child).
    #[serde(default)]
    #[schema(minimum = 1)]
    pub timeout_seconds: Option<f64>,
}

impl WaitForTaskRequest {
    pub fn into_domain(self, run_id: RunId) -> durable_domain::child::WaitForTaskRequest {
        durable_domain::child::WaitForTaskRequest {
            run_id,
            task_id: TaskId::from_uuid(self.task_id),
            step_name: self.step_name,
            timeout_seconds: self.timeout_seconds,
        }
    }
}

impl WaitForEventResponse {
    /// The answer of a wait for task `child`: the same shapes, with messages
    /// that name the task.
    pub fn for_task(response: WaitResponse, child: Uuid) -> Self {
        match response {
            WaitResponse::Outcome(WaitOutcome::Resolved { payload }) => Self::Resolved { payload },
            WaitResponse::Outcome(WaitOutcome::Timeout) => {
                Self::Timeout { message: format!("timed out waiting for task {child} to end") }
            }
            WaitResponse::Sleeping => Self::Sleeping {
                message: format!(
                    "run is sleeping until task {child} ends or the timeout passes; \
                     claim it again, then call wait-for-task again"
                ),
            },
        }
    }

    /// 200 resolved, 408 timeout, 202 sleeping.
    pub fn status(&self) -> axum::http::StatusCode {
        match self {
            Self::Resolved { .. } => axum::http::StatusCode::OK,
            Self::Timeout { .. } => axum::http::StatusCode::REQUEST_TIMEOUT,
            Self::Sleeping { .. } => axum::http::StatusCode::ACCEPTED,
        }
    }
}
