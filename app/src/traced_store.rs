//! A [`Store`] decorator that runs every call in a span.
//!
//! Every store call runs in a `store` span named after the port method
//! (`store.runs_claim`), a child of whatever the caller is doing (an HTTP
//! request's span, usually), so a trace shows where a request spent its time
//! and a failing call is marked as an error. The engine wraps its store in
//! this once, so no use case has to remember to.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use durable_domain::command::{
    CheckpointWrite, Claim, Completion, EventFilter, Page, RunFilter, TaskFilter, Wait, WorkflowFilter,
};
use durable_domain::event::{Checkpoint, Event, WaitOutcome, WaitResponse};
use durable_domain::flow::FlowPatch;
use durable_domain::machine::Policy;
use durable_domain::schedule::{Schedule, ScheduleName, SchedulePatch};
use durable_domain::workflow::{WorkflowPatch, WorkflowRun, WorkflowWithTasks};
use durable_domain::{
    EventId, Queue, QueueName, QueueStats, Run, RunId, Task, TaskId, TaskSpec, TaskState, Timestamp, WorkflowRunId,
};
use durable_ports::Store;
use durable_ports::StoreError;
use durable_ports::error::ItemError;
use durable_ports::metrics::{PoolStats, QueueDepth};
use durable_ports::store::{
    Cleanup, CompletedThenClaimed, CreatedTasks, Emitted, ExpiredClaims, FailedRun, FiredSchedules, RetriedTask,
    ScheduledRun, SleepersWoken,
};
use serde_json::Value;
use time::Duration;
use tracing::field::Empty;
use tracing::{Instrument, Span};

/// The store the engine talks to: `inner`, each call in its span.
pub(crate) struct TracedStore {
    inner: Arc<dyn Store>,
}

impl TracedStore {
    pub(crate) fn new(inner: Arc<dyn Store>) -> Self {
        Self { inner }
    }
}

/// Runs one store call in its span.
async fn traced<T>(op: &'static str, call: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    let span = store_span(op);
    let result = call.instrument(span.clone()).await;
    // Not found and conflicts are answers, not failures of the call.
    if let Err(e @ (StoreError::Unavailable(_) | StoreError::Other(_))) = &result {
        span.record("otel.status_description", tracing::field::display(e));
    }
    result
}

fn store_span(op: &'static str) -> Span {
    // Outside any span (a sweeper or gauge-refresh pass, whose own spans are
    // at debug level and usually filtered out) each call would start a trace
    // of its own: several per sweep, every 500 ms. Those stay untraced.
    if Span::current().is_none() {
        return Span::none();
    }
    tracing::info_span!("store", otel.name = op, otel.status_description = Empty)
}

