//! The `checkpoints` table.

use durable_domain::TaskId;
use durable_domain::event::Checkpoint;
use durable_ports::StoreError;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;

use super::{Cols, json, micros};
use crate::errors;

const COLUMNS: &str = "task_id, step_name, state, owner_run, updated_at";

fn decode(row: &SqliteRow) -> Result<Checkpoint, StoreError> {
    let c = Cols(row);
    Ok(Checkpoint {
        task_id: c.parse("task_id")?,
        step_name: c.text("step_name")?,
        state: c.json("state")?,
        owner_run: c.parse("owner_run")?,
        updated_at: c.time("updated_at")?,
    })
}

/// Inserts the checkpoint or replaces the step's earlier one.
pub(crate) async fn upsert(conn: &mut SqliteConnection, checkpoint: &Checkpoint) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO checkpoints (task_id, step_name, state, owner_run, updated_at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (task_id, step_name) DO UPDATE \
         SET state = excluded.state, owner_run = excluded.owner_run, updated_at = excluded.updated_at",
    )
    .bind(checkpoint.task_id.to_string())
    .bind(&checkpoint.step_name)
    .bind(json(&checkpoint.state))
    .bind(checkpoint.owner_run.to_string())
    .bind(micros(checkpoint.updated_at))
    .execute(conn)
    .await
    .map_err(errors::map_sql)?;
    Ok(())
}

pub(crate) async fn get(
    conn: &mut SqliteConnection,
    task: TaskId,
    step: &str,
) -> Result<Option<Checkpoint>, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM checkpoints WHERE task_id = ? AND step_name = ?"))
        .bind(task.to_string())
        .bind(step)
        .fetch_optional(conn)
        .await
        .map_err(errors::map_sql)?;
    row.as_ref().map(decode).transpose()
}

/// All checkpoints of a task, by step name (byte order, as Rust sorts strings).
pub(crate) async fn of_task(conn: &mut SqliteConnection, task: TaskId) -> Result<Vec<Checkpoint>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM checkpoints WHERE task_id = ? ORDER BY step_name"))
        .bind(task.to_string())
        .fetch_all(conn)
        .await
        .map_err(errors::map_sql)?;
    rows.iter().map(decode).collect()
}
