//! Queues: create (under the queue limit), list, delete, statistics.

use durable_domain::flow::{FlowPatch, KeySlot};
use durable_domain::{NotFound, Queue, QueueName, QueueStats, Rejection, RunStatus, Timestamp, ValidationError};
use sqlx::{PgConnection, PgPool};

use super::tx::in_transaction;
use super::{admission, locks};
use crate::errors::{Error, Result, UNIQUE_VIOLATION, sqlstate};
use crate::rows::{self, queue_columns};

pub(crate) async fn create(pool: &PgPool, queue: Queue, max_queues: usize) -> Result<Queue> {
    in_transaction(pool, async |tx| {
        // Serializes creators, so two replicas cannot both take the last slot
        // under the limit.
        locks::queue_registry(tx).await?;
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM queues WHERE name = $1)")
            .bind(queue.name.as_str())
            .fetch_one(&mut *tx)
            .await?;
        if exists {
            return Err(Rejection::QueueExists(queue.name.to_string()).into());
        }
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM queues").fetch_one(&mut *tx).await?;
        if usize::try_from(count).unwrap_or(usize::MAX) >= max_queues {
            return Err(queue_limit(max_queues).into());
        }
        let inserted = sqlx::query(
            "INSERT INTO queues (name, created_at, task_ttl_seconds, event_ttl_seconds, key_concurrency_limit, \
                 concurrency_limit) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(queue.name.as_str())
        .bind(queue.created_at)
        .bind(rows::ttl_column(queue.cleanup.task_ttl_seconds))
        .bind(rows::ttl_column(queue.cleanup.event_ttl_seconds))
        .bind(i64::from(queue.flow.key_concurrency_limit))
        .bind(queue.flow.concurrency_limit.map(i64::from))
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(err) if sqlstate(&err) == Some(UNIQUE_VIOLATION) => {
                return Err(Rejection::QueueExists(queue.name.to_string()).into());
            }
            other => other?,
        };
        Ok(queue)
    })
    .await
}

pub(crate) async fn list(pool: &PgPool) -> Result<Vec<Queue>> {
    // "C" collation: byte order, the same order every other store uses.
    let rows = sqlx::query(concat!("SELECT ", queue_columns!(), " FROM queues ORDER BY name COLLATE \"C\""))
        .fetch_all(pool)
        .await?;
    rows.iter().map(rows::queue).collect()
}

/// Changes a queue's flow settings; a changed key limit re-admits every key
/// of the queue with pending runs.
pub(crate) async fn update(pool: &PgPool, name: &QueueName, patch: FlowPatch, now: Timestamp) -> Result<Queue> {
    in_transaction(pool, async |tx| {
        let row = sqlx::query(concat!("SELECT ", queue_columns!(), " FROM queues WHERE name = $1 FOR NO KEY UPDATE"))
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| NotFound::Queue(name.to_string()))?;
        let mut queue = rows::queue(&row)?;
        let changes_keys = patch.changes_keys(queue.flow);
        queue.flow = patch.apply(queue.flow);
        sqlx::query("UPDATE queues SET key_concurrency_limit = $2, concurrency_limit = $3 WHERE name = $1")
            .bind(name.as_str())
            .bind(i64::from(queue.flow.key_concurrency_limit))
            .bind(queue.flow.concurrency_limit.map(i64::from))
            .execute(&mut *tx)
            .await?;
        if changes_keys {
            // The keys with live runs, read from the two partial indexes
            // that hold them (admitting a key with nothing waiting changes
            // nothing).
            let keys: Vec<String> = sqlx::query_scalar(
                "SELECT concurrency_key FROM runs WHERE queue = $1 AND concurrency_key IS NOT NULL \
                     AND (status = 'claimed' OR (status = 'pending' AND NOT held)) \
                 UNION SELECT concurrency_key FROM runs WHERE queue = $1 AND held",
            )
            .bind(name.as_str())
            .fetch_all(&mut *tx)
            .await?;
            let slots: Vec<KeySlot> = keys.into_iter().map(|key| KeySlot { queue: name.clone(), key }).collect();
            for chunk in slots.chunks(ADMIT_CHUNK) {
                admission::admit(tx, chunk, now).await?;
            }
        }
        Ok(queue)
    })
    .await
}

/// Keys re-admitted per statement when a queue's limit changes.
const ADMIT_CHUNK: usize = 500;

/// Every queue, inside a transaction (retention reads the policies).
pub(crate) async fn all(conn: &mut PgConnection) -> Result<Vec<Queue>> {
    let rows = sqlx::query(concat!("SELECT ", queue_columns!(), " FROM queues")).fetch_all(conn).await?;
    rows.iter().map(rows::queue).collect()
}

