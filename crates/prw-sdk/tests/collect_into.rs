//! Collecting into a previous collection: whatever an exporter did to the collection it
//! handed back (scopes, metrics, points or attributes added, removed, reordered, renamed,
//! changed to other kinds), the result equals a fresh collection. And the periodic
//! controller collects into what the exporter's `reclaim` hands back.
#![allow(clippy::unwrap_used)] // tests and benches: a failure should stop them

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use prw_api::{Array, InstrumentationScope, KeyValue, Value};
use prw_proto::otlp::common::{
    AnyValue, ArrayValue, InstrumentationScope as PScope, KeyValue as PKeyValue, KeyValueList,
    any_value,
};
use prw_proto::otlp::metrics::{
    Exemplar, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ScopeMetrics, Sum,
    Summary, SummaryDataPoint, metric::Data, number_data_point,
};
use prw_proto::otlp::resource::Resource as PResource;
use prw_sdk::{
    Aggregation, ExportFuture, ManualReader, MetricExporter, PeriodicController, ResourceMetrics,
    SdkMeterProvider, Temporality, View,
};

/// The attribute sets recordings pick from: every value type, 0 to 5 attributes.
fn attribute_sets() -> Vec<Vec<KeyValue>> {
    vec![
        vec![],
        vec![KeyValue::new("method", "GET")],
        vec![KeyValue::new("method", "POST"), KeyValue::new("code", 200)],
        vec![KeyValue::new("a", true), KeyValue::new("b", 1.5), KeyValue::new("c", "x")],
        vec![KeyValue::new("route", "/users/:id"), KeyValue::new("code", 404)],
        vec![
            KeyValue::new("list", Value::Array(Array::String(vec!["p".into(), "q".into()]))),
            KeyValue::new("ints", Value::Array(Array::I64(vec![1, 2]))),
        ],
        vec![
            KeyValue::new("k1", 1),
            KeyValue::new("k2", "two"),
            KeyValue::new("k3", false),
            KeyValue::new("k4", 4.0),
            KeyValue::new("k5", Value::Array(Array::Bool(vec![true]))),
        ],
        vec![KeyValue::new("method", 7)],
    ]
}

/// A provider with every kind of instrument in three scopes (one of which never records).
struct Target {
    _provider: SdkMeterProvider,
    reader: ManualReader,
    counter: prw_api::Counter<u64>,
    fcounter: prw_api::Counter<f64>,
    updown: prw_api::UpDownCounter<i64>,
    gauge: prw_api::Gauge<f64>,
    hist: prw_api::Histogram<f64>,
    hist_bounds: prw_api::Histogram<u64>,
    mmsc: prw_api::Histogram<f64>,
    expo: prw_api::Histogram<f64>,
    _idle: prw_api::Counter<u64>,
}

impl Target {
    fn new(temporality: Temporality) -> Self {
        let reader = ManualReader::with_temporality(temporality);
        let provider = SdkMeterProvider::builder()
            .with_resource(
                prw_sdk::Resource::builder_empty()
                    .with_service_name("collect-into")
                    .with_attribute(KeyValue::new("host.name", "h1"))
                    .with_schema_url("https://opentelemetry.io/schemas/1.26.0")
                    .build(),
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
                    .with_instrument_name("expo")
                    .with_aggregation(Aggregation::exponential())
                    .build()
                    .unwrap(),
            )
            .with_reader(reader.clone())
            .build();
        let a = provider.meter_with_scope(
            InstrumentationScope::builder("scope.a")
                .with_version("1.2.3")
                .with_schema_url("https://opentelemetry.io/schemas/1.21.0")
                .with_attributes([KeyValue::new("lib", "a")])
                .build(),
        );
        let idle = provider.meter("scope.idle");
        let b = provider.meter("scope.b");
        let t = Target {
            counter: a.u64_counter("counter").with_unit("1").with_description("d").build(),
            fcounter: a.f64_counter("fcounter").build(),
            updown: b.i64_up_down_counter("updown").build(),
            gauge: b.f64_gauge("gauge").build(),
            hist: b.f64_histogram("hist").with_unit("ms").build(),
            hist_bounds: b.u64_histogram("hist_bounds").with_boundaries(vec![1.0, 10.0]).build(),
            mmsc: b.f64_histogram("mmsc").build(),
            expo: b.f64_histogram("expo").build(),
            _idle: idle.u64_counter("never").build(),
            _provider: provider,
            reader,
        };
        let sets = attribute_sets();
        let (s1, s2) = (sets.clone(), sets);
        a.i64_observable_gauge("queue")
            .with_callback(move |o| {
                o.observe(3, &s1[1]);
                o.observe(-4, &s1[3]);
            })
            .build();
        b.u64_observable_counter("cpu")
            .with_callback(move |o| {
                o.observe(10, &s2[0]);
                o.observe(20, &s2[6]);
            })
            .build();
        t
    }

