//! `durablectl checkpoints …`, `events …` and `workflows …` against a real server.

mod common;

use common::{TestServer, field, header, string};
use predicates::prelude::*;
use serde_json::json;

#[test]
fn checkpoints_set_get_list_in_both_formats() {
    let server = TestServer::start();
    server.queue("q");
    let (task, _) = server.task("q", "t", &[]);
    let (_, run) = server.claim("q");

    let written = server.json(["checkpoints", "set", &task, "fetch", "--state", r#"{"page": 3}"#, "--run", &run]);
    assert_eq!(written["task_id"], task.as_str());
    assert_eq!(written["step_name"], "fetch");
    assert!(written["updated_at"].is_string());
    let text =
        server.table(["checkpoints", "set", &task, "render", "--state", r#""done""#, "--run", &run, "--extend", "120"]);
    assert_eq!(field(&text, "step"), "render");

    let got = server.json(["checkpoints", "get", &task, "fetch"]);
    assert_eq!(got["state"], json!({"page": 3}));
    assert_eq!(got["step_name"], "fetch");
    let text = server.table(["checkpoints", "get", &task, "fetch"]);
    assert_eq!(field(&text, "task"), task);
    assert!(text.contains(r#""page": 3"#), "{text}");

    let listed = server.json(["checkpoints", "list", &task]);
    let mut steps: Vec<String> =
        listed["checkpoints"].as_array().unwrap().iter().map(|c| string(&c["step_name"])).collect();
    steps.sort();
    assert_eq!(steps, ["fetch", "render"]);
    let text = server.table(["checkpoints", "list", &task]);
    assert_eq!(header(&text), ["STEP", "UPDATED", "STATE"]);
    assert!(text.contains(r#"{"page":3}"#) && text.contains(r#""done""#), "{text}");

    server.cmd(["checkpoints", "get", &task, "missing"]).assert().code(1).stderr(predicate::str::contains("404"));
}

#[test]
fn checkpoints_set_is_fenced_and_checks_json_locally() {
    let server = TestServer::start();
    server.queue("q");
    let (task, _) = server.task("q", "t", &[]);
    let (_, run) = server.claim("q");
    server
        .cmd(["checkpoints", "set", &task, "s", "--state", "{", "--run", &run])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: --state is not valid JSON"));
    assert_eq!(server.json(["checkpoints", "list", &task])["checkpoints"], json!([]));

    server.json(["runs", "complete", &run]);
    server
        .cmd(["checkpoints", "set", &task, "s", "--state", "1", "--run", &run])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("CONFLICT"));
}

#[test]
fn events_emit_in_both_formats() {
    let server = TestServer::start();
    let emitted = server.json(["events", "emit", "--name", "paid", "--payload", r#"{"amount": 5}"#]);
    assert_eq!(emitted["event_name"], "paid");
    assert_eq!(string(&emitted["event_id"]).len(), 36);
    assert!(emitted["created_at"].is_string());

    let text = server.table(["events", "emit", "--name", "shipped"]);
    assert_eq!(field(&text, "name"), "shipped");
    assert_eq!(field(&text, "event").len(), 36);

    server
        .cmd(["events", "emit", "--name", "x", "--payload", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: --payload is not valid JSON"));
}

#[test]
fn workflows_create_get_list_update_in_both_formats() {
    let server = TestServer::start();
    let created = server.json([
        "workflows",
        "create",
        "--name",
        "onboarding",
        "--version",
        "2",
        "--inputs",
        r#"{"user": 7}"#,
        "--tag",
        "team=growth",
        "env=prod",
        "--created-by",
        "ops",
    ]);
    assert_eq!(created["workflow_name"], "onboarding");
    assert_eq!(created["status"], "pending");
    let id = string(&created["workflow_run_id"]);

    let text = server.table(["workflows", "create", "--name", "billing"]);
    assert_eq!(field(&text, "name"), "billing");
    assert_eq!(field(&text, "status"), "pending");
    let billing = field(&text, "workflow run");

    server.queue("q");
    let (task, _) = server.task("q", "step1", &["--workflow", &id]);

    let got = server.json(["workflows", "get", &id]);
    assert_eq!(got["workflow_run_id"], id.as_str());
    assert_eq!(got["workflow_version"], "2");
    assert_eq!(got["inputs"], json!({"user": 7}));
    assert_eq!(got["tags"], json!({"team": "growth", "env": "prod"}));
    assert_eq!(got["created_by"], "ops");
    assert_eq!(got["tasks"][0]["id"], task.as_str());
    let text = server.table(["workflows", "get", &id]);
    assert_eq!(field(&text, "tags"), "env=prod, team=growth");
    assert!(text.contains("Tasks:") && text.contains(&task), "{text}");

    let updated = server.json([
        "workflows",
        "update",
        &id,
        "--status",
        "completed",
        "--result",
        r"[1, 2]",
        "--started-at",
        "2030-01-01T00:00:00Z",
        "--completed-at",
        "+1m",
    ]);
    assert_eq!(updated["workflow_run_id"], id.as_str());
    assert_eq!(updated["status"], "completed");
    let text = server.table(["workflows", "update", &billing, "--status", "running"]);
    assert_eq!(field(&text, "status"), "running");
    let got = server.json(["workflows", "get", &id]);
    assert_eq!(got["result"], json!([1, 2]));
    assert!(string(&got["started_at"]).starts_with("2030-01-01T00:00:00"));

    let listed = server.json(["workflows", "list"]);
    assert_eq!(listed["workflow_runs"].as_array().unwrap().len(), 2);
    let running = server.json(["workflows", "list", "--status", "running"]);
    assert_eq!(running["workflow_runs"][0]["workflow_run_id"], billing.as_str());
    let named = server.json(["workflows", "list", "--name", "onboarding", "--all"]);
    assert_eq!(named["workflow_runs"].as_array().unwrap().len(), 1);
    let text = server.table(["workflows", "list"]);
    assert_eq!(header(&text), ["ID", "NAME", "VERSION", "STATUS", "CREATED", "UPDATED"]);
    assert!(text.contains("onboarding") && text.contains("billing"), "{text}");
}

#[test]
fn workflow_errors() {
    let server = TestServer::start();
    let missing = "01a22037-aec9-7434-83c0-000000000000";
    server.cmd(["workflows", "get", missing]).assert().code(1).stderr(predicate::str::contains("404"));
    server
        .cmd(["workflows", "update", missing, "--status", "running"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("404"));
    // Nothing to change is a usage error, and so is bad JSON.
    server.cmd(["workflows", "update", missing]).assert().code(2);
    server
        .cmd(["workflows", "update", missing, "--result", "{x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--result is not valid JSON"));
    server
        .cmd(["workflows", "create", "--name", "w", "--inputs", "{x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--inputs is not valid JSON"));
    assert_eq!(server.json(["workflows", "list"])["workflow_runs"], json!([]));
    server.cmd(["queues", "create", "--name", "q"]).assert().success();
    server
        .cmd(["tasks", "create", "--queue", "q", "--name", "t", "--workflow", missing])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("404"));
}
