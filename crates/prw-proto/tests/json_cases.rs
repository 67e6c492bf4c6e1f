//! OTLP/JSON decoding, case by case: each field kind in each of its JSON forms, each oneof,
//! names, nulls, unknown fields, and what must be refused.

#![cfg(feature = "json")]
// Helpers outside #[test] functions fail the test the same way.
#![allow(clippy::unwrap_used)]

use prw_proto::otlp::collector::ExportMetricsServiceRequest;
use prw_proto::otlp::common::AnyValue;
use prw_proto::otlp::common::any_value::Value;
use prw_proto::otlp::json::{self, JsonErrorKind};
use prw_proto::otlp::metrics::exponential_histogram_data_point::Buckets;
use prw_proto::otlp::metrics::{
    AggregationTemporality, Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric,
    NumberDataPoint, exemplar, metric, number_data_point,
};

/// `{"resourceMetrics":[{"scopeMetrics":[{"metrics":[METRIC]}]}]}`
fn with_metric(metric: &str) -> String {
    format!(r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{metric}]}}]}}]}}"#)
}

fn decode_metric(metric: &str) -> Result<Metric, json::JsonError> {
    let request = json::from_json_str(&with_metric(metric))?;
    Ok(request.resource_metrics[0].scope_metrics[0].metrics[0].clone())
}

