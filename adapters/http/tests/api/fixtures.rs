//! Domain values as the service would return them.

use std::collections::BTreeMap;

use durable_domain::retry::{RetryKind, RetryStrategy};
use durable_domain::{QueueName, RunStatus, TaskSpec, TaskState, Timestamp};
use serde_json::json;
use time::macros::datetime;

pub(crate) const NOW: Timestamp = datetime!(2026-03-04 05:06:07.123456 UTC);
pub(crate) const NOW_TEXT: &str = "2026-03-04T05:06:07.123456Z";

pub(crate) fn queue_name(name: &str) -> QueueName {
    QueueName::parse("name", name).unwrap()
}

pub(crate) fn spec(task_name: &str) -> TaskSpec {
    TaskSpec {
        task_name: task_name.into(),
        params: json!({"to": "a@example.com"}),
        headers: BTreeMap::from([("trace".to_owned(), "abc".to_owned())]),
        retry_strategy: Some(RetryStrategy {
            kind: RetryKind::Exponential,
            base_seconds: 1.5,
            factor: Some(2.0),
            max_seconds: None,
        }),
        max_attempts: 3,
        start_timeout: None,
        execution_timeout: Some(time::Duration::seconds(90)),
        workflow_run_id: None,
        parent_task_id: None,
        idempotency_key: None,
        run_at: None,
        priority: 0,
        concurrency_key: None,
    }
}

/// A task with its first run, pending.
pub(crate) fn task_state(task_name: &str) -> TaskState {
    durable_domain::task::create(queue_name("emails"), spec(task_name), NOW)
}

/// A task whose first run is claimed until `NOW + 30 s`.
pub(crate) fn claimed(task_name: &str) -> TaskState {
    let mut state = task_state(task_name);
    state.run.status = RunStatus::Claimed;
    state.run.claimed_at = Some(NOW);
    state.run.claim_expires_at = Some(NOW + time::Duration::seconds(30));
    state
}
