//! [`PrometheusRemoteWriteExporter`]: converts each collection, cuts it into requests and
//! hands them to one delivery task per endpoint.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prw_convert::{
    ConvertOptions, ExpHistogramMode, PromoteResourceAttributes, Sample, Series,
    TranslationStrategy,
};
use prw_proto::otlp::metrics::ResourceMetrics;
use prw_sdk::export::{ExportError, ExportFuture, MetricExporter, Temporality};
use prw_transport::{Authenticate, Secret, TlsVersion, Transport};
use tokio::runtime::Handle;

use crate::batch::{self, BatchLimits};
use crate::delivery::{Delivery, EndpointConfig, RetryPolicy};
use crate::endpoint::Endpoint;
use crate::error::BuildError;
use crate::parallel::ParallelConverter;
use crate::payload::{Counts, Payload};
use crate::persistent_queue::{PersistentQueue, PersistentQueueConfig};
use crate::points;
use crate::protocol::Protocol;
use crate::queue::QueueLimits;
use crate::runtime::Runtime;
use crate::self_metrics;
use crate::stats::EndpointStats;

/// Defaults, public so that documentation and tools can show them.
pub mod defaults {
    use std::time::Duration;

    /// Most series (and RW 1.0 metadata entries) per request, as Prometheus' `max_samples_per_send`.
    pub const MAX_SERIES_PER_REQUEST: usize = 2_000;
    /// Requests stay under this many uncompressed bytes (3 MiB).
    pub const MAX_REQUEST_BYTES: usize = 3 << 20;
    /// Most samples and histograms waiting per endpoint (in flight included).
    pub const MAX_QUEUE_SAMPLES: u64 = 500_000;
    /// Most uncompressed bytes waiting per endpoint (128 MiB).
    pub const MAX_QUEUE_BYTES: u64 = 128 << 20;
    /// First retry delay, as Prometheus' `min_backoff`.
    pub const MIN_BACKOFF: Duration = Duration::from_millis(30);
    /// Longest retry delay, as Prometheus' `max_backoff`.
    pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
    /// The longest `Retry-After` honoured.
    pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
    /// How long one request is retried before its data is dropped.
    pub const MAX_RETRY_DURATION: Duration = Duration::from_secs(300);
    /// How long `force_flush` waits for delivery.
    pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);
    /// Threads converting a large collection.
    pub const CONVERSION_THREADS: usize = 2;
}

/// Builds a [`PrometheusRemoteWriteExporter`]; see [`PrometheusRemoteWriteExporter::builder`].
///
/// Setters that can be checked at once return `Result<Self, BuildError>`; everything else is
/// checked by [`build`](Self::build).
#[derive(Debug)]
pub struct PrometheusRemoteWriteExporterBuilder {
    primary: Endpoint,
    others: Vec<Endpoint>,
    protocol: Protocol,
    fallback: bool,
    convert: ConvertOptions,
    send_metadata: bool,
    batch: BatchLimits,
    queue: QueueLimits,
    min_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    max_retry_duration: Option<Duration>,
    flush_timeout: Duration,
    stale_on_shutdown: bool,
    self_metrics: bool,
    conversion_threads: usize,
    runtime: Option<Handle>,
}

impl Default for PrometheusRemoteWriteExporterBuilder {
    fn default() -> Self {
        PrometheusRemoteWriteExporterBuilder {
            primary: Endpoint::unset(),
            others: Vec::new(),
            protocol: Protocol::V1,
            fallback: true,
            convert: ConvertOptions::default(),
            send_metadata: true,
            batch: BatchLimits {
                max_series: defaults::MAX_SERIES_PER_REQUEST,
                max_bytes: defaults::MAX_REQUEST_BYTES,
            },
            queue: QueueLimits {
                max_points: defaults::MAX_QUEUE_SAMPLES,
                max_bytes: defaults::MAX_QUEUE_BYTES,
            },
            min_backoff: defaults::MIN_BACKOFF,
            max_backoff: defaults::MAX_BACKOFF,
            max_retry_after: defaults::MAX_RETRY_AFTER,
            max_retry_duration: Some(defaults::MAX_RETRY_DURATION),
            flush_timeout: defaults::FLUSH_TIMEOUT,
            stale_on_shutdown: true,
            self_metrics: true,
            conversion_threads: defaults::CONVERSION_THREADS,
            runtime: None,
        }
    }
}

