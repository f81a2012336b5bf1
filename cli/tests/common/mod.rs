//! A real server (memory store, loopback port 0) started in-process, and the
//! `durablectl` binary run against it with an isolated environment.

#![allow(dead_code)] // Each test binary uses its own part of the harness.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use durable_app::server::{Server, Settings, start};
use serde_json::Value;
use tempfile::TempDir;

/// Nothing listens here: connections are refused at once.
pub(crate) const UNREACHABLE: &str = "http://127.0.0.1:1";

/// A running server and an empty config directory, both gone on drop.
pub(crate) struct TestServer {
    runtime: tokio::runtime::Runtime,
    server: Option<Server>,
    url: String,
    config_dir: TempDir,
}

impl TestServer {
    pub(crate) fn start() -> Self {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
        let server = runtime.block_on(start(&Settings::default())).expect("server starts");
        let url = server.base_url();
        Self { runtime, server: Some(server), url, config_dir: tempfile::tempdir().expect("temp dir") }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn config_dir(&self) -> &Path {
        self.config_dir.path()
    }

    pub(crate) fn config_file(&self) -> PathBuf {
        self.config_dir.path().join("config.toml")
    }

    /// `durablectl` with no server chosen: no `--server`, no
    /// `DURABLE_SERVER`, the (empty) isolated config directory.
    pub(crate) fn bare(&self) -> Command {
        let mut cmd = Command::cargo_bin("durablectl").expect("durablectl is built");
        cmd.env_remove("DURABLE_SERVER")
            .env_remove("DURABLE_TOKEN")
            .env("DURABLE_CONFIG_DIR", self.config_dir.path())
            .timeout(std::time::Duration::from_secs(60));
        cmd
    }

    /// `durablectl --server <this server> <args>`.
    pub(crate) fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.bare();
        cmd.arg("--server").arg(&self.url).args(args);
        cmd
    }

    /// Runs `args` with `--output json`, expects success, parses stdout.
    pub(crate) fn json<I, S>(&self, args: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let output = self.cmd(args).args(["--output", "json"]).assert().success();
        let stdout = &output.get_output().stdout;
        serde_json::from_slice(stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(stdout)))
    }

    /// Runs `args` with `--output table`, expects success, returns stdout.
    pub(crate) fn table<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let output = self.cmd(args).args(["--output", "table"]).assert().success();
        String::from_utf8(output.get_output().stdout.clone()).expect("UTF-8 stdout")
    }

    // ------------------------------------------------------------ fixtures

    pub(crate) fn queue(&self, name: &str) {
        self.json(["queues", "create", "--name", name]);
    }

    /// Creates a task in `queue`; returns `(task_id, run_id)`.
    pub(crate) fn task(&self, queue: &str, name: &str, extra: &[&str]) -> (String, String) {
        let created = self.json(["tasks", "create", "--queue", queue, "--name", name].iter().chain(extra));
        (string(&created["task_id"]), string(&created["run_id"]))
    }

    /// Claims one run of `queue`; returns `(task_id, run_id)`.
    pub(crate) fn claim(&self, queue: &str) -> (String, String) {
        let claimed = self.json(["tasks", "claim", "--queue", queue]);
        let task = &claimed["tasks"][0];
        (string(&task["task_id"]), string(&task["run_id"]))
    }

    /// How many tasks the server holds.
    pub(crate) fn task_count(&self) -> usize {
        self.json(["tasks", "list", "--all"])["tasks"].as_array().expect("tasks array").len()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = self.runtime.block_on(server.shutdown());
        }
    }
}

/// A JSON string's text.
pub(crate) fn string(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("not a string: {value}")).to_owned()
}

/// The first line of `text` (a table's header), split on runs of spaces.
pub(crate) fn header(text: &str) -> Vec<String> {
    text.lines()
        .next()
        .unwrap_or_default()
        .split("  ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The value of `field:` in a detail view.
pub(crate) fn field(text: &str, name: &str) -> String {
    let prefix = format!("{name}:");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name:?} in\n{text}"))
        .trim()
        .to_owned()
}
