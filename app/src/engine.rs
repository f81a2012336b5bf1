//! The engine: validates each use case, runs it through the store (where the
//! domain decides), and wakes long-polling claimers after a commit made runs
//! claimable.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use durable_domain::child::{self, TaskResult, WaitForTaskRequest};
use durable_domain::command::{
    self, ClaimRequest, Completion, EventFilter, NewQueue, NewTask, Page, QueueUpdate, RunFilter, TaskFilter,
    WaitRequest, WorkflowFilter,
};
use durable_domain::event::{Checkpoint, Event, WaitResponse};
use durable_domain::schedule::{NewSchedule, Schedule, ScheduleName, ScheduleUpdate};
use durable_domain::workflow::{NewWorkflowRun, WorkflowPatch, WorkflowRun, WorkflowWithTasks};
use durable_domain::{
    EventId, NotFound, Queue, QueueName, QueueStats, Run, RunId, Task, TaskId, TaskState, Timestamp, ValidationError,
    WorkflowRunId, clock,
};
use durable_ports::metrics::QueueOverview;
use durable_ports::service::{CreatedTask, FailedRun, Finished, Handoff, PutCheckpoint, RetriedTask};
use durable_ports::{Clock, ItemError, Metrics, NoopMetrics, Notifier, Observation, Service, ServiceError, Store};
use serde_json::Value;
use tokio::sync::watch;

use crate::config::EngineConfig;
use crate::history::QueueHistory;
use crate::traced_store::TracedStore;

/// The [`Service`] over the driven ports: it validates each request through
/// the domain, runs it as one [`Store`] call (where the domain decides the
/// transition), wakes exactly the queues the store names, and records
/// metrics. Stateless between calls, so any number of replicas may serve
/// one database.
pub struct Engine {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) notifier: Arc<dyn Notifier>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: EngineConfig,
    pub(crate) metrics: Arc<dyn Metrics>,
    pub(crate) shutdown: watch::Sender<bool>,
    /// Long-poll claims waiting right now (see [`Engine::waiting_claims`]).
    pub(crate) waiting: Arc<AtomicUsize>,
    /// The last hour of every queue, for the dashboard.
    pub(crate) history: Arc<QueueHistory>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `store` (wrapped so every call is traced), waking
    /// long polls through `notifier`, reading time from `clock`.
    pub fn new(
        store: Arc<dyn Store>,
        notifier: Arc<dyn Notifier>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Self {
        Self {
            store: Arc::new(TracedStore::new(store)),
            notifier,
            clock,
            config,
            metrics: Arc::new(NoopMetrics),
            shutdown: watch::channel(false).0,
            waiting: Arc::default(),
            history: Arc::default(),
        }
    }

    /// Records what the engine does (see [`Observation`]) into `metrics`;
    /// without this, nothing is recorded.
    pub fn with_metrics(self, metrics: Arc<dyn Metrics>) -> Self {
        Self { metrics, ..self }
    }

    /// Ends every waiting long-poll claim (they answer empty) and makes new
    /// ones return without waiting. Called on graceful shutdown.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// How many long-poll claims are waiting for work right now: what a
    /// test (or an operator) reads to know a poll has reached the server.
    pub fn waiting_claims(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// True once [`Engine::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// The limits and policies the engine was built with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub(crate) fn record(&self, observation: Observation) {
        self.history.observe(&observation, self.now());
        self.metrics.record(observation);
    }

    /// Wakes the claimers of exactly the queues a store write named: the
    /// store decided (through the domain) which runs it made claimable.
    pub(crate) async fn notify(&self, wake: &[QueueName]) {
        if !wake.is_empty() {
            self.notifier.notify(wake).await;
        }
    }
}

/// How long `/readyz` waits for the store before answering 503.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

/// A queue named in a path. A name that could never have been created cannot
/// exist, so it is "not found" rather than a validation error.
/// How far the dashboard's queue overview counts finished runs: beyond, it
/// says "at least", and the read stays bounded.
const OVERVIEW_COUNT_CAP: u32 = 10_000;

