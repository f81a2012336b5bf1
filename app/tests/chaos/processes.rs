//! The processes a scenario runs: `durable-server` replicas (the real
//! binary, restartable on the same port) and worker processes (this
//! executable in its worker role). Each is SIGKILLed when dropped, so a
//! failing scenario leaves nothing behind.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::ledger::Ledger;
use crate::worker::{CONFIG_ENV, WorkerConfig};

const SERVER_BIN: &str = env!("CARGO_BIN_EXE_durable-server");

/// A loopback port nobody listens on right now.
pub(crate) fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    probe.local_addr().expect("local address").port()
}

/// One `durable-server` replica. Its log (JSON lines, warnings and the
/// start-up line) is kept in `log`, across restarts.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    port: u16,
    database_url: String,
    extra_args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
}

impl ServerProcess {
    /// Starts a replica on a free port and waits until it listens.
    pub(crate) fn start(database_url: &str, extra_args: &[String], log: PathBuf) -> Result<Self, String> {
        let mut server = Self {
            port: free_port(),
            database_url: database_url.to_owned(),
            extra_args: extra_args.to_vec(),
            log,
            child: None,
        };
        server.start_again()?;
        Ok(server)
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the process (again) on the same port and database.
    pub(crate) fn start_again(&mut self) -> Result<(), String> {
        let mut child = Command::new(SERVER_BIN)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--database-url")
            .arg(&self.database_url)
            .args(["--log-format", "json"])
            .args(&self.extra_args)
            .env("RUST_LOG", "warn,durable_app::server=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawning {SERVER_BIN}: {e}"))?;
        let stderr = child.stderr.take().expect("piped stderr");
        let mut log = File::options().create(true).append(true).open(&self.log).map_err(|e| e.to_string())?;
        let (listening, heard) = mpsc::channel();
        // Copies the log to its file for ever (so the pipe never fills) and
        // says when the server reported it listens.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = writeln!(log, "{line}");
                if line.contains("durable-server listening") {
                    let _ = listening.send(());
                }
            }
        });
        let outcome = heard.recv_timeout(Duration::from_secs(60));
        self.child = Some(child);
        if let Ok(()) = outcome {
            Ok(())
        } else {
            self.kill();
            Err(format!("durable-server on port {} did not start; its log:\n{}", self.port, self.log_tail()))
        }
    }

    /// SIGKILL: no shutdown, nothing flushed beyond what was committed.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub(crate) fn log_tail(&self) -> String {
        tail(&self.log, 30)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One worker process; its acknowledged outcomes go to the ledger as they
/// are printed.
#[derive(Debug)]
pub(crate) struct WorkerProcess {
    child: Child,
    /// Closing it tells the worker to exit.
    stdin: Option<ChildStdin>,
    reader: Option<JoinHandle<()>>,
}

impl WorkerProcess {
    pub(crate) fn start(config: &WorkerConfig, ledger: Arc<Ledger>, log: &Path) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("finding the test executable: {e}"))?;
        let log = File::options().create(true).append(true).open(log).map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .env(CONFIG_ENV, config.to_json())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawning worker {}: {e}", config.name))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let stdin = child.stdin.take();
        let name = config.name.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                ledger.worker_line(&name, &line, Instant::now());
            }
        });
        Ok(Self { child, stdin, reader: Some(reader) })
    }

    /// SIGKILL, mid-run: whatever it had claimed is abandoned.
    pub(crate) fn kill(mut self) {
        self.end(true);
    }

    /// Asks the worker to exit and reads what it printed until then.
    pub(crate) fn stop(mut self) {
        self.end(false);
    }

    fn end(&mut self, kill: bool) {
        if kill {
            let _ = self.child.kill();
        }
        drop(self.stdin.take());
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if self.reader.is_some() {
            self.end(true);
        }
    }
}

/// The last `lines` lines of a log file.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
