//! `GET /tasks/{id}/result` **(ext)**: a task's end, waited for.
//!
//! A waiter re-reads the task (one primary-key read) every
//! [`RESULT_POLL`] until it has ended or the wait runs out. Task ends are
//! not broadcast: that would put a notification on every completion, the
//! hottest write there is, for the rare caller who waits on a result.

use std::time::Duration;

use durable_domain::TaskId;
use durable_domain::child::TaskResult;
use durable_ports::ServiceError;
use tokio::time::Instant;

use crate::engine::Engine;

/// How often a waiting result request looks again.
const RESULT_POLL: Duration = Duration::from_millis(100);

impl Engine {
    pub(crate) async fn await_result(&self, id: TaskId, wait: time::Duration) -> Result<TaskResult, ServiceError> {
        let deadline = Instant::now() + Duration::try_from(wait).unwrap_or_default();
        let mut shutdown = self.shutdown.subscribe();
        loop {
            let result = TaskResult::of(&self.store.task_get(id).await?);
            let now = Instant::now();
            if result.is_finished() || now >= deadline || *shutdown.borrow() {
                return Ok(result);
            }
            tokio::select! {
                () = tokio::time::sleep(RESULT_POLL.min(deadline - now)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