macro_rules! forward {
    ($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*)) => {
        $(#[$doc])*
        pub fn $name(mut self, $($arg: $ty),*) -> Self {
            self.primary = self.primary.$name($($arg),*);
            self
        }
    };
}

impl PrometheusRemoteWriteExporterBuilder {
    /// The endpoint, e.g. `http://localhost:9090/api/v1/write` (Prometheus),
    /// `http://localhost:8428/api/v1/write` (VictoriaMetrics),
    /// `https://mimir.example.com/api/v1/push`.
    pub fn endpoint(mut self, url: &str) -> Result<Self, BuildError> {
        self.primary.set_url(url)?;
        Ok(self)
    }

    /// The first endpoint through your own [`Transport`] instead of the built-in HTTP one.
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.primary.custom = Some(transport);
        self
    }

    /// One more endpoint that gets every collection too, with its own queue and retries.
    pub fn add_endpoint(mut self, endpoint: Endpoint) -> Self {
        self.others.push(endpoint);
        self
    }

    forward!(
        /// Request timeout. Default: 30 s.
        timeout(timeout: Duration)
    );
    forward!(
        /// HTTP basic authentication (Python: `basic_auth={"username","password"|"password_file"}`).
        /// Use [`Secret::from_file`] for a password file, re-read when it changes.
        basic_auth(username: impl Into<String>, password: impl Into<Secret>)
    );
    forward!(
        /// `Authorization: Bearer <token>`; the token may be [`Secret::from_file`].
        bearer_token(token: impl Into<Secret>)
    );
    forward!(
        /// A custom authentication step that sees the finished request (request signing).
        authenticator(authenticator: impl Authenticate)
    );
    forward!(
        /// `X-Scope-OrgID: <tenant>` for multi-tenant backends (Mimir, Cortex).
        tenant_id(tenant: impl Into<String>)
    );
    forward!(
        /// Trust only the CAs in this PEM file (Python: `tls_config.ca_file`).
        tls_ca_file(path: impl Into<PathBuf>)
    );
    forward!(
        /// Client certificate for mutual TLS (Python: `tls_config.cert_file`).
        tls_client_cert_file(path: impl Into<PathBuf>)
    );
    forward!(
        /// Client key for mutual TLS (Python: `tls_config.key_file`).
        tls_client_key_file(path: impl Into<PathBuf>)
    );
    forward!(
        /// Verify the server certificate against this name instead of the URL's host.
        tls_server_name(name: impl Into<String>)
    );
    forward!(
        /// Lowest TLS version accepted. Default: 1.2.
        tls_min_version(version: TlsVersion)
    );
    forward!(
        /// Skip certificate verification (Python: `tls_config.insecure_skip_verify`); logged as a warning.
        insecure_skip_verify(skip: bool)
    );
    forward!(
        /// An HTTP proxy (Python: `proxies`); https endpoints go through it with CONNECT.
        proxy(url: impl Into<String>)
    );
    forward!(
        /// Proxy credentials.
        proxy_basic_auth(username: impl Into<String>, password: impl Into<Secret>)
    );
    forward!(
        /// Take the proxy from `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`. Default: off.
        proxy_from_env(enabled: bool)
    );
    forward!(
        /// HTTP/2 instead of HTTP/1.1. Default: off (as Prometheus).
        http2(enabled: bool)
    );

    /// Durable delivery for the first endpoint: every request is written to this queue on
    /// disk before it is sent and removed once delivered (or rejected for good), so that an
    /// outage, a crash or a restart loses nothing within the queue's bounds; what is left is
    /// sent first at the next start. Give a directory, or a [`PersistentQueueConfig`] to set
    /// its bounds (default 512 MiB and 2 hours) and fsync policy (default: every request).
    /// With it, a request is retried for at least the queue's `max_age`. Other endpoints:
    /// [`Endpoint::persistent_queue`]. Default: off (requests wait in memory, within
    /// `max_queue_samples` and `max_queue_bytes`).
    pub fn persistent_queue(mut self, queue: impl Into<PersistentQueueConfig>) -> Self {
        self.primary = self.primary.persistent_queue(queue);
        self
    }

    /// An extra header on every request (Python: `headers`). Protocol headers and
    /// `Authorization` are refused.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, BuildError> {
        self.primary = self.primary.header(name, value)?;
        Ok(self)
    }

    /// Several extra headers.
    pub fn headers<'a>(
        mut self,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, BuildError> {
        self.primary = self.primary.headers(headers)?;
        Ok(self)
    }

    /// RW 1.0 (default), RW 2.0 or auto; see [`Protocol`].
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// With [`Protocol::V2`]: fall back to RW 1.0 for an endpoint that does not speak 2.0.
    /// Default: on. ([`Protocol::Auto`] always falls back.)
    pub fn fallback_to_v1(mut self, enabled: bool) -> Self {
        self.fallback = enabled;
        self
    }

    /// All conversion options at once (naming, `target_info`, scope labels, ...).
    pub fn convert_options(mut self, options: ConvertOptions) -> Self {
        self.convert = options;
        self
    }

    /// How metric names are translated. Default: underscore escaping with unit and `_total`
    /// suffixes. The UTF-8 strategies need RW 2.0 without fallback.
    pub fn translation_strategy(mut self, strategy: TranslationStrategy) -> Self {
        self.convert.translation_strategy = strategy;
        self
    }

    /// A prefix for every metric name (`<namespace>_<name>`). Default: none.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.convert.namespace = Some(namespace.into());
        self
    }

    /// Send a `target_info` series with the resource's attributes. Default: on.
    pub fn target_info(mut self, enabled: bool) -> Self {
        self.convert.target_info = enabled;
        self
    }

    /// Add `otel_scope_name` / `otel_scope_version` labels. Default: on.
    pub fn scope_labels(mut self, enabled: bool) -> Self {
        self.convert.scope_labels = enabled;
        self
    }

    /// Copy every resource attribute onto every series as a label (Python:
    /// `resources_as_labels=True`). Default: off; they go to `target_info`.
    pub fn resources_as_labels(mut self, enabled: bool) -> Self {
        self.convert.promote_resource_attributes =
            if enabled { PromoteResourceAttributes::All } else { PromoteResourceAttributes::None };
        self
    }

    /// Copy only these resource attributes onto every series.
    pub fn promote_resource_attributes<S: Into<String>>(
        mut self,
        keys: impl IntoIterator<Item = S>,
    ) -> Self {
        self.convert.promote_resource_attributes =
            PromoteResourceAttributes::Keys(keys.into_iter().map(Into::into).collect());
        self
    }

    /// A label added to every series that does not have it (like Prometheus' `external_labels`).
    pub fn external_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.convert.external_labels.push((name.into(), value.into()));
        self
    }

    /// Native histograms (default) or classic buckets for exponential histograms.
    pub fn exponential_histograms(mut self, mode: ExpHistogramMode) -> Self {
        self.convert.exponential_histograms = mode;
        self
    }

    /// Send metric metadata (type, help, unit) with RW 1.0 requests. Default: on.
    /// (RW 2.0 always carries it inline.)
    pub fn send_metadata(mut self, enabled: bool) -> Self {
        self.send_metadata = enabled;
        self
    }

    /// Most series per request. Default: 2,000.
    pub fn max_series_per_request(mut self, n: usize) -> Self {
        self.batch.max_series = n;
        self
    }

    /// Requests stay under this many uncompressed bytes. Default: 3 MiB.
    pub fn max_request_bytes(mut self, n: usize) -> Self {
        self.batch.max_bytes = n;
        self
    }

    /// Most samples (and native histograms) waiting per endpoint; beyond it the oldest are
    /// dropped and counted. Default: 500,000.
    pub fn max_queue_samples(mut self, n: u64) -> Self {
        self.queue.max_points = n;
        self
    }

    /// Most uncompressed bytes waiting per endpoint. Default: 128 MiB.
    pub fn max_queue_bytes(mut self, n: u64) -> Self {
        self.queue.max_bytes = n;
        self
    }

    /// First retry delay. Default: 30 ms.
    pub fn min_backoff(mut self, d: Duration) -> Self {
        self.min_backoff = d;
        self
    }

    /// Longest retry delay; delays double up to it, with jitter. Default: 5 s.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// The longest `Retry-After` honoured. Default: 60 s.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// How long one request is retried before its data is dropped and counted; `None` retries
    /// until shutdown (the queue limits still apply). Default: 5 minutes.
    pub fn max_retry_duration(mut self, d: Option<Duration>) -> Self {
        self.max_retry_duration = d;
        self
    }

    /// How long `force_flush` waits for delivery. Default: 30 s.
    pub fn flush_timeout(mut self, d: Duration) -> Self {
        self.flush_timeout = d;
        self
    }

    /// On shutdown, send a stale marker for every series, so they end at once in Prometheus
    /// instead of five minutes later. Default: on.
    pub fn stale_markers_on_shutdown(mut self, enabled: bool) -> Self {
        self.stale_on_shutdown = enabled;
        self
    }

    /// Export the exporter's own `prometheus_remote_storage_*` metrics with every collection.
    /// Default: on.
    pub fn self_metrics(mut self, enabled: bool) -> Self {
        self.self_metrics = enabled;
        self
    }

    /// Threads that convert a large collection (in chunks of 5,000 points): the exporting
    /// thread plus short-lived helpers. 1 keeps conversion on the exporting thread. Default: 2.
    pub fn conversion_threads(mut self, threads: usize) -> Self {
        self.conversion_threads = threads;
        self
    }

    /// Run delivery on this tokio runtime. Default: the current runtime when `build()` is
    /// called inside a multi-threaded one, else a small runtime on a thread of its own.
    pub fn runtime(mut self, handle: Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// Checks every setting and starts one delivery task per endpoint.
    pub fn build(self) -> Result<PrometheusRemoteWriteExporter, BuildError> {
        let zero = |v: bool, setting, default| {
            if v { Err(BuildError::Zero { setting, default }) } else { Ok(()) }
        };
        zero(self.batch.max_series == 0, "max_series_per_request", "2000")?;
        zero(self.queue.max_points == 0, "max_queue_samples", "500000")?;
        zero(self.queue.max_bytes == 0, "max_queue_bytes", "128 MiB")?;
        zero(self.min_backoff.is_zero(), "min_backoff", "30ms")?;
        zero(self.flush_timeout.is_zero(), "flush_timeout", "30s")?;
        zero(self.conversion_threads == 0, "conversion_threads", "2")?;
        zero(self.max_retry_duration.is_some_and(|d| d.is_zero()), "max_retry_duration", "5m")?;
        if self.batch.max_bytes < 1024 {
            return Err(BuildError::RequestBytesTooSmall(self.batch.max_bytes));
        }
        if self.min_backoff > self.max_backoff {
            return Err(BuildError::BackoffOrder { min: self.min_backoff, max: self.max_backoff });
        }

        let mut endpoints = Vec::new();
        if self.primary.url.is_some() || self.primary.has_options() || self.others.is_empty() {
            endpoints.push(self.primary);
        }
        endpoints.extend(self.others);

        let mut convert = self.convert;
        let protocols: Vec<Protocol> =
            endpoints.iter().map(|e| e.protocol.unwrap_or(self.protocol)).collect();
        let all_v2 = protocols.iter().all(|p| *p != Protocol::V1);
        convert.protocol =
            if all_v2 { prw_convert::Protocol::Rw2 } else { prw_convert::Protocol::Rw1 };
        if !convert.translation_strategy.escapes()
            && protocols.iter().any(|p| p.may_fall_back(self.fallback))
        {
            return Err(BuildError::Utf8WithFallback(convert.translation_strategy));
        }
        let converter = ParallelConverter::new(convert, self.conversion_threads)?;

        let mut built = Vec::with_capacity(endpoints.len());
        let mut seen = HashSet::new();
        for (mut endpoint, protocol) in endpoints.into_iter().zip(protocols) {
            let persistent = endpoint.persistent.take();
            let (transport, uri) = endpoint.build()?;
            if !seen.insert(uri.to_string()) {
                return Err(BuildError::DuplicateEndpoint {
                    url: crate::delivery::display_url(&uri),
                });
            }
            let disk = match persistent {
                Some(config) => Some(PersistentQueue::open(config).map_err(|source| {
                    BuildError::PersistentQueue { url: crate::delivery::display_url(&uri), source }
                })?),
                None => None,
            };
            // Data waiting on disk is kept until it is max_age old: retrying gives up no sooner.
            let max_retry_duration = match (&disk, self.max_retry_duration) {
                (Some(q), Some(d)) => q.config().get_max_age().map(|age| age.max(d)),
                (_, d) => d,
            };
            built.push((
                EndpointConfig {
                    transport,
                    uri,
                    protocol,
                    fallback: self.fallback,
                    retry: RetryPolicy {
                        min_backoff: self.min_backoff,
                        max_backoff: self.max_backoff,
                        max_retry_after: self.max_retry_after,
                        max_retry_duration,
                    },
                    limits: self.queue,
                },
                disk,
            ));
        }

        let runtime = match self.runtime {
            Some(h) => Runtime::borrowed(h),
            None => Runtime::current_or_own().map_err(BuildError::Runtime)?,
        };
        let endpoints = built
            .into_iter()
            .map(|(c, disk)| Arc::new(Delivery::start_with_queue(c, runtime.handle(), disk)))
            .collect();
        Ok(PrometheusRemoteWriteExporter {
            inner: Arc::new(Inner {
                converter,
                endpoints,
                batch: self.batch,
                send_metadata: self.send_metadata,
                stale_on_shutdown: self.stale_on_shutdown,
                self_metrics: self.self_metrics,
                flush_timeout: self.flush_timeout,
                started_ns: now_ns(),
                last: Mutex::new(None),
                spent: Mutex::new(None),
                clock: Mutex::new(points::Clock::default()),
                conversion: Mutex::new(ConversionDrops::default()),
                shut_down: AtomicBool::new(false),
                runtime,
            }),
        })
    }
}

