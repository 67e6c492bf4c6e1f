//! A collection into the previous one, of series that already existed then, allocates
//! nothing: proved with a counting global allocator (its own test binary, so no other
//! test's allocations count).
#![allow(clippy::unwrap_used)] // tests and benches: a failure should stop them

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use prw_api::{KeyValue, Value};
use prw_sdk::{ManualReader, ResourceMetrics, SdkMeterProvider, Temporality};

use counting_alloc::allocations;

fn set(i: usize) -> [KeyValue; 4] {
    [
        KeyValue::new("method", ["GET", "POST", "PUT"][i % 3]),
        KeyValue::new("route", format!("/items/{}", i / 3)),
        KeyValue::new("status", 200 + (i % 7) as i64),
        KeyValue::new("ok", Value::Bool(i % 2 == 0)),
    ]
}

/// Allocations of a collection into the previous collection, with `series` series in each
/// of a counter, an up-down counter, a gauge and a histogram, all recorded to again since.
fn steady_state_allocations(temporality: Temporality, series: usize) -> u64 {
    let reader = ManualReader::with_temporality(temporality);
    let provider = SdkMeterProvider::builder().with_reader(reader.clone()).build();
    let m = provider.meter("m");
    let counter = m.u64_counter("counter").build();
    let updown = m.i64_up_down_counter("updown").build();
    let gauge = m.f64_gauge("gauge").build();
    let hist = m.f64_histogram("hist").build();
    let sets: Vec<_> = (0..series).map(set).collect();
    let record = |round: usize| {
        for (i, s) in sets.iter().enumerate() {
            counter.add(1, s);
            updown.add(-1, s);
            gauge.record((i + round) as f64, s);
            hist.record((i * round) as f64, s);
        }
        counter.add(1, &[]);
    };
    record(1);
    let mut rm = ResourceMetrics::default();
    reader.collect_into(&mut rm).unwrap();
    record(2);
    let n = allocations(|| reader.collect_into(&mut rm).unwrap());
    // The collection is complete: the allocation count is not that of an empty one.
    let points: usize = rm.scope_metrics[0]
        .metrics
        .iter()
        .map(|m| match m.data.as_ref().unwrap() {
            prw_proto::otlp::metrics::metric::Data::Sum(s) => s.data_points.len(),
            prw_proto::otlp::metrics::metric::Data::Gauge(g) => g.data_points.len(),
            prw_proto::otlp::metrics::metric::Data::Histogram(h) => h.data_points.len(),
            other => panic!("unexpected {other:?}"),
        })
        .sum();
    assert_eq!(points, 4 * series + 1);
    n
}

#[test]
fn collecting_unchanged_series_into_the_previous_collection_allocates_nothing() {
    for temporality in [Temporality::Cumulative, Temporality::Delta] {
        for series in [10, 2000] {
            let n = steady_state_allocations(temporality, series);
            assert_eq!(n, 0, "{temporality:?} with {series} series: {n} allocations");
        }
    }
}

#[test]
fn a_fresh_collection_allocates_per_point() {
    // The counterpart, so that the test above cannot pass by counting nothing.
    let reader = ManualReader::new();
    let provider = SdkMeterProvider::builder().with_reader(reader.clone()).build();
    let counter = provider.meter("m").u64_counter("counter").build();
    for i in 0..100 {
        counter.add(1, &set(i));
    }
    let n = allocations(|| drop(reader.collect().unwrap()));
    assert!(n >= 100, "{n} allocations for 100 points");
}
