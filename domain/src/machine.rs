//! The task/run state machine. Every function takes the current state, a
//! command and `now`; it either rejects without touching anything or applies
//! the transition and reports its effects. Stores lock the rows, call these,
//! and write back what changed.

use serde_json::Value;
use time::Duration;

use crate::clock::{self, Timestamp};
use crate::command::{CheckpointWrite, Claim, Wait};
use crate::error::Rejection;
use crate::event::{Checkpoint, Event, WaitOutcome, WaitResponse};
use crate::retry;
use crate::task::{CLAIM_EXPIRED, EventWait, Run, RunStatus, Task, TaskState, TaskStatus};

/// Rules a deployment may tune.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Claim expiries in a row after which the task fails.
    pub max_consecutive_expiries: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self { max_consecutive_expiries: crate::task::DEFAULT_MAX_CONSECUTIVE_EXPIRIES }
    }
}

/// Hands the run to a worker. Only a due pending run of an unfinished task,
/// not held by its concurrency key, can be claimed.
pub fn claim(state: &mut TaskState, claim: &Claim, now: Timestamp) -> Result<(), Rejection> {
    let TaskState { task, run } = state;
    if !run.is_claimable(now) || task.status.is_finished() {
        return Err(not_claimed(run));
    }
    run.status = RunStatus::Claimed;
    run.claimed_at = Some(now);
    run.claim_expires_at = Some(clock::add(now, claim.claim_timeout));
    run.worker_id.clone_from(&claim.worker_id);
    task.first_claimed_at.get_or_insert(now);
    Ok(())
}

/// Fencing: the run must be claimed, be the task's current run, and its
/// claim must not have expired. Anything else is a stale or confused caller.
pub fn ensure_claim_held(state: &TaskState, now: Timestamp) -> Result<(), Rejection> {
    let TaskState { task, run } = state;
    match run.status {
        RunStatus::Claimed if run.claim_held(now) && task.current_run == run.id => Ok(()),
        RunStatus::Claimed => Err(Rejection::ClaimLost { run: run.id }),
        RunStatus::Failed if run.error.as_deref() == Some(CLAIM_EXPIRED) => Err(Rejection::ClaimLost { run: run.id }),
        RunStatus::Pending | RunStatus::Sleeping => Err(not_claimed(run)),
        RunStatus::Completed | RunStatus::Failed | RunStatus::Canceled => {
            Err(Rejection::RunFinished { run: run.id, status: run.status.as_str() })
        }
    }
}

pub fn complete(state: &mut TaskState, result: Option<Value>, now: Timestamp) -> Result<(), Rejection> {
    ensure_claim_held(state, now)?;
    let TaskState { task, run } = state;
    finish_run(run, RunStatus::Completed, now);
    run.result.clone_from(&result);
    task.status = TaskStatus::Completed;
    task.result = result;
    task.completed_at = Some(now);
    task.consecutive_expiries = 0;
    Ok(())
}

/// What a worker-reported failure led to.
#[derive(Clone, Debug, PartialEq)]
pub enum FailOutcome {
    /// A new run was created, claimable at its `available_at`.
    Retry(Box<Run>),
    /// `max_attempts` failures: the task failed.
    TaskFailed,
}

pub fn fail(state: &mut TaskState, error: &str, now: Timestamp) -> Result<FailOutcome, Rejection> {
    ensure_claim_held(state, now)?;
    let TaskState { task, run } = state;
    finish_run(run, RunStatus::Failed, now);
    run.error = Some(error.to_owned());
    task.failures += 1;
    task.consecutive_expiries = 0;
    task.last_error = Some(error.to_owned());
    if task.failures < task.spec.max_attempts {
        let delay = retry::backoff(task.spec.retry_strategy.as_ref(), run.attempt);
        Ok(FailOutcome::Retry(Box::new(next_run(task, run, clock::add(now, delay), now))))
    } else {
        task.status = TaskStatus::Failed;
        task.completed_at = Some(now);
        Ok(FailOutcome::TaskFailed)
    }
}

