//! [`PgStore`]: the [`Store`] port over a PostgreSQL connection pool.
//!
//! Every method is one transaction (or one statement) that locks what it
//! changes, loads it into the domain's types, lets `durable_domain::machine`
//! decide and writes the result back. The submodules hold the SQL, one per
//! area of the port.

mod admission;
mod checkpoints;
mod combine;
mod depths;
mod events;
mod load;
mod locks;
mod maintenance;
mod queues;
mod runs;
mod schedules;
mod tasks;
mod tx;
mod workflows;
mod write;

use std::sync::Arc;
use std::time::Duration as StdDuration;

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
    Cleanup, CompletedThenClaimed, CreatedTasks, Emitted, ExpiredClaims, FailedRun, FiredSchedules, RetriedTask,
    ScheduledRun, SleepersWoken,
};
use durable_ports::{ItemError, Store, StoreError};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};
use time::Duration;

use self::combine::Combiner;
use crate::errors::map_sql;
use crate::health::Health;
use crate::retry::{self, Effect, Effect::Reads, Effect::Writes};
use crate::skipped::SkippedRows;
pub use load::LOCK_RUNS_SQL;
pub use runs::CLAIM_SQL;

/// How long a call waits for a pooled connection before it answers
/// `Unavailable`. Short, so an outage turns into quick 503s rather than
/// requests piling up.
pub const DEFAULT_ACQUIRE_TIMEOUT: StdDuration = StdDuration::from_secs(5);

/// A pooled connection idle this long is pinged before it is handed out.
const PING_IDLE_AFTER: StdDuration = StdDuration::from_secs(1);

/// The PostgreSQL store. Cheap to clone: clones share the pool (and the
/// combining of concurrent claims and acknowledgements, see [`combine`]),
/// and its view of whether the database is reachable (see
/// [`crate::health`] and [`crate::retry`]).
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    health: Health,
    claims: Arc<Combiner<QueueName, runs::ClaimCall, Vec<TaskState>>>,
    completions: Arc<Combiner<(), runs::CompleteCall, ItemAnswers>>,
    handoffs: Arc<Combiner<QueueName, runs::HandoffCall, CompletedThenClaimed>>,
    next_due: Arc<Combiner<QueueName, (), Option<Timestamp>>>,
    skipped: Arc<SkippedRows>,
}

/// Planner settings of the store's sessions. Every statement here looks
/// rows up by key through an index and touches a few hundred at most, so
/// the right join is always a nested loop over index scans. Left to
/// itself, the planner flips the batched statements (`unnest` of up to a
/// thousand ids joined to `tasks` or `runs`) to a hash join over a full
/// scan of the table while it is small or its statistics are stale, and a
/// prepared statement keeps that plan: measured, claims and
/// acknowledgements then cost 3–10 times the CPU, from one run to the next.
///
/// For the same reason every prepared statement runs its generic plan:
/// the plan depends on no parameter value, so there is nothing to gain
/// from planning each execution anew, and PostgreSQL's default does just
/// that for the batched statements (it keeps custom plans when the generic
/// one's estimate is worse, which it always is for `unnest` of arrays).
/// Measured with claim 1 and one acknowledgement per job: planning took
/// half of the database's CPU (`GetCachedPlan` 26 % of all samples), and
/// 1 % with generic plans.
///
/// And no JIT compilation: a generic plan estimates a `LIMIT $1` at a tenth
/// of the table, so on a large table its cost passes `jit_above_cost` and
/// PostgreSQL compiles the statement on every execution. Measured on
/// 1 000 000 tasks: the first page of `GET /tasks` took 131 ms of JIT for
/// 0.4 ms of execution (`bench/dashboard-1m.sh`). Every statement here
/// reads a handful of rows by index; compiling never pays.
const SESSION_SETTINGS: [(&str, &str); 4] = [
    ("enable_hashjoin", "off"),
    ("enable_mergejoin", "off"),
    ("plan_cache_mode", "force_generic_plan"),
    ("jit", "off"),
];

/// A batch acknowledgement's answer: per item, in order.
type ItemAnswers = Vec<Result<(), ItemError>>;

/// Rows (claim limits, acknowledged runs) one combined statement takes at
/// most; calls beyond wait for the next one.
const MAX_COMBINED_ROWS: usize = 1000;

