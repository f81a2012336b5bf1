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
use crate::skipped::SkippedRows;

/// Locks the tasks of the given runs and the runs, in one statement: rows in
/// task id order, each task locked right before its runs (`FOR UPDATE OF t,
/// r` locks in that order), which is the lock order. Joining on the run's
/// `task_id`, which never changes, keeps a row that had to wait for a lock:
/// the re-check after the wait sees the same pairing. The ids drive the
/// join (an `unnest`), so the plan is a key look-up per id whatever the
/// planner guesses about the array's length.
pub const LOCK_RUNS_SQL: &str = concat!(
    "SELECT ",
    task_columns!(),
    ", ",
    run_columns!(),
    " FROM unnest($1::uuid[]) AS ids(id) JOIN runs r ON r.id = ids.id JOIN tasks t ON t.id = r.task_id \
     ORDER BY t.id, r.id FOR UPDATE OF t, r"
);

/// Locks the task of `run`, then the run itself.
pub(crate) async fn lock_run(conn: &mut PgConnection, run: RunId) -> Result<Option<TaskState>> {
    Ok(lock_runs(conn, &[run.as_uuid()]).await?.state(run))
}

/// Locks a task, then its current run.
pub(crate) async fn lock_task(conn: &mut PgConnection, id: TaskId) -> Result<Option<TaskState>> {
    // Two statements: the current run is only known once the task is
    // locked (a retry may change it meanwhile).
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
    Ok(Some(pair(task, rows::run(&run)?)))
}

/// Locks the tasks of these runs and the runs (see [`LOCK_RUNS_SQL`]).
/// Runs that do not exist are missing from the answer.
pub(crate) async fn lock_runs(conn: &mut PgConnection, runs: &[Uuid]) -> Result<Locked> {
    let rows = sqlx::query(LOCK_RUNS_SQL).bind(runs).fetch_all(&mut *conn).await?;
    Ok(Locked::of(states(&rows)?))
}

/// [`lock_runs`] for a batch of runs that are not all the caller's: rows
/// that cannot be decoded are left out (as if missing) rather than failing
/// the batch.
pub(crate) async fn lock_runs_skipping(
    conn: &mut PgConnection,
    runs: &[Uuid],
    skipped: &SkippedRows,
) -> Result<Locked> {
    let rows = sqlx::query(LOCK_RUNS_SQL).bind(runs).fetch_all(&mut *conn).await?;
    Ok(Locked::of(skipped.decode_each("acknowledgement", &rows, state)))
}

impl Locked {
    fn of(states: Vec<TaskState>) -> Self {
        let mut locked = Locked::default();
        for state in states {
            let first_claimed_at = state.task.first_claimed_at;
            let task = locked.tasks.entry(state.task.id).or_insert(state.task);
            task.first_claimed_at = task.first_claimed_at.or(first_claimed_at);
            locked.runs.insert(state.run.id, state.run);
        }
        locked
    }
}

/// A task with one of its runs, as the domain wants them. A claim writes
/// only the run, so until the task is next written its `first_claimed_at`
/// is the current run's `claimed_at`; the run was read with (or after) the
/// task, so this is the latest word.
pub(crate) fn pair(mut task: Task, run: Run) -> TaskState {
    if task.first_claimed_at.is_none() && run.id == task.current_run {
        task.first_claimed_at = run.claimed_at;
    }
    TaskState { task, run }
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
    pub(super) fn state(&self, run: RunId) -> Option<TaskState> {
        let run = self.runs.get(&run)?.clone();
        let task = self.tasks.get(&run.task_id)?.clone();
        Some(TaskState { task, run })
    }

    pub(super) fn put(&mut self, state: TaskState) {
        self.tasks.insert(state.task.id, state.task);
        self.runs.insert(state.run.id, state.run);
    }
}

/// Pairs rows that carry both a task (`t_…`) and a run (`r_…`).
pub(crate) fn states(rows: &[sqlx::postgres::PgRow]) -> Result<Vec<TaskState>> {
    rows.iter().map(state).collect()
}

/// One row that carries both a task and a run.
pub(crate) fn state(row: &sqlx::postgres::PgRow) -> Result<TaskState> {
    Ok(pair(rows::task(row)?, rows::run(row)?))
}
