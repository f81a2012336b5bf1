//! Checkpoints: writes fenced by the owner run's claim, reads by task.

use durable_domain::command::CheckpointWrite;
use durable_domain::event::Checkpoint;
use durable_domain::{NotFound, Rejection, TaskId, Timestamp, machine};
use durable_ports::StoreError;

use super::tasks;
use crate::db::Db;
use crate::rows;

pub(super) async fn put(db: &Db, write: CheckpointWrite, now: Timestamp) -> Result<Checkpoint, StoreError> {
    db.write(move |tx| {
        Box::pin(async move {
            tasks::ensure_exists(tx, write.task_id).await?;
            // An unknown owner run cannot hold a claim: 409, like any other stale owner.
            let mut owner = rows::state::by_run(tx, write.owner_run)
                .await?
                .ok_or(Rejection::NotClaimed { run: write.owner_run, status: "unknown" })?;
            if owner.run.task_id != write.task_id {
                return Err(Rejection::RunNotOfTask { run: write.owner_run, task: write.task_id }.into());
            }
            machine::ensure_claim_held(&owner, now)?;
            if let Some(extend_by) = write.extend_claim_by {
                machine::heartbeat(&mut owner, extend_by, now)?;
                rows::state::save(tx, &owner).await?;
            }
            let checkpoint = Checkpoint {
                task_id: write.task_id,
                step_name: write.step_name,
                state: write.state,
                owner_run: write.owner_run,
                updated_at: now,
            };
            rows::checkpoints::upsert(tx, &checkpoint).await?;
            Ok(checkpoint)
        })
    })
    .await
}

pub(super) async fn get(db: &Db, task: TaskId, step_name: &str) -> Result<Checkpoint, StoreError> {
    let mut tx = db.begin_read().await?;
    tasks::ensure_exists(&mut tx, task).await?;
    rows::checkpoints::get(&mut tx, task, step_name)
        .await?
        .ok_or_else(|| NotFound::Checkpoint { task_id: task, step_name: step_name.to_owned() }.into())
}

pub(super) async fn list(db: &Db, task: TaskId) -> Result<Vec<Checkpoint>, StoreError> {
    let mut tx = db.begin_read().await?;
    tasks::ensure_exists(&mut tx, task).await?;
    rows::checkpoints::of_task(&mut tx, task).await
}
