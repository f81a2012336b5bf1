use reqwest::Method;
use uuid::Uuid;

use crate::retry::Idempotency;
use crate::types::checkpoints::{Checkpoint, CheckpointList, CheckpointWritten, PutCheckpoint};
use crate::{Client, Error};

impl Client {
    /// `PUT /tasks/{task_id}/checkpoints/{step_name}`: stores (replaces) the
    /// step's state; [`Error::is_conflict`] unless `owner_run` still holds its claim.
    pub async fn put_checkpoint(
        &self,
        task_id: Uuid,
        step_name: &str,
        checkpoint: &PutCheckpoint,
    ) -> Result<CheckpointWritten, Error> {
        let url = self.api_url(&["tasks", &task_id.to_string(), "checkpoints", step_name])?;
        let call = self.call(Method::PUT, url).json(checkpoint).idempotency(Idempotency::Idempotent);
        self.send(call).await?.decode()
    }

    /// `GET /tasks/{task_id}/checkpoints/{step_name}`; [`Error::is_not_found`] when none.
    pub async fn get_checkpoint(&self, task_id: Uuid, step_name: &str) -> Result<Checkpoint, Error> {
        let url = self.api_url(&["tasks", &task_id.to_string(), "checkpoints", step_name])?;
        self.send(self.call(Method::GET, url).idempotency(Idempotency::Idempotent)).await?.decode()
    }

    /// (ext) `GET /tasks/{task_id}/checkpoints`: every step of the task.
    pub async fn list_checkpoints(&self, task_id: Uuid) -> Result<Vec<Checkpoint>, Error> {
        let url = self.api_url(&["tasks", &task_id.to_string(), "checkpoints"])?;
        let call = self.call(Method::GET, url).idempotency(Idempotency::Idempotent);
        Ok(self.send(call).await?.decode::<CheckpointList>()?.checkpoints)
    }
}
