//! Events: emit, and wait-for-event. Both are write transactions, so the
//! single writer serializes them: an emit either sees a run already asleep
//! on its name and wakes it, or commits first and the wait finds the event.
//! No wake-up can fall between the two.

use std::sync::LazyLock;

use durable_domain::command::{self as list_command, EventFilter, Page, Wait};
use durable_domain::event::{Event, WaitOutcome, WaitResponse};
use durable_domain::{EventId, NotFound, QueueName, Run, Task, TaskId, Timestamp, child, machine, wake};
use durable_ports::StoreError;
use durable_ports::store::Emitted;
use serde_json::Value;
use sqlx::SqliteConnection;

use super::{runs, tasks};
use crate::db::Db;
use crate::errors;
use crate::rows;

/// Runs asleep on an event name, through the partial index `runs_waiting`.
static SLEEPERS: LazyLock<String> =
    LazyLock::new(|| rows::state::select("WHERE r.status = 'sleeping' AND r.wait_event = ? ORDER BY r.id"));

pub(super) async fn wait(db: &Db, wait: &Wait, now: Timestamp) -> Result<WaitResponse, StoreError> {
    wait_on(db, wait, Resolver::LatestEvent, now).await
}

/// What resolves a wait that has no recorded outcome yet.
#[derive(Clone, Copy)]
enum Resolver {
    /// The latest event of the wait's name (wait-for-event).
    LatestEvent,
    /// The end of this child task, read from its row (wait-for-task).
    EndOf(TaskId),
}

/// Both waits: replay the step's outcome, resolve it, or put the run to
/// sleep on the name; the single writer orders it against emits and ends.
async fn wait_on(db: &Db, wait: &Wait, resolver: Resolver, now: Timestamp) -> Result<WaitResponse, StoreError> {
    let wait = wait.clone();
    db.write(move |tx| {
        Box::pin(async move {
            let mut state = runs::load(tx, wait.run_id).await?;
            tasks::ensure_exists(tx, wait.task_id).await?;
            let memo = rows::events::outcome(tx, wait.task_id, &wait.step_name).await?;
            let resolution = match resolver {
                Resolver::LatestEvent => rows::events::latest(tx, &wait.event_name).await?,
                Resolver::EndOf(child) => {
                    let awaited = rows::state::by_task(tx, child).await?.ok_or(NotFound::Task(child))?;
                    child::end_event(&awaited.task, now)
                }
            };
            let effect = machine::wait_for_event(&mut state, &wait, memo.as_ref(), resolution.as_ref(), now)?;
            if let Some(outcome) = &effect.record {
                rows::events::record_outcome(tx, wait.task_id, &wait.step_name, outcome).await?;
            }
            rows::state::save(tx, &state, now).await?;
            Ok(effect.response)
        })
    })
    .await
}

pub(super) async fn emit(db: &Db, name: &str, payload: Value, now: Timestamp) -> Result<Emitted, StoreError> {
    let name = name.to_owned();
    db.write(move |tx| {
        Box::pin(async move {
            let event = Event { id: EventId::new(), name: name.clone(), payload, created_at: now };
            rows::events::insert(tx, &event).await?;
            let woken = deliver(tx, &event, now).await?;
            let wake = wake::queues_to_wake(&woken, now);
            Ok(Emitted { event, woken: woken.into_iter().map(|r| r.queue).collect(), wake })
        })
    })
    .await
}

/// Delivers `event` to every run asleep on its name: records each outcome
/// and makes the run claimable. Answers the woken runs.
async fn deliver(tx: &mut SqliteConnection, event: &Event, now: Timestamp) -> Result<Vec<Run>, StoreError> {
    let sleepers = sqlx::query(&SLEEPERS).bind(&event.name).fetch_all(&mut *tx).await.map_err(errors::map_sql)?;
    let mut woken = Vec::with_capacity(sleepers.len());
    for row in &sleepers {
        let mut state = rows::state::decode(row)?;
        if let Some((step, outcome)) = machine::deliver(&mut state, event, now) {
            rows::events::record_outcome(tx, state.task.id, &step, &outcome).await?;
            rows::state::save(tx, &state, now).await?;
            woken.push(state.run);
        }
    }
    Ok(woken)
}

/// Announces the ends of `ended` to the runs waiting for them
/// (`durable_domain::child`), in the transaction that ended them. Answers
/// the queues to wake.
pub(super) async fn announce_ends(
    tx: &mut SqliteConnection,
    ended: &[&Task],
    now: Timestamp,
) -> Result<Vec<QueueName>, StoreError> {
    let mut woken = Vec::new();
    for event in ended.iter().filter_map(|task| child::end_event(task, now)) {
        woken.extend(deliver(tx, &event, now).await?);
    }
    let mut wake = wake::queues_to_wake(&woken, now);
    wake.extend(child::queues_to_signal(ended.iter().copied()));
    wake.sort();
    wake.dedup();
    Ok(wake)
}

/// Wait-for-task: wait-for-event on the child's end, the child's row
/// standing for the latest event.
pub(super) async fn wait_for_task(
    db: &Db,
    wait: &Wait,
    child: TaskId,
    now: Timestamp,
) -> Result<WaitResponse, StoreError> {
    wait_on(db, wait, Resolver::EndOf(child), now).await
}

/// Newest first: emit order (ids are time-ordered v7 UUIDs).
pub(super) async fn list(db: &Db, filter: &EventFilter) -> Result<Page<Event, EventId>, StoreError> {
    let mut query =
        sqlx::QueryBuilder::<sqlx::Sqlite>::new("SELECT id, name, payload, created_at FROM events WHERE 1 = 1");
    if let Some(name) = &filter.event_name {
        query.push(" AND name = ").push_bind(name.clone());
    }
    if let Some(cursor) = filter.cursor {
        query.push(" AND id < ").push_bind(cursor.to_string());
    }
    query.push(" ORDER BY id DESC LIMIT ").push_bind(list_command::fetch_limit(filter.limit));
    let mut conn = db.reader().acquire().await.map_err(errors::map_sql)?;
    let rows = query.build().fetch_all(&mut *conn).await.map_err(errors::map_sql)?;
    let events = rows.iter().map(rows::events::decode).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_fetched(events, filter.limit, |e| e.id))
}

pub(super) async fn outcomes(db: &Db, task: TaskId) -> Result<Vec<(String, WaitOutcome)>, StoreError> {
    let mut conn = db.reader().acquire().await.map_err(errors::map_sql)?;
    if !rows::tasks::exists(&mut conn, task).await? {
        return Err(NotFound::Task(task).into());
    }
    rows::events::outcomes_of(&mut conn, task).await
}
