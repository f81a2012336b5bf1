//! A tiny HTTP stub on 127.0.0.1:0 that records every request and answers
//! with canned responses, so the client is exercised over real HTTP.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request as the stub saw it.
#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: Value,
}

/// A canned answer.
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub(crate) fn json(status: u16, body: Value) -> Self {
        Self { status, body: body.to_string(), delay: Duration::ZERO }
    }

    pub(crate) fn error(status: u16, code: &str, message: &str) -> Self {
        Self::json(status, serde_json::json!({"error": message, "code": code}))
    }

    pub(crate) fn empty(status: u16) -> Self {
        Self { status, body: String::new(), delay: Duration::ZERO }
    }

    pub(crate) fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Respond = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

struct Shared {
    respond: Box<Respond>,
    log: Mutex<Vec<Recorded>>,
}

/// The running stub; stops when dropped.
pub(crate) struct Stub {
    pub url: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Stub {
    /// Serves `respond(request, n)`, where `n` counts the earlier requests
    /// with the same method and path.
    pub(crate) async fn start(respond: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Self {
        let shared = Arc::new(Shared { respond: Box::new(respond), log: Mutex::new(Vec::new()) });
        let router = axum::Router::new().fallback(handle).with_state(Arc::clone(&shared));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self { url, shared, server }
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().unwrap().clone()
    }

    /// How many requests had this method and a path ending with `suffix`.
    pub(crate) fn count(&self, method: &str, suffix: &str) -> usize {
        self.requests().iter().filter(|r| r.method == method && r.path.ends_with(suffix)).count()
    }

    /// Requests per "METHOD path".
    pub(crate) fn counts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for r in self.requests() {
            *counts.entry(format!("{} {}", r.method, r.path)).or_default() += 1;
        }
        counts
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let recorded = Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        authorization: header("authorization"),
        content_type: header("content-type"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let reply = {
        let mut log = shared.log.lock().unwrap();
        let n = log.iter().filter(|r| r.method == recorded.method && r.path == recorded.path).count();
        log.push(recorded.clone());
        (shared.respond)(&recorded, n)
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let status = StatusCode::from_u16(reply.status).unwrap();
    (status, [("content-type", "application/json")], reply.body).into_response()
}

/// A client of the stub whose retries wait only a millisecond or two.
pub(crate) fn client(stub: &Stub) -> durable_client::ClientBuilder {
    durable_client::Client::builder(&stub.url).retry_policy(durable_client::RetryPolicy {
        max_retries: 2,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
    })
}

pub(crate) const RUN: &str = "0192b9d4-5e3a-7f00-8000-000000000001";
pub(crate) const TASK: &str = "0192b9d4-5e3a-7f00-8000-000000000002";
pub(crate) const NOW: &str = "2030-01-01T00:00:00Z";
