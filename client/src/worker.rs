//! A small worker runtime: long-poll a queue, run a handler per claimed
//! task (up to `concurrency` at once), heartbeat while it runs, and report
//! the outcome. Stops claiming on shutdown and waits for running handlers.
//!
//! ```no_run
//! # async fn example() -> Result<(), durable_client::Error> {
//! use durable_client::{Client, worker::{Worker, TaskError}};
//! let client = Client::new("http://127.0.0.1:8080")?;
//! Worker::new(client, "emails")
//!     .concurrency(8)
//!     .handler(|task| async move {
//!         if task.params.is_null() {
//!             return Err(TaskError::from("params are required"));
//!         }
//!         Ok(serde_json::json!({"sent": true}))
//!     })
//!     .run_until(async { tokio::signal::ctrl_c().await.ok(); })
//!     .await
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::retry::RetryPolicy;
use crate::types::tasks::{ClaimRequest, ClaimedTask};
use crate::{Client, Error};

/// Why a handler did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// Fail the run with this message; the task retries if it has attempts left.
    Fail(String),
    /// The run gave up its claim (a wait-for-event answered
    /// [`Sleeping`](crate::WaitOutcome::Sleeping), or the run was scheduled):
    /// report nothing, it comes back when it wakes.
    Suspended,
}

impl From<String> for TaskError {
    fn from(message: String) -> Self {
        Self::Fail(message)
    }
}

impl From<&str> for TaskError {
    fn from(message: &str) -> Self {
        Self::Fail(message.to_owned())
    }
}

impl From<Error> for TaskError {
    fn from(error: Error) -> Self {
        Self::Fail(error.to_string())
    }
}

/// What a handler returns: the run's result, or why there is none.
pub type TaskResult = Result<Value, TaskError>;

/// A worker of one queue; see the [module docs](self).
///
/// `H` is the handler, set by [`Worker::handler`].
pub struct Worker<H = ()> {
    client: Client,
    queue: String,
    concurrency: usize,
    claim_timeout: Duration,
    long_poll_seconds: u64,
    worker_id: Option<String>,
    handler: H,
}

impl<H> fmt::Debug for Worker<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("queue", &self.queue)
            .field("concurrency", &self.concurrency)
            .field("claim_timeout", &self.claim_timeout)
            .field("long_poll_seconds", &self.long_poll_seconds)
            .field("worker_id", &self.worker_id)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker of `queue`: 4 tasks at once, 60 s claims, 30 s long polls.
    pub fn new(client: Client, queue: impl Into<String>) -> Self {
        Self {
            client,
            queue: queue.into(),
            concurrency: 4,
            claim_timeout: Duration::from_secs(60),
            long_poll_seconds: 30,
            worker_id: None,
            handler: (),
        }
    }
}

impl<H> Worker<H> {
    /// How many handlers run at once (1–1000).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.clamp(1, 1000);
        self
    }

    /// How long a claim lasts (sent rounded up to whole seconds, at least 1);
    /// running handlers heartbeat at half of it.
    pub fn claim_timeout(mut self, claim_timeout: Duration) -> Self {
        self.claim_timeout = claim_timeout.max(Duration::from_millis(2));
        self
    }

    /// How long one claim waits for work when none is due (1–60 s).
    pub fn long_poll_seconds(mut self, seconds: u64) -> Self {
        self.long_poll_seconds = seconds.clamp(1, 60);
        self
    }

    /// Recorded on the runs this worker claims.
    pub fn worker_id(mut self, worker_id: impl Into<String>) -> Self {
        self.worker_id = Some(worker_id.into());
        self
    }

    /// The function run for every claimed task.
    pub fn handler<F, Fut>(self, handler: F) -> Worker<F>
    where
        F: Fn(ClaimedTask) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = TaskResult> + Send + 'static,
    {
        Worker {
            client: self.client,
            queue: self.queue,
            concurrency: self.concurrency,
            claim_timeout: self.claim_timeout,
            long_poll_seconds: self.long_poll_seconds,
            worker_id: self.worker_id,
            handler,
        }
    }
}

/// A claim that came back empty sooner than this waits out the rest, so a
/// server that does not long-poll is not polled in a tight loop.
const MIN_EMPTY_POLL: Duration = Duration::from_millis(500);

