//! JSON renderings: Remote Write messages in the protobuf JSON mapping (`prw convert --json`)
//! and received requests as one object each (`prw receive --json`).

use std::time::UNIX_EPOCH;

use prw::proto::rw1::Label;
use prw::proto::{rw1, rw2};
use prw::receiver::{
    Exemplar, MetricMetadata, ReceivedRequest, Series, format_value, histogram_buckets,
    metric_type_name,
};
use serde_json::{Map, Value, json};

/// A double as the protobuf JSON mapping writes it: a number, or `"NaN"`, `"Infinity"`,
/// `"-Infinity"`.
fn proto_double(value: f64) -> Value {
    if value.is_nan() {
        json!("NaN")
    } else if value == f64::INFINITY {
        json!("Infinity")
    } else if value == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(value)
    }
}

/// 64-bit integers are strings in the protobuf JSON mapping (JavaScript cannot hold them).
fn proto_int64(value: impl ToString) -> Value {
    Value::String(value.to_string())
}

fn labels_json(labels: &[Label]) -> Value {
    labels.iter().map(|l| json!({"name": l.name, "value": l.value})).collect()
}

fn spans_json(spans: impl Iterator<Item = (i32, u32)>) -> Value {
    spans.map(|(offset, length)| json!({"offset": offset, "length": length})).collect()
}

/// Inserts `key` only when the list is not empty (the mapping leaves empty lists out).
fn insert_list(map: &mut Map<String, Value>, key: &str, values: Vec<Value>) {
    if !values.is_empty() {
        map.insert(key.to_owned(), Value::Array(values));
    }
}

/// The fields RW 1.0 and 2.0 histograms share, written with the protobuf JSON names.
struct HistogramFields<'a> {
    count: Option<(Value, &'static str)>,
    zero_count: Option<(Value, &'static str)>,
    sum: f64,
    schema: i32,
    zero_threshold: f64,
    negative_spans: Value,
    negative_deltas: &'a [i64],
    negative_counts: &'a [f64],
    positive_spans: Value,
    positive_deltas: &'a [i64],
    positive_counts: &'a [f64],
    reset_hint: &'static str,
    timestamp: i64,
    custom_values: &'a [f64],
}

impl HistogramFields<'_> {
    fn to_json(&self) -> Map<String, Value> {
        let mut map = Map::new();
        if let Some((value, key)) = &self.count {
            map.insert((*key).to_owned(), value.clone());
        }
        map.insert("sum".into(), proto_double(self.sum));
        map.insert("schema".into(), json!(self.schema));
        map.insert("zeroThreshold".into(), proto_double(self.zero_threshold));
        if let Some((value, key)) = &self.zero_count {
            map.insert((*key).to_owned(), value.clone());
        }
        for (key, spans, deltas, counts) in [
            ("negative", &self.negative_spans, self.negative_deltas, self.negative_counts),
            ("positive", &self.positive_spans, self.positive_deltas, self.positive_counts),
        ] {
            if spans.as_array().is_some_and(|a| !a.is_empty()) {
                map.insert(format!("{key}Spans"), spans.clone());
            }
            insert_list(
                &mut map,
                &format!("{key}Deltas"),
                deltas.iter().map(proto_int64).collect(),
            );
            insert_list(
                &mut map,
                &format!("{key}Counts"),
                counts.iter().map(|c| proto_double(*c)).collect(),
            );
        }
        map.insert("resetHint".into(), json!(self.reset_hint));
        map.insert("timestamp".into(), proto_int64(self.timestamp));
        insert_list(
            &mut map,
            "customValues",
            self.custom_values.iter().map(|c| proto_double(*c)).collect(),
        );
        map
    }
}

fn rw1_histogram(h: &rw1::Histogram) -> Value {
    use rw1::histogram::{Count, ResetHint, ZeroCount};
    let fields = HistogramFields {
        count: h.count.map(|c| match c {
            Count::CountInt(n) => (proto_int64(n), "countInt"),
            Count::CountFloat(n) => (proto_double(n), "countFloat"),
        }),
        zero_count: h.zero_count.map(|c| match c {
            ZeroCount::ZeroCountInt(n) => (proto_int64(n), "zeroCountInt"),
            ZeroCount::ZeroCountFloat(n) => (proto_double(n), "zeroCountFloat"),
        }),
        sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        negative_spans: spans_json(h.negative_spans.iter().map(|s| (s.offset, s.length))),
        negative_deltas: &h.negative_deltas,
        negative_counts: &h.negative_counts,
        positive_spans: spans_json(h.positive_spans.iter().map(|s| (s.offset, s.length))),
        positive_deltas: &h.positive_deltas,
        positive_counts: &h.positive_counts,
        reset_hint: ResetHint::try_from(h.reset_hint).map_or("UNKNOWN", |r| r.as_str_name()),
        timestamp: h.timestamp,
        custom_values: &h.custom_values,
    };
    Value::Object(fields.to_json())
}

