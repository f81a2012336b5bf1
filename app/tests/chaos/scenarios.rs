//! The scenarios, and the one timeline every scenario follows: start the
//! system, produce tasks over the window with the fault injected at evenly
//! spaced moments inside it, drain, stop, check.

use std::sync::Arc;
use std::time::{Duration, Instant};

use durable_client::Client;
use tokio::runtime::Runtime;

use crate::checks::{self, Verdict};
use crate::faults::Fault;
use crate::load::{self, Workload};
use crate::report::{self, Figures};
use crate::scale::Scale;
use crate::system::{QUEUE, Store, System};
use crate::worker::{self, WorkerConfig};

#[derive(Clone, Debug)]
pub(crate) struct Scenario {
    pub name: &'static str,
    store: Store,
    /// `--pool-size` of the servers, when not the default.
    pool_size: Option<u32>,
    workers: usize,
    /// Per worker: claim loops, runs per claim, work time, claim timeout.
    concurrency: usize,
    batch: u32,
    work_ms: (u64, u64),
    claim_timeout_secs: u64,
    producers: usize,
    workload: Workload,
    fault: Option<Fault>,
}

const TWO_REPLICAS: Store = Store::Postgres { replicas: 2 };

/// A scenario with the common shape: PostgreSQL behind two replicas, three
/// workers, tasks that complete at once.
fn scenario(name: &'static str, fault: Option<Fault>) -> Scenario {
    Scenario {
        name,
        store: TWO_REPLICAS,
        pool_size: None,
        workers: 3,
        concurrency: 4,
        batch: 2,
        work_ms: (5, 40),
        claim_timeout_secs: 3,
        producers: 4,
        workload: Workload::Complete,
        fault,
    }
}

pub(crate) fn all() -> Vec<Scenario> {
    vec![
        // Long-ish runs, so the kill lands while runs are in a worker's hands.
        Scenario { work_ms: (50, 250), claim_timeout_secs: 2, ..scenario("worker_sigkill", Some(Fault::WorkerKill)) },
        scenario("server_sigkill_restart", Some(Fault::ServerKill)),
        scenario("postgres_restart", Some(Fault::PgRestart)),
        scenario("postgres_outage", Some(Fault::PgOutage)),
        scenario("backend_kills_with_listen", Some(Fault::BackendKill)),
        // Far more concurrent requests than the two pooled connections.
        Scenario {
            store: Store::Postgres { replicas: 1 },
            pool_size: Some(2),
            concurrency: 16,
            batch: 1,
            work_ms: (0, 5),
            producers: 32,
            ..scenario("pool_exhaustion", None)
        },
        // Most tasks fail a few times with a 50 ms backoff; some run out of
        // attempts. No claim may expire here (attempts are counted), hence
        // the long claim timeout.
        Scenario {
            workload: Workload::RetryStorm { spread: 6, max_attempts: 4, backoff_seconds: 0.05 },
            concurrency: 8,
            work_ms: (0, 2),
            claim_timeout_secs: 60,
            ..scenario("retry_storm", None)
        },
        Scenario { store: Store::Sqlite, workers: 2, ..scenario("sqlite_sigkill_under_load", Some(Fault::ServerKill)) },
    ]
}

impl Scenario {
    fn server_args(&self) -> Vec<String> {
        let mut args: Vec<String> =
            ["--sweep-interval-ms", "200", "--max-consecutive-expiries", "1000"].map(str::to_owned).to_vec();
        if let Some(size) = self.pool_size {
            args.extend(["--pool-size".to_owned(), size.to_string()]);
        }
        args
    }

    fn worker_shape(&self) -> WorkerConfig {
        WorkerConfig {
            name: String::new(),
            servers: Vec::new(),
            queue: QUEUE.to_owned(),
            concurrency: self.concurrency,
            batch: self.batch,
            work_ms: self.work_ms,
            claim_timeout_secs: self.claim_timeout_secs,
        }
    }

