//! Runs: claims, acknowledgements, failures, scheduling, heartbeats.

use std::collections::BTreeSet;

use durable_domain::command::{Claim, Page, RunFilter};
use durable_domain::machine::{self, FailOutcome};
use durable_domain::{NotFound, QueueName, Run, RunId, RunStatus, TaskState, Timestamp, clock};
use durable_ports::ItemError;
use durable_ports::store::{FailedRun, ScheduledRun};
use serde_json::Value;
use sqlx::{PgPool, Postgres, QueryBuilder};
use time::Duration;

use super::tx::in_transaction;
use super::{load, queues, write};
use crate::errors::Result;
use crate::rows::{self, run_columns, task_columns};

/// One statement: pick due pending runs in due order, skipping rows another
/// transaction holds, and apply `machine::claim`'s writes (status, claim
/// times, worker, the task's first claim). The transition is trivial enough
/// to state in SQL, and one round trip keeps the hot path short. The task
/// row is locked too (`SKIP LOCKED` as well: never wait while holding a run
/// lock), since its `first_claimed_at` changes.
pub const CLAIM_SQL: &str = concat!(
    "WITH picked AS ( \
         SELECT r.id, r.task_id FROM runs r JOIN tasks t ON t.id = r.task_id \
         WHERE r.queue = $1 AND r.status = 'pending' AND r.available_at <= $2 AND t.status = 'pending' \
         ORDER BY r.available_at, r.id \
         LIMIT $3 \
         FOR UPDATE OF r, t SKIP LOCKED \
     ), claimed_tasks AS ( \
         UPDATE tasks t SET first_claimed_at = coalesce(t.first_claimed_at, $2) \
         FROM picked p WHERE t.id = p.task_id \
         RETURNING t.* \
     ), claimed_runs AS ( \
         UPDATE runs r SET status = 'claimed', claimed_at = $2, claim_expires_at = $4, worker_id = $5 \
         FROM picked p WHERE r.id = p.id \
         RETURNING r.* \
     ) \
     SELECT ",
    task_columns!(),
    ", ",
    run_columns!(),
    " FROM claimed_runs r JOIN claimed_tasks t ON t.id = r.task_id ORDER BY r.available_at, r.id"
);

pub(crate) async fn claim(pool: &PgPool, queue: &QueueName, claim: &Claim, now: Timestamp) -> Result<Vec<TaskState>> {
    let rows = sqlx::query(CLAIM_SQL)
        .bind(queue.as_str())
        .bind(now)
        .bind(i64::from(claim.limit))
        .bind(clock::add(now, claim.claim_timeout))
        .bind(claim.worker_id.as_deref())
        .fetch_all(pool)
        .await?;
    if rows.is_empty() {
        // Only an empty answer needs to tell "no work" from "no queue".
        queues::ensure_exists(pool, queue).await?;
    }
    load::states(&rows)
}

pub(crate) async fn next_due(pool: &PgPool, queue: &QueueName) -> Result<Option<Timestamp>> {
    let due = sqlx::query_scalar("SELECT min(available_at) FROM runs WHERE queue = $1 AND status = 'pending'")
        .bind(queue.as_str())
        .fetch_one(pool)
        .await?;
    Ok(due)
}

pub(crate) async fn list(pool: &PgPool, filter: &RunFilter) -> Result<Page<Run, RunId>> {
    let mut query = QueryBuilder::<Postgres>::new(concat!("SELECT ", run_columns!(), " FROM runs r WHERE true"));
    if let Some(task) = filter.task_id {
        query.push(" AND r.task_id = ").push_bind(task.as_uuid());
    }
    if let Some(status) = filter.status {
        query.push(" AND r.status = ").push_bind(status.as_str());
    }
    if let Some(cursor) = filter.cursor {
        query.push(" AND r.id < ").push_bind(cursor.as_uuid());
    }
    query.push(" ORDER BY r.id DESC LIMIT ").push_bind(i64::from(filter.limit) + 1);
    let rows = query.build().fetch_all(pool).await?;
    let runs = rows.iter().map(rows::run).collect::<Result<Vec<_>>>()?;
    Ok(page(runs, filter.limit, |r| r.id))
}

