//! Every instrument × every aggregation, checked against the collected OTLP.
#![allow(clippy::unwrap_used)] // tests and benches: a failure should stop them

mod common;

use common::*;
use prw_api::{InstrumentKind, KeyValue};
use prw_proto::otlp::metrics::AggregationTemporality;
use prw_proto::otlp::metrics::metric::Data;
use prw_sdk::{Aggregation, Temporality, View};

const AGGREGATIONS: [&str; 7] =
    ["default", "drop", "sum", "last", "histogram", "exponential", "mmsc"];

fn aggregation(name: &str) -> Aggregation {
    match name {
        "default" => Aggregation::Default,
        "drop" => Aggregation::Drop,
        "sum" => Aggregation::Sum,
        "last" => Aggregation::LastValue,
        "histogram" => Aggregation::histogram(vec![1.0, 5.0]),
        "exponential" => Aggregation::exponential(),
        "mmsc" => Aggregation::MinMaxSumCount,
        _ => unreachable!(),
    }
}

/// What recording 1, 4, then 2 (all with the same attributes) must produce.
fn check(instrument: &str, kind: InstrumentKind, agg: &str, rm: &prw_sdk::ResourceMetrics) {
    let m = find(rm, instrument);
    let effective = match (agg, kind) {
        ("default", InstrumentKind::Histogram) => "histogram",
        ("default", InstrumentKind::Gauge) => "last",
        ("default", _) => "sum",
        // Sum does not fit a gauge: the view is ignored with a warning.
        ("sum", InstrumentKind::Gauge) => "last",
        (a, _) => a,
    };
    let ctx = format!("{instrument} with {agg}");
    if effective == "drop" {
        assert!(m.is_none(), "{ctx}: dropped stream was exported");
        return;
    }
    let m = m.unwrap_or_else(|| panic!("{ctx}: not exported"));
    match (effective, m.data.as_ref().unwrap()) {
        ("sum", Data::Sum(s)) => {
            assert_eq!(s.is_monotonic, kind == InstrumentKind::Counter, "{ctx}");
            assert_eq!(
                s.aggregation_temporality,
                AggregationTemporality::Cumulative as i32,
                "{ctx}"
            );
            assert_eq!(single(m), 7.0, "{ctx}");
        }
        ("last", Data::Gauge(_)) => assert_eq!(single(m), 2.0, "{ctx}"),
        ("histogram", Data::Histogram(h)) => {
            let p = &h.data_points[0];
            assert_eq!(p.count, 3, "{ctx}");
            let bounds = if agg == "default" {
                prw_sdk::DEFAULT_BOUNDARIES.to_vec()
            } else {
                vec![1.0, 5.0]
            };
            assert_eq!(p.explicit_bounds, bounds, "{ctx}");
            if agg != "default" {
                // (-inf,1], (1,5], (5,inf)
                assert_eq!(p.bucket_counts, vec![1, 2, 0], "{ctx}");
            }
            assert_eq!((p.min, p.max), (Some(1.0), Some(4.0)), "{ctx}");
            let sum_expected = matches!(kind, InstrumentKind::Counter | InstrumentKind::Histogram);
            assert_eq!(p.sum, sum_expected.then_some(7.0), "{ctx}");
        }
        ("exponential", Data::ExponentialHistogram(h)) => {
            let p = &h.data_points[0];
            assert_eq!(p.count, 3, "{ctx}");
            let pos = p.positive.as_ref().unwrap();
            assert_eq!(pos.bucket_counts.iter().sum::<u64>(), 3, "{ctx}");
            assert_eq!((p.min, p.max), (Some(1.0), Some(4.0)), "{ctx}");
            assert_eq!(p.zero_count, 0);
        }
        ("mmsc", Data::Summary(s)) => {
            let p = &s.data_points[0];
            assert_eq!((p.count, p.sum), (3, 7.0), "{ctx}");
            let q: Vec<(f64, f64)> =
                p.quantile_values.iter().map(|q| (q.quantile, q.value)).collect();
            assert_eq!(q, vec![(0.0, 1.0), (1.0, 4.0)], "{ctx}");
        }
        (e, d) => panic!("{ctx}: expected {e}, got {d:?}"),
    }
    let a = match m.data.as_ref().unwrap() {
        Data::Sum(s) => attrs(&s.data_points[0].attributes),
        Data::Gauge(g) => attrs(&g.data_points[0].attributes),
        Data::Histogram(h) => attrs(&h.data_points[0].attributes),
        Data::ExponentialHistogram(h) => attrs(&h.data_points[0].attributes),
        Data::Summary(s) => attrs(&s.data_points[0].attributes),
    };
    assert_eq!(a, vec!["k=v".to_string()], "{ctx}");
}

