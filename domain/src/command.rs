//! Raw inputs of the use cases and their validation into domain values.
//! Every check names the offending field, so adapters can pass the message on.

use std::collections::BTreeMap;

use serde_json::Value;
use time::Duration;

use crate::clock::{self, Timestamp};
use crate::error::ValidationError;
use crate::flow::{self, FlowLimits, FlowPatch};
use crate::ids::{RunId, TaskId, WorkflowRunId};
use crate::queue::{CleanupPolicy, DEFAULT_TTL_SECONDS};
use crate::retry::RetryStrategy;
use crate::task::{RunStatus, TaskSpec, TaskStatus};
use crate::workflow::{NewWorkflowRun, WorkflowStatus};

pub const MAX_CLAIM_LIMIT: i64 = 1000;
pub const MAX_BATCH: usize = 1000;
pub const MAX_LONG_POLL_SECONDS: f64 = 60.0;
pub const MAX_PAGE_LIMIT: i64 = 1000;
pub const DEFAULT_PAGE_LIMIT: u32 = 50;
/// The largest `max_attempts`: what the stores' attempt counters hold.
pub const MAX_ATTEMPTS: u32 = u32::MAX;
/// The longest name (`task_name`, `event_name`, ...), in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 255;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewQueue {
    pub name: String,
    pub task_ttl_seconds: Option<u64>,
    pub event_ttl_seconds: Option<u64>,
    /// **(ext)** Runs of one concurrency key claimed at once (default 1).
    pub key_concurrency_limit: Option<i64>,
    /// **(ext)** Runs of the queue claimed at once (default unlimited).
    pub concurrency_limit: Option<i64>,
}

/// The longest retention a queue accepts: 100 years. Anything larger is a
/// typo, and would not fit the stores' integer columns.
pub const MAX_TTL_SECONDS: u64 = 100 * 365 * 86_400;

impl NewQueue {
    pub fn cleanup(&self) -> Result<CleanupPolicy, ValidationError> {
        let ttl = |field: &str, value: Option<u64>| match value {
            None => Ok(DEFAULT_TTL_SECONDS),
            Some(v) if v <= MAX_TTL_SECONDS => Ok(v),
            Some(_) => Err(ValidationError::invalid(field, format!("must be at most {MAX_TTL_SECONDS} (100 years)"))),
        };
        Ok(CleanupPolicy {
            task_ttl_seconds: ttl("cleanup.task_ttl_seconds", self.task_ttl_seconds)?,
            event_ttl_seconds: ttl("cleanup.event_ttl_seconds", self.event_ttl_seconds)?,
        })
    }

    pub fn flow(&self) -> Result<FlowLimits, ValidationError> {
        Ok(FlowLimits {
            key_concurrency_limit: match self.key_concurrency_limit {
                None => flow::DEFAULT_KEY_CONCURRENCY_LIMIT,
                Some(n) => flow::limit("key_concurrency_limit", n)?,
            },
            concurrency_limit: self.concurrency_limit.map(|n| flow::limit("concurrency_limit", n)).transpose()?,
        })
    }
}

/// A change of a queue's settings **(ext)** as it arrives: `None` keeps a
/// setting; `concurrency_limit: Some(None)` removes the cap.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueUpdate {
    pub key_concurrency_limit: Option<i64>,
    pub concurrency_limit: Option<Option<i64>>,
}

impl QueueUpdate {
    pub fn validate(self) -> Result<FlowPatch, ValidationError> {
        Ok(FlowPatch {
            key_concurrency_limit: self
                .key_concurrency_limit
                .map(|n| flow::limit("key_concurrency_limit", n))
                .transpose()?,
            concurrency_limit: self
                .concurrency_limit
                .map(|cap| cap.map(|n| flow::limit("concurrency_limit", n)).transpose())
                .transpose()?,
        })
    }
}

