//! An exporter that keeps what it is given, for tests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::export::{ExportError, ExportFuture, MetricExporter, ResourceMetrics, Temporality};

#[derive(Debug, Default)]
struct Inner {
    exported: Mutex<Vec<ResourceMetrics>>,
    flushes: Mutex<usize>,
    shut: AtomicBool,
    failing: AtomicBool,
}

/// Keeps every export in memory. Clones share the store: keep one, give one to the
/// controller.
#[derive(Debug, Clone, Default)]
pub struct InMemoryExporter {
    inner: Arc<Inner>,
    temporality: Temporality,
}

impl InMemoryExporter {
    /// A cumulative in-memory exporter.
    pub fn new() -> Self {
        InMemoryExporter::default()
    }
    /// One that asks for `temporality`.
    pub fn with_temporality(temporality: Temporality) -> Self {
        InMemoryExporter { inner: Arc::default(), temporality }
    }
    /// Everything exported so far, oldest first.
    pub fn exported(&self) -> Vec<ResourceMetrics> {
        self.inner.exported.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
    /// Forgets what was exported.
    pub fn reset(&self) {
        self.inner.exported.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
    /// How many times `force_flush` was called.
    pub fn flushes(&self) -> usize {
        *self.inner.flushes.lock().unwrap_or_else(PoisonError::into_inner)
    }
    /// Whether `shutdown` was called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.shut.load(Ordering::Acquire)
    }
    /// Makes every later export fail (or succeed again), to test error handling.
    pub fn set_failing(&self, failing: bool) {
        self.inner.failing.store(failing, Ordering::Release);
    }
}

impl MetricExporter for InMemoryExporter {
    fn export(&self, metrics: ResourceMetrics) -> ExportFuture<'_> {
        let inner = self.inner.clone();
        Box::pin(async move {
            if inner.shut.load(Ordering::Acquire) {
                return Err(ExportError::AlreadyShutdown);
            }
            if inner.failing.load(Ordering::Acquire) {
                return Err(ExportError::Failed("in-memory exporter set to fail".into()));
            }
            inner.exported.lock().unwrap_or_else(PoisonError::into_inner).push(metrics);
            Ok(())
        })
    }
    fn force_flush(&self) -> ExportFuture<'_> {
        *self.inner.flushes.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        Box::pin(async { Ok(()) })
    }
    fn shutdown(&self, _deadline: Duration) -> ExportFuture<'_> {
        let was = self.inner.shut.swap(true, Ordering::AcqRel);
        Box::pin(async move { if was { Err(ExportError::AlreadyShutdown) } else { Ok(()) } })
    }
    fn temporality(&self) -> Temporality {
        self.temporality
    }
}
