//! [`TaskState`]: a run joined with its task, the unit every transition
//! takes and gives back.

use std::collections::HashMap;

use durable_domain::{RunId, TaskId, TaskState, Timestamp};
use durable_ports::StoreError;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;

use super::{runs, tasks};
use crate::errors;

/// `SELECT <run and task columns> FROM runs r JOIN tasks t … <rest>`: the
/// text of a query whose rows [`decode`] reads.
pub(crate) fn select(rest: &str) -> String {
    format!("SELECT {}, {} FROM runs r JOIN tasks t ON t.id = r.task_id {rest}", runs::COLUMNS, tasks::COLUMNS)
}

pub(crate) fn decode(row: &SqliteRow) -> Result<TaskState, StoreError> {
    Ok(TaskState { task: tasks::decode(row)?, run: runs::decode(row)? })
}

/// The addressed run with its task.
pub(crate) async fn by_run(conn: &mut SqliteConnection, run: RunId) -> Result<Option<TaskState>, StoreError> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| select("WHERE r.id = ?"));
    let row = sqlx::query(&SQL).bind(run.to_string()).fetch_optional(conn).await.map_err(errors::map_sql)?;
    row.as_ref().map(decode).transpose()
}

/// The addressed runs with their tasks, in one statement; runs that do not
/// exist are missing from the answer.
pub(crate) async fn by_runs(
    conn: &mut SqliteConnection,
    runs: &[RunId],
) -> Result<HashMap<RunId, TaskState>, StoreError> {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| select("WHERE r.id IN (SELECT value FROM json_each(?))"));
    let ids = serde_json::Value::from(runs.iter().map(ToString::to_string).collect::<Vec<_>>()).to_string();
    let rows = sqlx::query(&SQL).bind(ids).fetch_all(conn).await.map_err(errors::map_sql)?;
    rows.iter().map(|row| decode(row).map(|state| (state.run.id, state))).collect()
}

/// A task with its current (newest) run.
pub(crate) async fn by_task(conn: &mut SqliteConnection, task: TaskId) -> Result<Option<TaskState>, StoreError> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {}, {} FROM tasks t JOIN runs r ON r.id = t.current_run WHERE t.id = ?",
            runs::COLUMNS,
            tasks::COLUMNS
        )
    });
    let row = sqlx::query(&SQL).bind(task.to_string()).fetch_optional(conn).await.map_err(errors::map_sql)?;
    row.as_ref().map(decode).transpose()
}

/// Writes a transition's result at `now` back: the task and the run it
/// addressed.
pub(crate) async fn save(conn: &mut SqliteConnection, state: &TaskState, now: Timestamp) -> Result<(), StoreError> {
    tasks::update(&mut *conn, &state.task).await?;
    runs::update(conn, &state.run, now).await
}

/// [`save`] for many transitions: one statement for the tasks and one for
/// the runs, whatever their number. Each state must be of a different task.
pub(crate) async fn save_all(
    conn: &mut SqliteConnection,
    states: &[&TaskState],
    now: Timestamp,
) -> Result<(), StoreError> {
    let tasks: Vec<_> = states.iter().map(|s| &s.task).collect();
    tasks::update_all(&mut *conn, &tasks).await?;
    let runs: Vec<_> = states.iter().map(|s| &s.run).collect();
    runs::update_all(conn, &runs, now).await
}
