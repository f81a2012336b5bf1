//! `durablectl queues …` against a real server.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{TestServer, field, header};
use predicates::prelude::*;
use serde_json::Value;

#[test]
fn create_in_both_formats() {
    let server = TestServer::start();
    let created = server.json(["queues", "create", "--name", "emails", "--task-ttl", "3600", "--event-ttl", "0"]);
    assert_eq!(created["name"], "emails");
    assert_eq!(created["cleanup"]["task_ttl_seconds"], 3600);
    assert_eq!(created["cleanup"]["event_ttl_seconds"], 0);
    assert!(created["created_at"].as_str().unwrap().contains('T'));

    let text = server.table(["queues", "create", "--name", "reports"]);
    assert_eq!(field(&text, "name"), "reports");
    assert_eq!(field(&text, "task ttl"), "3d");
    assert_eq!(field(&text, "event ttl"), "3d");
}

#[test]
fn list_in_both_formats() {
    let server = TestServer::start();
    server.json(["queues", "create", "--name", "a", "--task-ttl", "0"]);
    server.queue("b");

    let listed = server.json(["queues", "list"]);
    let names: Vec<&str> = listed["queues"].as_array().unwrap().iter().map(|q| q["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"a") && names.contains(&"b"), "{names:?}");

    let text = server.table(["queues", "list"]);
    assert_eq!(header(&text), ["NAME", "CREATED", "TASK TTL", "EVENT TTL", "KEY LIMIT", "CAP"]);
    let row_a = text.lines().find(|l| l.starts_with("a ")).unwrap();
    assert!(row_a.contains("off") && row_a.contains("3d"), "{row_a}");
    assert!(text.lines().any(|l| l.starts_with("b ")), "{text}");
}

#[test]
fn flow_settings_on_create_and_update() {
    let server = TestServer::start();
    let created = server.json([
        "queues",
        "create",
        "--name",
        "calls",
        "--key-concurrency-limit",
        "2",
        "--concurrency-limit",
        "20",
    ]);
    assert_eq!((created["key_concurrency_limit"].clone(), created["concurrency_limit"].clone()), (2.into(), 20.into()));
    let updated = server.json(["queues", "update", "calls", "--key-concurrency-limit", "3"]);
    assert_eq!((updated["key_concurrency_limit"].clone(), updated["concurrency_limit"].clone()), (3.into(), 20.into()));
    let text = server.table(["queues", "update", "calls", "--no-concurrency-limit"]);
    assert_eq!(field(&text, "cap"), "unlimited");
    assert_eq!(field(&text, "key limit"), "3");
    let task = server.json([
        "tasks",
        "create",
        "--queue",
        "calls",
        "--name",
        "call",
        "--priority",
        "-5",
        "--concurrency-key",
        "customer:42",
    ]);
    let got = server.json(["tasks", "get", task["task_id"].as_str().unwrap()]);
    assert_eq!((got["priority"].clone(), got["concurrency_key"].clone()), ((-5).into(), "customer:42".into()));
    server
        .cmd(["queues", "update", "calls", "--key-concurrency-limit", "0"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("key_concurrency_limit"));
}

#[test]
fn create_conflict_and_bad_name_exit_1() {
    let server = TestServer::start();
    server.queue("dup");
    server
        .cmd(["queues", "create", "--name", "dup"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::starts_with("error: ").and(predicate::str::contains("409")));
    server
        .cmd(["queues", "create", "--name", "tab\there"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("VALIDATION_ERROR").and(predicate::str::contains("control characters")));
}

/// Names with `:`, `/`, spaces and non-ASCII letters work in every command
/// that takes a queue.
#[test]
fn any_name_round_trips_through_the_queue_commands() {
    let server = TestServer::start();
    for name in ["emails:high", "billing/eu", "tâches du jour", "100%?#"] {
        assert_eq!(server.json(["queues", "create", "--name", name])["name"], name);
        let (task, run) = server.task(name, "t", &[]);
        let stats = server.json(["queues", "stats", name]);
        assert_eq!((stats["queue_name"].as_str(), stats["pending_runs"].as_u64()), (Some(name), Some(1)));
        let listed = server.json(["tasks", "list", "--queue", name]);
        assert_eq!(listed["tasks"][0]["id"], task.as_str(), "{name}");
        assert_eq!(listed["tasks"][0]["queue_name"], name);
        assert_eq!(server.claim(name), (task, run.clone()));
        server.json(["runs", "complete", &run]);
        server.cmd(["queues", "delete", name]).assert().success();
        server.cmd(["queues", "stats", name]).assert().code(1).stderr(predicate::str::contains("404"));
    }
    assert_eq!(server.json(["queues", "list"])["queues"], serde_json::json!([]));
}

#[test]
fn stats_in_both_formats() {
    let server = TestServer::start();
    server.queue("q");
    server.task("q", "a", &[]);
    server.task("q", "b", &[]);
    server.claim("q");

    let stats = server.json(["queues", "stats", "q"]);
    assert_eq!(stats["queue_name"], "q");
    assert_eq!(stats["pending_runs"], 1);
    assert_eq!(stats["claimed_runs"], 1);
    assert_eq!(stats["completed_runs"], 0);
    assert_eq!(stats["sleeping_runs"], 0);
    assert_eq!(stats["failed_runs"], 0);
    assert!(stats["oldest_pending_run_age_seconds"].is_number());

    let text = server.table(["queues", "stats", "q"]);
    assert_eq!(header(&text), ["QUEUE", "PENDING", "CLAIMED", "SLEEPING", "COMPLETED", "FAILED", "OLDEST PENDING"]);
    let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[..6], ["q", "1", "1", "0", "0", "0"]);

    server.cmd(["queues", "stats", "missing"]).assert().code(1).stderr(predicate::str::contains("NOT_FOUND"));
}

#[test]
fn stats_watch_prints_snapshots_until_stopped() {
    let server = TestServer::start();
    server.queue("w");
    server.task("w", "t", &[]);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("durablectl"))
        .args(["--server", server.url(), "--output", "json", "queues", "stats", "w", "--watch"])
        .env("DURABLE_CONFIG_DIR", server.config_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // One compact JSON object per line, per refresh.
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["queue_name"], "w");
    assert_eq!(first["pending_runs"], 1);
    // Still running: it refreshes until interrupted.
    assert!(child.try_wait().unwrap().is_none());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn delete_refuses_unfinished_tasks_unless_forced() {
    let server = TestServer::start();
    server.queue("busy");
    server.task("busy", "t", &[]);
    server.cmd(["queues", "delete", "busy"]).assert().code(1).stderr(predicate::str::contains("CONFLICT"));

    let deleted = server.json(["queues", "delete", "busy", "--force"]);
    assert_eq!(deleted, serde_json::json!({"name": "busy", "deleted": true}));

    server.queue("empty");
    let text = server.table(["queues", "delete", "empty"]);
    assert_eq!(text.trim(), "deleted queue empty");
    assert_eq!(server.json(["queues", "list"])["queues"], serde_json::json!([]));

    server.cmd(["queues", "delete", "empty"]).assert().code(1).stderr(predicate::str::contains("404"));
}