    pub(crate) fn run(&self, scale: &Scale) -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        let mut system = System::start(&runtime, self.store, &self.server_args())?;
        let outcome = self.exercise(&runtime, &mut system, scale, started);
        if let Err(error) = &outcome
            && !error.contains("violation(s)")
        {
            let _ = report::append_failure(self.name, error);
        }
        if outcome.is_err() {
            // Keep the logs of a failure for a post-mortem.
            let kept = std::mem::replace(&mut system.dir, tempfile::tempdir().map_err(|e| e.to_string())?);
            let path = kept.keep();
            return outcome.map_err(|e| format!("{e}\n(logs kept in {})\n{}", path.display(), system.log_tails()));
        }
        outcome
    }

    fn exercise(&self, runtime: &Runtime, system: &mut System, scale: &Scale, started: Instant) -> Result<(), String> {
        system.start_workers(self.workers, &self.worker_shape())?;
        let clients: Arc<Vec<Client>> = Arc::new(system.urls().iter().map(|url| worker::client(url)).collect());
        let producing = runtime.spawn(load::produce(
            clients.clone(),
            QUEUE,
            self.workload,
            scale.tasks,
            self.producers,
            scale.window,
            system.ledger.clone(),
        ));
        let window_start = Instant::now();
        let injected = self.inject_faults(runtime, system, scale, window_start);
        runtime.block_on(producing).map_err(|e| format!("the producers panicked: {e}"))?;
        injected?;
        drain(runtime, &clients, scale.drain)?;
        system.stop_workers();

        let snapshot = system.ledger.snapshot();
        let api = runtime.block_on(checks::api_statuses(&clients[0], snapshot.created.keys().copied().collect()));
        system.stop_servers();
        let rows = runtime.block_on(checks::read_rows(self.store, &system.sql_url()))?;
        let verdict = checks::judge(self.workload, &snapshot, &api, &rows);
        let figures = Figures {
            scenario: self.name,
            scale: scale.name(),
            attempted: scale.tasks,
            verdict: &verdict,
            snapshot: &snapshot,
            elapsed: started.elapsed(),
        };
        figures.print();
        figures.append_to_report().map_err(|e| format!("writing the report: {e}"))?;
        judged(&verdict)
    }

    /// The scale's rounds of this scenario's fault, evenly inside the window
    /// (or later, to leave each one `settle` after the previous one ended).
    fn inject_faults(
        &self,
        runtime: &Runtime,
        system: &mut System,
        scale: &Scale,
        start: Instant,
    ) -> Result<(), String> {
        let Some(fault) = self.fault else { return Ok(()) };
        let mut settled = start;
        for round in 0..scale.rounds {
            let planned = start + scale.window.mul_f64((round + 1) as f64 / (scale.rounds + 1) as f64);
            std::thread::sleep(planned.max(settled).saturating_duration_since(Instant::now()));
            let record = fault.inject(system, runtime, round, scale.outage)?;
            // The next fault waits until the system had time to show it
            // recovered from this one.
            settled = record.restored + scale.settle;
            system.ledger.fault(record);
        }
        Ok(())
    }
}

/// Waits until the queue has no live run (pending, in backoff, claimed or
/// sleeping). Bounded, so a stranded run fails the scenario.
fn drain(runtime: &Runtime, clients: &[Client], bound: Duration) -> Result<(), String> {
    let deadline = Instant::now() + bound;
    let mut last = String::from("no answer");
    let mut round = 0;
    while Instant::now() < deadline {
        let client = &clients[round % clients.len()];
        round += 1;
        match runtime.block_on(client.queue_stats(QUEUE)) {
            Ok(stats) => {
                let live = stats.pending_runs + stats.claimed_runs + stats.sleeping_runs.unwrap_or(0);
                if live == 0 {
                    return Ok(());
                }
                last = format!("{stats:?}");
            }
            Err(error) => last = error.to_string(),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("the queue did not drain within {} s; last stats: {last}", bound.as_secs()))
}

fn judged(verdict: &Verdict) -> Result<(), String> {
    if verdict.violations.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = verdict.violations.iter().take(20).map(String::as_str).collect();
    Err(format!(
        "{} violation(s) (lost {}, double {}):\n  {}",
        verdict.violations.len(),
        verdict.lost,
        verdict.double,
        shown.join("\n  ")
    ))
}