/// A schedule name from a path: one that cannot exist is not found.
fn existing_schedule(raw: &str) -> Result<ScheduleName, ServiceError> {
    ScheduleName::parse("name", raw).map_err(|_| NotFound::Schedule(raw.to_owned()).into())
}

pub(crate) fn existing_queue(raw: &str) -> Result<QueueName, ServiceError> {
    QueueName::parse("queue_name", raw).map_err(|_| NotFound::Queue(raw.to_owned()).into())
}

#[async_trait]
impl Service for Engine {
    async fn ready(&self) -> Result<(), ServiceError> {
        // A readiness probe must hear an answer, whatever the store: one
        // that hangs is as unready as one that refuses.
        match tokio::time::timeout(READY_WITHIN, self.store.ping()).await {
            Ok(answer) => Ok(answer?),
            Err(_) => Err(ServiceError::Unavailable(format!("storage did not answer within {READY_WITHIN:?}"))),
        }
    }

    async fn create_queue(&self, new: NewQueue) -> Result<Queue, ServiceError> {
        let name = QueueName::parse("name", &new.name)?;
        let queue = Queue { name, created_at: self.now(), cleanup: new.cleanup()?, flow: new.flow()? };
        Ok(self.store.queue_create(queue, self.config.max_queues).await?)
    }

    async fn list_queues(&self) -> Result<Vec<Queue>, ServiceError> {
        Ok(self.store.queue_list().await?)
    }

    async fn update_queue(&self, name: String, update: QueueUpdate) -> Result<Queue, ServiceError> {
        let name = existing_queue(&name)?;
        let patch = update.validate()?;
        Ok(self.store.queue_update(&name, patch, self.now()).await?)
    }

    async fn delete_queue(&self, name: String, force: bool) -> Result<(), ServiceError> {
        Ok(self.store.queue_delete(&existing_queue(&name)?, force).await?)
    }

    async fn queue_history(&self, name: String) -> Result<QueueOverview, ServiceError> {
        let queue = existing_queue(&name)?;
        // A fresh reading of the depths (one grouped query), so the last
        // minute is current, not as old as the last gauge refresh; a queue
        // missing from it does not exist.
        let depths = self.store.queue_depths(self.now()).await?;
        if !depths.iter().any(|d| d.queue == queue) {
            return Err(NotFound::Queue(name).into());
        }
        self.record(Observation::QueueDepths(depths));
        let (completed_runs, failed_runs) = self.store.queue_finished_counts(&queue, OVERVIEW_COUNT_CAP).await?;
        Ok(QueueOverview {
            minutes: self.history.of(&queue, self.now()),
            completed_runs,
            failed_runs,
            count_cap: OVERVIEW_COUNT_CAP,
        })
    }

    async fn queue_stats(&self, name: String) -> Result<QueueStats, ServiceError> {
        Ok(self.store.queue_stats(&existing_queue(&name)?, self.now()).await?)
    }

    async fn list_wait_outcomes(
        &self,
        task: TaskId,
    ) -> Result<Vec<(String, durable_domain::event::WaitOutcome)>, ServiceError> {
        Ok(self.store.wait_outcomes(task).await?)
    }

    async fn list_events(&self, filter: EventFilter) -> Result<Page<Event, EventId>, ServiceError> {
        command::text("event_name", filter.event_name.as_deref().unwrap_or_default())?;
        Ok(self.store.event_list(&filter).await?)
    }

    async fn retry_task(&self, id: TaskId) -> Result<RetriedTask, ServiceError> {
        let retried = self.store.task_retry(id, self.now()).await?;
        self.notify(&retried.wake).await;
        Ok(retried)
    }

    async fn create_schedule(&self, new: NewSchedule) -> Result<Schedule, ServiceError> {
        let schedule = new.validate(self.now())?;
        Ok(self.store.schedule_create(schedule).await?)
    }

    async fn list_schedules(&self) -> Result<Vec<Schedule>, ServiceError> {
        Ok(self.store.schedule_list().await?)
    }