/// Ends a run whose claim ran out. The new run is claimable at once and does
/// not count against `max_attempts`; too many expiries in a row fail the task.
pub fn expire_claim(state: &mut TaskState, policy: &Policy, now: Timestamp) -> Result<FailOutcome, Rejection> {
    let TaskState { task, run } = state;
    let expired = run.status == RunStatus::Claimed && run.claim_expires_at.is_some_and(|end| end <= now);
    if !expired {
        return Err(not_claimed(run));
    }
    finish_run(run, RunStatus::Failed, now);
    run.error = Some(CLAIM_EXPIRED.to_owned());
    task.consecutive_expiries += 1;
    if task.consecutive_expiries >= policy.max_consecutive_expiries {
        task.status = TaskStatus::Failed;
        task.completed_at = Some(now);
        task.last_error = Some(format!("{CLAIM_EXPIRED} {} times in a row", task.consecutive_expiries));
        Ok(FailOutcome::TaskFailed)
    } else {
        task.last_error = Some(CLAIM_EXPIRED.to_owned());
        // The worker vanished, not the work: the new run keeps the place in
        // line of the one that expired (due when it was), so it is handed
        // out ahead of every run that became due since, however long the
        // backlog, instead of waiting behind it a second time.
        Ok(FailOutcome::Retry(Box::new(next_run(task, run, run.available_at, now))))
    }
}

/// Extends a held claim to `now + extend_by`; returns the new end.
pub fn heartbeat(state: &mut TaskState, extend_by: Duration, now: Timestamp) -> Result<Timestamp, Rejection> {
    ensure_claim_held(state, now)?;
    let end = clock::add(now, extend_by);
    state.run.claim_expires_at = Some(end);
    Ok(end)
}

/// Defers a pending run, or puts a claimed run to durable sleep until
/// `run_at` (same run, same attempt). Returns whether the run is claimable
/// right now, which callers use to wake long-polling claimers.
pub fn schedule(state: &mut TaskState, run_at: Timestamp, now: Timestamp) -> Result<bool, Rejection> {
    match state.run.status {
        RunStatus::Pending | RunStatus::Sleeping if !state.task.status.is_finished() => {
            state.run.available_at = run_at;
            if state.run.status == RunStatus::Sleeping && run_at <= now {
                wake(state, now);
            }
        }
        RunStatus::Claimed => {
            ensure_claim_held(state, now)?;
            let TaskState { task, run } = state;
            release_claim(run);
            if run_at <= now {
                run.make_pending(run_at);
            } else {
                run.status = RunStatus::Sleeping;
                run.available_at = run_at;
            }
            task.consecutive_expiries = 0;
        }
        _ => ensure_claim_held(state, now)?,
    }
    Ok(state.run.is_claimable(now))
}

/// What a checkpoint write did: the checkpoint to upsert, and whether the
/// owner's claim was extended (its run must then be written too).
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointWritten {
    pub checkpoint: Checkpoint,
    pub claim_extended: bool,
}

/// Lets `owner` (the write's owner run with a task, `None` if no such run
/// exists) write a checkpoint of `write.task_id`: only a run of that task
/// that holds its claim may, and it may extend the claim on the way.
pub fn write_checkpoint(
    owner: Option<&mut TaskState>,
    write: CheckpointWrite,
    now: Timestamp,
) -> Result<CheckpointWritten, Rejection> {
    // An unknown owner run cannot hold a claim: a conflict like any other
    // stale owner, not a missing resource.
    let owner = owner.ok_or(Rejection::NotClaimed { run: write.owner_run, status: "unknown" })?;
    if owner.run.task_id != write.task_id {
        return Err(Rejection::RunNotOfTask { run: write.owner_run, task: write.task_id });
    }
    ensure_claim_held(owner, now)?;
    if let Some(extend_by) = write.extend_claim_by {
        heartbeat(owner, extend_by, now)?;
    }
    let checkpoint = Checkpoint {
        task_id: write.task_id,
        step_name: write.step_name,
        state: write.state,
        owner_run: write.owner_run,
        updated_at: now,
    };
    Ok(CheckpointWritten { checkpoint, claim_extended: write.extend_claim_by.is_some() })
}