fn decode_point(point: &str) -> Result<NumberDataPoint, json::JsonError> {
    match decode_metric(&format!(r#"{{"gauge":{{"dataPoints":[{point}]}}}}"#))?.data {
        Some(metric::Data::Gauge(gauge)) => Ok(gauge.data_points[0].clone()),
        other => panic!("not a gauge: {other:?}"),
    }
}

fn decode_histogram_point(point: &str) -> Result<HistogramDataPoint, json::JsonError> {
    match decode_metric(&format!(r#"{{"histogram":{{"dataPoints":[{point}]}}}}"#))?.data {
        Some(metric::Data::Histogram(h)) => Ok(h.data_points[0].clone()),
        other => panic!("not a histogram: {other:?}"),
    }
}

fn decode_exponential_point(point: &str) -> Result<ExponentialHistogramDataPoint, json::JsonError> {
    match decode_metric(&format!(r#"{{"exponentialHistogram":{{"dataPoints":[{point}]}}}}"#))?.data
    {
        Some(metric::Data::ExponentialHistogram(h)) => Ok(h.data_points[0].clone()),
        other => panic!("not an exponential histogram: {other:?}"),
    }
}

fn decode_exemplar(exemplar: &str) -> Result<Exemplar, json::JsonError> {
    Ok(decode_point(&format!(r#"{{"exemplars":[{exemplar}]}}"#))?.exemplars[0].clone())
}

/// The value of the only resource attribute, from the JSON of its `value`.
fn decode_any_value(value: &str) -> Result<Option<AnyValue>, json::JsonError> {
    let text = format!(
        r#"{{"resourceMetrics":[{{"resource":{{"attributes":[{{"key":"k","value":{value}}}]}}}}]}}"#
    );
    let request = json::from_json_str(&text)?;
    Ok(request.resource_metrics[0].resource.as_ref().unwrap().attributes[0].value.clone())
}

fn any(value: &str) -> Option<Value> {
    decode_any_value(value).unwrap_or_else(|e| panic!("{value}: {e}")).unwrap().value
}

/// The error message (after the position and path) for a failing input.
fn message_of<T: std::fmt::Debug>(result: Result<T, json::JsonError>) -> String {
    let error = result.expect_err("an error");
    assert_eq!(error.kind(), JsonErrorKind::Data, "{error}");
    error.message().to_owned()
}

#[test]
fn fixed64_as_string_or_number() {
    let cases: &[(&str, u64)] = &[
        (r#""1544712660300000000""#, 1_544_712_660_300_000_000),
        // Above 2^53 as a JSON number: must not go through a double.
        ("1544712660300000001", 1_544_712_660_300_000_001),
        (r#""18446744073709551615""#, u64::MAX),
        ("18446744073709551615", u64::MAX),
        (r#""0""#, 0),
        ("0", 0),
        ("null", 0),
        ("1e3", 1000),
        ("1.0", 1),
        ("9007199254740992.0", 1 << 53),
        (r#""007""#, 7),
    ];
    for (json, expected) in cases {
        let point = decode_point(&format!(r#"{{"timeUnixNano":{json}}}"#))
            .unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(point.time_unix_nano, *expected, "{json}");
    }
}

#[test]
fn fixed64_refusals() {
    let cases: &[(&str, &str)] = &[
        (r#""abc""#, r#"expected an integer, got "abc""#),
        (r#""""#, r#"expected an integer, got """#),
        (r#"" 1""#, r#"expected an integer, got " 1""#),
        (r#""1e3""#, r#"expected an integer, got "1e3""#),
        (r#""1.5""#, r#"expected an integer, got "1.5""#),
        ("1.5", "expected an integer, got 1.5"),
        ("true", "expected an integer, got true"),
        ("[1]", "expected an integer, got an array"),
        (r#"{"a":1}"#, "expected an integer, got an object"),
        ("-1", "integer -1 is out of range for uint64 (0 to 18446744073709551615)"),
        (r#""-1""#, r#"integer "-1" is out of range for uint64 (0 to 18446744073709551615)"#),
        (
            r#""18446744073709551616""#,
            r#"integer "18446744073709551616" is out of range for uint64 (0 to 18446744073709551615)"#,
        ),
        (
            "1e19",
            "expected an integer, got 10000000000000000000 in floating-point notation, which \
             cannot be exact above 2^53; write it as digits or as a string",
        ),
    ];
    for (json, message) in cases {
        let result = decode_point(&format!(r#"{{"timeUnixNano":{json}}}"#));
        assert_eq!(message_of(result), *message, "{json}");
    }
}

#[test]
fn sfixed64_and_int64() {
    let cases: &[(&str, i64)] = &[
        (r#""-9223372036854775808""#, i64::MIN),
        ("-9223372036854775808", i64::MIN),
        (r#""9223372036854775807""#, i64::MAX),
        ("9223372036854775807", i64::MAX),
        (r#""-5""#, -5),
        ("-5", -5),
        ("0", 0),
    ];
    for (json, expected) in cases {
        let point = decode_point(&format!(r#"{{"asInt":{json}}}"#)).unwrap();
        assert_eq!(point.value, Some(number_data_point::Value::AsInt(*expected)), "{json}");
        assert_eq!(any(&format!(r#"{{"intValue":{json}}}"#)), Some(Value::IntValue(*expected)));
    }
    let result = decode_point(r#"{"asInt":"9223372036854775808"}"#);
    assert_eq!(
        message_of(result),
        r#"integer "9223372036854775808" is out of range for int64 (-9223372036854775808 to 9223372036854775807)"#
    );
}

#[test]
fn uint32_and_sint32() {
    assert_eq!(decode_point(r#"{"flags":4294967295}"#).unwrap().flags, u32::MAX);
    assert_eq!(decode_point(r#"{"flags":"1"}"#).unwrap().flags, 1);
    assert_eq!(
        message_of(decode_point(r#"{"flags":4294967296}"#)),
        "integer 4294967296 is out of range for uint32 (0 to 4294967295)"
    );
    assert_eq!(
        message_of(decode_point(r#"{"flags":-1}"#)),
        "integer -1 is out of range for uint32 (0 to 4294967295)"
    );

    let point = decode_exponential_point(
        r#"{"scale":-2147483648,"positive":{"offset":"2147483647","bucketCounts":["1",2]}}"#,
    )
    .unwrap();
    assert_eq!(point.scale, i32::MIN);
    assert_eq!(point.positive, Some(Buckets { offset: i32::MAX, bucket_counts: vec![1, 2] }));
    assert_eq!(
        message_of(decode_exponential_point(r#"{"scale":2147483648}"#)),
        "integer 2147483648 is out of range for int32 (-2147483648 to 2147483647)"
    );
}

#[test]
fn doubles_as_numbers_strings_and_special_names() {
    let cases: &[(&str, f64)] = &[
        ("1.5", 1.5),
        ("-2", -2.0),
        ("1e-7", 1e-7),
        ("1E+300", 1e300),
        ("18446744073709551616", 18_446_744_073_709_551_616.0),
        (r#""1.5""#, 1.5),
        (r#""-1e3""#, -1000.0),
        (r#""Infinity""#, f64::INFINITY),
        (r#""-Infinity""#, f64::NEG_INFINITY),
        // What the Collector writes (Go's %f) and Go's parser accepts.
        (r#""+Inf""#, f64::INFINITY),
        (r#""-Inf""#, f64::NEG_INFINITY),
        (r#""inf""#, f64::INFINITY),
        (r#""0.1""#, 0.1),
        ("0.30000000000000004", 0.300_000_000_000_000_04),
        ("2.2250738585072014e-308", f64::MIN_POSITIVE),
        ("5e-324", 5e-324),
    ];
    for (json, expected) in cases {
        let point = decode_point(&format!(r#"{{"asDouble":{json}}}"#))
            .unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(point.value, Some(number_data_point::Value::AsDouble(*expected)), "{json}");
    }
    for json in [r#""NaN""#, r#""nan""#] {
        match decode_point(&format!(r#"{{"asDouble":{json}}}"#)).unwrap().value {
            Some(number_data_point::Value::AsDouble(x)) => assert!(x.is_nan(), "{json}"),
            other => panic!("{json}: {other:?}"),
        }
    }
    let Some(number_data_point::Value::AsDouble(zero)) =
        decode_point(r#"{"asDouble":-0.0}"#).unwrap().value
    else {
        panic!("asDouble")
    };
    assert!(zero == 0.0 && zero.is_sign_negative());
}

#[test]
fn double_refusals() {
    let expected = r#"a number or "NaN", "Infinity", "-Infinity""#;
    let cases: &[(&str, String)] = &[
        (r#""abc""#, format!(r#"expected {expected}, got "abc""#)),
        (r#""""#, format!(r#"expected {expected}, got """#)),
        (r#""0x10""#, format!(r#"expected {expected}, got "0x10""#)),
        (r#"" 1""#, format!(r#"expected {expected}, got " 1""#)),
        (r#""1.""#, format!(r#"expected {expected}, got "1.""#)),
        (r#""Infinityy""#, format!(r#"expected {expected}, got "Infinityy""#)),
        ("true", format!("expected {expected}, got true")),
        (r#""1e400""#, r#"number "1e400" is out of range for a double"#.to_owned()),
    ];
    for (json, message) in cases {
        let result = decode_point(&format!(r#"{{"asDouble":{json}}}"#));
        assert_eq!(&message_of(result), message, "{json}");
    }
    // A number literal out of range is refused by the JSON parser itself.
    let error = decode_point(r#"{"asDouble":1e400}"#).unwrap_err();
    assert_eq!(error.message(), "number out of range");
}

#[test]
fn enums_as_integers_and_names() {
    let cases: &[(&str, i32)] = &[
        ("2", AggregationTemporality::Cumulative as i32),
        (r#""1""#, AggregationTemporality::Delta as i32),
        (r#""AGGREGATION_TEMPORALITY_CUMULATIVE""#, 2),
        (r#""AGGREGATION_TEMPORALITY_DELTA""#, 1),
        (r#""AGGREGATION_TEMPORALITY_UNSPECIFIED""#, 0),
        ("0", 0),
        ("null", 0),
        // proto3 enums are open: an unknown value is kept, not refused.
        ("7", 7),
        ("-1", -1),
    ];
    for (json, expected) in cases {
        let metric = decode_metric(&format!(r#"{{"sum":{{"aggregationTemporality":{json}}}}}"#))
            .unwrap_or_else(|e| panic!("{json}: {e}"));
        let Some(metric::Data::Sum(sum)) = metric.data else { panic!("sum") };
        assert_eq!(sum.aggregation_temporality, *expected, "{json}");
    }
    let expected = "an AggregationTemporality (0, 1, 2 or its name)";
    for (json, got) in [
        (r#""CUMULATIVE""#, r#""CUMULATIVE""#),
        ("1.5", "1.5"),
        ("true", "true"),
        ("4294967296", "4294967296"),
    ] {
        let result =
            decode_metric(&format!(r#"{{"histogram":{{"aggregationTemporality":{json}}}}}"#));
        let message = message_of(result);
        assert!(
            message == format!("expected {expected}, got {got}")
                || message == format!("enum value {got} is out of range for int32"),
            "{json}: {message}"
        );
    }
}

#[test]
fn bools() {
    for (json, expected) in [("true", true), ("false", false), ("null", false)] {
        let metric = decode_metric(&format!(r#"{{"sum":{{"isMonotonic":{json}}}}}"#)).unwrap();
        let Some(metric::Data::Sum(sum)) = metric.data else { panic!("sum") };
        assert_eq!(sum.is_monotonic, expected);
    }
    for (json, got) in [(r#""true""#, r#""true""#), ("1", "1")] {
        let result = decode_metric(&format!(r#"{{"sum":{{"isMonotonic":{json}}}}}"#));
        assert_eq!(message_of(result), format!("expected true or false, got {got}"));
    }
}

#[test]
fn trace_and_span_ids_are_hex() {
    let exemplar = decode_exemplar(
        r#"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00F067AA0BA902B7"}"#,
    )
    .unwrap();
    assert_eq!(
        exemplar.trace_id,
        [
            0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e,
            0x47, 0x36
        ]
    );
    assert_eq!(exemplar.span_id, [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);

    let empty = decode_exemplar(r#"{"traceId":"","spanId":null}"#).unwrap();
    assert!(empty.trace_id.is_empty() && empty.span_id.is_empty());

    assert_eq!(
        message_of(decode_exemplar(r#"{"spanId":"abc"}"#)),
        r#"expected a hex string, got "abc""#
    );
    assert_eq!(
        message_of(decode_exemplar(r#"{"spanId":"zz"}"#)),
        r#"expected a hex string, got "zz""#
    );
    // The same trace id in base64, as a plain proto3 JSON writer would send it.
    assert_eq!(
        message_of(decode_exemplar(r#"{"traceId":"S/kvNXezTaajzpKdDg5HNg=="}"#)),
        r#"expected a hex string, got "S/kvNXezTaajzpKdDg5HNg==" (OTLP/JSON writes trace and span ids in hex, not base64)"#
    );
}

#[test]
fn bytes_are_base64() {
    let cases: &[(&str, &[u8])] = &[
        (r#""AQID/w==""#, &[1, 2, 3, 255]),
        (r#""AQID/w""#, &[1, 2, 3, 255]),
        (r#""AQID_w==""#, &[1, 2, 3, 255]),
        (r#""AQID_w""#, &[1, 2, 3, 255]),
        (r#""""#, &[]),
        (r#""aGVsbG8=""#, b"hello"),
    ];
    for (json, expected) in cases {
        assert_eq!(
            any(&format!(r#"{{"bytesValue":{json}}}"#)),
            Some(Value::BytesValue(expected.to_vec()))
        );
    }
    let message = message_of(decode_any_value(r#"{"bytesValue":"!!!!"}"#));
    assert!(message.starts_with(r#"expected a base64 string, got "!!!!" ("#), "{message}");
}

#[test]
fn strings() {
    assert_eq!(any(r#"{"stringValue":""}"#), Some(Value::StringValue(String::new())));
    assert_eq!(
        any(r#"{"stringValue":"caf\u00e9 \"x\"\n\ud83d\ude00 ü"}"#),
        Some(Value::StringValue("café \"x\"\n😀 ü".into()))
    );
    assert_eq!(message_of(decode_any_value(r#"{"stringValue":5}"#)), "expected a string, got 5");
    let metric = decode_metric(r#"{"name":null,"unit":"s","description":"d"}"#).unwrap();
    assert_eq!(
        (metric.name.as_str(), metric.unit.as_str(), metric.description.as_str()),
        ("", "s", "d")
    );
}

#[test]
fn any_value_oneof() {
    assert_eq!(any(r#"{"boolValue":true}"#), Some(Value::BoolValue(true)));
    assert_eq!(any(r#"{"doubleValue":2.5}"#), Some(Value::DoubleValue(2.5)));
    assert_eq!(any(r#"{"doubleValue":"-Infinity"}"#), Some(Value::DoubleValue(f64::NEG_INFINITY)));
    let Some(Value::ArrayValue(array)) =
        any(r#"{"arrayValue":{"values":[{"intValue":"1"},{},{"arrayValue":{}}]}}"#)
    else {
        panic!("array")
    };
    assert_eq!(array.values.len(), 3);
    assert_eq!(array.values[0].value, Some(Value::IntValue(1)));
    assert_eq!(array.values[1].value, None);
    assert!(matches!(&array.values[2].value, Some(Value::ArrayValue(a)) if a.values.is_empty()));
    let Some(Value::KvlistValue(list)) =
        any(r#"{"kvlistValue":{"values":[{"key":"a","value":{"stringValue":"b"}},{"key":"c"}]}}"#)
    else {
        panic!("kvlist")
    };
    assert_eq!(list.values[0].key, "a");
    assert_eq!(list.values[0].value.as_ref().unwrap().value, Some(Value::StringValue("b".into())));
    assert_eq!((list.values[1].key.as_str(), list.values[1].value.is_none()), ("c", true));

    // Empty, null, and a null member beside a set one.
    assert_eq!(decode_any_value("{}").unwrap(), Some(AnyValue { value: None }));
    assert_eq!(decode_any_value("null").unwrap(), None);
    assert_eq!(any(r#"{"stringValue":null}"#), None);
    assert_eq!(any(r#"{"stringValue":"x","intValue":null}"#), Some(Value::StringValue("x".into())));
    assert_eq!(any(r#"{"intValue":null,"stringValue":"x"}"#), Some(Value::StringValue("x".into())));

    assert_eq!(
        message_of(decode_any_value(r#"{"stringValue":"x","intValue":"1"}"#)),
        "only one of `stringValue`, `boolValue`, `intValue`, `doubleValue`, `arrayValue`, \
         `kvlistValue`, `bytesValue` may be set"
    );
}

#[test]
fn number_point_and_exemplar_value_oneofs() {
    assert_eq!(
        decode_point(r#"{"asInt":"3"}"#).unwrap().value,
        Some(number_data_point::Value::AsInt(3))
    );
    assert_eq!(
        decode_point(r#"{"asDouble":3}"#).unwrap().value,
        Some(number_data_point::Value::AsDouble(3.0))
    );
    assert_eq!(decode_point("{}").unwrap().value, None);
    assert_eq!(decode_point(r#"{"asDouble":null}"#).unwrap().value, None);
    assert_eq!(
        message_of(decode_point(r#"{"asDouble":1,"asInt":"1"}"#)),
        "only one of `asDouble`, `asInt` may be set"
    );
    assert_eq!(
        decode_exemplar(r#"{"asInt":"-4"}"#).unwrap().value,
        Some(exemplar::Value::AsInt(-4))
    );
    assert_eq!(
        decode_exemplar(r#"{"asDouble":0.25}"#).unwrap().value,
        Some(exemplar::Value::AsDouble(0.25))
    );
    assert_eq!(
        message_of(decode_exemplar(r#"{"asInt":"1","asDouble":1}"#)),
        "only one of `asDouble`, `asInt` may be set"
    );
}

#[test]
fn metric_data_oneof() {
    let kinds = [
        ("gauge", "Gauge"),
        ("sum", "Sum"),
        ("histogram", "Histogram"),
        ("exponentialHistogram", "ExponentialHistogram"),
        ("exponential_histogram", "ExponentialHistogram"),
        ("summary", "Summary"),
    ];
    for (field, variant) in kinds {
        let metric = decode_metric(&format!(r#"{{"name":"m","{field}":{{}}}}"#)).unwrap();
        let data = format!("{:?}", metric.data.unwrap());
        assert!(data.starts_with(variant), "{field}: {data}");
    }
    assert_eq!(decode_metric(r#"{"name":"m","gauge":null}"#).unwrap().data, None);
    assert_eq!(decode_metric(r#"{"name":"m"}"#).unwrap().data, None);
    assert_eq!(
        message_of(decode_metric(r#"{"gauge":{},"sum":{}}"#)),
        "only one of `gauge`, `sum`, `histogram`, `exponentialHistogram`, `summary` may be set"
    );
    assert_eq!(
        message_of(decode_metric(r#"{"gauge":[]}"#)),
        "expected a Gauge object, got an array"
    );
}

#[test]
fn optional_doubles_keep_presence() {
    let absent = decode_histogram_point("{}").unwrap();
    assert_eq!((absent.sum, absent.min, absent.max), (None, None, None));
    let zero = decode_histogram_point(r#"{"sum":0,"min":0,"max":null}"#).unwrap();
    assert_eq!((zero.sum, zero.min, zero.max), (Some(0.0), Some(0.0), None));
    let point = decode_histogram_point(
        r#"{"count":"3","bucketCounts":["1",1,"1"],"explicitBounds":[1,"2.5","Infinity"]}"#,
    )
    .unwrap();
    assert_eq!(point.count, 3);
    assert_eq!(point.bucket_counts, [1, 1, 1]);
    assert_eq!(point.explicit_bounds, [1.0, 2.5, f64::INFINITY]);
}

#[test]
fn snake_case_names_are_accepted() {
    let text = r#"{"resource_metrics":[{"resource":{"dropped_attributes_count":2},
        "scope_metrics":[{"scope":{"name":"s","dropped_attributes_count":1},"schema_url":"u",
        "metrics":[{"name":"m","sum":{"data_points":[{"start_time_unix_nano":"1",
        "time_unix_nano":"2","as_int":"3","exemplars":[{"filtered_attributes":[{"key":"k"}],
        "time_unix_nano":5,"as_double":1,"span_id":"01","trace_id":"02"}]}],
        "aggregation_temporality":2,"is_monotonic":true}},
        {"name":"e","exponential_histogram":{"data_points":[{"zero_count":4,"zero_threshold":0.5,
        "positive":{"bucket_counts":[1]}}]}},
        {"name":"q","summary":{"data_points":[{"quantile_values":[{"quantile":0.5,"value":1}]}]}},
        {"name":"h","histogram":{"data_points":[{"bucket_counts":[1],"explicit_bounds":[]}]}}]}],
        "schema_url":"r"}]}"#;
    let request = json::from_json_str(text).unwrap();
    let rm = &request.resource_metrics[0];
    assert_eq!(rm.schema_url, "r");
    assert_eq!(rm.resource.as_ref().unwrap().dropped_attributes_count, 2);
    let sm = &rm.scope_metrics[0];
    assert_eq!(
        (sm.schema_url.as_str(), sm.scope.as_ref().unwrap().dropped_attributes_count),
        ("u", 1)
    );
    let Some(metric::Data::Sum(sum)) = &sm.metrics[0].data else { panic!("sum") };
    assert_eq!((sum.aggregation_temporality, sum.is_monotonic), (2, true));
    let point = &sum.data_points[0];
    assert_eq!((point.start_time_unix_nano, point.time_unix_nano), (1, 2));
    assert_eq!(point.value, Some(number_data_point::Value::AsInt(3)));
    let exemplar = &point.exemplars[0];
    assert_eq!(exemplar.filtered_attributes[0].key, "k");
    assert_eq!(exemplar.time_unix_nano, 5);
    assert_eq!(exemplar.value, Some(exemplar::Value::AsDouble(1.0)));
    assert_eq!(
        (exemplar.span_id.as_slice(), exemplar.trace_id.as_slice()),
        (&[1u8][..], &[2u8][..])
    );
    let Some(metric::Data::ExponentialHistogram(e)) = &sm.metrics[1].data else { panic!("exp") };
    assert_eq!((e.data_points[0].zero_count, e.data_points[0].zero_threshold), (4, 0.5));
    assert_eq!(e.data_points[0].positive.as_ref().unwrap().bucket_counts, [1]);
    let Some(metric::Data::Summary(s)) = &sm.metrics[2].data else { panic!("summary") };
    assert_eq!(s.data_points[0].quantile_values[0].quantile, 0.5);
    let Some(metric::Data::Histogram(h)) = &sm.metrics[3].data else { panic!("histogram") };
    assert_eq!(h.data_points[0].bucket_counts, [1]);

    // Both spellings of one field are the same field, given twice.
    assert_eq!(
        message_of(decode_point(r#"{"timeUnixNano":"1","time_unix_nano":"2"}"#)),
        "field `timeUnixNano` appears more than once"
    );
}

#[test]
fn unknown_fields_are_skipped() {
    let text = r#"{"resourceMetrics":[{"resource":{"attributes":[],"entityRefs":[{"type":"service"}]},
        "futureField":{"nested":[1,"two",null,{"three":[]}]},
        "scopeMetrics":[{"metrics":[{"name":"m","unknownKind":{"dataPoints":[]},
        "gauge":{"dataPoints":[{"asInt":"1","newFlag":true,"TimeUnixNano":"9"}],"x":null}}]}]}],
        "extra":tru}"#;
    // The last one is malformed: unknown fields are skipped, but they must still be JSON.
    let error = json::from_json_str(text).unwrap_err();
    assert_eq!(error.kind(), JsonErrorKind::Syntax);
    assert_eq!(error.path(), "extra");

    let request = json::from_json_str(&text.replace("tru}", "true}")).unwrap();
    let metric = &request.resource_metrics[0].scope_metrics[0].metrics[0];
    let Some(metric::Data::Gauge(gauge)) = &metric.data else { panic!("gauge") };
    // Field names are case-sensitive: "TimeUnixNano" is not "timeUnixNano".
    assert_eq!(gauge.data_points[0].time_unix_nano, 0);
    assert_eq!(gauge.data_points[0].value, Some(number_data_point::Value::AsInt(1)));
}

#[test]
fn nulls_mean_not_set() {
    let request = json::from_json_str(
        r#"{"resourceMetrics":[{"resource":null,"scopeMetrics":null,"schemaUrl":null}]}"#,
    )
    .unwrap();
    assert_eq!(request.resource_metrics[0], Default::default());
    assert_eq!(json::from_json_str(r#"{"resourceMetrics":null}"#).unwrap(), Default::default());
    let point = decode_exponential_point(r#"{"positive":null,"negative":{},"sum":null}"#).unwrap();
    assert_eq!((point.positive, point.negative, point.sum), (None, Some(Buckets::default()), None));

    // But not inside arrays, where a null would silently become an empty element.
    for (json, path) in [
        (r#"{"resourceMetrics":[null]}"#, "resourceMetrics[0]"),
        (
            &with_metric(r#"{"histogram":{"dataPoints":[{"bucketCounts":["1",null]}]}}"#),
            "resourceMetrics[0].scopeMetrics[0].metrics[0].histogram.dataPoints[0].bucketCounts[1]",
        ),
    ] {
        let error = json::from_json_str(json).unwrap_err();
        assert_eq!(error.message(), "null is not allowed as an array element");
        assert_eq!(error.path(), path);
    }
}

#[test]
fn document_level() {
    assert_eq!(json::from_json_str("{}").unwrap(), ExportMetricsServiceRequest::default());
    assert_eq!(
        json::from_json_str(" \n\t{ }\r\n ").unwrap(),
        ExportMetricsServiceRequest::default()
    );
    assert_eq!(json::from_json_slice(b"{}").unwrap(), ExportMetricsServiceRequest::default());

    let cases: &[(&str, JsonErrorKind, &str)] = &[
        ("null", JsonErrorKind::Data, "expected an ExportMetricsServiceRequest object, got null"),
        ("[]", JsonErrorKind::Data, "expected an ExportMetricsServiceRequest object, got an array"),
        ("7", JsonErrorKind::Data, "expected an ExportMetricsServiceRequest object, got 7"),
        ("", JsonErrorKind::Eof, "EOF while parsing a value"),
        ("{", JsonErrorKind::Eof, "EOF while parsing an object"),
        ("{} {}", JsonErrorKind::Syntax, "trailing characters"),
        ("{\"resourceMetrics\":[],}", JsonErrorKind::Syntax, "trailing comma"),
        (r#"{"resourceMetrics":{}}"#, JsonErrorKind::Data, "expected an array, got an object"),
        (
            r#"{"resourceMetrics":[7]}"#,
            JsonErrorKind::Data,
            "expected a ResourceMetrics object, got 7",
        ),
    ];
    for (text, kind, message) in cases {
        let error = json::from_json_str(text).unwrap_err();
        assert_eq!((error.kind(), error.message()), (*kind, *message), "{text:?}");
    }
    let error =
        json::from_json_slice(b"{\"resourceMetrics\":[{\"schemaUrl\":\"\xff\"}]}").unwrap_err();
    assert_eq!(error.kind(), JsonErrorKind::Syntax);
    assert_eq!(error.message(), "invalid unicode code point");
}

#[test]
fn json_lines_and_documents() {
    let a = r#"{"resourceMetrics":[{"schemaUrl":"a"}]}"#;
    let b = r#"{"resourceMetrics":[{"schemaUrl":"b"}]}"#;
    let urls = |requests: Vec<ExportMetricsServiceRequest>| -> Vec<String> {
        requests.into_iter().map(|r| r.resource_metrics[0].schema_url.clone()).collect()
    };

    let lines = format!("\n{a}\r\n  \n{b}");
    assert_eq!(urls(json::from_json_lines(&lines).unwrap()), ["a", "b"]);
    assert_eq!(json::from_json_lines("").unwrap(), []);
    assert_eq!(json::from_json_lines("\n \n").unwrap(), []);

    let pretty = json::to_json_string_pretty(&json::from_json_str(a).unwrap());
    assert!(pretty.lines().count() > 3, "{pretty}");
    for text in
        [format!("{a}\n{b}\n"), format!("{a}{b}"), format!("{pretty}\n\n{b}"), format!(" {a} ")]
    {
        let expected: &[&str] = if text.contains(b) { &["a", "b"] } else { &["a"] };
        assert_eq!(urls(json::from_json_documents(&text).unwrap()), expected, "{text}");
    }
    assert_eq!(json::from_json_documents(" \n").unwrap(), []);
    // A pretty-printed request is not JSON lines.
    assert!(json::from_json_lines(&pretty).is_err());
}

#[test]
fn pre_1_0_instrumentation_library_names_load_as_scope_metrics() {
    let text = r#"{"resourceMetrics":[{"instrumentationLibraryMetrics":[{
        "instrumentationLibrary":{"name":"lib","version":"0.9"},
        "metrics":[{"name":"up","gauge":{"dataPoints":[{"timeUnixNano":"1","asInt":"1"}]}}]}]}]}"#;
    let request = json::from_json_str(text).unwrap();
    let scope_metrics = &request.resource_metrics[0].scope_metrics;
    assert_eq!(scope_metrics.len(), 1);
    let scope = scope_metrics[0].scope.as_ref().unwrap();
    assert_eq!((scope.name.as_str(), scope.version.as_str()), ("lib", "0.9"));
    assert_eq!(scope_metrics[0].metrics[0].name, "up");

    // The old and the new name for the same field together are one field given twice.
    let both = r#"{"resourceMetrics":[{"scopeMetrics":[],"instrumentationLibraryMetrics":[]}]}"#;
    let err = json::from_json_str(both).unwrap_err();
    assert!(err.to_string().contains("more than once"), "{err}");
}
