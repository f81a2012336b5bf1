//! Row ↔ domain mapping. Queries select tasks as `t` and runs as `r` with
//! the column lists below, whose aliases carry a prefix (`t_id`, `r_id`) so
//! a task and its run can come back in one row without name clashes. The
//! lists are macros so that whole statements stay `&'static str` through
//! `concat!`.

use std::collections::BTreeMap;

use durable_domain::event::{Checkpoint, Event, WaitOutcome};
use durable_domain::flow::FlowLimits;
use durable_domain::retry::{RetryKind, RetryStrategy};
use durable_domain::task::EventWait;
use durable_domain::workflow::{WorkflowRun, WorkflowStatus};
use durable_domain::{
    CleanupPolicy, EventId, Queue, QueueName, Run, RunId, RunStatus, Task, TaskId, TaskSpec, TaskStatus, WorkflowRunId,
};
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;
use time::Duration;
use uuid::Uuid;

use crate::errors::{Result, corrupt};

/// `t_first_claimed_at` is the stored column or, while that is still unset,
/// the current run's `claimed_at`: a claim writes only the run (see
/// `store::runs::CLAIM_SQL`), and the task's next write stores the time the
/// domain derived from it (`load::pair`).
macro_rules! task_columns {
    () => {
        "\
    t.id AS t_id, t.queue AS t_queue, t.task_name AS t_task_name, t.params AS t_params, \
    t.headers AS t_headers, t.retry_kind AS t_retry_kind, t.retry_base_seconds AS t_retry_base_seconds, \
    t.retry_factor AS t_retry_factor, t.retry_max_seconds AS t_retry_max_seconds, \
    t.max_attempts AS t_max_attempts, t.start_timeout_us AS t_start_timeout_us, \
    t.execution_timeout_us AS t_execution_timeout_us, t.workflow_run_id AS t_workflow_run_id, \
    t.idempotency_key AS t_idempotency_key, t.run_at AS t_run_at, t.status AS t_status, \
    t.attempts AS t_attempts, t.failures AS t_failures, t.consecutive_expiries AS t_consecutive_expiries, \
    t.current_run AS t_current_run, t.result AS t_result, t.last_error AS t_last_error, \
    t.created_at AS t_created_at, t.completed_at AS t_completed_at, t.parent_task_id AS t_parent_task_id, \
    t.result_watched AS t_result_watched, t.priority AS t_priority, t.concurrency_key AS t_concurrency_key, \
    coalesce(t.first_claimed_at, (SELECT fc.claimed_at FROM runs fc WHERE fc.id = t.current_run)) \
        AS t_first_claimed_at"
    };
}
pub(crate) use task_columns;

macro_rules! run_columns {
    () => {
        "\
    r.id AS r_id, r.task_id AS r_task_id, r.queue AS r_queue, r.attempt AS r_attempt, r.status AS r_status, \
    r.available_at AS r_available_at, r.claimed_at AS r_claimed_at, r.claim_expires_at AS r_claim_expires_at, \
    r.worker_id AS r_worker_id, r.wait_event_name AS r_wait_event_name, r.wait_step_name AS r_wait_step_name, \
    r.result AS r_result, r.error AS r_error, r.created_at AS r_created_at, r.completed_at AS r_completed_at, \
    r.priority AS r_priority, r.concurrency_key AS r_concurrency_key, r.held AS r_held"
    };
}
pub(crate) use run_columns;

macro_rules! queue_columns {
    () => {
        "name, created_at, task_ttl_seconds, event_ttl_seconds, key_concurrency_limit, concurrency_limit"
    };
}
pub(crate) use queue_columns;

macro_rules! event_columns {
    () => {
        "id, name, payload, created_at"
    };
}
pub(crate) use event_columns;

macro_rules! checkpoint_columns {
    () => {
        "task_id, step_name, state, owner_run, updated_at"
    };
}
pub(crate) use checkpoint_columns;

macro_rules! workflow_columns {
    () => {
        "\
    id, workflow_name, workflow_version, inputs, created_by, tags, status, result, \
    started_at, completed_at, created_at, updated_at"
    };
}
pub(crate) use workflow_columns;