#[test]
fn every_sync_instrument_with_every_aggregation() {
    for agg in AGGREGATIONS {
        let views = vec![
            View::builder()
                .with_instrument_name("*")
                .with_aggregation(aggregation(agg))
                .build()
                .unwrap(),
        ];
        let (provider, reader) = provider_with(views, Temporality::Cumulative);
        let m = provider.meter("t");
        let a = [KeyValue::new("k", "v")];
        let cu = m.u64_counter("counter_u64").build();
        let cf = m.f64_counter("counter_f64").build();
        let ui = m.i64_up_down_counter("updown_i64").build();
        let uf = m.f64_up_down_counter("updown_f64").build();
        let hu = m.u64_histogram("histogram_u64").build();
        let hf = m.f64_histogram("histogram_f64").build();
        let gu = m.u64_gauge("gauge_u64").build();
        let gi = m.i64_gauge("gauge_i64").build();
        let gf = m.f64_gauge("gauge_f64").build();
        for v in [1u64, 4, 2] {
            cu.add(v, &a);
            cf.add(v as f64, &a);
            ui.add(v as i64, &a);
            uf.add(v as f64, &a);
            hu.record(v, &a);
            hf.record(v as f64, &a);
            gu.record(v, &a);
            gi.record(v as i64, &a);
            gf.record(v as f64, &a);
        }
        let rm = reader.collect().unwrap();
        use InstrumentKind::*;
        for (name, kind) in [
            ("counter_u64", Counter),
            ("counter_f64", Counter),
            ("updown_i64", UpDownCounter),
            ("updown_f64", UpDownCounter),
            ("histogram_u64", Histogram),
            ("histogram_f64", Histogram),
            ("gauge_u64", Gauge),
            ("gauge_i64", Gauge),
            ("gauge_f64", Gauge),
        ] {
            check(name, kind, agg, &rm);
        }
    }
}

#[test]
fn every_observable_instrument_with_every_aggregation() {
    for agg in AGGREGATIONS {
        let views = vec![
            View::builder()
                .with_instrument_name("*")
                .with_aggregation(aggregation(agg))
                .build()
                .unwrap(),
        ];
        let (provider, reader) = provider_with(views, Temporality::Cumulative);
        let m = provider.meter("t");
        let a = || [KeyValue::new("k", "v")];
        let _c1 = m
            .u64_observable_counter("ocounter_u64")
            .with_callback(move |o| o.observe(7, &a()))
            .build();
        let _c2 = m
            .f64_observable_counter("ocounter_f64")
            .with_callback(move |o| o.observe(7.0, &a()))
            .build();
        let _u1 = m
            .i64_observable_up_down_counter("oupdown_i64")
            .with_callback(move |o| o.observe(7, &a()))
            .build();
        let _u2 = m
            .f64_observable_up_down_counter("oupdown_f64")
            .with_callback(move |o| o.observe(7.0, &a()))
            .build();
        let _g1 =
            m.u64_observable_gauge("ogauge_u64").with_callback(move |o| o.observe(2, &a())).build();
        let _g2 =
            m.i64_observable_gauge("ogauge_i64").with_callback(move |o| o.observe(2, &a())).build();
        let _g3 = m
            .f64_observable_gauge("ogauge_f64")
            .with_callback(move |o| o.observe(2.0, &a()))
            .build();
        let rm = reader.collect().unwrap();
        for (name, is_gauge, monotonic) in [
            ("ocounter_u64", false, true),
            ("ocounter_f64", false, true),
            ("oupdown_i64", false, false),
            ("oupdown_f64", false, false),
            ("ogauge_u64", true, false),
            ("ogauge_i64", true, false),
            ("ogauge_f64", true, false),
        ] {
            let ctx = format!("{name} with {agg}");
            if agg == "drop" {
                assert!(find(&rm, name).is_none(), "{ctx}");
                continue;
            }
            let m = metric(&rm, name);
            // Observable instruments take sum and last value; anything else falls back to
            // the default (sum for counters, last value for gauges).
            let as_gauge = agg == "last" || is_gauge;
            match m.data.as_ref().unwrap() {
                Data::Gauge(_) => assert!(as_gauge, "{ctx}: unexpected gauge"),
                Data::Sum(s) => {
                    assert!(!as_gauge, "{ctx}: unexpected sum");
                    assert_eq!(s.is_monotonic, monotonic, "{ctx}");
                }
                other => panic!("{ctx}: {other:?}"),
            }
            let expected = if is_gauge { 2.0 } else { 7.0 };
            assert_eq!(number_points(m), vec![(vec!["k=v".to_string()], expected)], "{ctx}");
        }
    }
}

#[test]
fn attribute_order_and_storage_do_not_split_series() {
    let (_p, reader, m) = provider();
    let c = m.u64_counter("c").build();
    let route: std::sync::Arc<str> = "/a".into();
    c.add(1, &[KeyValue::new("a", 1), KeyValue::new("route", "/a")]);
    c.add(2, &[KeyValue::new("route", String::from("/a")), KeyValue::new("a", 1)]);
    c.add(4, &[KeyValue::new(String::from("route"), route.clone()), KeyValue::new("a", 1)]);
    c.add(8, &[KeyValue::new("route", route), KeyValue::new("a", 2)]);
    // Duplicate keys: the last one wins.
    c.add(16, &[KeyValue::new("a", 5), KeyValue::new("route", "/a"), KeyValue::new("a", 1)]);
    let rm = reader.collect().unwrap();
    assert_eq!(
        number_points(metric(&rm, "c")),
        vec![
            (vec!["a=1".into(), "route=/a".into()], 23.0),
            (vec!["a=2".into(), "route=/a".into()], 8.0)
        ]
    );
}

