//! The sweeper's steps: claim expiry, waking sleepers, timeouts, retention.
//!
//! Each step picks candidates through an index (a cheap SQL pre-filter on
//! the same condition the domain checks) and lets the domain decide on each
//! one. Every step is bounded by `limit` and is one transaction. A row that
//! cannot be decoded is left out (`SkippedRows`) and the step goes on.

use std::sync::LazyLock;

use durable_domain::machine::{self, FailOutcome, Policy};
use durable_domain::queue::event_retention;
use durable_domain::{QueueName, TaskId, Timestamp, wake};
use durable_ports::StoreError;
use durable_ports::store::{Cleanup, ExpiredClaims, SleepersWoken};

use super::events;
use crate::db::Db;
use crate::errors;
use crate::rows::{self, micros};

/// Claimed runs whose claim ran out, through the partial index `runs_claimed`.
static EXPIRED: LazyLock<String> = LazyLock::new(|| {
    rows::state::select(
        "WHERE r.status = 'claimed' AND r.claim_expires_at <= ? ORDER BY r.claim_expires_at, r.id LIMIT ?",
    )
});

/// Sleeping runs whose time came, through the partial index `runs_sleeping`.
static WAKING: LazyLock<String> = LazyLock::new(|| {
    rows::state::select("WHERE r.status = 'sleeping' AND r.available_at <= ? ORDER BY r.available_at, r.id LIMIT ?")
});

pub(super) async fn expire_claims(
    db: &Db,
    policy: &Policy,
    now: Timestamp,
    limit: u32,
) -> Result<ExpiredClaims, StoreError> {
    let policy = *policy;
    let skipped = db.skipped();
    db.write(move |tx| {
        Box::pin(async move {
            let expired = sqlx::query(&EXPIRED)
                .bind(micros(now))
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await
                .map_err(errors::map_sql)?;
            let mut report = ExpiredClaims::default();
            let mut retries = Vec::new();
            let mut ended = Vec::new();
            for row in &expired {
                let Some(mut state) = skipped.decoded("expiry", row, rows::state::decode) else { continue };
                let outcome = machine::expire_claim(&mut state, &policy, now)?;
                rows::state::save(tx, &state, now).await?;
                match outcome {
                    FailOutcome::Retry(next) => {
                        rows::runs::insert(tx, &next, now).await?;
                        report.requeued.push(next.queue.clone());
                        retries.push(*next);
                    }
                    FailOutcome::TaskFailed => {
                        report.tasks_failed += 1;
                        ended.push(state.task);
                    }
                }
            }
            report.wake = wake::queues_to_wake(&retries, now);
            report.wake.extend(events::announce_ends(tx, &ended.iter().collect::<Vec<_>>(), now).await?);
            report.wake.sort();
            report.wake.dedup();
            Ok(report)
        })
    })
    .await
}

pub(super) async fn wake_sleepers(db: &Db, now: Timestamp, limit: u32) -> Result<SleepersWoken, StoreError> {
    let skipped = db.skipped();
    db.write(move |tx| {
        Box::pin(async move {
            let due = sqlx::query(&WAKING)
                .bind(micros(now))
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await
                .map_err(errors::map_sql)?;
            let mut woken = Vec::with_capacity(due.len());
            for row in &due {
                let Some(mut state) = skipped.decoded("wake", row, rows::state::decode) else { continue };
                let Some(woken_now) = machine::wake_due(&mut state, now) else {
                    continue;
                };
                if let Some((step, outcome)) = woken_now.outcome_to_record() {
                    rows::events::record_outcome(tx, state.task.id, &step, &outcome).await?;
                }
                rows::state::save(tx, &state, now).await?;
                woken.push(state.run);
            }
            Ok(SleepersWoken { woken: woken.len(), wake: wake::queues_to_wake(&woken, now) })
        })
    })
    .await
}

/// Answers how many tasks were canceled and the queues to wake (parents
/// waiting for them).
pub(super) async fn enforce_timeouts(db: &Db, now: Timestamp, limit: u32) -> Result<(u64, Vec<QueueName>), StoreError> {
    db.write(move |tx| {
        Box::pin(async move {
            // `deadline` is the domain's `machine::deadline`, kept on every write.
            let candidates: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM tasks WHERE status = 'pending' AND deadline IS NOT NULL AND deadline <= ? \
                 ORDER BY deadline LIMIT ?",
            )
            .bind(micros(now))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(errors::map_sql)?;
            let mut canceled = Vec::new();
            for id in candidates {
                let id: TaskId = id.parse().map_err(|e| errors::corrupt("tasks.id", e))?;
                let Some(mut state) = rows::state::by_task(tx, id).await? else {
                    continue;
                };
                let Some(reason) = machine::overdue(&state.task, now) else {
                    continue;
                };
                machine::cancel(&mut state, Some(reason), now)?;
                rows::state::save(tx, &state, now).await?;
                canceled.push(state.task);
            }
            let wake = events::announce_ends(tx, &canceled.iter().collect::<Vec<_>>(), now).await?;
            Ok((canceled.len() as u64, wake))
        })
    })
    .await
}

pub(super) async fn cleanup(db: &Db, now: Timestamp, limit: u32) -> Result<Cleanup, StoreError> {
    let skipped = db.skipped();
    db.write(move |tx| {
        Box::pin(async move {
            let queues = rows::queues::all(tx).await?;
            let mut tasks = 0u64;
            for queue in &queues {
                let budget = u64::from(limit).saturating_sub(tasks);
                if budget == 0 {
                    break;
                }
                let Some(ttl) = queue.cleanup.task_ttl() else {
                    continue;
                };
                let Some(cutoff) = now.checked_sub(ttl) else {
                    continue;
                };
                let finished = sqlx::query(&format!(
                    "SELECT {} FROM tasks t WHERE t.queue = ? AND t.status <> 'pending' AND t.completed_at <= ? \
                     ORDER BY t.completed_at LIMIT ?",
                    rows::tasks::COLUMNS
                ))
                .bind(queue.name.as_str())
                .bind(micros(cutoff))
                .bind(i64::try_from(budget).unwrap_or(i64::MAX))
                .fetch_all(&mut *tx)
                .await
                .map_err(errors::map_sql)?;
                for row in &finished {
                    let Some(task) = skipped.decoded("retention", row, rows::tasks::decode) else { continue };
                    if !machine::retention_due(&task, Some(ttl), now) {
                        continue;
                    }
                    // Runs, checkpoints and wait outcomes go too (ON DELETE CASCADE).
                    sqlx::query("DELETE FROM tasks WHERE id = ?")
                        .bind(task.id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(errors::map_sql)?;
                    tasks += 1;
                }
            }
            let mut events = 0;
            if let Some(ttl) = event_retention(queues.iter().map(|q| &q.cleanup))
                && let Some(cutoff) = now.checked_sub(ttl)
            {
                let deleted = sqlx::query(
                    "DELETE FROM events WHERE rowid IN \
                     (SELECT rowid FROM events WHERE created_at <= ? ORDER BY created_at LIMIT ?)",
                )
                .bind(micros(cutoff))
                .bind(i64::from(limit))
                .execute(&mut *tx)
                .await
                .map_err(errors::map_sql)?;
                events = deleted.rows_affected();
            }
            Ok(Cleanup { tasks, events })
        })
    })
    .await
}
