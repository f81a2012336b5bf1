//! `GET /tasks/{id}/result` **(ext)**: a task's end, waited for.
//!
//! A waiter reads the task; if it has not ended, it subscribes to the
//! task's queue, marks the task's result as watched (the store answers the
//! task as it is after the mark) and waits: the transaction that ends a
//! watched task signals its queue, on every replica (PostgreSQL's `NOTIFY`).
//! Unwatched tasks pay nothing for this. A slow re-read covers a signal
//! lost with a connection.

use std::time::Duration;

use durable_domain::TaskId;
use durable_domain::child::TaskResult;
use durable_ports::ServiceError;
use tokio::time::Instant;

use crate::engine::Engine;

/// How often a waiting result request looks again without a signal.
const RESULT_FALLBACK: Duration = Duration::from_secs(1);

impl Engine {
    pub(crate) async fn await_result(&self, id: TaskId, wait: time::Duration) -> Result<TaskResult, ServiceError> {
        let task = self.store.task_get(id).await?;
        let result = TaskResult::of(&task);
        if result.is_finished() || wait <= time::Duration::ZERO {
            return Ok(result);
        }
        let deadline = Instant::now() + Duration::try_from(wait).unwrap_or_default();
        let mut shutdown = self.shutdown.subscribe();
        let mut hint = self.notifier.subscribe(&task.queue);
        let mut result = TaskResult::of(&self.store.task_watch_result(id).await?);
        loop {
            let now = Instant::now();
            if result.is_finished() || now >= deadline || *shutdown.borrow() {
                return Ok(result);
            }
            tokio::select! {
                () = hint.notified() => hint = self.notifier.subscribe(&task.queue),
                () = tokio::time::sleep(RESULT_FALLBACK.min(deadline - now)) => {}
                _ = shutdown.changed() => {}
            }
            result = TaskResult::of(&self.store.task_get(id).await?);
        }
    }
}
