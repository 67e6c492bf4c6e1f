//! Memory per active counter series with 3 attributes, prw-sdk and opentelemetry_sdk side
//! by side: live heap bytes (a counting global allocator) after creating N series, divided
//! by N. Run: `cargo run --release -p prw-sdk --example memory_per_series`
#![allow(unsafe_code)] // GlobalAlloc is an unsafe trait; this only forwards to the system allocator.
#![allow(clippy::unwrap_used)] // an example: a failure should stop it

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

use opentelemetry::metrics::MeterProvider as _;

struct Counting;
static LIVE: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> i64 {
    LIVE.load(Ordering::Relaxed)
}

fn main() {
    const N: i64 = 100_000;
    // Attribute values: method and route from fixed lists (&'static str), status an int.
    const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];

    let reader = prw_sdk::ManualReader::new();
    let before = live();
    let prw = prw_sdk::SdkMeterProvider::builder()
        .with_resource(prw_sdk::Resource::builder_empty().build())
        .with_reader(reader.clone())
        .with_cardinality_limit(N as usize + 10)
        .build();
    let c = prw.meter("m").u64_counter("requests").build();
    let empty = live();
    let routes: Vec<std::sync::Arc<str>> =
        (0..N / 4).map(|i| format!("/route/{i}").into()).collect();
    let routes_bytes = live() - empty;
    for k in 0..N {
        c.add(
            1,
            &[
                prw_api::KeyValue::new("method", METHODS[(k % 4) as usize]),
                prw_api::KeyValue::new("route", routes[(k / 4) as usize].clone()),
                prw_api::KeyValue::new("status", 200 + k % 3),
            ],
        );
    }
    drop(reader.collect().unwrap());
    let prw_bytes = live() - empty - routes_bytes;
    println!(
        "prw-sdk:          {:.0} bytes per series ({N} series, 3 attributes; empty provider {} bytes)",
        prw_bytes as f64 / N as f64,
        empty - before
    );
    // An exporter that hands collections back (MetricExporter::reclaim, as prw's
    // remote-write exporter does) keeps one collection alive between intervals, as
    // opentelemetry_sdk's periodic reader does with its own.
    let mut kept = reader.collect().unwrap();
    reader.collect_into(&mut kept).unwrap();
    let kept_bytes = live() - empty - routes_bytes;
    println!(
        "prw-sdk, with the collection kept for reuse: {:.0} bytes per series",
        kept_bytes as f64 / N as f64
    );
    drop(kept);

    let reader = opentelemetry_sdk::metrics::PeriodicReader::builder(Null)
        .with_interval(std::time::Duration::from_secs(3600))
        .build();
    let before = live();
    let otel = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(reader)
        .with_view(|_: &opentelemetry_sdk::metrics::Instrument| {
            opentelemetry_sdk::metrics::Stream::builder()
                .with_cardinality_limit(N as usize + 10)
                .build()
                .ok()
        })
        .build();
    let c = otel.meter("m").u64_counter("requests").build();
    let empty = live();
    let routes: Vec<opentelemetry::StringValue> =
        (0..N / 4).map(|i| opentelemetry::StringValue::from(format!("/route/{i}"))).collect();
    let routes_bytes = live() - empty;
    for k in 0..N {
        c.add(
            1,
            &[
                opentelemetry::KeyValue::new("method", METHODS[(k % 4) as usize]),
                opentelemetry::KeyValue::new("route", routes[(k / 4) as usize].clone()),
                opentelemetry::KeyValue::new("status", 200 + k % 3),
            ],
        );
    }
    otel.force_flush().unwrap();
    let otel_bytes = live() - empty - routes_bytes;
    println!(
        "opentelemetry_sdk: {:.0} bytes per series ({N} series, 3 attributes; empty provider {} bytes)",
        otel_bytes as f64 / N as f64,
        empty - before
    );
    drop(routes);
}

#[derive(Debug)]
struct Null;
impl opentelemetry_sdk::metrics::exporter::PushMetricExporter for Null {
    async fn export(
        &self,
        _metrics: &opentelemetry_sdk::metrics::data::ResourceMetrics,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(
        &self,
        _t: std::time::Duration,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> opentelemetry_sdk::metrics::Temporality {
        opentelemetry_sdk::metrics::Temporality::Cumulative
    }
}