    fn record(&self, recordings: &[(u8, u8, u16)]) {
        let sets = attribute_sets();
        for &(instrument, set, value) in recordings {
            let attrs = &sets[usize::from(set) % sets.len()];
            let v = u64::from(value);
            match instrument % 8 {
                0 => self.counter.add(v, attrs),
                1 => self.fcounter.add(v as f64 / 4.0, attrs),
                2 => self.updown.add(v as i64 - 500, attrs),
                3 => self.gauge.record(v as f64 * 1.5, attrs),
                4 => self.hist.record(v as f64, attrs),
                5 => self.hist_bounds.record(v, attrs),
                6 => self.mmsc.record(v as f64 - 100.0, attrs),
                _ => self.expo.record(v as f64 + 0.5, attrs),
            }
        }
    }
}

/// Every point's `time_unix_nano`, mutably.
fn times(rm: &mut ResourceMetrics) -> Vec<&mut u64> {
    let mut out = Vec::new();
    for sm in &mut rm.scope_metrics {
        for m in &mut sm.metrics {
            match m.data.as_mut() {
                Some(Data::Sum(s)) => {
                    out.extend(s.data_points.iter_mut().map(|p| &mut p.time_unix_nano))
                }
                Some(Data::Gauge(g)) => {
                    out.extend(g.data_points.iter_mut().map(|p| &mut p.time_unix_nano))
                }
                Some(Data::Histogram(h)) => {
                    out.extend(h.data_points.iter_mut().map(|p| &mut p.time_unix_nano))
                }
                Some(Data::ExponentialHistogram(h)) => {
                    out.extend(h.data_points.iter_mut().map(|p| &mut p.time_unix_nano))
                }
                Some(Data::Summary(s)) => {
                    out.extend(s.data_points.iter_mut().map(|p| &mut p.time_unix_nano))
                }
                None => {}
            }
        }
    }
    out
}

/// Every point's start time, mutably.
fn start_times(rm: &mut ResourceMetrics) -> Vec<&mut u64> {
    let mut out = Vec::new();
    for sm in &mut rm.scope_metrics {
        for m in &mut sm.metrics {
            match m.data.as_mut() {
                Some(Data::Sum(s)) => {
                    out.extend(s.data_points.iter_mut().map(|p| &mut p.start_time_unix_nano))
                }
                Some(Data::Gauge(g)) => {
                    out.extend(g.data_points.iter_mut().map(|p| &mut p.start_time_unix_nano))
                }
                Some(Data::Histogram(h)) => {
                    out.extend(h.data_points.iter_mut().map(|p| &mut p.start_time_unix_nano))
                }
                Some(Data::ExponentialHistogram(h)) => {
                    out.extend(h.data_points.iter_mut().map(|p| &mut p.start_time_unix_nano))
                }
                Some(Data::Summary(s)) => {
                    out.extend(s.data_points.iter_mut().map(|p| &mut p.start_time_unix_nano))
                }
                None => {}
            }
        }
    }
    out
}

