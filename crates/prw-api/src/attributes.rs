//! Attributes: [`KeyValue`] pairs of a [`Key`] and a [`Value`].
//!
//! Strings can be `&'static str` (free to build), owned (`String`) or shared (`Arc<str>`, a
//! reference-count increment to clone). Equal text is equal whatever its storage, so
//! `KeyValue::new("route", "/a")` and `KeyValue::new("route", String::from("/a"))` name the
//! same series.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Owned(Box<str>),
    Shared(Arc<str>),
}

/// A string held as `&'static str`, owned, or shared (`Arc<str>`).
#[derive(Clone)]
pub struct StringValue(Repr);

impl StringValue {
    /// A string value from a `&'static str`; builds at compile time.
    pub const fn from_static(s: &'static str) -> Self {
        StringValue(Repr::Static(s))
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Owned(s) => s,
            Repr::Shared(s) => s,
        }
    }
}

impl PartialEq for StringValue {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}
impl Eq for StringValue {}
impl PartialOrd for StringValue {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for StringValue {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}
impl Hash for StringValue {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}
impl fmt::Debug for StringValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
impl fmt::Display for StringValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl AsRef<str> for StringValue {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}
impl From<&'static str> for StringValue {
    fn from(s: &'static str) -> Self {
        StringValue(Repr::Static(s))
    }
}
impl From<String> for StringValue {
    fn from(s: String) -> Self {
        StringValue(Repr::Owned(s.into_boxed_str()))
    }
}
impl From<Arc<str>> for StringValue {
    fn from(s: Arc<str>) -> Self {
        StringValue(Repr::Shared(s))
    }
}
impl From<Cow<'static, str>> for StringValue {
    fn from(s: Cow<'static, str>) -> Self {
        match s {
            Cow::Borrowed(s) => s.into(),
            Cow::Owned(s) => s.into(),
        }
    }
}

/// An attribute key.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(StringValue);

impl Key {
    /// A key from any string.
    pub fn new(value: impl Into<StringValue>) -> Self {
        Key(value.into())
    }

    /// A key from a `&'static str`; usable in `const` and `static` items.
    pub const fn from_static_str(value: &'static str) -> Self {
        Key(StringValue::from_static(value))
    }

    /// The key's text.
    #[inline]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Pairs this key with a value.
    pub fn value(self, value: impl Into<Value>) -> KeyValue {
        KeyValue { key: self, value: value.into() }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl From<&'static str> for Key {
    fn from(s: &'static str) -> Self {
        Key::from_static_str(s)
    }
}
impl From<String> for Key {
    fn from(s: String) -> Self {
        Key(s.into())
    }
}
impl From<Arc<str>> for Key {
    fn from(s: Arc<str>) -> Self {
        Key(s.into())
    }
}
impl From<Cow<'static, str>> for Key {
    fn from(s: Cow<'static, str>) -> Self {
        Key(s.into())
    }
}
impl From<StringValue> for Key {
    fn from(s: StringValue) -> Self {
        Key(s)
    }
}

/// A homogeneous array attribute value.
#[derive(Clone, Debug)]
pub enum Array {
    /// Booleans.
    Bool(Vec<bool>),
    /// Signed integers.
    I64(Vec<i64>),
    /// Floats (compared bit for bit).
    F64(Vec<f64>),
    /// Strings.
    String(Vec<StringValue>),
}

impl PartialEq for Array {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Array::Bool(a), Array::Bool(b)) => a == b,
            (Array::I64(a), Array::I64(b)) => a == b,
            (Array::F64(a), Array::F64(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            }
            (Array::String(a), Array::String(b)) => a == b,
            _ => false,
        }
    }
}
impl Eq for Array {}
impl Hash for Array {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Array::Bool(v) => {
                state.write_u8(0);
                v.hash(state)
            }
            Array::I64(v) => {
                state.write_u8(1);
                v.hash(state)
            }
            Array::F64(v) => {
                state.write_u8(2);
                state.write_usize(v.len());
                for x in v {
                    state.write_u64(x.to_bits());
                }
            }
            Array::String(v) => {
                state.write_u8(3);
                v.hash(state)
            }
        }
    }
}

impl fmt::Display for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
            f.write_str("[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{item}")?;
            }
            f.write_str("]")
        }
        match self {
            Array::Bool(v) => list(f, v),
            Array::I64(v) => list(f, v),
            Array::F64(v) => list(f, v),
            Array::String(v) => {
                let quoted: Vec<String> = v.iter().map(|s| format!("{:?}", s.as_str())).collect();
                f.write_str("[")?;
                f.write_str(&quoted.join(","))?;
                f.write_str("]")
            }
        }
    }
}

