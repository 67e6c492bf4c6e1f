//! The generated prost types: encode → decode gives the same message for Remote Write 1.0,
//! Remote Write 2.0 and OTLP, and hand-computed wire bytes pin the field numbers and wire
//! types (a wrong tag in a `.proto` file would still round-trip, but not match these).

// Helpers outside #[test] functions fail the test the same way.
#![allow(clippy::unwrap_used)]

mod common;

use common::same;
use proptest::collection::vec;
use proptest::prelude::*;
use prost::Message;
use prw_proto::otlp::collector::ExportMetricsServiceRequest;
use prw_proto::otlp::common::{AnyValue, KeyValue, any_value};
use prw_proto::otlp::metrics::{
    Exemplar, ExponentialHistogramDataPoint, Metric, NumberDataPoint, Sum, metric,
    number_data_point,
};
use prw_proto::{rw1, rw2};

// ---------------------------------------------------------------------------------------------
// Hand-computed bytes. A tag byte is (field number << 3) | wire type, where wire type 0 is a
// varint, 1 a 64-bit value, 2 a length-delimited value, 5 a 32-bit value.

#[test]
fn rw1_sample_bytes() {
    let sample = rw1::Sample { value: 1.0, timestamp: 2 };
    // value: field 1, double (1) → 0x09 + 1.0 little-endian; timestamp: field 2, varint → 0x10 2
    let expected = [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x02];
    assert_eq!(sample.encode_to_vec(), expected);
    assert_eq!(rw1::Sample::decode(expected.as_slice()).unwrap(), sample);
}

#[test]
fn rw1_write_request_bytes() {
    let request = rw1::WriteRequest {
        timeseries: vec![rw1::TimeSeries {
            labels: vec![rw1::Label { name: "a".into(), value: "b".into() }],
            samples: vec![rw1::Sample { value: 0.0, timestamp: -1 }],
            ..Default::default()
        }],
        metadata: vec![rw1::MetricMetadata {
            r#type: rw1::metric_metadata::MetricType::Counter as i32,
            metric_family_name: "c".into(),
            help: "h".into(),
            unit: "u".into(),
        }],
    };
    #[rustfmt::skip]
    let expected = [
        0x0a, 21, // WriteRequest.timeseries = 1, 21 bytes
            0x0a, 6, 0x0a, 1, b'a', 0x12, 1, b'b', // TimeSeries.labels = 1: Label {name = 1, value = 2}
            0x12, 11, // TimeSeries.samples = 2 (value 0.0 is the default, so only the timestamp)
                0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // timestamp = 2: -1 as a 10-byte varint
        0x1a, 11, // WriteRequest.metadata = 3
            0x08, 1, // type = 1: COUNTER
            0x12, 1, b'c', // metric_family_name = 2
            0x22, 1, b'h', // help = 4
            0x2a, 1, b'u', // unit = 5
    ];
    assert_eq!(request.encode_to_vec(), expected);
    assert_eq!(rw1::WriteRequest::decode(expected.as_slice()).unwrap(), request);
}

#[test]
fn rw1_histogram_field_numbers() {
    let histogram = rw1::Histogram {
        count: Some(rw1::histogram::Count::CountInt(3)),
        schema: -1,
        zero_count: Some(rw1::histogram::ZeroCount::ZeroCountInt(1)),
        positive_spans: vec![rw1::BucketSpan { offset: -2, length: 1 }],
        positive_deltas: vec![-1],
        reset_hint: rw1::histogram::ResetHint::Gauge as i32,
        timestamp: 5,
        custom_values: vec![1.0],
        ..Default::default()
    };
    #[rustfmt::skip]
    let expected = [
        0x08, 3, // count_int = 1
        0x20, 1, // schema = 4, sint32: zigzag(-1) = 1
        0x30, 1, // zero_count_int = 6
        0x5a, 4, 0x08, 3, 0x10, 1, // positive_spans = 11: offset = 1 (sint32 zigzag(-2) = 3), length = 2
        0x62, 1, 1, // positive_deltas = 12, packed sint64: zigzag(-1) = 1
        0x70, 3, // reset_hint = 14: GAUGE
        0x78, 5, // timestamp = 15
        0x82, 0x01, 8, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, // custom_values = 16 (two-byte tag), packed doubles
    ];
    assert_eq!(histogram.encode_to_vec(), expected);
    assert_eq!(rw1::Histogram::decode(expected.as_slice()).unwrap(), histogram);
}