/// Checks that every point of one collection carries the same time, not before `not_before`,
/// then zeroes it so that two collections taken at different times compare equal.
fn normalize_time(mut rm: ResourceMetrics, not_before: u64) -> ResourceMetrics {
    let ts = times(&mut rm);
    if let Some(first) = ts.first().map(|t| **t) {
        assert!(first >= not_before, "time {first} before the collection started ({not_before})");
        for t in ts {
            assert_eq!(*t, first, "points of one collection with different times");
            *t = 0;
        }
    }
    rm
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// One thing an exporter might do to a collection before handing it back. Indices are taken
/// modulo the length of what they index (and skipped when that is empty).
#[derive(Debug, Clone)]
enum Mangle {
    PushScope,
    RemoveScope(usize),
    SwapScopes(usize, usize),
    ScopeNone(usize),
    RenameScope(usize, String),
    ScopeAttribute(usize),
    SchemaUrl(usize, String),
    PushMetric(usize),
    RemoveMetric(usize, usize),
    SwapMetrics(usize, usize, usize),
    RenameMetric(usize, usize, String),
    Metadata(usize, usize),
    DataNone(usize, usize),
    DataKind(usize, usize, u8),
    PushPoint(usize, usize),
    RemovePoint(usize, usize, usize),
    ClearPoints(usize, usize),
    PointFields(usize, usize, usize, u64),
    PushAttribute(usize, usize, usize),
    ClearAttributes(usize, usize, usize),
    AttributeKey(usize, usize, usize, usize, String),
    AttributeValue(usize, usize, usize, usize, u8),
    ResourceNone,
    ResourceAttribute(String),
}

fn mangle_strategy() -> impl Strategy<Value = Mangle> {
    let i = || 0usize..16;
    let text = || "[a-z/._]{0,12}";
    prop_oneof![
        Just(Mangle::PushScope),
        i().prop_map(Mangle::RemoveScope),
        (i(), i()).prop_map(|(a, b)| Mangle::SwapScopes(a, b)),
        i().prop_map(Mangle::ScopeNone),
        (i(), text()).prop_map(|(a, s)| Mangle::RenameScope(a, s)),
        i().prop_map(Mangle::ScopeAttribute),
        (i(), text()).prop_map(|(a, s)| Mangle::SchemaUrl(a, s)),
        i().prop_map(Mangle::PushMetric),
        (i(), i()).prop_map(|(a, b)| Mangle::RemoveMetric(a, b)),
        (i(), i(), i()).prop_map(|(a, b, c)| Mangle::SwapMetrics(a, b, c)),
        (i(), i(), text()).prop_map(|(a, b, s)| Mangle::RenameMetric(a, b, s)),
        (i(), i()).prop_map(|(a, b)| Mangle::Metadata(a, b)),
        (i(), i()).prop_map(|(a, b)| Mangle::DataNone(a, b)),
        (i(), i(), 0u8..5).prop_map(|(a, b, k)| Mangle::DataKind(a, b, k)),
        (i(), i()).prop_map(|(a, b)| Mangle::PushPoint(a, b)),
        (i(), i(), i()).prop_map(|(a, b, c)| Mangle::RemovePoint(a, b, c)),
        (i(), i()).prop_map(|(a, b)| Mangle::ClearPoints(a, b)),
        (i(), i(), i(), any::<u64>()).prop_map(|(a, b, c, v)| Mangle::PointFields(a, b, c, v)),
        (i(), i(), i()).prop_map(|(a, b, c)| Mangle::PushAttribute(a, b, c)),
        (i(), i(), i()).prop_map(|(a, b, c)| Mangle::ClearAttributes(a, b, c)),
        (i(), i(), i(), i(), text())
            .prop_map(|(a, b, c, d, s)| Mangle::AttributeKey(a, b, c, d, s)),
        (i(), i(), i(), i(), 0u8..8)
            .prop_map(|(a, b, c, d, k)| Mangle::AttributeValue(a, b, c, d, k)),
        Just(Mangle::ResourceNone),
        text().prop_map(Mangle::ResourceAttribute),
    ]
}

fn pick<T>(v: &mut [T], i: usize) -> Option<&mut T> {
    if v.is_empty() {
        return None;
    }
    let n = v.len();
    v.get_mut(i % n)
}

fn metric_at(rm: &mut ResourceMetrics, s: usize, m: usize) -> Option<&mut Metric> {
    pick(&mut pick(&mut rm.scope_metrics, s)?.metrics, m)
}

fn junk_attribute(k: u8) -> PKeyValue {
    let value = match k {
        0 => None,
        1 => Some(AnyValue { value: None }),
        2 => Some(AnyValue { value: Some(any_value::Value::StringValue("junk".into())) }),
        3 => Some(AnyValue { value: Some(any_value::Value::IntValue(-1)) }),
        4 => Some(AnyValue { value: Some(any_value::Value::BytesValue(vec![1, 2, 3])) }),
        5 => Some(AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: vec![AnyValue { value: Some(any_value::Value::BoolValue(true)) }; 3],
            })),
        }),
        6 => Some(AnyValue {
            value: Some(any_value::Value::KvlistValue(KeyValueList {
                values: vec![PKeyValue { key: "n".into(), value: None }],
            })),
        }),
        _ => Some(AnyValue { value: Some(any_value::Value::DoubleValue(f64::NAN)) }),
    };
    PKeyValue { key: format!("junk{k}"), value }
}

