//! API attributes → OTLP attributes, and writing OTLP values over the ones a previous
//! collection left, so that a reused collection keeps its strings' and vectors' memory.
//!
//! Every `write_*` function leaves its target exactly equal to what the matching
//! constructor would build, whatever the target held before (another variant, more or fewer
//! elements, other text): collection must never depend on what an exporter did to the
//! collection it handed back.

use prw_api::{Array, KeyValue, StringValue, Value};
use prw_proto::otlp::common::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue as PKeyValue, any_value,
};
use prw_proto::otlp::metrics::{
    ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint, SummaryDataPoint,
    metric::Data,
};
use prw_proto::otlp::resource::Resource;

pub(crate) fn any_value(value: &Value) -> AnyValue {
    let v = match value {
        Value::Bool(b) => any_value::Value::BoolValue(*b),
        Value::I64(i) => any_value::Value::IntValue(*i),
        Value::F64(f) => any_value::Value::DoubleValue(*f),
        Value::String(s) => any_value::Value::StringValue(s.as_str().to_owned()),
        Value::Array(a) => {
            let values = match a {
                Array::Bool(v) => v.iter().map(|b| wrap(any_value::Value::BoolValue(*b))).collect(),
                Array::I64(v) => v.iter().map(|i| wrap(any_value::Value::IntValue(*i))).collect(),
                Array::F64(v) => {
                    v.iter().map(|f| wrap(any_value::Value::DoubleValue(*f))).collect()
                }
                Array::String(v) => v
                    .iter()
                    .map(|s| wrap(any_value::Value::StringValue(s.as_str().to_owned())))
                    .collect(),
            };
            any_value::Value::ArrayValue(ArrayValue { values })
        }
    };
    wrap(v)
}

fn wrap(v: any_value::Value) -> AnyValue {
    AnyValue { value: Some(v) }
}

pub(crate) fn key_value(kv: &KeyValue) -> PKeyValue {
    PKeyValue { key: kv.key.as_str().to_owned(), value: Some(any_value(&kv.value)) }
}

pub(crate) fn attributes(attrs: &[KeyValue]) -> Vec<PKeyValue> {
    attrs.iter().map(key_value).collect()
}

/// Makes `out` equal `s`. Compares first: the text is almost always unchanged since the
/// last collection, and reading it leaves its cache line clean.
#[inline]
pub(crate) fn write_str(s: &str, out: &mut String) {
    if !same(out.as_bytes(), s.as_bytes()) {
        out.clear();
        out.push_str(s);
    }
}

/// `a == b`, comparing short texts (attribute keys, mostly) inline instead of calling
/// `memcmp`, whose call costs more than the comparison.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 16 {
        return a == b;
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// Makes `out` hold one element per `src` element: the first ones overwritten in place by
/// `write`, missing ones built by `new`, extra ones dropped.
#[inline]
pub(crate) fn write_vec<S, D>(
    src: &[S],
    out: &mut Vec<D>,
    mut write: impl FnMut(&S, &mut D),
    new: impl FnMut(&S) -> D,
) {
    out.truncate(src.len());
    let (reuse, missing) = src.split_at(out.len());
    for (s, d) in reuse.iter().zip(out.iter_mut()) {
        write(s, d);
    }
    out.extend(missing.iter().map(new));
}

/// Makes `out` equal `attributes(attrs)`.
#[inline(always)]
pub(crate) fn write_attributes(attrs: &[KeyValue], out: &mut Vec<PKeyValue>) {
    if attrs.len() == out.len() {
        // The usual case: the same series as last time.
        for (kv, p) in attrs.iter().zip(out.iter_mut()) {
            write_key_value(kv, p);
        }
    } else {
        write_vec(attrs, out, write_key_value, key_value);
    }
}

/// Makes `out` equal `key_value(kv)`.
#[inline(always)]
pub(crate) fn write_key_value(kv: &KeyValue, out: &mut PKeyValue) {
    write_str(kv.key.as_str(), &mut out.key);
    match &mut out.value {
        Some(v) => write_any_value(&kv.value, v),
        none => *none = Some(any_value(&kv.value)),
    }
}

/// Makes `out` equal `any_value(value)`, in place when the variant is already right.
#[inline(always)]
pub(crate) fn write_any_value(value: &Value, out: &mut AnyValue) {
    use any_value::Value as V;
    match (value, &mut out.value) {
        (Value::I64(i), Some(V::IntValue(o))) => *o = *i,
        (Value::String(s), Some(V::StringValue(o))) => write_str(s.as_str(), o),
        (Value::Bool(b), Some(V::BoolValue(o))) => *o = *b,
        (Value::F64(f), Some(V::DoubleValue(o))) => *o = *f,
        (Value::Array(a), Some(V::ArrayValue(o))) => write_array(a, &mut o.values),
        (other, slot) => *slot = any_value(other).value,
    }
}

