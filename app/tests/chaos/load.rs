//! The producers: create the scenario's tasks at an even pace over the
//! window, through every replica in turn, each with an idempotency key so a
//! create whose answer was lost can be sent again without making a second
//! task.

use std::sync::Arc;
use std::time::{Duration, Instant};

use durable_client::{Client, CreateTask, RetryStrategy};
use serde_json::json;

use crate::ledger::Ledger;
use crate::worker::error_kind;

/// What the tasks ask of the workers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Workload {
    /// Complete at the first attempt.
    Complete,
    /// Task `i` fails its first `i % spread` attempts; with `max_attempts`
    /// and a fixed `backoff`, those failing `max_attempts` times or more end
    /// failed, the others completed.
    RetryStorm { spread: u64, max_attempts: u32, backoff_seconds: f64 },
}

impl Workload {
    pub(crate) fn fail_times(self, index: usize) -> u64 {
        match self {
            Self::Complete => 0,
            Self::RetryStorm { spread, .. } => index as u64 % spread,
        }
    }

    fn task(self, index: usize) -> CreateTask {
        let task = CreateTask::new("chaos")
            .idempotency_key(format!("chaos-{index}"))
            .params(json!({"i": index, "fail_times": self.fail_times(index)}));
        match self {
            Self::Complete => task,
            Self::RetryStorm { max_attempts, backoff_seconds, .. } => {
                task.max_attempts(max_attempts).retry_strategy(RetryStrategy::fixed(backoff_seconds))
            }
        }
    }
}

/// Creates `total` tasks with `producers` concurrent producers, spread
/// evenly over `window`. A create that fails is sent again (same key, next
/// replica) up to 20 times; only acknowledged ones enter the ledger.
pub(crate) async fn produce(
    clients: Arc<Vec<Client>>,
    queue: &'static str,
    workload: Workload,
    total: usize,
    producers: usize,
    window: Duration,
    ledger: Arc<Ledger>,
) {
    let start = tokio::time::Instant::now();
    let mut handles = Vec::new();
    for producer in 0..producers {
        let (clients, ledger) = (clients.clone(), ledger.clone());
        handles.push(tokio::spawn(async move {
            for index in (producer..total).step_by(producers) {
                let due = start + window.mul_f64(index as f64 / total as f64);
                tokio::time::sleep_until(due).await;
                create_one(&clients, queue, workload, index, &ledger).await;
            }
        }));
    }
    for handle in handles {
        let _ = handle.await;
    }
}

async fn create_one(clients: &[Client], queue: &str, workload: Workload, index: usize, ledger: &Ledger) {
    let task = workload.task(index);
    let key = task.idempotency_key.clone().unwrap_or_default();
    let began = Instant::now();
    for attempt in 0..20usize {
        match clients[(index + attempt) % clients.len()].create_task(queue, &task).await {
            Ok(created) => {
                ledger.created(&key, created.task_id, workload.fail_times(index));
                return;
            }
            Err(error) => {
                ledger.error("create", &error_kind(&error));
                if began.elapsed() > Duration::from_secs(60) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100 * (attempt as u64 + 1).min(10))).await;
            }
        }
    }
}
