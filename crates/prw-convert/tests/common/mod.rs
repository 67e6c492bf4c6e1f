//! OTLP builders and output checks shared by the integration tests.
#![allow(dead_code)]

use prost::Message;
use prw_convert::{
    Conversion, ConvertOptions, Converter, Series, encode_rw1, encode_rw2, to_rw1, to_rw2,
};
use prw_proto::otlp::common::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use prw_proto::otlp::metrics::{
    AggregationTemporality, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    metric::Data, number_data_point,
};
use prw_proto::otlp::resource::Resource;
use prw_proto::{rw1, rw2};

/// 2020-02-11T20:26:12Z, the collector tests' timestamp (1581452772000 ms).
pub(crate) const TS_NS: u64 = 1_581_452_772_000_000_000;
pub(crate) const TS_MS: i64 = 1_581_452_772_000;
pub(crate) const START_NS: u64 = 1_581_452_770_000_000_000;
pub(crate) const START_MS: i64 = 1_581_452_770_000;

pub(crate) fn s(k: &str, v: &str) -> KeyValue {
    KeyValue { key: k.into(), value: Some(AnyValue { value: Some(Value::StringValue(v.into())) }) }
}

pub(crate) fn kv(k: &str, v: Value) -> KeyValue {
    KeyValue { key: k.into(), value: Some(AnyValue { value: Some(v) }) }
}

pub(crate) fn rm(resource: Vec<KeyValue>, metrics: Vec<Metric>) -> ResourceMetrics {
    ResourceMetrics {
        resource: Some(Resource { attributes: resource, dropped_attributes_count: 0 }),
        scope_metrics: vec![ScopeMetrics { scope: None, metrics, schema_url: String::new() }],
        schema_url: String::new(),
    }
}

pub(crate) fn rm_scope(
    resource: Vec<KeyValue>,
    scope: InstrumentationScope,
    schema_url: &str,
    metrics: Vec<Metric>,
) -> ResourceMetrics {
    ResourceMetrics {
        resource: Some(Resource { attributes: resource, dropped_attributes_count: 0 }),
        scope_metrics: vec![ScopeMetrics {
            scope: Some(scope),
            metrics,
            schema_url: schema_url.into(),
        }],
        schema_url: String::new(),
    }
}

pub(crate) fn metric(name: &str, unit: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        unit: unit.into(),
        description: format!("{name} help"),
        data: Some(data),
        ..Default::default()
    }
}

pub(crate) fn point(attrs: Vec<KeyValue>, v: number_data_point::Value) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        start_time_unix_nano: START_NS,
        time_unix_nano: TS_NS,
        value: Some(v),
        ..Default::default()
    }
}

pub(crate) fn gauge(name: &str, unit: &str, points: Vec<NumberDataPoint>) -> Metric {
    metric(name, unit, Data::Gauge(Gauge { data_points: points }))
}

pub(crate) fn counter(name: &str, unit: &str, points: Vec<NumberDataPoint>) -> Metric {
    metric(
        name,
        unit,
        Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        }),
    )
}

pub(crate) fn convert(opts: ConvertOptions, input: &[ResourceMetrics]) -> Conversion {
    let out = Converter::new(opts).expect("valid options").convert(input);
    check_output(&out);
    out
}

pub(crate) fn convert_default(input: &[ResourceMetrics]) -> Conversion {
    convert(ConvertOptions::default(), input)
}

/// `name{labels} value ts` lines of all series.
pub(crate) fn text(out: &Conversion) -> String {
    out.series.iter().map(Series::exposition).collect()
}

/// Labels of each series, as owned pairs.
pub(crate) fn label_sets(out: &Conversion) -> Vec<Vec<(String, String)>> {
    out.series
        .iter()
        .map(|s| s.labels().map(|(k, v)| (k.to_string(), v.to_string())).collect())
        .collect()
}

pub(crate) fn is_metric_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_' || b[0] == b':')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

