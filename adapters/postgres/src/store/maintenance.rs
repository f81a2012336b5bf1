//! The sweeper's work: claim expiry, waking sleepers, timeouts, retention.
//!
//! Each pass takes a bounded batch with `SKIP LOCKED`, so any number of
//! replicas can sweep at once: they split the due rows between them instead
//! of queueing on each other's locks. SQL only preselects candidates; the
//! domain decides, under the locks, what happens to each. A row that cannot
//! be decoded is left out ([`SkippedRows`]) and the pass goes on with the rest.

use durable_domain::machine::{self, FailOutcome, Policy};
use durable_domain::queue::event_retention;
use durable_domain::{Run, TaskState, Timestamp, wake};
use durable_ports::store::{Cleanup, ExpiredClaims, SleepersWoken};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::tx::in_transaction;
use super::{events, load, queues, write};
use crate::errors::Result;
use crate::rows::{self, run_columns, task_columns};
use crate::skipped::SkippedRows;

pub(crate) async fn expire_claims(
    pool: &PgPool,
    policy: &Policy,
    now: Timestamp,
    limit: u32,
    skipped: &SkippedRows,
) -> Result<ExpiredClaims> {
    in_transaction(pool, async |tx| {
        let condition = "r.status = 'claimed' AND r.claim_expires_at <= $1";
        let mut states = lock_runs_where(tx, condition, "r.claim_expires_at", now, limit, skipped).await?;
        let mut retries: Vec<Run> = Vec::new();
        let mut tasks_failed = 0;
        states.retain_mut(|state| match machine::expire_claim(state, policy, now) {
            Ok(FailOutcome::Retry(next)) => {
                retries.push(*next);
                true
            }
            Ok(FailOutcome::TaskFailed) => {
                tasks_failed += 1;
                true
            }
            // Not expired after all (heartbeat committed before we locked it).
            Err(_) => false,
        });
        save_all(tx, &states, now).await?;
        let new: Vec<&Run> = retries.iter().collect();
        write::insert_runs(tx, &new, now).await?;
        let mut wake = wake::queues_to_wake(&retries, now);
        write::notify(tx, &wake).await?;
        let ended: Vec<_> = states.iter().map(|s| &s.task).filter(|t| t.status.is_finished()).collect();
        wake.extend(events::announce_ends(tx, &ended, now, skipped).await?);
        wake.sort();
        wake.dedup();
        let requeued = retries.into_iter().map(|r| r.queue).collect();
        Ok(ExpiredClaims { requeued, tasks_failed, wake })
    })
    .await
}

pub(crate) async fn wake_sleepers(
    pool: &PgPool,
    now: Timestamp,
    limit: u32,
    skipped: &SkippedRows,
) -> Result<SleepersWoken> {
    in_transaction(pool, async |tx| {
        let condition = "r.status = 'sleeping' AND r.available_at <= $1";
        let mut states = lock_runs_where(tx, condition, "r.available_at", now, limit, skipped).await?;
        let mut outcomes = Vec::new();
        states.retain_mut(|state| match machine::wake_due(state, now) {
            Some(woken) => {
                if let Some((step, outcome)) = woken.outcome_to_record() {
                    outcomes.push((state.task.id, step, outcome));
                }
                true
            }
            None => false,
        });
        write::record_outcomes(tx, &outcomes, now).await?;
        save_all(tx, &states, now).await?;
        let wake = wake::queues_to_wake(states.iter().map(|s| &s.run), now);
        write::notify(tx, &wake).await?;
        Ok(SleepersWoken { woken: states.len(), wake })
    })
    .await
}

pub(crate) async fn enforce_timeouts(pool: &PgPool, now: Timestamp, limit: u32, skipped: &SkippedRows) -> Result<u64> {
    in_transaction(pool, async |tx| {
        let tasks = sqlx::query(concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks t WHERE t.status = 'pending' AND t.deadline <= $1 \
         ORDER BY t.deadline LIMIT $2 FOR UPDATE SKIP LOCKED"
        ))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let tasks = skipped.decode_each("timeouts", &tasks, rows::task);
        // We hold the tasks, so waiting for their runs follows the lock order.
        let run_ids: Vec<Uuid> = tasks.iter().map(|t| t.current_run.as_uuid()).collect();
        let runs = sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs r WHERE r.id = ANY($1) ORDER BY r.id FOR UPDATE"
        ))
        .bind(&run_ids)
        .fetch_all(&mut *tx)
        .await?;
        let mut runs = skipped.decode_each("timeouts", &runs, rows::run);
        let mut canceled = Vec::new();
        let mut postponed = Vec::new();
        for task in tasks {
            let Some(at) = runs.iter().position(|r| r.id == task.current_run) else {
                continue;
            };
            let mut state = load::pair(task, runs.swap_remove(at));
            match machine::overdue(&state.task, now) {
                Some(reason) if machine::cancel(&mut state, Some(reason), now).is_ok() => canceled.push(state),
                // Claimed since the deadline was stored (the start timeout no
                // longer applies): writing the task back moves its deadline on.
                _ => postponed.push(state.task),
            }
        }
        save_all(tx, &canceled, now).await?;
        write::update_tasks(tx, &postponed.iter().collect::<Vec<_>>()).await?;
        events::announce_ends(tx, &canceled.iter().map(|s| &s.task).collect::<Vec<_>>(), now, skipped).await?;
        Ok(canceled.len() as u64)
    })
    .await
}

