//! The whole export path for 100,000 counter series (five attributes each): collect →
//! convert → encode → compress → send to a sink on loopback, and its parts.
//!
//! ```console
//! cargo bench -p prw --bench export_path
//! ```
//!
//! | bench | what one iteration does |
//! |---|---|
//! | `collect` | the SDK's collection alone (context) |
//! | `collect+convert` | plus `Converter::convert` (context) |
//! | `exporter/rw1`, `exporter/rw2` | the exporter alone on an already collected `ResourceMetrics`: convert, cut, encode, compress, send, wait for every 2xx |
//! | `whole/rw1`, `whole/rw2` | collect (into the collection the exporter hands back with `reclaim`) + the exporter, as one periodic export does |

#[path = "../examples/support/sink.rs"]
mod sink;
#[path = "../examples/support/workload.rs"]
mod workload;

use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use prw::Protocol;
use prw::sdk::MetricExporter as _;

const SERIES: usize = 100_000;

fn flush(exporter: &prw::PrometheusRemoteWriteExporter) {
    prw::sdk::block_on_timeout(exporter.force_flush(), Instant::now() + Duration::from_secs(120))
        .expect("flush in time")
        .expect("delivered");
}

fn export_path(c: &mut Criterion) {
    let sink = sink::Sink::start("127.0.0.1:0").expect("sink");
    let w = workload::Workload::new(SERIES);
    let mut g = c.benchmark_group("export_path_100k");
    g.throughput(Throughput::Elements(SERIES as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(15));

    g.bench_function("collect", |b| b.iter(|| w.reader.collect().expect("collect")));
    let converter = prw::convert::Converter::new(Default::default()).expect("converter");
    g.bench_function("collect+convert", |b| {
        b.iter(|| converter.convert(&[w.reader.collect().expect("collect")]))
    });
    for (name, protocol) in [("rw1", Protocol::V1), ("rw2", Protocol::V2)] {
        let exporter = workload::exporter(&sink.url(), protocol);
        g.bench_function(format!("exporter/{name}"), |b| {
            b.iter_batched(
                || w.reader.collect().expect("collect"),
                |rm| {
                    exporter.enqueue(rm).expect("enqueue");
                    flush(&exporter);
                },
                BatchSize::PerIteration,
            )
        });
        g.bench_function(format!("whole/{name}"), |b| {
            b.iter(|| {
                // as the periodic controller does: collect into the collection the exporter
                // is done with
                let mut rm = exporter.reclaim().unwrap_or_default();
                w.reader.collect_into(&mut rm).expect("collect");
                exporter.enqueue(rm).expect("enqueue");
                flush(&exporter);
            })
        });
        let stats = &exporter.stats()[0];
        assert_eq!(stats.dropped_total(), prw::Counts::default(), "{stats:?}");
        assert_eq!(
            stats.wire,
            match protocol {
                Protocol::V1 => prw::Wire::V1,
                _ => prw::Wire::V2,
            }
        );
    }
    g.finish();
    let s = sink.stats();
    assert!(s.series >= SERIES as u64, "the sink got {s:?}");
}

criterion_group!(benches, export_path);
criterion_main!(benches);
