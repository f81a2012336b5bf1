use std::collections::BTreeMap;

use durable_domain::command::{ClaimRequest, Completion, Failure, NewTask};
use durable_domain::retry::RetryStrategy;
use durable_domain::{RunId, Task, TaskId, TaskState, WorkflowRunId};
use durable_ports::service::{CreatedTask, Finished};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AnyJson;
use super::checkpoints::CheckpointResponse;
use super::rules::{ClaimLimit, NameText, QueryLimit, QueryTaskStatus, QueryTime, QueryUuid, Text, TimeText, UuidText};
use super::runs::{BatchCompleteItem, BatchCompleteResult, FailItem, FailResult};
use super::status::{RetryKind, TaskStatus};
use super::wire;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTaskRequest {
    #[schema(value_type = NameText, example = "send-email")]
    pub task_name: String,
    #[serde(default)]
    #[schema(value_type = AnyJson)]
    pub params: Value,
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<Text, Text>>)]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "wire::opt_object")]
    pub retry_strategy: Option<RetryStrategyBody>,
    /// How many runs may fail (as reported by a worker) before the task fails. Default 1.
    #[serde(default, deserialize_with = "wire::opt_integer")]
    #[schema(minimum = 1, maximum = 4_294_967_295_u64)]
    pub max_attempts: Option<i64>,
    /// Seconds; cancel the task if no run was claimed this long after creation. 0 = none.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub start_timeout: Option<f64>,
    /// Seconds; cancel the task if not completed this long after creation. 0 = none.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub execution_timeout: Option<f64>,
    #[serde(default, deserialize_with = "wire::opt_uuid")]
    #[schema(value_type = Option<UuidText>)]
    pub workflow_run_id: Option<Uuid>,
    /// (ext) The task that spawns this one (a child task); 404 if it does not exist.
    #[serde(default, deserialize_with = "wire::opt_uuid")]
    #[schema(value_type = Option<UuidText>)]
    pub parent_task_id: Option<Uuid>,
    /// (ext) An existing task with this key in the queue is returned instead.
    #[serde(default)]
    #[schema(value_type = Option<NameText>)]
    pub idempotency_key: Option<String>,
    /// (ext) When the first run becomes claimable.
    #[serde(default, deserialize_with = "wire::opt_time")]
    #[schema(value_type = Option<TimeText>)]
    pub run_at: Option<OffsetDateTime>,
    /// (ext) Claims take due runs by priority, higher first, then by due
    /// time. Default 0. Strict: a steady stream of higher-priority runs
    /// can keep lower ones waiting.
    #[serde(default, deserialize_with = "wire::opt_integer")]
    #[schema(minimum = -32768, maximum = 32767)]
    pub priority: Option<i64>,
    /// (ext) Runs sharing a key are claimed at most the queue's
    /// `key_concurrency_limit` at a time (e.g. `customer:42`); 1–255 bytes.
    #[serde(default)]
    #[schema(value_type = Option<NameText>)]
    pub concurrency_key: Option<String>,
}

