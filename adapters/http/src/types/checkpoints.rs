use durable_domain::event::Checkpoint;
use durable_domain::{RunId, TaskId};
use durable_ports::service::PutCheckpoint;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AnyJson;
use super::rules::UuidText;
use super::wire;

#[derive(Debug, Deserialize, ToSchema)]
pub struct PutCheckpointRequest {
    #[schema(value_type = AnyJson)]
    pub state: Value,
    /// A claimed run of this task whose claim is still held.
    #[serde(deserialize_with = "wire::uuid")]
    #[schema(value_type = UuidText)]
    pub owner_run: Uuid,
    /// Seconds; also extends the owner's claim to now + this, >= 1.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub extend_claim_by: Option<f64>,
}

impl PutCheckpointRequest {
    pub fn into_domain(self, task_id: TaskId, step_name: String) -> PutCheckpoint {
        PutCheckpoint {
            task_id,
            step_name,
            state: self.state,
            owner_run: RunId::from_uuid(self.owner_run),
            extend_claim_by: self.extend_claim_by,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointWritten {
    pub task_id: Uuid,
    pub step_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<Checkpoint> for CheckpointWritten {
    fn from(checkpoint: Checkpoint) -> Self {
        Self {
            task_id: checkpoint.task_id.as_uuid(),
            step_name: checkpoint.step_name,
            updated_at: checkpoint.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointResponse {
    pub task_id: Uuid,
    pub step_name: String,
    #[schema(value_type = AnyJson)]
    pub state: Value,
    /// (ext) The run that wrote it last.
    pub owner_run: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<Checkpoint> for CheckpointResponse {
    fn from(checkpoint: Checkpoint) -> Self {
        Self {
            task_id: checkpoint.task_id.as_uuid(),
            step_name: checkpoint.step_name,
            state: checkpoint.state,
            owner_run: checkpoint.owner_run.as_uuid(),
            updated_at: checkpoint.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointList {
    pub checkpoints: Vec<CheckpointResponse>,
}