/// Pushes every collection to one or more Prometheus Remote Write endpoints.
///
/// It implements the SDK's [`MetricExporter`]: give it to a
/// [`pipeline`](crate::pipeline()) or to a periodic controller. `export` converts the
/// collection, cuts it into requests and queues them for each endpoint without waiting for the
/// network; delivery (ordering, retries, fallback) runs on a tokio runtime. Cloning is cheap
/// and shares everything.
#[derive(Debug, Clone)]
pub struct PrometheusRemoteWriteExporter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    converter: ParallelConverter,
    endpoints: Vec<Arc<Delivery>>,
    batch: BatchLimits,
    send_metadata: bool,
    stale_on_shutdown: bool,
    self_metrics: bool,
    flush_timeout: Duration,
    started_ns: u64,
    /// The latest collection, for the stale markers at shutdown.
    last: Mutex<Option<ResourceMetrics>>,
    /// A collection the exporter is done with, kept for [`MetricExporter::reclaim`].
    spent: Mutex<Option<ResourceMetrics>>,
    clock: Mutex<points::Clock>,
    conversion: Mutex<ConversionDrops>,
    shut_down: AtomicBool,
    runtime: Runtime,
}

/// Points the conversion dropped, by reason, and which (metric, reason) pairs were logged.
#[derive(Debug, Default)]
struct ConversionDrops {
    by_reason: BTreeMap<String, u64>,
    logged: HashSet<(String, String)>,
}

