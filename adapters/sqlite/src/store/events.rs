//! Events: emit, and wait-for-event. Both are write transactions, so the
//! single writer serializes them: an emit either sees a run already asleep
//! on its name and wakes it, or commits first and the wait finds the event.
//! No wake-up can fall between the two.

use std::sync::LazyLock;

use durable_domain::command::Wait;
use durable_domain::event::{Event, WaitResponse};
use durable_domain::{EventId, Timestamp, machine, wake};
use durable_ports::StoreError;
use durable_ports::store::Emitted;
use serde_json::Value;

use super::{runs, tasks};
use crate::db::Db;
use crate::errors;
use crate::rows;

/// Runs asleep on an event name, through the partial index `runs_waiting`.
static SLEEPERS: LazyLock<String> =
    LazyLock::new(|| rows::state::select("WHERE r.status = 'sleeping' AND r.wait_event = ? ORDER BY r.id"));

pub(super) async fn wait(db: &Db, wait: &Wait, now: Timestamp) -> Result<WaitResponse, StoreError> {
    let wait = wait.clone();
    db.write(move |tx| {
        Box::pin(async move {
            let mut state = runs::load(tx, wait.run_id).await?;
            tasks::ensure_exists(tx, wait.task_id).await?;
            let memo = rows::events::outcome(tx, wait.task_id, &wait.step_name).await?;
            let latest = rows::events::latest(tx, &wait.event_name).await?;
            let effect = machine::wait_for_event(&mut state, &wait, memo.as_ref(), latest.as_ref(), now)?;
            if let Some(outcome) = &effect.record {
                rows::events::record_outcome(tx, wait.task_id, &wait.step_name, outcome).await?;
            }
            rows::state::save(tx, &state).await?;
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
            let sleepers = sqlx::query(&SLEEPERS).bind(&name).fetch_all(&mut *tx).await.map_err(errors::map_sql)?;
            let mut woken = Vec::with_capacity(sleepers.len());
            for row in &sleepers {
                let mut state = rows::state::decode(row)?;
                if let Some((step, outcome)) = machine::deliver(&mut state, &event, now) {
                    rows::events::record_outcome(tx, state.task.id, &step, &outcome).await?;
                    rows::state::save(tx, &state).await?;
                    woken.push(state.run);
                }
            }
            let wake = wake::queues_to_wake(&woken, now);
            Ok(Emitted { event, woken: woken.into_iter().map(|r| r.queue).collect(), wake })
        })
    })
    .await
}
