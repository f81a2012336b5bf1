//! Typed rejections. Each family maps onto exactly one HTTP status:
//! [`ValidationError`] → 400, [`NotFound`] → 404, [`Rejection`] → 409.

use thiserror::Error;

use crate::ids::{RunId, TaskId, WorkflowRunId};

/// Input that breaks a rule. The message names the offending field.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// `"<field> is required"`.
    pub fn required(field: &str) -> Self {
        Self::new(field, format!("{field} is required"))
    }

    /// `"<field> <rule>"`, e.g. `"long_poll_seconds must be between 1 and 60"`.
    pub fn invalid(field: &str, rule: impl std::fmt::Display) -> Self {
        Self::new(field, format!("{field} {rule}"))
    }
}

/// The addressed entity does not exist.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NotFound {
    #[error("queue \"{0}\" not found")]
    Queue(String),
    #[error("task {0} not found")]
    Task(TaskId),
    #[error("run {0} not found")]
    Run(RunId),
    #[error("checkpoint \"{step_name}\" of task {task_id} not found")]
    Checkpoint { task_id: TaskId, step_name: String },
    #[error("workflow run {0} not found")]
    WorkflowRun(WorkflowRunId),
    #[error("schedule \"{0}\" not found")]
    Schedule(String),
}

/// The request is valid but the current state forbids it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Rejection {
    #[error("run {run} is not claimed (it is {status})")]
    NotClaimed { run: RunId, status: &'static str },
    #[error("the claim on run {run} was lost (it expired or was taken over)")]
    ClaimLost { run: RunId },
    #[error("run {run} already finished as {status}")]
    RunFinished { run: RunId, status: &'static str },
    #[error("task {task} already finished as {status}")]
    AlreadyFinished { task: TaskId, status: &'static str },
    #[error("run {run} does not belong to task {task}")]
    RunNotOfTask { run: RunId, task: TaskId },
    #[error("queue \"{0}\" already exists")]
    QueueExists(String),
    #[error("queue \"{0}\" still holds unfinished tasks; use force to delete it anyway")]
    QueueNotEmpty(String),
    #[error("schedule \"{0}\" already exists")]
    ScheduleExists(String),
    #[error("task {task} is {status}; only failed or canceled tasks can be retried")]
    NotRetryable { task: TaskId, status: &'static str },
    #[error(
        "task {task} is past its start or execution timeout (counted from its creation); a retry would be canceled again"
    )]
    PastDeadline { task: TaskId },
}
