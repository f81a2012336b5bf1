//! The `tasks` table.

use durable_domain::machine;
use durable_domain::retry::{RetryKind, RetryStrategy};
use durable_domain::{Task, TaskId, TaskSpec, TaskStatus};
use durable_ports::StoreError;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;

use super::{Cols, duration_micros, json, micros, opt_json, opt_micros};
use crate::errors::{self, corrupt};

/// The columns [`decode`] reads, from the table aliased `t`.
pub(crate) const COLUMNS: &str = "t.id AS t_id, t.queue AS t_queue, t.task_name AS t_task_name, \
    t.params AS t_params, t.headers AS t_headers, t.retry_kind AS t_retry_kind, \
    t.retry_base_seconds AS t_retry_base_seconds, t.retry_factor AS t_retry_factor, \
    t.retry_max_seconds AS t_retry_max_seconds, t.max_attempts AS t_max_attempts, \
    t.start_timeout_us AS t_start_timeout_us, t.execution_timeout_us AS t_execution_timeout_us, \
    t.workflow_run_id AS t_workflow_run_id, t.idempotency_key AS t_idempotency_key, t.run_at AS t_run_at, \
    t.status AS t_status, t.attempts AS t_attempts, t.failures AS t_failures, \
    t.consecutive_expiries AS t_consecutive_expiries, t.current_run AS t_current_run, \
    t.result AS t_result, t.last_error AS t_last_error, t.created_at AS t_created_at, \
    t.first_claimed_at AS t_first_claimed_at, t.completed_at AS t_completed_at, \
    t.parent_task_id AS t_parent_task_id, t.result_watched AS t_result_watched, t.priority AS t_priority, \
    t.concurrency_key AS t_concurrency_key";

pub(crate) fn decode(row: &SqliteRow) -> Result<Task, StoreError> {
    let c = Cols(row);
    let retry_strategy = match c.opt_text("t_retry_kind")? {
        None => None,
        Some(kind) => Some(RetryStrategy {
            kind: RetryKind::parse(&kind).ok_or_else(|| corrupt("t_retry_kind", &kind))?,
            base_seconds: c.opt_real("t_retry_base_seconds")?.ok_or_else(|| corrupt("t_retry_base_seconds", "NULL"))?,
            factor: c.opt_real("t_retry_factor")?,
            max_seconds: c.opt_real("t_retry_max_seconds")?,
        }),
    };
    let headers = serde_json::from_value(c.json("t_headers")?).map_err(|e| corrupt("t_headers", e))?;
    Ok(Task {
        id: c.parse("t_id")?,
        queue: c.named("t_queue", |raw| durable_domain::QueueName::parse("queue", raw).ok())?,
        spec: TaskSpec {
            task_name: c.text("t_task_name")?,
            params: c.json("t_params")?,
            headers,
            retry_strategy,
            max_attempts: c.u32("t_max_attempts")?,
            start_timeout: c.opt_duration("t_start_timeout_us")?,
            execution_timeout: c.opt_duration("t_execution_timeout_us")?,
            workflow_run_id: c.opt_parse("t_workflow_run_id")?,
            parent_task_id: c.opt_parse("t_parent_task_id")?,
            idempotency_key: c.opt_text("t_idempotency_key")?,
            run_at: c.opt_time("t_run_at")?,
            priority: c.i16("t_priority")?,
            concurrency_key: c.opt_text("t_concurrency_key")?,
        },
        status: c.named("t_status", TaskStatus::parse)?,
        attempts: c.u32("t_attempts")?,
        failures: c.u32("t_failures")?,
        consecutive_expiries: c.u32("t_consecutive_expiries")?,
        current_run: c.parse("t_current_run")?,
        result: c.opt_json("t_result")?,
        last_error: c.opt_text("t_last_error")?,
        created_at: c.time("t_created_at")?,
        first_claimed_at: c.opt_time("t_first_claimed_at")?,
        completed_at: c.opt_time("t_completed_at")?,
        result_watched: c.u32("t_result_watched")? != 0,
    })
}

/// The indexed timeout deadline (the partial index also drops finished tasks).
fn deadline(task: &Task) -> Option<i64> {
    opt_micros(machine::deadline(task))
}

