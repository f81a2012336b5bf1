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
use crate::types::handoff::{FailRun, Finished};
use crate::types::runs::CompleteRun;
use crate::types::tasks::{ClaimRequest, ClaimedTask};
use crate::{Client, Error};

mod outbox;

use outbox::{Outbox, Outcome};

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
    include_checkpoints: bool,
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
            .field("include_checkpoints", &self.include_checkpoints)
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
            include_checkpoints: false,
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

    /// (ext) Claims ask for each task's checkpoints
    /// ([`ClaimedTask::checkpoints`]), for handlers that replay steps.
    pub fn include_checkpoints(mut self, include: bool) -> Self {
        self.include_checkpoints = include;
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
            include_checkpoints: self.include_checkpoints,
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
    /// Outcomes of handlers that finish while the worker is about to claim
    /// ride on that claim (**(ext)** `complete`/`fail` on the claim): one
    /// request per batch. A server that does not answer them that way gets
    /// them one by one, as every outcome reported during a long poll is.
    ///
    /// Transient claim failures (transport, 500, 503) are retried with
    /// backoff; any other claim error (unknown queue, bad token) ends the
    /// worker with that error, after the running handlers finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let handler = Arc::new(self.handler);
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let outbox = Arc::new(Outbox::default());
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
        request = request.include_checkpoints(self.include_checkpoints);
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
            let finished = outbox.take_for_claim();
            let started = Instant::now();
            let claim = claim(&self.client, &self.queue, &request, &finished);
            // A claim carrying outcomes does not long-poll: it is let finish,
            // so they are recorded once and what it claimed is run.
            let claimed = if finished.is_empty() {
                tokio::select! {
                    biased;
                    () = &mut shutdown => break Ok(()),
                    claimed = claim => claimed,
                }
            } else {
                claim.await
            };
            outbox.carry_again();
            let pause = match claimed {
                Ok((tasks, undelivered)) => {
                    failures = 0;
                    if !undelivered.is_empty() {
                        tracing::info!(queue = %self.queue, "the server does not take outcomes with claims; reporting each");
                        report_all(&self.client, undelivered).await;
                        report_all(&self.client, outbox.close()).await;
                    }
                    let pause = MIN_EMPTY_POLL.saturating_sub(started.elapsed());
                    let pause = if tasks.is_empty() { pause } else { Duration::ZERO };
                    for (task, permit) in tasks.into_iter().zip(held) {
                        let run = execute(self.client.clone(), Arc::clone(&handler), task, self.claim_timeout);
                        let outbox = Arc::clone(&outbox);
                        let client = self.client.clone();
                        running.spawn(async move {
                            if let Some(outcome) = run.await
                                && let Some(outcome) = outbox.offer(outcome)
                            {
                                report(&client, outcome).await;
                            }
                            drop(permit);
                        });
                    }
                    pause
                }
                Err(error) if error.is_transient() => {
                    // Whether the server recorded the outcomes is unknown:
                    // they go again, and a repeat is refused as a conflict.
                    outbox.put_back(finished);
                    let delay = backoff.delay(failures);
                    failures = failures.saturating_add(1);
                    tracing::warn!(queue = %self.queue, %error, ?delay, "claim failed; retrying");
                    delay
                }
                Err(error) => {
                    outbox.put_back(finished);
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
        report_all(&self.client, outbox.close()).await;
        while running.join_next().await.is_some() {}
        outcome
    }
}

/// One claim, carrying `finished` when there is any (then it does not
/// long-poll: the worker wants the answer at once). Answers the claimed
/// tasks and the outcomes the server did not take.
async fn claim(
    client: &Client,
    queue: &str,
    request: &ClaimRequest,
    finished: &Finished,
) -> Result<(Vec<ClaimedTask>, Finished), Error> {
    if finished.is_empty() {
        return Ok((client.claim(queue, request).await?, Finished::default()));
    }
    let request = ClaimRequest { long_poll_seconds: None, ..request.clone() };
    let handoff = client.claim_after(queue, &request, finished).await?;
    if handoff.completed.len() != finished.complete.len() || handoff.failed.len() != finished.fail.len() {
        return Ok((handoff.tasks, finished.clone()));
    }
    for outcome in &handoff.completed {
        if let Err(error) = outcome.clone().into_result() {
            tracing::warn!(run_id = %outcome.run_id(), %error, "could not report the run's outcome");
        }
    }
    for (run, outcome) in finished.fail.iter().zip(&handoff.failed) {
        if let Err(error) = outcome {
            tracing::warn!(run_id = %run.run_id, %error, "could not report the run's outcome");
        }
    }
    Ok((handoff.tasks, Finished::default()))
}

/// Runs the handler for one task while heartbeating; answers what to
/// report, or nothing (the run was suspended, or its claim was lost).
async fn execute<F, Fut>(client: Client, handler: Arc<F>, task: ClaimedTask, claim_timeout: Duration) -> Option<Outcome>
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
            return None;
        }
    };
    match outcome {
        Ok(Ok(result)) => Some(Outcome::Complete(CompleteRun::new(run_id, Some(result)))),
        Ok(Err(TaskError::Fail(message))) => Some(Outcome::Fail(FailRun::new(run_id, message))),
        Ok(Err(TaskError::Suspended)) => None,
        Err(_panic) => Some(Outcome::Fail(FailRun::new(run_id, "handler panicked"))),
    }
}

/// Reports one outcome with its own request.
async fn report(client: &Client, outcome: Outcome) {
    let (run_id, reported) = match outcome {
        Outcome::Complete(run) => (run.run_id, client.complete_run(run.run_id, run.result.as_ref()).await.map(drop)),
        Outcome::Fail(run) => (run.run_id, client.fail_run(run.run_id, &run.error).await.map(drop)),
    };
    if let Err(error) = reported {
        tracing::warn!(%run_id, %error, "could not report the run's outcome");
    }
}

/// Reports outcomes one by one.
async fn report_all(client: &Client, finished: Finished) {
    let outcomes =
        finished.complete.into_iter().map(Outcome::Complete).chain(finished.fail.into_iter().map(Outcome::Fail));
    for outcome in outcomes {
        report(client, outcome).await;
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
