//! The boundary between the SDK and an exporter.
//!
//! A [`MetricExporter`] receives one collection at a time as OTLP [`ResourceMetrics`]. Its
//! futures are plain `Send` futures: the SDK never assumes a runtime, so an exporter that
//! needs one (tokio, for hyper) must bring it and hand work to it.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use prw_proto::otlp::metrics::ResourceMetrics;

/// A boxed, `Send` future returned by [`MetricExporter`] methods.
pub type ExportFuture<'a> = Pin<Box<dyn Future<Output = ExportResult> + Send + 'a>>;

/// The result of an export, flush or shutdown.
pub type ExportResult = Result<(), ExportError>;

/// Why an export, flush or shutdown did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportError {
    /// The exporter was shut down before this call.
    AlreadyShutdown,
    /// The call did not finish within its deadline.
    Timeout(Duration),
    /// The exporter failed; the text says why (never contains secrets).
    Failed(String),
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::AlreadyShutdown => f.write_str("the exporter is already shut down"),
            ExportError::Timeout(d) => write!(f, "timed out after {d:?}"),
            ExportError::Failed(why) => write!(f, "export failed: {why}"),
        }
    }
}

impl std::error::Error for ExportError {}

/// Whether an exporter wants cumulative or delta points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Temporality {
    /// Every point covers the time since the series started (what Prometheus wants).
    #[default]
    Cumulative,
    /// Every point covers the time since the previous collection.
    Delta,
}

/// Receives collected metrics. All retry logic lives inside the exporter: the SDK calls
/// `export` once per collection, never concurrently with itself, and moves on.
pub trait MetricExporter: Debug + Send + Sync + 'static {
    /// Export one collection. Must not block the calling thread for I/O.
    fn export(&self, metrics: ResourceMetrics) -> ExportFuture<'_>;

    /// Deliver everything the exporter still holds.
    fn force_flush(&self) -> ExportFuture<'_>;

    /// Flush, then release resources; waits at most `deadline`.
    fn shutdown(&self, deadline: Duration) -> ExportFuture<'_>;

    /// The temporality this exporter wants. Prometheus wants cumulative.
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }

    /// Hands back a collection this exporter has finished with, so the SDK collects the
    /// next one into its strings and vectors instead of allocating them (and the exporter
    /// freeing them) again every interval. The SDK overwrites every field it keeps, so what
    /// the exporter did to the collection does not matter. The default hands back nothing.
    fn reclaim(&self) -> Option<ResourceMetrics> {
        None
    }
}