/// A create-task request as it arrives.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewTask {
    pub task_name: String,
    pub params: Value,
    pub headers: BTreeMap<String, String>,
    pub retry_strategy: Option<RetryStrategy>,
    pub max_attempts: Option<i64>,
    pub start_timeout: Option<f64>,
    pub execution_timeout: Option<f64>,
    pub workflow_run_id: Option<WorkflowRunId>,
    /// The task that spawned this one **(ext)**; it must exist.
    pub parent_task_id: Option<TaskId>,
    pub idempotency_key: Option<String>,
    pub run_at: Option<Timestamp>,
    /// **(ext)** -32768..=32767, higher first; default 0.
    pub priority: Option<i64>,
    /// **(ext)** Limits runs sharing it (the queue's `key_concurrency_limit`).
    pub concurrency_key: Option<String>,
}

impl NewTask {
    pub fn validate(self) -> Result<TaskSpec, ValidationError> {
        non_empty("task_name", &self.task_name)?;
        json("params", &self.params)?;
        for (key, value) in &self.headers {
            text("headers", key)?;
            text("headers", value)?;
        }
        if let Some(strategy) = &self.retry_strategy {
            strategy.validate()?;
        }
        let max_attempts = match self.max_attempts {
            None => 1,
            Some(n) if (1..=i64::from(MAX_ATTEMPTS)).contains(&n) => n as u32,
            Some(_) => {
                return Err(ValidationError::invalid("max_attempts", format!("must be between 1 and {MAX_ATTEMPTS}")));
            }
        };
        if let Some(key) = &self.idempotency_key {
            non_empty("idempotency_key", key)?;
        }
        // Keys are names like any other (`customer:42`): not blank, no NUL, at most 255 bytes.
        if let Some(key) = &self.concurrency_key {
            non_empty("concurrency_key", key)?;
        }
        Ok(TaskSpec {
            task_name: self.task_name,
            params: self.params,
            headers: self.headers,
            retry_strategy: self.retry_strategy,
            max_attempts,
            start_timeout: optional_timeout("start_timeout", self.start_timeout)?,
            execution_timeout: optional_timeout("execution_timeout", self.execution_timeout)?,
            workflow_run_id: self.workflow_run_id,
            parent_task_id: self.parent_task_id,
            idempotency_key: self.idempotency_key,
            run_at: self.run_at.map(clock::truncate),
            priority: flow::priority("priority", self.priority)?,
            concurrency_key: self.concurrency_key,
        })
    }
}

/// Validates a batch of creates; a field error names the item, e.g.
/// `tasks[3].task_name is required`.
pub fn validate_batch(tasks: Vec<NewTask>) -> Result<Vec<TaskSpec>, ValidationError> {
    if tasks.is_empty() || tasks.len() > MAX_BATCH {
        return Err(ValidationError::invalid("tasks", format!("must hold between 1 and {MAX_BATCH} tasks")));
    }
    tasks
        .into_iter()
        .enumerate()
        .map(|(i, task)| {
            task.validate().map_err(|e| {
                let field = format!("tasks[{i}].{}", e.field);
                let message = format!("tasks[{i}].{}", e.message);
                ValidationError::new(field, message)
            })
        })
        .collect()
}

/// One run a worker reports completed, with its result: an item of a batch
/// acknowledgement.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    pub run_id: RunId,
    pub result: Option<Value>,
}

impl Completion {
    pub fn new(run_id: RunId, result: Option<Value>) -> Self {
        Self { run_id, result }
    }
}

/// One run a worker reports failed, with its error message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub run_id: RunId,
    pub error: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClaimRequest {
    pub limit: i64,
    pub claim_timeout: f64,
    pub long_poll_seconds: Option<f64>,
    pub worker_id: Option<String>,
}

/// A validated claim.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    pub limit: u32,
    pub claim_timeout: Duration,
    pub long_poll: Option<Duration>,
    pub worker_id: Option<String>,
}

