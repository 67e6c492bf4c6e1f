//! API attributes → OTLP attributes.

use prw_api::{Array, KeyValue, Value};
use prw_proto::otlp::common::{AnyValue, ArrayValue, KeyValue as PKeyValue, any_value};

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
