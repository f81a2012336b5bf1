//! The storage port. Each method is one use case and one atomic unit: it
//! locks what it changes, lets the domain's state machine decide, and writes
//! the answer. No transaction handle ever crosses this boundary.
//!
//! Time is always passed in (`now`), never read inside a store, so every
//! adapter agrees with the engine's clock and tests control it.
//!
//! A write that can leave runs claimable answers with `wake`: the queues
//! whose long-polling claimers must look again, decided by
//! `durable_domain::wake`. The engine notifies exactly that list; a store
//! that signals other processes itself (PostgreSQL's `NOTIFY`) signals
//! exactly that list too.

use async_trait::async_trait;
use durable_domain::Task;
use durable_domain::command::{
    CheckpointWrite, Claim, Completion, EventFilter, Page, RunFilter, TaskFilter, Wait, WorkflowFilter,
};
use durable_domain::event::{Checkpoint, Event, WaitOutcome, WaitResponse};
use durable_domain::flow::FlowPatch;
use durable_domain::machine::Policy;
use durable_domain::schedule::{Schedule, ScheduleName, SchedulePatch};
use durable_domain::workflow::{WorkflowPatch, WorkflowRun, WorkflowWithTasks};
use durable_domain::{
    EventId, Queue, QueueName, QueueStats, Run, RunId, TaskId, TaskSpec, TaskState, Timestamp, WorkflowRunId,
};
use serde_json::Value;
use time::Duration;

use crate::error::{ItemError, StoreError};
use crate::metrics::{PoolStats, QueueDepth};

/// What one pass of claim expiry did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpiredClaims {
    /// The queue of each new run (one entry per run).
    pub requeued: Vec<QueueName>,
    /// Tasks failed because their claims ran out too many times in a row.
    pub tasks_failed: usize,
    /// The queues whose claimers to wake (`durable_domain::wake`).
    pub wake: Vec<QueueName>,
}

impl ExpiredClaims {
    /// Claims expired, whichever way their tasks went.
    pub fn total(&self) -> usize {
        self.requeued.len() + self.tasks_failed
    }
}

/// The ids of a created (or deduplicated) task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedTask {
    pub task_id: TaskId,
    pub run_id: RunId,
    pub workflow_run_id: Option<WorkflowRunId>,
    /// True when an existing task with the same idempotency key was returned.
    pub deduplicated: bool,
}

/// The answer to [`Store::tasks_create`]: per spec, in order, and the
/// queues whose claimers to wake (`durable_domain::wake`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedTasks {
    pub tasks: Vec<CreatedTask>,
    pub wake: Vec<QueueName>,
}

/// The result of a worker-reported failure.
#[derive(Clone, Debug, PartialEq)]
pub struct FailedRun {
    pub run_id: RunId,
    pub queue: QueueName,
    pub attempt: u32,
    /// The retry, if the task has attempts left.
    pub next: Option<Retry>,
    /// The queues whose claimers to wake (`durable_domain::wake`).
    pub wake: Vec<QueueName>,
}

/// The retry a failure created: the new run and when it is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    pub run_id: RunId,
    pub available_at: Timestamp,
}

impl Retry {
    pub fn of(run: &Run) -> Self {
        Self { run_id: run.id, available_at: run.available_at }
    }
}

/// The result of scheduling a run.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledRun {
    pub queue: QueueName,
    pub scheduled_at: Timestamp,
    /// The queues whose claimers to wake (`durable_domain::wake`).
    pub wake: Vec<QueueName>,
}

/// The result of an emit.
#[derive(Clone, Debug, PartialEq)]
pub struct Emitted {
    pub event: Event,
    /// The queue of each run this event woke (one entry per run).
    pub woken: Vec<QueueName>,
    /// The queues whose claimers to wake (`durable_domain::wake`).
    pub wake: Vec<QueueName>,
}

/// What one pass of waking sleepers did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SleepersWoken {
    /// Sleeping runs made pending again.
    pub woken: usize,
    /// The queues whose claimers to wake (`durable_domain::wake`).
    pub wake: Vec<QueueName>,
}

/// What one retention pass deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cleanup {
    pub tasks: u64,
    pub events: u64,
}

/// The new run of a retried task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetriedTask {
    pub task_id: TaskId,
    pub run_id: RunId,
    pub attempt: u32,
    /// The queues whose claimers to wake (`durable_domain::wake`).
    pub wake: Vec<QueueName>,
}

