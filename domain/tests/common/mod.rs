//! Fixtures shared by the domain test binaries: fixed instants, task specs
//! and the commands the state machine takes.

// Each test binary compiles this module on its own and uses a subset of it.
#![allow(dead_code)]

use durable_domain::command::{Claim, Wait};
use durable_domain::event::Event;
use durable_domain::retry::{RetryKind, RetryStrategy};
use durable_domain::task::{self, TaskSpec, TaskState};
use durable_domain::{EventId, QueueName, Timestamp, machine};
use serde_json::{Value, json};
use time::Duration;
use time::macros::datetime;

/// The instant every task in these tests is created at.
pub(crate) const T0: Timestamp = datetime!(2026-03-01 12:00:00 UTC);

/// `T0` plus `seconds` (negative goes back in time).
pub(crate) fn at(seconds: i64) -> Timestamp {
    T0 + Duration::seconds(seconds)
}

pub(crate) fn secs(seconds: i64) -> Duration {
    Duration::seconds(seconds)
}

pub(crate) fn queue() -> QueueName {
    QueueName::parse("name", "emails").unwrap()
}

/// A task with no retry strategy, no timeouts and `max_attempts` 1.
pub(crate) fn spec() -> TaskSpec {
    TaskSpec { params: json!({"to": "ada@example.com"}), ..TaskSpec::named("send-email") }
}

pub(crate) fn with_attempts(max_attempts: u32) -> TaskSpec {
    TaskSpec { max_attempts, ..spec() }
}

pub(crate) fn fixed(base_seconds: f64) -> RetryStrategy {
    RetryStrategy { kind: RetryKind::Fixed, base_seconds, factor: None, max_seconds: None }
}

pub(crate) fn exponential(base_seconds: f64, factor: Option<f64>, max_seconds: Option<f64>) -> RetryStrategy {
    RetryStrategy { kind: RetryKind::Exponential, base_seconds, factor, max_seconds }
}

/// A new task created at `T0`: its first run is pending and due at once.
pub(crate) fn new_task(spec: TaskSpec) -> TaskState {
    task::create(queue(), spec, T0)
}

pub(crate) fn claim_for(timeout_seconds: i64) -> Claim {
    Claim { limit: 1, claim_timeout: secs(timeout_seconds), long_poll: None, worker_id: Some("worker-1".into()) }
}

/// A new task whose first run was claimed at `T0` for 30 s.
pub(crate) fn claimed(spec: TaskSpec) -> TaskState {
    let mut state = new_task(spec);
    machine::claim(&mut state, &claim_for(30), T0).unwrap();
    state
}

pub(crate) fn event(name: &str, payload: Value, created_at: Timestamp) -> Event {
    Event { id: EventId::new(), name: name.into(), payload, created_at }
}

/// A wait-for-event command from the run `state` addresses.
pub(crate) fn wait_for(state: &TaskState, event_name: &str, step_name: &str, timeout_seconds: i64) -> Wait {
    Wait {
        run_id: state.run.id,
        task_id: state.task.id,
        event_name: event_name.into(),
        step_name: step_name.into(),
        timeout: secs(timeout_seconds),
    }
}

/// The state a store would load after a transition created `run`: the same
/// task, now addressing its new current run.
pub(crate) fn addressing(state: &TaskState, run: task::Run) -> TaskState {
    TaskState { task: state.task.clone(), run }
}

/// Runs `op` on `state`, expecting exactly `expected` and no change at all.
#[track_caller]
pub(crate) fn assert_rejected<T: std::fmt::Debug>(
    state: &mut TaskState,
    expected: durable_domain::Rejection,
    op: impl FnOnce(&mut TaskState) -> Result<T, durable_domain::Rejection>,
) {
    let before = state.clone();
    let outcome = op(state);
    assert_eq!(outcome.unwrap_err(), expected);
    assert_eq!(*state, before, "a rejection must leave the state untouched");
}

/// The next run of a transition that retried, or a panic naming what happened.
#[track_caller]
pub(crate) fn retried(outcome: machine::FailOutcome) -> task::Run {
    match outcome {
        machine::FailOutcome::Retry(run) => *run,
        machine::FailOutcome::TaskFailed => panic!("expected a retry, the task failed"),
    }
}
