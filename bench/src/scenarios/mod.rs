//! The scenarios, and the worker pool they share: W workers, each claiming
//! in a loop (long polling) and acknowledging what it got.

pub mod steady;
pub mod table_growth;
pub mod throughput;
pub mod wakeup;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::cli::WorkerArgs;
use crate::target::Target;

/// What a scenario needs to run.
#[derive(Debug)]
pub struct Ctx {
    pub target: Arc<Target>,
    pub queue: String,
    /// The database the server (or the in-process engine) uses, if given.
    pub database_url: Option<String>,
}

/// A scenario's result: one line for people, one JSON object for scripts.
#[derive(Debug)]
pub struct Report {
    pub line: String,
    pub json: serde_json::Value,
}

impl Report {
    pub fn new(line: String, json: &impl Serialize) -> anyhow::Result<Self> {
        Ok(Self { line, json: serde_json::to_value(json).context("serializing the report")? })
    }
}

/// How each worker of a [`Pool`] claims and acknowledges.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub workers: usize,
    pub limit: u32,
    pub long_poll: u64,
    pub batch_ack: bool,
    /// Stop every worker once this many runs were claimed and acknowledged.
    pub goal: Option<usize>,
    /// Receives every claimed run with the instant its claim answered.
    pub tap: Option<mpsc::UnboundedSender<(Uuid, Instant)>>,
}

impl WorkerConfig {
    /// Workers as the command line sets them, stopping at `goal` runs.
    pub fn from_args(args: &WorkerArgs, goal: Option<usize>) -> Self {
        Self {
            workers: args.workers,
            limit: args.limit,
            long_poll: args.long_poll,
            batch_ack: args.batch_ack(),
            goal,
            tap: None,
        }
    }
}

/// What one worker saw.
#[derive(Debug, Default)]
pub struct WorkerLog {
    /// Each claimed run and when its claim answered.
    pub claims: Vec<(Uuid, Instant)>,
    pub completed: usize,
    pub rejected: usize,
    pub claim_calls: usize,
    pub last_ack: Option<Instant>,
}

/// What the workers are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Run,
    /// Finish the call in flight, then stop.
    Finish,
    /// Stop now; over HTTP a waiting long poll is abandoned.
    Abandon,
}

/// Running workers.
#[derive(Debug)]
pub struct Pool {
    stop: Arc<watch::Sender<Stop>>,
    handled: Arc<AtomicUsize>,
    workers: Vec<JoinHandle<anyhow::Result<WorkerLog>>>,
}

impl Pool {
    pub fn start(target: &Arc<Target>, queue: &str, config: &WorkerConfig) -> Self {
        let stop = Arc::new(watch::channel(Stop::Run).0);
        let handled = Arc::new(AtomicUsize::new(0));
        let workers = (0..config.workers)
            .map(|i| {
                let worker = Worker {
                    target: target.clone(),
                    queue: queue.to_owned(),
                    id: format!("bench-{i}"),
                    config: config.clone(),
                    stop: stop.clone(),
                    handled: handled.clone(),
                };
                tokio::spawn(worker.run())
            })
            .collect();
        Self { stop, handled, workers }
    }

    /// Runs claimed and acknowledged so far (completed or rejected).
    pub fn handled(&self) -> usize {
        self.handled.load(Ordering::SeqCst)
    }

    /// Waits until the goal is reached (or a worker failed).
    pub async fn finished(&self) {
        let mut stopped = self.stop.subscribe();
        // Only fails when the sender is gone, and we hold it.
        let _ = stopped.wait_for(|stop| *stop != Stop::Run).await;
    }

    /// Stops every worker and returns their logs. Each worker finishes the
    /// call in flight, except with `last` (nothing follows on this server):
    /// then over HTTP a waiting long poll is abandoned, and in process the
    /// engine ends its long polls (for good: no later claim waits). A store
    /// call in process is never cut in half.
    pub async fn stop(self, target: &Target, last: bool) -> anyhow::Result<Vec<WorkerLog>> {
        self.stop.send_replace(if last { Stop::Abandon } else { Stop::Finish });
        if last {
            target.end_long_polls();
        }
        let mut logs = Vec::with_capacity(self.workers.len());
        for worker in self.workers {
            logs.push(worker.await.context("a worker panicked")??);
        }
        Ok(logs)
    }
}

struct Worker {
    target: Arc<Target>,
    queue: String,
    id: String,
    config: WorkerConfig,
    stop: Arc<watch::Sender<Stop>>,
    handled: Arc<AtomicUsize>,
}

impl Worker {
    async fn run(self) -> anyhow::Result<WorkerLog> {
        let mut log = WorkerLog::default();
        let outcome = self.work(&mut log).await;
        if outcome.is_err() {
            // Do not leave the others waiting for a goal that cannot come.
            self.stop.send_replace(Stop::Abandon);
        }
        outcome.map(|()| log)
    }

    async fn work(&self, log: &mut WorkerLog) -> anyhow::Result<()> {
        let mut stopped = self.stop.subscribe();
        let config = &self.config;
        loop {
            if *stopped.borrow_and_update() != Stop::Run {
                return Ok(());
            }
            let claim = self.target.claim(&self.queue, config.limit, config.long_poll, &self.id);
            let claimed = if self.target.abandon_is_safe() {
                tokio::select! {
                    claimed = claim => claimed.context("claim")?,
                    _ = stopped.wait_for(|stop| *stop == Stop::Abandon) => return Ok(()),
                }
            } else {
                claim.await.context("claim")?
            };
            log.claim_calls += 1;
            if claimed.is_empty() {
                continue;
            }
            let at = Instant::now();
            for run in &claimed {
                log.claims.push((*run, at));
                if let Some(tap) = &config.tap {
                    let _ = tap.send((*run, at));
                }
            }
            let completed = self.target.complete(&claimed, config.batch_ack).await.context("complete")?;
            log.last_ack = Some(Instant::now());
            log.completed += completed;
            log.rejected += claimed.len() - completed;
            let handled = self.handled.fetch_add(claimed.len(), Ordering::SeqCst) + claimed.len();
            if config.goal.is_some_and(|goal| handled >= goal) {
                self.stop.send_if_modified(|stop| {
                    let run = *stop == Stop::Run;
                    if run {
                        *stop = Stop::Finish;
                    }
                    run
                });
            }
        }
    }
}