impl ClaimRequest {
    pub fn validate(self) -> Result<Claim, ValidationError> {
        if let Some(worker) = &self.worker_id {
            text("worker_id", worker)?;
        }
        let limit = at_least_one_item(self.limit, MAX_CLAIM_LIMIT)?;
        let long_poll = match self.long_poll_seconds {
            None => None,
            Some(s) if s.is_finite() && (1.0..=MAX_LONG_POLL_SECONDS).contains(&s) => Some(clock::seconds(s)),
            Some(_) => return Err(ValidationError::invalid("long_poll_seconds", "must be between 1 and 60")),
        };
        Ok(Claim {
            limit,
            claim_timeout: at_least_one_second("claim_timeout", self.claim_timeout)?,
            long_poll,
            worker_id: self.worker_id,
        })
    }
}

/// `wait-for-event` as it arrives.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WaitRequest {
    pub run_id: RunId,
    pub task_id: TaskId,
    pub event_name: String,
    pub step_name: String,
    pub timeout_seconds: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Wait {
    pub run_id: RunId,
    pub task_id: TaskId,
    pub event_name: String,
    pub step_name: String,
    pub timeout: Duration,
}

impl WaitRequest {
    pub fn validate(self) -> Result<Wait, ValidationError> {
        non_empty("event_name", &self.event_name)?;
        non_empty("step_name", &self.step_name)?;
        Ok(Wait {
            run_id: self.run_id,
            task_id: self.task_id,
            timeout: at_least_one_second("timeout_seconds", self.timeout_seconds)?,
            event_name: self.event_name,
            step_name: self.step_name,
        })
    }
}

/// A checkpoint write as it arrives: unchecked, the claim extension in
/// seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct PutCheckpoint {
    pub task_id: TaskId,
    pub step_name: String,
    pub state: Value,
    pub owner_run: RunId,
    pub extend_claim_by: Option<f64>,
}

impl PutCheckpoint {
    pub fn validate(self) -> Result<CheckpointWrite, ValidationError> {
        non_empty("step_name", &self.step_name)?;
        json("state", &self.state)?;
        let extend_claim_by = self.extend_claim_by.map(|s| at_least_one_second("extend_claim_by", s)).transpose()?;
        Ok(CheckpointWrite {
            task_id: self.task_id,
            step_name: self.step_name,
            state: self.state,
            owner_run: self.owner_run,
            extend_claim_by,
        })
    }
}

/// A checked checkpoint write, as stores take it.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointWrite {
    pub task_id: TaskId,
    pub step_name: String,
    pub state: Value,
    pub owner_run: RunId,
    pub extend_claim_by: Option<Duration>,
}