macro_rules! array_from {
    ($t:ty, $variant:ident) => {
        impl From<Vec<$t>> for Array {
            fn from(v: Vec<$t>) -> Self {
                Array::$variant(v)
            }
        }
        impl From<Vec<$t>> for Value {
            fn from(v: Vec<$t>) -> Self {
                Value::Array(Array::$variant(v))
            }
        }
    };
}
array_from!(bool, Bool);
array_from!(i64, I64);
array_from!(f64, F64);
array_from!(StringValue, String);

/// An attribute value.
///
/// Floats compare bit for bit (so a `NaN` attribute names one series, not a new one each time).
#[derive(Clone, Debug)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// A float.
    F64(f64),
    /// A string.
    String(StringValue),
    /// An array of one type.
    Array(Array),
}

impl PartialEq for Value {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::String(a), Value::String(b)) => a == b,
            (Value::I64(a), Value::I64(b)) => a == b,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::F64(a), Value::F64(b)) => a.to_bits() == b.to_bits(),
            (Value::Array(a), Value::Array(b)) => a == b,
            _ => false,
        }
    }
}
impl Eq for Value {}
impl Hash for Value {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Value::String(s) => s.hash(state),
            Value::I64(v) => {
                state.write_u8(1);
                state.write_i64(*v)
            }
            Value::Bool(v) => state.write_u8(2 + u8::from(*v)),
            Value::F64(v) => {
                state.write_u8(4);
                state.write_u64(v.to_bits())
            }
            Value::Array(a) => {
                state.write_u8(5);
                a.hash(state)
            }
        }
    }
}

impl Value {
    /// The value as a string, the way exporters print it (`true`, `42`, `1.5`, `[1,2]`).
    pub fn as_str(&self) -> Cow<'_, str> {
        match self {
            Value::String(s) => Cow::Borrowed(s.as_str()),
            other => Cow::Owned(other.to_string()),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::String(v) => f.write_str(v.as_str()),
            Value::Array(v) => write!(f, "{v}"),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from($v: $t) -> Self {
                $e
            }
        })*
    };
}
value_from! {
    bool => |v| Value::Bool(v),
    i64 => |v| Value::I64(v),
    i32 => |v| Value::I64(i64::from(v)),
    u32 => |v| Value::I64(i64::from(v)),
    u16 => |v| Value::I64(i64::from(v)),
    u8 => |v| Value::I64(i64::from(v)),
    f64 => |v| Value::F64(v),
    f32 => |v| Value::F64(f64::from(v)),
    &'static str => |v| Value::String(v.into()),
    String => |v| Value::String(v.into()),
    Arc<str> => |v| Value::String(v.into()),
    Cow<'static, str> => |v| Value::String(v.into()),
    StringValue => |v| Value::String(v),
    Array => |v| Value::Array(v),
}

/// One attribute: a key and a value.
///
/// ```
/// use prw_api::KeyValue;
/// use std::sync::Arc;
///
/// let route: Arc<str> = Arc::from("/users");
/// let attrs = [
///     KeyValue::new("method", "GET"),             // &'static str: no allocation
///     KeyValue::new("route", route.clone()),      // shared: a reference count
///     KeyValue::new("status", 200),               // integer
///     KeyValue::new("cached", false),             // boolean
/// ];
/// assert_eq!(attrs[1].value.as_str(), "/users");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyValue {
    /// The key.
    pub key: Key,
    /// The value.
    pub value: Value,
}

impl KeyValue {
    /// A key-value pair.
    pub fn new(key: impl Into<Key>, value: impl Into<Value>) -> Self {
        KeyValue { key: key.into(), value: value.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_does_not_change_equality() {
        let a = KeyValue::new("k", "v");
        let b = KeyValue::new(String::from("k"), String::from("v"));
        let c = KeyValue::new(Arc::<str>::from("k"), Arc::<str>::from("v"));
        assert_eq!(a, b);
        assert_eq!(b, c);
        let h = |kv: &KeyValue| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            kv.hash(&mut h);
            h.finish()
        };
        assert_eq!(h(&a), h(&b));
        assert_eq!(h(&b), h(&c));
    }

    #[test]
    fn types_are_distinct() {
        assert_ne!(Value::I64(1), Value::F64(1.0));
        assert_ne!(Value::from("1"), Value::I64(1));
        assert_eq!(Value::F64(f64::NAN), Value::F64(f64::NAN));
        assert_ne!(Value::F64(0.0), Value::F64(-0.0));
    }

    #[test]
    fn display() {
        assert_eq!(Value::from(vec![1i64, 2]).to_string(), "[1,2]");
        assert_eq!(Value::from(true).as_str(), "true");
        assert_eq!(Value::from(1.5).as_str(), "1.5");
        let s: Vec<StringValue> = vec!["a".into(), "b".into()];
        assert_eq!(Value::from(s).to_string(), r#"["a","b"]"#);
    }
}
