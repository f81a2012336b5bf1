//! Spans around the engine's store calls.
//!
//! Every store call runs in a `store` span named after the port method
//! (`store.runs_claim`), a child of whatever the engine is doing (an HTTP
//! request's span, usually), so a trace shows where a request spent its time
//! and a failing call is marked as an error.

use std::future::Future;

use durable_ports::StoreError;
use tracing::field::Empty;
use tracing::{Instrument, Span};

/// Runs one store call in its span.
pub(crate) async fn traced<T>(
    op: &'static str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let span = store_span(op);
    let result = call.instrument(span.clone()).await;
    // Not found and conflicts are answers, not failures of the call.
    if let Err(e @ (StoreError::Unavailable(_) | StoreError::Other(_))) = &result {
        span.record("otel.status_description", tracing::field::display(e));
    }
    result
}

fn store_span(op: &'static str) -> Span {
    // Outside any span (a sweeper or gauge-refresh pass, whose own spans are
    // at debug level and usually filtered out) each call would start a trace
    // of its own: several per sweep, every 500 ms. Those stay untraced.
    if Span::current().is_none() {
        return Span::none();
    }
    tracing::info_span!("store", otel.name = op, otel.status_description = Empty)
}