/// The attribute lists of a metric's points, mutably.
fn point_attributes(m: &mut Metric) -> Vec<&mut Vec<PKeyValue>> {
    match m.data.as_mut() {
        Some(Data::Sum(s)) => s.data_points.iter_mut().map(|p| &mut p.attributes).collect(),
        Some(Data::Gauge(g)) => g.data_points.iter_mut().map(|p| &mut p.attributes).collect(),
        Some(Data::Histogram(h)) => h.data_points.iter_mut().map(|p| &mut p.attributes).collect(),
        Some(Data::ExponentialHistogram(h)) => {
            h.data_points.iter_mut().map(|p| &mut p.attributes).collect()
        }
        Some(Data::Summary(s)) => s.data_points.iter_mut().map(|p| &mut p.attributes).collect(),
        None => Vec::new(),
    }
}

fn junk_number_point(v: u64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: vec![junk_attribute((v % 8) as u8)],
        start_time_unix_nano: v,
        time_unix_nano: v.wrapping_mul(3),
        exemplars: vec![Exemplar::default()],
        flags: 1,
        value: Some(number_data_point::Value::AsDouble(v as f64)),
    }
}

fn junk_histogram_point(v: u64) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes: vec![junk_attribute(2)],
        start_time_unix_nano: v,
        time_unix_nano: v,
        count: v,
        sum: Some(1.0),
        bucket_counts: vec![v; 40],
        explicit_bounds: vec![1.0; 39],
        exemplars: vec![Exemplar::default()],
        flags: 1,
        min: Some(-1.0),
        max: None,
    }
}

