//! Tasks: create (single and batch), claim, list, get, cancel.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::checkpoints::Checkpoint;

/// The status of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TaskStatus {
    /// Not finished: some run of it is pending, claimed or sleeping.
    Pending,
    /// A run completed.
    Completed,
    /// Its runs failed `max_attempts` times, or its claims kept expiring.
    Failed,
    /// Canceled by a caller or a timeout.
    Canceled,
}

impl TaskStatus {
    /// The status as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }
}

/// How long to wait before the next run after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetryStrategy {
    /// Fixed or exponential.
    pub kind: RetryKind,
    /// Seconds, ≥ 0.
    pub base_seconds: f64,
    /// Growth per attempt for `exponential`, ≥ 1; the server defaults it to 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// Upper bound of one delay, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seconds: Option<f64>,
}

impl RetryStrategy {
    /// Always wait `base_seconds`.
    pub fn fixed(base_seconds: f64) -> Self {
        Self { kind: RetryKind::Fixed, base_seconds, factor: None, max_seconds: None }
    }

    /// Wait `base_seconds × factor^(attempt−1)`, capped by `max_seconds`.
    pub fn exponential(base_seconds: f64, factor: Option<f64>, max_seconds: Option<f64>) -> Self {
        Self { kind: RetryKind::Exponential, base_seconds, factor, max_seconds }
    }
}

/// The shape of a [`RetryStrategy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetryKind {
    /// The same delay every time.
    Fixed,
    /// A delay that grows by `factor` per attempt.
    Exponential,
}

/// The body of `POST /queues/{queue}/tasks`, and one item of a batch.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CreateTask {
    /// What the task is; workers dispatch on it. Required, non-empty.
    pub task_name: String,
    /// Any JSON the handler gets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
    /// String headers passed along with the task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Backoff between failed runs; the server waits 1 s without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_strategy: Option<RetryStrategy>,
    /// How many runs may fail before the task fails (≥ 1, default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Seconds: cancel the task if no run was claimed this long after creation (0 = none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_timeout: Option<f64>,
    /// Seconds: cancel the task if it has not completed this long after creation (0 = none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_timeout: Option<f64>,
    /// An existing workflow run the task belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_run_id: Option<Uuid>,
    /// (ext) Deduplicates within the queue; makes the create call safe to retry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// (ext) The first run becomes claimable then instead of now.
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub run_at: Option<OffsetDateTime>,
    /// (ext) The task that spawned this one; the server answers 404 when it
    /// does not exist. Canceling the parent does not cancel its children.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_task_id: Option<Uuid>,
    /// (ext) Higher is claimed first (-32768..=32767, default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i16>,
    /// (ext) Runs sharing this key are claimed at most the queue's
    /// `key_concurrency_limit` at a time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency_key: Option<String>,
}

impl CreateTask {
    /// A task named `task_name` with every option at its default.
    pub fn new(task_name: impl Into<String>) -> Self {
        Self { task_name: task_name.into(), ..Self::default() }
    }

    /// Sets `params`.
    pub fn params(mut self, params: Value) -> Self {
        self.params = Some(params);
        self
    }

    /// Adds one header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.get_or_insert_with(BTreeMap::new).insert(name.into(), value.into());
        self
    }

    /// Sets `retry_strategy`.
    pub fn retry_strategy(mut self, strategy: RetryStrategy) -> Self {
        self.retry_strategy = Some(strategy);
        self
    }

    /// Sets `max_attempts`.
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = Some(max_attempts);
        self
    }

    /// Sets `start_timeout` in seconds.
    pub fn start_timeout(mut self, seconds: f64) -> Self {
        self.start_timeout = Some(seconds);
        self
    }

    /// Sets `execution_timeout` in seconds.
    pub fn execution_timeout(mut self, seconds: f64) -> Self {
        self.execution_timeout = Some(seconds);
        self
    }

    /// Sets `workflow_run_id`.
    pub fn workflow_run_id(mut self, id: Uuid) -> Self {
        self.workflow_run_id = Some(id);
        self
    }

    /// Sets `idempotency_key`.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Sets `run_at`.
    pub fn run_at(mut self, at: OffsetDateTime) -> Self {
        self.run_at = Some(at);
        self
    }

    /// Sets `parent_task_id`.
    pub fn parent_task_id(mut self, parent: Uuid) -> Self {
        self.parent_task_id = Some(parent);
        self
    }

    /// Sets `priority`.
    pub fn priority(mut self, priority: i16) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Sets `concurrency_key`.
    pub fn concurrency_key(mut self, key: impl Into<String>) -> Self {
        self.concurrency_key = Some(key.into());
        self
    }
}

/// The ids of a created (or, with an idempotency key, found) task.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct TaskCreated {
    /// The task.
    pub task_id: Uuid,
    /// Its first run.
    pub run_id: Uuid,
    /// The workflow run it belongs to, if any.
    #[serde(default)]
    pub workflow_run_id: Option<Uuid>,
    /// (ext) True when the idempotency key matched an existing task.
    #[serde(default)]
    pub deduplicated: bool,
}

