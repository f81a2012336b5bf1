//! What spawning a task takes and what waiting for one gives.

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::types::tasks::{CreateTask, RetryStrategy};

/// How a task is created by [`Durable::spawn`](super::Durable::spawn) or
/// [`TaskContext::spawn_in`](super::TaskContext::spawn_in); every option
/// left unset takes the server's default.
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use]
pub struct SpawnOptions {
    max_attempts: Option<u32>,
    retry_strategy: Option<RetryStrategy>,
    headers: BTreeMap<String, String>,
    idempotency_key: Option<String>,
    run_at: Option<OffsetDateTime>,
    execution_timeout: Option<f64>,
    priority: Option<i16>,
    concurrency_key: Option<String>,
}

impl SpawnOptions {
    /// How many runs may fail before the task fails (server default 1).
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = Some(max_attempts);
        self
    }

    /// The backoff between failed runs.
    pub fn retry_strategy(mut self, strategy: RetryStrategy) -> Self {
        self.retry_strategy = Some(strategy);
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Deduplicates the create within the queue (top-level spawns only: a
    /// child's key is always derived from its parent).
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// The first run becomes claimable then instead of now.
    pub fn run_at(mut self, at: OffsetDateTime) -> Self {
        self.run_at = Some(at);
        self
    }

    /// Cancel the task if it has not completed this many seconds after creation.
    pub fn execution_timeout(mut self, seconds: f64) -> Self {
        self.execution_timeout = Some(seconds);
        self
    }

    /// Higher is claimed first (server default 0).
    pub fn priority(mut self, priority: i16) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Runs sharing the key are limited by the queue's `key_concurrency_limit`.
    pub fn concurrency_key(mut self, key: impl Into<String>) -> Self {
        self.concurrency_key = Some(key.into());
        self
    }

    pub(crate) fn into_create(self, task_name: String, params: Value) -> CreateTask {
        let mut create = CreateTask::new(task_name).params(params);
        create.max_attempts = self.max_attempts;
        create.retry_strategy = self.retry_strategy;
        create.headers = (!self.headers.is_empty()).then_some(self.headers);
        create.idempotency_key = self.idempotency_key;
        create.run_at = self.run_at;
        create.execution_timeout = self.execution_timeout;
        create.priority = self.priority;
        create.concurrency_key = self.concurrency_key;
        create
    }
}

/// A child task spawned by a handler; await it with
/// [`TaskContext::await_task`](super::TaskContext::await_task).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChildTask {
    pub(crate) task_id: Uuid,
}

impl ChildTask {
    /// The child's task id.
    pub fn task_id(&self) -> Uuid {
        self.task_id
    }
}

/// How a task ended, as [`Durable::wait_result`](super::Durable::wait_result) saw it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum TaskOutcome<T> {
    /// It completed with this result (`null` decodes as `()` or `Option`).
    Completed(T),
    /// It failed: its runs used up their attempts.
    Failed {
        /// The error of its last run.
        error: String,
    },
    /// It was canceled.
    Canceled,
    /// It had not ended when the wait ran out.
    Unfinished,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn spawn_options_become_the_create_body() {
        let options = SpawnOptions::default().max_attempts(3).priority(-2).concurrency_key("customer:42");
        let create = options.into_create("charge".into(), json!({"order": 7}));
        let body = serde_json::to_value(&create).unwrap();
        assert_eq!(body["task_name"], "charge");
        assert_eq!(body["max_attempts"], 3);
        assert_eq!(body["priority"], -2);
        assert_eq!(body["concurrency_key"], "customer:42");
        let plain = serde_json::to_value(SpawnOptions::default().into_create("t".into(), json!(null))).unwrap();
        assert!(plain.get("priority").is_none() && plain.get("concurrency_key").is_none(), "{plain}");
    }
}