#[test]
fn bound_instruments_share_the_series() {
    let (_p, reader, m) = provider();
    let c = m.u64_counter("c").build();
    let h = m.f64_histogram("h").build();
    let g = m.i64_gauge("g").build();
    let u = m.i64_up_down_counter("u").build();
    let attrs = [KeyValue::new("x", "y")];
    let bc = c.bind(&attrs);
    let bh = h.bind(&attrs);
    let bg = g.bind(&attrs);
    let bu = u.bind(&attrs);
    bc.add(5);
    c.add(1, &attrs);
    bh.record(2.0);
    h.record(3.0, &attrs);
    bg.record(-4);
    bu.add(-3);
    u.add(1, &attrs);
    let rm = reader.collect().unwrap();
    assert_eq!(single(metric(&rm, "c")), 6.0);
    assert_eq!(single(metric(&rm, "g")), -4.0);
    assert_eq!(single(metric(&rm, "u")), -2.0);
    match metric(&rm, "h").data.as_ref().unwrap() {
        Data::Histogram(h) => {
            assert_eq!(h.data_points.len(), 1);
            assert_eq!(h.data_points[0].count, 2);
            assert_eq!(h.data_points[0].sum, Some(5.0));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_values_are_dropped_and_counted() {
    let (p, reader, m) = provider();
    let c = m.f64_counter("c").build();
    let h = m.f64_histogram("h").build();
    c.add(-1.0, &[]);
    c.add(f64::NAN, &[]);
    c.add(2.0, &[]);
    h.record(f64::INFINITY, &[]);
    h.record(1.0, &[]);
    c.bind(&[]).add(-5.0);
    let rm = reader.collect().unwrap();
    assert_eq!(single(metric(&rm, "c")), 2.0);
    assert_eq!(p.stats().rejected_measurements, 4);
}

#[test]
fn invalid_names_give_noop_instruments() {
    let (_p, reader, m) = provider();
    let bad = m.u64_counter("1bad").build();
    bad.add(1, &[]);
    bad.bind(&[]).add(1);
    m.u64_counter("good").build().add(1, &[]);
    let rm = reader.collect().unwrap();
    assert_eq!(names(&rm), vec!["good"]);
}

#[test]
fn same_instrument_twice_is_one_stream() {
    let (_p, reader, m) = provider();
    m.u64_counter("requests").build().add(1, &[]);
    m.u64_counter("Requests").build().add(2, &[]);
    m.u64_observable_gauge("temp")
        .with_callback(|o| o.observe(1, &[KeyValue::new("room", "a")]))
        .build();
    m.u64_observable_gauge("temp")
        .with_callback(|o| o.observe(2, &[KeyValue::new("room", "b")]))
        .build();
    let rm = reader.collect().unwrap();
    assert_eq!(names(&rm), vec!["requests", "temp"]);
    assert_eq!(single(metric(&rm, "requests")), 3.0);
    assert_eq!(number_points(metric(&rm, "temp")).len(), 2);
}

#[test]
fn exported_shape() {
    let reader = prw_sdk::ManualReader::new();
    let provider = prw_sdk::SdkMeterProvider::builder()
        .with_resource(prw_sdk::Resource::builder_empty().with_service_name("svc").build())
        .with_reader(reader.clone())
        .build();
    let meter = provider.meter_with_scope(
        prw_api::InstrumentationScope::builder("lib")
            .with_version("1.2")
            .with_schema_url("https://opentelemetry.io/schemas/1.21.0")
            .with_attributes([KeyValue::new("scope.attr", true)])
            .build(),
    );
    meter.u64_counter("c").with_unit("ms").with_description("desc").build().add(1, &[]);
    let rm = reader.collect().unwrap();
    let res = rm.resource.as_ref().unwrap();
    assert_eq!(attrs(&res.attributes), vec!["service.name=svc"]);
    let sm = &rm.scope_metrics[0];
    let scope = sm.scope.as_ref().unwrap();
    assert_eq!((scope.name.as_str(), scope.version.as_str()), ("lib", "1.2"));
    assert_eq!(attrs(&scope.attributes), vec!["scope.attr=true"]);
    assert_eq!(sm.schema_url, "https://opentelemetry.io/schemas/1.21.0");
    let m = &sm.metrics[0];
    assert_eq!((m.name.as_str(), m.unit.as_str(), m.description.as_str()), ("c", "ms", "desc"));
}

#[test]
fn global_provider_routes_to_the_sdk() {
    let (p, reader) = provider_with(vec![], Temporality::Cumulative);
    prw_api::global::set_meter_provider(p.clone());
    prw_api::global::meter("lib").u64_counter("global_c").build().add(3, &[]);
    let rm = reader.collect().unwrap();
    assert_eq!(single(metric(&rm, "global_c")), 3.0);
    prw_api::global::set_meter_provider(prw_api::NoopMeterProvider::new());
}
