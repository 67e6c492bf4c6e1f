//! prw: push OpenTelemetry-style metrics straight to any Prometheus Remote Write backend
//! (Prometheus, Mimir, Cortex, Thanos, VictoriaMetrics, InfluxDB, Amazon Managed Prometheus),
//! with no collector in between.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use prw::api::KeyValue;
//! use prw::{PrometheusRemoteWriteExporter, Protocol};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let exporter = PrometheusRemoteWriteExporter::builder()
//!         .endpoint("https://mimir.example.com/api/v1/push")?
//!         .basic_auth("tenant-1", prw::Secret::from_file("/run/secrets/mimir-password"))
//!         .header("X-Scope-OrgID", "tenant-1")?
//!         .timeout(Duration::from_secs(10))
//!         .protocol(Protocol::Auto)
//!         .build()?;
//!
//!     let provider = prw::pipeline()
//!         .with_service_name("checkout")
//!         .with_interval(Duration::from_secs(15))
//!         .with_exporter(exporter)
//!         .start()?; // with or without a tokio runtime
//!
//!     let meter = provider.meter("checkout");
//!     let requests = meter.u64_counter("http.server.requests").with_unit("{request}").build();
//!     requests.add(1, &[KeyValue::new("http.route", "/cart")]);
//!
//!     provider.shutdown()?; // flushes, marks every series stale
//!     Ok(())
//! }
//! ```
//!
//! This arrives as `http_server_requests_total{job="checkout",instance="…",http_route="/cart"}`,
//! plus `target_info` with the other resource attributes.
//!
//! Mistakes are typed errors that say how to fix them:
//!
//! ```
//! let err = prw::PrometheusRemoteWriteExporter::builder().endpoint("localhost:9090/api/v1/write").unwrap_err();
//! assert!(err.to_string().contains("start it with http:// or https://"));
//! ```
//!
//! # What the exporter does
//!
//! - Each collection is converted ([`convert`]), cut into requests of at most 2,000 series
//!   and 3 MiB, snappy-compressed and sent with the Remote Write headers.
//! - Per endpoint, one request is in flight at a time, so no sample overtakes an older one of
//!   its series; later collections wait in a bounded queue (500,000 samples, 128 MiB) that
//!   drops its oldest data, counted, when full. Several endpoints never hold each other back.
//! - 5xx, 429 and network errors are retried with capped exponential backoff and jitter
//!   (30 ms → 5 s), honouring `Retry-After`; other 4xx are dropped, counted and logged with
//!   the server's words; a 413 splits the request in halves.
//! - [`Protocol::V2`] / [`Protocol::Auto`] send Remote Write 2.0 and fall back to 1.0 for an
//!   endpoint that answers 415, or 2xx without the `…-Written` headers.
//! - Its own `prometheus_remote_storage_*` metrics travel with every collection; its logs
//!   (through `tracing`, target `prw`) are one line per state change.
//! - Shutdown sends one stale marker per series, then delivers what is queued within the
//!   deadline.
//!
//! Defaults are in [`defaults`]; every setting is on [`PrometheusRemoteWriteExporterBuilder`].
#![warn(missing_docs)]

pub use prw_api as api;
pub use prw_convert as convert;
pub use prw_proto as proto;
pub use prw_sdk as sdk;
pub use prw_transport as transport;

mod backoff;
mod batch;
mod delivery;
mod endpoint;
mod error;
mod exporter;
mod parallel;
mod payload;
mod pipeline;
mod points;
mod protocol;
mod queue;
mod runtime;
mod self_metrics;
mod stats;
#[cfg(test)]
mod testing;

pub mod persistent_queue;
pub mod receiver;

pub use endpoint::Endpoint;
pub use error::BuildError;
pub use exporter::{PrometheusRemoteWriteExporter, PrometheusRemoteWriteExporterBuilder, defaults};
pub use payload::Counts;
pub use pipeline::{DEFAULT_INTERVAL, PipelineBuilder, pipeline, start_pipeline};
pub use protocol::{ParseProtocolError, Protocol, Wire};
pub use prw_transport::Secret;
pub use stats::{DropReason, EndpointStats};
