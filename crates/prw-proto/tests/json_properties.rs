//! Properties of OTLP/JSON over arbitrary input:
//!
//! - any request survives encode → decode (compact, pretty, JSON lines, documents), and also
//!   when rewritten with snake_case names or with 64-bit integers as bare numbers;
//! - no input panics: arbitrary text and bytes, arbitrary JSON built from OTLP field names,
//!   and valid files with one byte changed; every error is positioned inside the input;
//! - whatever is accepted re-encodes to the same request.

#![cfg(feature = "json")]
// Helpers outside #[test] functions fail the test the same way.
#![allow(clippy::unwrap_used)]

mod common;

use common::same;
use proptest::collection::vec;
use proptest::prelude::*;
use prw_proto::otlp::collector::ExportMetricsServiceRequest;
use prw_proto::otlp::json::{self, JsonError};

fn decoded(
    result: Result<ExportMetricsServiceRequest, JsonError>,
) -> Result<ExportMetricsServiceRequest, TestCaseError> {
    result.map_err(|e| TestCaseError::fail(format!("{e}")))
}

/// The error lies inside `text`: a line it has, a column of at least 1.
fn check_position(error: &JsonError, text: &[u8]) -> Result<(), TestCaseError> {
    let lines = text.iter().filter(|&&b| b == b'\n').count() + 1;
    prop_assert!(error.line() >= 1 && error.line() <= lines, "{error} (of {lines} lines)");
    prop_assert!(error.column() >= 1, "{error}");
    Ok(())
}

/// Every JSON name the encoder writes, and the snake_case the decoder must also accept.
const RENAMES: &[(&str, &str)] = &[
    ("resourceMetrics", "resource_metrics"),
    ("scopeMetrics", "scope_metrics"),
    ("schemaUrl", "schema_url"),
    ("droppedAttributesCount", "dropped_attributes_count"),
    ("stringValue", "string_value"),
    ("boolValue", "bool_value"),
    ("intValue", "int_value"),
    ("doubleValue", "double_value"),
    ("arrayValue", "array_value"),
    ("kvlistValue", "kvlist_value"),
    ("bytesValue", "bytes_value"),
    ("exponentialHistogram", "exponential_histogram"),
    ("dataPoints", "data_points"),
    ("aggregationTemporality", "aggregation_temporality"),
    ("isMonotonic", "is_monotonic"),
    ("startTimeUnixNano", "start_time_unix_nano"),
    ("timeUnixNano", "time_unix_nano"),
    ("asDouble", "as_double"),
    ("asInt", "as_int"),
    ("bucketCounts", "bucket_counts"),
    ("explicitBounds", "explicit_bounds"),
    ("zeroCount", "zero_count"),
    ("zeroThreshold", "zero_threshold"),
    ("quantileValues", "quantile_values"),
    ("filteredAttributes", "filtered_attributes"),
    ("spanId", "span_id"),
    ("traceId", "trace_id"),
];

/// Whether `text[at..]` starts a key (a quote right after `{` or `,`, as the compact encoder
/// writes them); a quote inside a string value is always escaped, so never follows these.
fn is_key_at(text: &str, at: usize) -> bool {
    at > 0 && matches!(text.as_bytes()[at - 1], b'{' | b',')
}

fn to_snake_case(text: &str) -> String {
    let mut out = text.to_owned();
    for (camel, snake) in RENAMES {
        let pattern = format!("\"{camel}\":");
        let mut result = String::with_capacity(out.len());
        let mut rest = 0;
        for (at, _) in out.match_indices(&pattern) {
            if is_key_at(&out, at) {
                result.push_str(&out[rest..at]);
                result.push_str(&format!("\"{snake}\":"));
                rest = at + pattern.len();
            }
        }
        result.push_str(&out[rest..]);
        out = result;
    }
    out
}

/// Writes every 64-bit integer as a bare JSON number instead of a string.
fn unquote_integers(text: &str) -> String {
    const SCALARS: &[&str] =
        &["startTimeUnixNano", "timeUnixNano", "count", "zeroCount", "asInt", "intValue"];
    let bytes = text.as_bytes();
    let mut drop = vec![false; bytes.len()];
    for key in SCALARS {
        let pattern = format!("\"{key}\":\"");
        for (at, _) in text.match_indices(&pattern) {
            if is_key_at(text, at) {
                let open = at + pattern.len() - 1;
                let close = open + 1 + text[open + 1..].find('"').unwrap();
                drop[open] = true;
                drop[close] = true;
            }
        }
    }
    let pattern = "\"bucketCounts\":[";
    for (at, _) in text.match_indices(pattern) {
        if is_key_at(text, at) {
            let open = at + pattern.len();
            let close = open + text[open..].find(']').unwrap();
            for i in open..close {
                if bytes[i] == b'"' {
                    drop[i] = true;
                }
            }
        }
    }
    let kept: Vec<u8> = bytes.iter().zip(&drop).filter(|(_, d)| !**d).map(|(b, _)| *b).collect();
    String::from_utf8(kept).unwrap()
}

