//! End-to-end tests: the real server (the `durable-server` composition root)
//! started in-process on a loopback port 0 against a fresh PostgreSQL
//! database per test, driven over HTTP through `durable-client` (and raw
//! `reqwest` where a malformed request is the point).
//!
//! Needs a PostgreSQL server: `DATABASE_URL`, or the local server binaries
//! (see `durable_tests::pg`).

#[path = "e2e/auth.rs"]
mod auth;
#[path = "e2e/batch.rs"]
mod batch;
#[path = "e2e/cancel.rs"]
mod cancel;
#[path = "e2e/children.rs"]
mod children;
#[path = "e2e/client_coverage.rs"]
mod client_coverage;
#[path = "e2e/concurrency.rs"]
mod concurrency;
#[path = "e2e/cron.rs"]
mod cron;
#[path = "e2e/errors.rs"]
mod errors;
#[path = "e2e/events.rs"]
mod events;
#[path = "e2e/expiry.rs"]
mod expiry;
#[path = "e2e/flow.rs"]
mod flow;
#[path = "e2e/handoff.rs"]
mod handoff;
#[path = "e2e/idempotency.rs"]
mod idempotency;
#[path = "e2e/long_poll.rs"]
mod long_poll;
#[path = "e2e/ops.rs"]
mod ops;
#[path = "e2e/pagination.rs"]
mod pagination;
#[path = "e2e/payloads.rs"]
mod payloads;
#[path = "e2e/queue_names.rs"]
mod queue_names;
#[path = "e2e/queues.rs"]
mod queues;
#[path = "e2e/replicas.rs"]
mod replicas;
#[path = "e2e/retention.rs"]
mod retention;
#[path = "e2e/retries.rs"]
mod retries;
#[path = "e2e/schedule.rs"]
mod schedule;
#[path = "e2e/stats.rs"]
mod stats;
#[path = "e2e/timeouts.rs"]
mod timeouts;
#[path = "e2e/worker_loop.rs"]
mod worker_loop;
#[path = "e2e/workflows.rs"]
mod workflows;

/// What every test needs: a server of its own and a client of it.
pub mod support {
    use std::future::Future;
    use std::time::{Duration, Instant};

    use durable_client::{ClaimRequest, ClaimedTask, Client, CreateQueue, Error, ErrorCode, RetryPolicy};
    use durable_tests::server::TestServer;
    use serde_json::Value;

    /// A running server on its own PostgreSQL database, and a client of it.
    #[derive(Debug)]
    pub struct Harness {
        pub server: TestServer,
        pub client: Client,
    }

    impl Harness {
        /// The server on PostgreSQL (sweeper every 50 ms).
        pub async fn postgres() -> Self {
            Self::with(TestServer::postgres().await)
        }

        pub fn with(server: TestServer) -> Self {
            let client = client(&server.base_url());
            Self { server, client }
        }

        pub fn base_url(&self) -> String {
            self.server.base_url()
        }

        /// `base_url()/api/v1<path>`.
        pub fn api(&self, path: &str) -> String {
            format!("{}/api/v1{path}", self.base_url())
        }

        /// A new client instance (its own connection pool) of this server.
        pub fn new_client(&self) -> Client {
            client(&self.base_url())
        }

        /// Creates queue `name` with the default retention.
        pub async fn queue(&self, name: &str) {
            let queue = self
                .client
                .create_queue(&CreateQueue::new(name))
                .await
                .unwrap_or_else(|e| panic!("creating queue {name}: {e}"));
            assert_eq!(queue.name, name);
        }

        pub async fn stop(self) {
            self.server.stop().await;
        }
    }

    /// A client without retries: a test must see the first answer.
    pub fn client(base_url: &str) -> Client {
        Client::builder(base_url)
            .retry_policy(RetryPolicy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client builds")
    }

    /// Polls `check` every 50 ms until it returns `Some`, for at most
    /// `within`; panics naming `what` otherwise.
    pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + within;
        loop {
            if let Some(value) = check().await {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out after {within:?} waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The deadline for anything that waits for the sweeper.
    pub const SWEEPER_DEADLINE: Duration = Duration::from_secs(10);

    /// Claims one run of `queue` (claim timeout 30 s), long-polling until
    /// one comes or `within` has passed.
    pub async fn claim_one(client: &Client, queue: &str, within: Duration) -> ClaimedTask {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "nothing became claimable in {queue} within {within:?}");
            let poll = left.as_secs().clamp(1, 5);
            let mut tasks = client
                .claim(queue, &ClaimRequest::new(1, 30).long_poll_seconds(poll))
                .await
                .unwrap_or_else(|e| panic!("claiming from {queue}: {e}"));
            if let Some(task) = tasks.pop() {
                assert!(tasks.is_empty());
                return task;
            }
        }
    }

    /// Claims without waiting and asserts nothing was due.
    pub async fn assert_nothing_claimable(client: &Client, queue: &str) {
        let tasks = client.claim(queue, &ClaimRequest::new(100, 30)).await.unwrap();
        assert!(tasks.is_empty(), "unexpectedly claimable in {queue}: {tasks:?}");
    }

    /// Asserts an API error with `status` and `code`, returning its message.
    #[track_caller]
    pub fn expect_api_error<T: std::fmt::Debug>(result: Result<T, Error>, status: u16, code: ErrorCode) -> String {
        match result {
            Err(Error::Api { status: got_status, code: got_code, message }) => {
                assert_eq!((got_status, &got_code), (status, &code), "unexpected API error: {message}");
                message
            }
            other => panic!("expected HTTP {status} {code}, got {other:?}"),
        }
    }

    /// A raw HTTP client, for requests the typed client cannot express.
    pub fn raw() -> reqwest::Client {
        reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("reqwest client builds")
    }

    /// A raw response: status, content type and body as JSON (`Null` when
    /// the body is not JSON).
    #[derive(Debug)]
    pub struct RawResponse {
        pub status: u16,
        pub content_type: Option<String>,
        pub text: String,
        pub json: Value,
    }

    pub async fn read(response: reqwest::Response) -> RawResponse {
        let status = response.status().as_u16();
        let content_type =
            response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = response.text().await.expect("response body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        RawResponse { status, content_type, text, json }
    }

    impl RawResponse {
        /// Asserts the API's error shape `{"error": <string>, "code": <code>}`
        /// with `status`, as JSON, and returns the message.
        #[track_caller]
        pub fn error(&self, status: u16, code: &str) -> String {
            assert_eq!(
                self.status, status,
                "expected HTTP {status} {code}, got {} with body {}",
                self.status, self.text
            );
            assert!(
                self.content_type.as_deref().is_some_and(|t| t.starts_with("application/json")),
                "error response is not JSON: content-type {:?}, body {}",
                self.content_type,
                self.text
            );
            let object =
                self.json.as_object().unwrap_or_else(|| panic!("error body is not a JSON object: {}", self.text));
            assert_eq!(object.get("code").and_then(Value::as_str), Some(code), "error code of {}", self.text);
            let message = object
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("error body has no string \"error\": {}", self.text));
            assert!(!message.is_empty(), "empty error message: {}", self.text);
            message.to_owned()
        }
    }
}