/// What a wait-for-event call did: the answer, and an outcome to record for
/// `(task, step)` when it is new.
#[derive(Clone, Debug, PartialEq)]
pub struct WaitEffect {
    pub response: WaitResponse,
    pub record: Option<WaitOutcome>,
}

/// Wait-for-event, given the memoized outcome of the step (if any) and the
/// latest event of that name (if any).
pub fn wait_for_event(
    state: &mut TaskState,
    wait: &Wait,
    memo: Option<&WaitOutcome>,
    latest: Option<&Event>,
    now: Timestamp,
) -> Result<WaitEffect, Rejection> {
    if state.run.task_id != wait.task_id {
        return Err(Rejection::RunNotOfTask { run: state.run.id, task: wait.task_id });
    }
    ensure_claim_held(state, now)?;
    if let Some(outcome) = memo {
        return Ok(WaitEffect { response: WaitResponse::Outcome(outcome.clone()), record: None });
    }
    if let Some(event) = latest {
        let outcome = WaitOutcome::Resolved { payload: event.payload.clone() };
        return Ok(WaitEffect { response: WaitResponse::Outcome(outcome.clone()), record: Some(outcome) });
    }
    let TaskState { task, run } = state;
    release_claim(run);
    run.status = RunStatus::Sleeping;
    run.available_at = clock::add(now, wait.timeout);
    run.wait = Some(EventWait { event_name: wait.event_name.clone(), step_name: wait.step_name.clone() });
    task.consecutive_expiries = 0;
    Ok(WaitEffect { response: WaitResponse::Sleeping, record: None })
}

/// Delivers an emitted event to a run sleeping on its name: records the
/// payload as the step's outcome and makes the run claimable at once.
/// Returns the step and outcome to record, or `None` if the run does not wait
/// for this event.
pub fn deliver(state: &mut TaskState, event: &Event, now: Timestamp) -> Option<(String, WaitOutcome)> {
    let waits_for_it =
        state.run.status == RunStatus::Sleeping && state.run.wait.as_ref().is_some_and(|w| w.event_name == event.name);
    if !waits_for_it {
        return None;
    }
    let step = wake(state, now)?;
    Some((step, WaitOutcome::Resolved { payload: event.payload.clone() }))
}

/// What waking a sleeping run whose time came did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Woken {
    /// A durable sleep ended: nothing to record.
    SleepEnded,
    /// An event wait timed out: its step's outcome is [`WaitOutcome::Timeout`],
    /// recorded so the re-claimed run replays it.
    WaitTimedOut { step_name: String },
}

impl Woken {
    /// The outcome the store records for the run's task, if any.
    pub fn outcome_to_record(self) -> Option<(String, WaitOutcome)> {
        match self {
            Self::SleepEnded => None,
            Self::WaitTimedOut { step_name } => Some((step_name, WaitOutcome::Timeout)),
        }
    }
}

/// Wakes a sleeping run whose time has come: a durable sleep ends, an event
/// wait times out. `None` when the run is not sleeping or not yet due.
pub fn wake_due(state: &mut TaskState, now: Timestamp) -> Option<Woken> {
    if state.run.status != RunStatus::Sleeping || state.run.available_at > now {
        return None;
    }
    Some(match wake(state, now) {
        Some(step_name) => Woken::WaitTimedOut { step_name },
        None => Woken::SleepEnded,
    })
}

fn wake(state: &mut TaskState, now: Timestamp) -> Option<String> {
    let run = &mut state.run;
    run.make_pending(now);
    run.wait.take().map(|w| w.step_name)
}

