//! Readers: what collects from the provider. [`ManualReader`] collects when asked;
//! [`PeriodicController`](crate::PeriodicController) collects on a timer and exports.

use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use crate::export::{ExportError, ExportResult, ResourceMetrics, Temporality};
use crate::internal::pipeline::Pipeline;
use crate::internal::stream::Stats;

/// Collects from one provider; handed to a reader when the provider is built.
#[derive(Debug, Clone)]
pub struct Collector {
    pipeline: Weak<Pipeline>,
    stats: Arc<Stats>,
}

impl Collector {
    pub(crate) fn new(pipeline: &Arc<Pipeline>) -> Self {
        Collector { pipeline: Arc::downgrade(pipeline), stats: pipeline.stats.clone() }
    }

    /// Runs observable callbacks and returns every stream's current points.
    pub fn collect(&self) -> Result<ResourceMetrics, ExportError> {
        let mut rm = ResourceMetrics::default();
        self.collect_into(&mut rm)?;
        Ok(rm)
    }

    /// Like [`collect`](Collector::collect), but overwrites `rm`, keeping its strings' and
    /// vectors' memory: pass the previous collection (see
    /// [`MetricExporter::reclaim`](crate::MetricExporter::reclaim)) and a collection of
    /// unchanged series allocates nothing. The result does not depend on what `rm` held:
    /// it equals what `collect` returns. On error `rm` is left as it was.
    pub fn collect_into(&self, rm: &mut ResourceMetrics) -> Result<(), ExportError> {
        match self.pipeline.upgrade() {
            Some(p) => {
                p.collect_into(rm);
                Ok(())
            }
            None => Err(ExportError::AlreadyShutdown),
        }
    }

    pub(crate) fn count_failed_export(&self) {
        self.stats.failed_exports.fetch_add(1, Ordering::Relaxed);
    }
}

/// Something that collects metrics from a provider.
pub trait MetricReader: Debug + Send + Sync + 'static {
    /// The temporality the reader wants.
    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
    /// Called once, when the provider is built.
    fn register(&self, collector: Collector);
    /// Exports whatever is pending; waits at most `deadline`.
    fn force_flush(&self, deadline: Duration) -> ExportResult;
    /// Exports whatever is pending and stops; waits at most `deadline`.
    fn shutdown(&self, deadline: Duration) -> ExportResult;
}

#[derive(Debug)]
struct ManualInner {
    temporality: Temporality,
    collector: Mutex<Option<Collector>>,
    shut: AtomicBool,
}

/// A reader that collects only when [`collect`](ManualReader::collect) is called: for tests
/// and pull exporters. Clones share the registration, so keep one and give one to the
/// provider.
///
/// ```
/// use prw_api::MeterProvider;
/// use prw_sdk::{ManualReader, SdkMeterProvider};
///
/// let reader = ManualReader::new();
/// let provider = SdkMeterProvider::builder().with_reader(reader.clone()).build();
/// provider.meter("app").u64_counter("hits").build().add(2, &[]);
/// let collected = reader.collect().unwrap();
/// assert_eq!(collected.scope_metrics[0].metrics[0].name, "hits");
/// ```
#[derive(Debug, Clone)]
pub struct ManualReader {
    inner: Arc<ManualInner>,
}

impl Default for ManualReader {
    fn default() -> Self {
        ManualReader::new()
    }
}

impl ManualReader {
    /// A cumulative manual reader.
    pub fn new() -> Self {
        ManualReader::with_temporality(Temporality::Cumulative)
    }

    /// A manual reader with the given temporality.
    pub fn with_temporality(temporality: Temporality) -> Self {
        ManualReader {
            inner: Arc::new(ManualInner {
                temporality,
                collector: Mutex::new(None),
                shut: AtomicBool::new(false),
            }),
        }
    }

    /// Collects now.
    pub fn collect(&self) -> Result<ResourceMetrics, ExportError> {
        let mut rm = ResourceMetrics::default();
        self.collect_into(&mut rm)?;
        Ok(rm)
    }

    /// Collects now, over `rm`: a previous collection handed back here is overwritten in
    /// place, reusing its memory, and the result equals what [`collect`](Self::collect)
    /// returns whatever `rm` held. On error `rm` is left as it was.
    ///
    /// ```
    /// use prw_api::MeterProvider;
    /// use prw_sdk::{ManualReader, ResourceMetrics, SdkMeterProvider};
    ///
    /// let reader = ManualReader::new();
    /// let provider = SdkMeterProvider::builder().with_reader(reader.clone()).build();
    /// let hits = provider.meter("app").u64_counter("hits").build();
    /// let mut rm = ResourceMetrics::default();
    /// for _ in 0..3 {
    ///     hits.add(1, &[]);
    ///     reader.collect_into(&mut rm).unwrap(); // the 2nd and 3rd reuse the 1st's memory
    /// }
    /// assert_eq!(rm.scope_metrics[0].metrics[0].name, "hits");
    /// ```
    pub fn collect_into(&self, rm: &mut ResourceMetrics) -> Result<(), ExportError> {
        if self.inner.shut.load(Ordering::Acquire) {
            return Err(ExportError::AlreadyShutdown);
        }
        let collector = self.inner.collector.lock().unwrap_or_else(PoisonError::into_inner).clone();
        match collector {
            Some(c) => c.collect_into(rm),
            None => Err(ExportError::Failed(
                "the reader is not registered: pass it to SdkMeterProviderBuilder::with_reader"
                    .into(),
            )),
        }
    }
}

impl MetricReader for ManualReader {
    fn temporality(&self) -> Temporality {
        self.inner.temporality
    }
    fn register(&self, collector: Collector) {
        *self.inner.collector.lock().unwrap_or_else(PoisonError::into_inner) = Some(collector);
    }
    fn force_flush(&self, _deadline: Duration) -> ExportResult {
        if self.inner.shut.load(Ordering::Acquire) {
            return Err(ExportError::AlreadyShutdown);
        }
        Ok(())
    }
    fn shutdown(&self, _deadline: Duration) -> ExportResult {
        if self.inner.shut.swap(true, Ordering::AcqRel) {
            return Err(ExportError::AlreadyShutdown);
        }
        Ok(())
    }
}
