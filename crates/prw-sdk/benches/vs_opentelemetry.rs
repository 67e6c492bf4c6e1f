//! prw-sdk side by side with opentelemetry_sdk 0.32 on identical work, in one process.
//!
//! Run: `cargo bench -p prw-sdk --bench vs_opentelemetry`
//! Results and the machine they were measured on: benches/README.md, section "prw-sdk".
//!
//! Every group has a `prw` and an `otel` function doing the same thing:
//! - `counter_add_3_attrs` / `histogram_record_3_attrs`: one measurement per iteration, the
//!   attributes cycling through 1,000 pre-built sets of 3 (`method`, `route`, `status`).
//! - `counter_add_no_attrs`: one add with an empty attribute slice.
//! - `counter_add_bound`: prw's bound handle; opentelemetry_sdk 0.32 has bound instruments
//!   only behind an experimental feature, so its side is the nearest stable equivalent: a
//!   cached instrument adding with one pre-built 3-attribute slice.
//! - `counter_add_3_attrs_threads/{1,2}`: N threads each adding over the 1,000 sets;
//!   criterion's throughput is adds per second over all threads.
//! - `collect/{10000,100000}`: one counter with that many series (cardinality limit raised
//!   on both sides), collected by `force_flush` through a periodic reader into an exporter
//!   that only looks at the data. prw-sdk's collection produces OTLP protobuf structs; the
//!   SDK's own data model is what opentelemetry_sdk produces, so `otel_then_otlp` adds the
//!   conversion to the same OTLP structs (what opentelemetry-proto's transform does before
//!   an OTLP or remote-write exporter can use it). opentelemetry_sdk's periodic reader
//!   collects into the previous collection's buffers; `prw` does the same through
//!   `MetricExporter::reclaim` (its exporter keeps each collection and hands it back, as
//!   prw's remote-write exporter does), `prw_fresh` has an exporter that drops each
//!   collection, so every one is built from new allocations and freed.
#![allow(clippy::unwrap_used)] // tests and benches: a failure should stop them

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry::metrics::MeterProvider as _;

const METHODS: [&str; 10] =
    ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PURGE"];
const ROUTES: [&str; 10] = [
    "/",
    "/login",
    "/logout",
    "/cart",
    "/checkout",
    "/items",
    "/items/:id",
    "/search",
    "/users",
    "/users/:id",
];

fn prw_sets() -> Vec<[prw_api::KeyValue; 3]> {
    (0..1000)
        .map(|i| {
            [
                prw_api::KeyValue::new("method", METHODS[i % 10]),
                prw_api::KeyValue::new("route", ROUTES[(i / 10) % 10]),
                prw_api::KeyValue::new("status", 200 + (i / 100) as i64),
            ]
        })
        .collect()
}

fn otel_sets() -> Vec<[opentelemetry::KeyValue; 3]> {
    (0..1000)
        .map(|i| {
            [
                opentelemetry::KeyValue::new("method", METHODS[i % 10]),
                opentelemetry::KeyValue::new("route", ROUTES[(i / 10) % 10]),
                opentelemetry::KeyValue::new("status", 200 + (i / 100) as i64),
            ]
        })
        .collect()
}

/// Visits the 1,000 sets in a scrambled but fixed order (stride coprime with 1,000), so
/// consecutive measurements don't walk memory linearly.
#[inline(always)]
fn next(i: &mut usize) -> usize {
    *i = (*i + 7919) % 1000;
    *i
}

// ---- prw side ----

#[derive(Debug)]
struct PrwNull;
impl prw_sdk::MetricExporter for PrwNull {
    fn export(&self, metrics: prw_sdk::ResourceMetrics) -> prw_sdk::ExportFuture<'_> {
        black_box(&metrics);
        Box::pin(async { Ok(()) })
    }
    fn force_flush(&self) -> prw_sdk::ExportFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    fn shutdown(&self, _deadline: Duration) -> prw_sdk::ExportFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}

