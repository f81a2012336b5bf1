//! Child tasks and waiting for them **(ext)**.
//!
//! A run waits for a child task the way it waits for an event, with the
//! same replay rules: the outcome is recorded per `(task, step)`. The
//! "event" is the child's end, named after the child ([`end_event_name`]):
//! a wait resolves at once when the child has ended (its row is the
//! record, so retention of events cannot lose it), else the run sleeps on
//! that name, and the transaction that ends the child delivers its end to
//! the sleepers ([`end_event`]). Ends are announced only for tasks that
//! have a parent, so ordinary tasks pay nothing.

use serde_json::{Map, Value, json};
use time::Duration;

use crate::clock::{self, Timestamp};
use crate::command::{self, Wait};
use crate::error::ValidationError;
use crate::event::Event;
use crate::ids::{EventId, RunId, TaskId};
use crate::queue::QueueName;
use crate::task::{Task, TaskStatus};

/// Event names with this prefix are the server's own; clients cannot emit them.
pub const RESERVED_EVENT_PREFIX: &str = "durable:";

/// How long a wait without `timeout_seconds` may sleep: in effect, until
/// the child ends.
pub const NO_TIMEOUT: Duration = Duration::days(36_500);

/// The name a run waiting for `child` sleeps on.
pub fn end_event_name(child: TaskId) -> String {
    format!("{RESERVED_EVENT_PREFIX}task-ended:{child}")
}

/// What a waiter learns of a finished task: `{"task_id", "status",
/// "result"?, "error"?}`; `None` while the task has not ended.
pub fn end_payload(task: &Task) -> Option<Value> {
    if !task.status.is_finished() {
        return None;
    }
    let mut body = Map::new();
    body.insert("task_id".into(), json!(task.id.to_string()));
    body.insert("status".into(), json!(task.status.as_str()));
    if task.status == TaskStatus::Completed {
        body.insert("result".into(), task.result.clone().unwrap_or(Value::Null));
    }
    if let Some(error) = &task.last_error
        && task.status != TaskStatus::Completed
    {
        body.insert("error".into(), json!(error));
    }
    Some(Value::Object(body))
}

/// The end of `task` as an event for the runs waiting on it, when `task`
/// has ended and has a parent (only a parent's runs can wait for it). Not
/// stored: the store delivers it to the sleepers in the transaction that
/// ended the task.
pub fn end_event(task: &Task, now: Timestamp) -> Option<Event> {
    task.spec.parent_task_id?;
    Some(Event { id: EventId::new(), name: end_event_name(task.id), payload: end_payload(task)?, created_at: now })
}

/// The queues to signal for tasks that just ended: those of the tasks
/// whose result someone waits for (`GET /tasks/{id}/result` waits on the
/// task's queue). Tasks nobody watches cost no signal.
pub fn queues_to_signal<'a>(ended: impl IntoIterator<Item = &'a Task>) -> Vec<QueueName> {
    let mut queues: Vec<QueueName> =
        ended.into_iter().filter(|t| t.result_watched && t.status.is_finished()).map(|t| t.queue.clone()).collect();
    queues.sort();
    queues.dedup();
    queues
}

/// `wait-for-task` as it arrives.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WaitForTaskRequest {
    pub run_id: RunId,
    /// The awaited child task.
    pub task_id: TaskId,
    pub step_name: String,
    pub timeout_seconds: Option<f64>,
}

impl WaitForTaskRequest {
    /// The wait, once the awaited task is known: it must be a child, and
    /// the wait is its parent's (the store checks that the run belongs to
    /// it, as for event waits).
    pub fn validate(self, awaited: &Task) -> Result<Wait, ValidationError> {
        command::non_empty("step_name", &self.step_name)?;
        let timeout = match self.timeout_seconds {
            None => NO_TIMEOUT,
            Some(seconds) => command::at_least_one_second("timeout_seconds", seconds)?,
        };
        let Some(parent) = awaited.spec.parent_task_id else {
            return Err(ValidationError::invalid("task_id", "is not a child task: only a parent may wait for a task"));
        };
        Ok(Wait {
            run_id: self.run_id,
            task_id: parent,
            event_name: end_event_name(awaited.id),
            step_name: self.step_name,
            timeout,
        })
    }
}

/// The answer of `GET /tasks/{id}/result`: the task, and its end once it
/// has one.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskResult {
    pub task_id: TaskId,
    pub status: TaskStatus,
    pub result: Option<Value>,
    pub error: Option<String>,
}

impl TaskResult {
    pub fn of(task: &Task) -> Self {
        let completed = task.status == TaskStatus::Completed;
        Self {
            task_id: task.id,
            status: task.status,
            result: if completed { task.result.clone() } else { None },
            error: if completed || !task.status.is_finished() { None } else { task.last_error.clone() },
        }
    }

    pub fn is_finished(&self) -> bool {
        self.status.is_finished()
    }
}

/// The longest `wait_seconds` of a result long poll: as for claims, under
/// the idle timeouts of common proxies and HTTP clients.
pub const MAX_RESULT_WAIT_SECONDS: f64 = 60.0;

/// Validates `wait_seconds` (0 to [`MAX_RESULT_WAIT_SECONDS`], default 0).
pub fn result_wait(wait_seconds: Option<f64>) -> Result<Duration, ValidationError> {
    match wait_seconds {
        None => Ok(Duration::ZERO),
        Some(s) if s.is_finite() && (0.0..=MAX_RESULT_WAIT_SECONDS).contains(&s) => Ok(clock::seconds(s)),
        Some(_) => Err(ValidationError::invalid("wait_seconds", "must be between 0 and 60")),
    }
}