/// How many distinct (metric, reason) conversion drops are logged; later ones are only counted.
const MAX_LOGGED_CONVERSION_DROPS: usize = 1_000;

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl PrometheusRemoteWriteExporter {
    /// A builder with the defaults listed on each setter.
    pub fn builder() -> PrometheusRemoteWriteExporterBuilder {
        PrometheusRemoteWriteExporterBuilder::default()
    }

    /// What was delivered, retried and dropped, per endpoint.
    pub fn stats(&self) -> Vec<EndpointStats> {
        self.inner.endpoints.iter().map(|e| e.stats()).collect()
    }

    /// Converts, cuts and queues one collection for every endpoint, without waiting for the
    /// network. The synchronous core of [`MetricExporter::export`].
    pub fn enqueue(&self, metrics: ResourceMetrics) -> Result<(), ExportError> {
        self.inner.export(metrics)
    }
}

impl Inner {
    fn export(&self, mut metrics: ResourceMetrics) -> Result<(), ExportError> {
        if self.shut_down.load(Ordering::Acquire) {
            return Err(ExportError::AlreadyShutdown);
        }
        let newest = lock(&self.clock).advance(&mut metrics);
        if self.self_metrics {
            let cells: Vec<_> = self.endpoints.iter().map(|e| e.cells().as_ref()).collect();
            let drops: Vec<(String, u64)> =
                lock(&self.conversion).by_reason.iter().map(|(r, n)| (r.clone(), *n)).collect();
            let times = self_metrics::Times {
                start: self.started_ns,
                now: if newest > 0 { newest } else { now_ns() },
            };
            metrics.scope_metrics.push(self_metrics::render(&cells, &drops, times));
        }
        self.send(&mut metrics, false);
        let done =
            if self.stale_on_shutdown { lock(&self.last).replace(metrics) } else { Some(metrics) };
        // Kept for the SDK to collect the next one into (`reclaim`). One nobody reclaimed is
        // freed, but freeing a collection (a few allocations per point) takes tens of
        // milliseconds for 100,000 points: not on the exporting thread.
        if let Some(done) = done {
            if let Some(unclaimed) = lock(&self.spent).replace(done) {
                drop(self.runtime.handle().spawn_blocking(move || drop(unclaimed)));
            }
        }
        Ok(())
    }