fn prw_provider() -> prw_sdk::SdkMeterProvider {
    prw_sdk::SdkMeterProvider::builder()
        .with_resource(prw_sdk::Resource::builder_empty().with_service_name("bench").build())
        .with_reader(prw_sdk::ManualReader::new())
        .build()
}

/// Keeps each collection and hands it back for the next one to be collected into.
#[derive(Debug, Default)]
struct PrwKeep(std::sync::Mutex<Option<prw_sdk::ResourceMetrics>>);
impl prw_sdk::MetricExporter for PrwKeep {
    fn export(&self, metrics: prw_sdk::ResourceMetrics) -> prw_sdk::ExportFuture<'_> {
        black_box(&metrics);
        *self.0.lock().unwrap() = Some(metrics);
        Box::pin(async { Ok(()) })
    }
    fn force_flush(&self) -> prw_sdk::ExportFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    fn shutdown(&self, _deadline: Duration) -> prw_sdk::ExportFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    fn reclaim(&self) -> Option<prw_sdk::ResourceMetrics> {
        self.0.lock().unwrap().take()
    }
}

fn prw_periodic(limit: usize, exporter: impl prw_sdk::MetricExporter) -> prw_sdk::SdkMeterProvider {
    prw_sdk::SdkMeterProvider::builder()
        .with_resource(prw_sdk::Resource::builder_empty().with_service_name("bench").build())
        .with_cardinality_limit(limit)
        .with_reader(
            prw_sdk::PeriodicController::builder(exporter)
                .with_interval(Duration::from_secs(3600))
                .build(),
        )
        .build()
}

// ---- opentelemetry side ----

/// Drops what it is given, or first converts it to OTLP protobuf (`to_otlp`): the work
/// opentelemetry-proto's transform does before any OTLP or remote-write exporter can use an
/// opentelemetry_sdk collection, and what prw-sdk's collection produces directly.
#[derive(Debug)]
struct OtelNull {
    to_otlp: bool,
}

fn otel_value(v: &opentelemetry::Value) -> prw_proto::otlp::common::AnyValue {
    use prw_proto::otlp::common::any_value::Value as V;
    let value = match v {
        opentelemetry::Value::Bool(b) => V::BoolValue(*b),
        opentelemetry::Value::I64(i) => V::IntValue(*i),
        opentelemetry::Value::F64(f) => V::DoubleValue(*f),
        other => V::StringValue(other.as_str().into_owned()),
    };
    prw_proto::otlp::common::AnyValue { value: Some(value) }
}

fn otel_kv<'a>(
    kvs: impl Iterator<Item = (&'a opentelemetry::Key, &'a opentelemetry::Value)>,
) -> Vec<prw_proto::otlp::common::KeyValue> {
    kvs.map(|(k, v)| prw_proto::otlp::common::KeyValue {
        key: k.as_str().to_owned(),
        value: Some(otel_value(v)),
    })
    .collect()
}