fn apply(rm: &mut ResourceMetrics, mangle: &Mangle) {
    match mangle.clone() {
        Mangle::PushScope => rm.scope_metrics.push(ScopeMetrics {
            scope: Some(PScope { name: "extra".into(), ..Default::default() }),
            metrics: vec![Metric { name: "extra".into(), ..Default::default() }],
            schema_url: "u".into(),
        }),
        Mangle::RemoveScope(i) => {
            if !rm.scope_metrics.is_empty() {
                let n = rm.scope_metrics.len();
                rm.scope_metrics.remove(i % n);
            }
        }
        Mangle::SwapScopes(a, b) => {
            if !rm.scope_metrics.is_empty() {
                let n = rm.scope_metrics.len();
                rm.scope_metrics.swap(a % n, b % n);
            }
        }
        Mangle::ScopeNone(i) => {
            if let Some(s) = pick(&mut rm.scope_metrics, i) {
                s.scope = None;
            }
        }
        Mangle::RenameScope(i, name) => {
            if let Some(s) = pick(&mut rm.scope_metrics, i) {
                let scope = s.scope.get_or_insert_with(Default::default);
                scope.name = name.clone();
                scope.version = name;
            }
        }
        Mangle::ScopeAttribute(i) => {
            if let Some(s) = pick(&mut rm.scope_metrics, i) {
                let scope = s.scope.get_or_insert_with(Default::default);
                scope.attributes.push(junk_attribute(2));
                scope.dropped_attributes_count = 9;
            }
        }
        Mangle::SchemaUrl(i, url) => {
            rm.schema_url = url.clone();
            if let Some(s) = pick(&mut rm.scope_metrics, i) {
                s.schema_url = url;
            }
        }
        Mangle::PushMetric(i) => {
            if let Some(s) = pick(&mut rm.scope_metrics, i) {
                s.metrics.push(Metric {
                    name: "pushed".into(),
                    data: Some(Data::Gauge(Gauge { data_points: vec![junk_number_point(7)] })),
                    ..Default::default()
                });
            }
        }
        Mangle::RemoveMetric(s, m) => {
            if let Some(s) = pick(&mut rm.scope_metrics, s) {
                if !s.metrics.is_empty() {
                    let n = s.metrics.len();
                    s.metrics.remove(m % n);
                }
            }
        }
        Mangle::SwapMetrics(s, a, b) => {
            if let Some(s) = pick(&mut rm.scope_metrics, s) {
                if !s.metrics.is_empty() {
                    let n = s.metrics.len();
                    s.metrics.swap(a % n, b % n);
                }
            }
        }
        Mangle::RenameMetric(s, m, name) => {
            if let Some(m) = metric_at(rm, s, m) {
                m.description = name.clone();
                m.unit = name.clone();
                m.name = name;
            }
        }
        Mangle::Metadata(s, m) => {
            if let Some(m) = metric_at(rm, s, m) {
                m.metadata.push(junk_attribute(3));
            }
        }
        Mangle::DataNone(s, m) => {
            if let Some(m) = metric_at(rm, s, m) {
                m.data = None;
            }
        }
        Mangle::DataKind(s, m, k) => {
            if let Some(m) = metric_at(rm, s, m) {
                m.data = Some(match k {
                    0 => Data::Gauge(Gauge { data_points: vec![junk_number_point(1); 3] }),
                    1 => Data::Sum(Sum {
                        data_points: vec![junk_number_point(2)],
                        aggregation_temporality: 7,
                        is_monotonic: true,
                    }),
                    2 => Data::Histogram(Histogram {
                        data_points: vec![junk_histogram_point(3); 2],
                        aggregation_temporality: 0,
                    }),
                    3 => Data::Summary(Summary {
                        data_points: vec![SummaryDataPoint {
                            attributes: vec![junk_attribute(5)],
                            count: 4,
                            ..Default::default()
                        }],
                    }),
                    _ => Data::ExponentialHistogram(Default::default()),
                });
            }
        }
        Mangle::PushPoint(s, m) => {
            if let Some(m) = metric_at(rm, s, m) {
                match m.data.as_mut() {
                    Some(Data::Sum(x)) => x.data_points.push(junk_number_point(5)),
                    Some(Data::Gauge(x)) => x.data_points.push(junk_number_point(6)),
                    Some(Data::Histogram(x)) => x.data_points.push(junk_histogram_point(8)),
                    Some(Data::ExponentialHistogram(x)) => x.data_points.push(Default::default()),
                    Some(Data::Summary(x)) => x.data_points.push(Default::default()),
                    None => {}
                }
            }
        }
        Mangle::RemovePoint(s, m, p) => {
            if let Some(m) = metric_at(rm, s, m) {
                fn remove<T>(v: &mut Vec<T>, p: usize) {
                    if !v.is_empty() {
                        let n = v.len();
                        v.remove(p % n);
                    }
                }
                match m.data.as_mut() {
                    Some(Data::Sum(x)) => remove(&mut x.data_points, p),
                    Some(Data::Gauge(x)) => remove(&mut x.data_points, p),
                    Some(Data::Histogram(x)) => remove(&mut x.data_points, p),
                    Some(Data::ExponentialHistogram(x)) => remove(&mut x.data_points, p),
                    Some(Data::Summary(x)) => remove(&mut x.data_points, p),
                    None => {}
                }
            }
        }
        Mangle::ClearPoints(s, m) => {
            if let Some(m) = metric_at(rm, s, m) {
                match m.data.as_mut() {
                    Some(Data::Sum(x)) => x.data_points.clear(),
                    Some(Data::Gauge(x)) => x.data_points.clear(),
                    Some(Data::Histogram(x)) => x.data_points.clear(),
                    Some(Data::ExponentialHistogram(x)) => x.data_points.clear(),
                    Some(Data::Summary(x)) => x.data_points.clear(),
                    None => {}
                }
            }
        }
        Mangle::PointFields(s, m, p, v) => {
            if let Some(m) = metric_at(rm, s, m) {
                match m.data.as_mut() {
                    Some(Data::Sum(x)) => {
                        if let Some(p) = pick(&mut x.data_points, p) {
                            *p = NumberDataPoint {
                                attributes: std::mem::take(&mut p.attributes),
                                ..junk_number_point(v)
                            };
                        }
                        x.aggregation_temporality = 9;
                        x.is_monotonic = !x.is_monotonic;
                    }
                    Some(Data::Gauge(x)) => {
                        if let Some(p) = pick(&mut x.data_points, p) {
                            p.value = Some(number_data_point::Value::AsInt(v as i64));
                            p.flags = 3;
                            p.start_time_unix_nano = v;
                            p.time_unix_nano = v;
                        }
                    }
                    Some(Data::Histogram(x)) => {
                        if let Some(p) = pick(&mut x.data_points, p) {
                            *p = HistogramDataPoint {
                                attributes: std::mem::take(&mut p.attributes),
                                ..junk_histogram_point(v)
                            };
                        }
                    }
                    Some(Data::ExponentialHistogram(x)) => {
                        if let Some(p) = pick(&mut x.data_points, p) {
                            p.count = v;
                            p.positive = None;
                            p.scale = -3;
                        }
                    }
                    Some(Data::Summary(x)) => {
                        if let Some(p) = pick(&mut x.data_points, p) {
                            p.quantile_values.clear();
                            p.sum = v as f64;
                            p.flags = 1;
                        }
                    }
                    None => {}
                }
            }
        }
        Mangle::PushAttribute(s, m, p) => {
            if let Some(m) = metric_at(rm, s, m) {
                if let Some(a) = pick(&mut point_attributes(m), p) {
                    a.push(junk_attribute((p % 8) as u8));
                }
            }
        }
        Mangle::ClearAttributes(s, m, p) => {
            if let Some(m) = metric_at(rm, s, m) {
                if let Some(a) = pick(&mut point_attributes(m), p) {
                    a.clear();
                }
            }
        }
        Mangle::AttributeKey(s, m, p, k, key) => {
            if let Some(m) = metric_at(rm, s, m) {
                if let Some(a) = pick(&mut point_attributes(m), p) {
                    if let Some(kv) = pick(a, k) {
                        kv.key = key;
                    }
                }
            }
        }
        Mangle::AttributeValue(s, m, p, k, v) => {
            if let Some(m) = metric_at(rm, s, m) {
                if let Some(a) = pick(&mut point_attributes(m), p) {
                    if let Some(kv) = pick(a, k) {
                        kv.value = junk_attribute(v).value;
                    }
                }
            }
        }
        Mangle::ResourceNone => rm.resource = None,
        Mangle::ResourceAttribute(key) => {
            let r = rm.resource.get_or_insert_with(PResource::default);
            r.attributes.insert(0, PKeyValue { key, value: junk_attribute(2).value });
            r.dropped_attributes_count = 2;
        }
    }
}

