//! Recording into an existing series, bound or not, allocates nothing: proved with a
//! counting global allocator (its own test binary, so no other test's allocations count).
#![allow(clippy::unwrap_used)] // tests and benches: a failure should stop them

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use prw_api::KeyValue;
use prw_sdk::{Aggregation, ManualReader, SdkMeterProvider, Temporality, View};

use counting_alloc::allocations;

fn check(temporality: Temporality) {
    let reader = ManualReader::with_temporality(temporality);
    let provider = SdkMeterProvider::builder()
        .with_reader(reader.clone())
        .with_view(
            View::builder()
                .with_instrument_name("expo")
                .with_aggregation(Aggregation::exponential())
                .build()
                .unwrap(),
        )
        .with_view(
            View::builder()
                .with_instrument_name("mmsc")
                .with_aggregation(Aggregation::MinMaxSumCount)
                .build()
                .unwrap(),
        )
        .with_view(
            View::builder()
                .with_instrument_name("filtered")
                .with_allowed_attribute_keys(["method"])
                .build()
                .unwrap(),
        )
        .build();
    let m = provider.meter("m");
    let counter = m.u64_counter("counter").build();
    let fcounter = m.f64_counter("fcounter").build();
    let updown = m.i64_up_down_counter("updown").build();
    let hist = m.f64_histogram("hist").build();
    let expo = m.f64_histogram("expo").build();
    let mmsc = m.u64_histogram("mmsc").build();
    let gauge = m.f64_gauge("gauge").build();
    let filtered = m.u64_counter("filtered").build();
    let owned: std::sync::Arc<str> = "/users/:id".into();
    let attrs = [
        KeyValue::new("method", "GET"),
        KeyValue::new("route", owned),
        KeyValue::new("status", 200),
        KeyValue::new("cached", false),
    ];
    let reversed = [attrs[3].clone(), attrs[2].clone(), attrs[1].clone(), attrs[0].clone()];
    let three = [attrs[0].clone(), attrs[1].clone(), attrs[2].clone()];
    let record_all = |a: &[KeyValue]| {
        counter.add(1, a);
        fcounter.add(1.5, a);
        updown.add(-1, a);
        hist.record(12.0, a);
        expo.record(12.0, a);
        mmsc.record(12, a);
        gauge.record(3.0, a);
        filtered.add(1, a);
    };
    // First use creates the series (allocates); later ones must not.
    for a in [&attrs[..], &three[..], &[]] {
        record_all(a);
    }
    let bound_counter = counter.bind(&attrs);
    let bound_hist = hist.bind(&three);
    let bound_gauge = gauge.bind(&[]);
    let n = allocations(|| {
        for _ in 0..1000 {
            record_all(&attrs);
            record_all(&reversed);
            record_all(&three);
            record_all(&[]);
            bound_counter.add(1);
            bound_hist.record(3.0);
            bound_gauge.record(1.0);
        }
    });
    assert_eq!(n, 0, "{temporality:?}: recording into existing series allocated {n} times");
    // And the series are all there.
    let rm = reader.collect().unwrap();
    assert_eq!(rm.scope_metrics[0].metrics.len(), 8);
}

#[test]
fn recording_allocates_nothing_cumulative() {
    check(Temporality::Cumulative);
}

#[test]
fn recording_allocates_nothing_delta() {
    check(Temporality::Delta);
}

#[test]
fn the_counter_sees_allocations() {
    assert_eq!(allocations(|| drop(std::hint::black_box(Vec::<u8>::with_capacity(8)))), 1);
    // A new series does allocate (its attributes are copied): the check above is not vacuous.
    let reader = ManualReader::new();
    let provider = SdkMeterProvider::builder().with_reader(reader).build();
    let c = provider.meter("m").u64_counter("c").build();
    c.add(1, &[KeyValue::new("a", 1)]);
    assert!(allocations(|| c.add(1, &[KeyValue::new("a", 2)])) > 0);
}
