//! Cron schedules: create, list, get, patch, delete, and firing the due ones.

use durable_domain::schedule::{MAX_TICKS_PER_PASS, Schedule, ScheduleName, SchedulePatch};
use durable_domain::{Rejection, TaskSpec, Timestamp};
use durable_ports::StoreError;
use durable_ports::store::FiredSchedules;
use time::Duration;

use super::tasks;
use crate::db::Db;
use crate::errors;
use crate::rows;

pub(super) async fn create(db: &Db, schedule: Schedule) -> Result<Schedule, StoreError> {
    db.write(move |tx| {
        Box::pin(async move {
            rows::queues::get(tx, &schedule.queue).await?;
            let taken: i64 = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM schedules WHERE name = ?)")
                .bind(schedule.name.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(errors::map_sql)?;
            if taken != 0 {
                return Err(Rejection::ScheduleExists(schedule.name.to_string()).into());
            }
            rows::schedules::insert(tx, &schedule).await?;
            Ok(schedule)
        })
    })
    .await
}

pub(super) async fn list(db: &Db) -> Result<Vec<Schedule>, StoreError> {
    let mut conn = db.reader().acquire().await.map_err(errors::map_sql)?;
    rows::schedules::all(&mut conn).await
}

pub(super) async fn get(db: &Db, name: &ScheduleName) -> Result<Schedule, StoreError> {
    let mut conn = db.reader().acquire().await.map_err(errors::map_sql)?;
    rows::schedules::get(&mut conn, name).await
}

pub(super) async fn update(
    db: &Db,
    name: &ScheduleName,
    patch: SchedulePatch,
    now: Timestamp,
) -> Result<Schedule, StoreError> {
    let name = name.clone();
    db.write(move |tx| {
        Box::pin(async move {
            let mut schedule = rows::schedules::get(tx, &name).await?;
            schedule.apply(patch, now);
            rows::schedules::update(tx, &schedule).await?;
            Ok(schedule)
        })
    })
    .await
}

pub(super) async fn delete(db: &Db, name: &ScheduleName) -> Result<(), StoreError> {
    let name = name.clone();
    db.write(move |tx| {
        Box::pin(async move {
            rows::schedules::get(tx, &name).await?;
            sqlx::query("DELETE FROM schedules WHERE name = ?")
                .bind(name.as_str())
                .execute(&mut *tx)
                .await
                .map_err(errors::map_sql)?;
            Ok(())
        })
    })
    .await
}

/// Each due schedule fires in a write of its own, so one that fails is
/// logged and undone alone; rows that cannot be decoded are left out.
pub(super) async fn fire(db: &Db, now: Timestamp, grace: Duration, limit: u32) -> Result<FiredSchedules, StoreError> {
    let due = {
        let mut conn = db.reader().acquire().await.map_err(errors::map_sql)?;
        rows::schedules::due(&mut conn, now, limit).await?
    };
    let skipped = db.skipped();
    let names: Vec<ScheduleName> = due
        .iter()
        .filter_map(|row| skipped.decoded("schedules", row, rows::schedules::decode))
        .map(|s| s.name)
        .collect();
    let mut fired = FiredSchedules::default();
    for name in names {
        let pass = db
            .write({
                let name = name.clone();
                move |tx| {
                    Box::pin(async move {
                        // Read again under the write lock: a patch or another
                        // pass may have moved it since.
                        let mut schedule = rows::schedules::get(tx, &name).await?;
                        let Some(firing) = schedule.due(now, grace, MAX_TICKS_PER_PASS) else {
                            return Ok((0, Vec::new()));
                        };
                        let specs: Vec<TaskSpec> = firing.ticks.iter().map(|tick| schedule.tick_task(*tick)).collect();
                        let created = if specs.is_empty() {
                            None
                        } else {
                            Some(tasks::create_in(tx, &schedule.queue, specs, now).await?)
                        };
                        let last_task = created.as_ref().and_then(|c| c.tasks.last()).map(|t| t.task_id);
                        schedule.fired(&firing, last_task);
                        rows::schedules::update(tx, &schedule).await?;
                        Ok((firing.ticks.len(), created.map(|c| c.wake).unwrap_or_default()))
                    })
                }
            })
            .await;
        match pass {
            Ok((ticks, wake)) => {
                fired.ticks += ticks;
                fired.wake.extend(wake);
            }
            Err(StoreError::Unavailable(e)) => return Err(StoreError::Unavailable(e)),
            Err(err) => tracing::error!(schedule = %name, error = %err, "a schedule could not fire; the others go on"),
        }
    }
    fired.wake.sort();
    fired.wake.dedup();
    Ok(fired)
}
