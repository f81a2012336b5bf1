//! The embedded default survives a crash: the real `durable-server` binary
//! on a SQLite file is killed with SIGKILL, restarted, and everything it
//! acknowledged is still there.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use durable_client::{ClaimRequest, Client, CreateQueue, CreateTask};

/// A server process and the address it reported once listening.
struct ServerProcess {
    child: Child,
    base_url: String,
}

impl ServerProcess {
    fn start(database: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_durable-server"))
            .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
            .arg("--database-url")
            .arg(format!("sqlite://{}", database.display()))
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn durable-server");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let address = loop {
            let line = lines.next().expect("server printed its address").expect("read log line");
            let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if entry["message"] == "durable-server listening" {
                break entry["address"].as_str().expect("address field").to_owned();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, base_url: format!("http://{address}") }
    }

    fn kill(mut self) {
        // SIGKILL: no graceful shutdown, no flush beyond what was committed.
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_tasks_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("nested").join("durable.db");

    let server = ServerProcess::start(&database);
    let client = Client::new(&server.base_url).unwrap();
    client.create_queue(&CreateQueue::new("crash")).await.unwrap();
    let mut created = Vec::new();
    for i in 0..200 {
        let task = CreateTask::new(format!("job-{i}"));
        created.push(client.create_task("crash", &task).await.unwrap().task_id);
    }
    server.kill();

    let server = ServerProcess::start(&database);
    let client = Client::new(&server.base_url).unwrap();
    let mut claimed = Vec::new();
    while claimed.len() < created.len() {
        let batch = client.claim("crash", &ClaimRequest::new(100, 60)).await.unwrap();
        assert!(!batch.is_empty(), "only {} of 200 tasks were claimable after the crash", claimed.len());
        claimed.extend(batch.into_iter().map(|t| t.task_id));
    }
    claimed.sort();
    created.sort();
    assert_eq!(claimed, created);
    server.kill();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_server_on_the_same_file_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("durable.db");
    let first = ServerProcess::start(&database);

    let second = Command::new(env!("CARGO_BIN_EXE_durable-server"))
        .args(["--listen", "127.0.0.1:0", "--log-format", "pretty"])
        .arg("--database-url")
        .arg(format!("sqlite://{}", database.display()))
        .output()
        .expect("run second server");
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("in use by another durable-server"), "unexpected error output: {stderr}");

    // The first one is unaffected.
    let client = Client::new(&first.base_url).unwrap();
    client.create_queue(&CreateQueue::new("still-fine")).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), client.healthz()).await.unwrap().unwrap();
    first.kill();
}