/// The body of `POST /queues/{queue}/tasks/claim`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClaimRequest {
    /// At most this many runs, 1–1000.
    pub limit: u32,
    /// Seconds the claim lasts, ≥ 1.
    pub claim_timeout: u64,
    /// Wait up to this many seconds (1–60) when nothing is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_poll_seconds: Option<u64>,
    /// (ext) Recorded on the claimed runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    /// (ext) Each claimed task carries all its checkpoints
    /// ([`ClaimedTask::checkpoints`]), so a resumed run needs no request to
    /// load them. Servers that do not know the field ignore it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_checkpoints: Option<bool>,
}

impl ClaimRequest {
    /// Claims up to `limit` runs for `claim_timeout` seconds, without waiting.
    pub fn new(limit: u32, claim_timeout: u64) -> Self {
        Self { limit, claim_timeout, long_poll_seconds: None, worker_id: None, include_checkpoints: None }
    }

    /// Asks for each claimed task's checkpoints in the answer.
    pub fn include_checkpoints(mut self, include: bool) -> Self {
        self.include_checkpoints = include.then_some(true);
        self
    }

    /// Sets `long_poll_seconds`.
    pub fn long_poll_seconds(mut self, seconds: u64) -> Self {
        self.long_poll_seconds = Some(seconds);
        self
    }

    /// Sets `worker_id`.
    pub fn worker_id(mut self, worker_id: impl Into<String>) -> Self {
        self.worker_id = Some(worker_id.into());
        self
    }
}

/// A run handed to a worker, with what it needs to do the work.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ClaimedTask {
    /// The claimed run: the fencing token of every later call about it.
    pub run_id: Uuid,
    /// Its task.
    pub task_id: Uuid,
    /// 1 for the first run, then one more per retry.
    pub attempt: u32,
    /// The task's name.
    pub task_name: String,
    /// The task's params.
    #[serde(default)]
    pub params: Value,
    /// The task's headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The task's retry strategy.
    #[serde(default)]
    pub retry_strategy: Option<RetryStrategy>,
    /// The task's `max_attempts`.
    pub max_attempts: u32,
    /// (ext) The queue it came from.
    #[serde(default)]
    pub queue_name: Option<String>,
    /// (ext) When the claim ends unless extended.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub claim_expires_at: Option<OffsetDateTime>,
    /// (ext) The task's workflow run.
    #[serde(default)]
    pub workflow_run_id: Option<Uuid>,
    /// (ext) Its priority (0 from servers without priorities).
    #[serde(default)]
    pub priority: i16,
    /// (ext) Its concurrency key.
    #[serde(default)]
    pub concurrency_key: Option<String>,
    /// (ext) All the task's checkpoints, when the claim asked for them with
    /// [`ClaimRequest::include_checkpoints`]; `None` when it did not, or the
    /// server does not know the option.
    #[serde(default)]
    pub checkpoints: Option<Vec<Checkpoint>>,
}

/// A task in a listing.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct TaskSummary {
    /// The task id.
    pub id: Uuid,
    /// Its name.
    pub task_name: String,
    /// Its status.
    pub status: TaskStatus,
    /// Its queue.
    pub queue_name: String,
    /// Its `max_attempts`.
    pub max_attempts: u32,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it finished.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
}

/// (ext) `GET /tasks/{id}`: the whole task.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Task {
    /// The task id.
    pub id: Uuid,
    /// Its name.
    pub task_name: String,
    /// Its status.
    pub status: TaskStatus,
    /// Its queue.
    pub queue_name: String,
    /// Its `max_attempts`.
    pub max_attempts: u32,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it finished.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    /// Its params.
    #[serde(default)]
    pub params: Value,
    /// Its headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Its retry strategy.
    #[serde(default)]
    pub retry_strategy: Option<RetryStrategy>,
    /// Runs created so far.
    pub attempts: u32,
    /// The result of the run that completed it.
    #[serde(default)]
    pub result: Option<Value>,
    /// The error of its latest failed run.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Its workflow run.
    #[serde(default)]
    pub workflow_run_id: Option<Uuid>,
    /// Seconds; `None` when none.
    #[serde(default)]
    pub start_timeout: Option<f64>,
    /// Seconds; `None` when none.
    #[serde(default)]
    pub execution_timeout: Option<f64>,
    /// (ext) The task that spawned it, if any.
    #[serde(default)]
    pub parent_task_id: Option<Uuid>,
    /// (ext) Its priority (0 from servers without priorities).
    #[serde(default)]
    pub priority: i16,
    /// (ext) Its concurrency key.
    #[serde(default)]
    pub concurrency_key: Option<String>,
}

/// (ext) The answer of `POST /tasks/{id}/cancel`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct TaskCanceled {
    /// The task.
    pub task_id: Uuid,
    /// Always [`TaskStatus::Canceled`].
    pub status: TaskStatus,
}

/// (ext) The answer of `POST /tasks/{id}/retry`: the retried task's new run.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct TaskRetried {
    /// The task.
    pub task_id: Uuid,
    /// Its new run, due now.
    pub run_id: Uuid,
    /// The new run's attempt.
    pub attempt: u32,
    /// Always [`TaskStatus::Pending`].
    pub status: TaskStatus,
}

