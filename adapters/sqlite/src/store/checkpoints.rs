//! Checkpoints: writes fenced by the owner run's claim, reads by task.

use durable_domain::command::CheckpointWrite;
use durable_domain::event::Checkpoint;
use durable_domain::{NotFound, TaskId, Timestamp, machine};
use durable_ports::StoreError;

use super::tasks;
use crate::db::Db;
use crate::rows;

pub(super) async fn put(db: &Db, write: CheckpointWrite, now: Timestamp) -> Result<Checkpoint, StoreError> {
    db.write(move |tx| {
        Box::pin(async move {
            tasks::ensure_exists(tx, write.task_id).await?;
            let mut owner = rows::state::by_run(tx, write.owner_run).await?;
            let written = machine::write_checkpoint(owner.as_mut(), write, now)?;
            if let Some(owner) = owner.filter(|_| written.claim_extended) {
                rows::state::save(tx, &owner, now).await?;
            }
            let checkpoint = written.checkpoint;
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

/// One read transaction for many tasks: a claim's checkpoints.
pub(super) async fn list_of_tasks(db: &Db, tasks: &[TaskId]) -> Result<Vec<Checkpoint>, StoreError> {
    let mut tx = db.begin_read().await?;
    let mut all = Vec::new();
    for task in tasks {
        all.extend(rows::checkpoints::of_task(&mut tx, *task).await?);
    }
    Ok(all)
}

pub(super) async fn list(db: &Db, task: TaskId) -> Result<Vec<Checkpoint>, StoreError> {
    let mut tx = db.begin_read().await?;
    tasks::ensure_exists(&mut tx, task).await?;
    rows::checkpoints::of_task(&mut tx, task).await
}