fn rw2_histogram(h: &rw2::Histogram) -> Value {
    use rw2::histogram::{Count, ResetHint, ZeroCount};
    let fields = HistogramFields {
        count: h.count.map(|c| match c {
            Count::CountInt(n) => (proto_int64(n), "countInt"),
            Count::CountFloat(n) => (proto_double(n), "countFloat"),
        }),
        zero_count: h.zero_count.map(|c| match c {
            ZeroCount::ZeroCountInt(n) => (proto_int64(n), "zeroCountInt"),
            ZeroCount::ZeroCountFloat(n) => (proto_double(n), "zeroCountFloat"),
        }),
        sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        negative_spans: spans_json(h.negative_spans.iter().map(|s| (s.offset, s.length))),
        negative_deltas: &h.negative_deltas,
        negative_counts: &h.negative_counts,
        positive_spans: spans_json(h.positive_spans.iter().map(|s| (s.offset, s.length))),
        positive_deltas: &h.positive_deltas,
        positive_counts: &h.positive_counts,
        reset_hint: ResetHint::try_from(h.reset_hint)
            .map_or("RESET_HINT_UNSPECIFIED", |r| r.as_str_name()),
        timestamp: h.timestamp,
        custom_values: &h.custom_values,
    };
    let mut map = fields.to_json();
    if h.start_timestamp != 0 {
        map.insert("startTimestamp".into(), proto_int64(h.start_timestamp));
    }
    Value::Object(map)
}