fn recordings() -> impl Strategy<Value = Vec<(u8, u8, u16)>> {
    prop::collection::vec((any::<u8>(), any::<u8>(), 0u16..2000), 0..60)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// A cumulative collection written over another provider's collection, mangled, equals
    /// a fresh collection of the same series (timestamps aside: each collection has its
    /// own, checked to be one value not before the collection started).
    #[test]
    fn collect_into_a_mangled_collection_equals_a_fresh_one(
        target_recordings in recordings(),
        donor_recordings in recordings(),
        mangles in prop::collection::vec(mangle_strategy(), 0..12),
    ) {
        let donor = Target::new(Temporality::Cumulative);
        donor.record(&donor_recordings);
        let mut rm = donor.reader.collect().unwrap();
        for m in &mangles {
            apply(&mut rm, m);
        }

        let target = Target::new(Temporality::Cumulative);
        target.record(&target_recordings);
        let before = now_nanos();
        target.reader.collect_into(&mut rm).unwrap();
        let reused = normalize_time(rm.clone(), before);
        let before_fresh = now_nanos();
        let fresh = normalize_time(target.reader.collect().unwrap(), before_fresh);
        prop_assert_eq!(&reused, &fresh);

        // And once more over itself, mangled again.
        for m in mangles.iter().rev() {
            apply(&mut rm, m);
        }
        let before = now_nanos();
        target.reader.collect_into(&mut rm).unwrap();
        prop_assert_eq!(normalize_time(rm, before), fresh);
    }

    /// Delta streams reset and drop idle series between collections, so the reused
    /// collection shrinks and grows: two providers fed the same recordings, one collected
    /// into the same (mangled) collection every round, one freshly, give the same points
    /// (timestamps aside: the two providers started at different times).
    #[test]
    fn delta_collections_into_one_collection_match_fresh_ones(
        rounds in prop::collection::vec(
            (recordings(), prop::collection::vec(mangle_strategy(), 0..4)),
            1..5,
        ),
    ) {
        let reused = Target::new(Temporality::Delta);
        let fresh = Target::new(Temporality::Delta);
        let mut rm = ResourceMetrics::default();
        for (recs, mangles) in &rounds {
            reused.record(recs);
            fresh.record(recs);
            for m in mangles {
                apply(&mut rm, m);
            }
            reused.reader.collect_into(&mut rm).unwrap();
            let mut a = rm.clone();
            let mut b = fresh.reader.collect().unwrap();
            for rm in [&mut a, &mut b] {
                times(rm).into_iter().for_each(|t| *t = 0);
                start_times(rm).into_iter().for_each(|t| *t = 0);
            }
            prop_assert_eq!(a, b);
        }
    }
}

