//! Structured logs: one JSON object per line by default, level from `RUST_LOG`.
//!
//! Every line logged inside a request carries its `request_id`: the JSON
//! format writes the current span and the list of spans it is in (the
//! request's among them), the pretty format prefixes them.

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::registry::LookupSpan;

use super::settings::LogFormat;

/// `RUST_LOG`, or `info` when it is unset or does not parse.
pub(super) fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The log formatter writing to `writer`.
pub(super) fn layer<S, W>(format: LogFormat, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer().with_writer(writer);
    match format {
        LogFormat::Json => layer.json().flatten_event(true).with_current_span(true).with_span_list(true).boxed(),
        LogFormat::Pretty => layer.boxed(),
    }
}