fn nanos(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// opentelemetry_sdk's collection → OTLP (counters only: all the bench records).
fn otel_to_otlp(
    rm: &opentelemetry_sdk::metrics::data::ResourceMetrics,
) -> prw_proto::otlp::metrics::ResourceMetrics {
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    use prw_proto::otlp::metrics as pm;
    let scope_metrics = rm
        .scope_metrics()
        .map(|sm| pm::ScopeMetrics {
            scope: Some(prw_proto::otlp::common::InstrumentationScope {
                name: sm.scope().name().to_owned(),
                version: sm.scope().version().unwrap_or_default().to_owned(),
                ..Default::default()
            }),
            metrics: sm
                .metrics()
                .filter_map(|m| match m.data() {
                    AggregatedMetrics::U64(MetricData::Sum(sum)) => Some(pm::Metric {
                        name: m.name().to_owned(),
                        description: m.description().to_owned(),
                        unit: m.unit().to_owned(),
                        metadata: Vec::new(),
                        data: Some(pm::metric::Data::Sum(pm::Sum {
                            data_points: sum
                                .data_points()
                                .map(|dp| pm::NumberDataPoint {
                                    attributes: otel_kv(
                                        dp.attributes().map(|kv| (&kv.key, &kv.value)),
                                    ),
                                    start_time_unix_nano: nanos(sum.start_time()),
                                    time_unix_nano: nanos(sum.time()),
                                    exemplars: Vec::new(),
                                    flags: 0,
                                    value: Some(pm::number_data_point::Value::AsInt(
                                        dp.value() as i64
                                    )),
                                })
                                .collect(),
                            aggregation_temporality: pm::AggregationTemporality::Cumulative as i32,
                            is_monotonic: sum.is_monotonic(),
                        })),
                    }),
                    _ => None,
                })
                .collect(),
            schema_url: String::new(),
        })
        .collect();
    pm::ResourceMetrics {
        resource: Some(prw_proto::otlp::resource::Resource {
            attributes: otel_kv(rm.resource().iter()),
            dropped_attributes_count: 0,
        }),
        scope_metrics,
        schema_url: String::new(),
    }
}

impl opentelemetry_sdk::metrics::exporter::PushMetricExporter for OtelNull {
    async fn export(
        &self,
        metrics: &opentelemetry_sdk::metrics::data::ResourceMetrics,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        if self.to_otlp {
            black_box(otel_to_otlp(metrics));
        } else {
            black_box(metrics);
        }
        Ok(())
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> opentelemetry_sdk::metrics::Temporality {
        opentelemetry_sdk::metrics::Temporality::Cumulative
    }
}

fn otel_provider(limit: usize) -> opentelemetry_sdk::metrics::SdkMeterProvider {
    otel_provider_exporting(limit, false)
}

fn otel_provider_exporting(
    limit: usize,
    to_otlp: bool,
) -> opentelemetry_sdk::metrics::SdkMeterProvider {
    let reader = opentelemetry_sdk::metrics::PeriodicReader::builder(OtelNull { to_otlp })
        .with_interval(Duration::from_secs(3600))
        .build();
    opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(reader)
        .with_view(move |_: &opentelemetry_sdk::metrics::Instrument| {
            opentelemetry_sdk::metrics::Stream::builder().with_cardinality_limit(limit).build().ok()
        })
        .build()
}

/// CPU time used by all of this process's threads, from `/proc/self/task/*/schedstat`.
///
/// The benchmark machine is shared (2 cores, other jobs compiling), so wall time includes
/// time the benchmark was not even running. CPU time counts only the work done, for both
/// SDKs alike. The thread-scaling group still uses wall time: throughput is what it is about.
struct ProcessCpuTime;

fn process_cpu_nanos() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        .sum()
}

impl Measurement for ProcessCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        process_cpu_nanos()
    }
    fn end(&self, start: u64) -> u64 {
        process_cpu_nanos().saturating_sub(start)
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
        // Values are nanoseconds, as wall time's are.
        WallTime.formatter()
    }
}

