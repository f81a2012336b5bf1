//! `durablectl tasks …` against a real server.

mod common;

use std::process::Stdio;

use common::{TestServer, field, header, string};
use predicates::prelude::*;
use serde_json::json;

#[test]
fn create_sends_every_option() {
    let server = TestServer::start();
    server.queue("q");
    let created = server.json([
        "tasks",
        "create",
        "--queue",
        "q",
        "--name",
        "send",
        "--params",
        r#"{"to": "ada@example.com", "n": [1, 2]}"#,
        "--headers",
        "lang=en",
        "tenant=acme",
        "--max-attempts",
        "3",
        "--retry-strategy",
        "exponential",
        "--retry-delay",
        "2",
        "--retry-factor",
        "3",
        "--retry-max-delay",
        "60",
        "--start-timeout",
        "600",
        "--execution-timeout",
        "3600",
    ]);
    let task_id = string(&created["task_id"]);
    assert!(created["run_id"].is_string());
    assert!(created.get("deduplicated").is_none());

    let task = server.json(["tasks", "get", &task_id]);
    assert_eq!(task["id"], task_id.as_str());
    assert_eq!(task["queue_name"], "q");
    assert_eq!(task["task_name"], "send");
    assert_eq!(task["status"], "pending");
    assert_eq!(task["params"], json!({"to": "ada@example.com", "n": [1, 2]}));
    assert_eq!(task["headers"], json!({"lang": "en", "tenant": "acme"}));
    assert_eq!(task["max_attempts"], 3);
    assert_eq!(task["attempts"], 1);
    assert_eq!(
        task["retry_strategy"],
        json!({"kind": "exponential", "base_seconds": 2.0, "factor": 3.0, "max_seconds": 60.0})
    );
    assert_eq!(task["start_timeout"], 600.0);
    assert_eq!(task["execution_timeout"], 3600.0);
    assert!(task.get("completed_at").is_none());
}

#[test]
fn create_in_table_form_and_with_an_idempotency_key() {
    let server = TestServer::start();
    server.queue("q");
    let args = ["tasks", "create", "--queue", "q", "--name", "n", "--idempotency-key", "k1"];
    let text = server.table(args);
    let task_id = field(&text, "task");
    assert_eq!(field(&text, "run").len(), 36);

    let again = server.json(args);
    assert_eq!(again["task_id"], task_id.as_str());
    assert_eq!(again["deduplicated"], true);
    let text = server.table(args);
    assert!(field(&text, "deduplicated").starts_with("yes"), "{text}");
    assert_eq!(server.task_count(), 1);
}