impl From<CreateTaskRequest> for NewTask {
    fn from(request: CreateTaskRequest) -> Self {
        Self {
            task_name: request.task_name,
            params: request.params,
            headers: request.headers.unwrap_or_default(),
            retry_strategy: request.retry_strategy.map(Into::into),
            max_attempts: request.max_attempts,
            start_timeout: request.start_timeout,
            execution_timeout: request.execution_timeout,
            workflow_run_id: request.workflow_run_id.map(WorkflowRunId::from_uuid),
            parent_task_id: request.parent_task_id.map(TaskId::from_uuid),
            idempotency_key: request.idempotency_key,
            run_at: request.run_at,
            priority: request.priority,
            concurrency_key: request.concurrency_key,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RetryStrategyBody {
    pub kind: RetryKind,
    /// Seconds, >= 0.
    #[schema(minimum = 0)]
    pub base_seconds: f64,
    /// Growth per attempt for `exponential`, >= 1 (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub factor: Option<f64>,
    /// Upper bound of any single delay, in seconds, >= 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub max_seconds: Option<f64>,
}

impl From<RetryStrategyBody> for RetryStrategy {
    fn from(body: RetryStrategyBody) -> Self {
        Self {
            kind: body.kind.into(),
            base_seconds: body.base_seconds,
            factor: body.factor,
            max_seconds: body.max_seconds,
        }
    }
}

impl From<RetryStrategy> for RetryStrategyBody {
    fn from(strategy: RetryStrategy) -> Self {
        Self {
            kind: strategy.kind.into(),
            base_seconds: strategy.base_seconds,
            factor: strategy.factor,
            max_seconds: strategy.max_seconds,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchCreateRequest {
    /// 1–1000 tasks, created all or nothing.
    #[serde(deserialize_with = "wire::objects")]
    #[schema(min_items = 1, max_items = 1000)]
    pub tasks: Vec<CreateTaskRequest>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTaskResponse {
    pub task_id: Uuid,
    pub run_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_run_id: Option<Uuid>,
    /// (ext) True when an existing task with the same idempotency key came back.
    pub deduplicated: bool,
}

impl From<CreatedTask> for CreatedTaskResponse {
    fn from(created: CreatedTask) -> Self {
        Self {
            task_id: created.task_id.as_uuid(),
            run_id: created.run_id.as_uuid(),
            workflow_run_id: created.workflow_run_id.map(|id| id.as_uuid()),
            deduplicated: created.deduplicated,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchCreateResponse {
    pub tasks: Vec<CreatedTaskResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClaimRequestBody {
    /// How many runs to hand out at most, >= 1; over 1000 is taken as 1000.
    #[serde(deserialize_with = "wire::integer")]
    #[schema(value_type = ClaimLimit)]
    pub limit: i64,
    /// Seconds the claim lasts, >= 1.
    #[schema(minimum = 1)]
    pub claim_timeout: f64,
    /// Seconds to wait for a due run when none is, 1–60.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 60)]
    pub long_poll_seconds: Option<f64>,
    /// (ext) Recorded on the claimed runs.
    #[serde(default)]
    #[schema(value_type = Option<Text>)]
    pub worker_id: Option<String>,
    /// (ext) Runs this worker finished, completed before the claim, each
    /// fenced on its own as in `POST /runs/complete` (at most 1000).
    #[serde(default, deserialize_with = "wire::objects")]
    #[schema(max_items = 1000)]
    pub complete: Vec<BatchCompleteItem>,
    /// (ext) Runs this worker failed, failed before the claim as
    /// `POST /runs/{id}/fail` does, each on its own (at most 1000).
    #[serde(default, deserialize_with = "wire::objects")]
    #[schema(max_items = 1000)]
    pub fail: Vec<FailItem>,
    /// (ext) Answer each claimed task with all its checkpoints, so a resumed
    /// run needs no further request to learn which steps it finished.
    #[serde(default)]
    pub include_checkpoints: bool,
}

impl ClaimRequestBody {
    /// The claim, and what the worker finished before it.
    pub fn split(self) -> (ClaimRequest, Finished) {
        let finished = Finished {
            complete: self
                .complete
                .into_iter()
                .map(|i| Completion::new(RunId::from_uuid(i.run_id), i.result))
                .collect(),
            fail: self
                .fail
                .into_iter()
                .map(|i| Failure { run_id: RunId::from_uuid(i.run_id), error: i.error })
                .collect(),
        };
        let claim = ClaimRequest {
            limit: self.limit,
            claim_timeout: self.claim_timeout,
            long_poll_seconds: self.long_poll_seconds,
            worker_id: self.worker_id,
        };
        (claim, finished)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimedTask {
    pub run_id: Uuid,
    pub task_id: Uuid,
    pub attempt: u32,
    pub task_name: String,
    #[schema(value_type = AnyJson)]
    pub params: Value,
    pub headers: BTreeMap<String, String>,
    pub retry_strategy: Option<RetryStrategyBody>,
    pub max_attempts: u32,
    /// (ext)
    pub queue_name: String,
    /// (ext)
    #[serde(with = "time::serde::rfc3339::option")]
    pub claim_expires_at: Option<OffsetDateTime>,
    /// (ext)
    pub workflow_run_id: Option<Uuid>,
    /// (ext) The task that spawned this one.
    pub parent_task_id: Option<Uuid>,
    /// (ext)
    pub priority: i16,
    /// (ext)
    pub concurrency_key: Option<String>,
    /// (ext) Every checkpoint of the task, by step name; present when the
    /// claim asked with `include_checkpoints`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<Vec<CheckpointResponse>>,
}

impl From<TaskState> for ClaimedTask {
    fn from(TaskState { task, run }: TaskState) -> Self {
        Self {
            run_id: run.id.as_uuid(),
            task_id: task.id.as_uuid(),
            attempt: run.attempt,
            task_name: task.spec.task_name,
            params: task.spec.params,
            headers: task.spec.headers,
            retry_strategy: task.spec.retry_strategy.map(Into::into),
            max_attempts: task.spec.max_attempts,
            queue_name: task.queue.to_string(),
            claim_expires_at: run.claim_expires_at,
            workflow_run_id: task.spec.workflow_run_id.map(|id| id.as_uuid()),
            parent_task_id: task.spec.parent_task_id.map(|id| id.as_uuid()),
            priority: task.spec.priority,
            concurrency_key: task.spec.concurrency_key,
            checkpoints: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimResponse {
    pub tasks: Vec<ClaimedTask>,
    /// (ext) One outcome per `complete` item, in request order; present
    /// when the request had any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed: Option<Vec<BatchCompleteResult>>,
    /// (ext) One outcome per `fail` item, in request order; present when
    /// the request had any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<Vec<FailResult>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskSummary {
    pub id: Uuid,
    pub task_name: String,
    pub status: TaskStatus,
    pub queue_name: String,
    pub max_attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<OffsetDateTime>,
}

impl From<&Task> for TaskSummary {
    fn from(task: &Task) -> Self {
        Self {
            id: task.id.as_uuid(),
            task_name: task.spec.task_name.clone(),
            status: task.status.into(),
            queue_name: task.queue.to_string(),
            max_attempts: task.spec.max_attempts,
            created_at: task.created_at,
            completed_at: task.completed_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskList {
    pub tasks: Vec<TaskSummary>,
    /// Pass as `cursor` to get the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The whole task: its summary fields and everything it was created with.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskDetail {
    #[serde(flatten)]
    pub summary: TaskSummary,
    #[schema(value_type = AnyJson)]
    pub params: Value,
    pub headers: BTreeMap<String, String>,
    pub retry_strategy: Option<RetryStrategyBody>,
    /// Runs created so far.
    pub attempts: u32,
    #[schema(value_type = AnyJson)]
    pub result: Option<Value>,
    pub last_error: Option<String>,
    pub workflow_run_id: Option<Uuid>,
    /// Seconds; `null` when none.
    pub start_timeout: Option<f64>,
    /// Seconds; `null` when none.
    pub execution_timeout: Option<f64>,
    /// (ext) The newest run of the task.
    pub current_run_id: Uuid,
    /// (ext)
    pub idempotency_key: Option<String>,
    /// (ext) The task that spawned this one.
    pub parent_task_id: Option<Uuid>,
    /// (ext)
    pub priority: i16,
    /// (ext)
    pub concurrency_key: Option<String>,
}

impl From<Task> for TaskDetail {
    fn from(task: Task) -> Self {
        let summary = TaskSummary::from(&task);
        let spec = task.spec;
        Self {
            summary,
            params: spec.params,
            headers: spec.headers,
            retry_strategy: spec.retry_strategy.map(Into::into),
            attempts: task.attempts,
            result: task.result,
            last_error: task.last_error,
            workflow_run_id: spec.workflow_run_id.map(|id| id.as_uuid()),
            start_timeout: spec.start_timeout.map(time::SignedDuration::as_seconds_f64),
            execution_timeout: spec.execution_timeout.map(time::SignedDuration::as_seconds_f64),
            current_run_id: task.current_run.as_uuid(),
            idempotency_key: spec.idempotency_key,
            parent_task_id: spec.parent_task_id.map(|id| id.as_uuid()),
            priority: spec.priority,
            concurrency_key: spec.concurrency_key,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CanceledTask {
    pub task_id: Uuid,
    /// Always `canceled`.
    pub status: TaskStatus,
}

/// (ext) The new run of a retried task.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetriedTaskResponse {
    pub task_id: Uuid,
    pub run_id: Uuid,
    /// The new run's attempt: the last one's plus 1.
    pub attempt: u32,
    /// Always `pending`.
    pub status: TaskStatus,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    #[param(value_type = Option<Text>, inline)]
    pub queue_name: Option<String>,
    #[param(value_type = Option<QueryTaskStatus>, inline)]
    pub status: Option<String>,
    #[param(value_type = Option<Text>, inline)]
    pub task_name: Option<String>,
    /// (ext) Only the children of this task.
    #[param(value_type = Option<QueryUuid>, inline)]
    pub parent_task_id: Option<String>,
    /// (ext) Only tasks created at this time (RFC 3339) or later.
    #[param(value_type = Option<QueryTime>, inline)]
    pub created_after: Option<String>,
    /// (ext) Only tasks created before this time (RFC 3339).
    #[param(value_type = Option<QueryTime>, inline)]
    pub created_before: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(value_type = Option<QueryUuid>, inline)]
    pub cursor: Option<String>,
    /// At least 1, default 50; more than 1000 is taken as 1000.
    #[param(value_type = Option<QueryLimit>, inline)]
    pub limit: Option<String>,
}

/// (ext) `GET /tasks/{task_id}/result`: 200 once the task has ended (with
/// `result` when completed, `error` when failed or canceled with one), 202
/// with its status when the wait ran out first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskResultResponse {
    pub task_id: Uuid,
    pub status: TaskStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = AnyJson)]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<durable_domain::child::TaskResult> for TaskResultResponse {
    fn from(end: durable_domain::child::TaskResult) -> Self {
        Self { task_id: end.task_id.as_uuid(), status: end.status.into(), result: end.result, error: end.error }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskResultQuery {
    /// Seconds to wait for the task to end, 0–60 (default 0: answer now).
    #[param(value_type = Option<f64>, minimum = 0, maximum = 60)]
    pub wait_seconds: Option<String>,
}
