//! `durablectl runs …` against a real server.

mod common;

use common::{TestServer, field, header, string};
use predicates::prelude::*;
use serde_json::json;

#[test]
fn list_in_both_formats_with_filters() {
    let server = TestServer::start();
    server.queue("q");
    let (task, _) = server.task("q", "t", &["--max-attempts", "2", "--retry-delay", "0"]);
    let (_, first_run) = server.claim("q");
    server.json(["runs", "fail", &first_run, "--error", "flaky"]);
    server.task("q", "other", &[]);

    let runs = server.json(["runs", "list", "--task", &task]);
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["attempt"], 2);
    assert_eq!(runs[0]["status"], "pending");
    assert_eq!(runs[1]["id"], first_run.as_str());
    assert_eq!(runs[1]["status"], "failed");
    assert_eq!(runs[1]["error"], "flaky");
    assert!(runs[1]["completed_at"].is_string());

    let failed = server.json(["runs", "list", "--status", "failed"]);
    assert_eq!(failed["runs"].as_array().unwrap().len(), 1);
    let all = server.json(["runs", "list", "--limit", "1", "--all"]);
    assert_eq!(all["runs"].as_array().unwrap().len(), 3);
    let page = server.json(["runs", "list", "--limit", "2"]);
    assert!(page["next_cursor"].is_string());

    let text = server.table(["runs", "list", "--task", &task]);
    assert_eq!(header(&text), ["ID", "TASK ID", "ATTEMPT", "STATUS", "CREATED", "COMPLETED", "ERROR"]);
    let failed_row = text.lines().find(|l| l.starts_with(&first_run)).unwrap();
    assert!(failed_row.contains("failed") && failed_row.ends_with("flaky"), "{failed_row}");
}

#[test]
fn complete_in_both_formats() {
    let server = TestServer::start();
    server.queue("q");
    let (task, _) = server.task("q", "a", &[]);
    let (_, run) = server.claim("q");
    let done = server.json(["runs", "complete", &run, "--result", r#"{"n": 42}"#]);
    assert_eq!(done, json!({"run_id": run, "status": "completed"}));
    assert_eq!(server.json(["tasks", "get", &task])["result"], json!({"n": 42}));

    server.task("q", "b", &[]);
    let (_, run) = server.claim("q");
    let text = server.table(["runs", "complete", &run]);
    assert_eq!(field(&text, "run"), run);
    assert_eq!(field(&text, "status"), "completed");

    // Completing it again: the run is no longer claimed.
    server.cmd(["runs", "complete", &run]).assert().code(1).stderr(predicate::str::contains("409 CONFLICT"));
}

#[test]
fn complete_rejects_bad_json_locally() {
    let server = TestServer::start();
    server.queue("q");
    let (task, _) = server.task("q", "a", &[]);
    let (_, run) = server.claim("q");
    server
        .cmd(["runs", "complete", &run, "--result", "{oops"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: --result is not valid JSON"));
    // The run is still claimed: nothing was sent.
    assert_eq!(server.json(["runs", "list", "--task", &task])["runs"][0]["status"], "claimed");
}

#[test]
fn fail_in_both_formats() {
    let server = TestServer::start();
    server.queue("q");
    server.task("q", "t", &["--max-attempts", "2", "--retry-delay", "0"]);
    let (_, run) = server.claim("q");
    let failed = server.json(["runs", "fail", &run, "--error", "first"]);
    assert_eq!(failed["run_id"], run.as_str());
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["attempt"], 1);
    assert!(failed["next_run_id"].is_string());
    assert!(failed["next_attempt_at"].is_string());

    let (_, run) = server.claim("q");
    let text = server.table(["runs", "fail", &run, "--error", "second"]);
    assert_eq!(field(&text, "status"), "failed");
    assert_eq!(field(&text, "attempt"), "2");
    assert!(field(&text, "next run").starts_with("none"), "{text}");

    server.cmd(["runs", "fail", &run]).assert().code(2);
}

#[test]
fn schedule_in_both_formats() {
    let server = TestServer::start();
    server.queue("q");
    let (_, run) = server.task("q", "t", &[]);
    let scheduled = server.json(["runs", "schedule", &run, "--at", "2999-01-02T03:04:05Z"]);
    assert_eq!(scheduled["run_id"], run.as_str());
    assert!(string(&scheduled["scheduled_at"]).starts_with("2999-01-02T03:04:05"));
    assert_eq!(server.json(["tasks", "claim", "--queue", "q"])["tasks"], json!([]));

    let text = server.table(["runs", "schedule", &run, "--at", "+30s"]);
    assert_eq!(field(&text, "run"), run);
    assert!(field(&text, "scheduled at").ends_with('Z'), "{text}");

    server.cmd(["runs", "schedule", &run, "--at", "soon"]).assert().code(2);
}

#[test]
fn heartbeat_in_both_formats() {
    let server = TestServer::start();
    server.queue("q");
    server.task("q", "t", &[]);
    let (_, run) = server.claim("q");
    let beat = server.json(["runs", "heartbeat", &run, "--extend", "600"]);
    assert_eq!(beat["run_id"], run.as_str());
    assert!(beat["claim_expires_at"].is_string());
    let text = server.table(["runs", "heartbeat", &run, "--extend", "60"]);
    assert!(!field(&text, "claim expires").is_empty());

    server.json(["runs", "complete", &run]);
    server
        .cmd(["runs", "heartbeat", &run, "--extend", "60"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("CONFLICT"));
    server.cmd(["runs", "heartbeat", &run, "--extend", "0"]).assert().code(2);
}
