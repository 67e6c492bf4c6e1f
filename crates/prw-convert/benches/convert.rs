//! Convert + encode + snappy-compress, against the floor: prost-encode + snappy of the
//! already-built final message.
//!
//! Two workloads:
//! - `counters`: 100 counters × 1,000 points = 100,000 series, each with 6 labels
//!   (`__name__`, `instance`, `job`, `method`, `otel_scope_name`, `path`), points shuffled;
//! - `histograms`: 10 explicit-bucket histograms × 1,000 points (10 bounds) = 10,000 OTLP
//!   histograms, i.e. 130,000 Prometheus series (`_bucket` × 11, `_sum`, `_count`).
//!
//! Throughput is in output series. Time is this thread's CPU time (from
//! `/proc/thread-self/schedstat`), not wall time: the machine is shared, and time spent waiting
//! for a core says nothing about this code. Run: `cargo bench -p prw-convert --bench convert`.
//! Results are in benches/README.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use prw_convert::{ConvertOptions, Converter, encode_rw1, encode_rw2, to_rw1, to_rw2};
use prw_proto::otlp::common::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use prw_proto::otlp::metrics::{
    AggregationTemporality, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric::Data, number_data_point,
};
use prw_proto::otlp::resource::Resource;

/// CPU time of the current thread, in nanoseconds.
struct CpuTime;

fn thread_cpu_ns() -> u64 {
    // First field of schedstat: time spent on a CPU, in ns. Fall back to 0 only if /proc is
    // missing, which makes the numbers obviously wrong rather than silently wall time.
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|f| f.parse().ok()))
        .unwrap_or(0)
}

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        values.iter_mut().for_each(|v| *v /= 1e6);
        "ms cpu"
    }
    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let n = match *throughput {
            Throughput::Elements(n)
            | Throughput::Bytes(n)
            | Throughput::BytesDecimal(n)
            | Throughput::Bits(n) => n,
            Throughput::ElementsAndBytes { elements, .. } => elements,
        } as f64;
        values.iter_mut().for_each(|v| *v = n * 1e9 / *v / 1e6);
        "M series/s (cpu)"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue { key: k.into(), value: Some(AnyValue { value: Some(Value::StringValue(v.into())) }) }
}

/// A deterministic shuffle (xorshift), so input is not conveniently sorted.
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

const T0: u64 = 1_700_000_000_000_000_000;

fn attrs(i: usize) -> Vec<KeyValue> {
    const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
    vec![kv("http.method", METHODS[i % 4]), kv("url.path", &format!("/api/v1/items/{}", i / 4))]
}