/// Combined statements in flight per lane (a queue's claims, the
/// acknowledgements) and process. One: measured on 2 cores with 16
/// workers, a second statement in flight halved the batches and cost
/// PostgreSQL about 15 % more CPU per job for no gain in throughput.
const COMBINED_IN_FLIGHT: usize = 1;

impl PgStore {
    /// Connects a pool of at most `max_connections` to `url`
    /// (`postgres://user:password@host:port/database`). Fails with
    /// `Unavailable` when the server cannot be reached.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new().max_connections(max_connections).acquire_timeout(DEFAULT_ACQUIRE_TIMEOUT);
        Self::connect_with(connect_options(url)?, pool).await
    }

    /// Connects a pool with the caller's settings (size, timeouts) and the
    /// store's check of a connection before it is handed out; `options`
    /// should come from [`connect_options`].
    pub async fn connect_with(options: PgConnectOptions, pool: PgPoolOptions) -> Result<Self, StoreError> {
        let health = Health::new(options.clone());
        let stale = health.stale_check();
        let pool = pool
            // sqlx pings every connection when it goes back to the pool, so a
            // pooled connection was fine a moment ago; pinging it again on
            // every acquire would cost each statement another round trip.
            // Only connections idle long enough to have missed a server
            // restart, or idle since another connection was found broken,
            // are pinged (and replaced when that fails).
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                let stale = stale.clone();
                Box::pin(async move {
                    let suspect = meta.idle_for >= PING_IDLE_AFTER || stale.may_be_stale(meta.idle_for);
                    if suspect && let Err(error) = conn.ping().await {
                        tracing::debug!(%error, "a pooled connection was broken; replacing it");
                        stale.connection_lost();
                        return Ok(false);
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(map_sql)?;
        Ok(Self::new(pool, health))
    }

    /// A store over a pool configured by the caller. Without the check of
    /// [`Self::connect_with`], a call retried after a broken connection
    /// (see [`crate::retry`]) may meet another broken one.
    pub fn from_pool(pool: PgPool) -> Self {
        let health = Health::new((*pool.connect_options()).clone());
        Self::new(pool, health)
    }

    fn new(pool: PgPool, health: Health) -> Self {
        Self {
            pool,
            health,
            claims: Arc::new(Combiner::new(COMBINED_IN_FLIGHT, MAX_COMBINED_ROWS)),
            completions: Arc::new(Combiner::new(COMBINED_IN_FLIGHT, MAX_COMBINED_ROWS)),
            handoffs: Arc::new(Combiner::new(COMBINED_IN_FLIGHT, MAX_COMBINED_ROWS)),
            // One look-up at a time per queue, its answer shared by every
            // caller that asked meanwhile: all long-pollers of a queue wake
            // together, and all ask this after their (empty) claim.
            next_due: Arc::new(Combiner::new(1, usize::MAX)),
            skipped: Arc::default(),
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The plan of the statement that creates `specs`, run and rolled back
    /// (`EXPLAIN ANALYZE`), for tests and benchmarks of its plan.
    #[doc(hidden)]
    pub async fn explain_tasks_create(
        &self,
        queue: &QueueName,
        specs: Vec<TaskSpec>,
        now: Timestamp,
    ) -> Result<String, StoreError> {
        let new: Vec<TaskState> =
            specs.into_iter().map(|spec| durable_domain::task::create(queue.clone(), spec, now)).collect();
        Ok(tasks::explain_insert(&self.pool, queue, &new, now).await?)
    }

    /// The plans of the statements behind the queue statistics and the
    /// depth gauges, run (`EXPLAIN ANALYZE`), for tests of their plans.
    #[doc(hidden)]
    pub async fn explain_statistics(&self, queue: &QueueName, now: Timestamp) -> Result<String, StoreError> {
        let stats = queues::explain_stats(&self.pool, queue, now).await?;
        let depths = depths::explain(&self.pool, now).await?;
        Ok(format!("{stats}\n{depths}"))
    }

    /// Runs a call through [`retry::run`].
    async fn call<T, Fut>(&self, effect: Effect, attempt: impl FnMut() -> Fut) -> Result<T, StoreError>
    where
        Fut: Future<Output = crate::errors::Result<T>>,
    {
        retry::run(&self.health, effect, attempt).await
    }
}

/// Connection options for `url` with the store's session settings
/// ([`SESSION_SETTINGS`]); for callers that build their own pool for
/// [`PgStore::from_pool`].
pub fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    Ok(url.parse::<PgConnectOptions>().map_err(map_sql)?.options(SESSION_SETTINGS))
}

async fn select_one(pool: &PgPool) -> crate::errors::Result<()> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.health.ready(self.call(Reads, || select_one(&self.pool))).await
    }

    async fn queue_create(&self, queue: Queue, max_queues: usize) -> Result<Queue, StoreError> {
        self.call(Writes, || queues::create(&self.pool, queue.clone(), max_queues)).await
    }

    async fn queue_list(&self) -> Result<Vec<Queue>, StoreError> {
        self.call(Reads, || queues::list(&self.pool)).await
    }

    async fn queue_update(&self, name: &QueueName, patch: FlowPatch, now: Timestamp) -> Result<Queue, StoreError> {
        self.call(Writes, || queues::update(&self.pool, name, patch, now)).await
    }

    async fn queue_finished_counts(&self, name: &QueueName, cap: u32) -> Result<(u64, u64), StoreError> {
        self.call(Reads, || queues::finished_counts(&self.pool, name, cap)).await
    }

    async fn queue_delete(&self, name: &QueueName, force: bool) -> Result<(), StoreError> {
        self.call(Writes, || queues::delete(&self.pool, name, force)).await
    }

    async fn queue_stats(&self, name: &QueueName, now: Timestamp) -> Result<QueueStats, StoreError> {
        self.call(Reads, || queues::stats(&self.pool, name, now)).await
    }

    async fn tasks_create(
        &self,
        queue: &QueueName,
        specs: Vec<TaskSpec>,
        now: Timestamp,
    ) -> Result<CreatedTasks, StoreError> {
        self.call(Writes, || tasks::create(&self.pool, queue, specs.clone(), now)).await
    }

    async fn task_get(&self, id: TaskId) -> Result<Task, StoreError> {
        self.call(Reads, || tasks::get(&self.pool, id)).await
    }

    async fn task_list(&self, filter: &TaskFilter) -> Result<Page<Task, TaskId>, StoreError> {
        self.call(Reads, || tasks::list(&self.pool, filter)).await
    }

    async fn task_watch_result(&self, id: TaskId) -> Result<Task, StoreError> {
        self.call(Writes, || tasks::watch_result(&self.pool, id)).await
    }

    async fn task_cancel(&self, id: TaskId, now: Timestamp) -> Result<(), StoreError> {
        self.call(Writes, || tasks::cancel(&self.pool, id, now, &self.skipped)).await
    }

    async fn runs_claim(&self, queue: &QueueName, claim: &Claim, now: Timestamp) -> Result<Vec<TaskState>, StoreError> {
        self.health.check()?;
        let (pool, health) = (self.pool.clone(), self.health.clone());
        let lane = queue.clone();
        let skipped = self.skipped.clone();
        let call = runs::ClaimCall::new(claim, now);
        self.claims
            .call(queue.clone(), call, runs::ClaimCall::weight, move |calls| {
                let (pool, health, lane, skipped) = (pool.clone(), health.clone(), lane.clone(), skipped.clone());
                async move { retry::run(&health, Writes, || runs::claim(&pool, &lane, &calls, &skipped)).await }
            })
            .await
    }

    async fn queue_next_due(&self, queue: &QueueName) -> Result<Option<Timestamp>, StoreError> {
        self.health.check()?;
        let (pool, health) = (self.pool.clone(), self.health.clone());
        let lane = queue.clone();
        self.next_due
            .call(
                queue.clone(),
                (),
                |()| 1,
                move |calls| {
                    let (pool, health, lane) = (pool.clone(), health.clone(), lane.clone());
                    async move {
                        let due = retry::run(&health, Reads, || runs::next_due(&pool, &lane)).await?;
                        Ok(vec![due; calls.len()])
                    }
                },
            )
            .await
    }

    async fn run_list(&self, filter: &RunFilter) -> Result<Page<Run, RunId>, StoreError> {
        self.call(Reads, || runs::list(&self.pool, filter)).await
    }

    async fn runs_complete(
        &self,
        items: Vec<Completion>,
        now: Timestamp,
    ) -> Result<Vec<Result<(), ItemError>>, StoreError> {
        self.health.check()?;
        let (pool, health) = (self.pool.clone(), self.health.clone());
        let skipped = self.skipped.clone();
        let call = runs::CompleteCall::new(items, now);
        self.completions
            .call((), call, runs::CompleteCall::weight, move |calls| {
                let (pool, health, skipped) = (pool.clone(), health.clone(), skipped.clone());
                async move { retry::run(&health, Writes, || runs::complete(&pool, calls.clone(), &skipped)).await }
            })
            .await
    }

    async fn runs_complete_then_claim(
        &self,
        items: Vec<Completion>,
        queue: &QueueName,
        claim: &Claim,
        now: Timestamp,
    ) -> Result<CompletedThenClaimed, StoreError> {
        self.health.check()?;
        let (pool, health) = (self.pool.clone(), self.health.clone());
        let lane = queue.clone();
        let skipped = self.skipped.clone();
        let call = runs::HandoffCall::new(runs::CompleteCall::new(items, now), runs::ClaimCall::new(claim, now));
        self.handoffs
            .call(queue.clone(), call, runs::HandoffCall::weight, move |calls| {
                let (pool, health, lane, skipped) = (pool.clone(), health.clone(), lane.clone(), skipped.clone());
                async move {
                    retry::run(&health, Writes, || runs::complete_and_claim(&pool, &lane, calls.clone(), &skipped))
                        .await
                }
            })
            .await
    }

    async fn run_fail(&self, run: RunId, error: &str, now: Timestamp) -> Result<FailedRun, StoreError> {
        self.call(Writes, || runs::fail(&self.pool, run, error, now, &self.skipped)).await
    }

    async fn run_schedule(&self, run: RunId, run_at: Timestamp, now: Timestamp) -> Result<ScheduledRun, StoreError> {
        self.call(Writes, || runs::schedule(&self.pool, run, run_at, now)).await
    }

    async fn run_heartbeat(&self, run: RunId, extend_by: Duration, now: Timestamp) -> Result<Timestamp, StoreError> {
        self.call(Writes, || runs::heartbeat(&self.pool, run, extend_by, now)).await
    }

    async fn run_wait_for_event(&self, wait: &Wait, now: Timestamp) -> Result<WaitResponse, StoreError> {
        self.call(Writes, || events::wait(&self.pool, wait, now)).await
    }

    async fn run_wait_for_task(&self, wait: &Wait, child: TaskId, now: Timestamp) -> Result<WaitResponse, StoreError> {
        self.call(Writes, || events::wait_for_task(&self.pool, wait, child, now)).await
    }

    async fn event_emit(&self, name: &str, payload: Value, now: Timestamp) -> Result<Emitted, StoreError> {
        self.call(Writes, || events::emit(&self.pool, name, payload.clone(), now, &self.skipped)).await
    }

    async fn checkpoint_put(&self, write: CheckpointWrite, now: Timestamp) -> Result<Checkpoint, StoreError> {
        self.call(Writes, || checkpoints::put(&self.pool, write.clone(), now)).await
    }

    async fn checkpoint_get(&self, task: TaskId, step_name: &str) -> Result<Checkpoint, StoreError> {
        self.call(Reads, || checkpoints::get(&self.pool, task, step_name)).await
    }

    async fn checkpoint_list(&self, task: TaskId) -> Result<Vec<Checkpoint>, StoreError> {
        self.call(Reads, || checkpoints::list(&self.pool, task)).await
    }

    async fn checkpoint_list_of_tasks(&self, tasks: &[TaskId]) -> Result<Vec<Checkpoint>, StoreError> {
        self.call(Reads, || checkpoints::list_of_tasks(&self.pool, tasks)).await
    }

    async fn workflow_create(&self, run: WorkflowRun) -> Result<WorkflowRun, StoreError> {
        self.call(Writes, || workflows::create(&self.pool, run.clone())).await
    }

    async fn workflow_update(
        &self,
        id: WorkflowRunId,
        patch: WorkflowPatch,
        now: Timestamp,
    ) -> Result<WorkflowRun, StoreError> {
        self.call(Writes, || workflows::update(&self.pool, id, patch.clone(), now)).await
    }

    async fn workflow_get(&self, id: WorkflowRunId) -> Result<WorkflowWithTasks, StoreError> {
        self.call(Reads, || workflows::get(&self.pool, id)).await
    }

    async fn workflow_list(&self, filter: &WorkflowFilter) -> Result<Page<WorkflowRun, WorkflowRunId>, StoreError> {
        self.call(Reads, || workflows::list(&self.pool, filter)).await
    }

    async fn wait_outcomes(&self, task: TaskId) -> Result<Vec<(String, WaitOutcome)>, StoreError> {
        self.call(Reads, || events::outcomes(&self.pool, task)).await
    }

    async fn event_list(&self, filter: &EventFilter) -> Result<Page<Event, EventId>, StoreError> {
        self.call(Reads, || events::list(&self.pool, filter)).await
    }

    async fn task_retry(&self, id: TaskId, now: Timestamp) -> Result<RetriedTask, StoreError> {
        self.call(Writes, || tasks::retry(&self.pool, id, now)).await
    }

    async fn schedule_create(&self, schedule: Schedule) -> Result<Schedule, StoreError> {
        self.call(Writes, || schedules::create(&self.pool, schedule.clone())).await
    }

    async fn schedule_list(&self) -> Result<Vec<Schedule>, StoreError> {
        self.call(Reads, || schedules::list(&self.pool)).await
    }

    async fn schedule_get(&self, name: &ScheduleName) -> Result<Schedule, StoreError> {
        self.call(Reads, || schedules::get(&self.pool, name)).await
    }

    async fn schedule_update(
        &self,
        name: &ScheduleName,
        patch: SchedulePatch,
        now: Timestamp,
    ) -> Result<Schedule, StoreError> {
        self.call(Writes, || schedules::update(&self.pool, name, patch.clone(), now)).await
    }

    async fn schedule_delete(&self, name: &ScheduleName) -> Result<(), StoreError> {
        self.call(Writes, || schedules::delete(&self.pool, name)).await
    }

    async fn schedules_fire(&self, now: Timestamp, grace: Duration, limit: u32) -> Result<FiredSchedules, StoreError> {
        let mut fired = FiredSchedules::default();
        for name in self.call(Reads, || schedules::due(&self.pool, now, limit)).await? {
            match self.call(Writes, || schedules::fire_one(&self.pool, &name, now, grace)).await {
                Ok((ticks, wake)) => {
                    fired.ticks += ticks;
                    fired.wake.extend(wake);
                }
                Err(StoreError::Unavailable(e)) => return Err(StoreError::Unavailable(e)),
                // A schedule row that cannot be read or fired stops only itself.
                Err(err) => {
                    tracing::error!(schedule = %name, error = %err, "a schedule could not fire; the others go on");
                }
            }
        }
        fired.wake.sort();
        fired.wake.dedup();
        Ok(fired)
    }

    async fn claims_expire(&self, policy: &Policy, now: Timestamp, limit: u32) -> Result<ExpiredClaims, StoreError> {
        self.call(Writes, || maintenance::expire_claims(&self.pool, policy, now, limit, &self.skipped)).await
    }

    async fn sleepers_wake(&self, now: Timestamp, limit: u32) -> Result<SleepersWoken, StoreError> {
        self.call(Writes, || maintenance::wake_sleepers(&self.pool, now, limit, &self.skipped)).await
    }

    async fn timeouts_enforce(&self, now: Timestamp, limit: u32) -> Result<u64, StoreError> {
        self.call(Writes, || maintenance::enforce_timeouts(&self.pool, now, limit, &self.skipped)).await
    }

    async fn retention_delete(&self, now: Timestamp, limit: u32) -> Result<Cleanup, StoreError> {
        self.call(Writes, || maintenance::cleanup(&self.pool, now, limit, &self.skipped)).await
    }

    async fn queue_depths(&self, now: Timestamp) -> Result<Vec<QueueDepth>, StoreError> {
        self.call(Reads, || depths::depths(&self.pool, now)).await
    }

    fn pool_stats(&self) -> Option<PoolStats> {
        Some(depths::pool_stats(&self.pool))
    }

    fn rows_skipped(&self) -> u64 {
        self.skipped.total()
    }
}
