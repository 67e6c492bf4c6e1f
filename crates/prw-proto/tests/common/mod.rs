//! Proptest strategies for arbitrary OTLP metrics requests, shared by the protobuf and the
//! JSON round-trip tests.
//!
//! Every field, every oneof member (and the unset oneof), and the awkward values: empty and
//! control-character strings, NaN, infinities, extreme integers, odd-length byte strings.
//! `-0.0` is left out: protobuf itself does not keep its sign in non-optional fields (it is
//! the default value, so it is not written); the JSON tests check it on their own.

#![allow(dead_code)] // each test binary uses a part

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use prw_proto::otlp::collector::ExportMetricsServiceRequest;
use prw_proto::otlp::common::any_value::Value;
use prw_proto::otlp::common::{AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList};
use prw_proto::otlp::metrics::exponential_histogram_data_point::Buckets;
use prw_proto::otlp::metrics::summary_data_point::ValueAtQuantile;
use prw_proto::otlp::metrics::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, metric, number_data_point,
};
use prw_proto::otlp::resource::Resource;

pub(crate) fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => any::<f64>().prop_map(|x| if x == 0.0 { 0.0 } else { x }),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::MIN_POSITIVE),
        1 => Just(5e-324),
        2 => (-1000i32..1000).prop_map(f64::from),
    ]
}

pub(crate) fn uint64() -> impl Strategy<Value = u64> {
    prop_oneof![any::<u64>(), 0u64..1000, Just(u64::MAX), Just((1 << 53) + 1)]
}

pub(crate) fn int64() -> impl Strategy<Value = i64> {
    prop_oneof![any::<i64>(), -1000i64..1000, Just(i64::MIN), Just(i64::MAX)]
}

pub(crate) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z._]{0,10}",
        ".{0,8}",
        "[\\x00-\\x1f\"\\\\/\u{7f}\u{2028}]{0,4}",
        "[\u{80}-\u{10ffff}]{0,4}",
    ]
}

pub(crate) fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

pub(crate) fn any_value() -> impl Strategy<Value = AnyValue> {
    let leaf = prop_oneof![
        Just(None),
        text().prop_map(|s| Some(Value::StringValue(s))),
        any::<bool>().prop_map(|b| Some(Value::BoolValue(b))),
        int64().prop_map(|i| Some(Value::IntValue(i))),
        double().prop_map(|d| Some(Value::DoubleValue(d))),
        bytes(8).prop_map(|b| Some(Value::BytesValue(b))),
    ]
    .prop_map(|value| AnyValue { value });
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(|values| AnyValue {
                value: Some(Value::ArrayValue(ArrayValue { values }))
            }),
            vec((text(), option::of(inner)), 0..3).prop_map(|pairs| AnyValue {
                value: Some(Value::KvlistValue(KeyValueList {
                    values: pairs.into_iter().map(|(key, value)| KeyValue { key, value }).collect(),
                })),
            }),
        ]
    })
}

pub(crate) fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    vec((text(), option::of(any_value())).prop_map(|(key, value)| KeyValue { key, value }), 0..3)
}

pub(crate) fn exemplar() -> impl Strategy<Value = Exemplar> {
    let value = option::of(prop_oneof![
        double().prop_map(exemplar::Value::AsDouble),
        int64().prop_map(exemplar::Value::AsInt),
    ]);
    (attributes(), uint64(), value, bytes(9), bytes(17)).prop_map(
        |(filtered_attributes, time_unix_nano, value, span_id, trace_id)| Exemplar {
            filtered_attributes,
            time_unix_nano,
            span_id,
            trace_id,
            value,
        },
    )
}

fn exemplars() -> impl Strategy<Value = Vec<Exemplar>> {
    vec(exemplar(), 0..2)
}

pub(crate) fn number_point() -> impl Strategy<Value = NumberDataPoint> {
    let value = option::of(prop_oneof![
        double().prop_map(number_data_point::Value::AsDouble),
        int64().prop_map(number_data_point::Value::AsInt),
    ]);
    (attributes(), uint64(), uint64(), value, exemplars(), any::<u32>()).prop_map(
        |(attributes, start_time_unix_nano, time_unix_nano, value, exemplars, flags)| {
            NumberDataPoint {
                attributes,
                start_time_unix_nano,
                time_unix_nano,
                exemplars,
                flags,
                value,
            }
        },
    )
}

pub(crate) fn histogram_point() -> impl Strategy<Value = HistogramDataPoint> {
    (
        (attributes(), uint64(), uint64(), uint64(), option::of(double())),
        (vec(uint64(), 0..4), vec(double(), 0..4), exemplars(), any::<u32>()),
        (option::of(double()), option::of(double())),
    )
        .prop_map(
            |(
                (attributes, start_time_unix_nano, time_unix_nano, count, sum),
                (bucket_counts, explicit_bounds, exemplars, flags),
                (min, max),
            )| HistogramDataPoint {
                attributes,
                start_time_unix_nano,
                time_unix_nano,
                count,
                sum,
                bucket_counts,
                explicit_bounds,
                exemplars,
                flags,
                min,
                max,
            },
        )
}

