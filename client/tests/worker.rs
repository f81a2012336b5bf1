//! The worker runtime against a local stub: claiming, reporting, heartbeats,
//! lost claims, concurrency and shutdown.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Reply, Stub, TASK, client};
use durable_client::{TaskError, Worker};
use serde_json::{Value, json};

fn run(n: u8) -> String {
    format!("0192b9d4-5e3a-7f00-8000-0000000001{n:02}")
}

fn claimed(n: u8, task_name: &str) -> Value {
    json!({"run_id": run(n), "task_id": TASK, "attempt": 1, "task_name": task_name, "params": {"n": n},
           "headers": {}, "retry_strategy": null, "max_attempts": 1})
}

/// Answers the outcomes a claim carries, as the server does when asked.
fn carried(body: &Value) -> Value {
    let items = |key: &str| body.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
    let mut answer = json!({});
    if body.get("complete").is_some() {
        let done: Vec<_> =
            items("complete").iter().map(|c| json!({"run_id": c["run_id"], "status": "completed"})).collect();
        answer["completed"] = json!(done);
    }
    if body.get("fail").is_some() {
        let failed: Vec<_> =
            items("fail").iter().map(|f| json!({"run_id": f["run_id"], "status": "failed", "attempt": 1})).collect();
        answer["failed"] = json!(failed);
    }
    answer
}

/// Hands out `first` on the first claim and nothing afterwards (after a
/// short wait, like a long poll); accepts every report, on its own or
/// carried by a claim.
fn serving(first: Vec<Value>, heartbeat: u16) -> impl Fn(&common::Recorded, usize) -> Reply + Send + Sync {
    move |r, n| {
        let action = r.path.rsplit('/').next().unwrap_or_default();
        let run_id = r.path.split('/').nth(4).unwrap_or_default();
        match action {
            "claim" => {
                let mut answer = carried(&r.body);
                answer["tasks"] = if n == 0 { json!(first) } else { json!([]) };
                let reply = Reply::json(200, answer);
                if n == 0 { reply } else { reply.after(Duration::from_millis(30)) }
            }
            "complete" => Reply::json(200, json!({"run_id": run_id, "status": "completed"})),
            "fail" => Reply::json(200, json!({"run_id": run_id, "status": "failed", "attempt": 1})),
            "heartbeat" if heartbeat == 200 => {
                Reply::json(200, json!({"run_id": run_id, "claim_expires_at": "2030-01-01T00:00:00Z"}))
            }
            "heartbeat" => Reply::error(heartbeat, "CONFLICT", "claim lost"),
            _ => Reply::error(500, "INTERNAL_ERROR", "unexpected"),
        }
    }
}

/// Every `kind` ("complete" or "fail") report the stub received, as
/// (run id, body of the report), whether sent on its own or with a claim.
fn reports(stub: &Stub, kind: &str) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for r in stub.requests() {
        if r.path.ends_with(&format!("/{kind}")) {
            found.push((r.path.split('/').nth(4).unwrap_or_default().to_owned(), r.body));
        } else if r.path.ends_with("/claim") {
            for item in r.body.get(kind).and_then(Value::as_array).into_iter().flatten() {
                let mut item = item.clone();
                let run_id = item.as_object_mut().and_then(|o| o.remove("run_id"));
                found.push((run_id.and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(), item));
            }
        }
    }
    found
}

/// Resolves once `condition` holds; panics after 5 s so a bug cannot hang the suite.
async fn until(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "condition not reached in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn completes_claimed_tasks_with_the_handler_result() {
    let stub = Stub::start(serving(vec![claimed(1, "t")], 200)).await;
    Worker::new(client(&stub).build().unwrap(), "q")
        .concurrency(2)
        .claim_timeout(Duration::from_secs(30))
        .long_poll_seconds(5)
        .worker_id("w1")
        .handler(|task| async move { Ok(json!({"got": task.params})) })
        .run_until(until(|| reports(&stub, "complete").len() == 1))
        .await
        .unwrap();
    let requests = stub.requests();
    assert_eq!(requests[0].path, "/api/v1/queues/q/tasks/claim");
    assert_eq!(requests[0].body, json!({"limit": 2, "claim_timeout": 30, "long_poll_seconds": 5, "worker_id": "w1"}));
    assert_eq!(reports(&stub, "complete"), vec![(run(1), json!({"result": {"got": {"n": 1}}}))]);
}

