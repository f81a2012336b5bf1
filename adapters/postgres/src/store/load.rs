//! Loading tasks and runs under row locks.
//!
//! Lock order, everywhere a statement may wait for a lock: a task row before
//! any of its runs, and several rows in id order. Statements that lock
//! several unrelated rows (claims, sweeps, retention) use `SKIP LOCKED` and
//! never wait, so they cannot close a cycle either. Together this rules out
//! deadlocks between the store's own transactions.

use std::collections::HashMap;

use durable_domain::{Run, RunId, Task, TaskId, TaskState};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::errors::Result;
use crate::rows::{self, run_columns, task_columns};

/// Locks the task of `run`, then the run itself.
pub(crate) async fn lock_run(conn: &mut PgConnection, run: RunId) -> Result<Option<TaskState>> {
    // The run's task_id never changes, so reading it without a lock first
    // is safe; the task lock then serializes every writer of this task.
    let task = sqlx::query(concat!(
        "SELECT ",
        task_columns!(),
        " FROM tasks t WHERE t.id = (SELECT task_id FROM runs WHERE id = $1) FOR UPDATE"
    ))
    .bind(run.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(task) = task else { return Ok(None) };
    let task = rows::task(&task)?;
    let run = sqlx::query(concat!("SELECT ", run_columns!(), " FROM runs r WHERE r.id = $1 FOR UPDATE"))
        .bind(run.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    // Runs are deleted only with their task, which we now hold.
    let Some(run) = run else { return Ok(None) };
    Ok(Some(TaskState { task, run: rows::run(&run)? }))
}

/// Locks a task, then its current run.
pub(crate) async fn lock_task(conn: &mut PgConnection, id: TaskId) -> Result<Option<TaskState>> {
    let task = sqlx::query(concat!("SELECT ", task_columns!(), " FROM tasks t WHERE t.id = $1 FOR UPDATE"))
        .bind(id.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(task) = task else { return Ok(None) };
    let task = rows::task(&task)?;
    let run = sqlx::query(concat!("SELECT ", run_columns!(), " FROM runs r WHERE r.id = $1 FOR UPDATE"))
        .bind(task.current_run.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(run) = run else { return Ok(None) };
    Ok(Some(TaskState { task, run: rows::run(&run)? }))
}

/// Locks the tasks of these runs (in task id order), then the runs (in run
/// id order). Runs that do not exist are missing from the answer.
pub(crate) async fn lock_runs(conn: &mut PgConnection, runs: &[Uuid]) -> Result<Locked> {
    let tasks = sqlx::query(concat!(
        "SELECT ",
        task_columns!(),
        " FROM tasks t WHERE t.id IN (SELECT task_id FROM runs WHERE id = ANY($1)) ORDER BY t.id FOR UPDATE"
    ))
    .bind(runs)
    .fetch_all(&mut *conn)
    .await?;
    let runs =
        sqlx::query(concat!("SELECT ", run_columns!(), " FROM runs r WHERE r.id = ANY($1) ORDER BY r.id FOR UPDATE"))
            .bind(runs)
            .fetch_all(&mut *conn)
            .await?;
    let mut locked = Locked::default();
    for row in &tasks {
        let task = rows::task(row)?;
        locked.tasks.insert(task.id, task);
    }
    for row in &runs {
        let run = rows::run(row)?;
        locked.runs.insert(run.id, run);
    }
    Ok(locked)
}

/// Rows held under lock by a batch operation, changed in place and written
/// back at the end.
#[derive(Debug, Default)]
pub(crate) struct Locked {
    pub tasks: HashMap<TaskId, Task>,
    pub runs: HashMap<RunId, Run>,
}

impl Locked {
    /// The run with its task, as the domain wants them.
    pub fn state(&self, run: RunId) -> Option<TaskState> {
        let run = self.runs.get(&run)?.clone();
        let task = self.tasks.get(&run.task_id)?.clone();
        Some(TaskState { task, run })
    }

    pub fn put(&mut self, state: TaskState) {
        self.tasks.insert(state.task.id, state.task);
        self.runs.insert(state.run.id, state.run);
    }
}

/// Pairs rows that carry both a task (`t_…`) and a run (`r_…`).
pub(crate) fn states(rows: &[sqlx::postgres::PgRow]) -> Result<Vec<TaskState>> {
    rows.iter().map(|row| Ok(TaskState { task: rows::task(row)?, run: rows::run(row)? })).collect()
}
