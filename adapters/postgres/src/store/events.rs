//! Events: wait-for-event and emit, serialized per event name.

use durable_domain::command::{EventFilter, Page, Wait};
use durable_domain::event::{Event, WaitOutcome, WaitResponse};
use durable_domain::{EventId, NotFound, QueueName, RunId, Task, TaskId, Timestamp, child, machine, wake};
use durable_ports::store::Emitted;
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use super::tx::in_transaction;
use super::{load, locks, write};
use crate::errors::Result;
use crate::json_text::JsonText;
use crate::rows::{self, event_columns, task_columns};
use crate::skipped::SkippedRows;

pub(crate) async fn wait(pool: &PgPool, wait: &Wait, now: Timestamp) -> Result<WaitResponse> {
    wait_on(pool, wait, Resolver::LatestEvent, now).await
}

/// What resolves a wait that has no recorded outcome yet.
#[derive(Clone, Copy)]
enum Resolver {
    /// The latest event of the wait's name (wait-for-event).
    LatestEvent,
    /// The end of this child task, read from its row (wait-for-task).
    EndOf(TaskId),
}

/// Both waits: under the name lock (taken first), replay the step's
/// outcome, resolve it, or put the run to sleep on the name.
async fn wait_on(pool: &PgPool, wait: &Wait, resolver: Resolver, now: Timestamp) -> Result<WaitResponse> {
    in_transaction(pool, async |tx| {
        locks::event_name(tx, &wait.event_name).await?;
        let mut state = load::lock_run(tx, wait.run_id).await?.ok_or(NotFound::Run(wait.run_id))?;
        if state.task.id != wait.task_id {
            task_exists(tx, wait.task_id).await?;
        }
        let memo = outcome(tx, wait.task_id, &wait.step_name).await?;
        let resolution = match resolver {
            Resolver::LatestEvent => latest_event(tx, &wait.event_name).await?,
            Resolver::EndOf(child) => child_end(tx, child, now).await?,
        };
        let effect = machine::wait_for_event(&mut state, wait, memo.as_ref(), resolution.as_ref(), now)?;
        if let Some(outcome) = effect.record {
            write::record_outcomes(tx, &[(wait.task_id, wait.step_name.clone(), outcome)], now).await?;
        }
        if effect.response == WaitResponse::Sleeping {
            write::save(tx, &state, now).await?;
        }
        Ok(effect.response)
    })
    .await
}

/// A sleeper whose row cannot be decoded is left asleep ([`SkippedRows`]):
/// the event is kept and the other sleepers wake.
pub(crate) async fn emit(
    pool: &PgPool,
    name: &str,
    payload: Value,
    now: Timestamp,
    skipped: &SkippedRows,
) -> Result<Emitted> {
    let event = Event { id: EventId::new(), name: name.to_owned(), payload, created_at: now };
    in_transaction(pool, async |tx| {
        locks::event_name(tx, name).await?;
        sqlx::query("INSERT INTO events (id, name, payload, created_at) VALUES ($1, $2, $3, $4)")
            .bind(event.id.as_uuid())
            .bind(&event.name)
            .bind(JsonText::of(&event.payload))
            .bind(event.created_at)
            .execute(&mut *tx)
            .await?;

        let (woken, wake) = deliver(tx, &event, now, skipped).await?;
        Ok(Emitted { event, woken, wake })
    })
    .await
}

/// Delivers `event` to every run sleeping on its name, inside the caller's
/// transaction (which holds the name's lock): records the outcomes, wakes
/// the runs and notifies their queues. Answers the queue of each woken run
/// and the queues to wake.
async fn deliver(
    tx: &mut PgConnection,
    event: &Event,
    now: Timestamp,
    skipped: &SkippedRows,
) -> Result<(Vec<QueueName>, Vec<QueueName>)> {
    let sleepers: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM runs WHERE status = 'sleeping' AND wait_event_name = $1 ORDER BY id")
            .bind(&event.name)
            .fetch_all(&mut *tx)
            .await?;
    if sleepers.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let locked = load::lock_runs_skipping(tx, &sleepers, skipped).await?;
    let mut outcomes = Vec::new();
    let mut woken = Vec::new();
    for run in sleepers.into_iter().map(RunId::from_uuid) {
        let Some(mut state) = locked.state(run) else {
            continue;
        };
        // The domain re-checks under the lock: a run woken meanwhile (by the
        // sweeper, say) is left alone.
        if let Some((step, outcome)) = machine::deliver(&mut state, event, now) {
            outcomes.push((state.task.id, step, outcome));
            woken.push(state);
        }
    }
    write::record_outcomes(tx, &outcomes, now).await?;
    let tasks: Vec<_> = woken.iter().map(|s| &s.task).collect();
    let runs: Vec<_> = woken.iter().map(|s| &s.run).collect();
    write::update(tx, &tasks, &runs, now).await?;
    let wake = wake::queues_to_wake(runs, now);
    write::notify(tx, &wake).await?;
    Ok((woken.into_iter().map(|s| s.run.queue).collect(), wake))
}

