//! Tasks (the logical unit of work) and runs (attempts at it).

use std::collections::BTreeMap;

use serde_json::Value;
use time::Duration;

use crate::clock::Timestamp;
use crate::ids::{RunId, TaskId, WorkflowRunId};
use crate::queue::QueueName;
use crate::retry::RetryStrategy;

/// Default number of claim expiries in a row after which a task fails.
pub const DEFAULT_MAX_CONSECUTIVE_EXPIRIES: u32 = 10;
/// The error recorded on a run whose claim expired.
pub const CLAIM_EXPIRED: &str = "claim expired";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    /// Not finished: its current run is pending, claimed or sleeping.
    Pending,
    Completed,
    Failed,
    Canceled,
}

impl TaskStatus {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Completed, Self::Failed, Self::Canceled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn is_finished(self) -> bool {
        self != Self::Pending
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Pending,
    Claimed,
    Sleeping,
    Completed,
    Failed,
    Canceled,
}

impl RunStatus {
    pub const ALL: [Self; 6] =
        [Self::Pending, Self::Claimed, Self::Sleeping, Self::Completed, Self::Failed, Self::Canceled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Claimed => "claimed",
            Self::Sleeping => "sleeping",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Canceled)
    }
}

/// What a task was created with.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSpec {
    pub task_name: String,
    pub params: Value,
    pub headers: BTreeMap<String, String>,
    pub retry_strategy: Option<RetryStrategy>,
    pub max_attempts: u32,
    /// Cancel the task if no run was claimed this long after creation.
    pub start_timeout: Option<Duration>,
    /// Cancel the task if it has not completed this long after creation.
    pub execution_timeout: Option<Duration>,
    pub workflow_run_id: Option<WorkflowRunId>,
    /// The task that spawned this one, if any (it existed at creation).
    pub parent_task_id: Option<TaskId>,
    pub idempotency_key: Option<String>,
    /// When the first run becomes claimable; `None` = at creation.
    pub run_at: Option<Timestamp>,
    /// Higher is claimed first (`flow`).
    pub priority: i16,
    /// Runs sharing a key are limited by the queue's `key_concurrency_limit`.
    pub concurrency_key: Option<String>,
}

impl TaskSpec {
    /// A task named `task_name` with everything else at its default: null
    /// params, no headers, one attempt, no timeouts, due at creation.
    pub fn named(task_name: impl Into<String>) -> Self {
        Self {
            task_name: task_name.into(),
            params: Value::Null,
            headers: BTreeMap::new(),
            retry_strategy: None,
            max_attempts: 1,
            start_timeout: None,
            execution_timeout: None,
            workflow_run_id: None,
            parent_task_id: None,
            idempotency_key: None,
            run_at: None,
            priority: crate::flow::DEFAULT_PRIORITY,
            concurrency_key: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub id: TaskId,
    pub queue: QueueName,
    pub spec: TaskSpec,
    pub status: TaskStatus,
    /// Runs created so far; equals the attempt number of the current run.
    pub attempts: u32,
    /// Runs that ended in a failure reported by a worker.
    pub failures: u32,
    /// Claim expiries since the last run that ended any other way.
    pub consecutive_expiries: u32,
    /// The newest run: the only one that may be live.
    pub current_run: RunId,
    pub result: Option<Value>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub first_claimed_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    /// Someone waits for this task's result (`GET /tasks/{id}/result`):
    /// the transaction that ends it signals its queue (`child::queues_to_signal`).
    pub result_watched: bool,
}

/// The event a sleeping run waits for, and the step whose outcome it records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventWait {
    pub event_name: String,
    pub step_name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub id: RunId,
    pub task_id: TaskId,
    pub queue: QueueName,
    pub attempt: u32,
    pub status: RunStatus,
    /// Pending: when it becomes claimable. Sleeping: when it wakes.
    pub available_at: Timestamp,
    pub claimed_at: Option<Timestamp>,
    pub claim_expires_at: Option<Timestamp>,
    pub worker_id: Option<String>,
    /// Set while sleeping on an event.
    pub wait: Option<EventWait>,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    /// The task's priority and concurrency key, which claims order and
    /// limit runs by.
    pub priority: i16,
    pub concurrency_key: Option<String>,
    /// Pending but kept from claims by its key's limit (`flow::admit`).
    /// Never set on a run in any other state, so stores can index held
    /// runs without their status.
    pub held: bool,
}

impl Run {
    /// A pending run that becomes claimable at `available_at`.
    pub fn pending(task: &Task, attempt: u32, available_at: Timestamp, now: Timestamp) -> Self {
        Self {
            id: RunId::new(),
            task_id: task.id,
            queue: task.queue.clone(),
            attempt,
            status: RunStatus::Pending,
            available_at,
            claimed_at: None,
            claim_expires_at: None,
            worker_id: None,
            wait: None,
            result: None,
            error: None,
            created_at: now,
            completed_at: None,
            priority: task.spec.priority,
            concurrency_key: task.spec.concurrency_key.clone(),
            held: task.spec.concurrency_key.is_some(),
        }
    }

    /// Puts the run back among the pending ones, due at `available_at`. A
    /// keyed run comes back held: admission decides whether it may run.
    pub fn make_pending(&mut self, available_at: Timestamp) {
        self.status = RunStatus::Pending;
        self.available_at = available_at;
        self.held = self.concurrency_key.is_some();
    }

    /// Whether a claim at `now` may take this run: pending and due. The one
    /// statement of claimability outside SQL `WHERE` clauses; whether a
    /// store must wake long-polling claimers follows from it.
    pub fn is_claimable(&self, now: Timestamp) -> bool {
        self.status == RunStatus::Pending && !self.held && self.available_at <= now
    }

    /// Whether this run is claimed and its claim is still held at `now`.
    pub fn claim_held(&self, now: Timestamp) -> bool {
        self.status == RunStatus::Claimed && self.claim_expires_at.is_some_and(|end| end > now)
    }
}

/// A task together with the run a command addresses (not always the newest).
#[derive(Clone, Debug, PartialEq)]
pub struct TaskState {
    pub task: Task,
    pub run: Run,
}

/// A task as it is created: its record and its first run.
pub fn create(queue: QueueName, spec: TaskSpec, now: Timestamp) -> TaskState {
    let available_at = spec.run_at.unwrap_or(now);
    let mut task = Task {
        id: TaskId::new(),
        queue,
        spec,
        status: TaskStatus::Pending,
        attempts: 1,
        failures: 0,
        consecutive_expiries: 0,
        current_run: RunId::new(),
        result: None,
        last_error: None,
        created_at: now,
        first_claimed_at: None,
        completed_at: None,
        result_watched: false,
    };
    let run = Run::pending(&task, 1, available_at, now);
    task.current_run = run.id;
    TaskState { task, run }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_run_is_claimable_once_due_and_only_while_pending() {
        let now = datetime!(2026-12-01 10:00:00 UTC);
        let spec = TaskSpec { run_at: Some(now + Duration::seconds(1)), ..TaskSpec::named("t") };
        let mut run = create(QueueName::parse("queue", "q").unwrap(), spec, now).run;
        assert!(!run.is_claimable(now));
        assert!(run.is_claimable(now + Duration::seconds(1)));
        for status in RunStatus::ALL.into_iter().filter(|s| *s != RunStatus::Pending) {
            run.status = status;
            assert!(!run.is_claimable(now + Duration::seconds(1)), "{status:?}");
        }
    }
}
