//! What the SDK tests share: a real server, a recording proxy in front of
//! it, a client through the proxy, and a durable worker started and stopped
//! around a test.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, Uri};
use durable_client::{Client, CreateQueue, Durable, Error, ListRuns, RunStatus, Task, TaskStatus};
use durable_tests::server::TestServer;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// One request the proxy forwarded, with the answer's status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub status: u16,
}

/// Every request through a [`Proxy`], in the order answered.
#[derive(Debug, Default)]
pub struct Log {
    seen: Mutex<Vec<Seen>>,
}

impl Log {
    pub fn all(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn push(&self, seen: Seen) {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).push(seen);
    }
}

/// A loopback HTTP proxy to a server that records every request, so a test
/// can count what a worker sent.
#[derive(Debug)]
pub struct Proxy {
    pub url: String,
    pub log: Arc<Log>,
    task: JoinHandle<()>,
}

#[derive(Clone)]
struct Upstream {
    base: String,
    http: reqwest::Client,
    log: Arc<Log>,
}

async fn forward(
    State(upstream): State<Upstream>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = upstream.http.request(method.clone(), format!("{}{path_and_query}", upstream.base)).body(body);
    for (name, value) in &headers {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    let (status, content_type, bytes) = match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            let content_type = answer.headers().get("content-type").cloned();
            (status, content_type, answer.bytes().await.unwrap_or_default())
        }
        Err(_) => (axum::http::StatusCode::BAD_GATEWAY, None, Bytes::new()),
    };
    upstream.log.push(Seen { method: method.to_string(), path: uri.path().to_owned(), status: status.as_u16() });
    let mut response = Response::builder().status(status);
    if let Some(content_type) = content_type {
        response = response.header("content-type", content_type);
    }
    response.body(Body::from(bytes)).expect("a valid response")
}

impl Proxy {
    pub async fn start(base: &str) -> Self {
        let log = Arc::new(Log::default());
        let upstream = Upstream { base: base.to_owned(), http: reqwest::Client::new(), log: Arc::clone(&log) };
        let app = axum::Router::new().fallback(forward).with_state(upstream);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("proxy serves");
        });
        Self { url, log, task }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A client of `base_url` that answers within 20 s (plus any long poll).
pub fn client(base_url: &str) -> Client {
    Client::builder(base_url).timeout(Duration::from_secs(20)).build().expect("client builds")
}

/// A server on the memory store, a proxy in front of it, and a client
/// through the proxy.
#[derive(Debug)]
pub struct Setup {
    pub server: TestServer,
    pub proxy: Proxy,
    pub client: Client,
}

impl Setup {
    pub async fn memory(queue: &str) -> Self {
        Self::on(TestServer::memory().await, queue).await
    }

    /// `server` with `queue` created on it.
    pub async fn on(server: TestServer, queue: &str) -> Self {
        let proxy = Proxy::start(&server.base_url()).await;
        let client = client(&proxy.url);
        client.create_queue(&CreateQueue::new(queue)).await.expect("queue created");
        Self { server, proxy, client }
    }

    /// The requests sent so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.proxy.log.all()
    }
}

/// A durable worker running in this process until stopped.
#[derive(Debug)]
pub struct RunningWorker {
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), Error>>,
}

impl RunningWorker {
    /// Runs `app`'s handlers on `queue` with claims of `claim_timeout`.
    pub fn start(app: &Durable, queue: &str, claim_timeout: Duration) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let worker = app.worker(queue).concurrency(8).claim_timeout(claim_timeout).long_poll_seconds(5);
        let handle = tokio::spawn(worker.run_until(async {
            let _ = stopped.await;
        }));
        Self { stop: Some(stop), handle }
    }

    /// Stops claiming and waits for the running handlers.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let ended = (&mut self.handle).await.expect("worker task joins");
        ended.expect("worker ends cleanly");
    }
}

/// How long a test waits for anything before it gives up (a hang guard,
/// not a measurement).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Polls `check` every 50 ms until it returns `Some`; panics naming `what`
/// after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up after {PATIENCE:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The task once it has ended (polled through `GET /tasks/{id}`, which
/// every server version has).
pub async fn ended(client: &Client, task_id: Uuid) -> Task {
    eventually("the task to end", || async {
        let task = client.get_task(task_id).await.expect("task readable");
        (task.status != TaskStatus::Pending).then_some(task)
    })
    .await
}

/// Waits until the task's latest run sleeps (it gave its claim up to wait).
pub async fn sleeping(client: &Client, task_id: Uuid) {
    eventually("the run to sleep", || async {
        let runs = client.list_runs(&ListRuns::default().task(task_id)).await.expect("runs listed");
        runs.runs.first().is_some_and(|run| run.status == RunStatus::Sleeping).then_some(())
    })
    .await;
}

/// A count shared by a test and the handler it registers.
#[derive(Debug, Default)]
pub struct Counter(AtomicUsize);

impl Counter {
    pub fn shared() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn bump(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}