impl NewWorkflowRun {
    /// Checks every field a workflow run is created with; the run itself is
    /// made by [`crate::workflow::WorkflowRun::create`].
    pub fn validate(self) -> Result<Self, ValidationError> {
        non_empty("workflow_name", &self.workflow_name)?;
        for (field, value) in [("workflow_version", &self.workflow_version), ("created_by", &self.created_by)] {
            text(field, value.as_deref().unwrap_or_default())?;
        }
        for (key, value) in &self.tags {
            text("tags", key)?;
            text("tags", value)?;
        }
        if let Some(inputs) = &self.inputs {
            json("inputs", inputs)?;
        }
        Ok(self)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskFilter {
    pub queue_name: Option<String>,
    pub status: Option<TaskStatus>,
    pub task_name: Option<String>,
    /// Only the children of this task **(ext)**.
    pub parent_task_id: Option<TaskId>,
    /// Only tasks created at this time or later **(ext)**.
    pub created_after: Option<Timestamp>,
    /// Only tasks created before this time **(ext)**.
    pub created_before: Option<Timestamp>,
    pub cursor: Option<TaskId>,
    pub limit: u32,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunFilter {
    pub task_id: Option<TaskId>,
    pub status: Option<RunStatus>,
    pub cursor: Option<RunId>,
    pub limit: u32,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkflowFilter {
    pub status: Option<WorkflowStatus>,
    pub workflow_name: Option<String>,
    pub cursor: Option<WorkflowRunId>,
    pub limit: u32,
}

/// Recent events **(ext)**, newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventFilter {
    pub event_name: Option<String>,
    pub cursor: Option<crate::ids::EventId>,
    pub limit: u32,
}

/// One page of a newest-first listing; `next_cursor` is the id to continue after.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T, C> {
    pub items: Vec<T>,
    pub next_cursor: Option<C>,
}

impl<T, C> Page<T, C> {
    /// The page of `limit` from the items fetched with [`fetch_limit`],
    /// newest first; the cursor is the last item kept, when more follow.
    pub fn from_fetched(mut items: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> C) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = items.len() > limit;
        items.truncate(limit);
        let next_cursor = if more { items.last().map(cursor_of) } else { None };
        Page { items, next_cursor }
    }
}

/// How many items a store fetches for a page of `limit`: one more, which
/// only says whether another page follows (see [`Page::from_fetched`]).
pub fn fetch_limit(limit: u32) -> i64 {
    i64::from(limit) + 1
}

/// The `limit` of a listing: default 50, at least 1, at most 1000.
pub fn page_limit(raw: Option<i64>) -> Result<u32, ValidationError> {
    raw.map_or(Ok(DEFAULT_PAGE_LIMIT), |n| at_least_one_item(n, MAX_PAGE_LIMIT))
}

/// A `limit` of at least 1. One over `max` is lowered to it rather than
/// refused: the original server has no upper bound, so its clients may ask
/// for more than we hand out at once.
fn at_least_one_item(limit: i64, max: i64) -> Result<u32, ValidationError> {
    if limit < 1 {
        return Err(ValidationError::invalid("limit", "must be at least 1"));
    }
    // `max` is at most 1000, so the clamped value fits.
    Ok(limit.min(max) as u32)
}

/// A strictly positive whole or fractional number of seconds, at least 1.
pub fn at_least_one_second(field: &str, value: f64) -> Result<Duration, ValidationError> {
    if value.is_finite() && value >= 1.0 {
        Ok(clock::seconds(value))
    } else {
        Err(ValidationError::invalid(field, "must be a number of seconds >= 1"))
    }
}

fn optional_timeout(field: &str, value: Option<f64>) -> Result<Option<Duration>, ValidationError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_finite() && v >= 0.0 => Ok((v > 0.0).then(|| clock::seconds(v))),
        Some(_) => Err(ValidationError::invalid(field, "must be a number of seconds >= 0")),
    }
}

/// Rejects empty (or whitespace-only) and overlong names.
pub fn non_empty(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::required(field));
    }
    text(field, value)?;
    if value.len() > MAX_NAME_BYTES {
        return Err(ValidationError::invalid(field, format!("must be at most {MAX_NAME_BYTES} bytes")));
    }
    Ok(())
}

/// Rejects NUL characters, which no store can keep in text (PostgreSQL
/// refuses them outright), so they are a client error, not a 500.
pub fn text(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.contains('\0') {
        return Err(ValidationError::invalid(field, "must not contain NUL (\\u0000) characters"));
    }
    Ok(())
}

/// Checks a user payload (params, results, state, event payloads, workflow
/// inputs): [`text`] for every string and key, and [`number`] for every
/// number. The server keeps everything else as the client sent it.
pub fn json(field: &str, value: &Value) -> Result<(), ValidationError> {
    match value {
        Value::String(s) => text(field, s),
        Value::Array(items) => items.iter().try_for_each(|v| json(field, v)),
        Value::Object(map) => map.iter().try_for_each(|(key, v)| {
            text(field, key)?;
            json(field, v)
        }),
        Value::Number(n) => number(field, n),
        Value::Null | Value::Bool(_) => Ok(()),
    }
}

