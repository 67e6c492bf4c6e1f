//! The periodic controller: see [`PeriodicController`].

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prw_api::diagnostics::{self, Severity};

use crate::executor::{Spawn, block_on_timeout, spawn_and_wait};
use crate::export::{ExportError, ExportResult, MetricExporter, ResourceMetrics, Temporality};
use crate::reader::{Collector, MetricReader};

/// The default collection interval (the specification's 60 s).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// The default time one export may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds a [`PeriodicController`].
#[derive(Debug)]
#[must_use = "call .build() and pass the controller to SdkMeterProviderBuilder::with_reader"]
pub struct PeriodicControllerBuilder {
    exporter: Arc<dyn MetricExporter>,
    interval: Duration,
    timeout: Duration,
    spawner: Option<Arc<dyn Spawn>>,
}

impl PeriodicControllerBuilder {
    /// How often to collect and export (default 60 s; zero is raised to 1 ms).
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(1));
        self
    }
    /// How long one export may take before it is cancelled (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Runs the exporter's futures on this executor instead of the controller's thread.
    pub fn with_spawner(mut self, spawner: impl Spawn) -> Self {
        self.spawner = Some(Arc::new(spawner));
        self
    }
    /// Finishes the controller; it starts when the provider is built.
    pub fn build(self) -> PeriodicController {
        PeriodicController {
            inner: Arc::new(Inner {
                exporter: self.exporter,
                interval: self.interval,
                timeout: self.timeout,
                spawner: self.spawner,
                state: Mutex::new(State::default()),
                wake: Condvar::new(),
                spare: Mutex::new(None),
            }),
        }
    }
}

/// [`PeriodicController`]: collects every interval on its own thread and hands the result to
/// a [`MetricExporter`].
///
/// - Exports never overlap: one thread collects and exports, one collection at a time.
/// - Recording never waits for it: instruments write to the series store, which the
///   controller only reads; a slow or failing exporter delays the next collection, and
///   cumulative data simply accumulates meanwhile.
/// - Each export gets `timeout`; one that takes longer is cancelled (dropped) and counted.
/// - Each collection is written into the one the exporter hands back through
///   [`MetricExporter::reclaim`] (if it does), reusing its memory.
/// - [`force_flush`](MetricReader::force_flush) and [`shutdown`](MetricReader::shutdown)
///   collect and export at once; shutdown then shuts the exporter down and stops the thread.
///
/// The exporter's futures run on the controller thread (polled by a tiny built-in
/// executor), or on the caller's runtime when one is given with
/// [`PeriodicControllerBuilder::with_spawner`].
///
/// ```
/// use std::time::Duration;
/// use prw_api::MeterProvider;
/// use prw_sdk::{InMemoryExporter, PeriodicController, SdkMeterProvider};
///
/// let exporter = InMemoryExporter::new();
/// let provider = SdkMeterProvider::builder()
///     .with_reader(
///         PeriodicController::builder(exporter.clone()).with_interval(Duration::from_secs(10)).build(),
///     )
///     .build();
/// provider.meter("app").u64_counter("jobs").build().add(1, &[]);
/// provider.shutdown().unwrap(); // exports what is pending
/// assert_eq!(exporter.exported().len(), 1);
/// ```
#[derive(Debug)]
pub struct PeriodicController {
    inner: Arc<Inner>,
}

impl PeriodicController {
    /// Starts a controller for `exporter`.
    pub fn builder(exporter: impl MetricExporter) -> PeriodicControllerBuilder {
        PeriodicController::builder_arc(Arc::new(exporter))
    }

    /// Starts a controller for an exporter that is already shared.
    pub fn builder_arc(exporter: Arc<dyn MetricExporter>) -> PeriodicControllerBuilder {
        PeriodicControllerBuilder {
            exporter,
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            spawner: None,
        }
    }
}

struct Inner {
    exporter: Arc<dyn MetricExporter>,
    interval: Duration,
    timeout: Duration,
    spawner: Option<Arc<dyn Spawn>>,
    state: Mutex<State>,
    wake: Condvar,
    /// A collection that had nothing to export, kept to collect the next one into.
    spare: Mutex<Option<ResourceMetrics>>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeriodicController")
            .field("exporter", &self.exporter)
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    commands: VecDeque<Command>,
    thread: Option<JoinHandle<()>>,
    shut: bool,
}

enum Command {
    Flush(Arc<Reply>),
    Shutdown(Arc<Reply>, Instant),
}

#[derive(Default)]
struct Reply {
    result: Mutex<Option<ExportResult>>,
    done: Condvar,
}

impl Reply {
    fn set(&self, r: ExportResult) {
        *self.result.lock().unwrap_or_else(PoisonError::into_inner) = Some(r);
        self.done.notify_all();
    }
    fn wait(&self, deadline: Instant) -> ExportResult {
        let mut r = self.result.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(r) = r.take() {
                return r;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ExportError::Timeout(deadline.saturating_duration_since(now)));
            }
            r = self.done.wait_timeout(r, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}

impl Inner {
    /// Runs an exporter future to completion or `deadline`.
    fn drive(
        &self,
        make: impl FnOnce(Arc<dyn MetricExporter>) -> crate::export::ExportFuture<'static>,
        deadline: Instant,
        budget: Duration,
    ) -> ExportResult {
        let future = make(self.exporter.clone());
        let out = match &self.spawner {
            Some(s) => spawn_and_wait(&**s, future, deadline),
            None => block_on_timeout(future, deadline),
        };
        out.unwrap_or(Err(ExportError::Timeout(budget)))
    }

