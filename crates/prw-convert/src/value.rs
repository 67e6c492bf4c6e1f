//! OTLP `AnyValue` to label-value strings, as the Collector's `pdata` `AsString` does.

use std::fmt::Write as _;

use prw_proto::otlp::common::{AnyValue, KeyValue, any_value::Value};

/// Appends the string form of an attribute value to `out`: strings as they are, integers in
/// decimal, booleans as `true`/`false`, doubles in the shortest round-trip form (exponent only
/// below 1e-6 or from 1e21, as ECMAScript prints numbers), bytes as base64, arrays and maps as
/// JSON (map keys sorted). An unset value gives the empty string.
pub(crate) fn write_any_value(v: &AnyValue, out: &mut String) {
    match &v.value {
        None => {}
        Some(Value::StringValue(s)) => out.push_str(s),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(d)) => write_double(*d, out),
        Some(Value::BytesValue(b)) => write_base64(b, out),
        Some(Value::ArrayValue(a)) => write_json_array(&a.values, out, 0),
        Some(Value::KvlistValue(m)) => write_json_map(&m.values, out, 0),
    }
}

/// The string form of an attribute value (see [`write_any_value`]).
pub(crate) fn any_value_string(v: &AnyValue) -> String {
    let mut s = String::new();
    write_any_value(v, &mut s);
    s
}

/// ECMAScript-style number formatting, as `pdata` does for doubles.
pub(crate) fn write_double(d: f64, out: &mut String) {
    if d.is_nan() {
        out.push_str("NaN");
    } else if d.is_infinite() {
        out.push_str(if d > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let abs = d.abs();
        if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
            let start = out.len();
            let _ = write!(out, "{d:e}");
            // Rust prints 1e21 where ECMAScript prints 1e+21.
            if let Some(e) = out[start..].find('e') {
                let at = start + e + 1;
                if out.as_bytes().get(at) != Some(&b'-') {
                    out.insert(at, '+');
                }
            }
        } else {
            let _ = write!(out, "{d}");
        }
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn write_base64(bytes: &[u8], out: &mut String) {
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(char::from(B64[(n >> 18) as usize & 63]));
        out.push(char::from(B64[(n >> 12) as usize & 63]));
        out.push(if chunk.len() > 1 { char::from(B64[(n >> 6) as usize & 63]) } else { '=' });
        out.push(if chunk.len() > 2 { char::from(B64[n as usize & 63]) } else { '=' });
    }
}

/// Nesting deeper than this is cut off (as JSON `null`), so hostile input cannot exhaust the
/// stack.
const MAX_DEPTH: usize = 64;

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            // Go's encoding/json escapes these for HTML safety; match its bytes.
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_json_value(v: &AnyValue, out: &mut String, depth: usize) {
    if depth >= MAX_DEPTH {
        out.push_str("null");
        return;
    }
    match &v.value {
        None => out.push_str("null"),
        Some(Value::StringValue(s)) => write_json_string(s, out),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(d)) => {
            if d.is_finite() {
                write_double(*d, out);
            } else {
                // JSON has no NaN or infinities; write them as strings rather than fail.
                out.push('"');
                write_double(*d, out);
                out.push('"');
            }
        }
        Some(Value::BytesValue(b)) => {
            out.push('"');
            write_base64(b, out);
            out.push('"');
        }
        Some(Value::ArrayValue(a)) => write_json_array(&a.values, out, depth + 1),
        Some(Value::KvlistValue(m)) => write_json_map(&m.values, out, depth + 1),
    }
}

fn write_json_array(values: &[AnyValue], out: &mut String, depth: usize) {
    out.push('[');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_value(v, out, depth);
    }
    out.push(']');
}

fn write_json_map(values: &[KeyValue], out: &mut String, depth: usize) {
    // A Go map: keys sorted, the last of equal keys wins.
    let mut entries: Vec<(usize, &KeyValue)> = values.iter().enumerate().collect();
    entries.sort_by(|a, b| a.1.key.cmp(&b.1.key).then(b.0.cmp(&a.0)));
    entries.dedup_by(|later, earlier| later.1.key == earlier.1.key);
    out.push('{');
    for (i, (_, kv)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(&kv.key, out);
        out.push(':');
        match &kv.value {
            Some(v) => write_json_value(v, out, depth),
            None => out.push_str("null"),
        }
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use prw_proto::otlp::common::{ArrayValue, KeyValueList};

    fn s(v: Value) -> String {
        any_value_string(&AnyValue { value: Some(v) })
    }

    #[test]
    fn scalars() {
        assert_eq!(s(Value::StringValue("a\"b".into())), "a\"b");
        assert_eq!(s(Value::BoolValue(true)), "true");
        assert_eq!(s(Value::BoolValue(false)), "false");
        assert_eq!(s(Value::IntValue(-42)), "-42");
        assert_eq!(any_value_string(&AnyValue { value: None }), "");
        let doubles = [
            (1.0, "1"),
            (0.5, "0.5"),
            (-0.0, "-0"),
            (0.0, "0"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (-2.5e-9, "-2.5e-9"),
            (123.456, "123.456"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (d, want) in doubles {
            assert_eq!(s(Value::DoubleValue(d)), want, "{d}");
        }
    }

    #[test]
    fn bytes_are_base64() {
        for (input, want) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"\xff\xfe", "//4="),
        ] {
            assert_eq!(s(Value::BytesValue(input.to_vec())), want);
        }
    }

    #[test]
    fn arrays_and_maps_are_json() {
        let arr = Value::ArrayValue(ArrayValue {
            values: vec![
                AnyValue { value: Some(Value::StringValue("a<b>\n".into())) },
                AnyValue { value: Some(Value::IntValue(1)) },
                AnyValue { value: Some(Value::DoubleValue(1.5)) },
                AnyValue { value: Some(Value::BoolValue(true)) },
                AnyValue { value: None },
                AnyValue { value: Some(Value::DoubleValue(f64::NAN)) },
            ],
        });
        assert_eq!(s(arr), r#"["a\u003cb\u003e\n",1,1.5,true,null,"NaN"]"#);
        let kv = |k: &str, v: i64| KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(Value::IntValue(v)) }),
        };
        let map =
            Value::KvlistValue(KeyValueList { values: vec![kv("b", 1), kv("a", 2), kv("b", 3)] });
        assert_eq!(s(map), r#"{"a":2,"b":3}"#);
    }

    #[test]
    fn deep_nesting_is_cut_off() {
        let mut v = AnyValue { value: Some(Value::IntValue(1)) };
        for _ in 0..10_000 {
            v = AnyValue { value: Some(Value::ArrayValue(ArrayValue { values: vec![v] })) };
        }
        let out = any_value_string(&v);
        assert!(out.contains("null"));
        // Dropping such a deep value recurses too; leak it to keep the test about conversion.
        std::mem::forget(v);
    }
}
