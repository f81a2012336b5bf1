//! The client itself: configuration, URL building, and the one send path
//! every endpoint goes through (bearer token, timeout, retries, decoding).

use std::fmt;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
use crate::retry::{Idempotency, RetryPolicy};

/// What a path segment keeps as is: RFC 3986's unreserved characters.
/// Everything else is percent-encoded, `/` `%` `?` `#` and controls
/// included (which `Url`'s own segment encoder would drop or pass on).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The request timeout when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// An async client of the durable HTTP API v1.
///
/// Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The server's root, without `/api/v1`, path ending without a slash.
    base: Url,
    token: Option<String>,
    timeout: Duration,
    retry: RetryPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`]; made by [`Client::builder`].
#[derive(Clone)]
pub struct ClientBuilder {
    base_url: String,
    token: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

impl ClientBuilder {
    /// Sends `Authorization: Bearer <token>` with every request.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The time one request may take, from connecting to the last byte of
    /// its answer. A long-polling claim gets its `long_poll_seconds` on top.
    /// Default 30 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time to establish a connection. Default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many times an idempotent call is retried. Default 3.
    pub fn retries(mut self, max_retries: u32) -> Self {
        self.retry.max_retries = max_retries;
        self
    }

    /// The whole retry policy (count and backoff).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Builds the client. Fails on a base URL that is not `http(s)://…`.
    pub fn build(self) -> Result<Client, Error> {
        let base = parse_base(&self.base_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .user_agent(concat!("durable-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(Error::Transport)?;
        Ok(Client { http, base, token: self.token, timeout: self.timeout, retry: self.retry })
    }
}

/// The server root from what the user gave: `http://host:8080`, with or
/// without a trailing slash or a trailing `/api/v1`.
fn parse_base(raw: &str) -> Result<Url, Error> {
    let mut url = Url::parse(raw).map_err(|e| Error::Config(format!("base URL {raw:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::Config(format!("base URL {raw:?} must be http:// or https://")));
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/');
    let path = path.strip_suffix("/api/v1").unwrap_or(path).to_owned();
    url.set_path(&path);
    Ok(url)
}

/// One request as the send path needs it, with everything a retry repeats.
#[derive(Debug)]
pub(crate) struct Call {
    method: Method,
    url: Url,
    body: Option<Vec<u8>>,
    idempotency: Idempotency,
    extra_time: Duration,
}

impl Call {
    /// A JSON body.
    pub(crate) fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        // Serializing our own request types cannot fail: they hold no maps
        // with non-string keys and no failing `Serialize` impls.
        self.body = Some(serde_json::to_vec(body).unwrap_or_default());
        self
    }

    /// Whether a failed attempt may be sent again (see [`crate::retry`]).
    pub(crate) fn idempotency(mut self, idempotency: Idempotency) -> Self {
        self.idempotency = idempotency;
        self
    }

    /// Adds `extra` to the client's request timeout (a long poll).
    pub(crate) fn extra_time(mut self, extra: Duration) -> Self {
        self.extra_time = extra;
        self
    }
}

/// A response: its status and body, whatever the status.
#[derive(Debug)]
pub(crate) struct Raw {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Raw {
    /// The body as `T` for a 2xx status, else the API error it carries.
    pub(crate) fn decode<T: DeserializeOwned>(self) -> Result<T, Error> {
        if !(200..300).contains(&self.status) {
            return Err(Error::from_response(self.status, &self.body));
        }
        serde_json::from_slice(&self.body).map_err(|source| Error::Decode { status: self.status, source })
    }

    /// Success with the body ignored, else the API error.
    pub(crate) fn expect_success(self) -> Result<(), Error> {
        if (200..300).contains(&self.status) { Ok(()) } else { Err(Error::from_response(self.status, &self.body)) }
    }
}

impl Client {
    /// Starts configuring a client of the server at `base_url`
    /// (e.g. `http://127.0.0.1:8080`; a trailing `/api/v1` is accepted).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            token: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }

    /// A client with the default configuration.
    pub fn new(base_url: impl Into<String>) -> Result<Self, Error> {
        Self::builder(base_url).build()
    }

    /// The server root this client talks to.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// The request timeout (without any long poll).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// `base/api/v1/<segments…>`, each segment percent-encoded.
    pub(crate) fn api_url(&self, segments: &[&str]) -> Result<Url, Error> {
        self.root_url(&[&["api", "v1"], segments].concat())
    }

    /// `base/<segments…>`, each segment percent-encoded, so a name such as
    /// `billing/eu` or `a?b` stays one segment and arrives as given.
    pub(crate) fn root_url(&self, segments: &[&str]) -> Result<Url, Error> {
        let mut path = self.base.path().trim_end_matches('/').to_owned();
        for segment in segments {
            // URL parsers resolve these as "this" and "parent" directory,
            // even percent-encoded: the request would go somewhere else.
            if matches!(*segment, "." | "..") {
                return Err(Error::InvalidArgument(format!("{segment:?} cannot be sent as a URL path segment")));
            }
            path.push('/');
            path.extend(utf8_percent_encode(segment, SEGMENT));
        }
        let mut url = self.base.clone();
        url.set_path(&path);
        Ok(url)
    }

    /// A call with no body that is not retried.
    pub(crate) fn call(&self, method: Method, url: Url) -> Call {
        Call { method, url, body: None, idempotency: Idempotency::NonIdempotent, extra_time: Duration::ZERO }
    }

    /// Sends a call, retrying it by the policy; any status comes back as [`Raw`].
    pub(crate) async fn send(&self, call: Call) -> Result<Raw, Error> {
        let mut retry = 0;
        loop {
            let (error, raw) = match self.send_once(&call).await {
                Ok(raw) if raw.status == 503 => (Error::from_response(raw.status, &raw.body), Some(raw)),
                Ok(raw) => return Ok(raw),
                Err(error) => (error, None),
            };
            if !self.retry.should_retry(call.idempotency, retry, &error) {
                return raw.ok_or(error);
            }
            let delay = self.retry.delay(retry);
            tracing::warn!(method = %call.method, url = %call.url, %error, ?delay, retry = retry + 1, "retrying");
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }

    async fn send_once(&self, call: &Call) -> Result<Raw, Error> {
        let timeout = self.timeout + call.extra_time;
        let mut request = self.http.request(call.method.clone(), call.url.clone()).timeout(timeout);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = &call.body {
            request = request.header(CONTENT_TYPE, HeaderValue::from_static("application/json")).body(body.clone());
        }
        tracing::debug!(method = %call.method, url = %call.url, "request");
        let response = request.send().await.map_err(Error::Transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(Error::Transport)?.to_vec();
        tracing::debug!(method = %call.method, url = %call.url, status, "response");
        Ok(Raw { status, body })
    }
}

/// Appends the present `(key, value)` pairs as a query string.
pub(crate) fn with_query(mut url: Url, pairs: &[(&str, Option<String>)]) -> Url {
    if pairs.iter().any(|(_, value)| value.is_some()) {
        let mut query = url.query_pairs_mut();
        for (key, value) in pairs {
            if let Some(value) = value {
                query.append_pair(key, value);
            }
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::new(base).unwrap()
    }

    #[test]
    fn builds_api_urls_from_any_spelling_of_the_base() {
        for base in ["http://h:8080", "http://h:8080/", "http://h:8080/api/v1", "http://h:8080/api/v1/"] {
            let url = client(base).api_url(&["queues", "q1", "tasks"]).unwrap();
            assert_eq!(url.as_str(), "http://h:8080/api/v1/queues/q1/tasks", "{base}");
        }
        assert_eq!(client("http://h/").root_url(&["healthz"]).unwrap().as_str(), "http://h/healthz");
    }

    #[test]
    fn keeps_a_path_prefix() {
        let c = client("https://proxy.example/durable/");
        assert_eq!(c.api_url(&["events"]).unwrap().as_str(), "https://proxy.example/durable/api/v1/events");
        assert_eq!(c.root_url(&["readyz"]).unwrap().as_str(), "https://proxy.example/durable/readyz");
    }

    #[test]
    fn percent_encodes_each_segment() {
        let url = client("http://h").api_url(&["tasks", "t", "checkpoints", "step one/two?"]).unwrap();
        assert_eq!(url.as_str(), "http://h/api/v1/tasks/t/checkpoints/step%20one%2Ftwo%3F");
        let cases = [
            ("emails:high", "emails%3Ahigh"),
            ("billing/eu", "billing%2Feu"),
            ("tâches", "t%C3%A2ches"),
            ("100%", "100%25"),
            ("a#b", "a%23b"),
            ("tab\there", "tab%09here"),
            ("line\nbreak", "line%0Abreak"),
            ("back\\slash", "back%5Cslash"),
            ("...", "..."),
            ("-._~", "-._~"),
        ];
        for (segment, encoded) in cases {
            let url = client("http://h").api_url(&["queues", segment, "stats"]).unwrap();
            assert_eq!(url.as_str(), format!("http://h/api/v1/queues/{encoded}/stats"), "{segment:?}");
        }
    }

    #[test]
    fn refuses_dot_segments_instead_of_sending_elsewhere() {
        for segment in [".", ".."] {
            let err = client("http://h").api_url(&["queues", segment, "stats"]).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
        }
    }

    #[test]
    fn appends_only_present_query_pairs() {
        let base = client("http://h").api_url(&["tasks"]).unwrap();
        assert_eq!(with_query(base.clone(), &[("status", None)]).as_str(), "http://h/api/v1/tasks");
        let url =
            with_query(base, &[("queue_name", Some("a b&c".into())), ("cursor", None), ("limit", Some("5".into()))]);
        assert_eq!(url.as_str(), "http://h/api/v1/tasks?queue_name=a+b%26c&limit=5");
    }

    #[test]
    fn rejects_unusable_base_urls() {
        for base in ["not a url", "ftp://h/", "mailto:x@y"] {
            assert!(matches!(Client::new(base), Err(Error::Config(_))), "{base}");
        }
    }

    #[test]
    fn debug_output_hides_the_token() {
        let c = Client::builder("http://h").token("s3cret").build().unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("s3cret") && text.contains("redacted"), "{text}");
    }
}
