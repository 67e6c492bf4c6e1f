//! OTLP/JSON writing, straight into a `String` (so it cannot fail).
//!
//! Fields are written in proto order under their lowerCamelCase names; fields holding their
//! default value are left out (as proto3 JSON and the Collector do), except oneof members and
//! `optional` fields, whose presence is information.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::otlp::collector::ExportMetricsServiceRequest;
use crate::otlp::common::any_value::Value as AnyValueKind;
use crate::otlp::common::{AnyValue, InstrumentationScope, KeyValue};
use crate::otlp::metrics::exponential_histogram_data_point::Buckets;
use crate::otlp::metrics::summary_data_point::ValueAtQuantile;
use crate::otlp::metrics::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, SummaryDataPoint, exemplar, metric, number_data_point,
};
use crate::otlp::resource::Resource;

pub(crate) fn encode(request: &ExportMetricsServiceRequest, pretty: bool) -> String {
    let mut w = Writer { out: String::new(), pretty, depth: 0 };
    let mut o = w.object();
    o.list("resourceMetrics", &request.resource_metrics, resource_metrics);
    o.end();
    w.out
}

struct Writer {
    out: String,
    pretty: bool,
    depth: usize,
}

impl Writer {
    fn newline(&mut self) {
        if self.pretty {
            self.out.push('\n');
            for _ in 0..self.depth {
                self.out.push_str("  ");
            }
        }
    }

    fn object(&mut self) -> Object<'_> {
        self.out.push('{');
        self.depth += 1;
        Object { w: self, empty: true }
    }

    fn array<T>(&mut self, items: &[T], item: fn(&mut Writer, &T)) {
        self.out.push('[');
        self.depth += 1;
        for (i, value) in items.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.newline();
            item(self, value);
        }
        self.depth -= 1;
        if !items.is_empty() {
            self.newline();
        }
        self.out.push(']');
    }

    fn string(&mut self, s: &str) {
        self.out.push('"');
        let mut plain = 0;
        for (i, byte) in s.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0x00..=0x1f => "",
                _ => continue,
            };
            // `i` is at an ASCII byte, so both slices are on character boundaries.
            self.out.push_str(s.get(plain..i).unwrap_or_default());
            if escape.is_empty() {
                let _ = write!(self.out, "\\u{byte:04x}");
            } else {
                self.out.push_str(escape);
            }
            plain = i + 1;
        }
        self.out.push_str(s.get(plain..).unwrap_or_default());
        self.out.push('"');
    }

    /// 64-bit integers are strings in proto3 JSON (a double cannot hold them all).
    fn int64(&mut self, value: impl std::fmt::Display) {
        let _ = write!(self.out, "\"{value}\"");
    }

    fn int32(&mut self, value: impl std::fmt::Display) {
        let _ = write!(self.out, "{value}");
    }

    fn double(&mut self, value: f64) {
        if value.is_nan() {
            self.out.push_str("\"NaN\"");
        } else if value.is_infinite() {
            self.out.push_str(if value > 0.0 { "\"Infinity\"" } else { "\"-Infinity\"" });
        } else if value == 0.0 {
            // "-0" would read back as an integer in many parsers; keep the sign.
            self.out.push_str(if value.is_sign_negative() { "-0.0" } else { "0" });
        } else if value.abs() >= 1e21 || value.abs() < 1e-6 {
            // Both forms print the shortest digits that read back to the same double.
            let _ = write!(self.out, "{value:e}");
        } else {
            let _ = write!(self.out, "{value}");
        }
    }

    fn bool(&mut self, value: bool) {
        self.out.push_str(if value { "true" } else { "false" });
    }
}

/// An object being written; `end` closes it.
struct Object<'w> {
    w: &'w mut Writer,
    empty: bool,
}