pub(crate) fn task(row: &PgRow) -> Result<Task> {
    let retry_strategy = match row.try_get::<Option<String>, _>("t_retry_kind")? {
        None => None,
        Some(kind) => Some(RetryStrategy {
            kind: RetryKind::parse(&kind).ok_or_else(|| corrupt(format!("retry kind {kind:?}")))?,
            base_seconds: row.try_get("t_retry_base_seconds")?,
            factor: row.try_get("t_retry_factor")?,
            max_seconds: row.try_get("t_retry_max_seconds")?,
        }),
    };
    let spec = TaskSpec {
        task_name: row.try_get("t_task_name")?,
        params: row.try_get("t_params")?,
        headers: string_map_from(row.try_get("t_headers")?, "headers")?,
        retry_strategy,
        max_attempts: count(row.try_get("t_max_attempts")?)?,
        start_timeout: row.try_get::<Option<i64>, _>("t_start_timeout_us")?.map(Duration::microseconds),
        execution_timeout: row.try_get::<Option<i64>, _>("t_execution_timeout_us")?.map(Duration::microseconds),
        workflow_run_id: row.try_get::<Option<Uuid>, _>("t_workflow_run_id")?.map(WorkflowRunId::from_uuid),
        parent_task_id: row.try_get::<Option<Uuid>, _>("t_parent_task_id")?.map(TaskId::from_uuid),
        idempotency_key: row.try_get("t_idempotency_key")?,
        run_at: row.try_get("t_run_at")?,
        priority: row.try_get("t_priority")?,
        concurrency_key: row.try_get("t_concurrency_key")?,
    };
    let status: String = row.try_get("t_status")?;
    Ok(Task {
        id: TaskId::from_uuid(row.try_get("t_id")?),
        queue: queue_name(row.try_get("t_queue")?)?,
        spec,
        status: TaskStatus::parse(&status).ok_or_else(|| corrupt(format!("task status {status:?}")))?,
        attempts: count(row.try_get("t_attempts")?)?,
        failures: count(row.try_get("t_failures")?)?,
        consecutive_expiries: count(row.try_get("t_consecutive_expiries")?)?,
        current_run: RunId::from_uuid(row.try_get("t_current_run")?),
        result: row.try_get("t_result")?,
        last_error: row.try_get("t_last_error")?,
        created_at: row.try_get("t_created_at")?,
        first_claimed_at: row.try_get("t_first_claimed_at")?,
        completed_at: row.try_get("t_completed_at")?,
        result_watched: row.try_get("t_result_watched")?,
    })
}

pub(crate) fn run(row: &PgRow) -> Result<Run> {
    let status: String = row.try_get("r_status")?;
    let wait = match (row.try_get("r_wait_event_name")?, row.try_get("r_wait_step_name")?) {
        (Some(event_name), Some(step_name)) => Some(EventWait { event_name, step_name }),
        _ => None,
    };
    Ok(Run {
        id: RunId::from_uuid(row.try_get("r_id")?),
        task_id: TaskId::from_uuid(row.try_get("r_task_id")?),
        queue: queue_name(row.try_get("r_queue")?)?,
        attempt: count(row.try_get("r_attempt")?)?,
        status: RunStatus::parse(&status).ok_or_else(|| corrupt(format!("run status {status:?}")))?,
        available_at: row.try_get("r_available_at")?,
        claimed_at: row.try_get("r_claimed_at")?,
        claim_expires_at: row.try_get("r_claim_expires_at")?,
        worker_id: row.try_get("r_worker_id")?,
        wait,
        result: row.try_get("r_result")?,
        error: row.try_get("r_error")?,
        created_at: row.try_get("r_created_at")?,
        completed_at: row.try_get("r_completed_at")?,
        priority: row.try_get("r_priority")?,
        concurrency_key: row.try_get("r_concurrency_key")?,
        held: row.try_get("r_held")?,
    })
}

pub(crate) fn queue(row: &PgRow) -> Result<Queue> {
    Ok(Queue {
        name: queue_name(row.try_get("name")?)?,
        created_at: row.try_get("created_at")?,
        cleanup: CleanupPolicy {
            task_ttl_seconds: seconds(row.try_get("task_ttl_seconds")?)?,
            event_ttl_seconds: seconds(row.try_get("event_ttl_seconds")?)?,
        },
        flow: FlowLimits {
            key_concurrency_limit: limit(row.try_get("key_concurrency_limit")?)?,
            concurrency_limit: row.try_get::<Option<i64>, _>("concurrency_limit")?.map(limit).transpose()?,
        },
    })
}

