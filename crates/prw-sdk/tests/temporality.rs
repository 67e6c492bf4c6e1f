//! Cumulative and delta temporality, and the start times that go with them.
#![allow(clippy::unwrap_used)] // tests and benches: a failure should stop them

mod common;

use std::thread::sleep;
use std::time::Duration;

use common::*;
use prw_api::KeyValue;
use prw_proto::otlp::metrics::AggregationTemporality;
use prw_proto::otlp::metrics::metric::Data;
use prw_sdk::Temporality;

fn temporality_of(m: &prw_proto::otlp::metrics::Metric) -> i32 {
    match m.data.as_ref().unwrap() {
        Data::Sum(s) => s.aggregation_temporality,
        Data::Histogram(h) => h.aggregation_temporality,
        Data::ExponentialHistogram(h) => h.aggregation_temporality,
        other => panic!("{other:?}"),
    }
}

#[test]
fn cumulative_keeps_totals_and_start_time() {
    let (p, r) = provider_with(vec![], Temporality::Cumulative);
    let c = p.meter("m").u64_counter("c").build();
    c.add(1, &[KeyValue::new("a", 1)]);
    let first = r.collect().unwrap();
    sleep(Duration::from_millis(2));
    c.add(2, &[KeyValue::new("a", 1)]);
    let second = r.collect().unwrap();
    let p1 = &raw_number_points(metric(&first, "c"))[0];
    let p2 = &raw_number_points(metric(&second, "c"))[0];
    assert_eq!((num(p1), num(p2)), (1.0, 3.0));
    assert_eq!(temporality_of(metric(&second, "c")), AggregationTemporality::Cumulative as i32);
    // The start stays put; the time moves on; start ≤ time.
    assert_eq!(p1.start_time_unix_nano, p2.start_time_unix_nano);
    assert!(p2.time_unix_nano > p1.time_unix_nano);
    assert!(p1.start_time_unix_nano > 0 && p1.start_time_unix_nano <= p1.time_unix_nano);
    // A series is still exported when nothing new was recorded.
    let third = r.collect().unwrap();
    assert_eq!(num(&raw_number_points(metric(&third, "c"))[0]), 3.0);
}

#[test]
fn series_created_later_start_later() {
    let (p, r) = provider_with(vec![], Temporality::Cumulative);
    let c = p.meter("m").u64_counter("c").build();
    c.add(1, &[KeyValue::new("a", 1)]);
    sleep(Duration::from_millis(2));
    c.add(1, &[KeyValue::new("a", 2)]);
    let rm = r.collect().unwrap();
    let pts = raw_number_points(metric(&rm, "c"));
    let start = |v: i64| {
        pts.iter()
            .find(|p| attrs(&p.attributes) == vec![format!("a={v}")])
            .unwrap()
            .start_time_unix_nano
    };
    assert!(start(2) > start(1));
}

#[test]
fn delta_resets_and_chains_start_times() {
    let (p, r) = provider_with(vec![], Temporality::Delta);
    let m = p.meter("m");
    let c = m.u64_counter("c").build();
    let h = m.f64_histogram("h").build();
    let u = m.i64_up_down_counter("u").build();
    c.add(5, &[]);
    h.record(1.0, &[]);
    u.add(5, &[]);
    let first = r.collect().unwrap();
    sleep(Duration::from_millis(2));
    c.add(2, &[]);
    h.record(2.0, &[]);
    h.record(3.0, &[]);
    u.add(1, &[]);
    let second = r.collect().unwrap();

    let (c1, c2) =
        (&raw_number_points(metric(&first, "c"))[0], &raw_number_points(metric(&second, "c"))[0]);
    assert_eq!((num(c1), num(c2)), (5.0, 2.0));
    assert_eq!(temporality_of(metric(&second, "c")), AggregationTemporality::Delta as i32);
    // Each delta point starts where the previous one ended.
    assert_eq!(c2.start_time_unix_nano, c1.time_unix_nano);

    match metric(&second, "h").data.as_ref().unwrap() {
        Data::Histogram(hh) => {
            let pt = &hh.data_points[0];
            assert_eq!((pt.count, pt.sum, pt.min, pt.max), (2, Some(5.0), Some(2.0), Some(3.0)));
            assert_eq!(hh.aggregation_temporality, AggregationTemporality::Delta as i32);
        }
        other => panic!("{other:?}"),
    }
    // Up-down counters stay cumulative under a delta reader.
    assert_eq!(num(&raw_number_points(metric(&second, "u"))[0]), 6.0);
    assert_eq!(temporality_of(metric(&second, "u")), AggregationTemporality::Cumulative as i32);

    // Nothing recorded: a delta counter exports nothing.
    let third = r.collect().unwrap();
    assert!(find(&third, "c").is_none());
    assert!(find(&third, "h").is_none());
    assert!(find(&third, "u").is_some());
}

#[test]
fn delta_observable_counter_reports_differences() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let (p, r) = provider_with(vec![], Temporality::Delta);
    let total = Arc::new(AtomicU64::new(10));
    let t = total.clone();
    p.meter("m")
        .u64_observable_counter("bytes")
        .with_callback(move |o| o.observe(t.load(Ordering::SeqCst), &[]))
        .build();
    assert_eq!(single(metric(&r.collect().unwrap(), "bytes")), 10.0);
    total.store(25, Ordering::SeqCst);
    assert_eq!(single(metric(&r.collect().unwrap(), "bytes")), 15.0);
    // A running total that goes down was reset: the new total is the delta.
    total.store(4, Ordering::SeqCst);
    assert_eq!(single(metric(&r.collect().unwrap(), "bytes")), 4.0);
}

#[test]
fn delta_gauge_exports_only_new_values() {
    let (p, r) = provider_with(vec![], Temporality::Delta);
    let g = p.meter("m").f64_gauge("g").build();
    g.record(1.5, &[]);
    assert_eq!(single(metric(&r.collect().unwrap(), "g")), 1.5);
    // Gauges keep their last value under either temporality.
    assert_eq!(single(metric(&r.collect().unwrap(), "g")), 1.5);
}

#[test]
fn bound_series_survive_delta_eviction() {
    let (p, r) = provider_with(vec![], Temporality::Delta);
    let c = p.meter("m").u64_counter("c").build();
    let b = c.bind(&[KeyValue::new("k", "v")]);
    b.add(1);
    r.collect().unwrap();
    r.collect().unwrap();
    r.collect().unwrap();
    b.add(2);
    assert_eq!(number_points(metric(&r.collect().unwrap(), "c")), vec![(vec!["k=v".into()], 2.0)]);
}
