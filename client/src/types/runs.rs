//! Runs: list, complete (single and batch), fail, schedule, wait-for-event, heartbeat.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Error, ErrorBody};

/// The status of a run (one attempt at a task).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RunStatus {
    /// Waiting to be claimed, now or at a later time.
    Pending,
    /// Held by a worker.
    Claimed,
    /// Gave up its claim until a time or an event.
    Sleeping,
    /// Finished with a result.
    Completed,
    /// Finished with an error (or its claim expired).
    Failed,
    /// (ext) Ended because its task was canceled.
    Canceled,
}

impl RunStatus {
    /// The status as the API spells it.
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
}

/// A run in a listing.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct RunSummary {
    /// The run id.
    pub id: Uuid,
    /// Its task.
    pub task_id: Uuid,
    /// 1 for the first run of the task.
    pub attempt: u32,
    /// Its status.
    pub status: RunStatus,
    /// The error it failed with.
    #[serde(default)]
    pub error: Option<String>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it finished.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
}

/// Filters and paging of `GET /runs`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListRuns {
    /// Only runs of this task.
    pub task_id: Option<Uuid>,
    /// Only runs in this status.
    pub status: Option<RunStatus>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–1000 (server default 50).
    pub limit: Option<u32>,
}

impl ListRuns {
    /// Only runs of `task_id`.
    pub fn task(mut self, task_id: Uuid) -> Self {
        self.task_id = Some(task_id);
        self
    }

    /// Only runs in `status`.
    pub fn status(mut self, status: RunStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Pages of `limit` runs.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub(crate) fn query(&self) -> [(&'static str, Option<String>); 4] {
        [
            ("task_id", self.task_id.map(|id| id.to_string())),
            ("status", self.status.map(|s| s.as_str().to_owned())),
            ("cursor", self.cursor.clone()),
            ("limit", self.limit.map(|l| l.to_string())),
        ]
    }
}

/// One page of `GET /runs`, newest first.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct RunPage {
    /// The runs.
    pub runs: Vec<RunSummary>,
    /// Pass as `cursor` for the next page; `None` on the last one.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// The answer of `POST /runs/{id}/complete`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct RunCompleted {
    /// The run.
    pub run_id: Uuid,
    /// Always [`RunStatus::Completed`].
    pub status: RunStatus,
}

/// One item of a batch complete (`POST /runs/complete`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompleteRun {
    /// The claimed run.
    pub run_id: Uuid,
    /// Its result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

impl CompleteRun {
    /// Completes `run_id` with `result`.
    pub fn new(run_id: Uuid, result: Option<Value>) -> Self {
        Self { run_id, result }
    }
}

/// What happened to one item of a batch complete; each is fenced on its own.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum CompleteOutcome {
    /// This run was not completed (not found, claim lost, …).
    Rejected {
        /// The run.
        run_id: Uuid,
        /// Why, as an API error body.
        error: ErrorBody,
    },
    /// This run completed.
    Completed {
        /// The run.
        run_id: Uuid,
        /// Always [`RunStatus::Completed`].
        status: RunStatus,
    },
}

impl CompleteOutcome {
    /// The run this outcome is about.
    pub fn run_id(&self) -> Uuid {
        match self {
            Self::Rejected { run_id, .. } | Self::Completed { run_id, .. } => *run_id,
        }
    }

    /// `Ok` when completed, else the item's error as an [`Error::Api`]
    /// (with the HTTP status its code stands for).
    pub fn into_result(self) -> Result<Uuid, Error> {
        match self {
            Self::Completed { run_id, .. } => Ok(run_id),
            Self::Rejected { error, .. } => Err(error.into_error()),
        }
    }
}

/// The answer of `POST /runs/{id}/fail`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct RunFailed {
    /// The failed run.
    pub run_id: Uuid,
    /// Always [`RunStatus::Failed`].
    pub status: RunStatus,
    /// The failed run's attempt.
    pub attempt: u32,
    /// The retry, when the task has attempts left.
    #[serde(default)]
    pub next_run_id: Option<Uuid>,
    /// When the retry becomes claimable.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
}

/// The answer of `POST /runs/{id}/schedule`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct RunScheduled {
    /// The run.
    pub run_id: Uuid,
    /// When it becomes claimable again.
    #[serde(with = "time::serde::rfc3339")]
    pub scheduled_at: OffsetDateTime,
}