pub(crate) async fn insert(conn: &mut SqliteConnection, task: &Task) -> Result<(), StoreError> {
    let spec = &task.spec;
    let retry = spec.retry_strategy.as_ref();
    let headers = serde_json::to_string(&spec.headers).map_err(|e| StoreError::Other(e.to_string()))?;
    sqlx::query(
        "INSERT INTO tasks (id, queue, task_name, params, headers, retry_kind, retry_base_seconds, retry_factor, \
         retry_max_seconds, max_attempts, start_timeout_us, execution_timeout_us, workflow_run_id, idempotency_key, \
         run_at, status, attempts, failures, consecutive_expiries, current_run, result, last_error, created_at, \
         first_claimed_at, completed_at, deadline, parent_task_id, priority, concurrency_key) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(task.id.to_string())
    .bind(task.queue.as_str())
    .bind(&spec.task_name)
    .bind(json(&spec.params))
    .bind(headers)
    .bind(retry.map(|r| r.kind.as_str()))
    .bind(retry.map(|r| r.base_seconds))
    .bind(retry.and_then(|r| r.factor))
    .bind(retry.and_then(|r| r.max_seconds))
    .bind(i64::from(spec.max_attempts))
    .bind(spec.start_timeout.map(duration_micros))
    .bind(spec.execution_timeout.map(duration_micros))
    .bind(spec.workflow_run_id.map(|id| id.to_string()))
    .bind(spec.idempotency_key.as_deref())
    .bind(opt_micros(spec.run_at))
    .bind(task.status.as_str())
    .bind(i64::from(task.attempts))
    .bind(i64::from(task.failures))
    .bind(i64::from(task.consecutive_expiries))
    .bind(task.current_run.to_string())
    .bind(opt_json(task.result.as_ref()))
    .bind(task.last_error.as_deref())
    .bind(micros(task.created_at))
    .bind(opt_micros(task.first_claimed_at))
    .bind(opt_micros(task.completed_at))
    .bind(deadline(task))
    .bind(spec.parent_task_id.map(|id| id.to_string()))
    .bind(i64::from(spec.priority))
    .bind(spec.concurrency_key.as_deref())
    .execute(conn)
    .await
    .map_err(errors::map_sql)?;
    Ok(())
}

/// Writes back what a transition may change; the spec never changes.
pub(crate) async fn update(conn: &mut SqliteConnection, task: &Task) -> Result<(), StoreError> {
    update_all(conn, &[task]).await
}

/// Writes back what transitions may change, for any number of tasks in one
/// statement: each row's values travel as one JSON array (the id last), so
/// the statement is the same text, prepared once, for one task or a batch.
pub(crate) async fn update_all(conn: &mut SqliteConnection, tasks: &[&Task]) -> Result<(), StoreError> {
    if tasks.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = tasks
        .iter()
        .map(|task| {
            serde_json::json!([
                task.status.as_str(),
                i64::from(task.attempts),
                i64::from(task.failures),
                i64::from(task.consecutive_expiries),
                task.current_run.to_string(),
                opt_json(task.result.as_ref()),
                task.last_error.as_deref(),
                opt_micros(task.first_claimed_at),
                opt_micros(task.completed_at),
                deadline(task),
                task.id.to_string(),
            ])
        })
        .collect();
    let done = sqlx::query(
        "UPDATE tasks SET status = u.value ->> 0, attempts = u.value ->> 1, failures = u.value ->> 2, \
         consecutive_expiries = u.value ->> 3, current_run = u.value ->> 4, result = u.value ->> 5, \
         last_error = u.value ->> 6, first_claimed_at = u.value ->> 7, completed_at = u.value ->> 8, \
         deadline = u.value ->> 9 \
         FROM json_each(?) AS u WHERE tasks.id = u.value ->> 10",
    )
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(conn)
    .await
    .map_err(errors::map_sql)?;
    // The write lock was held since the rows were loaded, so they must
    // still be there; anything else is a bug worth failing the transaction
    // for.
    if done.rows_affected() != tasks.len() as u64 {
        return Err(StoreError::Other(format!(
            "{} of {} tasks vanished during their update",
            tasks.len() as u64 - done.rows_affected(),
            tasks.len()
        )));
    }
    Ok(())
}

pub(crate) async fn exists(conn: &mut SqliteConnection, id: TaskId) -> Result<bool, StoreError> {
    sqlx::query_scalar::<_, i64>("SELECT EXISTS (SELECT 1 FROM tasks WHERE id = ?)")
        .bind(id.to_string())
        .fetch_one(conn)
        .await
        .map(|found| found != 0)
        .map_err(errors::map_sql)
}
