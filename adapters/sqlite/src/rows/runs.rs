//! The `runs` table.

use durable_domain::flow;
use durable_domain::task::EventWait;
use durable_domain::{QueueName, Run, RunStatus, Timestamp};
use durable_ports::StoreError;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;

use super::{Cols, admission, micros, opt_json, opt_micros};
use crate::errors::{self, corrupt};

/// The columns [`decode`] reads, from the table aliased `r`.
pub(crate) const COLUMNS: &str = "r.id AS r_id, r.task_id AS r_task_id, r.queue AS r_queue, \
    r.attempt AS r_attempt, r.status AS r_status, r.available_at AS r_available_at, \
    r.claimed_at AS r_claimed_at, r.claim_expires_at AS r_claim_expires_at, r.worker_id AS r_worker_id, \
    r.wait_event AS r_wait_event, r.wait_step AS r_wait_step, r.result AS r_result, r.error AS r_error, \
    r.created_at AS r_created_at, r.completed_at AS r_completed_at, r.priority AS r_priority, \
    r.concurrency_key AS r_concurrency_key, r.held AS r_held";

pub(crate) fn decode(row: &SqliteRow) -> Result<Run, StoreError> {
    let c = Cols(row);
    let wait = match (c.opt_text("r_wait_event")?, c.opt_text("r_wait_step")?) {
        (Some(event_name), Some(step_name)) => Some(EventWait { event_name, step_name }),
        (None, None) => None,
        _ => {
            return Err(corrupt("r_wait_event", "an event wait without its step, or the reverse"));
        }
    };
    Ok(Run {
        id: c.parse("r_id")?,
        task_id: c.parse("r_task_id")?,
        queue: c.named("r_queue", |raw| QueueName::parse("queue", raw).ok())?,
        attempt: c.u32("r_attempt")?,
        status: c.named("r_status", RunStatus::parse)?,
        available_at: c.time("r_available_at")?,
        claimed_at: c.opt_time("r_claimed_at")?,
        claim_expires_at: c.opt_time("r_claim_expires_at")?,
        worker_id: c.opt_text("r_worker_id")?,
        wait,
        result: c.opt_json("r_result")?,
        error: c.opt_text("r_error")?,
        created_at: c.time("r_created_at")?,
        completed_at: c.opt_time("r_completed_at")?,
        priority: c.i16("r_priority")?,
        concurrency_key: c.opt_text("r_concurrency_key")?,
        held: c.u32("r_held")? != 0,
    })
}

/// Inserts a run made at `now`, then admits its concurrency key.
pub(crate) async fn insert(conn: &mut SqliteConnection, run: &Run, now: Timestamp) -> Result<(), StoreError> {
    let wait = run.wait.as_ref();
    sqlx::query(
        "INSERT INTO runs (id, task_id, queue, attempt, status, available_at, claimed_at, claim_expires_at, \
         worker_id, wait_event, wait_step, result, error, created_at, completed_at, priority, concurrency_key, \
         held) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(run.id.to_string())
    .bind(run.task_id.to_string())
    .bind(run.queue.as_str())
    .bind(i64::from(run.attempt))
    .bind(run.status.as_str())
    .bind(micros(run.available_at))
    .bind(opt_micros(run.claimed_at))
    .bind(opt_micros(run.claim_expires_at))
    .bind(run.worker_id.as_deref())
    .bind(wait.map(|w| w.event_name.as_str()))
    .bind(wait.map(|w| w.step_name.as_str()))
    .bind(opt_json(run.result.as_ref()))
    .bind(run.error.as_deref())
    .bind(micros(run.created_at))
    .bind(opt_micros(run.completed_at))
    .bind(i64::from(run.priority))
    .bind(run.concurrency_key.as_deref())
    .bind(i64::from(run.held))
    .execute(&mut *conn)
    .await
    .map_err(errors::map_sql)?;
    admission::after_write(conn, run, now).await
}

/// Writes back what a transition at `now` may change, then re-admits the
/// run's concurrency key when the write may have changed its occupancy.
pub(crate) async fn update(conn: &mut SqliteConnection, run: &Run, now: Timestamp) -> Result<(), StoreError> {
    update_all(conn, &[run], now).await
}

/// [`update`] for any number of runs in one statement (each row's values as
/// one JSON array, the id last), then the admissions of the keys the runs
/// touched and the signals of capped queues a run may have freed a slot of.
pub(crate) async fn update_all(conn: &mut SqliteConnection, runs: &[&Run], now: Timestamp) -> Result<(), StoreError> {
    if runs.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = runs
        .iter()
        .map(|run| {
            let wait = run.wait.as_ref();
            serde_json::json!([
                run.status.as_str(),
                micros(run.available_at),
                opt_micros(run.claimed_at),
                opt_micros(run.claim_expires_at),
                run.worker_id.as_deref(),
                wait.map(|w| w.event_name.as_str()),
                wait.map(|w| w.step_name.as_str()),
                opt_json(run.result.as_ref()),
                run.error.as_deref(),
                opt_micros(run.completed_at),
                i64::from(run.held),
                run.id.to_string(),
            ])
        })
        .collect();
    let done = sqlx::query(
        "UPDATE runs SET status = u.value ->> 0, available_at = u.value ->> 1, claimed_at = u.value ->> 2, \
         claim_expires_at = u.value ->> 3, worker_id = u.value ->> 4, wait_event = u.value ->> 5, \
         wait_step = u.value ->> 6, result = u.value ->> 7, error = u.value ->> 8, completed_at = u.value ->> 9, \
         held = u.value ->> 10 \
         FROM json_each(?) AS u WHERE runs.id = u.value ->> 11",
    )
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(&mut *conn)
    .await
    .map_err(errors::map_sql)?;
    // See `tasks::update_all`: the write lock makes a vanished row a bug.
    if done.rows_affected() != runs.len() as u64 {
        return Err(StoreError::Other(format!(
            "{} of {} runs vanished during their update",
            runs.len() as u64 - done.rows_affected(),
            runs.len()
        )));
    }
    for slot in flow::keys_to_admit(runs.iter().copied()) {
        admission::admit(conn, &slot, now).await?;
    }
    let mut signalled: Vec<&QueueName> = Vec::new();
    for run in runs {
        if run.status != RunStatus::Claimed && !signalled.contains(&&run.queue) {
            signalled.push(&run.queue);
            admission::signal_if_capped(conn, run).await?;
        }
    }
    Ok(())
}