pub(crate) async fn cleanup(pool: &PgPool, now: Timestamp, limit: u32, skipped: &SkippedRows) -> Result<Cleanup> {
    in_transaction(pool, async |tx| {
        let queues = queues::all(tx).await?;

        // Per queue, the instant before which finished tasks are due for
        // deletion; queues that keep tasks for ever have none.
        let mut names = Vec::new();
        let mut cutoffs = Vec::new();
        for queue in &queues {
            if let Some(cutoff) = queue.cleanup.task_ttl().and_then(|ttl| now.checked_sub(ttl)) {
                names.push(queue.name.as_str());
                cutoffs.push(cutoff);
            }
        }
        let rows = sqlx::query(concat!(
            "SELECT ",
            task_columns!(),
            " FROM unnest($1::text[], $2::timestamptz[]) AS c(queue, cutoff) \
         CROSS JOIN LATERAL ( \
             SELECT * FROM tasks t \
             WHERE t.queue = c.queue AND t.status <> 'pending' AND t.completed_at <= c.cutoff \
             ORDER BY t.completed_at LIMIT $3 FOR UPDATE SKIP LOCKED \
         ) t LIMIT $3"
        ))
        .bind(&names)
        .bind(&cutoffs)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut expired = Vec::new();
        for task in skipped.decode_each("retention", &rows, rows::task) {
            let ttl = queues.iter().find(|q| q.name == task.queue).and_then(|q| q.cleanup.task_ttl());
            if machine::retention_due(&task, ttl, now) {
                expired.push(task.id.as_uuid());
            }
        }
        // Checkpoints and wait outcomes go with their tasks (ON DELETE
        // CASCADE); runs have no foreign key (migration 0008), so they go here.
        sqlx::query("DELETE FROM runs WHERE task_id = ANY($1)").bind(&expired).execute(&mut *tx).await?;
        let tasks =
            sqlx::query("DELETE FROM tasks WHERE id = ANY($1)").bind(&expired).execute(&mut *tx).await?.rows_affected();

        let mut events = 0;
        if let Some(cutoff) = event_retention(queues.iter().map(|q| &q.cleanup)).and_then(|ttl| now.checked_sub(ttl)) {
            events = sqlx::query(
                "DELETE FROM events WHERE id IN ( \
                 SELECT id FROM events WHERE created_at <= $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
            )
            .bind(cutoff)
            .bind(i64::from(limit))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        Ok(Cleanup { tasks, events })
    })
    .await
}

/// Locks up to `limit` runs matching `condition` (with `$1` = now), with
/// their tasks, oldest `order` first. `SKIP LOCKED` on both rows: a sweep
/// never waits, and rows another replica is busy with are left to it.
async fn lock_runs_where(
    conn: &mut PgConnection,
    condition: &str,
    order: &str,
    now: Timestamp,
    limit: u32,
    skipped: &SkippedRows,
) -> Result<Vec<TaskState>> {
    let sql = format!(
        "SELECT {}, {} FROM runs r JOIN tasks t ON t.id = r.task_id WHERE {condition} \
         ORDER BY {order} LIMIT $2 FOR UPDATE OF t, r SKIP LOCKED",
        task_columns!(),
        run_columns!()
    );
    let rows = sqlx::query(&sql).bind(now).bind(i64::from(limit)).fetch_all(conn).await?;
    Ok(skipped.decode_each("sweep", &rows, load::state))
}

async fn save_all(conn: &mut PgConnection, states: &[TaskState], now: Timestamp) -> Result<()> {
    let tasks: Vec<_> = states.iter().map(|s| &s.task).collect();
    let runs: Vec<_> = states.iter().map(|s| &s.run).collect();
    write::update(conn, &tasks, &runs, now).await
}