#[test]
fn rw2_request_bytes() {
    let request = rw2::Request {
        symbols: vec![String::new(), "a".into()],
        timeseries: vec![rw2::TimeSeries {
            labels_refs: vec![1, 1],
            samples: vec![rw2::Sample { value: 0.0, timestamp: 7, start_timestamp: 3 }],
            metadata: Some(rw2::Metadata {
                r#type: rw2::metadata::MetricType::Gauge as i32,
                help_ref: 1,
                unit_ref: 0,
            }),
            ..Default::default()
        }],
    };
    #[rustfmt::skip]
    let expected = [
        0x22, 0, // symbols = 4: ""
        0x22, 1, b'a', // symbols = 4: "a"
        0x2a, 16, // timeseries = 5
            0x0a, 2, 1, 1, // labels_refs = 1, packed uint32
            0x12, 4, 0x10, 7, 0x18, 3, // samples = 2: timestamp = 2, start_timestamp = 3
            0x2a, 4, 0x08, 2, 0x18, 1, // metadata = 5: type = 1 (GAUGE), help_ref = 3
    ];
    assert_eq!(request.encode_to_vec(), expected);
    assert_eq!(rw2::Request::decode(expected.as_slice()).unwrap(), request);
}

#[test]
fn rw2_histogram_start_timestamp_is_field_17() {
    let histogram = rw2::Histogram { start_timestamp: 1, ..Default::default() };
    // 17 << 3 | 0 = 136 = 0x88 0x01 as a varint tag
    assert_eq!(histogram.encode_to_vec(), [0x88, 0x01, 1]);
}

#[test]
fn rw2_body_decodes_as_empty_rw1_request() {
    // RW 2.0 reserved fields 1 to 3 so that a 2.0 body read as 1.0 is empty, not an error.
    let request = rw2::Request {
        symbols: vec![String::new(), "__name__".into(), "up".into()],
        timeseries: vec![rw2::TimeSeries { labels_refs: vec![1, 2], ..Default::default() }],
    };
    let as_v1 = rw1::WriteRequest::decode(request.encode_to_vec().as_slice()).unwrap();
    assert_eq!(as_v1, rw1::WriteRequest::default());
}

#[test]
fn otlp_number_point_bytes() {
    let point = NumberDataPoint {
        time_unix_nano: 1,
        value: Some(number_data_point::Value::AsInt(-2)),
        flags: 1,
        ..Default::default()
    };
    #[rustfmt::skip]
    let expected = [
        0x19, 1, 0, 0, 0, 0, 0, 0, 0, // time_unix_nano = 3, fixed64
        0x31, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // as_int = 6, sfixed64 -2
        0x40, 1, // flags = 8
    ];
    assert_eq!(point.encode_to_vec(), expected);
    let double = NumberDataPoint {
        value: Some(number_data_point::Value::AsDouble(1.0)),
        ..Default::default()
    };
    assert_eq!(double.encode_to_vec(), [0x21, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]); // as_double = 4
}

#[test]
fn otlp_metric_and_exemplar_bytes() {
    let metric = Metric {
        name: "m".into(),
        data: Some(metric::Data::Sum(Sum { aggregation_temporality: 2, ..Default::default() })),
        metadata: vec![KeyValue {
            key: "k".into(),
            value: Some(AnyValue { value: Some(any_value::Value::IntValue(1)) }),
        }],
        ..Default::default()
    };
    #[rustfmt::skip]
    let expected = [
        0x0a, 1, b'm', // name = 1
        0x3a, 2, 0x10, 2, // sum = 7: aggregation_temporality = 2 (CUMULATIVE)
        0x62, 7, 0x0a, 1, b'k', 0x12, 2, 0x18, 1, // metadata = 12: KeyValue {key = 1, value = 2: {int_value = 3}}
    ];
    // prost writes oneof fields after the regular ones; field order on the wire is free.
    let mut encoded = metric.encode_to_vec();
    let metadata_at = encoded.iter().position(|&b| b == 0x62).unwrap();
    let sum_at = encoded.iter().position(|&b| b == 0x3a).unwrap();
    if metadata_at < sum_at {
        let (name_and_metadata, sum) = encoded.split_at(sum_at);
        let (name, metadata) = name_and_metadata.split_at(metadata_at);
        encoded = [name, sum, metadata].concat();
    }
    assert_eq!(encoded, expected);
    assert_eq!(Metric::decode(expected.as_slice()).unwrap(), metric);

    let exemplar = Exemplar { span_id: vec![0xaa], trace_id: vec![0xbb], ..Default::default() };
    // span_id = 4, trace_id = 5
    assert_eq!(exemplar.encode_to_vec(), [0x22, 1, 0xaa, 0x2a, 1, 0xbb]);
}

