//! One access-log line per request, with the fields an operator greps for.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::Request;
use durable_ports::{MockService, ServiceError};
use tracing_subscriber::fmt::MakeWriter;

use crate::harness::{app, send, untouched};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap().lines().map(str::to_owned).collect()
    }
}

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

/// Runs one request with a subscriber that captures every log line.
async fn logged(app: axum::Router, uri: &str, request_id: &str) -> Vec<String> {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt().with_writer(captured.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Under `cargo test` the other tests run on other threads of this
    // process with no subscriber, and a callsite they reached first may
    // have cached "never interested"; recompute it now that one listens.
    tracing::callsite::rebuild_interest_cache();
    let request = Request::get(uri).header("x-request-id", request_id).body(Body::empty()).unwrap();
    send(app, request).await;
    captured.lines()
}

fn access_lines(lines: &[String]) -> Vec<&String> {
    lines.iter().filter(|line| line.contains("latency_ms=")).collect()
}

#[tokio::test]
async fn a_request_is_logged_once_with_its_fields() {
    let lines = logged(untouched(), "/healthz", "req-7").await;
    let access = access_lines(&lines);
    assert_eq!(access.len(), 1, "{lines:#?}");
    let line = access[0];
    assert!(line.contains("INFO"), "{line}");
    for field in ["method=GET", "path=/healthz", "status=200", "request_id=req-7"] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
}

#[tokio::test]
async fn server_errors_are_logged_at_error_level_with_their_cause() {
    let mut service = MockService::new();
    service.expect_list_queues().returning(|| Err(ServiceError::Internal("disk on fire".into())));
    let lines = logged(app(service), "/api/v1/queues", "req-8").await;
    let access = access_lines(&lines);
    assert_eq!(access.len(), 1, "{lines:#?}");
    assert!(access[0].contains("ERROR") && access[0].contains("status=500"), "{}", access[0]);
    let cause = lines.iter().find(|line| line.contains("disk on fire")).expect("the cause is logged");
    assert!(cause.contains("req-8"), "the cause log carries the request id: {cause}");
}