/// Arbitrary JSON made of OTLP field names and values of every type, to reach deep into the
/// decoder with wrong types, duplicates, nulls and oneof conflicts.
fn otlp_shaped_json() -> impl Strategy<Value = String> {
    let names: Vec<&'static str> = RENAMES
        .iter()
        .flat_map(|(camel, snake)| [*camel, *snake])
        .chain([
            "resource",
            "scope",
            "metrics",
            "name",
            "version",
            "attributes",
            "key",
            "value",
            "values",
            "description",
            "unit",
            "metadata",
            "gauge",
            "sum",
            "histogram",
            "summary",
            "count",
            "min",
            "max",
            "scale",
            "positive",
            "negative",
            "offset",
            "flags",
            "exemplars",
            "quantile",
            "unknown",
        ])
        .collect();
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("1.5".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("1e30".to_owned()),
        Just(r#""NaN""#.to_owned()),
        Just(r#""-Infinity""#.to_owned()),
        Just(r#""12""#.to_owned()),
        Just(r#""00ff""#.to_owned()),
        Just(r#""AQID""#.to_owned()),
        Just(r#""AGGREGATION_TEMPORALITY_DELTA""#.to_owned()),
        "[a-z0-9]{0,5}".prop_map(|s| format!("\"{s}\"")),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(|x| format!("{x:e}")),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        let names = names.clone();
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(","))),
            vec((proptest::sample::select(names), inner), 0..6).prop_map(|fields| {
                let fields: Vec<String> =
                    fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_gives_the_request_back(request in common::request()) {
        let compact = json::to_json_string(&request);
        prop_assert!(!compact.contains('\n'), "one line: {compact}");
        let back = decoded(json::from_json_str(&compact))?;
        prop_assert!(same(&back, &request), "{compact}");
        // And the encoding is stable.
        prop_assert_eq!(json::to_json_string(&back), compact);

        let pretty = json::to_json_string_pretty(&request);
        prop_assert!(same(&decoded(json::from_json_str(&pretty))?, &request), "{pretty}");
        prop_assert!(same(&decoded(json::from_json_slice(pretty.as_bytes()))?, &request));
    }

    #[test]
    fn json_lines_and_documents_round_trip(requests in vec(common::request(), 0..4)) {
        let lines = json::to_json_lines(&requests);
        let from_lines = json::from_json_lines(&lines).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(same(&from_lines, &requests));
        let pretty: String = requests.iter().map(json::to_json_string_pretty).collect::<Vec<_>>().join("\n");
        let from_documents = json::from_json_documents(&pretty).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(same(&from_documents, &requests));
    }

    #[test]
    fn snake_case_names_decode_the_same(request in common::request()) {
        let snake = to_snake_case(&json::to_json_string(&request));
        prop_assert!(same(&decoded(json::from_json_str(&snake))?, &request), "{snake}");
    }

    #[test]
    fn integers_as_bare_numbers_decode_the_same(request in common::request()) {
        let numbers = unquote_integers(&json::to_json_string(&request));
        prop_assert!(same(&decoded(json::from_json_str(&numbers))?, &request), "{numbers}");
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        for result in [json::from_json_str(&text), json::from_json_slice(text.as_bytes())] {
            if let Err(e) = result {
                check_position(&e, text.as_bytes())?;
            }
        }
        if let Err(e) = json::from_json_lines(&text) {
            check_position(&e, text.as_bytes())?;
        }
        if let Err(e) = json::from_json_documents(&text) {
            check_position(&e, text.as_bytes())?;
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..200)) {
        if let Err(e) = json::from_json_slice(&bytes) {
            check_position(&e, &bytes)?;
        }
        for result in json::JsonLinesReader::new(bytes.as_slice()) {
            if let Err(e) = result {
                check_position(&e, &bytes)?;
            }
        }
    }

    #[test]
    fn otlp_shaped_json_never_panics_and_what_is_accepted_round_trips(
        body in otlp_shaped_json(),
    ) {
        let text = format!(r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{body}]}}]}}],"resource_metrics":{body}}}"#);
        for text in [text, body] {
            match json::from_json_str(&text) {
                Ok(request) => {
                    let again = decoded(json::from_json_str(&json::to_json_string(&request)))?;
                    prop_assert!(same(&again, &request));
                }
                Err(e) => check_position(&e, text.as_bytes())?,
            }
        }
    }

    #[test]
    fn valid_files_with_one_byte_changed_never_panic(
        request in common::request(),
        at in any::<prop::sample::Index>(),
        byte in prop_oneof![Just(b'"'), Just(b'{'), Just(b']'), Just(b','), Just(b'\\'), Just(b'-'), any::<u8>()],
        change in 0..3u8,
    ) {
        let mut bytes = json::to_json_string_pretty(&request).into_bytes();
        let i = at.index(bytes.len());
        match change {
            0 => bytes[i] = byte,
            1 => { bytes.remove(i); }
            _ => bytes.insert(i, byte),
        }
        match json::from_json_slice(&bytes) {
            Ok(request) => {
                let again = decoded(json::from_json_str(&json::to_json_string(&request)))?;
                prop_assert!(same(&again, &request));
            }
            Err(e) => check_position(&e, &bytes)?,
        }
    }
}

#[test]
fn negative_zero_keeps_its_sign() {
    use prw_proto::otlp::metrics::{Gauge, Metric, NumberDataPoint, metric, number_data_point};
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![prw_proto::otlp::metrics::ResourceMetrics {
            scope_metrics: vec![prw_proto::otlp::metrics::ScopeMetrics {
                metrics: vec![Metric {
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            value: Some(number_data_point::Value::AsDouble(-0.0)),
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let text = json::to_json_string(&request);
    assert!(text.contains(r#""asDouble":-0.0"#), "{text}");
    assert!(same(&json::from_json_str(&text).unwrap(), &request));
}