/// Announces the end of every task in `ended` that has a parent to the
/// runs waiting for it (`durable_domain::child`), inside the transaction
/// that ended them. The name locks come after the caller's row locks; a
/// waiter takes its name lock first and never locks the child, so the two
/// cannot wait on each other. Answers the queues to wake.
pub(crate) async fn announce_ends(
    tx: &mut PgConnection,
    ended: &[&Task],
    now: Timestamp,
    skipped: &SkippedRows,
) -> Result<Vec<QueueName>> {
    let mut events: Vec<Event> = ended.iter().filter_map(|task| child::end_event(task, now)).collect();
    events.sort_by(|a, b| a.name.cmp(&b.name));
    let mut wake = Vec::new();
    for event in &events {
        locks::event_name(tx, &event.name).await?;
        wake.extend(deliver(tx, event, now, skipped).await?.1);
    }
    let watched = child::queues_to_signal(ended.iter().copied());
    write::notify(tx, &watched).await?;
    wake.extend(watched);
    wake.sort();
    wake.dedup();
    Ok(wake)
}

/// Wait-for-task: wait-for-event on the child's end, where the "latest
/// event" is the child's own row (it has ended or it has not), read after
/// the name lock so an end committed before is seen and one committed after
/// finds this sleeper.
pub(crate) async fn wait_for_task(pool: &PgPool, wait: &Wait, child: TaskId, now: Timestamp) -> Result<WaitResponse> {
    wait_on(pool, wait, Resolver::EndOf(child), now).await
}

/// The child's end as the event its waiters resolve from; `None` while it
/// runs. The child is read, not locked: its ending transaction holds it.
async fn child_end(conn: &mut PgConnection, child: TaskId, now: Timestamp) -> Result<Option<Event>> {
    let row = sqlx::query(concat!("SELECT ", task_columns!(), " FROM tasks t WHERE t.id = $1"))
        .bind(child.as_uuid())
        .fetch_optional(conn)
        .await?
        .ok_or(NotFound::Task(child))?;
    Ok(child::end_event(&rows::task(&row)?, now))
}

async fn task_exists(conn: &mut PgConnection, id: TaskId) -> Result<()> {
    let found = sqlx::query("SELECT 1 FROM tasks WHERE id = $1").bind(id.as_uuid()).fetch_optional(conn).await?;
    if found.is_some() { Ok(()) } else { Err(NotFound::Task(id).into()) }
}

/// The recorded outcome of a `(task, step)` wait, if any.
async fn outcome(conn: &mut PgConnection, task: TaskId, step: &str) -> Result<Option<WaitOutcome>> {
    let row = sqlx::query("SELECT outcome, payload FROM wait_outcomes WHERE task_id = $1 AND step_name = $2")
        .bind(task.as_uuid())
        .bind(step)
        .fetch_optional(conn)
        .await?;
    match row {
        None => Ok(None),
        Some(row) => Ok(Some(rows::wait_outcome(row.try_get("outcome")?, row.try_get("payload")?)?)),
    }
}

/// The latest event of a name: latest by the time it was emitted at, then
/// by id (v7 ids order emits within the same microsecond of one process).
async fn latest_event(conn: &mut PgConnection, name: &str) -> Result<Option<Event>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        " FROM events WHERE name = $1 ORDER BY created_at DESC, id DESC LIMIT 1"
    ))
    .bind(name)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(rows::event).transpose()
}

/// Newest first: emit order (ids are time-ordered v7 UUIDs).
pub(crate) async fn list(pool: &PgPool, filter: &EventFilter) -> Result<Page<Event, EventId>> {
    let mut query =
        sqlx::QueryBuilder::<sqlx::Postgres>::new(concat!("SELECT ", event_columns!(), " FROM events WHERE true"));
    if let Some(name) = &filter.event_name {
        query.push(" AND name = ").push_bind(name.as_str());
    }
    if let Some(cursor) = filter.cursor {
        query.push(" AND id < ").push_bind(cursor.as_uuid());
    }
    query.push(" ORDER BY id DESC LIMIT ").push_bind(durable_domain::command::fetch_limit(filter.limit));
    let rows = query.build().fetch_all(pool).await?;
    let events = rows.iter().map(rows::event).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_fetched(events, filter.limit, |e| e.id))
}

/// Every recorded wait outcome of a task, by step name.
pub(crate) async fn outcomes(pool: &PgPool, task: TaskId) -> Result<Vec<(String, WaitOutcome)>> {
    let mut conn = pool.acquire().await?;
    task_exists(&mut conn, task).await?;
    let rows =
        sqlx::query("SELECT step_name, outcome, payload FROM wait_outcomes WHERE task_id = $1 ORDER BY step_name")
            .bind(task.as_uuid())
            .fetch_all(&mut *conn)
            .await?;
    rows.iter()
        .map(|row| {
            Ok((row.try_get("step_name")?, rows::wait_outcome(row.try_get("outcome")?, row.try_get("payload")?)?))
        })
        .collect()
}
