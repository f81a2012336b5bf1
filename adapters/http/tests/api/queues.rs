use durable_domain::command::NewQueue;
use durable_domain::{CleanupPolicy, NotFound, Queue, QueueStats, Rejection};
use durable_ports::{MockService, ServiceError};
use serde_json::json;

use crate::fixtures::{NOW, NOW_TEXT, queue_name};
use crate::harness::{app, delete, get, post, untouched};

fn queue(name: &str) -> Queue {
    Queue {
        name: queue_name(name),
        created_at: NOW,
        cleanup: CleanupPolicy { task_ttl_seconds: 60, event_ttl_seconds: 0 },
        flow: Default::default(),
    }
}

#[tokio::test]
async fn list_queues() {
    let mut service = MockService::new();
    service.expect_list_queues().returning(|| Ok(vec![queue("emails"), queue("reports")]));
    let body = get(app(service), "/api/v1/queues").await.ok(200);
    assert_eq!(
        body["queues"][0],
        json!({
            "name": "emails",
            "created_at": NOW_TEXT,
            "cleanup": {"task_ttl_seconds": 60, "event_ttl_seconds": 0},
            "key_concurrency_limit": 1,
            "concurrency_limit": null,
        })
    );
    assert_eq!(body["queues"][1]["name"], "reports");
}

#[tokio::test]
async fn create_queue_passes_name_and_ttls() {
    let mut service = MockService::new();
    service
        .expect_create_queue()
        .withf(|q| {
            *q == NewQueue {
                name: "emails".into(),
                task_ttl_seconds: Some(60),
                event_ttl_seconds: Some(3600),
                ..NewQueue::default()
            }
        })
        .returning(|_| Ok(queue("emails")));
    let body = json!({"name": "emails", "cleanup": {"task_ttl_seconds": 60, "event_ttl_seconds": 3600.0}});
    let body = post(app(service), "/api/v1/queues", body).await.ok(201);
    assert_eq!(body["name"], "emails");
    assert_eq!(body["created_at"], NOW_TEXT);
    assert_eq!(body["cleanup"]["task_ttl_seconds"], 60);
}

#[tokio::test]
async fn create_queue_without_cleanup_leaves_defaults_to_the_engine() {
    let mut service = MockService::new();
    service
        .expect_create_queue()
        .withf(|q| q.task_ttl_seconds.is_none() && q.event_ttl_seconds.is_none())
        .returning(|_| Ok(queue("emails")));
    post(app(service), "/api/v1/queues", json!({"name": "emails"})).await.ok(201);
}

#[tokio::test]
async fn create_queue_rejections() {
    let reply = post(untouched(), "/api/v1/queues", json!({})).await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "name is required");
    let body = json!({"name": "q", "cleanup": {"task_ttl_seconds": -5}});
    let reply = post(untouched(), "/api/v1/queues", body).await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "cleanup.task_ttl_seconds must be a number of seconds >= 0");

    let mut service = MockService::new();
    service.expect_create_queue().returning(|q| Err(Rejection::QueueExists(q.name).into()));
    let reply = post(app(service), "/api/v1/queues", json!({"name": "emails"})).await;
    assert_eq!(reply.error(409, "CONFLICT"), "queue \"emails\" already exists");
}

#[tokio::test]
async fn delete_queue_answers_204_and_passes_force() {
    for (uri, force) in [
        ("/api/v1/queues/emails", false),
        ("/api/v1/queues/emails?force=true", true),
        ("/api/v1/queues/emails?force=false", false),
    ] {
        let mut service = MockService::new();
        service
            .expect_delete_queue()
            .withf(move |name, f| name == "emails" && *f == force)
            .times(1)
            .returning(|_, _| Ok(()));
        let reply = delete(app(service), uri).await;
        assert_eq!(reply.status.as_u16(), 204, "{uri}");
        assert!(reply.bytes.is_empty());
    }
    let reply = delete(untouched(), "/api/v1/queues/emails?force=yes").await;
    assert_eq!(reply.error(400, "VALIDATION_ERROR"), "force must be true or false");
}

