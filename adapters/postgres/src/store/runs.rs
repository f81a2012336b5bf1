//! Runs: claims, acknowledgements, failures, scheduling, heartbeats.

use std::collections::BTreeSet;

use durable_domain::command::{self, Claim, Completion, Page, RunFilter};
use durable_domain::flow;
use durable_domain::machine::{self, FailOutcome};
use durable_domain::{NotFound, QueueName, Run, RunId, TaskState, Timestamp, clock, wake};
use durable_ports::ItemError;
use durable_ports::store::{CompletedThenClaimed, FailedRun, Retry, ScheduledRun};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row};
use time::Duration;

use super::tx::in_transaction;
use super::{events, load, locks, write};
use crate::errors::{Result, corrupt};
use crate::rows::{self, run_columns, task_columns};
use crate::skipped::SkippedRows;

/// One statement claims for every call of a combined batch (see
/// [`super::combine`]): pick due pending runs of unfinished tasks that no
/// concurrency key holds back, by priority (higher first), then due time,
/// then id, skipping rows another transaction holds; hand them out to the
/// calls in turn (the first call's `limit` rows to it, the next ones to the
/// next), and apply `machine::claim`'s writes to each run with its call's
/// time, claim end and worker. The transition is trivial enough to state in
/// SQL, and one round trip keeps the hot path short.
///
/// Parameters: `$1` queue; per call `$2` limit, `$3` now, `$4` claim end,
/// `$5` worker id (arrays, in call order); `$6` the earliest call's now (a
/// run due then is due for every call); `$7` the sum of the limits; `$8`
/// the room a capped queue has left (`flow::claim_room`), NULL when not
/// counted yet.
///
/// The answer always has a row, saying whether the queue exists and
/// whether it is capped (an empty claim must tell "no work" from "no
/// queue"); each claimed run adds one. A capped queue is claimed from only
/// once `$8` is given: its claims are serialized and counted first
/// ([`claim`]), while an uncapped queue pays nothing for the cap.
///
/// Only the run is locked and written. The claim's one change to the task,
/// its `first_claimed_at`, is not stored here: until the task's next write
/// it is read as the current run's `claimed_at` (`rows::task_columns`,
/// `load::pair`), and that write stores it. This halves the rows a claim
/// writes, and the index entries with them. Task-level writers (cancel,
/// timeouts) lock the task and then wait for the run, so they see the
/// claim once it commits; the claim itself never waits (`SKIP LOCKED`).
/// A claim leaves every concurrency key's occupancy as it was (an exposed
/// run becomes a claimed one), so it needs no admission.
pub const CLAIM_SQL: &str = concat!(
    "WITH queue AS ( \
         SELECT concurrency_limit AS cap FROM queues WHERE name = $1 \
     ), calls AS ( \
         SELECT c.n, c.lim, c.claimed_at, c.claim_end, c.worker, \
                (sum(c.lim) OVER (ORDER BY c.n) - c.lim)::bigint AS first_slot \
         FROM unnest($2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::text[]) \
             WITH ORDINALITY AS c(lim, claimed_at, claim_end, worker, n) \
     ), picked AS ( \
         SELECT r.id, r.priority, r.available_at FROM runs r JOIN tasks t ON t.id = r.task_id \
         WHERE r.queue = $1 AND r.status = 'pending' AND NOT r.held AND r.available_at <= $6 \
           AND t.status = 'pending' \
           AND ($8::bigint IS NOT NULL OR (SELECT cap FROM queue) IS NULL) \
         ORDER BY r.priority DESC, r.available_at, r.id \
         LIMIT least($7, coalesce($8, $7)) \
         FOR UPDATE OF r SKIP LOCKED \
     ), slotted AS ( \
         SELECT p.id, row_number() OVER (ORDER BY p.priority DESC, p.available_at, p.id) - 1 AS slot FROM picked p \
     ), claimed AS ( \
         UPDATE runs r SET status = 'claimed', claimed_at = c.claimed_at, claim_expires_at = c.claim_end, \
             worker_id = c.worker \
         FROM slotted s JOIN calls c ON s.slot >= c.first_slot AND s.slot < c.first_slot + c.lim \
         WHERE r.id = s.id \
         RETURNING r.*, c.n AS call \
     ) \
     SELECT q.queue_exists, q.capped, c.* \
     FROM (SELECT EXISTS (SELECT 1 FROM queue) AS queue_exists, \
                  (SELECT cap FROM queue) IS NOT NULL AS capped) q \
     LEFT JOIN (SELECT r.call, ",
    task_columns!(),
    ", ",
    run_columns!(),
    " FROM claimed r JOIN tasks t ON t.id = r.task_id) c ON true \
     ORDER BY c.call, c.r_priority DESC, c.r_available_at, c.r_id"
);