#[test]
fn collect_into_after_shutdown_leaves_the_collection_alone() {
    let target = Target::new(Temporality::Cumulative);
    target.record(&[(0, 1, 5)]);
    let mut rm = target.reader.collect().unwrap();
    let before = rm.clone();
    prw_sdk::MetricReader::shutdown(&target.reader, Duration::from_secs(1)).unwrap();
    assert_eq!(target.reader.collect_into(&mut rm), Err(prw_sdk::ExportError::AlreadyShutdown));
    assert_eq!(rm, before);
}

/// Keeps each export and hands it back through `reclaim`, as a remote-write exporter does
/// once it has encoded it.
#[derive(Debug, Default)]
struct Reclaiming {
    kept: Mutex<Option<ResourceMetrics>>,
    /// (address of the first metric's point buffer, the points' values) of every export.
    exports: Mutex<Vec<(usize, Vec<i64>)>>,
    reclaimed: AtomicUsize,
}

#[derive(Debug, Clone)]
struct Shared(Arc<Reclaiming>);

impl MetricExporter for Shared {
    fn export(&self, metrics: ResourceMetrics) -> ExportFuture<'_> {
        let points = match metrics.scope_metrics[0].metrics[0].data.as_ref() {
            Some(Data::Sum(s)) => &s.data_points,
            other => panic!("expected a sum: {other:?}"),
        };
        let values = points
            .iter()
            .map(|p| match p.value {
                Some(number_data_point::Value::AsInt(i)) => i,
                other => panic!("expected an integer: {other:?}"),
            })
            .collect();
        self.0.exports.lock().unwrap().push((points.as_ptr() as usize, values));
        *self.0.kept.lock().unwrap() = Some(metrics);
        Box::pin(async { Ok(()) })
    }
    fn force_flush(&self) -> ExportFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    fn shutdown(&self, _deadline: Duration) -> ExportFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    fn reclaim(&self) -> Option<ResourceMetrics> {
        let kept = self.0.kept.lock().unwrap().take();
        if kept.is_some() {
            self.0.reclaimed.fetch_add(1, Ordering::SeqCst);
        }
        kept
    }
}

#[test]
fn the_controller_collects_into_what_the_exporter_reclaims() {
    let exporter = Arc::new(Reclaiming::default());
    let provider = SdkMeterProvider::builder()
        .with_reader(
            PeriodicController::builder(Shared(exporter.clone()))
                .with_interval(Duration::from_secs(3600))
                .build(),
        )
        .build();
    let counter = provider.meter("m").u64_counter("c").build();
    for round in 1..=3u64 {
        for i in 0..100i64 {
            counter.add(round, &[KeyValue::new("i", i)]);
        }
        provider.force_flush().unwrap();
    }
    provider.shutdown().unwrap();
    let exports = exporter.exports.lock().unwrap().clone();
    // Three flushes and the shutdown; every one after the first reuses the one before.
    assert_eq!(exports.len(), 4);
    assert_eq!(exporter.reclaimed.load(Ordering::SeqCst), 3);
    for (k, (address, values)) in exports.iter().enumerate() {
        let total = [1, 3, 6, 6][k];
        assert_eq!(values, &vec![total; 100], "export {k}");
        assert_eq!(*address, exports[0].0, "export {k} did not reuse the first one's points");
    }
}
