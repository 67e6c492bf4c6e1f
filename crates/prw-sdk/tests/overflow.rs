//! The cardinality limit: past it, measurements go to one `otel.metric.overflow=true` series,
//! nothing is lost from the totals, and the overflowed measurements are counted.
#![allow(clippy::unwrap_used)] // tests and benches: a failure should stop them

mod common;

use common::*;
use prw_api::KeyValue;
use prw_proto::otlp::metrics::metric::Data;
use prw_sdk::{ManualReader, SdkMeterProvider, Temporality};

#[test]
fn default_limit_is_2000() {
    let (p, r, m) = provider();
    let c = m.u64_counter("c").build();
    for i in 0..2500i64 {
        c.add(1, &[KeyValue::new("i", i)]);
    }
    // Sets already known keep their own series after the limit is reached.
    c.add(10, &[KeyValue::new("i", 0)]);
    let rm = r.collect().unwrap();
    let pts = number_points(metric(&rm, "c"));
    assert_eq!(pts.len(), 2000);
    let total: f64 = pts.iter().map(|p| p.1).sum();
    assert_eq!(total, 2510.0);
    let overflow =
        pts.iter().find(|p| p.0 == vec!["otel.metric.overflow=true".to_string()]).unwrap();
    assert_eq!(overflow.1, 501.0);
    assert_eq!(p.stats().overflowed_measurements, 501);
}

#[test]
fn provider_limit_applies_to_histograms_and_observables() {
    let reader = ManualReader::new();
    let p =
        SdkMeterProvider::builder().with_reader(reader.clone()).with_cardinality_limit(5).build();
    let m = p.meter("m");
    let h = m.f64_histogram("h").build();
    for i in 0..20i64 {
        h.record(1.0, &[KeyValue::new("i", i)]);
    }
    m.u64_observable_counter("o")
        .with_callback(|o| {
            for i in 0..20i64 {
                o.observe(2, &[KeyValue::new("i", i)]);
            }
        })
        .build();
    let rm = reader.collect().unwrap();
    match metric(&rm, "h").data.as_ref().unwrap() {
        Data::Histogram(h) => {
            assert_eq!(h.data_points.len(), 5);
            assert_eq!(h.data_points.iter().map(|p| p.count).sum::<u64>(), 20);
        }
        other => panic!("{other:?}"),
    }
    let pts = number_points(metric(&rm, "o"));
    assert_eq!(pts.len(), 5);
    assert_eq!(pts.iter().map(|p| p.1).sum::<f64>(), 40.0);
    assert!(
        pts.iter().any(|p| p.0 == vec!["otel.metric.overflow=true".to_string()] && p.1 == 32.0)
    );
}

#[test]
fn delta_frees_places_under_the_limit() {
    let (p, r) = provider_with(vec![], Temporality::Delta);
    let _ = p.stats();
    let c = p.meter("m").u64_counter("c").build();
    // 1999 sets fill the default limit; after a collection with no activity they are
    // evicted, so a new set gets its own series instead of overflowing.
    for i in 0..1999i64 {
        c.add(1, &[KeyValue::new("i", i)]);
    }
    assert_eq!(number_points(metric(&r.collect().unwrap(), "c")).len(), 1999);
    assert!(find(&r.collect().unwrap(), "c").is_none());
    c.add(1, &[KeyValue::new("new", true)]);
    assert_eq!(
        number_points(metric(&r.collect().unwrap(), "c")),
        vec![(vec!["new=true".into()], 1.0)]
    );
    assert_eq!(p.stats().overflowed_measurements, 0);
}
