//! Logs and traces through one `tracing` subscriber: the log formatter
//! always, and an OpenTelemetry layer exporting spans over OTLP when an
//! endpoint is configured with the standard variables
//! (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
//! plus `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME`,
//! `OTEL_TRACES_SAMPLER`, … as the SDK reads them). Without one, no span
//! leaves the process and no exporter thread starts.
//!
//! Spans: one per HTTP request (`durable-http`, which also continues an
//! incoming W3C `traceparent`) and one per store call beneath it (the
//! engine). `RUST_LOG` filters spans as it filters logs.

use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use super::logging;
use super::settings::LogFormat;

/// `service.name` of the exported spans, unless the environment names one.
pub const SERVICE_NAME: &str = "durable-server";

/// The installed telemetry; [`Telemetry::shutdown`] exports what is left.
#[derive(Debug)]
#[must_use = "dropping it early stops the span exporter"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports the spans still buffered and stops the exporter. Blocks for
    /// at most the exporter's timeout, so call it once, at exit.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "exporting the last spans failed");
        }
    }
}

/// Installs the global subscriber: logs in `format` on stderr and, when an
/// OTLP endpoint is configured, the span exporter. Later calls (tests
/// starting several servers) leave the first subscriber in place.
pub fn init(format: LogFormat) -> anyhow::Result<Telemetry> {
    let provider = if otlp_configured() { Some(otlp_provider()?) } else { None };
    if subscriber(format, std::io::stderr, provider.as_ref()).try_init().is_err() {
        // Another subscriber was first; this provider (if any) has no spans
        // to export and shuts down as it is dropped here.
        return Ok(Telemetry { provider: None });
    }
    if provider.is_some() {
        tracing::info!(service = SERVICE_NAME, "exporting traces over OTLP/HTTP");
    }
    Ok(Telemetry { provider })
}

/// The whole subscriber: `RUST_LOG` filtering (default `info`), the log
/// formatter writing to `writer`, and the OpenTelemetry layer over
/// `provider` if any. Public so tests can build the very same one around a
/// captured writer and an in-memory exporter.
pub fn subscriber<W>(
    format: LogFormat,
    writer: W,
    provider: Option<&SdkTracerProvider>,
) -> impl Subscriber + Send + Sync + for<'a> LookupSpan<'a>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt as _;
    tracing_subscriber::registry()
        .with(logging::filter())
        .with(logging::layer(format, writer))
        .with(provider.map(otel_layer))
}

/// The layer that turns `tracing` spans into OpenTelemetry spans.
pub fn otel_layer<S>(provider: &SdkTracerProvider) -> OpenTelemetryLayer<S, SdkTracer>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer(SERVICE_NAME))
}

/// The resource every span carries: `service.name` is `durable-server`
/// unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` set it (the SDK
/// reads both; overriding them would defeat the standard knobs).
pub fn resource() -> Resource {
    let named_by_env = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|name| !name.is_empty())
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|attributes| attributes.contains("service.name="));
    let builder = Resource::builder();
    if named_by_env { builder.build() } else { builder.with_service_name(SERVICE_NAME).build() }
}

fn otlp_configured() -> bool {
    let set = |name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty());
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|value| value.eq_ignore_ascii_case("true"));
    !disabled && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
}

/// OTLP over HTTP with protobuf bodies (collector port 4318), batched. The
/// batch processor exports from its own thread with the blocking reqwest
/// client; the endpoint, headers and timeout come from the environment.
fn otlp_provider() -> anyhow::Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()
        .context("configuring the OTLP span exporter")?;
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource()).build())
}