    /// Converts and queues, chunk by chunk, so that the first requests go out while the rest
    /// converts; `ending` marks every resulting series stale.
    fn send(&self, metrics: &mut ResourceMetrics, ending: bool) {
        self.converter.convert_each(metrics, |chunk| {
            self.note_drops(&chunk.report);
            let metadata = if self.send_metadata && !ending { chunk.metadata } else { Vec::new() };
            let series = if ending { all_stale(&chunk.series).into() } else { chunk.series };
            for b in batch::cut(series, metadata, self.batch) {
                let payload: Arc<dyn Payload> = Arc::new(b);
                for e in &self.endpoints {
                    // Err only after shutdown began, and then the data is counted there.
                    let _ = e.enqueue(payload.clone());
                }
            }
        });
    }

    fn note_drops(&self, report: &prw_convert::Report) {
        if report.dropped.is_empty() {
            return;
        }
        let mut drops = lock(&self.conversion);
        for d in &report.dropped {
            let reason = self_metrics::reason_label(&format!("{:?}", d.reason));
            *drops.by_reason.entry(reason.clone()).or_default() += d.points;
            if drops.logged.len() < MAX_LOGGED_CONVERSION_DROPS
                && drops.logged.insert((d.metric.clone(), reason))
            {
                tracing::warn!(
                    target: "prw",
                    "metric {:?}: {} points not converted: {} (logged once per metric and reason)",
                    d.metric,
                    d.points,
                    d.reason
                );
            }
        }
    }

