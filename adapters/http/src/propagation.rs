//! W3C trace context: a request that carries `traceparent` (and
//! `tracestate`) continues its caller's trace instead of starting one.

use axum::http::HeaderMap;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Makes the caller's span, if the headers name a valid one, the parent of
/// `span`. Must run before `span` is first entered. Without an OpenTelemetry
/// layer installed (no exporter configured) this does nothing.
pub(crate) fn continue_trace(span: &Span, headers: &HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    if parent.span().span_context().is_valid() {
        // The only errors are "no OpenTelemetry layer" and "span disabled":
        // both mean nothing is being traced, so there is no parent to set.
        let _ = span.set_parent(parent);
    }
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(axum::http::HeaderName::as_str).collect()
    }
}