#[async_trait]
impl Store for TracedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        traced("store.ping", self.inner.ping()).await
    }

    async fn queue_create(&self, queue: Queue, max_queues: usize) -> Result<Queue, StoreError> {
        traced("store.queue_create", self.inner.queue_create(queue, max_queues)).await
    }

    async fn queue_list(&self) -> Result<Vec<Queue>, StoreError> {
        traced("store.queue_list", self.inner.queue_list()).await
    }

    async fn queue_update(&self, name: &QueueName, patch: FlowPatch, now: Timestamp) -> Result<Queue, StoreError> {
        traced("store.queue_update", self.inner.queue_update(name, patch, now)).await
    }

    async fn wait_outcomes(&self, task: TaskId) -> Result<Vec<(String, WaitOutcome)>, StoreError> {
        traced("store.wait_outcomes", self.inner.wait_outcomes(task)).await
    }

    async fn event_list(&self, filter: &EventFilter) -> Result<Page<Event, EventId>, StoreError> {
        traced("store.event_list", self.inner.event_list(filter)).await
    }

    async fn task_retry(&self, id: TaskId, now: Timestamp) -> Result<RetriedTask, StoreError> {
        traced("store.task_retry", self.inner.task_retry(id, now)).await
    }

    async fn schedule_create(&self, schedule: Schedule) -> Result<Schedule, StoreError> {
        traced("store.schedule_create", self.inner.schedule_create(schedule)).await
    }

    async fn schedule_list(&self) -> Result<Vec<Schedule>, StoreError> {
        traced("store.schedule_list", self.inner.schedule_list()).await
    }

    async fn schedule_get(&self, name: &ScheduleName) -> Result<Schedule, StoreError> {
        traced("store.schedule_get", self.inner.schedule_get(name)).await
    }

    async fn schedule_update(
        &self,
        name: &ScheduleName,
        patch: SchedulePatch,
        now: Timestamp,
    ) -> Result<Schedule, StoreError> {
        traced("store.schedule_update", self.inner.schedule_update(name, patch, now)).await
    }

    async fn schedule_delete(&self, name: &ScheduleName) -> Result<(), StoreError> {
        traced("store.schedule_delete", self.inner.schedule_delete(name)).await
    }

    async fn schedules_fire(&self, now: Timestamp, grace: Duration, limit: u32) -> Result<FiredSchedules, StoreError> {
        traced("store.schedules_fire", self.inner.schedules_fire(now, grace, limit)).await
    }

    async fn queue_finished_counts(&self, name: &QueueName, cap: u32) -> Result<(u64, u64), StoreError> {
        traced("store.queue_finished_counts", self.inner.queue_finished_counts(name, cap)).await
    }

    async fn queue_delete(&self, name: &QueueName, force: bool) -> Result<(), StoreError> {
        traced("store.queue_delete", self.inner.queue_delete(name, force)).await
    }

    async fn queue_stats(&self, name: &QueueName, now: Timestamp) -> Result<QueueStats, StoreError> {
        traced("store.queue_stats", self.inner.queue_stats(name, now)).await
    }

    async fn tasks_create(
        &self,
        queue: &QueueName,
        specs: Vec<TaskSpec>,
        now: Timestamp,
    ) -> Result<CreatedTasks, StoreError> {
        traced("store.tasks_create", self.inner.tasks_create(queue, specs, now)).await
    }

    async fn task_get(&self, id: TaskId) -> Result<Task, StoreError> {
        traced("store.task_get", self.inner.task_get(id)).await
    }

    async fn task_list(&self, filter: &TaskFilter) -> Result<Page<Task, TaskId>, StoreError> {
        traced("store.task_list", self.inner.task_list(filter)).await
    }

    async fn task_watch_result(&self, id: TaskId) -> Result<Task, StoreError> {
        traced("store.task_watch_result", self.inner.task_watch_result(id)).await
    }

    async fn task_cancel(&self, id: TaskId, now: Timestamp) -> Result<(), StoreError> {
        traced("store.task_cancel", self.inner.task_cancel(id, now)).await
    }

    async fn runs_claim(&self, queue: &QueueName, claim: &Claim, now: Timestamp) -> Result<Vec<TaskState>, StoreError> {
        traced("store.runs_claim", self.inner.runs_claim(queue, claim, now)).await
    }

    async fn queue_next_due(&self, queue: &QueueName) -> Result<Option<Timestamp>, StoreError> {
        traced("store.queue_next_due", self.inner.queue_next_due(queue)).await
    }

    async fn run_list(&self, filter: &RunFilter) -> Result<Page<Run, RunId>, StoreError> {
        traced("store.run_list", self.inner.run_list(filter)).await
    }

    async fn runs_complete(
        &self,
        items: Vec<Completion>,
        now: Timestamp,
    ) -> Result<Vec<Result<(), ItemError>>, StoreError> {
        traced("store.runs_complete", self.inner.runs_complete(items, now)).await
    }

    async fn runs_complete_then_claim(
        &self,
        items: Vec<Completion>,
        queue: &QueueName,
        claim: &Claim,
        now: Timestamp,
    ) -> Result<CompletedThenClaimed, StoreError> {
        traced("store.runs_complete_then_claim", self.inner.runs_complete_then_claim(items, queue, claim, now)).await
    }

    async fn run_fail(&self, run: RunId, error: &str, now: Timestamp) -> Result<FailedRun, StoreError> {
        traced("store.run_fail", self.inner.run_fail(run, error, now)).await
    }

    async fn run_schedule(&self, run: RunId, run_at: Timestamp, now: Timestamp) -> Result<ScheduledRun, StoreError> {
        traced("store.run_schedule", self.inner.run_schedule(run, run_at, now)).await
    }

    async fn run_heartbeat(&self, run: RunId, extend_by: Duration, now: Timestamp) -> Result<Timestamp, StoreError> {
        traced("store.run_heartbeat", self.inner.run_heartbeat(run, extend_by, now)).await
    }

    async fn run_wait_for_event(&self, wait: &Wait, now: Timestamp) -> Result<WaitResponse, StoreError> {
        traced("store.run_wait_for_event", self.inner.run_wait_for_event(wait, now)).await
    }

    async fn run_wait_for_task(&self, wait: &Wait, child: TaskId, now: Timestamp) -> Result<WaitResponse, StoreError> {
        traced("store.run_wait_for_task", self.inner.run_wait_for_task(wait, child, now)).await
    }

    async fn event_emit(&self, name: &str, payload: Value, now: Timestamp) -> Result<Emitted, StoreError> {
        traced("store.event_emit", self.inner.event_emit(name, payload, now)).await
    }

    async fn checkpoint_put(&self, write: CheckpointWrite, now: Timestamp) -> Result<Checkpoint, StoreError> {
        traced("store.checkpoint_put", self.inner.checkpoint_put(write, now)).await
    }

    async fn checkpoint_get(&self, task: TaskId, step_name: &str) -> Result<Checkpoint, StoreError> {
        traced("store.checkpoint_get", self.inner.checkpoint_get(task, step_name)).await
    }

    async fn checkpoint_list(&self, task: TaskId) -> Result<Vec<Checkpoint>, StoreError> {
        traced("store.checkpoint_list", self.inner.checkpoint_list(task)).await
    }

    async fn checkpoint_list_of_tasks(&self, tasks: &[TaskId]) -> Result<Vec<Checkpoint>, StoreError> {
        traced("store.checkpoint_list_of_tasks", self.inner.checkpoint_list_of_tasks(tasks)).await
    }

    async fn workflow_create(&self, run: WorkflowRun) -> Result<WorkflowRun, StoreError> {
        traced("store.workflow_create", self.inner.workflow_create(run)).await
    }

    async fn workflow_update(
        &self,
        id: WorkflowRunId,
        patch: WorkflowPatch,
        now: Timestamp,
    ) -> Result<WorkflowRun, StoreError> {
        traced("store.workflow_update", self.inner.workflow_update(id, patch, now)).await
    }

    async fn workflow_get(&self, id: WorkflowRunId) -> Result<WorkflowWithTasks, StoreError> {
        traced("store.workflow_get", self.inner.workflow_get(id)).await
    }

    async fn workflow_list(&self, filter: &WorkflowFilter) -> Result<Page<WorkflowRun, WorkflowRunId>, StoreError> {
        traced("store.workflow_list", self.inner.workflow_list(filter)).await
    }

    async fn claims_expire(&self, policy: &Policy, now: Timestamp, limit: u32) -> Result<ExpiredClaims, StoreError> {
        traced("store.claims_expire", self.inner.claims_expire(policy, now, limit)).await
    }

    async fn sleepers_wake(&self, now: Timestamp, limit: u32) -> Result<SleepersWoken, StoreError> {
        traced("store.sleepers_wake", self.inner.sleepers_wake(now, limit)).await
    }

    async fn timeouts_enforce(&self, now: Timestamp, limit: u32) -> Result<u64, StoreError> {
        traced("store.timeouts_enforce", self.inner.timeouts_enforce(now, limit)).await
    }

    async fn retention_delete(&self, now: Timestamp, limit: u32) -> Result<Cleanup, StoreError> {
        traced("store.retention_delete", self.inner.retention_delete(now, limit)).await
    }

    async fn queue_depths(&self, now: Timestamp) -> Result<Vec<QueueDepth>, StoreError> {
        traced("store.queue_depths", self.inner.queue_depths(now)).await
    }
    fn pool_stats(&self) -> Option<PoolStats> {
        self.inner.pool_stats()
    }

    fn rows_skipped(&self) -> u64 {
        self.inner.rows_skipped()
    }
}
