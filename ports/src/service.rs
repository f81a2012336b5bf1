//! The driving port: every use case of the HTTP API. The HTTP adapter turns
//! requests into these calls; the engine validates and runs them.

use async_trait::async_trait;
use durable_domain::child::{TaskResult, WaitForTaskRequest};
use durable_domain::command::{
    ClaimRequest, Completion, EventFilter, Failure, NewQueue, NewTask, Page, QueueUpdate, RunFilter, TaskFilter,
    WaitRequest, WorkflowFilter,
};
use durable_domain::event::{Checkpoint, Event, WaitResponse};
use durable_domain::schedule::{NewSchedule, Schedule, ScheduleUpdate};
use durable_domain::workflow::{NewWorkflowRun, WorkflowPatch, WorkflowRun, WorkflowWithTasks};
use durable_domain::{EventId, Queue, QueueStats, Run, RunId, Task, TaskId, TaskState, Timestamp, WorkflowRunId};
use serde_json::Value;

use crate::error::{ItemError, ServiceError};
pub use crate::store::{CreatedTask, FailedRun, RetriedTask, Retry};
// Where callers of the use cases have always found it.
pub use durable_domain::command::PutCheckpoint;

/// What a worker finished, reported with its next claim **(ext)**: the
/// runs it completed (with results) and the runs that failed (with errors).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Finished {
    pub complete: Vec<Completion>,
    pub fail: Vec<Failure>,
}

impl Finished {
    pub fn is_empty(&self) -> bool {
        self.complete.is_empty() && self.fail.is_empty()
    }
}

/// The answer to [`Service::finish_and_claim`]: per finished item, in
/// order, and the runs claimed after them.
#[derive(Clone, Debug, PartialEq)]
pub struct Handoff {
    pub completed: Vec<Result<(), ItemError>>,
    pub failed: Vec<Result<FailedRun, ItemError>>,
    pub claimed: Vec<TaskState>,
}

