//! Queues: create, list, delete, stats.

use durable_domain::flow::{FlowPatch, KeySlot};
use durable_domain::{Queue, QueueName, QueueStats, Rejection, RunStatus, Timestamp, ValidationError};
use durable_ports::StoreError;

use crate::db::Db;
use crate::errors;
use crate::rows::{self, micros};

pub(super) async fn create(db: &Db, queue: Queue, max_queues: usize) -> Result<Queue, StoreError> {
    db.write(move |tx| {
        Box::pin(async move {
            let (taken, count): (i64, i64) =
                sqlx::query_as("SELECT EXISTS (SELECT 1 FROM queues WHERE name = ?), (SELECT COUNT(*) FROM queues)")
                    .bind(queue.name.as_str())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(errors::map_sql)?;
            if taken != 0 {
                return Err(Rejection::QueueExists(queue.name.to_string()).into());
            }
            if usize::try_from(count).unwrap_or(usize::MAX) >= max_queues {
                let message = format!("the server's limit of {max_queues} queues is reached");
                return Err(ValidationError::new("name", message).into());
            }
            rows::queues::insert(tx, &queue).await?;
            Ok(queue)
        })
    })
    .await
}

/// Changes a queue's flow settings; a changed key limit re-admits every key
/// of the queue with pending runs.
pub(super) async fn update(db: &Db, name: &QueueName, patch: FlowPatch, now: Timestamp) -> Result<Queue, StoreError> {
    let name = name.clone();
    db.write(move |tx| {
        Box::pin(async move {
            let mut queue = rows::queues::get(tx, &name).await?;
            let changes_keys = patch.changes_keys(queue.flow);
            queue.flow = patch.apply(queue.flow);
            rows::queues::update_flow(tx, &queue).await?;
            if changes_keys {
                let keys: Vec<String> = sqlx::query_scalar(
                    // The keys with waiting runs, from the partial indexes
                    // that hold them.
                    "SELECT concurrency_key FROM runs \
                     WHERE queue = ?1 AND status = 'pending' AND held = 0 AND concurrency_key IS NOT NULL \
                     UNION SELECT concurrency_key FROM runs WHERE queue = ?1 AND held = 1",
                )
                .bind(name.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(errors::map_sql)?;
                for key in keys {
                    rows::admission::admit(tx, &KeySlot { queue: name.clone(), key }, now).await?;
                }
            }
            Ok(queue)
        })
    })
    .await
}

pub(super) async fn list(db: &Db) -> Result<Vec<Queue>, StoreError> {
    let mut conn = db.reader().acquire().await.map_err(errors::map_sql)?;
    rows::queues::all(&mut conn).await
}

pub(super) async fn delete(db: &Db, name: &QueueName, force: bool) -> Result<(), StoreError> {
    let name = name.clone();
    db.write(move |tx| {
        Box::pin(async move {
            rows::queues::get(tx, &name).await?;
            if !force {
                // Unfinished = pending status: its current run is pending, claimed or sleeping.
                let busy: i64 =
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tasks WHERE queue = ? AND status = 'pending')")
                        .bind(name.as_str())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(errors::map_sql)?;
                if busy != 0 {
                    return Err(Rejection::QueueNotEmpty(name.to_string()).into());
                }
            }
            // Runs, checkpoints and wait outcomes go with their tasks (ON DELETE CASCADE).
            sqlx::query("DELETE FROM tasks WHERE queue = ?")
                .bind(name.as_str())
                .execute(&mut *tx)
                .await
                .map_err(errors::map_sql)?;
            sqlx::query("DELETE FROM queues WHERE name = ?")
                .bind(name.as_str())
                .execute(&mut *tx)
                .await
                .map_err(errors::map_sql)?;
            Ok(())
        })
    })
    .await
}

/// Counts of a queue's runs by state and its oldest due run, each from a
/// partial index holding only runs in that state (its predicate repeated
/// word for word, as SQLite needs): a held run is pending, and a task
/// completes with exactly one completed run, so completed runs are counted
/// as completed tasks. `?1` the queue, `?2` now.
const STATS_SQL: &str = "\
SELECT (SELECT count(*) FROM runs WHERE queue = ?1 AND status = 'pending' AND held = 0) \
     + (SELECT count(*) FROM runs WHERE queue = ?1 AND held = 1) AS pending, \
       (SELECT count(*) FROM runs WHERE queue = ?1 AND status = 'claimed') AS claimed, \
       (SELECT count(*) FROM runs WHERE queue = ?1 AND status = 'sleeping') AS sleeping, \
       (SELECT count(*) FROM tasks WHERE queue = ?1 AND status <> 'pending' AND status = 'completed') AS completed, \
       (SELECT count(*) FROM runs WHERE queue = ?1 AND status = 'failed') AS failed, \
       (SELECT count(*) FROM runs WHERE queue = ?1 AND status = 'canceled') AS canceled, \
       (SELECT min(available_at) FROM ( \
            SELECT available_at FROM runs WHERE queue = ?1 AND status = 'pending' AND held = 0 AND available_at <= ?2 \
            UNION ALL SELECT available_at FROM runs WHERE queue = ?1 AND held = 1 AND available_at <= ?2)) AS oldest_due";

pub(super) async fn stats(db: &Db, name: &QueueName, now: Timestamp) -> Result<QueueStats, StoreError> {
    // One snapshot, so the counts and the age agree with each other.
    let mut tx = db.begin_read().await?;
    rows::queues::get(&mut tx, name).await?;
    let row = sqlx::query(STATS_SQL)
        .bind(name.as_str())
        .bind(micros(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(errors::map_sql)?;
    let cols = rows::Cols(&row);
    let by_status = [
        (RunStatus::Pending, cols.u64("pending")?),
        (RunStatus::Claimed, cols.u64("claimed")?),
        (RunStatus::Sleeping, cols.u64("sleeping")?),
        (RunStatus::Completed, cols.u64("completed")?),
        (RunStatus::Failed, cols.u64("failed")?),
        (RunStatus::Canceled, cols.u64("canceled")?),
    ];
    let oldest_due = cols.opt_time("oldest_due")?;
    Ok(QueueStats::tally(name.clone(), by_status, oldest_due, now))
}

/// Each count reads at most `cap` entries of a partial index: completed
/// runs are counted as completed tasks (`tasks_finished`; a task completes
/// with exactly one completed run), failed runs from `runs_failed`.
pub(super) async fn finished_counts(db: &Db, name: &QueueName, cap: u32) -> Result<(u64, u64), StoreError> {
    let mut conn = db.reader().acquire().await.map_err(errors::map_sql)?;
    rows::queues::get(&mut conn, name).await?;
    let (completed, failed): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE queue = ?1 AND status <> 'pending' \
                    AND status = 'completed' LIMIT ?2)), \
                (SELECT count(*) FROM (SELECT 1 FROM runs WHERE queue = ?1 AND status = 'failed' LIMIT ?2))",
    )
    .bind(name.as_str())
    .bind(i64::from(cap))
    .fetch_one(&mut *conn)
    .await
    .map_err(errors::map_sql)?;
    Ok((u64::try_from(completed).unwrap_or(0), u64::try_from(failed).unwrap_or(0)))
}
