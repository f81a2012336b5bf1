//! A durable task survives the SIGKILL of its worker process mid-step: a
//! worker *process* (this executable, re-executed with `DURABLE_SDK_WORKER`
//! set) runs a task of three steps, each appending a line to a file, and is
//! killed while step 2 runs; a new worker process takes the task over once
//! the dead claim expires. The task completes with the right result, step 1
//! and step 3 ran exactly once, and step 2 (killed mid-way) ran again.
//!
//! The server runs in this process, on a SQLite file and on PostgreSQL;
//! only the workers die.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use durable_app::server::Settings;
use durable_client::{Client, CreateQueue, Durable, DurableError, SpawnOptions, TaskContext, TaskStatus};
use durable_tests::server::TestServer;
use libtest_mimic::{Arguments, Trial};
use serde_json::{Value, json};

/// Holds `<server url> <hang in step 2: 0|1>` when this process is a worker.
const WORKER_ENV: &str = "DURABLE_SDK_WORKER";
const QUEUE: &str = "crash";
const PATIENCE: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    if let Ok(config) = std::env::var(WORKER_ENV) {
        return worker(&config);
    }
    let trial = |name: &str, store: Store| {
        Trial::test(name, move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(killed_mid_step(store)).map_err(Into::into)
        })
    };
    let trials = vec![
        trial("a_worker_killed_mid_step_is_replaced_and_finished_steps_do_not_run_again_on_sqlite", Store::Sqlite),
        trial("a_worker_killed_mid_step_is_replaced_and_finished_steps_do_not_run_again_on_postgres", Store::Postgres),
    ];
    libtest_mimic::run(&Arguments::from_args(), trials).exit_code()
}

/// Appends `line` to `file`, flushed before the step goes on.
fn append(file: &Path, line: &str) -> Result<(), std::io::Error> {
    let mut file = OpenOptions::new().create(true).append(true).open(file)?;
    writeln!(file, "{line}")?;
    file.sync_all()
}

/// The worker process: runs `three-steps` until killed.
fn worker(config: &str) -> ExitCode {
    let mut parts = config.split(' ');
    let (Some(url), Some(hang)) = (parts.next(), parts.next()) else {
        eprintln!("{WORKER_ENV} must be `<url> <0|1>`, not {config:?}");
        return ExitCode::FAILURE;
    };
    let hang = hang == "1";
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() else {
        return ExitCode::FAILURE;
    };
    let outcome = runtime.block_on(async move {
        let mut app = Durable::new(Client::new(url)?);
        app.register("three-steps", move |ctx: TaskContext, file: PathBuf| async move {
            let mut results = Vec::new();
            for step in 1..=3_u32 {
                let name = format!("step-{step}");
                let (file, line) = (file.clone(), name.clone());
                let value: u32 = ctx
                    .step(&name, || async move {
                        append(&file, &line)?;
                        if step == 2 && hang {
                            // Killed here, mid-step, by the test.
                            std::future::pending::<()>().await;
                        }
                        Ok::<_, std::io::Error>(step * 10)
                    })
                    .await?;
                results.push(value);
            }
            Ok::<_, DurableError>(json!({"results": results}))
        });
        app.worker(QUEUE)
            .claim_timeout(Duration::from_secs(2))
            .long_poll_seconds(1)
            .run_until(std::future::pending())
            .await
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("worker: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A worker process, SIGKILLed when dropped so a failing test leaves none behind.
struct WorkerProcess(Child);

impl WorkerProcess {
    fn start(url: &str, hang: bool) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let child = Command::new(exe)
            .env(WORKER_ENV, format!("{url} {}", u8::from(hang)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting a worker process: {e}"))?;
        Ok(Self(child))
    }

    /// SIGKILL: no shutdown, nothing reported.
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file).unwrap_or_default().lines().map(str::to_owned).collect()
}

async fn until<F: FnMut() -> bool>(what: &str, mut done: F) -> Result<(), String> {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        if Instant::now() > deadline {
            return Err(format!("gave up after {PATIENCE:?} waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// The store the server of a trial runs on.
#[derive(Clone, Copy, Debug)]
enum Store {
    Sqlite,
    Postgres,
}

async fn killed_mid_step(store: Store) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let server = match store {
        Store::Sqlite => {
            let url = format!("sqlite://{}", dir.path().join("durable.db").display());
            TestServer::start(Settings { database_url: url, ..TestServer::settings() }, None).await
        }
        Store::Postgres => TestServer::postgres().await,
    };
    let client = Client::new(server.base_url()).map_err(|e| e.to_string())?;
    client.create_queue(&CreateQueue::new(QUEUE)).await.map_err(|e| e.to_string())?;
    let file = dir.path().join("steps.log");
    File::create(&file).map_err(|e| e.to_string())?;

    let mut first = WorkerProcess::start(&server.base_url(), true)?;
    let app = Durable::new(client.clone());
    let task = app.spawn(QUEUE, "three-steps", &file, SpawnOptions::default()).await.map_err(|e| e.to_string())?;
    until("step 2 to start", || lines(&file).iter().any(|line| line == "step-2")).await?;
    first.kill();

    let _second = WorkerProcess::start(&server.base_url(), false)?;
    let deadline = Instant::now() + PATIENCE;
    let done = loop {
        let got = client.get_task(task.task_id).await.map_err(|e| e.to_string())?;
        if got.status != TaskStatus::Pending {
            break got;
        }
        if Instant::now() > deadline {
            return Err(format!("the task did not end within {PATIENCE:?}; steps: {:?}", lines(&file)));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    server.stop().await;

    let expected = json!({"results": [10, 20, 30]});
    if done.status != TaskStatus::Completed || done.result.as_ref() != Some(&expected) {
        return Err(format!("expected completed with {expected}, got {:?} {:?}", done.status, done.result));
    }
    let steps = lines(&file);
    let count = |name: &str| steps.iter().filter(|line| *line == name).count();
    if (count("step-1"), count("step-2"), count("step-3")) != (1, 2, 1) {
        return Err(format!("step 1 and 3 must run once and step 2 twice; the file says {steps:?}"));
    }
    if done.attempts != 2 {
        return Err(format!("expected the expired run and one more, got {} runs", done.attempts));
    }
    let _: Option<Value> = done.result;
    Ok(())
}
