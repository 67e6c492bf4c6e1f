//! The prw metrics SDK: the accumulator, aggregators, views, resource and the periodic
//! controller behind [`prw_api`]. It emits OTLP data (`prw_proto::otlp`) to a
//! [`MetricExporter`], and depends on nothing but `prw-api`, `prw-proto` and `std`: no async
//! runtime, no locks or hashers from other crates.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use prw_api::{KeyValue, MeterProvider};
//! use prw_sdk::{Aggregation, InMemoryExporter, PeriodicController, Resource, SdkMeterProvider, View};
//!
//! let exporter = InMemoryExporter::new(); // the `prw` crate's remote-write exporter in real use
//! let provider = SdkMeterProvider::builder()
//!     .with_resource(Resource::builder().with_service_name("checkout").build())
//!     .with_view(
//!         View::builder()
//!             .with_instrument_name("*.duration")
//!             .with_aggregation(Aggregation::exponential())
//!             .build()
//!             .unwrap(),
//!     )
//!     .with_reader(
//!         PeriodicController::builder(exporter.clone()).with_interval(Duration::from_secs(15)).build(),
//!     )
//!     .build();
//!
//! let meter = provider.meter("checkout");
//! let requests = meter.u64_counter("http.server.requests").with_unit("{request}").build();
//! let duration = meter.f64_histogram("http.server.duration").with_unit("s").build();
//! let attrs = [KeyValue::new("http.route", "/cart"), KeyValue::new("status", 200)];
//! requests.add(1, &attrs);
//! duration.record(0.042, &attrs);
//!
//! provider.shutdown().unwrap(); // collects and exports what is pending
//! let exported = exporter.exported();
//! assert_eq!(exported[0].scope_metrics[0].metrics.len(), 2);
//! ```
//!
//! # How recording stays cheap
//!
//! An instrument's series live in a sharded map. Finding an existing series hashes the
//! attributes with a fast order-independent hash (string hashes are computed once, when a
//! `KeyValue` is made; no sorting, no allocation), reads the index without any lock
//! (cumulative streams; delta streams, which evict idle series, take one shard's read lock)
//! and updates atomics (sums, last values) or a per-series one-CAS lock (histograms).
//! Bound instruments (`counter.bind(&attrs)`) skip the lookup entirely. Recording into an
//! existing series never allocates.
//!
//! # Defaults and choices
//!
//! - Temporality is cumulative unless the exporter asks for delta; with delta, counters,
//!   histograms and observable counters are delta and up-down counters stay cumulative.
//! - Cumulative points start when their series was first recorded, and keep that start.
//!   Delta points start at the previous collection.
//! - Each stream keeps at most `limit - 1` attribute sets (default limit 2000); later sets
//!   go to one series with `otel.metric.overflow=true`, counted in [`SdkStats`].
//! - Observable instruments support the Sum, LastValue and Drop aggregations; a view giving
//!   them another falls back to the default with a warning.
//! - Problems that recording cannot return (invalid names, panicking callbacks, failed
//!   exports) are reported through [`prw_api::diagnostics`] (standard error by default).
#![warn(missing_docs)]

mod aggregation;
mod controller;
mod error;
pub mod executor;
pub mod export;
mod in_memory;
mod internal;
mod meter;
mod provider;
mod reader;
pub mod resource;
mod time;
pub mod view;

pub use aggregation::{Aggregation, DEFAULT_BOUNDARIES, DEFAULT_MAX_SCALE, DEFAULT_MAX_SIZE};
pub use controller::{
    DEFAULT_INTERVAL, DEFAULT_TIMEOUT, PeriodicController, PeriodicControllerBuilder,
};
pub use error::ConfigError;
pub use executor::{Spawn, block_on_timeout};
pub use export::{
    ExportError, ExportFuture, ExportResult, MetricExporter, ResourceMetrics, Temporality,
};
pub use in_memory::InMemoryExporter;
pub use provider::{
    DEFAULT_CARDINALITY_LIMIT, DEFAULT_SHUTDOWN_TIMEOUT, SdkMeterProvider, SdkMeterProviderBuilder,
    SdkStats,
};
pub use reader::{Collector, ManualReader, MetricReader};
pub use resource::{Resource, ResourceBuilder};
pub use view::{View, ViewBuilder};

/// The API this SDK implements, re-exported.
pub use prw_api as api;