#[tokio::test]
async fn errors_and_panics_fail_the_run_and_suspensions_report_nothing() {
    let tasks = vec![claimed(1, "fail"), claimed(2, "panic"), claimed(3, "sleep")];
    let stub = Stub::start(serving(tasks, 200)).await;
    Worker::new(client(&stub).build().unwrap(), "q")
        .concurrency(3)
        .handler(|task| async move {
            match task.task_name.as_str() {
                "fail" => Err(TaskError::from("boom")),
                "panic" => panic!("handler bug"),
                _ => Err(TaskError::Suspended),
            }
        })
        .run_until(until(|| reports(&stub, "fail").len() == 2))
        .await
        .unwrap();
    let failed = reports(&stub, "fail");
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed.contains(&(run(1), json!({"error": "boom"}))));
    assert!(failed.contains(&(run(2), json!({"error": "handler panicked"}))));
    assert_eq!(reports(&stub, "complete"), vec![], "the suspended run reports nothing");
}

#[tokio::test]
async fn long_running_handlers_heartbeat_at_half_the_claim_timeout() {
    let stub = Stub::start(serving(vec![claimed(1, "slow")], 200)).await;
    Worker::new(client(&stub).build().unwrap(), "q")
        .claim_timeout(Duration::from_millis(200))
        .handler(|_task| async {
            tokio::time::sleep(Duration::from_millis(450)).await;
            Ok(Value::Null)
        })
        .run_until(until(|| reports(&stub, "complete").len() == 1))
        .await
        .unwrap();
    let heartbeats: Vec<_> = stub.requests().into_iter().filter(|r| r.path.ends_with("/heartbeat")).collect();
    assert!((2..=5).contains(&heartbeats.len()), "{} heartbeats", heartbeats.len());
    assert_eq!(heartbeats[0].path, format!("/api/v1/runs/{}/heartbeat", run(1)));
    assert_eq!(heartbeats[0].body, json!({"extend_by_seconds": 1}));
    let claim = &stub.requests()[0];
    assert_eq!(claim.body["claim_timeout"], json!(1), "sub-second claims round up to 1 s on the wire");
}

#[tokio::test]
async fn a_lost_claim_abandons_the_handler_without_reporting() {
    let stub = Stub::start(serving(vec![claimed(1, "slow")], 409)).await;
    let started = Instant::now();
    Worker::new(client(&stub).build().unwrap(), "q")
        .claim_timeout(Duration::from_millis(100))
        .handler(|_task| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(Value::Null)
        })
        .run_until(until(|| stub.count("POST", "/heartbeat") == 1))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "the 30 s handler was abandoned");
    assert_eq!(reports(&stub, "complete").len() + reports(&stub, "fail").len(), 0);
}

#[tokio::test]
async fn shutdown_waits_for_running_handlers_to_report() {
    let stub = Stub::start(serving(vec![claimed(1, "t")], 200)).await;
    let started = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&started);
    Worker::new(client(&stub).build().unwrap(), "q")
        .concurrency(1)
        .handler(move |_task| {
            let flag = Arc::clone(&flag);
            async move {
                flag.store(true, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(150)).await;
                Ok(json!("done"))
            }
        })
        .run_until(until(|| started.load(Ordering::SeqCst)))
        .await
        .unwrap();
    assert_eq!(reports(&stub, "complete").len(), 1, "reported before run_until returned");
    assert_eq!(stub.count("POST", "/claim"), 1, "the only permit was busy until shutdown");
}

#[tokio::test]
async fn runs_up_to_concurrency_handlers_at_once() {
    let stub = Stub::start(serving(vec![claimed(1, "t"), claimed(2, "t"), claimed(3, "t")], 200)).await;
    let current = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (c, p) = (Arc::clone(&current), Arc::clone(&peak));
    Worker::new(client(&stub).build().unwrap(), "q")
        .concurrency(3)
        .handler(move |_task| {
            let (current, peak) = (Arc::clone(&c), Arc::clone(&p));
            async move {
                let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                current.fetch_sub(1, Ordering::SeqCst);
                Ok(Value::Null)
            }
        })
        .run_until(until(|| reports(&stub, "complete").len() == 3))
        .await
        .unwrap();
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    assert_eq!(stub.requests()[0].body["limit"], json!(3));
}