/// One claim call, as the combined statement takes it.
#[derive(Clone, Debug)]
pub(crate) struct ClaimCall {
    limit: u32,
    now: Timestamp,
    claim_end: Timestamp,
    worker_id: Option<String>,
}

impl ClaimCall {
    pub(crate) fn new(claim: &Claim, now: Timestamp) -> Self {
        Self {
            limit: claim.limit,
            now,
            claim_end: clock::add(now, claim.claim_timeout),
            worker_id: claim.worker_id.clone(),
        }
    }

    /// How much of a combined statement the call takes: its limit.
    pub(crate) fn weight(&self) -> usize {
        self.limit as usize
    }
}

/// Claims for a batch of calls ([`CLAIM_SQL`]); answers in call order.
/// An uncapped queue takes one statement. A capped one takes a transaction:
/// lock the queue's claims, count its live claims, claim what room is left.
pub(crate) async fn claim(
    pool: &PgPool,
    queue: &QueueName,
    calls: &[ClaimCall],
    skipped: &SkippedRows,
) -> Result<Vec<Vec<TaskState>>> {
    let Some(earliest) = calls.iter().map(|c| c.now).min() else { return Ok(Vec::new()) };
    let mut conn = pool.acquire().await?;
    match claim_statement(&mut conn, queue, calls, earliest, None, skipped).await? {
        Claimed::Runs(answers) => Ok(answers),
        Claimed::Capped => {
            drop(conn);
            in_transaction(pool, async |tx| claim_capped(tx, queue, calls, earliest, skipped).await).await
        }
    }
}

/// [`claim`] inside the caller's transaction.
async fn claim_in(
    tx: &mut PgConnection,
    queue: &QueueName,
    calls: &[ClaimCall],
    skipped: &SkippedRows,
) -> Result<Vec<Vec<TaskState>>> {
    let Some(earliest) = calls.iter().map(|c| c.now).min() else { return Ok(Vec::new()) };
    match claim_statement(&mut *tx, queue, calls, earliest, None, skipped).await? {
        Claimed::Runs(answers) => Ok(answers),
        Claimed::Capped => claim_capped(tx, queue, calls, earliest, skipped).await,
    }
}

/// Claims from a capped queue: its claims are serialized, so the count of
/// live claims each one reads (in a statement after the lock) includes every
/// claim before it.
async fn claim_capped(
    tx: &mut PgConnection,
    queue: &QueueName,
    calls: &[ClaimCall],
    earliest: Timestamp,
    skipped: &SkippedRows,
) -> Result<Vec<Vec<TaskState>>> {
    locks::queue_claims(tx, queue).await?;
    let (cap, live): (Option<i64>, i64) = sqlx::query_as(
        "SELECT (SELECT concurrency_limit FROM queues WHERE name = $1), \
                (SELECT count(*) FROM runs WHERE queue = $1 AND status = 'claimed' AND claim_expires_at > $2)",
    )
    .bind(queue.as_str())
    .bind(earliest)
    .fetch_one(&mut *tx)
    .await?;
    let wanted = calls.iter().map(|c| c.limit).fold(0u32, u32::saturating_add);
    let cap = cap.and_then(|c| u32::try_from(c).ok());
    let room = flow::claim_room(cap, u64::try_from(live).unwrap_or(0), wanted);
    match claim_statement(tx, queue, calls, earliest, Some(room), skipped).await? {
        Claimed::Runs(answers) => Ok(answers),
        Claimed::Capped => Err(corrupt("a claim with its room counted was refused as capped")),
    }
}

enum Claimed {
    Runs(Vec<Vec<TaskState>>),
    /// The queue is capped and no room was given: nothing was claimed.
    Capped,
}

