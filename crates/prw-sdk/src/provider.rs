//! [`SdkMeterProvider`]: owns the pipelines (one per reader) and hands out meters.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prw_api::diagnostics::{self, Severity};
use prw_api::{InstrumentationScope, Meter, MeterProvider};

use crate::export::{ExportError, ExportResult};
use crate::internal::pipeline::Pipeline;
use crate::internal::stream::Stats;
use crate::meter::SdkMeter;
use crate::reader::{Collector, MetricReader};
use crate::resource::Resource;
use crate::view::View;

/// The default cardinality limit per metric stream (counting the overflow series).
pub const DEFAULT_CARDINALITY_LIMIT: usize = 2000;
/// How long [`SdkMeterProvider::shutdown`] and [`SdkMeterProvider::force_flush`] wait.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Counters of what the SDK dropped or failed to do, since the provider was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SdkStats {
    /// Measurements aggregated into an `otel.metric.overflow=true` series because their
    /// stream had reached its cardinality limit.
    pub overflowed_measurements: u64,
    /// Measurements refused: negative values on counters, NaN or infinity on histograms.
    pub rejected_measurements: u64,
    /// Observable-instrument callbacks that returned an error or panicked.
    pub callback_failures: u64,
    /// Exports that failed or timed out.
    pub failed_exports: u64,
}

/// Builds an [`SdkMeterProvider`].
#[must_use = "call .build() to get the provider"]
pub struct SdkMeterProviderBuilder {
    resource: Option<Resource>,
    views: Vec<View>,
    readers: Vec<Box<dyn MetricReader>>,
    limit: usize,
}

impl fmt::Debug for SdkMeterProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SdkMeterProviderBuilder")
            .field("resource", &self.resource)
            .field("views", &self.views)
            .field("readers", &self.readers)
            .field("limit", &self.limit)
            .finish()
    }
}

impl SdkMeterProviderBuilder {
    /// Sets the resource (default: [`Resource::builder`]`().build()`, the detected one).
    pub fn with_resource(mut self, resource: Resource) -> Self {
        self.resource = Some(resource);
        self
    }
    /// Adds a view.
    pub fn with_view(mut self, view: View) -> Self {
        self.views.push(view);
        self
    }
    /// Adds a reader: a [`PeriodicController`](crate::PeriodicController), a
    /// [`ManualReader`](crate::ManualReader) or your own.
    pub fn with_reader(mut self, reader: impl MetricReader) -> Self {
        self.readers.push(Box::new(reader));
        self
    }
    /// Sets the default cardinality limit of every stream (default 2000, at least 2; views
    /// can set their own). A smaller value is raised to 2 with a warning.
    pub fn with_cardinality_limit(mut self, limit: usize) -> Self {
        if limit < 2 {
            diagnostics::report(
                Severity::Warning,
                format!(
                    "cardinality limit {limit} raised to 2 (one attribute set plus the overflow series)"
                ),
            );
        }
        self.limit = limit.max(2);
        self
    }
    /// Builds the provider and starts its readers.
    pub fn build(self) -> SdkMeterProvider {
        let resource = self.resource.unwrap_or_else(|| Resource::builder().build());
        let views: Arc<[View]> = self.views.into();
        let stats = Arc::new(Stats::default());
        let pipelines: Vec<Arc<Pipeline>> = self
            .readers
            .iter()
            .map(|r| {
                Arc::new(Pipeline::new(
                    &resource,
                    views.clone(),
                    r.temporality(),
                    self.limit,
                    stats.clone(),
                ))
            })
            .collect();
        for (r, p) in self.readers.iter().zip(&pipelines) {
            r.register(Collector::new(p));
        }
        SdkMeterProvider {
            inner: Arc::new(Inner {
                pipelines: pipelines.into(),
                readers: self.readers,
                meters: Mutex::new(HashMap::new()),
                shut: AtomicBool::new(false),
                stats,
                resource,
            }),
        }
    }
}

/// A meter's identity: scope name, version and schema URL.
type ScopeKey = (String, Option<String>, Option<String>);

struct Inner {
    pipelines: Arc<[Arc<Pipeline>]>,
    readers: Vec<Box<dyn MetricReader>>,
    meters: Mutex<HashMap<ScopeKey, Meter>>,
    shut: AtomicBool,
    stats: Arc<Stats>,
    resource: Resource,
}

