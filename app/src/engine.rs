//! The engine: validates each use case, runs it through the store (where the
//! domain decides), and wakes long-polling claimers after a commit made runs
//! claimable.

use std::sync::Arc;

use async_trait::async_trait;
use durable_domain::command::{
    self, CheckpointWrite, ClaimRequest, NewQueue, NewTask, Page, RunFilter, TaskFilter, WaitRequest, WorkflowFilter,
};
use durable_domain::event::{Checkpoint, Event, WaitResponse};
use durable_domain::workflow::{NewWorkflowRun, WorkflowPatch, WorkflowRun};
use durable_domain::{
    NotFound, Queue, QueueName, QueueStats, Run, RunId, Task, TaskId, TaskState, Timestamp, ValidationError,
    WorkflowRunId, clock,
};
use durable_ports::service::{CreatedTask, FailedRun, PutCheckpoint};
use durable_ports::{Clock, ItemError, Notifier, Service, ServiceError, Store};
use serde_json::Value;
use tokio::sync::watch;

use crate::config::EngineConfig;

pub struct Engine {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) notifier: Arc<dyn Notifier>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: EngineConfig,
    pub(crate) shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        notifier: Arc<dyn Notifier>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Self {
        Self { store, notifier, clock, config, shutdown: watch::channel(false).0 }
    }

    /// Ends every waiting long-poll claim (they answer empty) and makes new
    /// ones return without waiting. Called on graceful shutdown.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub(crate) async fn notify(&self, queues: &[QueueName]) {
        if queues.is_empty() {
            return;
        }
        let mut distinct = queues.to_vec();
        distinct.sort();
        distinct.dedup();
        self.notifier.notify(&distinct).await;
    }
}

/// A queue named in a path. A name that could never have been created cannot
/// exist, so it is "not found" rather than a validation error.
pub(crate) fn existing_queue(raw: &str) -> Result<QueueName, ServiceError> {
    QueueName::parse("queue_name", raw).map_err(|_| NotFound::Queue(raw.to_owned()).into())
}

#[async_trait]
impl Service for Engine {
    async fn ready(&self) -> Result<(), ServiceError> {
        Ok(self.store.ping().await?)
    }

    async fn create_queue(&self, new: NewQueue) -> Result<Queue, ServiceError> {
        let name = QueueName::parse("name", &new.name)?;
        let queue = Queue { name, created_at: self.now(), cleanup: new.cleanup() };
        Ok(self.store.queue_create(queue, self.config.max_queues).await?)
    }

    async fn list_queues(&self) -> Result<Vec<Queue>, ServiceError> {
        Ok(self.store.queue_list().await?)
    }

    async fn delete_queue(&self, name: String, force: bool) -> Result<(), ServiceError> {
        Ok(self.store.queue_delete(&existing_queue(&name)?, force).await?)
    }

    async fn queue_stats(&self, name: String) -> Result<QueueStats, ServiceError> {
        Ok(self.store.queue_stats(&existing_queue(&name)?, self.now()).await?)
    }

    async fn create_task(&self, queue: String, task: NewTask) -> Result<CreatedTask, ServiceError> {
        let queue = existing_queue(&queue)?;
        let spec = task.validate()?;
        let mut created = self.create(&queue, vec![spec]).await?;
        created.pop().ok_or_else(|| ServiceError::Internal("store created no task".into()))
    }

    async fn create_tasks(&self, queue: String, tasks: Vec<NewTask>) -> Result<Vec<CreatedTask>, ServiceError> {
        let queue = existing_queue(&queue)?;
        let specs = command::validate_batch(tasks)?;
        self.create(&queue, specs).await
    }

    async fn claim(&self, queue: String, request: ClaimRequest) -> Result<Vec<TaskState>, ServiceError> {
        let queue = existing_queue(&queue)?;
        let claim = request.validate()?;
        self.claim_runs(&queue, &claim).await
    }

    async fn list_tasks(&self, filter: TaskFilter) -> Result<Page<Task, TaskId>, ServiceError> {
        Ok(self.store.task_list(&filter).await?)
    }

    async fn get_task(&self, id: TaskId) -> Result<Task, ServiceError> {
        Ok(self.store.task_get(id).await?)
    }

    async fn cancel_task(&self, id: TaskId) -> Result<(), ServiceError> {
        Ok(self.store.task_cancel(id, self.now()).await?)
    }

    async fn list_runs(&self, filter: RunFilter) -> Result<Page<Run, RunId>, ServiceError> {
        Ok(self.store.run_list(&filter).await?)
    }

    async fn complete_run(&self, run: RunId, result: Option<Value>) -> Result<(), ServiceError> {
        let mut answers = self.store.runs_complete(vec![(run, result)], self.now()).await?;
        match answers.pop() {
            Some(Ok(())) => Ok(()),
            Some(Err(ItemError::NotFound(e))) => Err(e.into()),
            Some(Err(ItemError::Conflict(e))) => Err(e.into()),
            None => Err(ServiceError::Internal("store answered no item".into())),
        }
    }