    async fn get_schedule(&self, name: String) -> Result<Schedule, ServiceError> {
        Ok(self.store.schedule_get(&existing_schedule(&name)?).await?)
    }

    async fn update_schedule(&self, name: String, update: ScheduleUpdate) -> Result<Schedule, ServiceError> {
        let name = existing_schedule(&name)?;
        let patch = update.validate()?;
        Ok(self.store.schedule_update(&name, patch, self.now()).await?)
    }

    async fn delete_schedule(&self, name: String) -> Result<(), ServiceError> {
        Ok(self.store.schedule_delete(&existing_schedule(&name)?).await?)
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
        let claimed = self.claim_runs(&queue, &claim).await?;
        self.record_claimed(queue, &claimed);
        Ok(claimed)
    }

    async fn finish_and_claim(
        &self,
        queue: String,
        finished: Finished,
        request: ClaimRequest,
    ) -> Result<Handoff, ServiceError> {
        self.handoff(queue, finished, request).await
    }

    async fn list_tasks(&self, filter: TaskFilter) -> Result<Page<Task, TaskId>, ServiceError> {
        command::text("queue_name", filter.queue_name.as_deref().unwrap_or_default())?;
        command::text("task_name", filter.task_name.as_deref().unwrap_or_default())?;
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
        if let Some(result) = &result {
            command::json("result", result)?;
        }
        let mut answers = self.store.runs_complete(vec![Completion::new(run, result)], self.now()).await?;
        match answers.pop() {
            Some(Ok(())) => {
                self.record(Observation::RunsCompleted { n: 1 });
                Ok(())
            }
            Some(Err(ItemError::NotFound(e))) => Err(e.into()),
            Some(Err(ItemError::Conflict(e))) => Err(e.into()),
            None => Err(ServiceError::Internal("store answered no item".into())),
        }
    }

    async fn complete_runs(&self, items: Vec<Completion>) -> Result<Vec<Result<(), ItemError>>, ServiceError> {
        if items.is_empty() || items.len() > command::MAX_BATCH {
            let rule = format!("must hold between 1 and {} runs", command::MAX_BATCH);
            return Err(ValidationError::invalid("runs", rule).into());
        }
        for (i, item) in items.iter().enumerate() {
            if let Some(result) = &item.result {
                command::json(&format!("runs[{i}].result"), result)?;
            }
        }
        let answers = self.store.runs_complete(items, self.now()).await?;
        let n = answers.iter().filter(|a| a.is_ok()).count() as u64;
        self.record(Observation::RunsCompleted { n });
        Ok(answers)
    }

    async fn fail_run(&self, run: RunId, error: String) -> Result<FailedRun, ServiceError> {
        command::text("error", &error)?;
        let failed = self.store.run_fail(run, &error, self.now()).await?;
        self.record(Observation::RunFailed { queue: failed.queue.clone(), retried: failed.next.is_some() });
        self.notify(&failed.wake).await;
        Ok(failed)
    }

