//! The scenarios, and the worker pool they share: W workers, each claiming
//! in a loop (long polling) and acknowledging what it got.

pub(crate) mod keys;
pub(crate) mod steady;
pub(crate) mod table_growth;
pub(crate) mod throughput;
pub(crate) mod wakeup;

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
pub(crate) struct Ctx {
    pub target: Arc<Target>,
    pub queue: String,
    /// The database the server (or the in-process engine) uses, if given.
    pub database_url: Option<String>,
}

/// A scenario's result: one line for people, one JSON object for scripts.
#[derive(Debug)]
pub(crate) struct Report {
    pub line: String,
    pub json: serde_json::Value,
}

impl Report {
    pub(crate) fn new(line: String, json: &impl Serialize) -> anyhow::Result<Self> {
        Ok(Self { line, json: serde_json::to_value(json).context("serializing the report")? })
    }
}

/// How each worker of a [`Pool`] claims and acknowledges.
#[derive(Debug, Clone)]
pub(crate) struct WorkerConfig {
    pub workers: usize,
    pub limit: u32,
    pub long_poll: u64,
    pub batch_ack: bool,
    /// Acknowledge each batch with the next claim instead of a call of its own.
    pub handoff: bool,
    /// Stop every worker once this many runs were claimed and acknowledged.
    pub goal: Option<usize>,
    /// Receives every claimed run with the instant its claim answered.
    pub tap: Option<mpsc::UnboundedSender<(Uuid, Instant)>>,
}

impl WorkerConfig {
    /// Workers as the command line sets them, stopping at `goal` runs.
    pub(crate) fn from_args(args: &WorkerArgs, goal: Option<usize>) -> Self {
        Self {
            workers: args.workers,
            limit: args.limit,
            long_poll: args.long_poll,
            batch_ack: args.batch_ack(),
            handoff: args.handoff,
            goal,
            tap: None,
        }
    }
}

/// What one worker saw.
#[derive(Debug, Default)]
pub(crate) struct WorkerLog {
    /// Each claimed run and when its claim answered.
    pub claims: Vec<(Uuid, Instant)>,
    pub completed: usize,
    pub rejected: usize,
    pub claim_calls: usize,
    /// How long each claim call that handed out runs took, in ms.
    pub claim_ms: Vec<f64>,
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
pub(crate) struct Pool {
    stop: Arc<watch::Sender<Stop>>,
    handled: Arc<AtomicUsize>,
    workers: Vec<JoinHandle<anyhow::Result<WorkerLog>>>,
}

impl Pool {
    pub(crate) fn start(target: &Arc<Target>, queue: &str, config: &WorkerConfig) -> Self {
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
    pub(crate) fn handled(&self) -> usize {
        self.handled.load(Ordering::SeqCst)
    }

    /// Waits until the goal is reached (or a worker failed).
    pub(crate) async fn finished(&self) {
        let mut stopped = self.stop.subscribe();
        // Only fails when the sender is gone, and we hold it.
        let _ = stopped.wait_for(|stop| *stop != Stop::Run).await;
    }

    /// Stops every worker and returns their logs. Each worker finishes the
    /// call in flight, except with `last` (nothing follows on this server):
    /// then over HTTP a waiting long poll is abandoned, and in process the
    /// engine ends its long polls (for good: no later claim waits). A store
    /// call in process is never cut in half.
    pub(crate) async fn stop(self, target: &Target, last: bool) -> anyhow::Result<Vec<WorkerLog>> {
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
        // With handoff: the runs of the last batch, acknowledged by the next claim.
        let mut finished: Vec<Uuid> = Vec::new();
        loop {
            if *stopped.borrow_and_update() != Stop::Run {
                let completed = self.target.complete(&finished, true).await.context("complete")?;
                self.acknowledged(log, finished.len(), completed);
                return Ok(());
            }
            // A claim carrying acknowledgements does not long-poll: they are
            // recorded at once either way, but the worker would hear so only
            // when the wait ends.
            let long_poll = if finished.is_empty() { config.long_poll } else { 0 };
            let sent = Instant::now();
            let claim = self.target.claim_after(&self.queue, config.limit, long_poll, &self.id, &finished);
            let claimed = if self.target.abandon_is_safe() {
                tokio::select! {
                    claimed = claim => claimed.context("claim")?,
                    _ = stopped.wait_for(|stop| *stop == Stop::Abandon) => return Ok(()),
                }
            } else {
                claim.await.context("claim")?
            };
            let (completed, claimed) = claimed;
            log.claim_calls += 1;
            if !finished.is_empty() {
                self.acknowledged(log, finished.len(), completed);
                finished.clear();
            }
            if claimed.is_empty() {
                continue;
            }
            let at = Instant::now();
            log.claim_ms.push(crate::stats::ms(at - sent));
            for run in &claimed {
                log.claims.push((*run, at));
                if let Some(tap) = &config.tap {
                    let _ = tap.send((*run, at));
                }
            }
            if config.handoff {
                finished = claimed;
                continue;
            }
            let completed = self.target.complete(&claimed, config.batch_ack).await.context("complete")?;
            self.acknowledged(log, claimed.len(), completed);
        }
    }

    /// `sent` runs were acknowledged, `completed` of them accepted.
    fn acknowledged(&self, log: &mut WorkerLog, sent: usize, completed: usize) {
        if sent == 0 {
            return;
        }
        log.last_ack = Some(Instant::now());
        log.completed += completed;
        log.rejected += sent - completed;
        let handled = self.handled.fetch_add(sent, Ordering::SeqCst) + sent;
        if self.config.goal.is_some_and(|goal| handled >= goal) {
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
