//! The periodic controller: periodic exports, flush and shutdown, exporters that are slow,
//! hung or failing, exports that never overlap, and a caller-provided executor.
#![allow(clippy::unwrap_used)] // tests and benches: a failure should stop them

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use prw_sdk::{
    ExportError, ExportFuture, InMemoryExporter, MetricExporter, PeriodicController,
    ResourceMetrics, SdkMeterProvider, Spawn,
};

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

fn provider_for(controller: PeriodicController) -> SdkMeterProvider {
    SdkMeterProvider::builder()
        .with_resource(prw_sdk::Resource::builder_empty().with_service_name("t").build())
        .with_reader(controller)
        .build()
}

#[test]
fn exports_every_interval() {
    let exporter = InMemoryExporter::new();
    let p = provider_for(
        PeriodicController::builder(exporter.clone())
            .with_interval(Duration::from_millis(10))
            .build(),
    );
    let c = p.meter("m").u64_counter("c").build();
    c.add(1, &[]);
    wait_until("two exports", || exporter.exported().len() >= 2);
    let last = exporter.exported().pop().unwrap();
    assert_eq!(single(metric(&last, "c")), 1.0);
    p.shutdown().unwrap();
}

#[test]
fn shutdown_exports_what_is_pending() {
    let exporter = InMemoryExporter::new();
    let p = provider_for(PeriodicController::builder(exporter.clone()).build());
    p.meter("m").u64_counter("c").build().add(7, &[]);
    assert!(exporter.exported().is_empty());
    p.shutdown().unwrap();
    let exported = exporter.exported();
    assert_eq!(exported.len(), 1);
    assert_eq!(single(metric(&exported[0], "c")), 7.0);
    assert!(exporter.is_shutdown());
    assert_eq!(p.shutdown(), Err(ExportError::AlreadyShutdown));
    assert_eq!(p.force_flush(), Err(ExportError::AlreadyShutdown));
}

#[test]
fn force_flush_exports_and_flushes() {
    let exporter = InMemoryExporter::new();
    let p = provider_for(PeriodicController::builder(exporter.clone()).build());
    p.meter("m").u64_counter("c").build().add(1, &[]);
    p.force_flush().unwrap();
    assert_eq!(exporter.exported().len(), 1);
    assert_eq!(exporter.flushes(), 1);
}

#[test]
fn dropping_the_provider_flushes() {
    let exporter = InMemoryExporter::new();
    {
        let p = provider_for(PeriodicController::builder(exporter.clone()).build());
        p.meter("m").u64_counter("c").build().add(3, &[]);
    }
    assert_eq!(exporter.exported().len(), 1);
    assert!(exporter.is_shutdown());
}

#[test]
fn failing_exports_are_counted_and_reported() {
    let exporter = InMemoryExporter::new();
    exporter.set_failing(true);
    let p = provider_for(PeriodicController::builder(exporter.clone()).build());
    p.meter("m").u64_counter("c").build().add(1, &[]);
    assert!(matches!(p.force_flush(), Err(ExportError::Failed(_))));
    assert_eq!(p.stats().failed_exports, 1);
    // Data is not lost with cumulative temporality: the next export carries it.
    exporter.set_failing(false);
    p.force_flush().unwrap();
    assert_eq!(single(metric(&exporter.exported()[0], "c")), 1.0);
}

/// A future that completes after `delay`, woken from another thread.
struct Sleep {
    until: Instant,
    started: bool,
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.until {
            return Poll::Ready(());
        }
        if !self.started {
            self.started = true;
            let (w, until): (Waker, Instant) = (cx.waker().clone(), self.until);
            thread::spawn(move || {
                thread::sleep(until.saturating_duration_since(Instant::now()));
                w.wake();
            });
        }
        Poll::Pending
    }
}

fn sleep(d: Duration) -> Sleep {
    Sleep { until: Instant::now() + d, started: false }
}

#[derive(Debug, Default)]
struct Slow {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    done: AtomicUsize,
    delay_ms: u64,
}

#[derive(Debug, Clone, Default)]
struct SlowExporter(Arc<Slow>);