impl Object<'_> {
    fn key(&mut self, name: &str) -> &mut Writer {
        if !self.empty {
            self.w.out.push(',');
        }
        self.empty = false;
        self.w.newline();
        self.w.string(name);
        self.w.out.push(':');
        if self.w.pretty {
            self.w.out.push(' ');
        }
        self.w
    }

    fn end(self) {
        self.w.depth -= 1;
        if !self.empty {
            self.w.newline();
        }
        self.w.out.push('}');
    }

    fn string(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.key(name).string(value);
        }
    }

    fn bool(&mut self, name: &str, value: bool) {
        if value {
            self.key(name).bool(value);
        }
    }

    fn uint32(&mut self, name: &str, value: u32) {
        if value != 0 {
            self.key(name).int32(value);
        }
    }

    fn int32(&mut self, name: &str, value: i32) {
        if value != 0 {
            self.key(name).int32(value);
        }
    }

    fn uint64(&mut self, name: &str, value: u64) {
        if value != 0 {
            self.key(name).int64(value);
        }
    }

    fn double(&mut self, name: &str, value: f64) {
        // -0.0 is not the default: its bits are not zero.
        if value.to_bits() != 0 {
            self.key(name).double(value);
        }
    }

    fn optional_double(&mut self, name: &str, value: Option<f64>) {
        if let Some(value) = value {
            self.key(name).double(value);
        }
    }

    fn hex(&mut self, name: &str, bytes: &[u8]) {
        if !bytes.is_empty() {
            let w = self.key(name);
            w.out.push('"');
            for byte in bytes {
                let _ = write!(w.out, "{byte:02x}");
            }
            w.out.push('"');
        }
    }

    fn message<T>(&mut self, name: &str, value: Option<&T>, write: fn(&mut Writer, &T)) {
        if let Some(value) = value {
            write(self.key(name), value);
        }
    }

    fn list<T>(&mut self, name: &str, items: &[T], item: fn(&mut Writer, &T)) {
        if !items.is_empty() {
            self.key(name).array(items, item);
        }
    }
}

fn resource_metrics(w: &mut Writer, rm: &ResourceMetrics) {
    let mut o = w.object();
    o.message("resource", rm.resource.as_ref(), resource);
    o.list("scopeMetrics", &rm.scope_metrics, scope_metrics);
    o.string("schemaUrl", &rm.schema_url);
    o.end();
}

fn resource(w: &mut Writer, r: &Resource) {
    let mut o = w.object();
    o.list("attributes", &r.attributes, key_value);
    o.uint32("droppedAttributesCount", r.dropped_attributes_count);
    o.end();
}

fn scope_metrics(w: &mut Writer, sm: &ScopeMetrics) {
    let mut o = w.object();
    o.message("scope", sm.scope.as_ref(), scope);
    o.list("metrics", &sm.metrics, metric);
    o.string("schemaUrl", &sm.schema_url);
    o.end();
}

fn scope(w: &mut Writer, s: &InstrumentationScope) {
    let mut o = w.object();
    o.string("name", &s.name);
    o.string("version", &s.version);
    o.list("attributes", &s.attributes, key_value);
    o.uint32("droppedAttributesCount", s.dropped_attributes_count);
    o.end();
}

fn key_value(w: &mut Writer, kv: &KeyValue) {
    let mut o = w.object();
    o.string("key", &kv.key);
    o.message("value", kv.value.as_ref(), any_value);
    o.end();
}

fn any_value(w: &mut Writer, v: &AnyValue) {
    let mut o = w.object();
    match &v.value {
        None => {}
        Some(AnyValueKind::StringValue(s)) => o.key("stringValue").string(s),
        Some(AnyValueKind::BoolValue(b)) => o.key("boolValue").bool(*b),
        Some(AnyValueKind::IntValue(i)) => o.key("intValue").int64(i),
        Some(AnyValueKind::DoubleValue(d)) => o.key("doubleValue").double(*d),
        Some(AnyValueKind::ArrayValue(array)) => {
            let mut inner = o.key("arrayValue").object();
            inner.list("values", &array.values, any_value);
            inner.end();
        }
        Some(AnyValueKind::KvlistValue(list)) => {
            let mut inner = o.key("kvlistValue").object();
            inner.list("values", &list.values, key_value);
            inner.end();
        }
        Some(AnyValueKind::BytesValue(bytes)) => o.key("bytesValue").string(&BASE64.encode(bytes)),
    }
    o.end();
}

fn metric(w: &mut Writer, m: &Metric) {
    let mut o = w.object();
    o.string("name", &m.name);
    o.string("description", &m.description);
    o.string("unit", &m.unit);
    o.list("metadata", &m.metadata, key_value);
    match &m.data {
        None => {}
        Some(metric::Data::Gauge(gauge)) => {
            let mut d = o.key("gauge").object();
            d.list("dataPoints", &gauge.data_points, number_point);
            d.end();
        }
        Some(metric::Data::Sum(sum)) => {
            let mut d = o.key("sum").object();
            d.list("dataPoints", &sum.data_points, number_point);
            d.int32("aggregationTemporality", sum.aggregation_temporality);
            d.bool("isMonotonic", sum.is_monotonic);
            d.end();
        }
        Some(metric::Data::Histogram(histogram)) => {
            let mut d = o.key("histogram").object();
            d.list("dataPoints", &histogram.data_points, histogram_point);
            d.int32("aggregationTemporality", histogram.aggregation_temporality);
            d.end();
        }
        Some(metric::Data::ExponentialHistogram(histogram)) => {
            let mut d = o.key("exponentialHistogram").object();
            d.list("dataPoints", &histogram.data_points, exponential_point);
            d.int32("aggregationTemporality", histogram.aggregation_temporality);
            d.end();
        }
        Some(metric::Data::Summary(summary)) => {
            let mut d = o.key("summary").object();
            d.list("dataPoints", &summary.data_points, summary_point);
            d.end();
        }
    }
    o.end();
}