pub(crate) async fn delete(pool: &PgPool, name: &QueueName, force: bool) -> Result<()> {
    in_transaction(pool, async |tx| {
        // The row lock waits for in-flight creates (they hold a key-share lock
        // on the queue) and keeps new ones out until we are done.
        let found = sqlx::query("SELECT 1 FROM queues WHERE name = $1 FOR UPDATE")
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_none() {
            return Err(NotFound::Queue(name.to_string()).into());
        }
        if !force {
            let busy: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tasks WHERE queue = $1 AND status = 'pending')")
                    .bind(name.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
            if busy {
                return Err(Rejection::QueueNotEmpty(name.to_string()).into());
            }
        }
        // Lock the tasks in id order first, as every multi-row writer does,
        // so a forced delete racing live work waits instead of deadlocking.
        sqlx::query("SELECT 1 FROM tasks WHERE queue = $1 ORDER BY id FOR UPDATE")
            .bind(name.as_str())
            .execute(&mut *tx)
            .await?;
        // Checkpoints and wait outcomes go with their tasks (ON DELETE
        // CASCADE); runs have no foreign key (migration 0008), so they go here.
        sqlx::query("DELETE FROM runs WHERE task_id IN (SELECT id FROM tasks WHERE queue = $1)")
            .bind(name.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM tasks WHERE queue = $1").bind(name.as_str()).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM queues WHERE name = $1").bind(name.as_str()).execute(&mut *tx).await?;
        Ok(())
    })
    .await
}

/// Counts of a queue's runs by state and its oldest due run, each from a
/// partial index holding only runs in that state (migrations 0008 and
/// 0009): a held run is pending, and a task completes with exactly one
/// completed run, so completed runs are counted as completed tasks. `$1` the
/// queue, `$2` now.
const STATS_SQL: &str = "\
SELECT (SELECT count(*) FROM runs WHERE queue = $1 AND status = 'pending' AND NOT held) \
     + (SELECT count(*) FROM runs WHERE queue = $1 AND held) AS pending, \
       (SELECT count(*) FROM runs WHERE queue = $1 AND status = 'claimed') AS claimed, \
       (SELECT count(*) FROM runs WHERE queue = $1 AND status = 'sleeping') AS sleeping, \
       (SELECT count(*) FROM tasks WHERE queue = $1 AND status = 'completed') AS completed, \
       (SELECT count(*) FROM runs WHERE queue = $1 AND status = 'failed') AS failed, \
       (SELECT count(*) FROM runs WHERE queue = $1 AND status = 'canceled') AS canceled, \
       (SELECT min(d.available_at) FROM ( \
            SELECT available_at FROM runs WHERE queue = $1 AND status = 'pending' AND NOT held AND available_at <= $2 \
            UNION ALL SELECT available_at FROM runs WHERE queue = $1 AND held AND available_at <= $2) d) AS oldest_due";

type StatsRow = (i64, i64, i64, i64, i64, i64, Option<Timestamp>);

pub(crate) async fn stats(pool: &PgPool, name: &QueueName, now: Timestamp) -> Result<QueueStats> {
    ensure_exists(pool, name).await?;
    // One statement, one snapshot: the counts and the age agree.
    let (pending, claimed, sleeping, completed, failed, canceled, oldest_due): StatsRow =
        sqlx::query_as(STATS_SQL).bind(name.as_str()).bind(now).fetch_one(pool).await?;
    let by_status = [
        (RunStatus::Pending, pending),
        (RunStatus::Claimed, claimed),
        (RunStatus::Sleeping, sleeping),
        (RunStatus::Completed, completed),
        (RunStatus::Failed, failed),
        (RunStatus::Canceled, canceled),
    ]
    .into_iter()
    .map(|(status, n)| (status, u64::try_from(n).unwrap_or(0)));
    Ok(QueueStats::tally(name.clone(), by_status, oldest_due, now))
}

/// `EXPLAIN ANALYZE` of [`STATS_SQL`], for tests of its plan.
pub(crate) async fn explain_stats(pool: &PgPool, name: &QueueName, now: Timestamp) -> Result<String> {
    let lines: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {STATS_SQL}"))
        .bind(name.as_str())
        .bind(now)
        .fetch_all(pool)
        .await?;
    Ok(lines.join("\n"))
}

/// Each count reads at most `cap` entries of a partial index: completed
/// runs are counted as completed tasks (`tasks_finished`; a task completes
/// with exactly one completed run, and never runs again), failed runs from
/// `runs_failed`.
pub(crate) async fn finished_counts(pool: &PgPool, name: &QueueName, cap: u32) -> Result<(u64, u64)> {
    ensure_exists(pool, name).await?;
    let (completed, failed): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM tasks WHERE queue = $1 AND status = 'completed' LIMIT $2) c), \
                (SELECT count(*) FROM (SELECT 1 FROM runs WHERE queue = $1 AND status = 'failed' LIMIT $2) f)",
    )
    .bind(name.as_str())
    .bind(i64::from(cap))
    .fetch_one(pool)
    .await?;
    Ok((u64::try_from(completed).unwrap_or(0), u64::try_from(failed).unwrap_or(0)))
}

/// `NotFound` unless the queue exists.
pub(crate) async fn ensure_exists(pool: &PgPool, name: &QueueName) -> Result<()> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM queues WHERE name = $1)")
        .bind(name.as_str())
        .fetch_one(pool)
        .await?;
    if exists { Ok(()) } else { Err(Error::from(NotFound::Queue(name.to_string()))) }
}

fn queue_limit(max_queues: usize) -> ValidationError {
    ValidationError::new("name", format!("the server's limit of {max_queues} queues is reached"))
}