/// Runs [`CLAIM_SQL`]. The claim has committed (or will with the caller's
/// transaction) when its rows are decoded, so a row that cannot be decoded
/// is left out ([`SkippedRows`]): it stays claimed until its claim expires,
/// and the calls still get every other run.
async fn claim_statement(
    conn: &mut PgConnection,
    queue: &QueueName,
    calls: &[ClaimCall],
    earliest: Timestamp,
    room: Option<u32>,
    skipped: &SkippedRows,
) -> Result<Claimed> {
    let rows = sqlx::query(CLAIM_SQL)
        .bind(queue.as_str())
        .bind(calls.iter().map(|c| i64::from(c.limit)).collect::<Vec<_>>())
        .bind(calls.iter().map(|c| c.now).collect::<Vec<_>>())
        .bind(calls.iter().map(|c| c.claim_end).collect::<Vec<_>>())
        .bind(calls.iter().map(|c| c.worker_id.clone()).collect::<Vec<_>>())
        .bind(earliest)
        .bind(calls.iter().map(|c| i64::from(c.limit)).sum::<i64>())
        .bind(room.map(i64::from))
        .fetch_all(conn)
        .await?;
    let Some(first) = rows.first() else { return Err(corrupt("a claim answered no row")) };
    if !first.try_get::<bool, _>("queue_exists")? {
        return Err(NotFound::Queue(queue.to_string()).into());
    }
    if room.is_none() && first.try_get::<bool, _>("capped")? {
        return Ok(Claimed::Capped);
    }
    let mut answers: Vec<Vec<TaskState>> = calls.iter().map(|_| Vec::new()).collect();
    // A row without a call only says that the queue exists.
    let claimed = skipped.decode_each("claim", &rows, |row| match row.try_get::<Option<i64>, _>("call")? {
        Some(call) => Ok(Some((call, load::state(row)?))),
        None => Ok(None),
    });
    for (call, state) in claimed.into_iter().flatten() {
        let slot = usize::try_from(call - 1).ok().and_then(|i| answers.get_mut(i));
        slot.ok_or_else(|| corrupt(format!("claim answered call {call}")))?.push(state);
    }
    Ok(Claimed::Runs(answers))
}

pub(crate) async fn next_due(pool: &PgPool, queue: &QueueName) -> Result<Option<Timestamp>> {
    let due =
        sqlx::query_scalar("SELECT min(available_at) FROM runs WHERE queue = $1 AND status = 'pending' AND NOT held")
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
    query.push(" ORDER BY r.id DESC LIMIT ").push_bind(command::fetch_limit(filter.limit));
    let rows = query.build().fetch_all(pool).await?;
    let runs = rows.iter().map(rows::run).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_fetched(runs, filter.limit, |r| r.id))
}

/// One acknowledgement call, as a combined transaction takes it.
#[derive(Clone, Debug)]
pub(crate) struct CompleteCall {
    items: Vec<Completion>,
    now: Timestamp,
}

impl CompleteCall {
    pub(crate) fn new(items: Vec<Completion>, now: Timestamp) -> Self {
        Self { items, now }
    }

    /// How much of a combined transaction the call takes: its items.
    pub(crate) fn weight(&self) -> usize {
        self.items.len()
    }
}

/// Completes the items of a batch of calls (see [`super::combine`]) in one
/// transaction of two statements: lock every run with its task, let the
/// domain decide item by item, write what changed. Answers per call, per
/// item, in order. The calls of many workers share the transaction, so a
/// run whose row cannot be decoded is left out ([`SkippedRows`]) and its
/// item answers not found, instead of failing everyone's acknowledgements.
pub(crate) async fn complete(
    pool: &PgPool,
    calls: Vec<CompleteCall>,
    skipped: &SkippedRows,
) -> Result<Vec<Vec<Result<(), ItemError>>>> {
    in_transaction(pool, async |tx| complete_in(tx, calls, skipped).await).await
}

/// [`complete`]'s work inside the caller's transaction.
async fn complete_in(
    tx: &mut PgConnection,
    calls: Vec<CompleteCall>,
    skipped: &SkippedRows,
) -> Result<Vec<Vec<Result<(), ItemError>>>> {
    let mut ids: Vec<_> = calls.iter().flat_map(|call| call.items.iter().map(|c| c.run_id.as_uuid())).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut locked = load::lock_runs_skipping(tx, &ids, skipped).await?;
    let latest = calls.iter().map(|call| call.now).max();
    let mut changed = BTreeSet::new();
    let mut answers = Vec::with_capacity(calls.len());
    // Items apply in order against the state the earlier ones left, so a
    // run listed twice completes once and the repeat is a conflict.
    for CompleteCall { items, now } in calls {
        let mut call_answers = Vec::with_capacity(items.len());
        for Completion { run_id: run, result } in items {
            let Some(mut state) = locked.state(run) else {
                call_answers.push(Err(ItemError::NotFound(NotFound::Run(run))));
                continue;
            };
            match machine::complete(&mut state, result, now) {
                Ok(()) => {
                    changed.insert(run);
                    locked.put(state);
                    call_answers.push(Ok(()));
                }
                Err(rejection) => call_answers.push(Err(ItemError::Conflict(rejection))),
            }
        }
        answers.push(call_answers);
    }
    let runs: Vec<&Run> = changed.iter().filter_map(|id| locked.runs.get(id)).collect();
    let tasks: Vec<_> = runs.iter().filter_map(|run| locked.tasks.get(&run.task_id)).collect();
    if let Some(now) = latest {
        write::update(tx, &tasks, &runs, now).await?;
        events::announce_ends(tx, &tasks, now, skipped).await?;
    }
    Ok(answers)
}