impl MetricExporter for SlowExporter {
    fn export(&self, _metrics: ResourceMetrics) -> ExportFuture<'_> {
        let s = self.0.clone();
        Box::pin(async move {
            let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            s.max_in_flight.fetch_max(now, Ordering::SeqCst);
            sleep(Duration::from_millis(s.delay_ms)).await;
            s.in_flight.fetch_sub(1, Ordering::SeqCst);
            s.done.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
    fn force_flush(&self) -> ExportFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    fn shutdown(&self, _deadline: Duration) -> ExportFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}

#[test]
fn exports_never_overlap_and_recording_goes_on() {
    let exporter = SlowExporter(Arc::new(Slow { delay_ms: 30, ..Default::default() }));
    let p = provider_for(
        PeriodicController::builder(exporter.clone())
            .with_interval(Duration::from_millis(2))
            .build(),
    );
    let c = p.meter("m").u64_counter("c").build();
    // Record while exports are in flight.
    let mut adds = 0u64;
    while exporter.0.done.load(Ordering::SeqCst) < 3 {
        c.add(1, &[]);
        adds += 1;
    }
    assert!(adds > 0);
    p.shutdown().unwrap();
    assert_eq!(exporter.0.max_in_flight.load(Ordering::SeqCst), 1);
}

#[derive(Debug, Clone, Default)]
struct Hung(Arc<AtomicUsize>);

impl MetricExporter for Hung {
    fn export(&self, _metrics: ResourceMetrics) -> ExportFuture<'_> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::pending())
    }
    fn force_flush(&self) -> ExportFuture<'_> {
        Box::pin(std::future::pending())
    }
    fn shutdown(&self, _deadline: Duration) -> ExportFuture<'_> {
        Box::pin(std::future::pending())
    }
}

#[test]
fn a_hung_exporter_times_out_and_blocks_nobody() {
    let hung = Hung::default();
    let p = provider_for(
        PeriodicController::builder(hung.clone())
            .with_interval(Duration::from_millis(5))
            .with_timeout(Duration::from_millis(20))
            .build(),
    );
    let c = p.meter("m").u64_counter("c").build();
    // Several exports start and time out one after the other while recording continues.
    while hung.0.load(Ordering::SeqCst) < 3 {
        c.add(1, &[]);
    }
    assert!(p.stats().failed_exports >= 2);
    let start = Instant::now();
    let result = p.shutdown_with_timeout(Duration::from_millis(100));
    assert!(matches!(result, Err(ExportError::Timeout(_))), "{result:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

/// Runs each future on a fresh thread, as a stand-in for a tokio runtime handle.
#[derive(Debug, Clone, Default)]
struct ThreadSpawner(Arc<Mutex<usize>>);

impl Spawn for ThreadSpawner {
    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send + 'static>>) {
        *self.0.lock().unwrap() += 1;
        thread::spawn(move || {
            prw_sdk::block_on_timeout(future, Instant::now() + Duration::from_secs(30))
        });
    }
}

#[test]
fn futures_can_run_on_the_callers_executor() {
    let exporter = InMemoryExporter::new();
    let spawner = ThreadSpawner::default();
    let p = provider_for(
        PeriodicController::builder(exporter.clone()).with_spawner(spawner.clone()).build(),
    );
    p.meter("m").u64_counter("c").build().add(2, &[]);
    p.force_flush().unwrap();
    assert_eq!(single(metric(&exporter.exported()[0], "c")), 2.0);
    p.shutdown().unwrap();
    // export + flush + final export + shutdown all went through the spawner.
    assert_eq!(*spawner.0.lock().unwrap(), 4);
}

#[test]
fn a_hung_future_on_the_callers_executor_is_cancelled() {
    let hung = Hung::default();
    let p = provider_for(
        PeriodicController::builder(hung.clone())
            .with_spawner(ThreadSpawner::default())
            .with_timeout(Duration::from_millis(20))
            .build(),
    );
    p.meter("m").u64_counter("c").build().add(1, &[]);
    assert!(matches!(p.force_flush(), Err(ExportError::Timeout(_))));
}