fn resource(metrics: Vec<Metric>) -> Vec<ResourceMetrics> {
    vec![ResourceMetrics {
        resource: Some(Resource {
            attributes: vec![
                kv("service.name", "checkout"),
                kv("service.instance.id", "checkout-7d9f-1"),
                kv("host.name", "node-17"),
            ],
            dropped_attributes_count: 0,
        }),
        scope_metrics: vec![ScopeMetrics {
            scope: Some(InstrumentationScope {
                name: "io.opentelemetry.http".into(),
                ..Default::default()
            }),
            metrics,
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    }]
}

fn counters() -> Vec<ResourceMetrics> {
    let metrics = (0..100)
        .map(|m| {
            let mut points: Vec<NumberDataPoint> = (0..1000)
                .map(|i| NumberDataPoint {
                    attributes: attrs(i),
                    start_time_unix_nano: T0,
                    time_unix_nano: T0 + 60_000_000_000,
                    value: Some(number_data_point::Value::AsInt((i * 7 + m) as i64)),
                    ..Default::default()
                })
                .collect();
            shuffle(&mut points, 0x9e37_79b9_7f4a_7c15 + m as u64);
            Metric {
                name: format!("http.server.requests.{m}"),
                unit: "{request}".into(),
                description: "Requests served".into(),
                data: Some(Data::Sum(Sum {
                    data_points: points,
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                    is_monotonic: true,
                })),
                ..Default::default()
            }
        })
        .collect();
    resource(metrics)
}

fn histograms() -> Vec<ResourceMetrics> {
    let bounds = vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
    let metrics = (0..10)
        .map(|m| {
            let mut points: Vec<HistogramDataPoint> = (0..1000)
                .map(|i| {
                    let counts: Vec<u64> = (0..11).map(|b| ((i + b * 3 + m) % 17) as u64).collect();
                    HistogramDataPoint {
                        attributes: attrs(i),
                        start_time_unix_nano: T0,
                        time_unix_nano: T0 + 60_000_000_000,
                        count: counts.iter().sum(),
                        sum: Some(i as f64 * 0.37),
                        bucket_counts: counts,
                        explicit_bounds: bounds.clone(),
                        ..Default::default()
                    }
                })
                .collect();
            shuffle(&mut points, 0x2545_f491_4f6c_dd1d + m as u64);
            Metric {
                name: format!("http.server.duration.{m}"),
                unit: "s".into(),
                description: "Request duration".into(),
                data: Some(Data::Histogram(Histogram {
                    data_points: points,
                    aggregation_temporality: AggregationTemporality::Cumulative as i32,
                })),
                ..Default::default()
            }
        })
        .collect();
    resource(metrics)
}

fn bench_workload(c: &mut Criterion<CpuTime>, name: &str, input: &[ResourceMetrics]) {
    let converter = Converter::new(ConvertOptions::default()).expect("default options are valid");
    let conversion = converter.convert(input);
    assert!(conversion.report.is_empty(), "{}", conversion.report);
    let n = conversion.series.len() as u64;
    let final_rw1 = to_rw1(&conversion.series, &[]);
    let final_rw2 = to_rw2(&conversion.series);
    // A fair floor: both sides must produce the very same bytes.
    let mut ours = Vec::new();
    encode_rw1(&conversion.series, &[], &mut ours);
    assert!(ours == final_rw1.encode_to_vec(), "encode_rw1 differs from prost");
    ours.clear();
    encode_rw2(&conversion.series, &mut ours);
    assert!(ours == final_rw2.encode_to_vec(), "encode_rw2 differs from prost");

    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(n));

    let mut buf = Vec::new();
    let mut compressed = Vec::new();
    let mut snappy = snap::raw::Encoder::new();
    let mut compress = |input: &[u8], out: &mut Vec<u8>| {
        out.resize(snap::raw::max_compress_len(input.len()), 0);
        let len = snappy.compress(input, out).expect("snappy block compression of a Vec");
        out.truncate(len);
    };

    group.bench_function("floor_rw1 (prost encode + snappy)", |b| {
        b.iter(|| {
            buf.clear();
            final_rw1.encode(&mut buf).expect("Vec grows");
            compress(&buf, &mut compressed);
            black_box(compressed.len())
        })
    });
    group.bench_function("convert_encode_snappy_rw1", |b| {
        b.iter(|| {
            let conv = converter.convert(black_box(input));
            buf.clear();
            encode_rw1(&conv.series, &[], &mut buf);
            compress(&buf, &mut compressed);
            black_box(compressed.len())
        })
    });
    group.bench_function("floor_rw2 (prost encode + snappy)", |b| {
        b.iter(|| {
            buf.clear();
            final_rw2.encode(&mut buf).expect("Vec grows");
            compress(&buf, &mut compressed);
            black_box(compressed.len())
        })
    });
    group.bench_function("convert_encode_snappy_rw2", |b| {
        b.iter(|| {
            let conv = converter.convert(black_box(input));
            buf.clear();
            encode_rw2(&conv.series, &mut buf);
            compress(&buf, &mut compressed);
            black_box(compressed.len())
        })
    });
    // The parts, to see where the time goes.
    group.bench_function("part_convert", |b| {
        b.iter(|| black_box(converter.convert(black_box(input)).series.len()))
    });
    group.bench_function("part_encode_rw1", |b| {
        b.iter(|| {
            buf.clear();
            encode_rw1(&conversion.series, &[], &mut buf);
            black_box(buf.len())
        })
    });
    group.bench_function("part_encode_rw2", |b| {
        b.iter(|| {
            buf.clear();
            encode_rw2(&conversion.series, &mut buf);
            black_box(buf.len())
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion<CpuTime>) {
    bench_workload(c, "counters", &counters());
    bench_workload(c, "histograms", &histograms());
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime);
    targets = bench
}
criterion_main!(benches);
