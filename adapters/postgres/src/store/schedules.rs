//! Cron schedules: create, list, get, patch, delete, and firing the due ones.

use durable_domain::schedule::{self, CatchUp, CronExpr, MAX_TICKS_PER_PASS, Schedule, ScheduleName, SchedulePatch};
use durable_domain::{NotFound, QueueName, Rejection, TaskId, TaskSpec, Timestamp};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use time::Duration;

use super::tasks;
use super::tx::in_transaction;
use crate::errors::{Result, corrupt};
use crate::json_text::JsonText;

const COLUMNS: &str = "name, queue, cron, timezone, task, catch_up, paused, next_tick, last_tick, last_task_id, \
                       created_at, updated_at";

fn decode(row: &PgRow) -> Result<Schedule> {
    let text = |col: &str| -> Result<String> { Ok(row.try_get::<String, _>(col)?) };
    let bad = |col: &str, e: &dyn std::fmt::Display| corrupt(format!("schedule {col}: {e}"));
    let task: Value = row.try_get("task")?;
    Ok(Schedule {
        name: ScheduleName::parse("name", &text("name")?).map_err(|e| bad("name", &e))?,
        queue: QueueName::parse("queue", &text("queue")?).map_err(|e| bad("queue", &e))?,
        cron: CronExpr::parse("cron", &text("cron")?).map_err(|e| bad("cron", &e))?,
        timezone: schedule::parse_timezone("timezone", &text("timezone")?).map_err(|e| bad("timezone", &e))?,
        task: schedule::template_from_document(task).map_err(|e| bad("task", &e))?,
        catch_up: CatchUp::parse("catch_up", &text("catch_up")?).map_err(|e| bad("catch_up", &e))?,
        paused: row.try_get("paused")?,
        next_tick: row.try_get("next_tick")?,
        last_tick: row.try_get("last_tick")?,
        last_task_id: row.try_get::<Option<uuid::Uuid>, _>("last_task_id")?.map(TaskId::from_uuid),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(crate) async fn create(pool: &PgPool, schedule: Schedule) -> Result<Schedule> {
    in_transaction(pool, async |tx| {
        // As a foreign key would: the queue cannot go before we commit.
        let queue = sqlx::query("SELECT 1 FROM queues WHERE name = $1 FOR KEY SHARE")
            .bind(schedule.queue.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if queue.is_none() {
            return Err(NotFound::Queue(schedule.queue.to_string()).into());
        }
        let inserted = sqlx::query(&format!(
            "INSERT INTO schedules ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (name) DO NOTHING"
        ))
        .bind(schedule.name.as_str())
        .bind(schedule.queue.as_str())
        .bind(schedule.cron.as_str())
        .bind(schedule.timezone.name())
        .bind(JsonText::of(&schedule::template_document(&schedule.task)))
        .bind(schedule.catch_up.as_str())
        .bind(schedule.paused)
        .bind(schedule.next_tick)
        .bind(schedule.last_tick)
        .bind(schedule.last_task_id.map(|id| id.as_uuid()))
        .bind(schedule.created_at)
        .bind(schedule.updated_at)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(Rejection::ScheduleExists(schedule.name.to_string()).into());
        }
        Ok(schedule.clone())
    })
    .await
}

pub(crate) async fn list(pool: &PgPool) -> Result<Vec<Schedule>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM schedules ORDER BY name")).fetch_all(pool).await?;
    rows.iter().map(decode).collect()
}

pub(crate) async fn get(pool: &PgPool, name: &ScheduleName) -> Result<Schedule> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM schedules WHERE name = $1"))
        .bind(name.as_str())
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| NotFound::Schedule(name.to_string()))?;
    decode(&row)
}

async fn save(conn: &mut PgConnection, s: &Schedule) -> Result<()> {
    sqlx::query(
        "UPDATE schedules SET cron = $2, timezone = $3, task = $4, catch_up = $5, paused = $6, next_tick = $7, \
         last_tick = $8, last_task_id = $9, updated_at = $10 WHERE name = $1",
    )
    .bind(s.name.as_str())
    .bind(s.cron.as_str())
    .bind(s.timezone.name())
    .bind(JsonText::of(&schedule::template_document(&s.task)))
    .bind(s.catch_up.as_str())
    .bind(s.paused)
    .bind(s.next_tick)
    .bind(s.last_tick)
    .bind(s.last_task_id.map(|id| id.as_uuid()))
    .bind(s.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn update(
    pool: &PgPool,
    name: &ScheduleName,
    patch: SchedulePatch,
    now: Timestamp,
) -> Result<Schedule> {
    in_transaction(pool, async |tx| {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM schedules WHERE name = $1 FOR UPDATE"))
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| NotFound::Schedule(name.to_string()))?;
        let mut schedule = decode(&row)?;
        schedule.apply(patch.clone(), now);
        save(tx, &schedule).await?;
        Ok(schedule)
    })
    .await
}

pub(crate) async fn delete(pool: &PgPool, name: &ScheduleName) -> Result<()> {
    let deleted = sqlx::query("DELETE FROM schedules WHERE name = $1").bind(name.as_str()).execute(pool).await?;
    if deleted.rows_affected() == 0 {
        return Err(NotFound::Schedule(name.to_string()).into());
    }
    Ok(())
}

/// The names of up to `limit` schedules due at `now`, earliest tick first.
pub(crate) async fn due(pool: &PgPool, now: Timestamp, limit: u32) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM schedules WHERE NOT paused AND next_tick <= $1 ORDER BY next_tick LIMIT $2",
    )
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?)
}

/// What firing one schedule did: ticks fired and the queues to wake.
pub(crate) type Fired = (usize, Vec<QueueName>);

/// Fires one schedule in one transaction under its row lock: a replica that
/// finds the row locked skips it (the other is firing it), and one that
/// comes after sees it moved past the ticks. The ticks' idempotency keys
/// make a second creation of a tick's task a no-op besides.
pub(crate) async fn fire_one(pool: &PgPool, name: &str, now: Timestamp, grace: Duration) -> Result<Fired> {
    in_transaction(pool, async |tx| {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM schedules WHERE name = $1 AND NOT paused AND next_tick <= $2 \
             FOR UPDATE SKIP LOCKED"
        ))
        .bind(name)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok((0, Vec::new())) };
        let mut schedule = decode(&row)?;
        let Some(firing) = schedule.due(now, grace, MAX_TICKS_PER_PASS) else { return Ok((0, Vec::new())) };
        let specs: Vec<TaskSpec> = firing.ticks.iter().map(|tick| schedule.tick_task(*tick)).collect();
        let (last_task, wake) = if specs.is_empty() {
            (None, Vec::new())
        } else {
            let created = tasks::create_in(tx, &schedule.queue, specs, now).await?;
            (created.tasks.last().map(|t| t.task_id), created.wake)
        };
        schedule.fired(&firing, last_task);
        save(tx, &schedule).await?;
        Ok((firing.ticks.len(), wake))
    })
    .await
}
