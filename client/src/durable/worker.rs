//! The worker of durable tasks: the crate's [`Worker`] runtime (long
//! polls, heartbeats, outcomes riding on the next claim) running each
//! claimed task's registered handler with a fresh [`TaskContext`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::TaskContext;
use super::registry::Registry;
use super::stop::Stop;
use crate::types::tasks::ClaimedTask;
use crate::worker::{TaskError, Worker};
use crate::{Client, Error};

/// Runs the handlers of a [`Durable`](super::Durable) on one queue; made by
/// [`Durable::worker`](super::Durable::worker).
#[derive(Debug)]
#[must_use]
pub struct DurableWorker {
    client: Client,
    registry: Arc<Registry>,
    queue: String,
    concurrency: usize,
    claim_timeout: Duration,
    long_poll_seconds: u64,
    worker_id: Option<String>,
}

impl DurableWorker {
    pub(crate) fn new(client: Client, registry: Arc<Registry>, queue: String) -> Self {
        Self {
            client,
            registry,
            queue,
            concurrency: 4,
            claim_timeout: Duration::from_secs(60),
            long_poll_seconds: 30,
            worker_id: None,
        }
    }

    /// How many tasks run at once (1–1000, default 4). A suspended task
    /// does not count: it gave its claim up.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// How long a claim lasts (default 60 s, whole seconds, at least 1).
    /// Handlers heartbeat at half of it, so a lost claim (a canceled task)
    /// stops the handler within half a claim timeout; each checkpoint
    /// write extends the claim by this much too.
    pub fn claim_timeout(mut self, claim_timeout: Duration) -> Self {
        self.claim_timeout = claim_timeout.max(Duration::from_secs(1));
        self
    }

    /// How long one claim waits for work when none is due (1–60 s, default 30).
    pub fn long_poll_seconds(mut self, seconds: u64) -> Self {
        self.long_poll_seconds = seconds;
        self
    }

    /// Recorded on the runs this worker claims.
    pub fn worker_id(mut self, worker_id: impl Into<String>) -> Self {
        self.worker_id = Some(worker_id.into());
        self
    }

    /// Works until `shutdown` resolves, then stops claiming and waits for
    /// the running handlers. Fails like [`Worker::run_until`].
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let claim_seconds = self.claim_timeout.as_secs_f64().ceil() as u64;
        let client = self.client.clone();
        let registry = self.registry;
        let queue = self.queue.clone();
        let mut worker = Worker::new(self.client, self.queue)
            .concurrency(self.concurrency)
            .claim_timeout(self.claim_timeout)
            .long_poll_seconds(self.long_poll_seconds)
            .include_checkpoints(true);
        if let Some(worker_id) = self.worker_id {
            worker = worker.worker_id(worker_id);
        }
        worker
            .handler(move |task| {
                let run = RunContext {
                    client: client.clone(),
                    registry: Arc::clone(&registry),
                    queue: queue.clone(),
                    claim_seconds,
                };
                run.execute(task)
            })
            .run_until(shutdown)
            .await
    }
}

/// What running one claimed task needs.
struct RunContext {
    client: Client,
    registry: Arc<Registry>,
    queue: String,
    claim_seconds: u64,
}

impl RunContext {
    /// The handler's result, a failure, or [`TaskError::Suspended`] (report
    /// nothing) when the run gave up its claim or lost it.
    async fn execute(self, mut task: ClaimedTask) -> Result<Value, TaskError> {
        let Some(handler) = self.registry.get(&task.task_name) else {
            let known = self.registry.names().join(", ");
            return Err(TaskError::Fail(format!(
                "no handler is registered for task name {:?} on this worker (registered: {known})",
                task.task_name
            )));
        };
        let checkpoints = match task.checkpoints.take() {
            Some(checkpoints) => checkpoints,
            // A server that does not hand checkpoints out with the claim:
            // one request for all of them.
            None => match self.client.list_checkpoints(task.task_id).await {
                Ok(checkpoints) => checkpoints,
                Err(error) if error.is_not_found() => return Err(TaskError::Suspended),
                Err(error) => return Err(TaskError::Fail(format!("could not load the task's checkpoints: {error}"))),
            },
        };
        let queue = task.queue_name.clone().unwrap_or(self.queue);
        let params = std::mem::take(&mut task.params);
        let ctx = TaskContext::new(self.client, &task, queue, self.claim_seconds, checkpoints);
        let outcome = tokio::select! {
            biased;
            why = ctx.stop_signal().raised() => Err(why),
            outcome = handler(ctx.clone(), params) => Ok(outcome),
        };
        match outcome {
            Err(why) => {
                if why == Stop::ClaimLost {
                    tracing::warn!(run_id = %task.run_id, "claim lost; abandoning the run");
                }
                Err(TaskError::Suspended)
            }
            // A handler that ran calls side by side may finish after one of
            // them stopped the run: nothing may be reported for it then.
            Ok(_) if ctx.stop_signal().reason().is_some() => Err(TaskError::Suspended),
            Ok(outcome) => outcome.map_err(TaskError::Fail),
        }
    }
}