fn cpu_config() -> Criterion<ProcessCpuTime> {
    Criterion::default()
        .with_measurement(ProcessCpuTime)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

fn wall_config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

fn single_thread(c: &mut Criterion<ProcessCpuTime>) {
    let prw = prw_provider();
    let otel = otel_provider(2000);
    let pm = prw.meter("bench");
    let om = otel.meter("bench");
    let ps = prw_sets();
    let os = otel_sets();

    let mut g = c.benchmark_group("counter_add_3_attrs");
    let pc = pm.u64_counter("requests").build();
    let oc = om.u64_counter("requests").build();
    let mut i = 0;
    g.bench_function("prw", |b| b.iter(|| pc.add(1, &ps[next(&mut i)])));
    g.bench_function("otel", |b| b.iter(|| oc.add(1, &os[next(&mut i)])));
    g.bench_function("prw_one_set", |b| b.iter(|| pc.add(1, &ps[black_box(5)])));
    g.bench_function("otel_one_set", |b| b.iter(|| oc.add(1, &os[black_box(5)])));
    g.finish();

    let mut g = c.benchmark_group("histogram_record_3_attrs");
    let ph = pm.f64_histogram("duration").build();
    let oh = om.f64_histogram("duration").build();
    g.bench_function("prw", |b| {
        b.iter(|| {
            let k = next(&mut i);
            ph.record(k as f64 * 1.7, &ps[k])
        })
    });
    g.bench_function("otel", |b| {
        b.iter(|| {
            let k = next(&mut i);
            oh.record(k as f64 * 1.7, &os[k])
        })
    });
    g.finish();

    let mut g = c.benchmark_group("counter_add_no_attrs");
    let pc0 = pm.u64_counter("plain").build();
    let oc0 = om.u64_counter("plain").build();
    g.bench_function("prw", |b| b.iter(|| pc0.add(black_box(1), &[])));
    g.bench_function("otel", |b| b.iter(|| oc0.add(black_box(1), &[])));
    g.finish();

    let mut g = c.benchmark_group("counter_add_bound");
    let bound = pc.bind(&ps[3]);
    let fixed = os[3].clone();
    g.bench_function("prw", |b| b.iter(|| bound.add(black_box(1))));
    g.bench_function("otel_cached_instrument_prebuilt_attrs", |b| {
        b.iter(|| oc.add(black_box(1), &fixed))
    });
    g.finish();
}

/// Runs `per_thread(iters)` on `threads` threads at once; returns the wall time.
fn on_threads(threads: usize, iters: u64, per_thread: &(dyn Fn(u64, usize) + Sync)) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || per_thread(iters, t));
        }
    });
    start.elapsed()
}

fn threads(c: &mut Criterion) {
    let prw = prw_provider();
    let otel = otel_provider(2000);
    let pc = prw.meter("bench").u64_counter("requests").build();
    let oc = otel.meter("bench").u64_counter("requests").build();
    let ps = prw_sets();
    let os = otel_sets();
    let mut g = c.benchmark_group("counter_add_3_attrs_threads");
    for n in [1usize, 2] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("prw", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                on_threads(n, iters, &|iters, t| {
                    let mut i = t * 500;
                    for _ in 0..iters {
                        pc.add(1, &ps[next(&mut i)]);
                    }
                })
            })
        });
        g.bench_with_input(BenchmarkId::new("otel", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                on_threads(n, iters, &|iters, t| {
                    let mut i = t * 500;
                    for _ in 0..iters {
                        oc.add(1, &os[next(&mut i)]);
                    }
                })
            })
        });
        // Each thread on its own half of the sets: no series written by both threads, so
        // this shows what the SDK's own structures cost in scaling, without the cache-line
        // transfers that two cores adding to the same counters cannot avoid.
        g.bench_with_input(BenchmarkId::new("prw_disjoint", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                on_threads(n, iters, &|iters, t| {
                    let mut i = 0;
                    for _ in 0..iters {
                        pc.add(1, &ps[t * 500 + next(&mut i) % 500]);
                    }
                })
            })
        });
        g.bench_with_input(BenchmarkId::new("otel_disjoint", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                on_threads(n, iters, &|iters, t| {
                    let mut i = 0;
                    for _ in 0..iters {
                        oc.add(1, &os[t * 500 + next(&mut i) % 500]);
                    }
                })
            })
        });
    }
    g.finish();
}

fn thread_cpu_nanos() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Runs `per_thread(iters)` on `threads` threads at once; returns the CPU time they used,
/// divided by the number of threads (so criterion's "time" is CPU time per measurement).
fn cpu_on_threads(threads: usize, iters: u64, per_thread: &(dyn Fn(u64, usize) + Sync)) -> u64 {
    // The kernel updates a thread's CPU time at scheduler ticks, so each measurement runs
    // long enough (≥ 200,000 adds per thread) for that granularity not to matter.
    let reps = (200_000 / iters.max(1)).max(1);
    let total = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..threads {
            let total = &total;
            s.spawn(move || {
                let start = thread_cpu_nanos();
                for _ in 0..reps {
                    per_thread(iters, t);
                }
                total.fetch_add(thread_cpu_nanos() - start, std::sync::atomic::Ordering::Relaxed);
            });
        }
    });
    total.into_inner() / threads as u64 / reps
}