fn buckets() -> impl Strategy<Value = Buckets> {
    (any::<i32>(), vec(uint64(), 0..4))
        .prop_map(|(offset, bucket_counts)| Buckets { offset, bucket_counts })
}

pub(crate) fn exponential_point() -> impl Strategy<Value = ExponentialHistogramDataPoint> {
    (
        (attributes(), uint64(), uint64(), uint64(), option::of(double()), any::<i32>()),
        (uint64(), option::of(buckets()), option::of(buckets()), any::<u32>(), exemplars()),
        (option::of(double()), option::of(double()), double()),
    )
        .prop_map(
            |(
                (attributes, start_time_unix_nano, time_unix_nano, count, sum, scale),
                (zero_count, positive, negative, flags, exemplars),
                (min, max, zero_threshold),
            )| ExponentialHistogramDataPoint {
                attributes,
                start_time_unix_nano,
                time_unix_nano,
                count,
                sum,
                scale,
                zero_count,
                positive,
                negative,
                flags,
                exemplars,
                min,
                max,
                zero_threshold,
            },
        )
}

pub(crate) fn summary_point() -> impl Strategy<Value = SummaryDataPoint> {
    let quantiles = vec(
        (double(), double()).prop_map(|(quantile, value)| ValueAtQuantile { quantile, value }),
        0..3,
    );
    (attributes(), uint64(), uint64(), uint64(), double(), quantiles, any::<u32>()).prop_map(
        |(attributes, start_time_unix_nano, time_unix_nano, count, sum, quantile_values, flags)| {
            SummaryDataPoint {
                attributes,
                start_time_unix_nano,
                time_unix_nano,
                count,
                sum,
                quantile_values,
                flags,
            }
        },
    )
}

/// Any `i32` for temporality: proto3 enums are open, unknown values must survive.
fn temporality() -> impl Strategy<Value = i32> {
    prop_oneof![0..3, any::<i32>()]
}

pub(crate) fn metric_data() -> impl Strategy<Value = Option<metric::Data>> {
    option::of(prop_oneof![
        vec(number_point(), 0..3)
            .prop_map(|data_points| metric::Data::Gauge(Gauge { data_points })),
        (vec(number_point(), 0..3), temporality(), any::<bool>()).prop_map(
            |(data_points, aggregation_temporality, is_monotonic)| metric::Data::Sum(Sum {
                data_points,
                aggregation_temporality,
                is_monotonic,
            })
        ),
        (vec(histogram_point(), 0..3), temporality()).prop_map(
            |(data_points, aggregation_temporality)| metric::Data::Histogram(Histogram {
                data_points,
                aggregation_temporality,
            })
        ),
        (vec(exponential_point(), 0..3), temporality()).prop_map(
            |(data_points, aggregation_temporality)| {
                metric::Data::ExponentialHistogram(ExponentialHistogram {
                    data_points,
                    aggregation_temporality,
                })
            }
        ),
        vec(summary_point(), 0..3)
            .prop_map(|data_points| metric::Data::Summary(Summary { data_points })),
    ])
}

pub(crate) fn metric() -> impl Strategy<Value = Metric> {
    (text(), text(), text(), attributes(), metric_data()).prop_map(
        |(name, description, unit, metadata, data)| Metric {
            name,
            description,
            unit,
            metadata,
            data,
        },
    )
}

pub(crate) fn scope() -> impl Strategy<Value = InstrumentationScope> {
    (text(), text(), attributes(), any::<u32>()).prop_map(
        |(name, version, attributes, dropped_attributes_count)| InstrumentationScope {
            name,
            version,
            attributes,
            dropped_attributes_count,
        },
    )
}

pub(crate) fn request() -> impl Strategy<Value = ExportMetricsServiceRequest> {
    let scope_metrics = (option::of(scope()), vec(metric(), 0..4), text())
        .prop_map(|(scope, metrics, schema_url)| ScopeMetrics { scope, metrics, schema_url });
    let resource =
        (attributes(), any::<u32>()).prop_map(|(attributes, dropped_attributes_count)| Resource {
            attributes,
            dropped_attributes_count,
        });
    let resource_metrics = (option::of(resource), vec(scope_metrics, 0..3), text()).prop_map(
        |(resource, scope_metrics, schema_url)| ResourceMetrics {
            resource,
            scope_metrics,
            schema_url,
        },
    );
    vec(resource_metrics, 0..3)
        .prop_map(|resource_metrics| ExportMetricsServiceRequest { resource_metrics })
}

/// Equality that treats every NaN as equal to every NaN (the derived `PartialEq` does not,
/// and neither JSON nor any comparison can tell NaN payloads apart anyway): `Debug` prints
/// all NaNs as `NaN`, every other double as its shortest exact digits, and `-0.0` with its
/// sign.
pub(crate) fn same<T: std::fmt::Debug>(a: &T, b: &T) -> bool {
    format!("{a:?}") == format!("{b:?}")
}
