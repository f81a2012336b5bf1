//! The `events` and `wait_outcomes` tables.

use durable_domain::TaskId;
use durable_domain::event::{Event, WaitOutcome};
use durable_ports::StoreError;
use sqlx::SqliteConnection;

use super::{Cols, json, micros};
use crate::errors::{self, corrupt};

pub(crate) async fn insert(conn: &mut SqliteConnection, event: &Event) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO events (id, name, payload, created_at) VALUES (?, ?, ?, ?)")
        .bind(event.id.to_string())
        .bind(&event.name)
        .bind(json(&event.payload))
        .bind(micros(event.created_at))
        .execute(conn)
        .await
        .map_err(errors::map_sql)?;
    Ok(())
}

/// The latest event of a name: the last one inserted (highest rowid), so
/// emit order decides, not the clock.
pub(crate) async fn latest(conn: &mut SqliteConnection, name: &str) -> Result<Option<Event>, StoreError> {
    let row =
        sqlx::query("SELECT id, name, payload, created_at FROM events WHERE name = ? ORDER BY rowid DESC LIMIT 1")
            .bind(name)
            .fetch_optional(conn)
            .await
            .map_err(errors::map_sql)?;
    row.as_ref().map(decode).transpose()
}

pub(crate) fn decode(row: &sqlx::sqlite::SqliteRow) -> Result<Event, StoreError> {
    let c = Cols(row);
    Ok(Event {
        id: c.parse("id")?,
        name: c.text("name")?,
        payload: c.json("payload")?,
        created_at: c.time("created_at")?,
    })
}

const RESOLVED: &str = "resolved";
const TIMEOUT: &str = "timeout";

/// The memoized outcome of a `(task, step)` wait.
pub(crate) async fn outcome(
    conn: &mut SqliteConnection,
    task: TaskId,
    step: &str,
) -> Result<Option<WaitOutcome>, StoreError> {
    let row = sqlx::query("SELECT outcome, payload FROM wait_outcomes WHERE task_id = ? AND step_name = ?")
        .bind(task.to_string())
        .bind(step)
        .fetch_optional(conn)
        .await
        .map_err(errors::map_sql)?;
    let Some(row) = row else { return Ok(None) };
    let c = Cols(&row);
    match c.text("outcome")?.as_str() {
        RESOLVED => {
            let payload =
                c.opt_json("payload")?.ok_or_else(|| corrupt("wait outcome", "resolved without a payload"))?;
            Ok(Some(WaitOutcome::Resolved { payload }))
        }
        TIMEOUT => Ok(Some(WaitOutcome::Timeout)),
        other => Err(corrupt("wait outcome", other)),
    }
}

/// Records (or replaces) the outcome of a `(task, step)` wait.
pub(crate) async fn record_outcome(
    conn: &mut SqliteConnection,
    task: TaskId,
    step: &str,
    outcome: &WaitOutcome,
) -> Result<(), StoreError> {
    let (kind, payload) = match outcome {
        WaitOutcome::Resolved { payload } => (RESOLVED, Some(json(payload))),
        WaitOutcome::Timeout => (TIMEOUT, None),
    };
    sqlx::query(
        "INSERT INTO wait_outcomes (task_id, step_name, outcome, payload) VALUES (?, ?, ?, ?) \
         ON CONFLICT (task_id, step_name) DO UPDATE SET outcome = excluded.outcome, payload = excluded.payload",
    )
    .bind(task.to_string())
    .bind(step)
    .bind(kind)
    .bind(payload)
    .execute(conn)
    .await
    .map_err(errors::map_sql)?;
    Ok(())
}

/// Every recorded wait outcome of a task, by step name.
pub(crate) async fn outcomes_of(
    conn: &mut SqliteConnection,
    task: TaskId,
) -> Result<Vec<(String, WaitOutcome)>, StoreError> {
    let rows =
        sqlx::query("SELECT step_name, outcome, payload FROM wait_outcomes WHERE task_id = ? ORDER BY step_name")
            .bind(task.to_string())
            .fetch_all(conn)
            .await
            .map_err(errors::map_sql)?;
    rows.iter()
        .map(|row| {
            let c = Cols(row);
            let outcome = match c.text("outcome")?.as_str() {
                RESOLVED => WaitOutcome::Resolved {
                    payload: c
                        .opt_json("payload")?
                        .ok_or_else(|| corrupt("wait outcome", "resolved without a payload"))?,
                },
                TIMEOUT => WaitOutcome::Timeout,
                other => return Err(corrupt("wait outcome", other)),
            };
            Ok((c.text("step_name")?, outcome))
        })
        .collect()
}