#[test]
fn otlp_exponential_histogram_scale_is_sint32() {
    let point =
        ExponentialHistogramDataPoint { scale: -1, zero_threshold: 1.0, ..Default::default() };
    // scale = 6, zigzag(-1) = 1; zero_threshold = 14, double
    assert_eq!(point.encode_to_vec(), [0x30, 1, 0x71, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
}

#[test]
fn otlp_request_resource_metrics_is_field_1() {
    let request = ExportMetricsServiceRequest { resource_metrics: vec![Default::default()] };
    assert_eq!(request.encode_to_vec(), [0x0a, 0]);
}

// ---------------------------------------------------------------------------------------------
// Round trips of arbitrary messages

fn label() -> impl Strategy<Value = rw1::Label> {
    (common::text(), common::text()).prop_map(|(name, value)| rw1::Label { name, value })
}

fn span() -> impl Strategy<Value = rw1::BucketSpan> {
    (any::<i32>(), any::<u32>()).prop_map(|(offset, length)| rw1::BucketSpan { offset, length })
}

fn rw1_histogram() -> impl Strategy<Value = rw1::Histogram> {
    use rw1::histogram::{Count, ZeroCount};
    let count = proptest::option::of(prop_oneof![
        any::<u64>().prop_map(Count::CountInt),
        common::double().prop_map(Count::CountFloat),
    ]);
    let zero_count = proptest::option::of(prop_oneof![
        any::<u64>().prop_map(ZeroCount::ZeroCountInt),
        common::double().prop_map(ZeroCount::ZeroCountFloat),
    ]);
    (
        (count, common::double(), any::<i32>(), common::double(), zero_count),
        (vec(span(), 0..3), vec(any::<i64>(), 0..3), vec(common::double(), 0..3)),
        (vec(span(), 0..3), vec(any::<i64>(), 0..3), vec(common::double(), 0..3)),
        (0..4i32, any::<i64>(), vec(common::double(), 0..3)),
    )
        .prop_map(
            |(
                (count, sum, schema, zero_threshold, zero_count),
                (negative_spans, negative_deltas, negative_counts),
                (positive_spans, positive_deltas, positive_counts),
                (reset_hint, timestamp, custom_values),
            )| rw1::Histogram {
                sum,
                schema,
                zero_threshold,
                negative_spans,
                negative_deltas,
                negative_counts,
                positive_spans,
                positive_deltas,
                positive_counts,
                reset_hint,
                timestamp,
                custom_values,
                count,
                zero_count,
            },
        )
}

fn rw1_request() -> impl Strategy<Value = rw1::WriteRequest> {
    let sample = (common::double(), any::<i64>())
        .prop_map(|(value, timestamp)| rw1::Sample { value, timestamp });
    let exemplar = (vec(label(), 0..2), common::double(), any::<i64>())
        .prop_map(|(labels, value, timestamp)| rw1::Exemplar { labels, value, timestamp });
    let series =
        (vec(label(), 0..4), vec(sample, 0..3), vec(exemplar, 0..2), vec(rw1_histogram(), 0..2))
            .prop_map(|(labels, samples, exemplars, histograms)| rw1::TimeSeries {
                labels,
                samples,
                exemplars,
                histograms,
            });
    let metadata = (0..8i32, common::text(), common::text(), common::text()).prop_map(
        |(r#type, metric_family_name, help, unit)| rw1::MetricMetadata {
            r#type,
            metric_family_name,
            help,
            unit,
        },
    );
    (vec(series, 0..4), vec(metadata, 0..3))
        .prop_map(|(timeseries, metadata)| rw1::WriteRequest { timeseries, metadata })
}

/// An RW 2.0 histogram carries the same fields as 1.0 plus `start_timestamp`.
fn rw2_histogram() -> impl Strategy<Value = rw2::Histogram> {
    (rw1_histogram(), any::<i64>()).prop_map(|(h, start_timestamp)| {
        use rw2::histogram::{Count, ZeroCount};
        let span = |s: rw1::BucketSpan| rw2::BucketSpan { offset: s.offset, length: s.length };
        rw2::Histogram {
            sum: h.sum,
            schema: h.schema,
            zero_threshold: h.zero_threshold,
            negative_spans: h.negative_spans.into_iter().map(span).collect(),
            negative_deltas: h.negative_deltas,
            negative_counts: h.negative_counts,
            positive_spans: h.positive_spans.into_iter().map(span).collect(),
            positive_deltas: h.positive_deltas,
            positive_counts: h.positive_counts,
            reset_hint: h.reset_hint,
            timestamp: h.timestamp,
            custom_values: h.custom_values,
            start_timestamp,
            count: h.count.map(|c| match c {
                rw1::histogram::Count::CountInt(n) => Count::CountInt(n),
                rw1::histogram::Count::CountFloat(x) => Count::CountFloat(x),
            }),
            zero_count: h.zero_count.map(|c| match c {
                rw1::histogram::ZeroCount::ZeroCountInt(n) => ZeroCount::ZeroCountInt(n),
                rw1::histogram::ZeroCount::ZeroCountFloat(x) => ZeroCount::ZeroCountFloat(x),
            }),
        }
    })
}

fn rw2_request() -> impl Strategy<Value = rw2::Request> {
    let refs = || vec(any::<u32>(), 0..4);
    let sample = (common::double(), any::<i64>(), any::<i64>()).prop_map(
        |(value, timestamp, start_timestamp)| rw2::Sample { value, timestamp, start_timestamp },
    );
    let exemplar =
        (refs(), common::double(), any::<i64>()).prop_map(|(labels_refs, value, timestamp)| {
            rw2::Exemplar { labels_refs, value, timestamp }
        });
    let metadata = (0..8i32, any::<u32>(), any::<u32>())
        .prop_map(|(r#type, help_ref, unit_ref)| rw2::Metadata { r#type, help_ref, unit_ref });
    let series =
        (
            refs(),
            vec(sample, 0..3),
            vec(rw2_histogram(), 0..2),
            vec(exemplar, 0..2),
            proptest::option::of(metadata),
        )
            .prop_map(|(labels_refs, samples, histograms, exemplars, metadata)| {
                rw2::TimeSeries { labels_refs, samples, histograms, exemplars, metadata }
            });
    (vec(common::text(), 0..5), vec(series, 0..4))
        .prop_map(|(symbols, timeseries)| rw2::Request { symbols, timeseries })
}

/// Decoding the bytes gives the message back (NaN-aware), and encoding that again gives the
/// same bytes.
fn assert_round_trip<M: Message + Default + std::fmt::Debug>(
    message: &M,
) -> Result<(), TestCaseError> {
    let bytes = message.encode_to_vec();
    prop_assert_eq!(bytes.len(), message.encoded_len());
    let decoded = M::decode(bytes.as_slice()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(same(&decoded, message), "decoded {decoded:?}\n  original {message:?}");
    prop_assert_eq!(decoded.encode_to_vec(), bytes);
    Ok(())
}

proptest! {
    #[test]
    fn rw1_write_request_round_trips(request in rw1_request()) {
        assert_round_trip(&request)?;
    }

    #[test]
    fn rw2_request_round_trips(request in rw2_request()) {
        assert_round_trip(&request)?;
    }

    #[test]
    fn otlp_request_round_trips(request in common::request()) {
        assert_round_trip(&request)?;
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in vec(any::<u8>(), 0..256)) {
        let _ = rw1::WriteRequest::decode(bytes.as_slice());
        let _ = rw2::Request::decode(bytes.as_slice());
        let _ = ExportMetricsServiceRequest::decode(bytes.as_slice());
    }
}
