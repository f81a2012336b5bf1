//! The `schedules` table.

use durable_domain::schedule::{self, CatchUp, CronExpr, Schedule, ScheduleName};
use durable_domain::{NotFound, QueueName, Timestamp};
use durable_ports::StoreError;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;

use super::{Cols, micros, opt_micros};
use crate::errors::{self, corrupt};

pub(crate) const COLUMNS: &str = "name, queue, cron, timezone, task, catch_up, paused, next_tick, last_tick, \
                                  last_task_id, created_at, updated_at";

pub(crate) fn decode(row: &SqliteRow) -> Result<Schedule, StoreError> {
    let c = Cols(row);
    let task = schedule::template_from_document(c.json("task")?).map_err(|e| corrupt("task", e))?;
    Ok(Schedule {
        name: c.named("name", |raw| ScheduleName::parse("name", raw).ok())?,
        queue: c.named("queue", |raw| QueueName::parse("queue", raw).ok())?,
        cron: c.named("cron", |raw| CronExpr::parse("cron", raw).ok())?,
        timezone: c.named("timezone", |raw| schedule::parse_timezone("timezone", raw).ok())?,
        task,
        catch_up: c.named("catch_up", |raw| CatchUp::parse("catch_up", raw).ok())?,
        paused: c.int("paused")? != 0,
        next_tick: c.opt_time("next_tick")?,
        last_tick: c.opt_time("last_tick")?,
        last_task_id: c.opt_parse("last_task_id")?,
        created_at: c.time("created_at")?,
        updated_at: c.time("updated_at")?,
    })
}

pub(crate) async fn insert(conn: &mut SqliteConnection, s: &Schedule) -> Result<(), StoreError> {
    sqlx::query(&format!("INSERT INTO schedules ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))
        .bind(s.name.as_str())
        .bind(s.queue.as_str())
        .bind(s.cron.as_str())
        .bind(s.timezone.name())
        .bind(schedule::template_document(&s.task).to_string())
        .bind(s.catch_up.as_str())
        .bind(i64::from(s.paused))
        .bind(opt_micros(s.next_tick))
        .bind(opt_micros(s.last_tick))
        .bind(s.last_task_id.map(|id| id.to_string()))
        .bind(micros(s.created_at))
        .bind(micros(s.updated_at))
        .execute(conn)
        .await
        .map_err(errors::map_sql)?;
    Ok(())
}

/// Writes everything a patch or a pass can change.
pub(crate) async fn update(conn: &mut SqliteConnection, s: &Schedule) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE schedules SET cron = ?, timezone = ?, task = ?, catch_up = ?, paused = ?, next_tick = ?, \
         last_tick = ?, last_task_id = ?, updated_at = ? WHERE name = ?",
    )
    .bind(s.cron.as_str())
    .bind(s.timezone.name())
    .bind(schedule::template_document(&s.task).to_string())
    .bind(s.catch_up.as_str())
    .bind(i64::from(s.paused))
    .bind(opt_micros(s.next_tick))
    .bind(opt_micros(s.last_tick))
    .bind(s.last_task_id.map(|id| id.to_string()))
    .bind(micros(s.updated_at))
    .bind(s.name.as_str())
    .execute(conn)
    .await
    .map_err(errors::map_sql)?;
    Ok(())
}

pub(crate) async fn get(conn: &mut SqliteConnection, name: &ScheduleName) -> Result<Schedule, StoreError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM schedules WHERE name = ?"))
        .bind(name.as_str())
        .fetch_optional(conn)
        .await
        .map_err(errors::map_sql)?;
    match row {
        Some(row) => decode(&row),
        None => Err(NotFound::Schedule(name.to_string()).into()),
    }
}

/// Every schedule, by name; rows that cannot be decoded are errors, as a
/// read of one would be.
pub(crate) async fn all(conn: &mut SqliteConnection) -> Result<Vec<Schedule>, StoreError> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM schedules ORDER BY name"))
        .fetch_all(conn)
        .await
        .map_err(errors::map_sql)?;
    rows.iter().map(decode).collect()
}

/// The rows of up to `limit` schedules due at `now`, earliest tick first.
pub(crate) async fn due(conn: &mut SqliteConnection, now: Timestamp, limit: u32) -> Result<Vec<SqliteRow>, StoreError> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM schedules WHERE paused = 0 AND next_tick IS NOT NULL AND next_tick <= ? \
         ORDER BY next_tick LIMIT ?"
    ))
    .bind(micros(now))
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await
    .map_err(errors::map_sql)
}