    async fn complete_runs(
        &self,
        items: Vec<(RunId, Option<Value>)>,
    ) -> Result<Vec<Result<(), ItemError>>, ServiceError> {
        if items.is_empty() || items.len() > command::MAX_BATCH {
            let rule = format!("must hold between 1 and {} runs", command::MAX_BATCH);
            return Err(ValidationError::invalid("runs", rule).into());
        }
        Ok(self.store.runs_complete(items, self.now()).await?)
    }

    async fn fail_run(&self, run: RunId, error: String) -> Result<FailedRun, ServiceError> {
        let now = self.now();
        let failed = self.store.run_fail(run, &error, now).await?;
        if failed.next.is_some_and(|(_, due)| due <= now) {
            self.notify(std::slice::from_ref(&failed.queue)).await;
        }
        Ok(failed)
    }

    async fn schedule_run(&self, run: RunId, run_at: Timestamp) -> Result<Timestamp, ServiceError> {
        let scheduled = self.store.run_schedule(run, clock::truncate(run_at), self.now()).await?;
        if scheduled.claimable_now {
            self.notify(std::slice::from_ref(&scheduled.queue)).await;
        }
        Ok(scheduled.scheduled_at)
    }

    async fn heartbeat_run(&self, run: RunId, extend_by_seconds: f64) -> Result<Timestamp, ServiceError> {
        let extend_by = command::at_least_one_second("extend_by_seconds", extend_by_seconds)?;
        Ok(self.store.run_heartbeat(run, extend_by, self.now()).await?)
    }

    async fn wait_for_event(&self, request: WaitRequest) -> Result<WaitResponse, ServiceError> {
        let wait = request.validate()?;
        Ok(self.store.run_wait_for_event(&wait, self.now()).await?)
    }

    async fn emit_event(&self, name: String, payload: Value) -> Result<Event, ServiceError> {
        command::non_empty("event_name", &name)?;
        let emitted = self.store.event_emit(&name, payload, self.now()).await?;
        self.notify(&emitted.woken).await;
        Ok(emitted.event)
    }

    async fn put_checkpoint(&self, write: PutCheckpoint) -> Result<Checkpoint, ServiceError> {
        command::non_empty("step_name", &write.step_name)?;
        let extend_claim_by =
            write.extend_claim_by.map(|s| command::at_least_one_second("extend_claim_by", s)).transpose()?;
        let write = CheckpointWrite {
            task_id: write.task_id,
            step_name: write.step_name,
            state: write.state,
            owner_run: write.owner_run,
            extend_claim_by,
        };
        Ok(self.store.checkpoint_put(write, self.now()).await?)
    }

    async fn get_checkpoint(&self, task: TaskId, step_name: String) -> Result<Checkpoint, ServiceError> {
        Ok(self.store.checkpoint_get(task, &step_name).await?)
    }

    async fn list_checkpoints(&self, task: TaskId) -> Result<Vec<Checkpoint>, ServiceError> {
        Ok(self.store.checkpoint_list(task).await?)
    }

    async fn create_workflow_run(&self, run: NewWorkflowRun) -> Result<WorkflowRun, ServiceError> {
        command::non_empty("workflow_name", &run.workflow_name)?;
        Ok(self.store.workflow_create(WorkflowRun::create(run, self.now())).await?)
    }

    async fn update_workflow_run(&self, id: WorkflowRunId, patch: WorkflowPatch) -> Result<WorkflowRun, ServiceError> {
        let patch = WorkflowPatch {
            started_at: patch.started_at.map(clock::truncate),
            completed_at: patch.completed_at.map(clock::truncate),
            ..patch
        };
        Ok(self.store.workflow_update(id, patch, self.now()).await?)
    }

    async fn get_workflow_run(&self, id: WorkflowRunId) -> Result<(WorkflowRun, Vec<Task>), ServiceError> {
        Ok(self.store.workflow_get(id).await?)
    }

    async fn list_workflow_runs(
        &self,
        filter: WorkflowFilter,
    ) -> Result<Page<WorkflowRun, WorkflowRunId>, ServiceError> {
        Ok(self.store.workflow_list(&filter).await?)
    }
}

impl Engine {
    async fn create(
        &self,
        queue: &QueueName,
        specs: Vec<durable_domain::TaskSpec>,
    ) -> Result<Vec<CreatedTask>, ServiceError> {
        let now = self.now();
        let due_now = specs.iter().any(|s| s.run_at.is_none_or(|at| at <= now));
        let created = self.store.tasks_create(queue, specs, now).await?;
        if due_now && created.iter().any(|c| !c.deduplicated) {
            self.notify(std::slice::from_ref(queue)).await;
        }
        Ok(created)
    }
}
