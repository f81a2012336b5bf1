//! Events, the memoized outcome of waiting for one, and checkpoints.

use serde_json::Value;

use crate::clock::Timestamp;
use crate::ids::{EventId, RunId, TaskId};

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: EventId,
    pub name: String,
    pub payload: Value,
    pub created_at: Timestamp,
}

/// The recorded result of a `(task, step)` wait; replays return it again.
#[derive(Clone, Debug, PartialEq)]
pub enum WaitOutcome {
    Resolved { payload: Value },
    Timeout,
}

/// What a wait-for-event call answers.
#[derive(Clone, Debug, PartialEq)]
pub enum WaitResponse {
    /// An outcome exists (recorded now or before): 200 resolved / 408 timeout.
    Outcome(WaitOutcome),
    /// No outcome yet: the run gave up its claim and sleeps (202).
    Sleeping,
}

/// State persisted per `(task, step)`, shared by every run of the task.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub task_id: TaskId,
    pub step_name: String,
    pub state: Value,
    pub owner_run: RunId,
    pub updated_at: Timestamp,
}