/// The use cases of durable, as the HTTP API offers them: inputs arrive
/// unchecked, and the implementation validates them before anything else.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Service: Send + Sync + 'static {
    /// `Ok` when storage answers (readiness).
    async fn ready(&self) -> Result<(), ServiceError>;

    async fn create_queue(&self, queue: NewQueue) -> Result<Queue, ServiceError>;
    async fn list_queues(&self) -> Result<Vec<Queue>, ServiceError>;
    /// Changes a queue's flow settings **(ext)**.
    async fn update_queue(&self, name: String, update: QueueUpdate) -> Result<Queue, ServiceError>;
    async fn delete_queue(&self, name: String, force: bool) -> Result<(), ServiceError>;
    async fn queue_stats(&self, name: String) -> Result<QueueStats, ServiceError>;
    /// The queue's last hour, minute by minute, as this server saw it **(ext)**.
    async fn queue_history(&self, name: String) -> Result<crate::metrics::QueueOverview, ServiceError>;

    async fn create_task(&self, queue: String, task: NewTask) -> Result<CreatedTask, ServiceError>;
    /// All or nothing, answered in request order.
    async fn create_tasks(&self, queue: String, tasks: Vec<NewTask>) -> Result<Vec<CreatedTask>, ServiceError>;
    /// Claims due runs; with `long_poll_seconds`, waits for at least one.
    async fn claim(&self, queue: String, request: ClaimRequest) -> Result<Vec<TaskState>, ServiceError>;
    /// Completes and fails what the worker finished, each item fenced on its
    /// own, then claims as [`Service::claim`] does: one request per batch
    /// instead of two. Nothing is applied when the request is refused.
    async fn finish_and_claim(
        &self,
        queue: String,
        finished: Finished,
        request: ClaimRequest,
    ) -> Result<Handoff, ServiceError>;
    async fn list_tasks(&self, filter: TaskFilter) -> Result<Page<Task, TaskId>, ServiceError>;
    async fn get_task(&self, id: TaskId) -> Result<Task, ServiceError>;
    async fn cancel_task(&self, id: TaskId) -> Result<(), ServiceError>;
    /// Retries a failed or canceled task **(ext)**: a new run, attempt + 1.
    async fn retry_task(&self, id: TaskId) -> Result<RetriedTask, ServiceError>;

    async fn list_runs(&self, filter: RunFilter) -> Result<Page<Run, RunId>, ServiceError>;
    async fn complete_run(&self, run: RunId, result: Option<Value>) -> Result<(), ServiceError>;
    /// Batch acknowledgement: every item fenced on its own, one transaction.
    async fn complete_runs(&self, items: Vec<Completion>) -> Result<Vec<Result<(), ItemError>>, ServiceError>;
    async fn fail_run(&self, run: RunId, error: String) -> Result<FailedRun, ServiceError>;
    /// Returns the time the run is scheduled for.
    async fn schedule_run(&self, run: RunId, run_at: Timestamp) -> Result<Timestamp, ServiceError>;
    /// Returns the claim's new end.
    async fn heartbeat_run(&self, run: RunId, extend_by_seconds: f64) -> Result<Timestamp, ServiceError>;
    async fn wait_for_event(&self, request: WaitRequest) -> Result<WaitResponse, ServiceError>;
    /// Waits for a child task to end **(ext)**, with wait-for-event's replay
    /// rules; the outcome's payload is the child's end.
    async fn wait_for_task(&self, request: WaitForTaskRequest) -> Result<WaitResponse, ServiceError>;
    /// The task's end, waiting up to `wait_seconds` for it **(ext)**.
    async fn task_result(&self, id: TaskId, wait_seconds: Option<f64>) -> Result<TaskResult, ServiceError>;

    async fn emit_event(&self, name: String, payload: Value) -> Result<Event, ServiceError>;
    /// The recorded outcomes of a task's waits, by step name **(ext)**.
    async fn list_wait_outcomes(
        &self,
        task: TaskId,
    ) -> Result<Vec<(String, durable_domain::event::WaitOutcome)>, ServiceError>;
    /// Recent events, newest first **(ext)**.
    async fn list_events(&self, filter: EventFilter) -> Result<Page<Event, EventId>, ServiceError>;

    async fn put_checkpoint(&self, write: PutCheckpoint) -> Result<Checkpoint, ServiceError>;
    async fn get_checkpoint(&self, task: TaskId, step_name: String) -> Result<Checkpoint, ServiceError>;
    async fn list_checkpoints(&self, task: TaskId) -> Result<Vec<Checkpoint>, ServiceError>;
    /// The checkpoints of every one of these tasks, in one store call (a
    /// claim that includes checkpoints **(ext)**). Unknown tasks have none.
    async fn checkpoints_of_tasks(&self, tasks: Vec<TaskId>) -> Result<Vec<Checkpoint>, ServiceError>;

    /// Cron schedules **(ext)**.
    async fn create_schedule(&self, schedule: NewSchedule) -> Result<Schedule, ServiceError>;
    async fn list_schedules(&self) -> Result<Vec<Schedule>, ServiceError>;
    async fn get_schedule(&self, name: String) -> Result<Schedule, ServiceError>;
    async fn update_schedule(&self, name: String, update: ScheduleUpdate) -> Result<Schedule, ServiceError>;
    async fn delete_schedule(&self, name: String) -> Result<(), ServiceError>;

    async fn create_workflow_run(&self, run: NewWorkflowRun) -> Result<WorkflowRun, ServiceError>;
    async fn update_workflow_run(&self, id: WorkflowRunId, patch: WorkflowPatch) -> Result<WorkflowRun, ServiceError>;
    async fn get_workflow_run(&self, id: WorkflowRunId) -> Result<WorkflowWithTasks, ServiceError>;
    async fn list_workflow_runs(
        &self,
        filter: WorkflowFilter,
    ) -> Result<Page<WorkflowRun, WorkflowRunId>, ServiceError>;
}