fn number_point(w: &mut Writer, p: &NumberDataPoint) {
    let mut o = w.object();
    o.list("attributes", &p.attributes, key_value);
    o.uint64("startTimeUnixNano", p.start_time_unix_nano);
    o.uint64("timeUnixNano", p.time_unix_nano);
    match p.value {
        None => {}
        Some(number_data_point::Value::AsDouble(d)) => o.key("asDouble").double(d),
        Some(number_data_point::Value::AsInt(i)) => o.key("asInt").int64(i),
    }
    o.list("exemplars", &p.exemplars, exemplar);
    o.uint32("flags", p.flags);
    o.end();
}

fn histogram_point(w: &mut Writer, p: &HistogramDataPoint) {
    let mut o = w.object();
    o.list("attributes", &p.attributes, key_value);
    o.uint64("startTimeUnixNano", p.start_time_unix_nano);
    o.uint64("timeUnixNano", p.time_unix_nano);
    o.uint64("count", p.count);
    o.optional_double("sum", p.sum);
    o.list("bucketCounts", &p.bucket_counts, |w, n| w.int64(n));
    o.list("explicitBounds", &p.explicit_bounds, |w, x| w.double(*x));
    o.list("exemplars", &p.exemplars, exemplar);
    o.uint32("flags", p.flags);
    o.optional_double("min", p.min);
    o.optional_double("max", p.max);
    o.end();
}

fn exponential_point(w: &mut Writer, p: &ExponentialHistogramDataPoint) {
    let mut o = w.object();
    o.list("attributes", &p.attributes, key_value);
    o.uint64("startTimeUnixNano", p.start_time_unix_nano);
    o.uint64("timeUnixNano", p.time_unix_nano);
    o.uint64("count", p.count);
    o.optional_double("sum", p.sum);
    o.int32("scale", p.scale);
    o.uint64("zeroCount", p.zero_count);
    o.message("positive", p.positive.as_ref(), buckets);
    o.message("negative", p.negative.as_ref(), buckets);
    o.uint32("flags", p.flags);
    o.list("exemplars", &p.exemplars, exemplar);
    o.optional_double("min", p.min);
    o.optional_double("max", p.max);
    o.double("zeroThreshold", p.zero_threshold);
    o.end();
}

fn buckets(w: &mut Writer, b: &Buckets) {
    let mut o = w.object();
    o.int32("offset", b.offset);
    o.list("bucketCounts", &b.bucket_counts, |w, n| w.int64(n));
    o.end();
}

fn summary_point(w: &mut Writer, p: &SummaryDataPoint) {
    let mut o = w.object();
    o.list("attributes", &p.attributes, key_value);
    o.uint64("startTimeUnixNano", p.start_time_unix_nano);
    o.uint64("timeUnixNano", p.time_unix_nano);
    o.uint64("count", p.count);
    o.double("sum", p.sum);
    o.list("quantileValues", &p.quantile_values, quantile);
    o.uint32("flags", p.flags);
    o.end();
}

fn quantile(w: &mut Writer, q: &ValueAtQuantile) {
    let mut o = w.object();
    o.double("quantile", q.quantile);
    o.double("value", q.value);
    o.end();
}

fn exemplar(w: &mut Writer, e: &Exemplar) {
    let mut o = w.object();
    o.list("filteredAttributes", &e.filtered_attributes, key_value);
    o.uint64("timeUnixNano", e.time_unix_nano);
    match e.value {
        None => {}
        Some(exemplar::Value::AsDouble(d)) => o.key("asDouble").double(d),
        Some(exemplar::Value::AsInt(i)) => o.key("asInt").int64(i),
    }
    o.hex("spanId", &e.span_id);
    o.hex("traceId", &e.trace_id);
    o.end();
}