/// A newest-first page from `limit + 1` rows: the extra row only says that
/// another page follows.
pub(crate) fn page<T, C>(mut items: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> C) -> Page<T, C> {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if more { items.last().map(cursor_of) } else { None };
    Page { items, next_cursor }
}

pub(crate) async fn complete(
    pool: &PgPool,
    items: Vec<(RunId, Option<Value>)>,
    now: Timestamp,
) -> Result<Vec<Result<(), ItemError>>> {
    let ids: Vec<_> = items.iter().map(|(run, _)| run.as_uuid()).collect();
    in_transaction(pool, async |tx| {
        let mut locked = load::lock_runs(tx, &ids).await?;
        let mut changed = BTreeSet::new();
        let mut answers = Vec::with_capacity(items.len());
        // Items apply in order against the state the earlier ones left, so a
        // run listed twice completes once and the repeat is a conflict.
        for (run, result) in items {
            let Some(mut state) = locked.state(run) else {
                answers.push(Err(ItemError::NotFound(NotFound::Run(run))));
                continue;
            };
            match machine::complete(&mut state, result, now) {
                Ok(()) => {
                    changed.insert(run);
                    locked.put(state);
                    answers.push(Ok(()));
                }
                Err(rejection) => answers.push(Err(ItemError::Conflict(rejection))),
            }
        }
        let runs: Vec<&Run> = changed.iter().filter_map(|id| locked.runs.get(id)).collect();
        let tasks: Vec<_> = runs.iter().filter_map(|run| locked.tasks.get(&run.task_id)).collect();
        write::update_tasks(tx, &tasks).await?;
        write::update_runs(tx, &runs).await?;
        Ok(answers)
    })
    .await
}

pub(crate) async fn fail(pool: &PgPool, run: RunId, error: &str, now: Timestamp) -> Result<FailedRun> {
    in_transaction(pool, async |tx| {
        let mut state = load::lock_run(tx, run).await?.ok_or(NotFound::Run(run))?;
        let outcome = machine::fail(&mut state, error, now)?;
        write::save(tx, &state).await?;
        let next = match outcome {
            FailOutcome::Retry(next) => {
                write::insert_runs(tx, &[&next]).await?;
                if next.available_at <= now {
                    write::notify(tx, [&next.queue]).await?;
                }
                Some((next.id, next.available_at))
            }
            FailOutcome::TaskFailed => None,
        };
        Ok(FailedRun { run_id: run, queue: state.task.queue, attempt: state.run.attempt, next })
    })
    .await
}

pub(crate) async fn schedule(pool: &PgPool, run: RunId, run_at: Timestamp, now: Timestamp) -> Result<ScheduledRun> {
    in_transaction(pool, async |tx| {
        let mut state = load::lock_run(tx, run).await?.ok_or(NotFound::Run(run))?;
        let claimable_now = machine::schedule(&mut state, run_at, now)?;
        write::save(tx, &state).await?;
        if claimable_now {
            write::notify(tx, [&state.task.queue]).await?;
        }
        Ok(ScheduledRun { queue: state.task.queue, scheduled_at: run_at, claimable_now })
    })
    .await
}

pub(crate) async fn heartbeat(pool: &PgPool, run: RunId, extend_by: Duration, now: Timestamp) -> Result<Timestamp> {
    in_transaction(pool, async |tx| {
        let mut state = load::lock_run(tx, run).await?.ok_or(NotFound::Run(run))?;
        let end = machine::heartbeat(&mut state, extend_by, now)?;
        // Only the claim's end changed; the task row stays untouched.
        write::update_runs(tx, &[&state.run]).await?;
        Ok(end)
    })
    .await
}

/// Whether a run in this state counts as claimable right now.
pub(crate) fn claimable(run: &Run, now: Timestamp) -> bool {
    run.status == RunStatus::Pending && run.available_at <= now
}
