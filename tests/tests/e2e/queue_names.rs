//! Queue names hold any text but control characters (`emails:high`,
//! `billing/eu`, `tâches`): through every queue path of the Rust client,
//! the listings that report a queue, and the Prometheus labels.

use durable_client::{ClaimRequest, CreateQueue, CreateTask, ErrorCode, ListTasks};

use crate::support::{Harness, expect_api_error, raw, read};

const NAMES: &[&str] =
    &["emails:high", "billing/eu", "tâches", "a b?c#d&e=f", "100%", "quote\"back\\slash", "...", "ends/"];

#[tokio::test(flavor = "multi_thread")]
async fn any_name_round_trips_through_every_queue_path() {
    let h = Harness::postgres().await;
    let c = &h.client;
    for &name in NAMES {
        assert_eq!(c.create_queue(&CreateQueue::new(name)).await.unwrap().name, name);
        expect_api_error(c.create_queue(&CreateQueue::new(name)).await, 409, ErrorCode::Conflict);
        let created = c.create_task(name, &CreateTask::new("one")).await.unwrap();
        let batch = c.create_tasks(name, &[CreateTask::new("two")]).await.unwrap();
        let stats = c.queue_stats(name).await.unwrap();
        assert_eq!((stats.queue_name.as_str(), stats.pending_runs), (name, 2));
        let listed = c.list_tasks(&ListTasks::default().queue(name)).await.unwrap().tasks;
        assert_eq!(listed.len(), 2, "{name}");
        assert!(listed.iter().all(|t| t.queue_name == name), "{name}: {listed:?}");
        assert_eq!(c.get_task(created.task_id).await.unwrap().queue_name, name);
        let claimed = c.claim(name, &ClaimRequest::new(10, 60)).await.unwrap();
        assert_eq!(claimed.len(), 2, "{name}");
        assert!(claimed.iter().all(|t| t.queue_name.as_deref() == Some(name)), "{name}");
        expect_api_error(c.delete_queue(name).await, 409, ErrorCode::Conflict);
        for task in claimed {
            c.complete_run(task.run_id, None).await.unwrap();
        }
        assert_eq!(c.get_task(batch[0].task_id).await.unwrap().queue_name, name);
    }
    let mut listed: Vec<String> = c.list_queues().await.unwrap().into_iter().map(|q| q.name).collect();
    listed.sort();
    let mut expected: Vec<String> = NAMES.iter().map(|&n| n.to_owned()).collect();
    expected.sort();
    assert_eq!(listed, expected);
    for &name in NAMES {
        c.delete_queue(name).await.unwrap();
        expect_api_error(c.queue_stats(name).await, 404, ErrorCode::NotFound);
    }
    assert!(c.list_queues().await.unwrap().is_empty());
    h.stop().await;
}

/// A label value is quoted, with `\` and `"` escaped, so any valid name
/// keeps the exposition parseable and reads back as itself.
#[tokio::test(flavor = "multi_thread")]
async fn any_name_is_a_well_formed_metrics_label() {
    let h = Harness::postgres().await;
    let c = &h.client;
    for &name in NAMES {
        c.create_queue(&CreateQueue::new(name)).await.unwrap();
        c.create_task(name, &CreateTask::new("t")).await.unwrap();
    }
    let metrics = read(raw().get(format!("{}/metrics", h.base_url())).send().await.unwrap()).await;
    assert_eq!(metrics.status, 200);
    for &name in NAMES {
        let label = name.replace('\\', "\\\\").replace('"', "\\\"");
        let series = format!("durable_tasks_created_total{{queue=\"{label}\"}} 1");
        assert!(metrics.text.lines().any(|l| l == series), "no {series:?} in\n{}", metrics.text);
    }
    h.stop().await;
}

/// Over raw HTTP: a `/` sent as `%2F` stays inside the name, and a name no
/// queue can have answers 404 on every queue path, like any missing queue.
#[tokio::test(flavor = "multi_thread")]
async fn raw_paths_decode_once_and_impossible_names_are_not_found() {
    let h = Harness::postgres().await;
    h.queue("billing/eu").await;
    h.queue("billing").await;
    let http = raw();
    let stats = read(http.get(h.api("/queues/billing%2Feu/stats")).send().await.unwrap()).await;
    assert_eq!(stats.status, 200, "{}", stats.text);
    assert_eq!(stats.json["queue_name"], "billing/eu");
    // Not percent-encoded, the `/` is a path separator: another route.
    let other = read(http.get(h.api("/queues/billing/eu/stats")).send().await.unwrap()).await;
    other.error(404, "NOT_FOUND");
    for impossible in ["ctl%01", "nul%00", "line%0A"] {
        let stats = read(http.get(h.api(&format!("/queues/{impossible}/stats"))).send().await.unwrap()).await;
        stats.error(404, "NOT_FOUND");
        let body = r#"{"task_name": "x"}"#;
        let created =
            read(http.post(h.api(&format!("/queues/{impossible}/tasks"))).body(body).send().await.unwrap()).await;
        created.error(404, "NOT_FOUND");
    }
    h.stop().await;
}