/// Filters and paging of `GET /tasks`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListTasks {
    /// Only tasks of this queue.
    pub queue_name: Option<String>,
    /// Only tasks in this status.
    pub status: Option<TaskStatus>,
    /// Only tasks with this name.
    pub task_name: Option<String>,
    /// (ext) Only tasks created at this time or later.
    pub created_after: Option<OffsetDateTime>,
    /// (ext) Only tasks created before this time.
    pub created_before: Option<OffsetDateTime>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–1000 (server default 50).
    pub limit: Option<u32>,
}

impl ListTasks {
    /// Only tasks of `queue_name`.
    pub fn queue(mut self, queue_name: impl Into<String>) -> Self {
        self.queue_name = Some(queue_name.into());
        self
    }

    /// Only tasks in `status`.
    pub fn status(mut self, status: TaskStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only tasks named `task_name`.
    pub fn task_name(mut self, task_name: impl Into<String>) -> Self {
        self.task_name = Some(task_name.into());
        self
    }

    /// Pages of `limit` tasks.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub(crate) fn query(&self) -> [(&'static str, Option<String>); 7] {
        let rfc3339 =
            |t: Option<OffsetDateTime>| t.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok());
        [
            ("queue_name", self.queue_name.clone()),
            ("status", self.status.map(|s| s.as_str().to_owned())),
            ("task_name", self.task_name.clone()),
            ("created_after", rfc3339(self.created_after)),
            ("created_before", rfc3339(self.created_before)),
            ("cursor", self.cursor.clone()),
            ("limit", self.limit.map(|l| l.to_string())),
        ]
    }
}

/// One page of `GET /tasks`, newest first.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct TaskPage {
    /// The tasks.
    pub tasks: Vec<TaskSummary>,
    /// Pass as `cursor` for the next page; `None` on the last one.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct BatchCreate<'a> {
    pub(crate) tasks: &'a [CreateTask],
}

#[derive(Deserialize)]
pub(crate) struct BatchCreated {
    pub(crate) tasks: Vec<TaskCreated>,
}

#[derive(Deserialize)]
pub(crate) struct ClaimResponse {
    pub(crate) tasks: Vec<ClaimedTask>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn create_body_carries_only_what_is_set() {
        let body = CreateTask::new("send").params(json!({"to": "a"})).header("h", "v").max_attempts(3);
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"task_name": "send", "params": {"to": "a"}, "headers": {"h": "v"}, "max_attempts": 3})
        );
        let body = CreateTask::new("x")
            .retry_strategy(RetryStrategy::exponential(1.0, Some(3.0), None))
            .idempotency_key("k")
            .run_at(datetime!(2030-01-02 03:04:05 UTC));
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({
                "task_name": "x",
                "retry_strategy": {"kind": "exponential", "base_seconds": 1.0, "factor": 3.0},
                "idempotency_key": "k",
                "run_at": "2030-01-02T03:04:05Z"
            })
        );
    }

    #[test]
    fn claimed_task_decodes_with_and_without_extensions() {
        let run = "0192b9d4-5e3a-7f00-8000-000000000001";
        let task = "0192b9d4-5e3a-7f00-8000-000000000002";
        let plain: ClaimedTask = serde_json::from_value(json!({
            "run_id": run, "task_id": task, "attempt": 1, "task_name": "t", "params": null,
            "headers": {}, "retry_strategy": null, "max_attempts": 1
        }))
        .unwrap();
        assert_eq!((plain.queue_name, plain.claim_expires_at), (None, None));
        let ext: ClaimedTask = serde_json::from_value(json!({
            "run_id": run, "task_id": task, "attempt": 2, "task_name": "t", "params": {"a": 1},
            "headers": {"h": "v"}, "retry_strategy": {"kind": "fixed", "base_seconds": 5}, "max_attempts": 3,
            "queue_name": "q", "claim_expires_at": "2030-01-01T00:00:30.5+00:00", "workflow_run_id": null,
            "something_new": [1, 2]
        }))
        .unwrap();
        assert_eq!(ext.retry_strategy, Some(RetryStrategy::fixed(5.0)));
        assert_eq!(ext.claim_expires_at, Some(datetime!(2030-01-01 00:00:30.5 UTC)));
        assert_eq!(ext.queue_name.as_deref(), Some("q"));
    }

    #[test]
    fn list_query_spells_status_in_lowercase() {
        let filter = ListTasks {
            created_after: Some(datetime!(2030-01-01 00:00:00.5 UTC)),
            ..ListTasks::default().queue("q").status(TaskStatus::Canceled).limit(10)
        };
        let query = filter.query();
        let value = |name: &str| query.iter().find(|(n, _)| *n == name).and_then(|(_, v)| v.clone());
        assert_eq!(value("status").as_deref(), Some("canceled"));
        assert_eq!(value("limit").as_deref(), Some("10"));
        assert_eq!(value("created_after").as_deref(), Some("2030-01-01T00:00:00.5Z"));
        assert_eq!((value("cursor"), value("created_before")), (None, None));
    }
}
