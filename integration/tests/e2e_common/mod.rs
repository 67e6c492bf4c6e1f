//! What the end-to-end tests share: a pipeline with the real exporter and a workload whose
//! exact values the tests read back from each backend.

#![allow(dead_code, unreachable_pub)] // each e2e test file uses a different part

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use prw::api::{Counter, Gauge, Histogram, KeyValue, Meter};
use prw::sdk::{Aggregation, SdkMeterProvider, View};
use prw::{PrometheusRemoteWriteExporter, PrometheusRemoteWriteExporterBuilder};

pub const SERVICE: &str = "e2e";
pub const INSTANCE: &str = "e2e-instance-1";

/// Latencies recorded into the explicit histogram with bounds [0.1, 0.5, 1]:
/// cumulative buckets le=0.1: 1, le=0.5: 3, le=1: 4, +Inf: 5; sum 3.35.
pub const LATENCIES: [f64; 5] = [0.05, 0.3, 0.3, 0.7, 2.0];
pub const LATENCY_BUCKETS: [(&str, f64); 4] =
    [("0.1", 1.0), ("0.5", 3.0), ("1", 4.0), ("+Inf", 5.0)];
pub const LATENCY_SUM: f64 = 3.35;
/// Sizes recorded into the exponential histogram (a native histogram): count 4, sum 1007.
pub const SIZES: [f64; 4] = [1.0, 2.0, 4.0, 1000.0];

/// A started pipeline and a handle on its exporter's counters.
pub struct App {
    pub provider: SdkMeterProvider,
    pub exporter: PrometheusRemoteWriteExporter,
    pub meter: Meter,
}

impl App {
    /// A pipeline pushing through `exporter` every `interval`, with service `e2e`, instance
    /// [`INSTANCE`] and `deployment.environment.name=test`.
    pub fn start(exporter: PrometheusRemoteWriteExporterBuilder, interval: Duration) -> App {
        let exporter = exporter
            .min_backoff(Duration::from_millis(20))
            .max_backoff(Duration::from_millis(500))
            .build()
            .expect("exporter builds");
        let provider = prw::pipeline()
            .with_service_name(SERVICE)
            .with_attribute(KeyValue::new("service.instance.id", INSTANCE))
            .with_attribute(KeyValue::new("deployment.environment.name", "test"))
            .with_interval(interval)
            .with_cardinality_limit(100_000)
            .with_view(
                View::builder()
                    .with_instrument_name("e2e.size")
                    .with_aggregation(Aggregation::exponential())
                    .build()
                    .expect("view"),
            )
            .with_exporter(exporter.clone())
            .start()
            .expect("pipeline starts");
        let meter = provider.meter("e2e");
        App { provider, exporter, meter }
    }

    /// Collects, exports and waits until the endpoints have everything.
    pub fn flush(&self) {
        self.provider.force_flush().expect("force_flush delivers");
    }
}

/// The synchronous instruments of the workload.
pub struct Workload {
    pub requests: Counter<u64>,
    pub latency: Histogram<f64>,
    pub size: Histogram<f64>,
    pub temperature: Gauge<f64>,
}

impl Workload {
    pub fn new(meter: &Meter) -> Workload {
        Workload {
            requests: meter.u64_counter("e2e.requests").with_unit("{request}").build(),
            latency: meter
                .f64_histogram("e2e.latency")
                .with_unit("s")
                .with_boundaries(vec![0.1, 0.5, 1.0])
                .build(),
            size: meter.f64_histogram("e2e.size").with_unit("By").build(),
            temperature: meter.f64_gauge("e2e.temperature").with_unit("Cel").build(),
        }
    }

    /// Records the whole known workload once: 7 requests on /a, 3 on /b, the latencies,
    /// the sizes and a temperature of 21.5.
    pub fn record_all(&self) {
        for _ in 0..7 {
            self.requests.add(1, &[KeyValue::new("route", "/a")]);
        }
        self.requests.add(3, &[KeyValue::new("route", "/b")]);
        for l in LATENCIES {
            self.latency.record(l, &[]);
        }
        for s in SIZES {
            self.size.record(s, &[]);
        }
        self.temperature.record(21.5, &[]);
    }
}

/// An observable gauge reporting `e2e_workers{worker="w1"}` always and `{worker="w2"}` until
/// the returned switch is turned off: then w2's series must end with a stale marker.
pub fn workers(meter: &Meter) -> Arc<AtomicBool> {
    let w2 = Arc::new(AtomicBool::new(true));
    let on = w2.clone();
    meter
        .u64_observable_gauge("e2e.workers")
        .with_callback(move |o| {
            o.observe(1, &[KeyValue::new("worker", "w1")]);
            if on.load(Ordering::Relaxed) {
                o.observe(2, &[KeyValue::new("worker", "w2")]);
            }
        })
        .build();
    w2
}
