//! The worker process: claims from the servers, "works" a little, completes
//! or fails each run, and prints one line per outcome the server
//! acknowledged. Its parent reads those lines into the ledger; a line is
//! printed only after the acknowledgement arrived, so a SIGKILL can lose a
//! line but never invent one.
//!
//! Lines: `complete|fail <task> <run> <attempt> <server>` and
//! `error <operation> <kind>` (kind: an HTTP status, `timeout`, `transport`,
//! `decode`).
//!
//! This is a loop of its own over `durable_client::Client` rather than the
//! client's `Worker` runtime: the runtime reports outcomes itself and does
//! not tell its handler whether the server acknowledged them, which is the
//! one thing the suite must record.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use durable_client::{ClaimRequest, ClaimedTask, Client, Error, RetryPolicy};
use serde_json::{Value, json};

/// Holds the worker's configuration (JSON) when this executable is a worker.
pub(crate) const CONFIG_ENV: &str = "DURABLE_CHAOS_WORKER";

/// The error a planned failure reports; SQL counts runs by it.
pub(crate) const PLANNED_FAILURE: &str = "chaos: planned failure";

#[derive(Clone, Debug)]
pub(crate) struct WorkerConfig {
    pub name: String,
    pub servers: Vec<String>,
    pub queue: String,
    /// Claim loops running at once.
    pub concurrency: usize,
    /// Runs per claim.
    pub batch: u32,
    /// Each run "works" for between these many milliseconds.
    pub work_ms: (u64, u64),
    pub claim_timeout_secs: u64,
}

impl WorkerConfig {
    pub(crate) fn to_json(&self) -> String {
        json!({
            "name": self.name,
            "servers": self.servers,
            "queue": self.queue,
            "concurrency": self.concurrency,
            "batch": self.batch,
            "work_ms": [self.work_ms.0, self.work_ms.1],
            "claim_timeout_secs": self.claim_timeout_secs,
        })
        .to_string()
    }

    fn from_json(text: &str) -> Option<Self> {
        let v: Value = serde_json::from_str(text).ok()?;
        Some(Self {
            name: v["name"].as_str()?.to_owned(),
            servers: v["servers"].as_array()?.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect(),
            queue: v["queue"].as_str()?.to_owned(),
            concurrency: usize::try_from(v["concurrency"].as_u64()?).ok()?,
            batch: u32::try_from(v["batch"].as_u64()?).ok()?,
            work_ms: (v["work_ms"][0].as_u64()?, v["work_ms"][1].as_u64()?),
            claim_timeout_secs: v["claim_timeout_secs"].as_u64()?,
        })
    }
}

/// The configuration, when this process was started as a worker.
pub(crate) fn config_from_env() -> Option<WorkerConfig> {
    let text = std::env::var(CONFIG_ENV).ok()?;
    match WorkerConfig::from_json(&text) {
        Some(config) => Some(config),
        None => panic!("{CONFIG_ENV} is not a worker configuration: {text}"),
    }
}

/// A client that never retries on its own: every attempt is the worker's
/// decision, so each one is counted.
pub(crate) fn client(base_url: &str) -> Client {
    Client::builder(base_url)
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(2))
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("a loopback base URL")
}

pub(crate) fn run(config: WorkerConfig) -> ExitCode {
    // The parent holds our stdin; when it goes away, however it ended, so do we.
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    let Ok(runtime) = runtime else { return ExitCode::FAILURE };
    runtime.block_on(async move {
        let config = Arc::new(config);
        let clients: Arc<Vec<Client>> = Arc::new(config.servers.iter().map(|url| client(url)).collect());
        let loops: Vec<_> = (0..config.concurrency)
            .map(|slot| tokio::spawn(claim_loop(config.clone(), clients.clone(), slot)))
            .collect();
        for handle in loops {
            let _ = handle.await;
        }
    });
    ExitCode::SUCCESS
}

async fn claim_loop(config: Arc<WorkerConfig>, clients: Arc<Vec<Client>>, slot: usize) {
    let mut server = slot % clients.len();
    let mut failures: u32 = 0;
    let request = ClaimRequest::new(config.batch, config.claim_timeout_secs)
        .long_poll_seconds(1)
        .worker_id(format!("{}-{slot}", config.name));
    loop {
        match clients[server].claim(&config.queue, &request).await {
            Ok(tasks) => {
                failures = 0;
                for task in tasks {
                    work(&config, &clients, server, task).await;
                }
            }
            Err(error) => {
                print_error("claim", &error);
                // Another replica may be up while this one is not.
                server = (server + 1) % clients.len();
                failures = failures.saturating_add(1);
                tokio::time::sleep(Duration::from_millis(50 * u64::from(failures.min(10)))).await;
            }
        }
    }
}

/// Works one run and reports its planned outcome, trying again (on any
/// replica) while the answer is a transport failure or 503. A retry after a
/// report that did apply gets 409: the fencing the suite relies on, and
/// tests on purpose for one run in eight.
async fn work(config: &WorkerConfig, clients: &[Client], server: usize, task: ClaimedTask) {
    let (low, high) = config.work_ms;
    let spread = u128::from(high.saturating_sub(low)) + 1;
    let pause = low + u64::try_from(task.task_id.as_u128() % spread).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(pause)).await;

    let fail_times = task.params["fail_times"].as_u64().unwrap_or(0);
    let fails = u64::from(task.attempt) <= fail_times;
    for try_number in 0..6u64 {
        let target = (server + try_number as usize) % clients.len();
        match report(config, &clients[target], &task, fails, target).await {
            Ok(()) => {
                // A duplicate delivery, as a network retry would make one:
                // the server must refuse it (409), and if it acknowledged
                // it the ledger holds the outcome twice.
                if task.task_id.as_u128().is_multiple_of(DUPLICATE_ONE_IN) {
                    let other = (target + 1) % clients.len();
                    let _ = report(config, &clients[other], &task, fails, other).await;
                }
                return;
            }
            Err(error) if matches!(error, Error::Transport(_)) || error.is_unavailable() => {
                tokio::time::sleep(Duration::from_millis(100 * (try_number + 1))).await;
            }
            Err(_) => return,
        }
    }
}

/// One in this many runs has its outcome reported a second time.
const DUPLICATE_ONE_IN: u128 = 8;

/// Reports the run's outcome to one server; prints the acknowledgement or the error.
async fn report(
    config: &WorkerConfig,
    client: &Client,
    task: &ClaimedTask,
    fails: bool,
    server: usize,
) -> Result<(), Error> {
    let (verb, answer) = if fails {
        ("fail", client.fail_run(task.run_id, PLANNED_FAILURE).await.map(drop))
    } else {
        ("complete", client.complete_run(task.run_id, Some(&json!({"worker": config.name}))).await.map(drop))
    };
    match &answer {
        Ok(()) => print_line(&format!("{verb} {} {} {} {server}", task.task_id, task.run_id, task.attempt)),
        Err(error) => print_error(verb, error),
    }
    answer
}

/// What kind of failure `error` is, as the ledger counts it.
pub(crate) fn error_kind(error: &Error) -> String {
    match error {
        Error::Api { status, .. } => status.to_string(),
        Error::Transport(e) if e.is_timeout() => "timeout".to_owned(),
        Error::Transport(_) => "transport".to_owned(),
        Error::Decode { .. } => "decode".to_owned(),
        _ => "other".to_owned(),
    }
}

fn print_error(operation: &str, error: &Error) {
    print_line(&format!("error {operation} {}", error_kind(error)));
}

fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