/// A `prometheus.WriteRequest` in the protobuf JSON mapping.
pub(crate) fn rw1_json(request: &rw1::WriteRequest) -> Value {
    let timeseries: Vec<Value> = request
        .timeseries
        .iter()
        .map(|ts| {
            let mut map = Map::new();
            map.insert("labels".into(), labels_json(&ts.labels));
            map.insert(
                "samples".into(),
                ts.samples
                    .iter()
                    .map(|s| json!({"value": proto_double(s.value), "timestamp": proto_int64(s.timestamp)}))
                    .collect(),
            );
            insert_list(
                &mut map,
                "exemplars",
                ts.exemplars
                    .iter()
                    .map(|e| {
                        json!({
                            "labels": labels_json(&e.labels),
                            "value": proto_double(e.value),
                            "timestamp": proto_int64(e.timestamp),
                        })
                    })
                    .collect(),
            );
            insert_list(&mut map, "histograms", ts.histograms.iter().map(rw1_histogram).collect());
            Value::Object(map)
        })
        .collect();
    let metadata: Vec<Value> = request
        .metadata
        .iter()
        .map(|m| {
            json!({
                "type": rw1::metric_metadata::MetricType::try_from(m.r#type).map_or("UNKNOWN", |t| t.as_str_name()),
                "metricFamilyName": m.metric_family_name,
                "help": m.help,
                "unit": m.unit,
            })
        })
        .collect();
    json!({"timeseries": timeseries, "metadata": metadata})
}

/// An `io.prometheus.write.v2.Request` in the protobuf JSON mapping.
pub(crate) fn rw2_json(request: &rw2::Request) -> Value {
    let timeseries: Vec<Value> = request
        .timeseries
        .iter()
        .map(|ts| {
            let mut map = Map::new();
            map.insert("labelsRefs".into(), json!(ts.labels_refs));
            insert_list(
                &mut map,
                "samples",
                ts.samples
                    .iter()
                    .map(|s| {
                        let mut sample = Map::new();
                        sample.insert("value".into(), proto_double(s.value));
                        sample.insert("timestamp".into(), proto_int64(s.timestamp));
                        if s.start_timestamp != 0 {
                            sample.insert("startTimestamp".into(), proto_int64(s.start_timestamp));
                        }
                        Value::Object(sample)
                    })
                    .collect(),
            );
            insert_list(&mut map, "histograms", ts.histograms.iter().map(rw2_histogram).collect());
            insert_list(
                &mut map,
                "exemplars",
                ts.exemplars
                    .iter()
                    .map(|e| {
                        json!({
                            "labelsRefs": e.labels_refs,
                            "value": proto_double(e.value),
                            "timestamp": proto_int64(e.timestamp),
                        })
                    })
                    .collect(),
            );
            if let Some(m) = ts.metadata {
                map.insert(
                    "metadata".into(),
                    json!({
                        "type": rw2::metadata::MetricType::try_from(m.r#type)
                            .map_or("METRIC_TYPE_UNSPECIFIED", |t| t.as_str_name()),
                        "helpRef": m.help_ref,
                        "unitRef": m.unit_ref,
                    }),
                );
            }
            Value::Object(map)
        })
        .collect();
    json!({"symbols": request.symbols, "timeseries": timeseries})
}

fn metadata_json(m: &MetricMetadata) -> Value {
    json!({"family": m.family, "type": metric_type_name(m.metric_type), "help": m.help, "unit": m.unit})
}

fn exemplar_json(e: &Exemplar) -> Value {
    json!({"labels": labels_json(&e.labels), "value": format_value(e.value), "timestamp": e.timestamp})
}

/// A series as the Prometheus HTTP API shows data: values as strings, native histograms as
/// `{count, sum, buckets: [[boundaries, lower, upper, count], ...]}` with boundaries 0 = `(a,b]`,
/// 1 = `[a,b)`, 2 = `(a,b)`, 3 = `[a,b]`.
fn series_json(series: &Series) -> Value {
    let mut map = Map::new();
    map.insert("labels".into(), labels_json(&series.labels));
    insert_list(
        &mut map,
        "samples",
        series
            .samples
            .iter()
            .map(|s| {
                let mut sample = Map::new();
                sample.insert("value".into(), json!(format_value(s.value)));
                sample.insert("timestamp".into(), json!(s.timestamp));
                if s.start_timestamp != 0 {
                    sample.insert("startTimestamp".into(), json!(s.start_timestamp));
                }
                Value::Object(sample)
            })
            .collect(),
    );
    insert_list(
        &mut map,
        "histograms",
        series
            .histograms
            .iter()
            .map(|h| {
                use rw2::histogram::Count;
                let count = match h.count {
                    Some(Count::CountInt(n)) => n.to_string(),
                    Some(Count::CountFloat(n)) => format_value(n),
                    None => String::new(),
                };
                let buckets: Vec<Value> = histogram_buckets(h)
                    .iter()
                    .map(|b| {
                        let boundaries = match (b.lower_inclusive, b.upper_inclusive) {
                            (false, true) => 0,
                            (true, false) => 1,
                            (false, false) => 2,
                            (true, true) => 3,
                        };
                        json!([
                            boundaries,
                            format_value(b.lower),
                            format_value(b.upper),
                            format_value(b.count)
                        ])
                    })
                    .collect();
                let mut histogram = Map::new();
                histogram.insert("count".into(), json!(count));
                histogram.insert("sum".into(), json!(format_value(h.sum)));
                histogram.insert("schema".into(), json!(h.schema));
                histogram.insert("buckets".into(), Value::Array(buckets));
                histogram.insert("timestamp".into(), json!(h.timestamp));
                if h.start_timestamp != 0 {
                    histogram.insert("startTimestamp".into(), json!(h.start_timestamp));
                }
                Value::Object(histogram)
            })
            .collect(),
    );
    insert_list(&mut map, "exemplars", series.exemplars.iter().map(exemplar_json).collect());
    if let Some(m) = &series.metadata {
        map.insert("metadata".into(), metadata_json(m));
    }
    Value::Object(map)
}

/// One received request, for `prw receive --json`.
pub(crate) fn received_json(request: &ReceivedRequest) -> Value {
    let headers: Map<String, Value> = request
        .headers
        .keys()
        .map(|name| {
            let values: Vec<String> = request
                .headers
                .get_all(name)
                .iter()
                .map(|v| {
                    let text = String::from_utf8_lossy(v.as_bytes());
                    if v.is_sensitive() {
                        // Show the scheme (Basic, Bearer), never the credentials.
                        let scheme = text.split_whitespace().next().unwrap_or_default();
                        format!("{scheme} <redacted>")
                    } else {
                        text.into_owned()
                    }
                })
                .collect();
            (name.as_str().to_owned(), json!(values.join(", ")))
        })
        .collect();
    let received_at_ms =
        request.received_at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let response = &request.response;
    json!({
        "sequence": request.sequence,
        "receivedAtMs": received_at_ms,
        "remoteAddr": request.remote_addr.to_string(),
        "method": request.method.as_str(),
        "path": request.path,
        "protocol": request.version.map(|v| v.to_string()),
        "headers": headers,
        "bodyBytes": request.body_len,
        "decodedBytes": request.decoded_len,
        "series": request.series.iter().map(series_json).collect::<Vec<_>>(),
        "metadata": request.metadata.iter().map(metadata_json).collect::<Vec<_>>(),
        "problems": request.problems.iter().map(|p| json!({
            "severity": p.severity.to_string(),
            "kind": p.kind.name(),
            "series": p.series,
            "message": p.message,
        })).collect::<Vec<_>>(),
        "response": {
            "status": response.status,
            "samplesWritten": response.samples_written,
            "histogramsWritten": response.histograms_written,
            "exemplarsWritten": response.exemplars_written,
            "body": response.body,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_and_int64_follow_the_protobuf_mapping() {
        assert_eq!(proto_double(1.5), json!(1.5));
        assert_eq!(proto_double(f64::NAN), json!("NaN"));
        assert_eq!(proto_double(f64::from_bits(0x7ff0_0000_0000_0002)), json!("NaN"));
        assert_eq!(proto_double(f64::INFINITY), json!("Infinity"));
        assert_eq!(proto_double(f64::NEG_INFINITY), json!("-Infinity"));
        assert_eq!(proto_int64(-5i64), json!("-5"));
    }

    #[test]
    fn rw2_message() {
        let request = rw2::Request {
            symbols: vec!["".into(), "__name__".into(), "x".into(), "help".into()],
            timeseries: vec![rw2::TimeSeries {
                labels_refs: vec![1, 2],
                samples: vec![rw2::Sample { value: 2.0, timestamp: 1000, start_timestamp: 500 }],
                metadata: Some(rw2::Metadata { r#type: 1, help_ref: 3, unit_ref: 0 }),
                ..Default::default()
            }],
        };
        assert_eq!(
            rw2_json(&request),
            json!({
                "symbols": ["", "__name__", "x", "help"],
                "timeseries": [{
                    "labelsRefs": [1, 2],
                    "samples": [{"value": 2.0, "timestamp": "1000", "startTimestamp": "500"}],
                    "metadata": {"type": "METRIC_TYPE_COUNTER", "helpRef": 3, "unitRef": 0},
                }],
            })
        );
    }

    #[test]
    fn rw1_message_with_histogram() {
        let request = rw1::WriteRequest {
            timeseries: vec![rw1::TimeSeries {
                labels: vec![Label { name: "__name__".into(), value: "h".into() }],
                histograms: vec![rw1::Histogram {
                    count: Some(rw1::histogram::Count::CountInt(3)),
                    zero_count: Some(rw1::histogram::ZeroCount::ZeroCountInt(1)),
                    sum: 2.5,
                    schema: 0,
                    positive_spans: vec![rw1::BucketSpan { offset: 1, length: 1 }],
                    positive_deltas: vec![2],
                    timestamp: 7,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            metadata: vec![rw1::MetricMetadata {
                r#type: 3,
                metric_family_name: "h".into(),
                help: "".into(),
                unit: "".into(),
            }],
        };
        assert_eq!(
            rw1_json(&request),
            json!({
                "timeseries": [{
                    "labels": [{"name": "__name__", "value": "h"}],
                    "samples": [],
                    "histograms": [{
                        "countInt": "3", "sum": 2.5, "schema": 0, "zeroThreshold": 0.0, "zeroCountInt": "1",
                        "positiveSpans": [{"offset": 1, "length": 1}], "positiveDeltas": ["2"],
                        "resetHint": "UNKNOWN", "timestamp": "7",
                    }],
                }],
                "metadata": [{"type": "HISTOGRAM", "metricFamilyName": "h", "help": "", "unit": ""}],
            })
        );
    }

    #[test]
    fn received_series_read_like_the_prometheus_api() {
        let series = Series {
            labels: vec![Label { name: "__name__".into(), value: "h".into() }],
            histograms: vec![rw2::Histogram {
                count: Some(rw2::histogram::Count::CountInt(3)),
                zero_count: Some(rw2::histogram::ZeroCount::ZeroCountInt(1)),
                zero_threshold: 0.001,
                sum: 2.5,
                positive_spans: vec![rw2::BucketSpan { offset: 1, length: 1 }],
                positive_deltas: vec![2],
                timestamp: 7,
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            series_json(&series)["histograms"][0],
            json!({
                "count": "3", "sum": "2.5", "schema": 0, "timestamp": 7,
                "buckets": [[3, "-0.001", "0.001", "1"], [0, "1", "2", "2"]],
            })
        );
    }
}