impl Inner {
    fn shutdown(&self, deadline: Duration) -> ExportResult {
        if self.shut.swap(true, Ordering::AcqRel) {
            return Err(ExportError::AlreadyShutdown);
        }
        let mut result = Ok(());
        for r in &self.readers {
            if let Err(e) = r.shutdown(deadline) {
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
        result
    }
}

impl Drop for Inner {
    /// Dropping the last handle flushes and shuts down, so a `main` that returns loses nothing.
    fn drop(&mut self) {
        if !self.shut.load(Ordering::Acquire) {
            if let Err(e) = self.shutdown(DEFAULT_SHUTDOWN_TIMEOUT) {
                diagnostics::report(
                    Severity::Error,
                    format!("meter provider shutdown on drop: {e}"),
                );
            }
        }
    }
}

/// The SDK's meter provider. Cheap to clone; clones share everything.
///
/// ```
/// use prw_api::{KeyValue, MeterProvider};
/// use prw_sdk::{ManualReader, Resource, SdkMeterProvider};
///
/// let reader = ManualReader::new();
/// let provider = SdkMeterProvider::builder()
///     .with_resource(Resource::builder().with_service_name("shop").build())
///     .with_reader(reader.clone())
///     .build();
/// let orders = provider.meter("shop").u64_counter("orders").build();
/// orders.add(3, &[KeyValue::new("region", "eu")]);
/// let rm = reader.collect().unwrap();
/// assert_eq!(rm.scope_metrics[0].metrics[0].name, "orders");
/// ```
#[derive(Clone)]
pub struct SdkMeterProvider {
    inner: Arc<Inner>,
}

impl fmt::Debug for SdkMeterProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SdkMeterProvider")
            .field("resource", &self.inner.resource)
            .field("readers", &self.inner.readers)
            .finish_non_exhaustive()
    }
}

impl SdkMeterProvider {
    /// Starts a provider.
    pub fn builder() -> SdkMeterProviderBuilder {
        SdkMeterProviderBuilder {
            resource: None,
            views: Vec::new(),
            readers: Vec::new(),
            limit: DEFAULT_CARDINALITY_LIMIT,
        }
    }

    /// A meter for the library or component `name`; the same as
    /// [`MeterProvider::meter`], without needing the trait in scope.
    pub fn meter(&self, name: &'static str) -> Meter {
        MeterProvider::meter(self, name)
    }

    /// A meter for a fully described scope; the same as [`MeterProvider::meter_with_scope`].
    pub fn meter_with_scope(&self, scope: InstrumentationScope) -> Meter {
        MeterProvider::meter_with_scope(self, scope)
    }

    /// The resource every export carries.
    pub fn resource(&self) -> &Resource {
        &self.inner.resource
    }

    /// Collects and exports now in every reader, then flushes the exporters; waits at most
    /// [`DEFAULT_SHUTDOWN_TIMEOUT`].
    pub fn force_flush(&self) -> ExportResult {
        self.force_flush_with_timeout(DEFAULT_SHUTDOWN_TIMEOUT)
    }

    /// [`force_flush`](Self::force_flush) with a deadline.
    pub fn force_flush_with_timeout(&self, deadline: Duration) -> ExportResult {
        if self.inner.shut.load(Ordering::Acquire) {
            return Err(ExportError::AlreadyShutdown);
        }
        let mut result = Ok(());
        for r in &self.inner.readers {
            if let Err(e) = r.force_flush(deadline) {
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
        result
    }

    /// Exports what is pending, shuts the exporters down and stops the controllers; waits
    /// at most [`DEFAULT_SHUTDOWN_TIMEOUT`]. Instruments keep working but export nothing.
    pub fn shutdown(&self) -> ExportResult {
        self.inner.shutdown(DEFAULT_SHUTDOWN_TIMEOUT)
    }

    /// [`shutdown`](Self::shutdown) with a deadline.
    pub fn shutdown_with_timeout(&self, deadline: Duration) -> ExportResult {
        self.inner.shutdown(deadline)
    }

    /// What was dropped or failed so far.
    pub fn stats(&self) -> SdkStats {
        let s = &self.inner.stats;
        SdkStats {
            overflowed_measurements: s.overflowed.load(Ordering::Relaxed),
            rejected_measurements: s.rejected.load(Ordering::Relaxed),
            callback_failures: s.callback_failures.load(Ordering::Relaxed),
            failed_exports: s.failed_exports.load(Ordering::Relaxed),
        }
    }
}

impl MeterProvider for SdkMeterProvider {
    fn meter_with_scope(&self, scope: InstrumentationScope) -> Meter {
        let key = (
            scope.name().to_owned(),
            scope.version().map(str::to_owned),
            scope.schema_url().map(str::to_owned),
        );
        let mut meters = self.inner.meters.lock().unwrap_or_else(PoisonError::into_inner);
        meters
            .entry(key)
            .or_insert_with(|| {
                Meter::new(Arc::new(SdkMeter::new(scope, self.inner.pipelines.clone())))
            })
            .clone()
    }
}