fn write_array(a: &Array, out: &mut Vec<AnyValue>) {
    use any_value::Value as V;
    fn put(out: &mut AnyValue, v: V) {
        out.value = Some(v);
    }
    match a {
        Array::Bool(v) => {
            write_vec(v, out, |b, o| put(o, V::BoolValue(*b)), |b| wrap(V::BoolValue(*b)))
        }
        Array::I64(v) => {
            write_vec(v, out, |i, o| put(o, V::IntValue(*i)), |i| wrap(V::IntValue(*i)))
        }
        Array::F64(v) => {
            write_vec(v, out, |f, o| put(o, V::DoubleValue(*f)), |f| wrap(V::DoubleValue(*f)))
        }
        Array::String(v) => write_vec(
            v,
            out,
            |s: &StringValue, o| match &mut o.value {
                Some(V::StringValue(text)) => write_str(s.as_str(), text),
                slot => *slot = Some(V::StringValue(s.as_str().to_owned())),
            },
            |s| wrap(V::StringValue(s.as_str().to_owned())),
        ),
    }
}

/// Makes `out` equal `src` (a pipeline's own copy of its scope), keeping `out`'s memory.
pub(crate) fn write_scope(src: &InstrumentationScope, out: &mut InstrumentationScope) {
    write_str(&src.name, &mut out.name);
    write_str(&src.version, &mut out.version);
    write_vec(&src.attributes, &mut out.attributes, write_proto_key_value, Clone::clone);
    out.dropped_attributes_count = src.dropped_attributes_count;
}

/// Makes `out` equal `src` (a pipeline's own copy of its resource), keeping `out`'s memory.
pub(crate) fn write_resource(src: &Resource, out: &mut Resource) {
    write_vec(&src.attributes, &mut out.attributes, write_proto_key_value, Clone::clone);
    out.dropped_attributes_count = src.dropped_attributes_count;
}

fn write_proto_key_value(src: &PKeyValue, out: &mut PKeyValue) {
    write_str(&src.key, &mut out.key);
    if out.value != src.value {
        out.value.clone_from(&src.value);
    }
}

/// An OTLP point type: how to take the points a previous collection left in a metric's data,
/// so that they can be overwritten.
pub(crate) trait OtlpPoint: Default + Send + 'static {
    /// The points of `data` if it holds this kind of point (moved out, `data` keeps an empty
    /// vector), else an empty vector.
    fn take_points(data: &mut Option<Data>) -> Vec<Self>;
}

impl OtlpPoint for NumberDataPoint {
    fn take_points(data: &mut Option<Data>) -> Vec<Self> {
        match data {
            Some(Data::Sum(s)) => std::mem::take(&mut s.data_points),
            Some(Data::Gauge(g)) => std::mem::take(&mut g.data_points),
            _ => Vec::new(),
        }
    }
}

impl OtlpPoint for HistogramDataPoint {
    fn take_points(data: &mut Option<Data>) -> Vec<Self> {
        match data {
            Some(Data::Histogram(h)) => std::mem::take(&mut h.data_points),
            _ => Vec::new(),
        }
    }
}

impl OtlpPoint for ExponentialHistogramDataPoint {
    fn take_points(data: &mut Option<Data>) -> Vec<Self> {
        match data {
            Some(Data::ExponentialHistogram(h)) => std::mem::take(&mut h.data_points),
            _ => Vec::new(),
        }
    }
}

impl OtlpPoint for SummaryDataPoint {
    fn take_points(data: &mut Option<Data>) -> Vec<Self> {
        match data {
            Some(Data::Summary(s)) => std::mem::take(&mut s.data_points),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Vec<Value> {
        vec![
            Value::Bool(true),
            Value::I64(-3),
            Value::F64(2.5),
            Value::String("text".into()),
            Value::String("".into()),
            Value::Array(Array::Bool(vec![true, false])),
            Value::Array(Array::I64(vec![1, 2, 3])),
            Value::Array(Array::F64(vec![0.5])),
            Value::Array(Array::String(vec!["a".into(), "bc".into()])),
            Value::Array(Array::String(vec![])),
        ]
    }

    #[test]
    fn writing_any_value_over_any_other_equals_a_fresh_one() {
        for from in values() {
            for to in values() {
                let mut out = any_value(&from);
                write_any_value(&to, &mut out);
                assert_eq!(out, any_value(&to), "{from:?} -> {to:?}");
            }
            let mut empty = AnyValue { value: None };
            write_any_value(&from, &mut empty);
            assert_eq!(empty, any_value(&from));
        }
    }

    #[test]
    fn writing_attributes_over_longer_and_shorter_lists() {
        let sets: Vec<Vec<KeyValue>> = vec![
            vec![],
            vec![KeyValue::new("a", 1)],
            vec![KeyValue::new("b", "x"), KeyValue::new("a", true)],
            vec![KeyValue::new("a", 1), KeyValue::new("b", 2.0), KeyValue::new("c", "z")],
        ];
        for from in &sets {
            for to in &sets {
                let mut out = attributes(from);
                write_attributes(to, &mut out);
                assert_eq!(out, attributes(to));
            }
        }
    }
}
