//! The set-up users expect in one call: provider + periodic controller + exporter.

use std::time::Duration;

use prw_api::KeyValue;
use prw_sdk::{
    PeriodicController, Resource, ResourceBuilder, SdkMeterProvider, SdkMeterProviderBuilder, View,
};

use crate::error::BuildError;
use crate::exporter::PrometheusRemoteWriteExporter;

/// The collection interval when none is given: 15 s, Prometheus' default scrape interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

/// Starts a [`PipelineBuilder`]: a meter provider whose metrics a
/// [`PrometheusRemoteWriteExporter`] pushes every interval.
///
/// ```no_run
/// use std::time::Duration;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let exporter = prw::PrometheusRemoteWriteExporter::builder()
///     .endpoint("http://localhost:9090/api/v1/write")?
///     .build()?;
/// let provider = prw::pipeline()
///     .with_service_name("checkout")
///     .with_interval(Duration::from_secs(15))
///     .with_exporter(exporter)
///     .start()?;
/// provider.meter("checkout").u64_counter("jobs").build().add(1, &[]);
/// provider.shutdown()?;
/// # Ok(()) }
/// ```
pub fn pipeline() -> PipelineBuilder {
    PipelineBuilder {
        resource: None,
        service_name: None,
        attributes: Vec::new(),
        interval: DEFAULT_INTERVAL,
        export_timeout: None,
        exporter: None,
        views: Vec::new(),
        cardinality_limit: None,
        install_global: false,
    }
}

/// Builds and starts a metrics pipeline; see [`pipeline`].
#[derive(Debug)]
#[must_use = "call .start()"]
pub struct PipelineBuilder {
    resource: Option<Resource>,
    service_name: Option<String>,
    attributes: Vec<KeyValue>,
    interval: Duration,
    export_timeout: Option<Duration>,
    exporter: Option<PrometheusRemoteWriteExporter>,
    views: Vec<View>,
    cardinality_limit: Option<usize>,
    install_global: bool,
}

impl PipelineBuilder {
    /// `service.name`, which becomes the `job` label. Default: `OTEL_SERVICE_NAME`, else
    /// `unknown_service:<executable>`.
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// One more resource attribute (it goes to `target_info`, or onto every series with
    /// [`resources_as_labels`](crate::PrometheusRemoteWriteExporterBuilder::resources_as_labels)).
    pub fn with_attribute(mut self, attribute: KeyValue) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// A complete resource instead of the detected one (service name and attributes set
    /// here are still added to it).
    pub fn with_resource(mut self, resource: Resource) -> Self {
        self.resource = Some(resource);
        self
    }

    /// How often to collect and push. Default: 15 s.
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// How long one collection's export may take (conversion and queueing; delivery runs on
    /// afterwards). Default: the SDK's 30 s.
    pub fn with_export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = Some(timeout);
        self
    }

    /// The exporter. Required.
    pub fn with_exporter(mut self, exporter: PrometheusRemoteWriteExporter) -> Self {
        self.exporter = Some(exporter);
        self
    }

    /// A view (rename, aggregation, attribute filter ...).
    pub fn with_view(mut self, view: View) -> Self {
        self.views.push(view);
        self
    }

    /// Most attribute sets per metric. Default: the SDK's 2,000.
    pub fn with_cardinality_limit(mut self, limit: usize) -> Self {
        self.cardinality_limit = Some(limit);
        self
    }

    /// Also make the provider the process-wide one ([`prw_api::global`]), so libraries'
    /// `global::meter(..)` record into it. Default: off.
    pub fn install_global(mut self, install: bool) -> Self {
        self.install_global = install;
        self
    }

    /// Builds the provider and starts collecting. Works with or without a tokio runtime: the
    /// exporter brought its own when it needed one.
    pub fn start(self) -> Result<SdkMeterProvider, BuildError> {
        if self.interval.is_zero() {
            return Err(BuildError::ZeroInterval);
        }
        let exporter = self.exporter.ok_or(BuildError::MissingExporter)?;
        let mut rb: ResourceBuilder = match self.resource {
            Some(r) => Resource::builder_empty().with_attributes(r.attributes().iter().cloned()),
            None => Resource::builder(),
        };
        if let Some(name) = self.service_name {
            rb = rb.with_service_name(name);
        }
        rb = rb.with_attributes(self.attributes);
        let mut builder = SdkMeterProvider::builder().with_resource(rb.build());
        for v in self.views {
            builder = builder.with_view(v);
        }
        if let Some(limit) = self.cardinality_limit {
            builder = builder.with_cardinality_limit(limit);
        }
        let mut controller = PeriodicController::builder(exporter).with_interval(self.interval);
        if let Some(t) = self.export_timeout {
            controller = controller.with_timeout(t);
        }
        let provider = builder.with_reader(controller.build()).build();
        if self.install_global {
            prw_api::global::set_meter_provider(provider.clone());
        }
        Ok(provider)
    }
}