    fn collect_and_export(&self, collector: &Collector, deadline: Instant) -> ExportResult {
        // Collect into a collection the exporter is done with (or the one kept from an
        // interval with nothing to export), so steady-state collections reuse its memory.
        let mut metrics = self
            .exporter
            .reclaim()
            .or_else(|| self.spare.lock().unwrap_or_else(PoisonError::into_inner).take())
            .unwrap_or_default();
        collector.collect_into(&mut metrics)?;
        if metrics.scope_metrics.is_empty() {
            *self.spare.lock().unwrap_or_else(PoisonError::into_inner) = Some(metrics);
            return Ok(());
        }
        let budget = deadline.saturating_duration_since(Instant::now());
        let result =
            self.drive(move |e| Box::pin(async move { e.export(metrics).await }), deadline, budget);
        if let Err(e) = &result {
            collector.count_failed_export();
            diagnostics::report(Severity::Error, format!("metrics export failed: {e}"));
        }
        result
    }

    fn run(self: Arc<Self>, collector: Collector) {
        let mut next = Instant::now() + self.interval;
        loop {
            let command = {
                let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                loop {
                    if let Some(c) = s.commands.pop_front() {
                        break Some(c);
                    }
                    let now = Instant::now();
                    if now >= next {
                        break None;
                    }
                    s = self
                        .wake
                        .wait_timeout(s, next - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            };
            match command {
                None => {
                    let _ = self.collect_and_export(&collector, Instant::now() + self.timeout);
                    next += self.interval;
                    let now = Instant::now();
                    if next <= now {
                        // Fell behind (a slow export): skip the missed ticks, don't burst.
                        next = now + self.interval;
                    }
                }
                Some(Command::Flush(reply)) => {
                    let deadline = Instant::now() + self.timeout;
                    let exported = self.collect_and_export(&collector, deadline);
                    let flushed = self.drive(
                        |e| Box::pin(async move { e.force_flush().await }),
                        deadline,
                        self.timeout,
                    );
                    reply.set(exported.and(flushed));
                }
                Some(Command::Shutdown(reply, deadline)) => {
                    // Each step gets the export timeout, within the caller's deadline.
                    let step = |now: Instant| deadline.min(now + self.timeout);
                    let exported = self.collect_and_export(&collector, step(Instant::now()));
                    let deadline = step(Instant::now());
                    let left = deadline.saturating_duration_since(Instant::now());
                    let stopped = self.drive(
                        move |e| Box::pin(async move { e.shutdown(left).await }),
                        deadline,
                        left,
                    );
                    reply.set(exported.and(stopped));
                    return;
                }
            }
        }
    }

    fn send(&self, make: impl FnOnce(Arc<Reply>) -> Command, deadline: Instant) -> ExportResult {
        let reply = Arc::new(Reply::default());
        {
            let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if s.shut {
                return Err(ExportError::AlreadyShutdown);
            }
            if s.thread.is_none() {
                return Err(ExportError::Failed(
                    "the controller is not running: pass it to SdkMeterProviderBuilder::with_reader".into(),
                ));
            }
            s.commands.push_back(make(reply.clone()));
        }
        self.wake.notify_all();
        reply.wait(deadline)
    }
}

impl MetricReader for PeriodicController {
    fn temporality(&self) -> Temporality {
        self.inner.exporter.temporality()
    }

    fn register(&self, collector: Collector) {
        let inner = self.inner.clone();
        let spawned = std::thread::Builder::new()
            .name("prw-metrics".into())
            .spawn(move || inner.run(collector));
        match spawned {
            Ok(handle) => {
                self.inner.state.lock().unwrap_or_else(PoisonError::into_inner).thread =
                    Some(handle)
            }
            Err(e) => diagnostics::report(
                Severity::Error,
                format!(
                    "could not start the metrics controller thread, nothing will be exported: {e}"
                ),
            ),
        }
    }

    fn force_flush(&self, deadline: Duration) -> ExportResult {
        self.inner.send(Command::Flush, Instant::now() + deadline)
    }

    fn shutdown(&self, deadline: Duration) -> ExportResult {
        let end = Instant::now() + deadline;
        let result = self.inner.send(|r| Command::Shutdown(r, end), end);
        let thread = {
            let mut s = self.inner.state.lock().unwrap_or_else(PoisonError::into_inner);
            if s.shut {
                return Err(ExportError::AlreadyShutdown);
            }
            s.shut = true;
            s.thread.take()
        };
        if let Some(t) = thread {
            // Join only a thread that has finished: a hung exporter must not hang the caller.
            if t.is_finished() {
                let _ = t.join();
            }
        }
        result
    }
}
