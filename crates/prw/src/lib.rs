//! prw: push OpenTelemetry-style metrics straight to any Prometheus Remote Write backend.
//! (Being written.)
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
mod payload;
mod protocol;
mod queue;
mod runtime;
mod self_metrics;
mod stats;
#[cfg(test)]
mod testing;

pub mod receiver;

pub use endpoint::Endpoint;
pub use error::BuildError;
pub use exporter::{PrometheusRemoteWriteExporter, PrometheusRemoteWriteExporterBuilder, defaults};
pub use payload::Counts;
pub use prw_transport::Secret;
pub use protocol::{ParseProtocolError, Protocol, Wire};
pub use stats::{DropReason, EndpointStats};
