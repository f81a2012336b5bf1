//! (ext) Cron schedules over HTTP with the server's own sweeper: a schedule
//! created with the client fires its task, the task names schedule and tick,
//! and bad bodies are 400 naming the field, unknown names 404, duplicates 409.

use std::time::Duration;

use durable_client::{CatchUp, CreateSchedule, CreateTask, ErrorCode, UpdateSchedule};
use durable_tests::server::TestServer;
use serde_json::{Value, json};

use crate::support::{Harness, claim_one, eventually, expect_api_error, raw, read};

#[tokio::test(flavor = "multi_thread")]
async fn a_schedule_fires_its_task_on_every_tick_named_by_headers() {
    let h = Harness::postgres().await;
    h.queue("reports").await;
    let body = CreateSchedule {
        name: "every-second".into(),
        queue_name: "reports".into(),
        cron: "* * * * * *".into(),
        timezone: Some("Europe/Berlin".into()),
        task: CreateTask { params: Some(json!({"kind": "daily"})), ..CreateTask::new("report") },
        catch_up: Some(CatchUp::Skip),
        paused: None,
    };
    let created = h.client.create_schedule(&body).await.unwrap();
    assert_eq!(created.next_fire_times.len(), 5);
    assert_eq!((created.timezone.as_str(), created.catch_up), ("Europe/Berlin", CatchUp::Skip));

    let claimed = claim_one(&h.client, "reports", Duration::from_secs(10)).await;
    assert_eq!(claimed.task_name, "report");
    assert_eq!(claimed.params, json!({"kind": "daily"}));
    let task = h.client.get_task(claimed.task_id).await.unwrap();
    let headers = task.headers.clone();
    assert_eq!(headers.get("durable-schedule").map(String::as_str), Some("every-second"));
    let tick = headers.get("durable-tick").expect("the tick header").clone();
    assert!(tick.ends_with('Z'), "{tick}");

    let fired = eventually("the schedule to record its last tick", Duration::from_secs(10), || async {
        let s = h.client.get_schedule("every-second").await.unwrap();
        s.last_task_id.map(|_| s)
    })
    .await;
    assert!(fired.last_tick.is_some());

    let paused = h.client.pause_schedule("every-second").await.unwrap();
    assert!(paused.paused && paused.next_fire_times.is_empty());
    // That a paused schedule fires nothing is checked on the manual clock,
    // on every store (conformance `a_paused_schedule_fires_nothing_…`).

    let listed = h.client.list_schedules().await.unwrap();
    assert_eq!(listed.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), vec!["every-second"]);
    let update = UpdateSchedule { cron: Some("@daily".into()), paused: Some(false), ..UpdateSchedule::default() };
    let daily = h.client.update_schedule("every-second", &update).await.unwrap();
    assert_eq!((daily.cron.as_str(), daily.paused), ("@daily", false));
    h.client.delete_schedule("every-second").await.unwrap();
    let gone = h.client.get_schedule("every-second").await;
    expect_api_error(gone, 404, ErrorCode::NotFound);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_schedules_are_400_naming_the_field_404_and_409() {
    let h = Harness::with(TestServer::memory().await);
    h.queue("q").await;
    let valid = json!({"name": "s", "queue_name": "q", "cron": "@hourly", "task": {"task_name": "t"}});
    let with = |key: &str, value: Value| {
        let mut body = valid.clone();
        body[key] = value;
        body
    };
    let cases = [
        (with("cron", json!("61 * * * *")), "cron"),
        (with("cron", json!(5)), "cron"),
        (with("timezone", json!("Mars/Base")), "timezone"),
        (with("catch_up", json!("sometimes")), "catch_up"),
        (with("name", json!("")), "name"),
        (with("task", json!({"task_name": "t", "idempotency_key": "k"})), "task.idempotency_key"),
        (with("task", json!({"task_name": "t", "run_at": "2030-01-01T00:00:00Z"})), "task.run_at"),
        (with("task", json!({"task_name": ""})), "task.task_name"),
        (with("task", json!({})), "task.task_name"),
        (with("paused", json!("yes")), "paused"),
    ];
    for (body, field) in cases {
        let response = read(raw().post(h.api("/schedules")).json(&body).send().await.unwrap()).await;
        assert_eq!(response.status, 400, "{body}: {}", response.text);
        assert!(response.text.contains(field), "{body}: the error names {field}: {}", response.text);
    }
    let mut missing = valid.clone();
    missing.as_object_mut().unwrap().remove("task");
    let response = read(raw().post(h.api("/schedules")).json(&missing).send().await.unwrap()).await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert!(response.text.contains("task"), "{}", response.text);

    let unknown_queue =
        read(raw().post(h.api("/schedules")).json(&with("queue_name", json!("nope"))).send().await.unwrap()).await;
    assert_eq!(unknown_queue.status, 404, "{}", unknown_queue.text);
    let first = read(raw().post(h.api("/schedules")).json(&valid).send().await.unwrap()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.json["task"]["task_name"], "t");
    assert_eq!(first.json["catch_up"], "one");
    assert_eq!(first.json["timezone"], "UTC");
    let again = read(raw().post(h.api("/schedules")).json(&valid).send().await.unwrap()).await;
    assert_eq!(again.status, 409, "{}", again.text);
    let patch =
        read(raw().patch(h.api("/schedules/s")).json(&json!({"timezone": "Nowhere"})).send().await.unwrap()).await;
    assert_eq!(patch.status, 400, "{}", patch.text);
    assert!(patch.text.contains("timezone"), "{}", patch.text);
    for path in ["/schedules/unknown", "/schedules/%00"] {
        let got = read(raw().get(h.api(path)).send().await.unwrap()).await;
        assert_eq!(got.status, 404, "{path}: {}", got.text);
    }
    let deleted = read(raw().delete(h.api("/schedules/unknown")).send().await.unwrap()).await;
    assert_eq!(deleted.status, 404);
    h.stop().await;
}