/// The original design's one-liner: adds a periodic controller pushing through `exporter`
/// every `interval` to `provider` and starts it.
///
/// ```no_run
/// use std::time::Duration;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let exporter = prw::PrometheusRemoteWriteExporter::builder()
///     .endpoint("http://localhost:9090/api/v1/write")?
///     .build()?;
/// let provider = prw::start_pipeline(prw::sdk::SdkMeterProvider::builder(), exporter, Duration::from_secs(1));
/// # provider.shutdown()?; Ok(()) }
/// ```
pub fn start_pipeline(
    provider: SdkMeterProviderBuilder,
    exporter: PrometheusRemoteWriteExporter,
    interval: Duration,
) -> SdkMeterProvider {
    provider
        .with_reader(PeriodicController::builder(exporter).with_interval(interval).build())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeTransport;

    fn exporter(fake: &std::sync::Arc<FakeTransport>) -> PrometheusRemoteWriteExporter {
        PrometheusRemoteWriteExporter::builder()
            .endpoint("http://127.0.0.1:9/api/v1/write")
            .unwrap()
            .transport(fake.clone())
            .self_metrics(false)
            .build()
            .unwrap()
    }

    #[test]
    fn a_pipeline_without_any_runtime_pushes_and_flushes_on_shutdown() {
        let fake = FakeTransport::scripted(vec![]);
        let provider = pipeline()
            .with_service_name("checkout")
            .with_attribute(KeyValue::new("deployment.environment.name", "test"))
            .with_interval(Duration::from_secs(3600))
            .with_exporter(exporter(&fake))
            .start()
            .unwrap();
        let meter = provider.meter("checkout");
        let c = meter.u64_counter("http.server.requests").with_unit("{request}").build();
        c.add(3, &[KeyValue::new("http.route", "/cart")]);
        provider.shutdown().unwrap();
        let series = fake.samples_by_series();
        let find = |name: &str| {
            series
                .iter()
                .find(|(l, _)| l.iter().any(|(k, v)| k == "__name__" && v == name))
                .unwrap_or_else(|| panic!("no {name} in {series:?}"))
        };
        let (labels, samples) = find("http_server_requests_total");
        assert!(labels.contains(&("job".into(), "checkout".into())));
        assert!(labels.contains(&("http_route".into(), "/cart".into())));
        assert_eq!(samples[0].1, 3.0);
        assert_eq!(samples.last().unwrap().1.to_bits(), prw_convert::STALE_NAN_BITS);
        let (labels, _) = find("target_info");
        assert!(labels.contains(&("deployment_environment_name".into(), "test".into())));
    }

    #[test]
    fn start_pipeline_like_the_original_design() {
        let fake = FakeTransport::scripted(vec![]);
        let provider = start_pipeline(
            SdkMeterProvider::builder()
                .with_resource(Resource::builder().with_service_name("svc").build()),
            exporter(&fake),
            Duration::from_millis(20),
        );
        provider.meter("m").f64_gauge("temperature").build().record(21.5, &[]);
        fake.requests(); // the controller pushes on its own
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while fake.requests().len() < 2 {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(5));
        }
        provider.shutdown().unwrap();
        assert!(
            fake.samples_by_series()
                .iter()
                .any(|(l, s)| l.contains(&("__name__".into(), "temperature".into()))
                    && s[0].1 == 21.5)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn inside_a_runtime_too() {
        let fake = FakeTransport::scripted(vec![]);
        let provider = pipeline().with_exporter(exporter(&fake)).start().unwrap();
        provider.meter("m").u64_counter("c").build().add(1, &[]);
        // a blocking shutdown must not starve the runtime it is called from
        tokio::task::spawn_blocking(move || provider.shutdown()).await.unwrap().unwrap();
        assert!(!fake.requests().is_empty());
    }

    #[tokio::test]
    async fn inside_a_current_thread_runtime_a_blocking_shutdown_does_not_deadlock() {
        // the exporter does not borrow a current-thread runtime: its delivery runs on its own
        // thread, so blocking this one in shutdown() cannot starve it
        let fake = FakeTransport::scripted(vec![]);
        let provider = pipeline().with_exporter(exporter(&fake)).start().unwrap();
        provider.meter("m").u64_counter("c").build().add(1, &[]);
        provider.shutdown().unwrap();
        assert!(!fake.requests().is_empty());
    }

    #[test]
    fn mistakes_are_typed_errors() {
        assert!(matches!(pipeline().start(), Err(BuildError::MissingExporter)));
        let fake = FakeTransport::scripted(vec![]);
        let err = pipeline()
            .with_exporter(exporter(&fake))
            .with_interval(Duration::ZERO)
            .start()
            .unwrap_err();
        assert!(matches!(err, BuildError::ZeroInterval));
        assert_eq!(
            err.to_string(),
            "the collection interval is zero: give a positive interval such as 15s"
        );
    }
}
