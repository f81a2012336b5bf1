//! (ext) The end of a task: what `GET /tasks/{id}/result` answers and what
//! a run waiting for a child task (`POST /runs/{id}/wait-for-task`) gets.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::tasks::TaskStatus;

/// A finished task: completed with its result, failed with its error, or canceled.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct FinishedTask {
    /// The task.
    pub task_id: Uuid,
    /// [`TaskStatus::Completed`], [`TaskStatus::Failed`] or [`TaskStatus::Canceled`].
    pub status: TaskStatus,
    /// The result of the run that completed it.
    #[serde(default)]
    pub result: Option<Value>,
    /// The error of its last failed run.
    #[serde(default)]
    pub error: Option<String>,
}

/// The answer of `GET /tasks/{id}/result?wait_seconds=N`, by HTTP status.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ResultPoll {
    /// 200: the task has ended.
    Finished(FinishedTask),
    /// 202: the wait ran out before the task ended.
    Unfinished {
        /// The task.
        task_id: Uuid,
        /// Its status now (normally [`TaskStatus::Pending`]).
        status: TaskStatus,
    },
}

/// The body of `POST /runs/{run_id}/wait-for-task`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WaitForTask {
    /// The awaited task: a child of the waiting run's task.
    pub task_id: Uuid,
    /// The step; the outcome is recorded per (task of the run, `step_name`).
    pub step_name: String,
    /// Seconds (≥ 1) after which the outcome is a timeout; `None`: no timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

impl WaitForTask {
    /// Waits at step `step_name` for `task_id` to end, without a timeout.
    pub fn new(task_id: Uuid, step_name: impl Into<String>) -> Self {
        Self { task_id, step_name: step_name.into(), timeout_seconds: None }
    }

    /// Sets `timeout_seconds` (raised to 1).
    pub fn timeout_seconds(mut self, seconds: u64) -> Self {
        self.timeout_seconds = Some(seconds.max(1));
        self
    }
}

/// The 202 body of `GET /tasks/{id}/result`.
#[derive(Deserialize)]
pub(crate) struct UnfinishedBody {
    pub(crate) task_id: Uuid,
    pub(crate) status: TaskStatus,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wait_body_omits_an_absent_timeout() {
        let id = Uuid::nil();
        assert_eq!(serde_json::to_value(WaitForTask::new(id, "s")).unwrap(), json!({"task_id": id, "step_name": "s"}));
        assert_eq!(
            serde_json::to_value(WaitForTask::new(id, "s").timeout_seconds(0)).unwrap(),
            json!({"task_id": id, "step_name": "s", "timeout_seconds": 1})
        );
    }

    #[test]
    fn finished_task_decodes_each_end() {
        let id = "0192b9d4-5e3a-7f00-8000-000000000002";
        let done: FinishedTask =
            serde_json::from_value(json!({"task_id": id, "status": "completed", "result": {"ok": 1}})).unwrap();
        assert_eq!((done.status, done.result), (TaskStatus::Completed, Some(json!({"ok": 1}))));
        let failed: FinishedTask =
            serde_json::from_value(json!({"task_id": id, "status": "failed", "error": "boom"})).unwrap();
        assert_eq!((failed.status, failed.error.as_deref()), (TaskStatus::Failed, Some("boom")));
    }
}