/// One acknowledge-and-claim call, as a combined transaction takes it.
#[derive(Clone, Debug)]
pub(crate) struct HandoffCall {
    complete: CompleteCall,
    claim: ClaimCall,
}

impl HandoffCall {
    pub(crate) fn new(complete: CompleteCall, claim: ClaimCall) -> Self {
        Self { complete, claim }
    }

    /// Rows the call may touch: its items and its claim's limit.
    pub(crate) fn weight(&self) -> usize {
        self.complete.weight() + self.claim.weight()
    }
}

/// Acknowledges and claims for a batch of calls in one transaction: the
/// completions of every call ([`complete_in`]), then one claim statement
/// for all of them ([`CLAIM_SQL`]), one commit. The completed runs are
/// locked by this transaction, so the claim cannot hand them out again
/// (they are no longer pending either way). An unknown queue fails the
/// whole transaction: nothing is completed.
pub(crate) async fn complete_and_claim(
    pool: &PgPool,
    queue: &QueueName,
    calls: Vec<HandoffCall>,
    skipped: &SkippedRows,
) -> Result<Vec<CompletedThenClaimed>> {
    let (completes, claims): (Vec<_>, Vec<_>) = calls.into_iter().map(|c| (c.complete, c.claim)).unzip();
    in_transaction(pool, async |tx| {
        let completed = complete_in(tx, completes, skipped).await?;
        let claimed = claim_in(tx, queue, &claims, skipped).await?;
        Ok(completed
            .into_iter()
            .zip(claimed)
            .map(|(completed, claimed)| CompletedThenClaimed { completed, claimed })
            .collect())
    })
    .await
}

pub(crate) async fn fail(
    pool: &PgPool,
    run: RunId,
    error: &str,
    now: Timestamp,
    skipped: &SkippedRows,
) -> Result<FailedRun> {
    in_transaction(pool, async |tx| {
        let mut state = load::lock_run(tx, run).await?.ok_or(NotFound::Run(run))?;
        let outcome = machine::fail(&mut state, error, now)?;
        write::save(tx, &state, now).await?;
        let (next, wake) = match outcome {
            FailOutcome::Retry(next) => {
                write::insert_runs(tx, &[&next], now).await?;
                (Some(Retry::of(&next)), wake::queues_to_wake([next.as_ref()], now))
            }
            FailOutcome::TaskFailed => (None, events::announce_ends(tx, &[&state.task], now, skipped).await?),
        };
        write::notify(tx, &wake).await?;
        Ok(FailedRun { run_id: run, queue: state.task.queue, attempt: state.run.attempt, next, wake })
    })
    .await
}

pub(crate) async fn schedule(pool: &PgPool, run: RunId, run_at: Timestamp, now: Timestamp) -> Result<ScheduledRun> {
    in_transaction(pool, async |tx| {
        let mut state = load::lock_run(tx, run).await?.ok_or(NotFound::Run(run))?;
        machine::schedule(&mut state, run_at, now)?;
        write::save(tx, &state, now).await?;
        let wake = wake::queues_to_wake([&state.run], now);
        write::notify(tx, &wake).await?;
        Ok(ScheduledRun { queue: state.task.queue, scheduled_at: run_at, wake })
    })
    .await
}

pub(crate) async fn heartbeat(pool: &PgPool, run: RunId, extend_by: Duration, now: Timestamp) -> Result<Timestamp> {
    in_transaction(pool, async |tx| {
        let mut state = load::lock_run(tx, run).await?.ok_or(NotFound::Run(run))?;
        let end = machine::heartbeat(&mut state, extend_by, now)?;
        // Only the claim's end changed; the task row stays untouched.
        write::update_runs(tx, &[&state.run], now).await?;
        Ok(end)
    })
    .await
}
