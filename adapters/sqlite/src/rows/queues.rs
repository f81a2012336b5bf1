//! The `queues` table.

use durable_domain::flow::FlowLimits;
use durable_domain::{CleanupPolicy, NotFound, Queue, QueueName, ValidationError};
use durable_ports::StoreError;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;

use super::{Cols, micros};
use crate::errors;

pub(crate) const COLUMNS: &str =
    "name, created_at, task_ttl_seconds, event_ttl_seconds, key_concurrency_limit, concurrency_limit";

pub(crate) fn decode(row: &SqliteRow) -> Result<Queue, StoreError> {
    let c = Cols(row);
    Ok(Queue {
        name: c.named("name", |raw| QueueName::parse("queue", raw).ok())?,
        created_at: c.time("created_at")?,
        cleanup: CleanupPolicy {
            task_ttl_seconds: c.u64("task_ttl_seconds")?,
            event_ttl_seconds: c.u64("event_ttl_seconds")?,
        },
        flow: FlowLimits {
            key_concurrency_limit: c.u32("key_concurrency_limit")?,
            concurrency_limit: c.opt_u32("concurrency_limit")?,
        },
    })
}

pub(crate) async fn insert(conn: &mut SqliteConnection, queue: &Queue) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO queues (name, created_at, task_ttl_seconds, event_ttl_seconds, key_concurrency_limit, \
         concurrency_limit) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(queue.name.as_str())
    .bind(micros(queue.created_at))
    .bind(ttl("task_ttl_seconds", queue.cleanup.task_ttl_seconds)?)
    .bind(ttl("event_ttl_seconds", queue.cleanup.event_ttl_seconds)?)
    .bind(i64::from(queue.flow.key_concurrency_limit))
    .bind(queue.flow.concurrency_limit.map(i64::from))
    .execute(conn)
    .await
    .map_err(errors::map_sql)?;
    Ok(())
}

/// SQLite integers are signed: a TTL past `i64::MAX` seconds cannot be kept.
fn ttl(field: &str, seconds: u64) -> Result<i64, StoreError> {
    i64::try_from(seconds).map_err(|_| ValidationError::invalid(field, format!("must be at most {}", i64::MAX)).into())
}

/// Writes a queue's flow settings.
pub(crate) async fn update_flow(conn: &mut SqliteConnection, queue: &Queue) -> Result<(), StoreError> {
    sqlx::query("UPDATE queues SET key_concurrency_limit = ?, concurrency_limit = ? WHERE name = ?")
        .bind(i64::from(queue.flow.key_concurrency_limit))
        .bind(queue.flow.concurrency_limit.map(i64::from))
        .bind(queue.name.as_str())
        .execute(conn)
        .await
        .map_err(errors::map_sql)?;
    Ok(())
}

/// The queue, or `NotFound`.
pub(crate) async fn get(conn: &mut SqliteConnection, name: &QueueName) -> Result<Queue, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM queues WHERE name = ?"))
        .bind(name.as_str())
        .fetch_optional(conn)
        .await
        .map_err(errors::map_sql)?;
    match row {
        Some(row) => decode(&row),
        None => Err(NotFound::Queue(name.to_string()).into()),
    }
}

/// Every queue, by name.
pub(crate) async fn all(conn: &mut SqliteConnection) -> Result<Vec<Queue>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM queues ORDER BY name"))
        .fetch_all(conn)
        .await
        .map_err(errors::map_sql)?;
    rows.iter().map(decode).collect()
}
