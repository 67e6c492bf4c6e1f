//! Views: selection by name pattern, kind and meter; renaming, description, aggregation,
//! attribute filtering, per-view cardinality limits; several views → several streams.
#![allow(clippy::unwrap_used)] // tests and benches: a failure should stop them

mod common;

use common::*;
use prw_api::{InstrumentKind, KeyValue};
use prw_proto::otlp::metrics::metric::Data;
use prw_sdk::{Aggregation, Temporality, View};

#[test]
fn rename_and_describe_one_instrument() {
    let v = View::builder()
        .with_instrument_name("http.server.duration")
        .with_name("http.server.request.duration")
        .with_description("new")
        .build()
        .unwrap();
    let (p, r) = provider_with(vec![v], Temporality::Cumulative);
    let m = p.meter("m");
    m.f64_histogram("http.server.duration").with_description("old").build().record(1.0, &[]);
    m.f64_histogram("other").build().record(1.0, &[]);
    let rm = r.collect().unwrap();
    assert_eq!(names(&rm), vec!["http.server.request.duration", "other"]);
    assert_eq!(metric(&rm, "http.server.request.duration").description, "new");
}

#[test]
fn wildcard_kind_and_meter_selection() {
    let views = vec![
        View::builder()
            .with_instrument_name("db.*")
            .with_aggregation(Aggregation::Drop)
            .build()
            .unwrap(),
        View::builder()
            .with_instrument_kind(InstrumentKind::Histogram)
            .with_aggregation(Aggregation::exponential())
            .build()
            .unwrap(),
        View::builder()
            .with_meter_name("noisy")
            .with_aggregation(Aggregation::Drop)
            .build()
            .unwrap(),
    ];
    let (p, r) = provider_with(views, Temporality::Cumulative);
    let m = p.meter("m");
    m.u64_counter("db.calls").build().add(1, &[]);
    m.u64_counter("DB.Errors").build().add(1, &[]);
    m.u64_counter("http.calls").build().add(1, &[]);
    m.f64_histogram("latency").build().record(1.0, &[]);
    p.meter("noisy").u64_counter("chatter").build().add(1, &[]);
    let rm = r.collect().unwrap();
    assert_eq!(names(&rm), vec!["http.calls", "latency"]);
    assert_eq!(kind(metric(&rm, "latency")), "exponential");
    assert_eq!(kind(metric(&rm, "http.calls")), "sum");
}

#[test]
fn allowed_keys_merge_series() {
    let v = View::builder()
        .with_instrument_name("requests")
        .with_allowed_attribute_keys(["route"])
        .build()
        .unwrap();
    let (p, r) = provider_with(vec![v], Temporality::Cumulative);
    let c = p.meter("m").u64_counter("requests").build();
    c.add(1, &[KeyValue::new("route", "/a"), KeyValue::new("user", "1")]);
    c.add(2, &[KeyValue::new("user", "2"), KeyValue::new("route", "/a")]);
    c.add(4, &[KeyValue::new("route", "/b")]);
    c.add(8, &[KeyValue::new("user", "3")]);
    c.bind(&[KeyValue::new("route", "/b"), KeyValue::new("user", "9")]).add(16);
    let rm = r.collect().unwrap();
    assert_eq!(
        number_points(metric(&rm, "requests")),
        vec![(vec![], 8.0), (vec!["route=/a".into()], 3.0), (vec!["route=/b".into()], 20.0)]
    );
}

#[test]
fn two_views_two_streams() {
    let views = vec![
        View::builder().with_instrument_name("latency").with_name("latency.hist").build().unwrap(),
        View::builder()
            .with_instrument_name("latency")
            .with_name("latency.summary")
            .with_aggregation(Aggregation::MinMaxSumCount)
            .build()
            .unwrap(),
    ];
    let (p, r) = provider_with(views, Temporality::Cumulative);
    let h = p.meter("m").f64_histogram("latency").build();
    h.record(3.0, &[]);
    h.bind(&[]).record(5.0);
    let rm = r.collect().unwrap();
    assert_eq!(names(&rm), vec!["latency.hist", "latency.summary"]);
    match metric(&rm, "latency.summary").data.as_ref().unwrap() {
        Data::Summary(s) => assert_eq!((s.data_points[0].count, s.data_points[0].sum), (2, 8.0)),
        other => panic!("{other:?}"),
    }
    match metric(&rm, "latency.hist").data.as_ref().unwrap() {
        Data::Histogram(h) => assert_eq!(h.data_points[0].count, 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn advised_boundaries_and_view_boundaries() {
    let v = View::builder()
        .with_instrument_name("b")
        .with_aggregation(Aggregation::histogram(vec![10.0]))
        .build()
        .unwrap();
    let (p, r) = provider_with(vec![v], Temporality::Cumulative);
    let m = p.meter("m");
    m.f64_histogram("a").with_boundaries(vec![1.0, 2.0]).build().record(1.5, &[]);
    m.f64_histogram("b").with_boundaries(vec![1.0, 2.0]).build().record(1.5, &[]);
    let rm = r.collect().unwrap();
    let bounds = |name| match metric(&rm, name).data.as_ref().unwrap() {
        Data::Histogram(h) => {
            (h.data_points[0].explicit_bounds.clone(), h.data_points[0].bucket_counts.clone())
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(bounds("a"), (vec![1.0, 2.0], vec![0, 1, 0]));
    assert_eq!(bounds("b"), (vec![10.0], vec![1, 0]));
}

#[test]
fn per_view_cardinality_limit() {
    let v = View::builder().with_instrument_name("c").with_cardinality_limit(3).build().unwrap();
    let (p, r) = provider_with(vec![v], Temporality::Cumulative);
    let c = p.meter("m").u64_counter("c").build();
    for i in 0..10i64 {
        c.add(1, &[KeyValue::new("i", i)]);
    }
    let rm = r.collect().unwrap();
    assert_eq!(
        number_points(metric(&rm, "c")),
        vec![
            (vec!["i=0".into()], 1.0),
            (vec!["i=1".into()], 1.0),
            (vec!["otel.metric.overflow=true".into()], 8.0)
        ]
    );
    assert_eq!(p.stats().overflowed_measurements, 8);
}