#[tokio::test]
async fn delete_queue_conflict_and_not_found() {
    let mut service = MockService::new();
    service.expect_delete_queue().returning(|name, _| Err(Rejection::QueueNotEmpty(name).into()));
    delete(app(service), "/api/v1/queues/emails").await.error(409, "CONFLICT");

    let mut service = MockService::new();
    service
        .expect_delete_queue()
        .returning(|name, _| Err(ServiceError::NotFound(durable_domain::NotFound::Queue(name))));
    let reply = delete(app(service), "/api/v1/queues/nope").await;
    assert_eq!(reply.error(404, "NOT_FOUND"), "queue \"nope\" not found");
}

#[tokio::test]
async fn queue_stats() {
    let mut service = MockService::new();
    service.expect_queue_stats().withf(|name| name == "emails").returning(|_| {
        Ok(QueueStats {
            queue_name: queue_name("emails"),
            pending_runs: 4,
            claimed_runs: 3,
            completed_runs: 2,
            sleeping_runs: 1,
            failed_runs: 0,
            oldest_pending_run_age_seconds: None,
        })
    });
    let body = get(app(service), "/api/v1/queues/emails/stats").await.ok(200);
    assert_eq!(
        body,
        json!({
            "queue_name": "emails", "pending_runs": 4, "claimed_runs": 3, "completed_runs": 2,
            "oldest_pending_run_age_seconds": null, "sleeping_runs": 1, "failed_runs": 0,
        })
    );
}

/// Names hold any text; in a path they arrive percent-encoded (a `/` as
/// `%2F` stays inside its segment) and reach the service decoded.
#[tokio::test]
async fn percent_encoded_names_reach_every_queue_path_decoded() {
    let names = [("emails%3Ahigh", "emails:high"), ("billing%2Feu", "billing/eu"), ("t%C3%A2ches", "tâches")];
    for (encoded, name) in names {
        let missing = |n: String| -> ServiceError { NotFound::Queue(n).into() };
        let mut service = MockService::new();
        service.expect_delete_queue().withf(move |n, _| n == name).times(1).returning(|_, _| Ok(()));
        service.expect_queue_stats().withf(move |n| n == name).times(1).returning(move |n| Err(missing(n)));
        service.expect_create_task().withf(move |n, _| n == name).times(1).returning(move |n, _| Err(missing(n)));
        service.expect_create_tasks().withf(move |n, _| n == name).times(1).returning(move |n, _| Err(missing(n)));
        service.expect_claim().withf(move |n, _| n == name).times(1).returning(move |n, _| Err(missing(n)));
        let app = app(service);
        let base = format!("/api/v1/queues/{encoded}");
        let not_found = format!("queue \"{name}\" not found");
        assert_eq!(delete(app.clone(), &base).await.status.as_u16(), 204, "{name}");
        assert_eq!(get(app.clone(), &format!("{base}/stats")).await.error(404, "NOT_FOUND"), not_found);
        let task = json!({"task_name": "t"});
        assert_eq!(post(app.clone(), &format!("{base}/tasks"), task.clone()).await.error(404, "NOT_FOUND"), not_found);
        let batch = json!({"tasks": [task]});
        assert_eq!(post(app.clone(), &format!("{base}/tasks/batch"), batch).await.error(404, "NOT_FOUND"), not_found);
        let claim = json!({"limit": 1, "claim_timeout": 5});
        assert_eq!(post(app, &format!("{base}/tasks/claim"), claim).await.error(404, "NOT_FOUND"), not_found);
    }
}

#[tokio::test]
async fn a_path_that_is_not_utf8_names_the_parameter() {
    let reply = get(untouched(), "/api/v1/queues/%FF/stats").await;
    assert!(reply.error(400, "VALIDATION_ERROR").contains("queue_name"));
}