    async fn flush(&self) -> Result<(), ExportError> {
        let flushes: Vec<_> = self
            .endpoints
            .iter()
            .map(|e| {
                let e = e.clone();
                tokio::spawn(async move { e.flush().await })
            })
            .collect();
        let all = async {
            for f in flushes {
                let _ = f.await;
            }
        };
        tokio::time::timeout(self.flush_timeout, all)
            .await
            .map_err(|_| ExportError::Timeout(self.flush_timeout))
    }

    async fn shutdown(&self, deadline: Duration) -> Result<(), ExportError> {
        let until = tokio::time::Instant::now() + deadline;
        if let Some(last) = lock(&self.last).take() {
            self.send(&mut points::stale(last, now_ns()), true);
        }
        let tasks: Vec<_> = self
            .endpoints
            .iter()
            .map(|e| {
                let e = e.clone();
                tokio::spawn(async move { e.shutdown(until).await })
            })
            .collect();
        let mut lost = Counts::default();
        for t in tasks {
            if let Ok(l) = t.await {
                lost += l;
            }
        }
        if lost.is_empty() { Ok(()) } else { Err(ExportError::Timeout(deadline)) }
    }
}

/// Series derived from the resource rather than from points (`target_info`) are not marked by
/// the points' flags; at shutdown they end too.
fn all_stale(series: &[Series]) -> Vec<Series> {
    let stale_nan = f64::from_bits(prw_convert::STALE_NAN_BITS);
    series
        .iter()
        .map(|s| {
            if s.samples().iter().all(|x| x.is_stale()) {
                return s.clone();
            }
            let labels: Vec<(&str, &str)> = s.labels().collect();
            let samples = s.samples().iter().map(|x| Sample { value: stale_nan, ..*x }).collect();
            Series::new(&labels, s.metadata().clone(), samples, Vec::new(), Vec::new())
                .unwrap_or_else(|_| s.clone())
        })
        .collect()
}