    async fn schedule_run(&self, run: RunId, run_at: Timestamp) -> Result<Timestamp, ServiceError> {
        let scheduled = self.store.run_schedule(run, clock::truncate(run_at), self.now()).await?;
        self.notify(&scheduled.wake).await;
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

    async fn wait_for_task(&self, request: WaitForTaskRequest) -> Result<WaitResponse, ServiceError> {
        let awaited = self.store.task_get(request.task_id).await?;
        let wait = request.validate(&awaited)?;
        Ok(self.store.run_wait_for_task(&wait, awaited.id, self.now()).await?)
    }

    async fn task_result(&self, id: TaskId, wait_seconds: Option<f64>) -> Result<TaskResult, ServiceError> {
        let wait = child::result_wait(wait_seconds)?;
        self.await_result(id, wait).await
    }

    async fn emit_event(&self, name: String, payload: Value) -> Result<Event, ServiceError> {
        command::non_empty("event_name", &name)?;
        if name.starts_with(child::RESERVED_EVENT_PREFIX) {
            let rule = format!("must not start with \"{}\" (reserved for the server)", child::RESERVED_EVENT_PREFIX);
            return Err(ValidationError::invalid("event_name", rule).into());
        }
        command::json("payload", &payload)?;
        let emitted = self.store.event_emit(&name, payload, self.now()).await?;
        self.record(Observation::EventEmitted);
        if !emitted.woken.is_empty() {
            self.record(Observation::Wakeups { n: emitted.woken.len() as u64 });
        }
        self.notify(&emitted.wake).await;
        Ok(emitted.event)
    }

    async fn put_checkpoint(&self, write: PutCheckpoint) -> Result<Checkpoint, ServiceError> {
        let write = write.validate()?;
        Ok(self.store.checkpoint_put(write, self.now()).await?)
    }

    async fn get_checkpoint(&self, task: TaskId, step_name: String) -> Result<Checkpoint, ServiceError> {
        command::text("step_name", &step_name)?;
        Ok(self.store.checkpoint_get(task, &step_name).await?)
    }

    async fn list_checkpoints(&self, task: TaskId) -> Result<Vec<Checkpoint>, ServiceError> {
        Ok(self.store.checkpoint_list(task).await?)
    }

    async fn checkpoints_of_tasks(&self, tasks: Vec<TaskId>) -> Result<Vec<Checkpoint>, ServiceError> {
        if tasks.len() > command::MAX_CLAIM_LIMIT as usize {
            let rule = format!("must hold at most {} tasks", command::MAX_CLAIM_LIMIT);
            return Err(ValidationError::invalid("tasks", rule).into());
        }
        Ok(self.store.checkpoint_list_of_tasks(&tasks).await?)
    }

    async fn create_workflow_run(&self, run: NewWorkflowRun) -> Result<WorkflowRun, ServiceError> {
        let run = WorkflowRun::create(run.validate()?, self.now());
        Ok(self.store.workflow_create(run).await?)
    }

    async fn update_workflow_run(&self, id: WorkflowRunId, patch: WorkflowPatch) -> Result<WorkflowRun, ServiceError> {
        if let Some(result) = &patch.result {
            command::json("result", result)?;
        }
        let patch = WorkflowPatch {
            started_at: patch.started_at.map(clock::truncate),
            completed_at: patch.completed_at.map(clock::truncate),
            ..patch
        };
        Ok(self.store.workflow_update(id, patch, self.now()).await?)
    }

    async fn get_workflow_run(&self, id: WorkflowRunId) -> Result<WorkflowWithTasks, ServiceError> {
        Ok(self.store.workflow_get(id).await?)
    }

    async fn list_workflow_runs(
        &self,
        filter: WorkflowFilter,
    ) -> Result<Page<WorkflowRun, WorkflowRunId>, ServiceError> {
        command::text("workflow_name", filter.workflow_name.as_deref().unwrap_or_default())?;
        Ok(self.store.workflow_list(&filter).await?)
    }
}

impl Engine {
    /// Records a claim's runs and how long each waited while claimable
    /// (claim time - available_at).
    pub(crate) fn record_claimed(&self, queue: QueueName, claimed: &[TaskState]) {
        let latencies_seconds = claimed
            .iter()
            .map(|c| (c.run.claimed_at.unwrap_or(c.run.available_at) - c.run.available_at).as_seconds_f64())
            .collect();
        self.record(Observation::RunsClaimed { queue, latencies_seconds });
    }

    async fn create(
        &self,
        queue: &QueueName,
        specs: Vec<durable_domain::TaskSpec>,
    ) -> Result<Vec<CreatedTask>, ServiceError> {
        let created = self.store.tasks_create(queue, specs, self.now()).await?;
        let n = created.tasks.iter().filter(|c| !c.deduplicated).count() as u64;
        self.record(Observation::TasksCreated { queue: queue.clone(), n });
        self.notify(&created.wake).await;
        Ok(created.tasks)
    }
}
