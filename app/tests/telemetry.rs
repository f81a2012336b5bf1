//! Traces and request ids, through the server's own subscriber
//! (`telemetry::subscriber`) with an in-memory span exporter in place of
//! OTLP and a captured writer in place of stderr.
//!
//! The subscriber is process-global (the server's tasks run on any thread),
//! so every test of this file shares it and picks out its own spans and
//! lines by trace id or request id.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use durable_app::server::telemetry::{self, SERVICE_NAME};
use durable_app::server::{self, LogFormat, Server, Settings};
use durable_app::{Engine, EngineConfig};
use durable_ports::{ManualClock, MockNotifier, MockStore, StoreError};
use opentelemetry::trace::{SpanId, Status, TraceId};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

struct Installed {
    exporter: InMemorySpanExporter,
    provider: SdkTracerProvider,
    logs: Captured,
}

fn installed() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        // The simple processor exports as each span ends: no waiting in tests.
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .with_resource(telemetry::resource())
            .build();
        let logs = Captured::default();
        let subscriber = telemetry::subscriber(LogFormat::Json, logs.clone(), Some(&provider));
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber in this test binary");
        Installed { exporter, provider, logs }
    })
}

impl Installed {
    fn spans_of(&self, trace: TraceId) -> Vec<SpanData> {
        self.provider.force_flush().unwrap();
        self.exporter.get_finished_spans().unwrap().into_iter().filter(|s| s.span_context.trace_id() == trace).collect()
    }

    /// The JSON log lines mentioning `needle`.
    fn lines_with(&self, needle: &str) -> Vec<serde_json::Value> {
        let bytes = self.logs.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .filter(|line| line.contains(needle))
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
            .collect()
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

async fn memory_server() -> Server {
    installed();
    server::start(&Settings::default()).await.expect("server starts")
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes.iter().find(|KeyValue { key: k, .. }| k.as_str() == key).map(|kv| &kv.value)
}

#[tokio::test]
async fn a_request_is_a_span_with_route_and_status_continuing_the_callers_trace() {
    let server = memory_server().await;
    let http = reqwest::Client::new();
    http.post(format!("{}/api/v1/queues", server.base_url())).json(&json!({"name": "traced"})).send().await.unwrap();

    let trace = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    let caller = SpanId::from_hex("00f067aa0ba902b7").unwrap();
    let response = http
        .get(format!("{}/api/v1/queues/traced/stats", server.base_url()))
        .header("traceparent", format!("00-{trace}-{caller}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let spans = installed().spans_of(trace);
    let request = spans
        .iter()
        .find(|s| s.name == "GET /api/v1/queues/{queue_name}/stats")
        .unwrap_or_else(|| panic!("no request span in trace {trace}: {spans:#?}"));
    assert_eq!(request.parent_span_id, caller, "the caller's span is the parent");
    assert!(request.parent_span_is_remote);
    assert_eq!(attribute(request, "http.route"), Some(&Value::from("/api/v1/queues/{queue_name}/stats")));
    assert_eq!(attribute(request, "http.response.status_code"), Some(&Value::I64(200)));
    assert_eq!(attribute(request, "http.request.method"), Some(&Value::from("GET")));
    assert_eq!(format!("{:?}", request.span_kind), "Server");

    // The store call is a child of the request, in the same trace.
    let store = spans.iter().find(|s| s.name == "store.queue_stats").expect("a store span");
    assert_eq!(store.parent_span_id, request.span_context.span_id());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_traceparent_a_request_starts_its_own_trace() {
    let server = memory_server().await;
    let response = reqwest::get(format!("{}/healthz", server.base_url())).await.unwrap();
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    installed().provider.force_flush().unwrap();
    let spans = installed().exporter.get_finished_spans().unwrap();
    let request = spans
        .iter()
        .find(|s| attribute(s, "request_id") == Some(&Value::from(request_id.clone())))
        .expect("the request's span carries its request id");
    assert_eq!(request.name, "GET /healthz");
    assert_eq!(request.parent_span_id, SpanId::INVALID, "a root span");
    assert_eq!(attribute(request, "http.response.status_code"), Some(&Value::I64(200)));
    let service = request.instrumentation_scope.name();
    assert_eq!(service, SERVICE_NAME);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_request_id_is_echoed_or_generated() {
    let server = memory_server().await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/queues", server.base_url());
    let echoed = http.get(&url).header("x-request-id", "req-echo-1").send().await.unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "req-echo-1");

    let generated = http.get(&url).send().await.unwrap();
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "a generated id is a UUID: {id}");
    // Errors carry it too.
    let missing = http.get(format!("{}/nope", server.base_url())).send().await.unwrap();
    assert!(missing.headers().contains_key("x-request-id"));
    server.shutdown().await.unwrap();
}

/// Lines logged deep inside a request (here: inside the store call, nested
/// in the request's span) and the error line the HTTP layer writes all name
/// the request id, in the JSON format the server logs by default.
#[tokio::test]
async fn every_line_logged_inside_a_request_carries_its_id() {
    installed();
    let mut store = MockStore::new();
    store.expect_queue_list().returning(|| {
        tracing::warn!("the disk is slow today");
        Err(StoreError::Unavailable("connection refused".into()))
    });
    let engine = Engine::new(
        Arc::new(store),
        Arc::new(MockNotifier::new()),
        Arc::new(ManualClock::starting_now()),
        EngineConfig::default(),
    );
    let app = durable_http::router(Arc::new(engine), durable_http::HttpConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(durable_http::serve(listener, app, async {
        stopped.await.ok();
    }));

    let response = reqwest::Client::new()
        .get(format!("http://{address}/api/v1/queues"))
        .header("x-request-id", "req-deep-7")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();

    let installed = installed();
    let inside = installed.lines_with("the disk is slow today");
    assert_eq!(inside.len(), 1, "{inside:#?}");
    let line = &inside[0];
    assert_eq!(line["span"]["otel.name"], "store.queue_list", "logged inside the store span: {line}");
    let request = line["spans"].as_array().unwrap().iter().find(|s| s["name"] == "request").expect("request span");
    assert_eq!(request["request_id"], "req-deep-7", "{line}");

    let cause = installed.lines_with("connection refused");
    let cause = cause.iter().find(|l| l["message"] == "storage unavailable").expect("the cause is logged");
    assert_eq!(cause["span"]["request_id"], "req-deep-7", "{cause}");
    let access = installed.lines_with("req-deep-7");
    assert!(access.iter().any(|l| l["status"] == 503 && l["request_id"] == "req-deep-7"), "{access:#?}");

    // In the trace, both the failed store call and the request are errors.
    installed.provider.force_flush().unwrap();
    let spans = installed.exporter.get_finished_spans().unwrap();
    let request = spans.iter().find(|s| attribute(s, "request_id") == Some(&Value::from("req-deep-7"))).unwrap();
    assert!(matches!(request.status, Status::Error { .. }), "{:?}", request.status);
    let store = installed.spans_of(request.span_context.trace_id());
    let store = store.iter().find(|s| s.name == "store.queue_list").expect("the store span");
    assert!(matches!(&store.status, Status::Error { description } if description.contains("connection refused")));
}