#[test]
fn run_at_defers_the_first_run() {
    let server = TestServer::start();
    server.queue("q");
    server.task("q", "later", &["--run-at", "+1h"]);
    server.task("q", "at", &["--run-at", "2999-01-01T00:00:00Z"]);
    assert_eq!(server.json(["tasks", "claim", "--queue", "q"])["tasks"], json!([]));
    assert_eq!(server.json(["queues", "stats", "q"])["pending_runs"], 2);

    server
        .cmd(["tasks", "create", "--queue", "q", "--name", "x", "--run-at", "tomorrow"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("RFC 3339"));
}

#[test]
fn bad_json_is_rejected_before_anything_is_sent() {
    let server = TestServer::start();
    server.queue("q");
    server
        .cmd(["tasks", "create", "--queue", "q", "--name", "n", "--params", "{not json"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with("error: --params is not valid JSON: "));
    // The server never saw it: no task, and the unknown queue below is not
    // reported either, since no request is made.
    assert_eq!(server.task_count(), 0);
    server
        .cmd(["tasks", "create", "--queue", "nope", "--name", "n", "--params", "[1,"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--params is not valid JSON"));
    // Not even a server is needed to reject it.
    server
        .bare()
        .args(["--server", common::UNREACHABLE, "tasks", "create", "--queue", "q"])
        .args(["--name", "n", "--params", "{"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--params is not valid JSON"));
}

#[test]
fn params_can_come_from_a_file_or_stdin() {
    let server = TestServer::start();
    server.queue("q");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.json");
    std::fs::write(&path, r#"{"from": "file"}"#).unwrap();
    let (id, _) = server.task("q", "f", &["--params", &format!("@{}", path.display())]);
    assert_eq!(server.json(["tasks", "get", &id])["params"], json!({"from": "file"}));

    let output = server
        .cmd(["--output", "json", "tasks", "create", "--queue", "q", "--name", "s"])
        .args(["--params", "@-"])
        .write_stdin(r#"{"from": "stdin"}"#)
        .assert()
        .success();
    let created: serde_json::Value = serde_json::from_slice(&output.get_output().stdout).unwrap();
    let id = string(&created["task_id"]);
    assert_eq!(server.json(["tasks", "get", &id])["params"], json!({"from": "stdin"}));
}

#[test]
fn claim_in_both_formats() {
    let server = TestServer::start();
    server.queue("q");
    let (task_id, run_id) = server.task("q", "work", &["--params", r#"{"k": 1}"#]);
    let (task_2, run_2) = server.task("q", "more", &[]);

    let claimed = server.json(["tasks", "claim", "--queue", "q", "--timeout", "30"]);
    let tasks = claimed["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["task_id"], task_id.as_str());
    assert_eq!(tasks[0]["run_id"], run_id.as_str());
    assert_eq!(tasks[0]["attempt"], 1);
    assert_eq!(tasks[0]["task_name"], "work");
    assert_eq!(tasks[0]["params"], json!({"k": 1}));
    assert_eq!(tasks[0]["queue_name"], "q");
    assert!(tasks[0]["claim_expires_at"].is_string());

    let text = server.table(["tasks", "claim", "--queue", "q", "--limit", "10", "--poll", "1"]);
    assert_eq!(header(&text), ["RUN ID", "TASK ID", "NAME", "ATTEMPT", "CLAIM EXPIRES", "PARAMS"]);
    assert!(text.contains(&run_2) && text.contains(&task_2) && text.contains("more"), "{text}");

    // Nothing left: an empty list (after a one-second long poll).
    assert_eq!(server.json(["tasks", "claim", "--queue", "q", "--poll", "1"])["tasks"], json!([]));
    server.cmd(["tasks", "claim", "--queue", "missing"]).assert().code(1).stderr(predicate::str::contains("NOT_FOUND"));
    server.cmd(["tasks", "claim", "--queue", "q", "--limit", "0"]).assert().code(2);
}

#[test]
fn list_filters_and_pages() {
    let server = TestServer::start();
    server.queue("a");
    server.queue("b");
    let (first, _) = server.task("a", "x", &[]);
    server.task("a", "y", &[]);
    server.task("b", "x", &[]);
    let (done, done_run) = server.task("b", "z", &["--max-attempts", "2"]);
    server.json(["tasks", "cancel", &done]);
    let _ = done_run;

    let all = server.json(["tasks", "list"]);
    assert_eq!(all["tasks"].as_array().unwrap().len(), 4);
    assert!(all.get("next_cursor").is_none());
    let only_a = server.json(["tasks", "list", "--queue", "a"]);
    assert!(only_a["tasks"].as_array().unwrap().iter().all(|t| t["queue_name"] == "a"));
    assert_eq!(only_a["tasks"].as_array().unwrap().len(), 2);
    let named_x = server.json(["tasks", "list", "--name", "x"]);
    assert_eq!(named_x["tasks"].as_array().unwrap().len(), 2);
    let canceled = server.json(["tasks", "list", "--status", "canceled"]);
    assert_eq!(canceled["tasks"][0]["id"], done.as_str());
    assert!(canceled["tasks"][0]["completed_at"].is_string());

    // Paging: newest first, one per page, then --cursor and --all.
    let page = server.json(["tasks", "list", "--limit", "1"]);
    assert_eq!(page["tasks"].as_array().unwrap().len(), 1);
    let cursor = string(&page["next_cursor"]);
    let next = server.json(["tasks", "list", "--limit", "1", "--cursor", &cursor]);
    assert_ne!(next["tasks"][0]["id"], page["tasks"][0]["id"]);
    let every = server.json(["tasks", "list", "--limit", "1", "--all"]);
    let ids: Vec<&str> = every["tasks"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 4);
    assert_eq!(ids[3], first);
    assert!(every.get("next_cursor").is_none());

    let text = server.table(["tasks", "list", "--queue", "a"]);
    assert_eq!(header(&text), ["ID", "QUEUE", "NAME", "STATUS", "MAX ATTEMPTS", "CREATED", "COMPLETED"]);
    assert!(text.contains(&first) && text.contains("pending"), "{text}");
    let text = server.table(["tasks", "list", "--limit", "1"]);
    assert!(text.contains("More: --cursor "), "{text}");
    server.cmd(["tasks", "list", "--status", "sleeping"]).assert().code(2);
}

#[test]
fn get_in_both_formats_and_404() {
    let server = TestServer::start();
    server.queue("q");
    let (id, _) =
        server.task("q", "report", &["--params", r#"{"day": "mon"}"#, "--headers", "h=v", "--retry-delay", "5"]);
    let text = server.table(["tasks", "get", &id]);
    assert_eq!(field(&text, "id"), id);
    assert_eq!(field(&text, "queue"), "q");
    assert_eq!(field(&text, "name"), "report");
    assert_eq!(field(&text, "status"), "pending");
    assert_eq!(field(&text, "attempts"), "1 (max 1)");
    assert_eq!(field(&text, "retry"), "fixed 5s");
    assert_eq!(field(&text, "headers"), "h=v");
    assert!(text.contains(r#""day": "mon""#), "{text}");

    let json = server.json(["tasks", "get", &id]);
    assert_eq!(json["retry_strategy"], json!({"kind": "fixed", "base_seconds": 5.0}));

    server
        .cmd(["tasks", "get", "01a22037-aec9-7434-83c0-000000000000"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("error: HTTP 404 NOT_FOUND"));
    server.cmd(["tasks", "get", "not-a-uuid"]).assert().code(2).stderr(predicate::str::contains("invalid value"));
}

#[test]
fn cancel_in_both_formats() {
    let server = TestServer::start();
    server.queue("q");
    let (a, _) = server.task("q", "a", &[]);
    let (b, _) = server.task("q", "b", &[]);
    let canceled = server.json(["tasks", "cancel", &a]);
    assert_eq!(canceled, json!({"task_id": a, "status": "canceled"}));
    let text = server.table(["tasks", "cancel", &b]);
    assert_eq!(field(&text, "task"), b);
    assert_eq!(field(&text, "status"), "canceled");
    server.cmd(["tasks", "cancel", &a]).assert().code(1).stderr(predicate::str::contains("CONFLICT"));
}

#[test]
fn retry_a_canceled_task_in_both_formats() {
    let server = TestServer::start();
    server.queue("q");
    let (a, _) = server.task("q", "a", &[]);
    server.cmd(["tasks", "retry", &a]).assert().code(1).stderr(predicate::str::contains("only failed or canceled"));
    server.json(["tasks", "cancel", &a]);
    let retried = server.json(["tasks", "retry", &a]);
    assert_eq!((retried["task_id"].as_str(), retried["attempt"].as_u64()), (Some(a.as_str()), Some(2)));
    assert_eq!(retried["status"], "pending");
    let (claimed_task, claimed_run) = server.claim("q");
    assert_eq!((claimed_task, claimed_run), (a.clone(), retried["run_id"].as_str().unwrap().to_owned()));
    server.json(["runs", "fail", retried["run_id"].as_str().unwrap(), "--error", "boom"]);
    let text = server.table(["tasks", "retry", &a]);
    assert_eq!(field(&text, "attempt"), "3");
}

#[test]
fn wait_exits_0_when_the_task_completes() {
    let server = TestServer::start();
    server.queue("q");
    let (task, _) = server.task("q", "t", &[]);
    // Started while the task is pending; it finishes while the CLI waits.
    let waiting = std::process::Command::new(assert_cmd::cargo::cargo_bin("durablectl"))
        .args(["--server", server.url(), "--output", "json", "tasks", "wait", &task])
        .args(["--interval-ms", "50", "--timeout", "30"])
        .env("DURABLE_CONFIG_DIR", server.config_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_, run) = server.claim("q");
    server.json(["runs", "complete", &run, "--result", r#"{"ok": true}"#]);
    let output = waiting.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    // stderr is not a terminal: no spinner, nothing at all.
    assert!(output.stderr.is_empty(), "{output:?}");
    let task_json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(task_json["status"], "completed");
    assert_eq!(task_json["result"], json!({"ok": true}));

    // Already finished: answers at once, in table form too.
    let text = server.table(["tasks", "wait", &task]);
    assert_eq!(field(&text, "status"), "completed");
}

#[test]
fn wait_exits_1_when_the_task_fails_or_is_canceled() {
    let server = TestServer::start();
    server.queue("q");
    let (task, _) = server.task("q", "t", &[]);
    let (_, run) = server.claim("q");
    server.json(["runs", "fail", &run, "--error", "boom"]);
    let output = server
        .cmd(["--output", "json", "tasks", "wait", &task])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("error: task {task} failed: boom")));
    let task_json: serde_json::Value = serde_json::from_slice(&output.get_output().stdout).unwrap();
    assert_eq!(task_json["status"], "failed");
    assert_eq!(task_json["last_error"], "boom");

    let (canceled, _) = server.task("q", "c", &[]);
    server.json(["tasks", "cancel", &canceled]);
    server.cmd(["tasks", "wait", &canceled]).assert().code(1).stderr(predicate::str::contains("canceled"));
}

#[test]
fn wait_exits_1_on_timeout() {
    let server = TestServer::start();
    server.queue("q");
    let (task, _) = server.task("q", "t", &[]);
    server
        .cmd(["tasks", "wait", &task, "--timeout", "0.2", "--interval-ms", "50"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("timed out").and(predicate::str::contains("pending")));
    server
        .cmd(["tasks", "wait", "01a22037-aec9-7434-83c0-000000000000"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("404"));
}