/// The CPU time of one add when N threads add at once. On a machine whose cores are busy
/// with other work, wall-clock throughput says little about scaling; CPU time per add does:
/// contention (cache lines moving between cores, lock waits) shows as more CPU per add, and
/// with N free cores throughput is N / (CPU time per add).
fn threads_cpu(c: &mut Criterion<ProcessCpuTime>) {
    let prw = prw_provider();
    let otel = otel_provider(2000);
    let pc = prw.meter("bench").u64_counter("requests").build();
    let oc = otel.meter("bench").u64_counter("requests").build();
    let ps = prw_sets();
    let os = otel_sets();
    let mut g = c.benchmark_group("counter_add_3_attrs_threads_cpu");
    for n in [1usize, 2] {
        g.bench_with_input(BenchmarkId::new("prw", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                cpu_on_threads(n, iters, &|iters, t| {
                    let mut i = t * 500;
                    for _ in 0..iters {
                        pc.add(1, &ps[next(&mut i)]);
                    }
                })
            })
        });
        g.bench_with_input(BenchmarkId::new("otel", n), &n, |b, &n| {
            b.iter_custom(|iters| {
                cpu_on_threads(n, iters, &|iters, t| {
                    let mut i = t * 500;
                    for _ in 0..iters {
                        oc.add(1, &os[next(&mut i)]);
                    }
                })
            })
        });
    }
    g.finish();
}

fn collect(c: &mut Criterion<ProcessCpuTime>) {
    let mut g = c.benchmark_group("collect");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    for n in [10_000usize, 100_000] {
        let prw = prw_periodic(n + 10, PrwKeep::default());
        let prw_fresh = prw_periodic(n + 10, PrwNull);
        let otel = otel_provider(n + 10);
        let otel_otlp = otel_provider_exporting(n + 10, true);
        let pc = prw.meter("bench").u64_counter("series").build();
        let pc2 = prw_fresh.meter("bench").u64_counter("series").build();
        let oc = otel.meter("bench").u64_counter("series").build();
        let oc2 = otel_otlp.meter("bench").u64_counter("series").build();
        // Each SDK's series are created in one go, so neither finds its memory interleaved
        // with the other's.
        let abc = |k: i64| (k % 100, (k / 100) % 100, k / 10_000);
        let fill_prw = |counter: &prw_api::Counter<u64>| {
            for k in 0..n as i64 {
                let (a, b, d) = abc(k);
                let attrs = [
                    prw_api::KeyValue::new("a", a),
                    prw_api::KeyValue::new("b", b),
                    prw_api::KeyValue::new("c", d),
                ];
                counter.add(1, &attrs);
            }
        };
        let fill_otel = |counter: &opentelemetry::metrics::Counter<u64>| {
            for k in 0..n as i64 {
                let (a, b, d) = abc(k);
                let attrs = [
                    opentelemetry::KeyValue::new("a", a),
                    opentelemetry::KeyValue::new("b", b),
                    opentelemetry::KeyValue::new("c", d),
                ];
                counter.add(1, &attrs);
            }
        };
        fill_prw(&pc);
        fill_prw(&pc2);
        fill_otel(&oc);
        fill_otel(&oc2);
        g.bench_with_input(BenchmarkId::new("prw", n), &n, |b, _| {
            b.iter(|| prw.force_flush().unwrap())
        });
        g.bench_with_input(BenchmarkId::new("prw_fresh", n), &n, |b, _| {
            b.iter(|| prw_fresh.force_flush().unwrap())
        });
        g.bench_with_input(BenchmarkId::new("otel", n), &n, |b, _| {
            b.iter(|| otel.force_flush().unwrap())
        });
        g.bench_with_input(BenchmarkId::new("otel_then_otlp", n), &n, |b, _| {
            b.iter(|| otel_otlp.force_flush().unwrap())
        });
    }
    g.finish();
}

criterion_group! {
    name = cpu;
    config = cpu_config();
    targets = single_thread, threads_cpu, collect
}
criterion_group! {
    name = wall;
    config = wall_config();
    targets = threads
}
criterion_main!(cpu, wall);
