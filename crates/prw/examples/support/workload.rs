//! The series the throughput measurements export: one counter with `n` attribute sets of five
//! attributes each, as a service with many routes, methods, codes, regions and ids would have.

#![allow(dead_code, unreachable_pub)] // shared by an example and a bench

use std::time::Duration;

use prw::api::{Counter, KeyValue};
use prw::sdk::{ManualReader, Resource, SdkMeterProvider};
use prw::{PrometheusRemoteWriteExporter, Protocol};

/// A provider with `n` live series and a manual reader to collect it.
pub struct Workload {
    pub provider: SdkMeterProvider,
    pub reader: ManualReader,
    counter: Counter<u64>,
    attrs: Vec<[KeyValue; 5]>,
}

impl Workload {
    pub fn new(n: usize) -> Workload {
        let reader = ManualReader::new();
        let provider = SdkMeterProvider::builder()
            .with_resource(
                Resource::builder_empty()
                    .with_service_name("bench")
                    .with_attribute(KeyValue::new("service.instance.id", "bench-1"))
                    .build(),
            )
            .with_cardinality_limit(n + 10)
            .with_reader(reader.clone())
            .build();
        let counter = provider.meter("bench").u64_counter("bench.requests").build();
        let attrs: Vec<[KeyValue; 5]> = (0..n)
            .map(|i| {
                [
                    KeyValue::new("http.route", format!("/api/v1/resource{}", i % 100)),
                    KeyValue::new("http.request.method", if i % 2 == 0 { "GET" } else { "POST" }),
                    KeyValue::new("http.response.status_code", if i % 10 == 0 { 500 } else { 200 }),
                    KeyValue::new("cloud.region", format!("region-{}", i % 8)),
                    KeyValue::new("id", i.to_string()),
                ]
            })
            .collect();
        let w = Workload { provider, reader, counter, attrs };
        w.record();
        w
    }

    /// Adds 1 to every series (so each collection carries new values).
    pub fn record(&self) {
        for a in &self.attrs {
            self.counter.add(1, a);
        }
    }
}

/// The exporter the measurements use: no self-metrics, so exactly the workload's series plus
/// `target_info` are sent.
pub fn exporter(url: &str, protocol: Protocol) -> PrometheusRemoteWriteExporter {
    PrometheusRemoteWriteExporter::builder()
        .endpoint(url)
        .and_then(|b| {
            b.protocol(protocol)
                .self_metrics(false)
                .stale_markers_on_shutdown(false)
                .flush_timeout(Duration::from_secs(120))
                .build()
        })
        .unwrap_or_else(|e| panic!("exporter: {e}"))
}
