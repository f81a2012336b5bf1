//! Checkpoints: per `(task, step)` state, written only by the claim holder.

use durable_domain::command::CheckpointWrite;
use durable_domain::event::Checkpoint;
use durable_domain::{NotFound, TaskId, Timestamp, machine};
use sqlx::{PgConnection, PgPool};

use super::tx::in_transaction;
use super::{load, write};
use crate::errors::Result;
use crate::json_text::JsonText;
use crate::rows::{self, checkpoint_columns, run_columns, task_columns};

pub(crate) async fn put(pool: &PgPool, write: CheckpointWrite, now: Timestamp) -> Result<Checkpoint> {
    in_transaction(pool, async |tx| {
        // Task first, then the run: the lock order every writer follows.
        let task = sqlx::query(concat!("SELECT ", task_columns!(), " FROM tasks t WHERE t.id = $1 FOR UPDATE"))
            .bind(write.task_id.as_uuid())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(NotFound::Task(write.task_id))?;
        // The owner run is locked only when it is a run of this task (the
        // lock order: task, then its runs); any other is read as it is, for
        // the domain to refuse.
        let locked = sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs r WHERE r.id = $1 AND r.task_id = $2 FOR UPDATE"
        ))
        .bind(write.owner_run.as_uuid())
        .bind(write.task_id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        let run = match locked {
            Some(run) => Some(run),
            None => {
                sqlx::query(concat!("SELECT ", run_columns!(), " FROM runs r WHERE r.id = $1"))
                    .bind(write.owner_run.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?
            }
        };
        let mut owner = match run {
            Some(run) => Some(load::pair(rows::task(&task)?, rows::run(&run)?)),
            None => None,
        };
        let written = machine::write_checkpoint(owner.as_mut(), write, now)?;
        if let Some(owner) = owner.filter(|_| written.claim_extended) {
            write::update_runs(tx, &[&owner.run], now).await?;
        }
        let checkpoint = written.checkpoint;
        let row = sqlx::query(concat!(
            "INSERT INTO checkpoints (task_id, step_name, state, owner_run, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (task_id, step_name) DO UPDATE \
             SET state = excluded.state, owner_run = excluded.owner_run, updated_at = excluded.updated_at \
         RETURNING ",
            checkpoint_columns!()
        ))
        .bind(checkpoint.task_id.as_uuid())
        .bind(&checkpoint.step_name)
        .bind(JsonText::of(&checkpoint.state))
        .bind(checkpoint.owner_run.as_uuid())
        .bind(checkpoint.updated_at)
        .fetch_one(&mut *tx)
        .await?;
        rows::checkpoint(&row)
    })
    .await
}

pub(crate) async fn get(pool: &PgPool, task: TaskId, step_name: &str) -> Result<Checkpoint> {
    let mut conn = pool.acquire().await?;
    let row = sqlx::query(concat!(
        "SELECT ",
        checkpoint_columns!(),
        " FROM checkpoints WHERE task_id = $1 AND step_name = $2"
    ))
    .bind(task.as_uuid())
    .bind(step_name)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = row {
        rows::checkpoint(&row)
    } else {
        task_exists(&mut conn, task).await?;
        Err(NotFound::Checkpoint { task_id: task, step_name: step_name.to_owned() }.into())
    }
}

/// One statement for many tasks: a claim's checkpoints.
pub(crate) async fn list_of_tasks(pool: &PgPool, tasks: &[TaskId]) -> Result<Vec<Checkpoint>> {
    let ids: Vec<uuid::Uuid> = tasks.iter().map(TaskId::as_uuid).collect();
    let rows = sqlx::query(concat!(
        "SELECT ",
        checkpoint_columns!(),
        " FROM checkpoints WHERE task_id = ANY($1) ORDER BY task_id, step_name COLLATE \"C\""
    ))
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    rows.iter().map(rows::checkpoint).collect()
}

pub(crate) async fn list(pool: &PgPool, task: TaskId) -> Result<Vec<Checkpoint>> {
    let mut conn = pool.acquire().await?;
    // "C" collation: byte order of step names, as every store sorts them.
    let rows = sqlx::query(concat!(
        "SELECT ",
        checkpoint_columns!(),
        " FROM checkpoints WHERE task_id = $1 ORDER BY step_name COLLATE \"C\""
    ))
    .bind(task.as_uuid())
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        task_exists(&mut conn, task).await?;
    }
    rows.iter().map(rows::checkpoint).collect()
}

async fn task_exists(conn: &mut PgConnection, id: TaskId) -> Result<()> {
    let found = sqlx::query("SELECT 1 FROM tasks WHERE id = $1").bind(id.as_uuid()).fetch_optional(conn).await?;
    if found.is_some() { Ok(()) } else { Err(NotFound::Task(id).into()) }
}