impl<F, Fut> Worker<F>
where
    F: Fn(ClaimedTask) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = TaskResult> + Send + 'static,
{
    /// Works until `shutdown` resolves, then stops claiming (abandoning an
    /// open long poll) and waits for the running handlers to report.
    ///
    /// Transient claim failures (transport, 500, 503) are retried with
    /// backoff; any other claim error (unknown queue, bad token) ends the
    /// worker with that error, after the running handlers finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let handler = Arc::new(self.handler);
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let backoff = RetryPolicy {
            max_retries: u32::MAX,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        };
        let mut running = JoinSet::new();
        let mut failures = 0;
        let mut request = ClaimRequest::new(1, self.claim_timeout.as_secs_f64().ceil().max(1.0) as u64)
            .long_poll_seconds(self.long_poll_seconds);
        request.worker_id = self.worker_id.clone();
        tokio::pin!(shutdown);

        let outcome = loop {
            while running.try_join_next().is_some() {}
            let mut held: Vec<OwnedSemaphorePermit> = tokio::select! {
                biased;
                () = &mut shutdown => break Ok(()),
                Ok(permit) = permits.clone().acquire_owned() => vec![permit],
            };
            held.extend(std::iter::from_fn(|| permits.clone().try_acquire_owned().ok()));
            request.limit = held.len() as u32;
            let started = Instant::now();
            let claimed = tokio::select! {
                biased;
                () = &mut shutdown => break Ok(()),
                claimed = self.client.claim(&self.queue, &request) => claimed,
            };
            let pause = match claimed {
                Ok(tasks) => {
                    failures = 0;
                    let pause = MIN_EMPTY_POLL.saturating_sub(started.elapsed());
                    let pause = if tasks.is_empty() { pause } else { Duration::ZERO };
                    for (task, permit) in tasks.into_iter().zip(held) {
                        let run = execute(self.client.clone(), Arc::clone(&handler), task, self.claim_timeout);
                        running.spawn(async move {
                            run.await;
                            drop(permit);
                        });
                    }
                    pause
                }
                Err(error) if error.is_transient() => {
                    let delay = backoff.delay(failures);
                    failures = failures.saturating_add(1);
                    tracing::warn!(queue = %self.queue, %error, ?delay, "claim failed; retrying");
                    delay
                }
                Err(error) => {
                    tracing::error!(queue = %self.queue, %error, "claim failed; stopping the worker");
                    break Err(error);
                }
            };
            if !pause.is_zero() {
                tokio::select! {
                    biased;
                    () = &mut shutdown => break Ok(()),
                    () = tokio::time::sleep(pause) => {}
                }
            }
        };
        while running.join_next().await.is_some() {}
        outcome
    }
}

/// Runs the handler for one task while heartbeating, then reports its outcome.
async fn execute<F, Fut>(client: Client, handler: Arc<F>, task: ClaimedTask, claim_timeout: Duration)
where
    F: Fn(ClaimedTask) -> Fut,
    Fut: Future<Output = TaskResult>,
{
    let run_id = task.run_id;
    // The call itself happens inside the guarded future, so a handler that
    // panics before returning its future is caught too.
    let work = AssertUnwindSafe(async { handler(task).await }).catch_unwind();
    let outcome = tokio::select! {
        outcome = work => outcome,
        error = keep_claim(&client, run_id, claim_timeout) => {
            tracing::warn!(%run_id, %error, "claim lost; abandoning the run");
            return;
        }
    };
    let reported = match outcome {
        Ok(Ok(result)) => client.complete_run(run_id, Some(&result)).await.map(drop),
        Ok(Err(TaskError::Fail(message))) => client.fail_run(run_id, &message).await.map(drop),
        Ok(Err(TaskError::Suspended)) => Ok(()),
        Err(_panic) => client.fail_run(run_id, "handler panicked").await.map(drop),
    };
    if let Err(error) = reported {
        tracing::warn!(%run_id, %error, "could not report the run's outcome");
    }
}

/// Heartbeats every half claim timeout; returns only when the claim is lost.
async fn keep_claim(client: &Client, run_id: Uuid, claim_timeout: Duration) -> Error {
    let extend_by = claim_timeout.as_secs_f64().ceil().max(1.0) as u64;
    loop {
        tokio::time::sleep(claim_timeout / 2).await;
        match client.heartbeat(run_id, extend_by).await {
            Ok(_) => {}
            Err(error) if error.is_conflict() || error.is_not_found() => return error,
            Err(error) => tracing::warn!(%run_id, %error, "heartbeat failed; trying again"),
        }
    }
}