pub(crate) fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Invariants every conversion must hold, whatever the input: checked on every test's output.
pub(crate) fn check_output(out: &Conversion) {
    for w in out.series.windows(2) {
        let a: Vec<_> = w[0].labels().collect();
        let b: Vec<_> = w[1].labels().collect();
        assert!(a < b, "series sorted and unique: {a:?} then {b:?}");
    }
    for s in &out.series {
        let labels: Vec<_> = s.labels().collect();
        assert!(!labels.is_empty());
        for w in labels.windows(2) {
            assert!(w[0].0 < w[1].0, "label names sorted and unique: {labels:?}");
        }
        for (k, v) in &labels {
            assert!(!k.is_empty(), "empty label name in {labels:?}");
            assert!(!v.is_empty(), "empty label value in {labels:?}");
        }
        let name = s.label("__name__").expect("__name__ present");
        assert!(!name.is_empty(), "__name__ non-empty");
        assert!(s.sample_count() + s.histogram_count() > 0, "series without data: {labels:?}");
        assert!(
            s.samples().is_empty() || s.histograms().is_empty(),
            "samples and histograms: {labels:?}"
        );
        for w in s.samples().windows(2) {
            assert!(w[0].timestamp_ms < w[1].timestamp_ms, "samples in time order");
        }
        for w in s.histograms().windows(2) {
            assert!(w[0].timestamp_ms < w[1].timestamp_ms, "histograms in time order");
        }
        for e in s.exemplars() {
            for w in e.labels.windows(2) {
                assert!(w[0].0 < w[1].0, "exemplar labels sorted: {:?}", e.labels);
            }
            assert!(e.labels.iter().all(|(k, v)| !k.is_empty() && !v.is_empty()));
        }
    }
    check_encodings(&out.series, &out.metadata);
}

/// The byte encoders equal prost's encoding of the prost structs, and decode back to them.
pub(crate) fn check_encodings(series: &[Series], metadata: &[prw_convert::Metadata]) {
    let want1 = to_rw1(series, metadata);
    let mut got1 = Vec::new();
    encode_rw1(series, metadata, &mut got1);
    assert_eq!(got1, want1.encode_to_vec(), "encode_rw1 == prost(to_rw1)");
    // Compared as bytes: NaN samples make the structs unequal to themselves.
    let decoded1 = rw1::WriteRequest::decode(got1.as_slice()).expect("decodes");
    assert_eq!(decoded1.encode_to_vec(), got1, "decodes back to the same request");
    assert_eq!(decoded1.timeseries.len(), series.len());
    for (ts, s) in decoded1.timeseries.iter().zip(series) {
        let labels: Vec<(&str, &str)> =
            ts.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())).collect();
        assert_eq!(labels, s.labels().collect::<Vec<_>>(), "RW 1.0 labels decode back");
        let samples: Vec<(u64, i64)> =
            ts.samples.iter().map(|x| (x.value.to_bits(), x.timestamp)).collect();
        let want: Vec<(u64, i64)> =
            s.samples().iter().map(|x| (x.value.to_bits(), x.timestamp_ms)).collect();
        // -0.0 is not encoded (proto3 default), so it decodes as 0.0, as with prost.
        let norm = |v: Vec<(u64, i64)>| {
            v.into_iter()
                .map(|(b, t)| (if b == (-0.0f64).to_bits() { 0 } else { b }, t))
                .collect::<Vec<_>>()
        };
        assert_eq!(norm(samples), norm(want), "RW 1.0 samples decode back");
        assert_eq!(ts.histograms.len(), s.histogram_count());
        assert_eq!(ts.exemplars.len(), s.exemplar_count());
    }
    let len: usize = series.iter().map(Series::encoded_len_rw1).sum();
    assert_eq!(len, to_rw1(series, &[]).encoded_len(), "encoded_len_rw1 adds up");

    let want2 = to_rw2(series);
    let mut got2 = Vec::new();
    encode_rw2(series, &mut got2);
    assert_eq!(got2, want2.encode_to_vec(), "encode_rw2 == prost(to_rw2)");
    let decoded = rw2::Request::decode(got2.as_slice()).expect("decodes");
    assert_eq!(decoded.encode_to_vec(), got2, "decodes back to the same request");
    check_rw2(&decoded, series);
}

/// RW 2.0 rules: symbols[0] == "", symbols unique, refs valid, labels as the series'.
pub(crate) fn check_rw2(req: &rw2::Request, series: &[Series]) {
    assert_eq!(req.symbols.first().map(String::as_str), Some(""));
    let mut sorted = req.symbols.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), req.symbols.len(), "symbols deduplicated");
    assert_eq!(req.timeseries.len(), series.len());
    let sym = |r: u32| req.symbols.get(r as usize).cloned().expect("ref in range");
    for (ts, s) in req.timeseries.iter().zip(series) {
        assert_eq!(ts.labels_refs.len() % 2, 0);
        let labels: Vec<(String, String)> =
            ts.labels_refs.chunks(2).map(|p| (sym(p[0]), sym(p[1]))).collect();
        let want: Vec<(String, String)> =
            s.labels().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(labels, want);
        let m = ts.metadata.expect("inline metadata");
        assert_eq!(sym(m.help_ref), s.metadata().help);
        assert_eq!(sym(m.unit_ref), s.metadata().unit);
        assert_eq!(m.r#type, s.metadata().kind.proto_value());
        for e in &ts.exemplars {
            assert_eq!(e.labels_refs.len() % 2, 0);
            e.labels_refs.iter().for_each(|&r| {
                sym(r);
            });
        }
    }
}
