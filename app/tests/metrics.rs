//! `GET /metrics` on the real server (memory store): after a known sequence
//! of API calls every counter has moved by exactly what happened, and the
//! depth gauges show the queue as it is after a refresh.

use std::time::Duration;

use durable_app::server::{self, Server, Settings};
use reqwest::StatusCode;
use serde_json::{Value, json};

const QUEUE: &str = r#"queue="emails""#;

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self.http.post(format!("{}/api/v1{path}", self.base)).json(&body).send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Posts and expects `status`; returns the body.
    async fn ok(&self, path: &str, body: Value, status: u16) -> Value {
        let (got, body) = self.post(path, body).await;
        assert_eq!(got.as_u16(), status, "POST {path}: {body}");
        body
    }

    async fn claim(&self, limit: u32, long_poll: bool) -> Vec<Value> {
        let mut request = json!({"limit": limit, "claim_timeout": 3600, "worker_id": "w1"});
        if long_poll {
            request["long_poll_seconds"] = json!(5);
        }
        let body = self.ok("/queues/emails/tasks/claim", request, 200).await;
        body["tasks"].as_array().unwrap().clone()
    }

    async fn scrape(&self) -> Scrape {
        let response = self.http.get(format!("{}/metrics", self.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        Scrape(response.text().await.unwrap())
    }
}

struct Scrape(String);

impl Scrape {
    /// The value of one exact series; a series never touched is 0.
    fn get(&self, name: &str, labels: &str) -> f64 {
        let series = if labels.is_empty() { name.to_owned() } else { format!("{name}{{{labels}}}") };
        self.0.lines().find_map(|line| line.strip_prefix(&series)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
    }

    fn runs(&self, state: &str) -> f64 {
        self.get("durable_runs", &format!(r#"{QUEUE},state="{state}""#))
    }
}

async fn start() -> (Server, Api) {
    // The refresher reads once at start and then not for an hour: the test
    // refreshes when it wants a reading, so the gauges are deterministic.
    let settings = Settings { metrics_interval_ms: 3_600_000, ..Settings::default() };
    let server = server::start(&settings).await.expect("server starts");
    let api = Api { http: reqwest::Client::new(), base: server.base_url() };
    (server, api)
}

fn task(name: &str) -> Value {
    json!({"task_name": name})
}

#[tokio::test]
async fn counters_and_gauges_follow_a_task_cycle() {
    let (server, api) = start().await;
    let before = api.scrape().await;
    assert_eq!(before.get("durable_tasks_created_total", QUEUE), 0.0);
    assert_eq!(before.get("durable_runs_completed_total", ""), 0.0);

    api.ok("/queues", json!({"name": "emails"}), 201).await;
    // A, B, C, F due now, in this order; D an hour from now.
    let retrying =
        json!({"task_name": "b", "max_attempts": 2, "retry_strategy": {"kind": "fixed", "base_seconds": 3600}});
    api.ok("/queues/emails/tasks/batch", json!({"tasks": [task("a"), retrying, task("c"), task("f")]}), 201).await;
    let in_an_hour = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let later =
        json!({"task_name": "d", "run_at": in_an_hour.format(&time::format_description::well_known::Rfc3339).unwrap()});
    api.ok("/queues/emails/tasks", later, 201).await;

    let first = api.claim(2, false).await;
    assert_eq!(names(&first), ["a", "b"]);
    let second = api.claim(2, true).await;
    assert_eq!(names(&second), ["c", "f"]);

    // A completes; B fails and retries in an hour; C sleeps on an event; F stays claimed.
    api.ok(&format!("/runs/{}/complete", first[0]["run_id"].as_str().unwrap()), json!({}), 200).await;
    let failed =
        api.ok(&format!("/runs/{}/fail", first[1]["run_id"].as_str().unwrap()), json!({"error": "smtp"}), 200).await;
    assert!(failed["next_run_id"].is_string(), "{failed}");
    let c = &second[0];
    let wait =
        json!({"event_name": "approved", "timeout_seconds": 3600, "task_id": c["task_id"], "step_name": "approval"});
    api.ok(&format!("/runs/{}/wait-for-event", c["run_id"].as_str().unwrap()), wait, 202).await;
    // E is due now; its duplicate (same idempotency key) creates nothing.
    let e = json!({"task_name": "e", "idempotency_key": "e-1"});
    api.ok("/queues/emails/tasks", e.clone(), 201).await;
    api.ok("/queues/emails/tasks", e, 200).await;
    // An event nobody waits for.
    api.ok("/events", json!({"event_name": "unrelated"}), 201).await;

    server.engine().refresh_gauges().await.unwrap();
    let after = api.scrape().await;
    assert_eq!(after.get("durable_tasks_created_total", QUEUE), 6.0, "{}", after.0);
    assert_eq!(after.get("durable_runs_claimed_total", QUEUE), 4.0);
    assert_eq!(after.get("durable_claim_batch_size_count", QUEUE), 2.0);
    assert_eq!(after.get("durable_claim_batch_size_sum", QUEUE), 4.0);
    assert_eq!(after.get("durable_claim_latency_seconds_count", QUEUE), 4.0);
    assert_eq!(after.get("durable_long_poll_wait_seconds_count", ""), 1.0);
    assert_eq!(after.get("durable_runs_completed_total", ""), 1.0);
    assert_eq!(after.get("durable_runs_failed_total", QUEUE), 1.0);
    assert_eq!(after.get("durable_runs_retried_total", QUEUE), 1.0);
    assert_eq!(after.get("durable_events_emitted_total", ""), 1.0);
    assert_eq!(after.get("durable_wakeups_total", ""), 0.0);
    assert_eq!(after.get("durable_claims_expired_total", ""), 0.0);
    let claims = r#"method="POST",route="/api/v1/queues/{queue_name}/tasks/claim",status="200""#;
    assert_eq!(after.get("durable_http_request_duration_seconds_count", claims), 2.0);

    assert_eq!(after.runs("pending_due"), 1.0, "E");
    assert_eq!(after.runs("pending_scheduled"), 2.0, "D and B's retry");
    assert_eq!(after.runs("claimed"), 1.0, "F");
    assert_eq!(after.runs("sleeping"), 1.0, "C");
    let lag = after.get("durable_oldest_pending_age_seconds", QUEUE);
    assert!((0.0..60.0).contains(&lag), "{lag}");

    // The event C waits for wakes it: one more wake-up, and C is due again.
    api.ok("/events", json!({"event_name": "approved", "payload": {"ok": true}}), 201).await;
    server.engine().refresh_gauges().await.unwrap();
    let woken = api.scrape().await;
    assert_eq!(woken.get("durable_events_emitted_total", ""), 2.0);
    assert_eq!(woken.get("durable_wakeups_total", ""), 1.0);
    assert_eq!(woken.runs("sleeping"), 0.0);
    assert_eq!(woken.runs("pending_due"), 2.0);
    // Scraping is not counted as work, and counters did not move meanwhile.
    assert_eq!(woken.get("durable_tasks_created_total", QUEUE), 6.0);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn requests_are_timed_by_route_template_never_by_raw_path() {
    let (server, api) = start().await;
    for _ in 0..2 {
        let id = uuid_like();
        let response = api.http.get(format!("{}/api/v1/tasks/{id}", api.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    api.http.get(format!("{}/no/such/route", api.base)).send().await.unwrap();
    let scrape = api.scrape().await;
    let by_template = r#"method="GET",route="/api/v1/tasks/{task_id}",status="404""#;
    assert_eq!(scrape.get("durable_http_request_duration_seconds_count", by_template), 2.0, "{}", scrape.0);
    let unmatched = r#"method="GET",route="unmatched",status="404""#;
    assert_eq!(scrape.get("durable_http_request_duration_seconds_count", unmatched), 1.0);
    assert!(!scrape.0.contains("/no/such/route"), "raw paths never become labels");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_wrong_method_on_metrics_gets_the_json_405() {
    let (server, api) = start().await;
    let response = api.http.post(format!("{}/metrics", api.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "METHOD_NOT_ALLOWED", "{body}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_refresher_updates_gauges_on_its_own() {
    let settings = Settings { metrics_interval_ms: 20, ..Settings::default() };
    let server = server::start(&settings).await.expect("server starts");
    let api = Api { http: reqwest::Client::new(), base: server.base_url() };
    api.ok("/queues", json!({"name": "emails"}), 201).await;
    api.ok("/queues/emails/tasks", task("a"), 201).await;
    // Bounded: a few refresh intervals, well under a second.
    let mut seen = 0.0;
    for _ in 0..100 {
        seen = api.scrape().await.runs("pending_due");
        if seen == 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen, 1.0);
    server.shutdown().await.unwrap();
}

fn names(claimed: &[Value]) -> Vec<&str> {
    claimed.iter().map(|t| t["task_name"].as_str().unwrap()).collect()
}

/// A task id no task has, distinct per call, so requests differ in raw path.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("01a22033-099a-728a-a823-{:012x}", NEXT.fetch_add(1, Ordering::Relaxed))
}
