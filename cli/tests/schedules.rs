//! `durablectl schedules …` against a real server (its sweeper fires them).

mod common;

use std::time::{Duration, Instant};

use common::{TestServer, field, header, string};

#[test]
fn create_list_get_pause_resume_update_delete() {
    let server = TestServer::start();
    server.queue("reports");
    let created = server.json([
        "schedules",
        "create",
        "--name",
        "nightly",
        "--queue",
        "reports",
        "--cron",
        "0 3 * * *",
        "--timezone",
        "Europe/Berlin",
        "--catch-up",
        "skip",
        "--task",
        "report",
        "--params",
        r#"{"kind": "daily"}"#,
        "--header",
        "team=ops",
        "--priority",
        "-2",
    ]);
    assert_eq!(created["name"], "nightly");
    assert_eq!(created["timezone"], "Europe/Berlin");
    assert_eq!(created["catch_up"], "skip");
    assert_eq!(created["task"]["params"]["kind"], "daily");
    assert_eq!(created["task"]["headers"]["team"], "ops");
    assert_eq!(created["task"]["priority"], -2);
    assert_eq!(created["next_fire_times"].as_array().unwrap().len(), 5);
    assert!(string(&created["next_fire_times"][0]).ends_with(":00:00Z"), "{created}");

    let text = server.table(["schedules", "list"]);
    assert_eq!(header(&text), ["NAME", "QUEUE", "CRON", "TIMEZONE", "TASK", "PAUSED", "NEXT TICK", "LAST TICK"]);
    assert!(text.lines().any(|l| l.starts_with("nightly ") && l.contains("0 3 * * *")), "{text}");

    let paused = server.json(["schedules", "pause", "nightly"]);
    assert_eq!((paused["paused"].as_bool(), paused["next_fire_times"].as_array().unwrap().len()), (Some(true), 0));
    let resumed = server.table(["schedules", "resume", "nightly"]);
    assert_eq!(field(&resumed, "paused"), "no");

    let updated = server.json(["schedules", "update", "nightly", "--cron", "@hourly", "--task", "summary"]);
    assert_eq!((updated["cron"].as_str(), updated["task"]["task_name"].as_str()), (Some("@hourly"), Some("summary")));
    assert_eq!(updated["task"]["params"], serde_json::Value::Null, "a new template replaces the old one");
    server
        .cmd(["schedules", "update", "nightly", "--params", "{}"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("--task"));

    server.json(["schedules", "delete", "nightly"]);
    server.cmd(["schedules", "get", "nightly"]).assert().failure().stderr(predicates::str::contains("not found"));
}

#[test]
fn a_schedule_fires_tasks_that_name_it() {
    let server = TestServer::start();
    server.queue("ticks");
    server.json([
        "schedules",
        "create",
        "--name",
        "every-second",
        "--queue",
        "ticks",
        "--cron",
        "* * * * * *",
        "--task",
        "tick",
    ]);
    let deadline = Instant::now() + Duration::from_secs(15);
    let task_id = loop {
        let listed = server.json(["tasks", "list", "--queue", "ticks"]);
        if let Some(task) = listed["tasks"].as_array().unwrap().first() {
            break string(&task["id"]);
        }
        assert!(Instant::now() < deadline, "no task fired within 15 s");
        std::thread::sleep(Duration::from_millis(200));
    };
    let task = server.json(["tasks", "get", &task_id]);
    assert_eq!(task["headers"]["durable-schedule"], "every-second", "{task}");
    assert!(string(&task["headers"]["durable-tick"]).ends_with('Z'), "{task}");
    let schedule = server.json(["schedules", "get", "every-second"]);
    assert!(schedule["last_tick"].is_string(), "{schedule}");
}
