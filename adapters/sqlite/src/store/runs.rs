//! Runs: claim, complete, fail, schedule, heartbeat, listing.

use std::sync::LazyLock;

use durable_domain::command::{self, Claim, Completion, Page, RunFilter};
use durable_domain::flow;
use durable_domain::machine::{self, FailOutcome};
use durable_domain::{NotFound, QueueName, Run, RunId, TaskState, Timestamp, clock, wake};
use durable_ports::store::{FailedRun, Retry, ScheduledRun};
use durable_ports::{ItemError, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use time::Duration;

use super::events;
use crate::db::Db;
use crate::errors;
use crate::rows::{self, Cols, micros};

/// Due pending runs of a queue that no concurrency key holds back, in
/// claim order (priority, higher first; due time; id), through the partial
/// index `runs_due`. The status and flag are literals so the planner can
/// match the index.
static DUE: LazyLock<String> = LazyLock::new(|| {
    rows::state::select(
        "WHERE r.queue = ? AND r.status = 'pending' AND r.held = 0 AND r.available_at <= ? \
         ORDER BY r.priority DESC, r.available_at, r.id LIMIT ?",
    )
});

pub(super) async fn claim(
    db: &Db,
    queue: &QueueName,
    claim: &Claim,
    now: Timestamp,
) -> Result<Vec<TaskState>, StoreError> {
    let (queue, claim) = (queue.clone(), claim.clone());
    let skipped = db.skipped();
    db.write(move |tx| {
        Box::pin(async move {
            let cap = rows::queues::get(tx, &queue).await?.flow.concurrency_limit;
            let live = match cap {
                None => 0,
                Some(_) => sqlx::query_scalar::<_, i64>(
                    "SELECT count(*) FROM runs WHERE queue = ? AND status = 'claimed' AND claim_expires_at > ?",
                )
                .bind(queue.as_str())
                .bind(micros(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(errors::map_sql)?,
            };
            let wanted = flow::claim_room(cap, u64::try_from(live).unwrap_or(0), claim.limit) as usize;
            if wanted == 0 {
                return Ok(Vec::new());
            }
            let mut claimed = Vec::with_capacity(wanted);
            // Parked rows leave the due order, so asking again for the
            // rest finds the good runs behind them.
            loop {
                let due = sqlx::query(&DUE)
                    .bind(queue.as_str())
                    .bind(micros(now))
                    .bind(i64::try_from(wanted - claimed.len()).unwrap_or(i64::MAX))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(errors::map_sql)?;
                let mut parked = false;
                let first = claimed.len();
                for row in &due {
                    let Some(mut state) = skipped.decoded("claim", row, rows::state::decode) else {
                        park(tx, row, &claim, now).await?;
                        parked = true;
                        continue;
                    };
                    machine::claim(&mut state, &claim, now)?;
                    claimed.push(state);
                }
                // One write for the batch (each due run is of its own task:
                // a task has one pending run at a time).
                let written: Vec<&TaskState> = claimed[first..].iter().collect();
                rows::state::save_all(tx, &written, now).await?;
                if !parked || claimed.len() == wanted {
                    break;
                }
            }
            Ok(claimed)
        })
    })
    .await
}

/// Takes a run whose row cannot be decoded out of the due order, as a claim
/// by nobody that expires like any other (then the sweeper, which cannot
/// decode it either, leaves it be). Left pending, it would stay first in
/// line and every claim would meet it again, ahead of the good runs.
async fn park(tx: &mut SqliteConnection, row: &SqliteRow, claim: &Claim, now: Timestamp) -> Result<(), StoreError> {
    let id: String = row.try_get("r_id").map_err(errors::map_sql)?;
    sqlx::query("UPDATE runs SET status = 'claimed', claimed_at = ?, claim_expires_at = ? WHERE id = ?")
        .bind(micros(now))
        .bind(micros(clock::add(now, claim.claim_timeout)))
        .bind(id)
        .execute(tx)
        .await
        .map_err(errors::map_sql)?;
    Ok(())
}

pub(super) async fn next_due(db: &Db, queue: &QueueName) -> Result<Option<Timestamp>, StoreError> {
    let mut conn = db.reader().acquire().await.map_err(errors::map_sql)?;
    let row = sqlx::query(
        "SELECT min(available_at) AS available_at FROM runs WHERE queue = ? AND status = 'pending' AND held = 0",
    )
    .bind(queue.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(errors::map_sql)?;
    Ok(row.map(|row| Cols(&row).opt_time("available_at")).transpose()?.flatten())
}

pub(super) async fn list(db: &Db, filter: &RunFilter) -> Result<Page<Run, RunId>, StoreError> {
    let mut query = QueryBuilder::<Sqlite>::new(format!("SELECT {} FROM runs r WHERE 1 = 1", rows::runs::COLUMNS));
    if let Some(task) = filter.task_id {
        query.push(" AND r.task_id = ").push_bind(task.to_string());
    }
    if let Some(status) = filter.status {
        query.push(" AND r.status = ").push_bind(status.as_str());
    }
    if let Some(cursor) = filter.cursor {
        query.push(" AND r.id < ").push_bind(cursor.to_string());
    }
    query.push(" ORDER BY r.id DESC LIMIT ").push_bind(command::fetch_limit(filter.limit));
    let mut conn = db.reader().acquire().await.map_err(errors::map_sql)?;
    let rows = query.build().fetch_all(&mut *conn).await.map_err(errors::map_sql)?;
    let runs = rows.iter().map(rows::runs::decode).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_fetched(runs, filter.limit, |r| r.id))
}

/// The addressed run with its task, or `NotFound`.
pub(super) async fn load(conn: &mut SqliteConnection, run: RunId) -> Result<TaskState, StoreError> {
    rows::state::by_run(conn, run).await?.ok_or_else(|| NotFound::Run(run).into())
}

/// Answers per item, and the queues to wake (parents waiting for the
/// completed tasks).
pub(super) async fn complete(
    db: &Db,
    items: Vec<Completion>,
    now: Timestamp,
) -> Result<(Vec<Result<(), ItemError>>, Vec<QueueName>), StoreError> {
    db.write(move |tx| {
        Box::pin(async move {
            let mut answers = Vec::with_capacity(items.len());
            // One read for the batch. Items apply in order against the state
            // the earlier ones left (a run listed twice completes once);
            // each item is fenced on its own, only a storage failure aborts
            // the batch.
            let ids: Vec<RunId> = items.iter().map(|c| c.run_id).collect();
            let mut states = rows::state::by_runs(tx, &ids).await?;
            let mut completed: Vec<RunId> = Vec::new();
            for Completion { run_id, result } in items {
                let Some(state) = states.get_mut(&run_id) else {
                    answers.push(Err(ItemError::NotFound(NotFound::Run(run_id))));
                    continue;
                };
                match machine::complete(state, result, now) {
                    Ok(()) => {
                        answers.push(Ok(()));
                        completed.push(run_id);
                    }
                    Err(rejection) => answers.push(Err(ItemError::Conflict(rejection))),
                }
            }
            // A task completes once, by one run, so each completed state is
            // of a different task and one write takes them all.
            let written: Vec<&TaskState> = completed.iter().filter_map(|id| states.get(id)).collect();
            rows::state::save_all(tx, &written, now).await?;
            let ended: Vec<_> = written.iter().map(|s| &s.task).collect();
            let wake = events::announce_ends(tx, &ended, now).await?;
            Ok((answers, wake))
        })
    })
    .await
}

pub(super) async fn fail(db: &Db, run: RunId, error: &str, now: Timestamp) -> Result<FailedRun, StoreError> {
    let error = error.to_owned();
    db.write(move |tx| {
        Box::pin(async move {
            let mut state = load(tx, run).await?;
            let outcome = machine::fail(&mut state, &error, now)?;
            rows::state::save(tx, &state, now).await?;
            let (next, wake) = match outcome {
                FailOutcome::Retry(next) => {
                    rows::runs::insert(tx, &next, now).await?;
                    (Some(Retry::of(&next)), wake::queues_to_wake([next.as_ref()], now))
                }
                FailOutcome::TaskFailed => (None, events::announce_ends(tx, &[&state.task], now).await?),
            };
            Ok(FailedRun { run_id: run, queue: state.task.queue, attempt: state.run.attempt, next, wake })
        })
    })
    .await
}

pub(super) async fn schedule(
    db: &Db,
    run: RunId,
    run_at: Timestamp,
    now: Timestamp,
) -> Result<ScheduledRun, StoreError> {
    db.write(move |tx| {
        Box::pin(async move {
            let mut state = load(tx, run).await?;
            machine::schedule(&mut state, run_at, now)?;
            rows::state::save(tx, &state, now).await?;
            let wake = wake::queues_to_wake([&state.run], now);
            Ok(ScheduledRun { queue: state.task.queue, scheduled_at: run_at, wake })
        })
    })
    .await
}

pub(super) async fn heartbeat(
    db: &Db,
    run: RunId,
    extend_by: Duration,
    now: Timestamp,
) -> Result<Timestamp, StoreError> {
    db.write(move |tx| {
        Box::pin(async move {
            let mut state = load(tx, run).await?;
            let end = machine::heartbeat(&mut state, extend_by, now)?;
            rows::state::save(tx, &state, now).await?;
            Ok(end)
        })
    })
    .await
}