pub(crate) fn event(row: &PgRow) -> Result<Event> {
    Ok(Event {
        id: EventId::from_uuid(row.try_get("id")?),
        name: row.try_get("name")?,
        payload: row.try_get("payload")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn checkpoint(row: &PgRow) -> Result<Checkpoint> {
    Ok(Checkpoint {
        task_id: TaskId::from_uuid(row.try_get("task_id")?),
        step_name: row.try_get("step_name")?,
        state: row.try_get("state")?,
        owner_run: RunId::from_uuid(row.try_get("owner_run")?),
        updated_at: row.try_get("updated_at")?,
    })
}

pub(crate) fn workflow(row: &PgRow) -> Result<WorkflowRun> {
    let status: String = row.try_get("status")?;
    Ok(WorkflowRun {
        id: WorkflowRunId::from_uuid(row.try_get("id")?),
        workflow_name: row.try_get("workflow_name")?,
        workflow_version: row.try_get("workflow_version")?,
        inputs: row.try_get("inputs")?,
        created_by: row.try_get("created_by")?,
        tags: string_map_from(row.try_get("tags")?, "tags")?,
        status: WorkflowStatus::parse(&status).ok_or_else(|| corrupt(format!("workflow status {status:?}")))?,
        result: row.try_get("result")?,
        started_at: row.try_get("started_at")?,
        completed_at: row.try_get("completed_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// A wait outcome from its `outcome` and `payload` columns.
pub(crate) fn wait_outcome(outcome: &str, payload: Option<Value>) -> Result<WaitOutcome> {
    match (outcome, payload) {
        ("resolved", Some(payload)) => Ok(WaitOutcome::Resolved { payload }),
        ("timeout", _) => Ok(WaitOutcome::Timeout),
        (other, _) => Err(corrupt(format!("wait outcome {other:?}"))),
    }
}

/// The `outcome` and `payload` columns of a wait outcome.
pub(crate) fn wait_outcome_columns(outcome: &WaitOutcome) -> (&'static str, Option<&Value>) {
    match outcome {
        WaitOutcome::Resolved { payload } => ("resolved", Some(payload)),
        WaitOutcome::Timeout => ("timeout", None),
    }
}

/// A string map as a JSON object.
pub(crate) fn string_map(map: &BTreeMap<String, String>) -> Value {
    Value::Object(map.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
}

/// A duration as whole microseconds, saturating (the domain caps durations
/// far below the limit anyway).
pub(crate) fn micros(d: Duration) -> i64 {
    i64::try_from(d.whole_microseconds()).unwrap_or(if d.is_negative() { i64::MIN } else { i64::MAX })
}

/// A domain counter as a bigint column.
pub(crate) fn bigint(n: u32) -> i64 {
    i64::from(n)
}

/// A TTL as a bigint column; the API's u64 never exceeds it in practice, and
/// anything larger means "keep for ever" just the same.
pub(crate) fn ttl_column(seconds: u64) -> i64 {
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

fn queue_name(raw: String) -> Result<QueueName> {
    QueueName::parse("queue", &raw).map_err(|_| corrupt(format!("queue name {raw:?}")))
}

fn count(n: i64) -> Result<u32> {
    u32::try_from(n).map_err(|_| corrupt(format!("counter {n}")))
}

fn limit(n: i64) -> Result<u32> {
    u32::try_from(n).ok().filter(|n| *n >= 1).ok_or_else(|| corrupt(format!("concurrency limit {n}")))
}

fn seconds(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| corrupt(format!("ttl {n}")))
}

/// A JSON object of strings as a string map.
fn string_map_from(value: Value, what: &str) -> Result<BTreeMap<String, String>> {
    let Value::Object(object) = value else {
        return Err(corrupt(format!("{what} is not an object")));
    };
    object
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(v) => Ok((k, v)),
            other => Err(corrupt(format!("{what}.{k} is {other}, not a string"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_saturate_instead_of_overflowing() {
        assert_eq!(micros(Duration::milliseconds(1500)), 1_500_000);
        assert_eq!(micros(Duration::MAX), i64::MAX);
        assert_eq!(micros(Duration::MIN), i64::MIN);
    }

    #[test]
    fn string_maps_round_trip_and_reject_non_strings() {
        let map = BTreeMap::from([("a".to_owned(), "1".to_owned()), ("b".to_owned(), "x".to_owned())]);
        assert_eq!(string_map_from(string_map(&map), "headers").unwrap(), map);
        assert!(string_map_from(serde_json::json!({"a": 1}), "headers").is_err());
        assert!(string_map_from(serde_json::json!([]), "headers").is_err());
    }

    #[test]
    fn wait_outcomes_round_trip() {
        for outcome in [WaitOutcome::Timeout, WaitOutcome::Resolved { payload: serde_json::json!({"k": null}) }] {
            let (kind, payload) = wait_outcome_columns(&outcome);
            assert_eq!(wait_outcome(kind, payload.cloned()).unwrap(), outcome);
        }
        assert!(wait_outcome("resolved", None).is_err());
        assert!(wait_outcome("maybe", None).is_err());
    }

    #[test]
    fn ttls_beyond_bigint_keep_for_ever() {
        assert_eq!(ttl_column(259_200), 259_200);
        assert_eq!(ttl_column(u64::MAX), i64::MAX);
    }
}