/// (ext) The answer of `POST /runs/{id}/heartbeat`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Heartbeat {
    /// The run.
    pub run_id: Uuid,
    /// The new end of its claim.
    #[serde(with = "time::serde::rfc3339")]
    pub claim_expires_at: OffsetDateTime,
}

/// The body of `POST /runs/{id}/wait-for-event`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WaitForEvent {
    /// The event to wait for.
    pub event_name: String,
    /// Seconds (≥ 1) after which the outcome is a timeout.
    pub timeout_seconds: u64,
    /// The task of the claimed run.
    pub task_id: Uuid,
    /// The step; the outcome is recorded per `(task_id, step_name)`.
    pub step_name: String,
}

impl WaitForEvent {
    /// Waits for `event_name` at step `step_name` of `task_id`, up to `timeout_seconds`.
    pub fn new(
        task_id: Uuid,
        step_name: impl Into<String>,
        event_name: impl Into<String>,
        timeout_seconds: u64,
    ) -> Self {
        Self { event_name: event_name.into(), timeout_seconds, task_id, step_name: step_name.into() }
    }
}

/// The outcome of a wait-for-event call, by HTTP status.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum WaitOutcome {
    /// 200: the event arrived (now or earlier); its payload.
    Resolved {
        /// The event's payload (`null` when it had none).
        payload: Value,
    },
    /// 408: the wait timed out before the event arrived.
    Timeout {
        /// The server's message.
        message: String,
    },
    /// 202: the run gave up its claim and sleeps until the event or the
    /// timeout; the worker must stop working on it.
    Sleeping {
        /// The server's message.
        message: String,
    },
}

#[derive(Serialize)]
pub(crate) struct CompleteBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<&'a Value>,
}

#[derive(Serialize)]
pub(crate) struct BatchComplete<'a> {
    pub(crate) runs: &'a [CompleteRun],
}

#[derive(Deserialize)]
pub(crate) struct BatchCompleted {
    pub(crate) runs: Vec<CompleteOutcome>,
}

#[derive(Serialize)]
pub(crate) struct FailBody<'a> {
    pub(crate) error: &'a str,
}

#[derive(Serialize)]
pub(crate) struct ScheduleBody {
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) run_at: OffsetDateTime,
}

#[derive(Serialize)]
pub(crate) struct HeartbeatBody {
    pub(crate) extend_by_seconds: u64,
}

/// The 200/408/202 bodies of wait-for-event.
#[derive(Deserialize)]
pub(crate) struct WaitBody {
    #[serde(default)]
    pub(crate) payload: Value,
    #[serde(default)]
    pub(crate) message: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ErrorCode;

    #[test]
    fn batch_outcomes_decode_both_shapes() {
        let a = "0192b9d4-5e3a-7f00-8000-000000000001";
        let b = "0192b9d4-5e3a-7f00-8000-000000000002";
        let body: BatchCompleted = serde_json::from_value(json!({"runs": [
            {"run_id": a, "status": "completed"},
            {"run_id": b, "error": {"error": "claim lost", "code": "CONFLICT"}},
        ]}))
        .unwrap();
        assert!(matches!(body.runs[0], CompleteOutcome::Completed { status: RunStatus::Completed, .. }));
        assert_eq!(body.runs[1].run_id().to_string(), b);
        let err = body.runs[1].clone().into_result().unwrap_err();
        assert!(err.is_conflict() && err.status() == Some(409));
        assert_eq!(body.runs[0].clone().into_result().unwrap().to_string(), a);
        let unknown = crate::error::ErrorBody { error: "x".into(), code: ErrorCode::Other("X".into()) };
        assert_eq!(unknown.into_error().status(), Some(500));
    }

    #[test]
    fn run_queries_and_bodies() {
        let id = Uuid::nil();
        let q = ListRuns::default().task(id).status(RunStatus::Sleeping).query();
        assert_eq!(q[0].1.as_deref(), Some("00000000-0000-0000-0000-000000000000"));
        assert_eq!(q[1].1.as_deref(), Some("sleeping"));
        assert_eq!(serde_json::to_value(CompleteBody { result: None }).unwrap(), json!({}));
        let w = WaitForEvent::new(id, "step", "evt", 5);
        assert_eq!(
            serde_json::to_value(w).unwrap(),
            json!({"event_name": "evt", "timeout_seconds": 5, "task_id": id, "step_name": "step"})
        );
    }
}
