//! [`SqliteStore`]: opening the database, and the [`Store`] port mapped onto
//! one module per family of use cases.
//!
//! Every state change is one `BEGIN IMMEDIATE` transaction: load the rows
//! into domain values, let `durable_domain::machine` decide, write the answer
//! back, commit. An early return drops the transaction, which rolls it back,
//! so a rejection never leaves half a change behind.

mod checkpoints;
mod depths;
mod events;
mod maintenance;
mod queues;
mod runs;
mod schedules;
mod tasks;
mod workflows;

use std::path::{Path, PathBuf};
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
use durable_ports::metrics::{PoolStats, QueueDepth};
use durable_ports::store::{
    Cleanup, CreatedTasks, Emitted, ExpiredClaims, FailedRun, FiredSchedules, RetriedTask, ScheduledRun, SleepersWoken,
};
use durable_ports::{ItemError, Store, StoreError};
use serde_json::Value;
use time::Duration;

use crate::LocalNotifier;
use crate::db::Db;
use crate::errors;
use crate::lock::LockFile;

/// A [`Store`] in one SQLite file, owned by this process.
#[derive(Debug)]
pub struct SqliteStore {
    db: Db,
    path: PathBuf,
    /// Wakes the claimers of parents woken by a child's end: the one wake
    /// that comes from a write whose answer names no queues (completions,
    /// cancels, timeouts), so the store signals it itself, as PostgreSQL's
    /// `NOTIFY` does.
    notifier: LocalNotifier,
    // Declared last so it is dropped last: the file stays locked until every
    // connection above has been let go.
    lock: LockFile,
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file and its folder when
    /// missing, and migrates its schema. Fails when another process (or
    /// another store in this one) has the file open, naming the lock file.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Unavailable(format!("cannot create the folder {} for the database: {e}", parent.display()))
            })?;
        }
        // Lock before the first connection: a refused second server must not
        // even run migrations against a file the first one is using.
        let lock = LockFile::acquire(&path)?;
        let notifier = LocalNotifier::new();
        let waking = notifier.clone();
        let waker: crate::group::Waker = Arc::new(move |queue: &str| {
            if let Ok(queue) = QueueName::parse("queue", queue) {
                waking.wake(&queue);
            }
        });
        let db = Db::open(&path, waker).await?;
        Ok(Self { db, path, notifier, lock })
    }

    /// The in-process notifier this store signals: the one its claimers
    /// should wait on (only this process writes the database, so it hears
    /// every change).
    pub fn notifier(&self) -> LocalNotifier {
        self.notifier.clone()
    }

    fn wake(&self, queues: &[QueueName]) {
        for queue in queues {
            self.notifier.wake(queue);
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file that keeps other servers off the database.
    pub fn lock_path(&self) -> &Path {
        self.lock.path()
    }

    /// Closes every connection (waiting for statements in flight). Calls
    /// after this fail as unavailable. Dropping the store also closes them,
    /// in the background; this lets a clean shutdown wait for it.
    pub async fn close(&self) {
        self.db.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(self.db.reader()).await.map_err(errors::map_sql)?;
        Ok(())
    }

    async fn queue_create(&self, queue: Queue, max_queues: usize) -> Result<Queue, StoreError> {
        queues::create(&self.db, queue, max_queues).await
    }

    async fn queue_list(&self) -> Result<Vec<Queue>, StoreError> {
        queues::list(&self.db).await
    }

    async fn queue_update(&self, name: &QueueName, patch: FlowPatch, now: Timestamp) -> Result<Queue, StoreError> {
        queues::update(&self.db, name, patch, now).await
    }

    async fn queue_finished_counts(&self, name: &QueueName, cap: u32) -> Result<(u64, u64), StoreError> {
        queues::finished_counts(&self.db, name, cap).await
    }

    async fn queue_delete(&self, name: &QueueName, force: bool) -> Result<(), StoreError> {
        queues::delete(&self.db, name, force).await
    }

    async fn queue_stats(&self, name: &QueueName, now: Timestamp) -> Result<QueueStats, StoreError> {
        queues::stats(&self.db, name, now).await
    }

    async fn tasks_create(
        &self,
        queue: &QueueName,
        specs: Vec<TaskSpec>,
        now: Timestamp,
    ) -> Result<CreatedTasks, StoreError> {
        tasks::create(&self.db, queue, specs, now).await
    }

    async fn task_get(&self, id: TaskId) -> Result<Task, StoreError> {
        tasks::get(&self.db, id).await
    }

    async fn task_list(&self, filter: &TaskFilter) -> Result<Page<Task, TaskId>, StoreError> {
        tasks::list(&self.db, filter).await
    }

    async fn task_watch_result(&self, id: TaskId) -> Result<Task, StoreError> {
        tasks::watch_result(&self.db, id).await
    }

    async fn task_cancel(&self, id: TaskId, now: Timestamp) -> Result<(), StoreError> {
        let wake = tasks::cancel(&self.db, id, now).await?;
        self.wake(&wake);
        Ok(())
    }

    async fn runs_claim(&self, queue: &QueueName, claim: &Claim, now: Timestamp) -> Result<Vec<TaskState>, StoreError> {
        runs::claim(&self.db, queue, claim, now).await
    }

    async fn queue_next_due(&self, queue: &QueueName) -> Result<Option<Timestamp>, StoreError> {
        runs::next_due(&self.db, queue).await
    }

    async fn run_list(&self, filter: &RunFilter) -> Result<Page<Run, RunId>, StoreError> {
        runs::list(&self.db, filter).await
    }

    async fn runs_complete(
        &self,
        items: Vec<Completion>,
        now: Timestamp,
    ) -> Result<Vec<Result<(), ItemError>>, StoreError> {
        let (answers, wake) = runs::complete(&self.db, items, now).await?;
        self.wake(&wake);
        Ok(answers)
    }

    async fn run_fail(&self, run: RunId, error: &str, now: Timestamp) -> Result<FailedRun, StoreError> {
        runs::fail(&self.db, run, error, now).await
    }

    async fn run_schedule(&self, run: RunId, run_at: Timestamp, now: Timestamp) -> Result<ScheduledRun, StoreError> {
        runs::schedule(&self.db, run, run_at, now).await
    }

    async fn run_heartbeat(&self, run: RunId, extend_by: Duration, now: Timestamp) -> Result<Timestamp, StoreError> {
        runs::heartbeat(&self.db, run, extend_by, now).await
    }

    async fn run_wait_for_event(&self, wait: &Wait, now: Timestamp) -> Result<WaitResponse, StoreError> {
        events::wait(&self.db, wait, now).await
    }

    async fn run_wait_for_task(&self, wait: &Wait, child: TaskId, now: Timestamp) -> Result<WaitResponse, StoreError> {
        events::wait_for_task(&self.db, wait, child, now).await
    }

    async fn event_emit(&self, name: &str, payload: Value, now: Timestamp) -> Result<Emitted, StoreError> {
        events::emit(&self.db, name, payload, now).await
    }

    async fn checkpoint_put(&self, write: CheckpointWrite, now: Timestamp) -> Result<Checkpoint, StoreError> {
        checkpoints::put(&self.db, write, now).await
    }

    async fn checkpoint_get(&self, task: TaskId, step_name: &str) -> Result<Checkpoint, StoreError> {
        checkpoints::get(&self.db, task, step_name).await
    }

    async fn checkpoint_list(&self, task: TaskId) -> Result<Vec<Checkpoint>, StoreError> {
        checkpoints::list(&self.db, task).await
    }

    async fn checkpoint_list_of_tasks(&self, tasks: &[TaskId]) -> Result<Vec<Checkpoint>, StoreError> {
        checkpoints::list_of_tasks(&self.db, tasks).await
    }

    async fn workflow_create(&self, run: WorkflowRun) -> Result<WorkflowRun, StoreError> {
        workflows::create(&self.db, run).await
    }

    async fn workflow_update(
        &self,
        id: WorkflowRunId,
        patch: WorkflowPatch,
        now: Timestamp,
    ) -> Result<WorkflowRun, StoreError> {
        workflows::update(&self.db, id, patch, now).await
    }

    async fn workflow_get(&self, id: WorkflowRunId) -> Result<WorkflowWithTasks, StoreError> {
        workflows::get(&self.db, id).await
    }

    async fn workflow_list(&self, filter: &WorkflowFilter) -> Result<Page<WorkflowRun, WorkflowRunId>, StoreError> {
        workflows::list(&self.db, filter).await
    }

    async fn wait_outcomes(&self, task: TaskId) -> Result<Vec<(String, WaitOutcome)>, StoreError> {
        events::outcomes(&self.db, task).await
    }

    async fn event_list(&self, filter: &EventFilter) -> Result<Page<Event, EventId>, StoreError> {
        events::list(&self.db, filter).await
    }

    async fn task_retry(&self, id: TaskId, now: Timestamp) -> Result<RetriedTask, StoreError> {
        tasks::retry(&self.db, id, now).await
    }

    async fn schedule_create(&self, schedule: Schedule) -> Result<Schedule, StoreError> {
        schedules::create(&self.db, schedule).await
    }

    async fn schedule_list(&self) -> Result<Vec<Schedule>, StoreError> {
        schedules::list(&self.db).await
    }

    async fn schedule_get(&self, name: &ScheduleName) -> Result<Schedule, StoreError> {
        schedules::get(&self.db, name).await
    }

    async fn schedule_update(
        &self,
        name: &ScheduleName,
        patch: SchedulePatch,
        now: Timestamp,
    ) -> Result<Schedule, StoreError> {
        schedules::update(&self.db, name, patch, now).await
    }

    async fn schedule_delete(&self, name: &ScheduleName) -> Result<(), StoreError> {
        schedules::delete(&self.db, name).await
    }

    async fn schedules_fire(&self, now: Timestamp, grace: Duration, limit: u32) -> Result<FiredSchedules, StoreError> {
        schedules::fire(&self.db, now, grace, limit).await
    }

    async fn claims_expire(&self, policy: &Policy, now: Timestamp, limit: u32) -> Result<ExpiredClaims, StoreError> {
        maintenance::expire_claims(&self.db, policy, now, limit).await
    }

    async fn sleepers_wake(&self, now: Timestamp, limit: u32) -> Result<SleepersWoken, StoreError> {
        maintenance::wake_sleepers(&self.db, now, limit).await
    }

    async fn timeouts_enforce(&self, now: Timestamp, limit: u32) -> Result<u64, StoreError> {
        let (canceled, wake) = maintenance::enforce_timeouts(&self.db, now, limit).await?;
        self.wake(&wake);
        Ok(canceled)
    }

    async fn retention_delete(&self, now: Timestamp, limit: u32) -> Result<Cleanup, StoreError> {
        maintenance::cleanup(&self.db, now, limit).await
    }

    async fn queue_depths(&self, now: Timestamp) -> Result<Vec<QueueDepth>, StoreError> {
        depths::depths(&self.db, now).await
    }

    fn pool_stats(&self) -> Option<PoolStats> {
        Some(self.db.pool_stats())
    }

    fn rows_skipped(&self) -> u64 {
        self.db.skipped().total()
    }
}