impl MetricExporter for PrometheusRemoteWriteExporter {
    fn export(&self, metrics: ResourceMetrics) -> ExportFuture<'_> {
        // Converting here, on the caller's (the controller's) thread, keeps the delivery
        // runtime free for the network; queueing never waits.
        let result = self.inner.export(metrics);
        Box::pin(async move { result })
    }

    fn force_flush(&self) -> ExportFuture<'_> {
        let inner = self.inner.clone();
        let task = self.inner.runtime.handle().spawn(async move { inner.flush().await });
        Box::pin(async move {
            task.await.unwrap_or_else(|e| {
                Err(ExportError::Failed(format!("the delivery runtime is gone: {e}")))
            })
        })
    }

    fn shutdown(&self, deadline: Duration) -> ExportFuture<'_> {
        if self.inner.shut_down.swap(true, Ordering::AcqRel) {
            return Box::pin(async { Err(ExportError::AlreadyShutdown) });
        }
        let inner = self.inner.clone();
        let task = self.inner.runtime.handle().spawn(async move { inner.shutdown(deadline).await });
        let this = self.inner.clone();
        Box::pin(async move {
            let result = task.await.unwrap_or_else(|e| {
                Err(ExportError::Failed(format!("the delivery runtime is gone: {e}")))
            });
            this.runtime.stop();
            result
        })
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }

    /// The last collection this exporter finished with (with stale markers on shutdown, the
    /// one before the latest, which is kept for the markers).
    fn reclaim(&self) -> Option<ResourceMetrics> {
        lock(&self.inner.spent).take()
    }
}

#[cfg(test)]
mod tests;
