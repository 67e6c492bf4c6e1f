//! Every instrument with every aggregation, fed by a simulated workload and by /proc.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prw::api::{KeyValue, Meter};
use prw::sdk::{Aggregation, View};

use crate::procfs;

/// The views that give instruments their non-default aggregations.
pub(crate) fn views() -> Vec<View> {
    let view = |name: &str, aggregation: Aggregation| {
        View::builder().with_instrument_name(name).with_aggregation(aggregation).build()
    };
    [
        // exponential buckets: a native histogram in Prometheus
        view("sample.db.query.duration", Aggregation::exponential()),
        // the original design's MinMaxSumCount: a summary with quantiles 0 and 1
        view("sample.payload.size", Aggregation::MinMaxSumCount),
        // an explicit histogram with our own buckets (the instrument's hint is overridden)
        view("sample.queue.wait", Aggregation::histogram(vec![0.001, 0.01, 0.1, 1.0])),
        // a counter whose last value is kept instead of its sum
        view("sample.last.batch", Aggregation::LastValue),
        // and one that is not exported at all
        view("sample.debug.noise", Aggregation::Drop),
    ]
    .into_iter()
    .filter_map(|v| match v {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!("sample_app: a view is invalid, skipped: {e}");
            None
        }
    })
    .collect()
}

/// Registers the observable instruments (read at every collection).
pub(crate) fn observe(meter: &Meter, started: Instant, interval: Duration) {
    meter
        .f64_observable_counter("process.cpu.time")
        .with_unit("s")
        .with_description("CPU time of this process, user + system (/proc/self/stat)")
        .with_callback(|o| {
            if let Some(s) = procfs::cpu_seconds() {
                o.observe(s, &[]);
            }
        })
        .build();
    meter
        .i64_observable_up_down_counter("process.open_file_descriptor.count")
        .with_unit("{file_descriptor}")
        .with_description("open file descriptors (/proc/self/fd)")
        .with_callback(|o| {
            if let Some(n) = procfs::open_fds() {
                o.observe(n, &[]);
            }
        })
        .build();
    meter
        .u64_observable_gauge("process.memory.rss")
        .with_unit("By")
        .with_description("resident set size (/proc/self/status VmRSS)")
        .with_callback(|o| {
            if let Some(b) = procfs::rss_bytes() {
                o.observe(b, &[]);
            }
        })
        .build();
    meter
        .i64_observable_gauge("process.thread.count")
        .with_unit("{thread}")
        .with_callback(|o| {
            if let Some(t) = procfs::threads() {
                o.observe(t, &[]);
            }
        })
        .build();
    meter
        .f64_observable_gauge("process.uptime")
        .with_unit("s")
        .with_callback(move |o| o.observe(started.elapsed().as_secs_f64(), &[]))
        .build();
    // The phase changes every three intervals; the previous phase's series then stops being
    // reported, and the exporter ends it with a stale marker.
    meter
        .u64_observable_gauge("sample.phase.active")
        .with_description("1 for the phase the app is in; earlier phases end with a stale marker")
        .with_callback(move |o| {
            let phase = started.elapsed().as_nanos() / (interval.as_nanos() * 3).max(1);
            o.observe(1, &[KeyValue::new("phase", format!("p{phase}"))]);
        })
        .build();
    meter
        .u64_observable_counter("sample.observed.ticks")
        .with_callback(move |o| o.observe(started.elapsed().as_millis() as u64 / 100, &[]))
        .build();
    meter
        .f64_observable_up_down_counter("sample.observed.balance")
        .with_unit("{EUR}")
        .with_callback(move |o| o.observe((started.elapsed().as_secs_f64()).sin() * 100.0, &[]))
        .build();
}

/// Records a simulated HTTP service's traffic on every synchronous instrument until `stop`.
pub(crate) fn start_workload(
    meter: &Meter,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<u64>> {
    let requests = meter
        .u64_counter("http.server.requests")
        .with_unit("{request}")
        .with_description("HTTP requests served")
        .build();
    let bytes = meter.f64_counter("http.server.response.body.size").with_unit("By").build();
    let active =
        meter.i64_up_down_counter("http.server.active_requests").with_unit("{request}").build();
    let fill = meter.f64_up_down_counter("sample.buffer.fill").with_unit("1").build();
    let duration = meter
        .f64_histogram("http.server.request.duration")
        .with_unit("s")
        .with_description("time to serve a request")
        .with_boundaries(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0])
        .build();
    let db = meter.f64_histogram("sample.db.query.duration").with_unit("s").build();
    let payload = meter.u64_histogram("sample.payload.size").with_unit("By").build();
    let wait = meter.f64_histogram("sample.queue.wait").with_unit("s").build();
    let temperature = meter.f64_gauge("sample.temperature").with_unit("Cel").build();
    let offset = meter.i64_gauge("sample.clock.offset").with_unit("ms").build();
    let entries = meter.u64_gauge("sample.cache.entries").with_unit("{entry}").build();
    let last_batch = meter.u64_counter("sample.last.batch").build();
    let noise = meter.u64_counter("sample.debug.noise").build();
    // a bound handle: the attribute lookup is done once
    let cart = requests.bind(&[
        KeyValue::new("http.route", "/cart"),
        KeyValue::new("http.response.status_code", 200),
    ]);

    let recorded = Arc::new(AtomicU64::new(0));
    std::thread::Builder::new().name("workload".into()).spawn(move || {
        let routes = ["/search", "/checkout"];
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let route = routes[fastrand::usize(..routes.len())];
            let status = if fastrand::u8(..100) < 95 { 200 } else { 500 };
            let attrs = [
                KeyValue::new("http.route", route),
                KeyValue::new("http.response.status_code", status),
            ];
            active.add(1, &[]);
            requests.add(1, &attrs);
            cart.add(1);
            // a long-tailed latency
            let latency = 0.002 / (1.0 - fastrand::f64()).max(1e-3);
            duration.record(latency, &attrs[..1]);
            bytes.add(512.0 + fastrand::f64() * 4096.0, &attrs[..1]);
            db.record(latency / 3.0, &[KeyValue::new("db.operation", "SELECT")]);
            payload.record(fastrand::u64(64..65_536), &[]);
            wait.record(fastrand::f64() / 10.0, &[]);
            fill.add(fastrand::f64() - 0.5, &[]);
            temperature.record(20.0 + fastrand::f64() * 5.0, &[KeyValue::new("room", "server")]);
            offset.record(fastrand::i64(-20..20), &[]);
            entries.record(1_000 + n % 500, &[]);
            last_batch.add(fastrand::u64(1..50), &[]);
            noise.add(1, &[]);
            active.add(-1, &[]);
            std::thread::sleep(Duration::from_millis(10));
        }
        recorded.fetch_add(n, Ordering::Relaxed);
        n
    })
}
