//! Checkpoints: state persisted per `(task_id, step_name)`, shared by all runs of a task.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

/// The body of `PUT /tasks/{task_id}/checkpoints/{step_name}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PutCheckpoint {
    /// The state to store; replaces any earlier state of the step.
    pub state: Value,
    /// The claimed run of the task writing it (the fencing token).
    pub owner_run: Uuid,
    /// Also extend the claim to now + this many seconds (≥ 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extend_claim_by: Option<u64>,
}

impl PutCheckpoint {
    /// Writes `state` as `owner_run`.
    pub fn new(owner_run: Uuid, state: Value) -> Self {
        Self { state, owner_run, extend_claim_by: None }
    }

    /// Sets `extend_claim_by` in seconds.
    pub fn extend_claim_by(mut self, seconds: u64) -> Self {
        self.extend_claim_by = Some(seconds);
        self
    }
}

/// The answer of a checkpoint write.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct CheckpointWritten {
    /// The task.
    pub task_id: Uuid,
    /// The step.
    pub step_name: String,
    /// When it was written.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A stored checkpoint.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The task.
    pub task_id: Uuid,
    /// The step.
    pub step_name: String,
    /// The stored state.
    #[serde(default)]
    pub state: Value,
    /// When it was last written.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Deserialize)]
pub(crate) struct CheckpointList {
    pub(crate) checkpoints: Vec<Checkpoint>,
}