/// What one pass of firing schedules did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FiredSchedules {
    /// Ticks fired (each created its task, or found it created already).
    pub ticks: usize,
    /// The queues whose claimers to wake (`durable_domain::wake`).
    pub wake: Vec<QueueName>,
}

/// What [`Store::runs_complete_then_claim`] did: per item, in order, and
/// the runs claimed after.
#[derive(Debug)]
pub struct CompletedThenClaimed {
    pub completed: Vec<Result<(), ItemError>>,
    pub claimed: Vec<TaskState>,
}

/// Everything the engine stores: one method per use case, each atomic on
/// its own, with the domain deciding every state change inside it.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A cheap round trip, for readiness probes.
    async fn ping(&self) -> Result<(), StoreError>;

    // --- queues -----------------------------------------------------------

    /// Creates a queue. `Conflict(QueueExists)` if the name is taken;
    /// `Invalid` when `max_queues` queues exist already.
    async fn queue_create(&self, queue: Queue, max_queues: usize) -> Result<Queue, StoreError>;

    async fn queue_list(&self) -> Result<Vec<Queue>, StoreError>;

    /// Changes a queue's flow settings and answers the queue as it is now.
    /// A changed key limit re-admits every key of the queue at `now`
    /// (`flow::admit`); a lowered limit leaves claimed runs alone.
    async fn queue_update(&self, name: &QueueName, patch: FlowPatch, now: Timestamp) -> Result<Queue, StoreError>;

    /// Deletes a queue; without `force`, `Conflict(QueueNotEmpty)` while it
    /// holds unfinished tasks. With `force`, everything in it goes too.
    async fn queue_delete(&self, name: &QueueName, force: bool) -> Result<(), StoreError>;

    async fn queue_stats(&self, name: &QueueName, now: Timestamp) -> Result<QueueStats, StoreError>;

    /// The queue's completed and failed runs, each counted up to `cap`
    /// **(ext)**: a bounded read, where `queue_stats` counts everything.
    /// `NotFound` for an unknown queue.
    async fn queue_finished_counts(&self, name: &QueueName, cap: u32) -> Result<(u64, u64), StoreError>;

    // --- tasks ------------------------------------------------------------

    /// Creates tasks with their first runs, all or nothing, in order. A spec
    /// whose idempotency key already exists in the queue (or earlier in the
    /// same batch) yields that task, marked `deduplicated`. `NotFound` for
    /// an unknown queue or workflow run.
    async fn tasks_create(
        &self,
        queue: &QueueName,
        specs: Vec<TaskSpec>,
        now: Timestamp,
    ) -> Result<CreatedTasks, StoreError>;

    async fn task_get(&self, id: TaskId) -> Result<Task, StoreError>;

    /// Newest first, `filter.limit` at most.
    async fn task_list(&self, filter: &TaskFilter) -> Result<Page<Task, TaskId>, StoreError>;

    /// Marks the task's result as watched, so the transaction that ends it
    /// signals its queue (`durable_domain::child::queues_to_signal`), and
    /// answers the task as it is now, read after the mark: a task that ends
    /// concurrently is either seen ended here or signals. `NotFound` for an
    /// unknown task.
    async fn task_watch_result(&self, id: TaskId) -> Result<Task, StoreError>;

    /// Cancels an unfinished task and its live run.
    async fn task_cancel(&self, id: TaskId, now: Timestamp) -> Result<(), StoreError>;

    /// Retries a failed or canceled task **(ext)** (`machine::retry`): a
    /// new run, due now, and the task pending again.
    async fn task_retry(&self, id: TaskId, now: Timestamp) -> Result<RetriedTask, StoreError>;

    // --- runs -------------------------------------------------------------

    /// Claims up to `claim.limit` due pending runs of the queue, oldest due
    /// first. A run is never handed to two claims. `NotFound` for an unknown
    /// queue.
    async fn runs_claim(&self, queue: &QueueName, claim: &Claim, now: Timestamp) -> Result<Vec<TaskState>, StoreError>;

    /// The earliest `available_at` of the queue's pending runs, due or not.
    async fn queue_next_due(&self, queue: &QueueName) -> Result<Option<Timestamp>, StoreError>;

    async fn run_list(&self, filter: &RunFilter) -> Result<Page<Run, RunId>, StoreError>;

    /// Completes each run whose claim is held, all in one transaction; every
    /// item is fenced on its own and answered in order.
    async fn runs_complete(
        &self,
        items: Vec<Completion>,
        now: Timestamp,
    ) -> Result<Vec<Result<(), ItemError>>, StoreError>;

    /// Completes `items` as [`Store::runs_complete`] does, then claims as
    /// [`Store::runs_claim`] does (once, without waiting): the acknowledge-
    /// and-claim request of a worker. A store may do both in one transaction
    /// (one commit instead of two; then a failed claim completes nothing).
    /// The default runs the two one after the other.
    async fn runs_complete_then_claim(
        &self,
        items: Vec<Completion>,
        queue: &QueueName,
        claim: &Claim,
        now: Timestamp,
    ) -> Result<CompletedThenClaimed, StoreError> {
        let completed = self.runs_complete(items, now).await?;
        let claimed = self.runs_claim(queue, claim, now).await?;
        Ok(CompletedThenClaimed { completed, claimed })
    }

    async fn run_fail(&self, run: RunId, error: &str, now: Timestamp) -> Result<FailedRun, StoreError>;

    async fn run_schedule(&self, run: RunId, run_at: Timestamp, now: Timestamp) -> Result<ScheduledRun, StoreError>;

    /// Extends a held claim to `now + extend_by`; returns the new end.
    async fn run_heartbeat(&self, run: RunId, extend_by: Duration, now: Timestamp) -> Result<Timestamp, StoreError>;

    /// Wait-for-event: replay a recorded outcome, resolve from the latest
    /// event of that name, or put the run to sleep. Must serialize with
    /// [`Store::event_emit`] of the same name so no wake-up is lost.
    async fn run_wait_for_event(&self, wait: &Wait, now: Timestamp) -> Result<WaitResponse, StoreError>;

    /// Wait-for-task **(ext)**: `wait` is a wait-for-event on the child's end
    /// (`durable_domain::child`), resolved from the child's row: replay a
    /// recorded outcome, resolve from the child's end, or put the run to
    /// sleep until the child ends. Every transaction that ends a task with
    /// a parent delivers its end to the runs sleeping on it, serialized with
    /// this so no wake-up is lost. `NotFound` for an unknown child.
    async fn run_wait_for_task(&self, wait: &Wait, child: TaskId, now: Timestamp) -> Result<WaitResponse, StoreError>;

    // --- events -----------------------------------------------------------

    /// Records the event, and for every run sleeping on its name records the
    /// payload as that step's outcome and makes the run claimable.
    async fn event_emit(&self, name: &str, payload: Value, now: Timestamp) -> Result<Emitted, StoreError>;

    /// The recorded outcomes of a task's waits (event waits and child
    /// waits), by step name **(ext)**. `NotFound` for an unknown task.
    async fn wait_outcomes(&self, task: TaskId) -> Result<Vec<(String, WaitOutcome)>, StoreError>;

    /// Events newest first **(ext)**, `filter.limit` at most.
    async fn event_list(&self, filter: &EventFilter) -> Result<Page<Event, EventId>, StoreError>;

    // --- checkpoints ------------------------------------------------------

    /// Upserts a checkpoint if `owner_run` holds the claim on a run of the task.
    async fn checkpoint_put(&self, write: CheckpointWrite, now: Timestamp) -> Result<Checkpoint, StoreError>;

    async fn checkpoint_get(&self, task: TaskId, step_name: &str) -> Result<Checkpoint, StoreError>;

    /// All checkpoints of a task, by step name. `NotFound` for an unknown task.
    async fn checkpoint_list(&self, task: TaskId) -> Result<Vec<Checkpoint>, StoreError>;

    /// The checkpoints of all these tasks (by task, then step name), in one
    /// round trip where the store can: what a claim that includes
    /// checkpoints answers with. Unknown tasks have none. The default asks
    /// task by task.
    async fn checkpoint_list_of_tasks(&self, tasks: &[TaskId]) -> Result<Vec<Checkpoint>, StoreError> {
        let mut all = Vec::new();
        for task in tasks {
            match self.checkpoint_list(*task).await {
                Ok(checkpoints) => all.extend(checkpoints),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(all)
    }

    // --- workflow runs ----------------------------------------------------

    async fn workflow_create(&self, run: WorkflowRun) -> Result<WorkflowRun, StoreError>;

    async fn workflow_update(
        &self,
        id: WorkflowRunId,
        patch: WorkflowPatch,
        now: Timestamp,
    ) -> Result<WorkflowRun, StoreError>;

    /// The workflow run and summaries of its tasks (oldest first).
    async fn workflow_get(&self, id: WorkflowRunId) -> Result<WorkflowWithTasks, StoreError>;

    async fn workflow_list(&self, filter: &WorkflowFilter) -> Result<Page<WorkflowRun, WorkflowRunId>, StoreError>;

    // --- schedules **(ext)** ------------------------------------------------

    /// Stores a new schedule. `Conflict(ScheduleExists)` if the name is
    /// taken, `NotFound` for an unknown queue.
    async fn schedule_create(&self, schedule: Schedule) -> Result<Schedule, StoreError>;

    /// Every schedule, by name.
    async fn schedule_list(&self) -> Result<Vec<Schedule>, StoreError>;

    async fn schedule_get(&self, name: &ScheduleName) -> Result<Schedule, StoreError>;

    /// Applies the patch at `now` (`Schedule::apply`) under the schedule's
    /// lock, so it never races a pass firing it.
    async fn schedule_update(
        &self,
        name: &ScheduleName,
        patch: SchedulePatch,
        now: Timestamp,
    ) -> Result<Schedule, StoreError>;

    async fn schedule_delete(&self, name: &ScheduleName) -> Result<(), StoreError>;

    /// Fires up to `limit` due schedules (`Schedule::due` with `grace`):
    /// each schedule's tasks are created in the transaction that advances
    /// it, so a tick fires exactly once however many replicas sweep. A
    /// schedule that cannot be fired is logged and left; the others fire.
    async fn schedules_fire(&self, now: Timestamp, grace: Duration, limit: u32) -> Result<FiredSchedules, StoreError>;

    // --- maintenance (the sweeper; safe to run on many replicas at once) ---

    /// Expires up to `limit` claims that ran out: each task gets a new
    /// claimable run, or fails after too many expiries in a row.
    async fn claims_expire(&self, policy: &Policy, now: Timestamp, limit: u32) -> Result<ExpiredClaims, StoreError>;

    /// Wakes up to `limit` sleeping runs whose time came (durable sleeps
    /// ending, event waits timing out).
    async fn sleepers_wake(&self, now: Timestamp, limit: u32) -> Result<SleepersWoken, StoreError>;

    /// Cancels up to `limit` tasks past their start or execution timeout.
    async fn timeouts_enforce(&self, now: Timestamp, limit: u32) -> Result<u64, StoreError>;

    /// Deletes up to `limit` finished tasks past their queue's task TTL (with
    /// runs, checkpoints and wait outcomes) and up to `limit` expired events.
    async fn retention_delete(&self, now: Timestamp, limit: u32) -> Result<Cleanup, StoreError>;

    // --- observability ------------------------------------------------------

    /// Live runs of every queue by state, for the metrics gauges; one entry
    /// per queue, empty queues included. Called on an interval, never per
    /// scrape. Adapters should answer with one grouped query; this default
    /// asks for each queue's stats, which cannot tell due pending runs from
    /// scheduled ones: it counts them all as due when any is due, else all
    /// as scheduled.
    async fn queue_depths(&self, now: Timestamp) -> Result<Vec<QueueDepth>, StoreError> {
        let mut depths = Vec::new();
        for queue in self.queue_list().await? {
            let stats = match self.queue_stats(&queue.name, now).await {
                Ok(stats) => stats,
                // Deleted between the two calls: it has no depth any more.
                Err(StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            let any_due = stats.oldest_pending_run_age_seconds.is_some();
            depths.push(QueueDepth {
                queue: queue.name,
                pending_due: if any_due { stats.pending_runs } else { 0 },
                pending_scheduled: if any_due { 0 } else { stats.pending_runs },
                claimed: stats.claimed_runs,
                sleeping: stats.sleeping_runs,
                oldest_pending_age_seconds: stats.oldest_pending_run_age_seconds,
            });
        }
        Ok(depths)
    }

    /// The connection pool's current use, when the store has one.
    fn pool_stats(&self) -> Option<PoolStats> {
        None
    }

    /// Stored rows that claims and sweeps could not decode and left out
    /// (logged one by one), since the process started. Stores whose rows
    /// are typed in memory never skip any.
    fn rows_skipped(&self) -> u64 {
        0
    }
}