#[tokio::test]
async fn a_fatal_claim_error_stops_the_worker() {
    let stub = Stub::start(|_, _| Reply::error(404, "NOT_FOUND", "queue \"q\" not found")).await;
    let err = Worker::new(client(&stub).build().unwrap(), "q")
        .handler(|_task| async { Ok(Value::Null) })
        .run_until(std::future::pending())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn transient_claim_errors_are_retried_after_a_backoff() {
    let inner = serving(vec![claimed(1, "t")], 200);
    let stub = Stub::start(move |r, n| {
        if r.path.ends_with("/claim") && n == 0 {
            Reply::error(503, "UNAVAILABLE", "storage down")
        } else {
            inner(r, n.saturating_sub(usize::from(r.path.ends_with("/claim"))))
        }
    })
    .await;
    Worker::new(client(&stub).build().unwrap(), "q")
        .handler(|_task| async { Ok(Value::Null) })
        .run_until(until(|| reports(&stub, "complete").len() == 1))
        .await
        .unwrap();
    assert!(stub.count("POST", "/claim") >= 2);
}

#[tokio::test]
async fn outcomes_of_a_busy_worker_ride_on_its_next_claim() {
    let stub = Stub::start(|r, n| {
        let mut answer = carried(&r.body);
        answer["tasks"] = match n {
            0 => json!([claimed(1, "t")]),
            1 => json!([claimed(2, "t")]),
            _ => json!([]),
        };
        Reply::json(200, answer).after(Duration::from_millis(if n > 1 { 30 } else { 0 }))
    })
    .await;
    Worker::new(client(&stub).build().unwrap(), "q")
        .concurrency(1)
        .claim_timeout(Duration::from_secs(30))
        .handler(|task| async move { Ok(json!(task.params["n"])) })
        .run_until(until(|| reports(&stub, "complete").len() == 2))
        .await
        .unwrap();
    let claims: Vec<_> = stub.requests().into_iter().filter(|r| r.path.ends_with("/claim")).collect();
    // The only permit is busy until run 1 ends, so the next claim carries it
    // and, carrying it, does not long-poll.
    assert_eq!(claims[1].body["complete"], json!([{"run_id": run(1), "result": 1}]));
    assert_eq!(claims[1].body.get("long_poll_seconds"), None);
    assert_eq!(reports(&stub, "complete")[1], (run(2), json!({"result": 2})));
    assert_eq!(stub.count("POST", "/complete"), 0, "nothing was reported on its own");
}

#[tokio::test]
async fn a_server_that_ignores_carried_outcomes_gets_them_one_by_one() {
    let stub = Stub::start(|r, n| {
        let action = r.path.rsplit('/').next().unwrap_or_default();
        match (action, n) {
            ("claim", 0) => Reply::json(200, json!({"tasks": [claimed(1, "t")]})),
            ("claim", 1) => Reply::json(200, json!({"tasks": [claimed(2, "t")]})),
            ("claim", _) => Reply::json(200, json!({"tasks": []})).after(Duration::from_millis(30)),
            _ => Reply::json(200, json!({"run_id": r.path.split('/').nth(4), "status": "completed"})),
        }
    })
    .await;
    Worker::new(client(&stub).build().unwrap(), "q")
        .concurrency(1)
        .handler(|_task| async { Ok(Value::Null) })
        .run_until(until(|| stub.count("POST", "/complete") == 2))
        .await
        .unwrap();
    let claims: Vec<_> = stub.requests().into_iter().filter(|r| r.path.ends_with("/claim")).collect();
    assert!(claims[1].body.get("complete").is_some(), "the first carried outcome was offered");
    assert!(claims[2..].iter().all(|c| c.body.get("complete").is_none()), "and then no more");
    let direct: Vec<_> =
        stub.requests().into_iter().filter(|r| r.path.ends_with("/complete")).map(|r| r.path).collect();
    assert_eq!(direct, vec![format!("/api/v1/runs/{}/complete", run(1)), format!("/api/v1/runs/{}/complete", run(2))]);
}