/// Cancels an unfinished task and its live run; `reason` is recorded as the
/// task's last error (timeouts use it).
pub fn cancel(state: &mut TaskState, reason: Option<&str>, now: Timestamp) -> Result<(), Rejection> {
    let TaskState { task, run } = state;
    if task.status.is_finished() {
        return Err(Rejection::AlreadyFinished { task: task.id, status: task.status.as_str() });
    }
    task.status = TaskStatus::Canceled;
    task.completed_at = Some(now);
    if let Some(reason) = reason {
        task.last_error = Some(reason.to_owned());
    }
    if !run.status.is_finished() {
        finish_run(run, RunStatus::Canceled, now);
        run.error = reason.map(str::to_owned);
    }
    Ok(())
}

/// Retries a failed or canceled task **(ext)**, as an operator does: a new
/// run (the next attempt) due now, and the task pending again with its
/// whole failure budget (`max_attempts` more failures, a fresh count of
/// claim expiries). Its last error stays until a run ends otherwise. A
/// task past its start or execution timeout (both count from creation)
/// would be canceled again by the next sweep, so it is refused instead.
pub fn retry(state: &mut TaskState, now: Timestamp) -> Result<Run, Rejection> {
    let TaskState { task, run } = state;
    if !matches!(task.status, TaskStatus::Failed | TaskStatus::Canceled) {
        return Err(Rejection::NotRetryable { task: task.id, status: task.status.as_str() });
    }
    let mut reopened = task.clone();
    reopened.status = TaskStatus::Pending;
    reopened.completed_at = None;
    if overdue(&reopened, now).is_some() {
        return Err(Rejection::PastDeadline { task: task.id });
    }
    *task = reopened;
    task.failures = 0;
    task.consecutive_expiries = 0;
    task.result = None;
    Ok(next_run(task, run, now, now))
}

pub const START_TIMEOUT: &str = "start timeout exceeded";
pub const EXECUTION_TIMEOUT: &str = "execution timeout exceeded";

/// Which timeout, if any, requires canceling this task at `now`.
pub fn overdue(task: &Task, now: Timestamp) -> Option<&'static str> {
    if task.status.is_finished() {
        return None;
    }
    let passed = |limit: Option<Duration>| limit.is_some_and(|d| clock::add(task.created_at, d) <= now);
    if task.first_claimed_at.is_none() && passed(task.spec.start_timeout) {
        Some(START_TIMEOUT)
    } else if passed(task.spec.execution_timeout) {
        Some(EXECUTION_TIMEOUT)
    } else {
        None
    }
}

/// The earliest instant at which [`overdue`] can become true, for indexing:
/// `None` once the task is finished.
pub fn deadline(task: &Task) -> Option<Timestamp> {
    if task.status.is_finished() {
        return None;
    }
    let start = task.spec.start_timeout.filter(|_| task.first_claimed_at.is_none());
    [start, task.spec.execution_timeout].into_iter().flatten().map(|d| clock::add(task.created_at, d)).min()
}

/// Whether a finished task is old enough for retention to delete it.
pub fn retention_due(task: &Task, task_ttl: Option<Duration>, now: Timestamp) -> bool {
    match (task.status.is_finished(), task.completed_at, task_ttl) {
        (true, Some(done), Some(ttl)) => clock::add(done, ttl) <= now,
        _ => false,
    }
}

fn next_run(task: &mut Task, previous: &Run, available_at: Timestamp, now: Timestamp) -> Run {
    let run = Run::pending(task, previous.attempt + 1, available_at, now);
    task.attempts = run.attempt;
    task.current_run = run.id;
    run
}

fn finish_run(run: &mut Run, status: RunStatus, now: Timestamp) {
    run.status = status;
    // Only a pending run is ever held: stores index held runs as pending ones.
    run.held = false;
    run.completed_at = Some(now);
    run.claim_expires_at = None;
    run.wait = None;
}

fn release_claim(run: &mut Run) {
    run.claimed_at = None;
    run.claim_expires_at = None;
    run.worker_id = None;
}

fn not_claimed(run: &Run) -> Rejection {
    if run.status.is_finished() {
        Rejection::RunFinished { run: run.id, status: run.status.as_str() }
    } else {
        Rejection::NotClaimed { run: run.id, status: run.status.as_str() }
    }
}
