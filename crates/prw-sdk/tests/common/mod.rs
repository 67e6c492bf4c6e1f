//! Helpers shared by the integration tests: set up a provider with a manual reader and
//! pull values out of the OTLP it produces.
#![allow(dead_code, unreachable_pub)]

use prw_proto::otlp::common::{KeyValue as PKeyValue, any_value};
use prw_proto::otlp::metrics::{Metric, NumberDataPoint, metric::Data, number_data_point};
use prw_sdk::{ManualReader, ResourceMetrics, SdkMeterProvider, Temporality, View};

pub fn provider_with(
    views: Vec<View>,
    temporality: Temporality,
) -> (SdkMeterProvider, ManualReader) {
    let reader = ManualReader::with_temporality(temporality);
    let mut b = SdkMeterProvider::builder()
        .with_resource(prw_sdk::Resource::builder_empty().with_service_name("test").build())
        .with_reader(reader.clone());
    for v in views {
        b = b.with_view(v);
    }
    (b.build(), reader)
}

pub fn provider() -> (SdkMeterProvider, ManualReader, prw_api::Meter) {
    let (p, r) = provider_with(vec![], Temporality::Cumulative);
    let m = p.meter("test");
    (p, r, m)
}

pub fn metrics(rm: &ResourceMetrics) -> Vec<&Metric> {
    rm.scope_metrics.iter().flat_map(|s| s.metrics.iter()).collect()
}

pub fn metric<'a>(rm: &'a ResourceMetrics, name: &str) -> &'a Metric {
    metrics(rm)
        .into_iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no metric {name:?} in {:?}", names(rm)))
}

pub fn find<'a>(rm: &'a ResourceMetrics, name: &str) -> Option<&'a Metric> {
    metrics(rm).into_iter().find(|m| m.name == name)
}

pub fn names(rm: &ResourceMetrics) -> Vec<String> {
    let mut v: Vec<String> = metrics(rm).iter().map(|m| m.name.clone()).collect();
    v.sort();
    v
}

/// Attributes as sorted `key=value` strings.
pub fn attrs(kvs: &[PKeyValue]) -> Vec<String> {
    let mut v: Vec<String> = kvs
        .iter()
        .map(|kv| {
            let val = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                Some(any_value::Value::IntValue(i)) => i.to_string(),
                Some(any_value::Value::BoolValue(b)) => b.to_string(),
                Some(any_value::Value::DoubleValue(d)) => d.to_string(),
                other => format!("{other:?}"),
            };
            format!("{}={val}", kv.key)
        })
        .collect();
    v.sort();
    v
}

pub fn num(p: &NumberDataPoint) -> f64 {
    match p.value {
        Some(number_data_point::Value::AsInt(i)) => i as f64,
        Some(number_data_point::Value::AsDouble(d)) => d,
        None => f64::NAN,
    }
}

/// (attributes, value) of every number point (sum or gauge), sorted by attributes.
pub fn number_points(m: &Metric) -> Vec<(Vec<String>, f64)> {
    let pts = match m.data.as_ref() {
        Some(Data::Sum(s)) => &s.data_points,
        Some(Data::Gauge(g)) => &g.data_points,
        other => panic!("{} is not a number metric: {other:?}", m.name),
    };
    let mut v: Vec<(Vec<String>, f64)> =
        pts.iter().map(|p| (attrs(&p.attributes), num(p))).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

pub fn raw_number_points(m: &Metric) -> &[NumberDataPoint] {
    match m.data.as_ref() {
        Some(Data::Sum(s)) => &s.data_points,
        Some(Data::Gauge(g)) => &g.data_points,
        other => panic!("{} is not a number metric: {other:?}", m.name),
    }
}

/// The value of the only point.
pub fn single(m: &Metric) -> f64 {
    let pts = number_points(m);
    assert_eq!(pts.len(), 1, "{pts:?}");
    pts[0].1
}

pub fn kind(m: &Metric) -> &'static str {
    match m.data.as_ref() {
        Some(Data::Sum(_)) => "sum",
        Some(Data::Gauge(_)) => "gauge",
        Some(Data::Histogram(_)) => "histogram",
        Some(Data::ExponentialHistogram(_)) => "exponential",
        Some(Data::Summary(_)) => "summary",
        None => "none",
    }
}