/// Numbers keep their digits through the server, however many; but one
/// beyond the range of a 64-bit float is something almost no reader can
/// decode (JavaScript reads Infinity, Go's encoding/json fails, Python
/// reads inf), so a task carrying it would poison every worker that claims
/// it. Refused at the door instead.
fn number(field: &str, n: &serde_json::Number) -> Result<(), ValidationError> {
    if n.as_f64().is_some_and(f64::is_finite) {
        Ok(())
    } else {
        Err(ValidationError::invalid(
            field,
            format!("holds the number {n}, outside the range of a 64-bit float (±1.7976931348623157e308)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(name: &str) -> NewTask {
        NewTask { task_name: name.into(), ..NewTask::default() }
    }

    #[test]
    fn task_defaults() {
        let spec = task("send").validate().unwrap();
        assert_eq!(spec.max_attempts, 1);
        assert_eq!(spec.start_timeout, None);
    }

    #[test]
    fn task_errors_name_the_field() {
        assert_eq!(task("").validate().unwrap_err().message, "task_name is required");
        for out_of_range in [0, -1, i64::from(u32::MAX) + 1] {
            let bad = NewTask { max_attempts: Some(out_of_range), ..task("x") };
            assert_eq!(bad.validate().unwrap_err().message, "max_attempts must be between 1 and 4294967295");
        }
        let most = NewTask { max_attempts: Some(i64::from(u32::MAX)), ..task("x") };
        assert_eq!(most.validate().unwrap().max_attempts, u32::MAX);
        let bad = NewTask { start_timeout: Some(-1.0), ..task("x") };
        assert_eq!(bad.validate().unwrap_err().field, "start_timeout");
        let zero = NewTask { execution_timeout: Some(0.0), ..task("x") };
        assert_eq!(zero.validate().unwrap().execution_timeout, None);
    }

    #[test]
    fn batch_errors_name_the_item() {
        let err = validate_batch(vec![task("a"), task("")]).unwrap_err();
        assert_eq!(err.message, "tasks[1].task_name is required");
        assert_eq!(validate_batch(vec![]).unwrap_err().field, "tasks");
    }

    #[test]
    fn claim_ranges() {
        let ok = ClaimRequest { limit: 10, claim_timeout: 30.0, ..Default::default() };
        assert_eq!(ok.clone().validate().unwrap().limit, 10);
        let bad = ClaimRequest { limit: 0, ..ok.clone() };
        assert_eq!(bad.validate().unwrap_err().field, "limit");
        let bad = ClaimRequest { limit: -5, ..ok.clone() };
        assert_eq!(bad.validate().unwrap_err().message, "limit must be at least 1");
        for over in [1001, i64::MAX] {
            let clamped = ClaimRequest { limit: over, ..ok.clone() };
            assert_eq!(clamped.validate().unwrap().limit, 1000, "{over}");
        }
        let bad = ClaimRequest { claim_timeout: 0.5, ..ok.clone() };
        assert_eq!(bad.validate().unwrap_err().field, "claim_timeout");
        let bad = ClaimRequest { long_poll_seconds: Some(61.0), ..ok };
        assert_eq!(bad.validate().unwrap_err().field, "long_poll_seconds");
    }

    #[test]
    fn nul_characters_are_rejected_by_field() {
        assert_eq!(task("a\0b").validate().unwrap_err().field, "task_name");
        let bad = NewTask { params: serde_json::json!({"k": ["ok", "x\0"]}), ..task("x") };
        assert_eq!(bad.validate().unwrap_err().field, "params");
        let bad = NewTask { headers: [("k\0".to_owned(), "v".to_owned())].into(), ..task("x") };
        assert_eq!(bad.validate().unwrap_err().field, "headers");
        let bad = ClaimRequest { limit: 1, claim_timeout: 1.0, worker_id: Some("w\0".into()), ..Default::default() };
        assert_eq!(bad.validate().unwrap_err().field, "worker_id");
        assert!(json("state", &serde_json::json!({"a\0": 1})).is_err());
    }

    #[test]
    fn checkpoint_writes_are_checked_and_their_extension_converted() {
        let put = |step: &str, extend: Option<f64>| PutCheckpoint {
            task_id: TaskId::new(),
            step_name: step.into(),
            state: serde_json::json!({"n": 1}),
            owner_run: RunId::new(),
            extend_claim_by: extend,
        };
        let ok = put("s", Some(1.5)).validate().unwrap();
        assert_eq!(ok.extend_claim_by, Some(Duration::milliseconds(1500)));
        assert_eq!(put("s", None).validate().unwrap().extend_claim_by, None);
        assert_eq!(put("", None).validate().unwrap_err().field, "step_name");
        assert_eq!(put("s", Some(0.5)).validate().unwrap_err().field, "extend_claim_by");
        let bad_state = PutCheckpoint { state: serde_json::json!({"a\0": 1}), ..put("s", None) };
        assert_eq!(bad_state.validate().unwrap_err().field, "state");
    }

    #[test]
    fn workflow_runs_are_checked_field_by_field() {
        let run = || NewWorkflowRun {
            workflow_name: "w".into(),
            workflow_version: None,
            inputs: None,
            created_by: None,
            tags: BTreeMap::new(),
        };
        assert_eq!(run().validate(), Ok(run()));
        let field = |bad: NewWorkflowRun| bad.validate().unwrap_err().field;
        assert_eq!(field(NewWorkflowRun { workflow_name: String::new(), ..run() }), "workflow_name");
        assert_eq!(field(NewWorkflowRun { workflow_version: Some("v\0".into()), ..run() }), "workflow_version");
        assert_eq!(field(NewWorkflowRun { created_by: Some("c\0".into()), ..run() }), "created_by");
        assert_eq!(field(NewWorkflowRun { tags: [("k\0".into(), "v".into())].into(), ..run() }), "tags");
        assert_eq!(field(NewWorkflowRun { inputs: Some(serde_json::json!(["x\0"])), ..run() }), "inputs");
    }

    #[test]
    fn numbers_beyond_a_double_are_rejected_and_others_kept() {
        let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap();
        for kept in [
            "1.7976931348623157e308",
            "-1.7976931348623157e308",
            "5e-324",
            "1e-400",
            "-0",
            "1234567890123456789012345678901234567890",
        ] {
            assert_eq!(json("params", &parse(&format!("{{\"x\": [{kept}]}}"))), Ok(()), "{kept}");
        }
        for refused in ["1e400", "-1e400", "1.8e308"] {
            let err = json("result", &parse(&format!("{{\"x\": [{refused}]}}"))).unwrap_err();
            assert_eq!(err.field, "result");
            assert!(err.message.contains("64-bit float"), "{}", err.message);
        }
    }

    #[test]
    fn ttls_are_bounded() {
        let queue = NewQueue {
            name: "q".into(),
            task_ttl_seconds: Some(u64::MAX),
            event_ttl_seconds: None,
            ..NewQueue::default()
        };
        assert_eq!(queue.cleanup().unwrap_err().field, "cleanup.task_ttl_seconds");
        let queue = NewQueue {
            name: "q".into(),
            task_ttl_seconds: Some(0),
            event_ttl_seconds: Some(MAX_TTL_SECONDS),
            ..NewQueue::default()
        };
        assert_eq!(queue.cleanup().unwrap().event_ttl_seconds, MAX_TTL_SECONDS);
    }

    #[test]
    fn a_page_from_one_extra_item_knows_whether_more_follow() {
        assert_eq!(fetch_limit(2), 3);
        let page = Page::from_fetched(vec![9, 8, 7], 2, |n| *n);
        assert_eq!(page, Page { items: vec![9, 8], next_cursor: Some(8) });
        let last = Page::from_fetched(vec![9, 8], 2, |n| *n);
        assert_eq!(last, Page { items: vec![9, 8], next_cursor: None });
        let empty = Page::from_fetched(Vec::<u32>::new(), 2, |n| *n);
        assert_eq!(empty, Page { items: vec![], next_cursor: None });
    }

    #[test]
    fn page_limits() {
        assert_eq!(page_limit(None).unwrap(), 50);
        assert_eq!(page_limit(Some(1000)).unwrap(), 1000);
        assert_eq!(page_limit(Some(0)).unwrap_err().message, "limit must be at least 1");
        assert!(page_limit(Some(i64::MIN)).is_err());
        assert_eq!(page_limit(Some(1001)).unwrap(), 1000);
        assert_eq!(page_limit(Some(i64::MAX)).unwrap(), 1000);
    }
}
