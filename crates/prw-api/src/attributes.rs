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

/// The text and its hash. The 32-bit hash sits in the padding after the enum's tag, so a
/// string value takes 24 bytes and a [`KeyValue`] 56.
#[derive(Clone)]
enum Repr {
    Static(u32, &'static str),
    Owned(u32, Box<str>),
    Shared(u32, Arc<str>),
}

/// A string held as `&'static str`, owned, or shared (`Arc<str>`), with its hash computed
/// once when it is made (at compile time for `const` keys), so that an SDK can find an
/// attribute set's series without hashing its text again on every measurement.
#[derive(Clone)]
pub struct StringValue {
    repr: Repr,
}

const H1: u64 = 0x1319_8a2e_0370_7344;
const H2: u64 = 0xa409_3822_299f_31d0;
const HSEED: u64 = 0x082e_fa98_ec4e_6c89;

const fn fold(a: u64, b: u64) -> u64 {
    let full = (a as u128).wrapping_mul(b as u128);
    (full as u64) ^ ((full >> 64) as u64)
}

const fn word8(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes([
        b[at],
        b[at + 1],
        b[at + 2],
        b[at + 3],
        b[at + 4],
        b[at + 5],
        b[at + 6],
        b[at + 7],
    ])
}

const fn word4(b: &[u8], at: usize) -> u64 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as u64
}

/// The folded-multiply hash of `s` (the construction of foldhash and wyhash): at most two
/// overlapping word reads and one 128-bit multiply for strings up to 16 bytes.
pub const fn hash_str(s: &str) -> u64 {
    let b = s.as_bytes();
    let len = b.len();
    let (lo, hi) = if len <= 16 {
        if len >= 8 {
            (word8(b, 0), word8(b, len - 8))
        } else if len >= 4 {
            (word4(b, 0), word4(b, len - 4))
        } else if len > 0 {
            ((b[0] as u64) | (b[len / 2] as u64) << 8 | (b[len - 1] as u64) << 16, 0)
        } else {
            (0, 0)
        }
    } else {
        let mut acc = HSEED;
        let mut at = 0;
        while len - at > 16 {
            acc = fold(word8(b, at) ^ H1 ^ acc, word8(b, at + 8) ^ H2);
            at += 16;
        }
        (word8(b, len - 16) ^ acc, word8(b, len - 8))
    };
    fold(lo ^ H1 ^ HSEED, hi ^ H2 ^ len as u64)
}

impl StringValue {
    /// A string value from a `&'static str`; usable in `const` items, where the hash is
    /// computed at compile time.
    pub const fn from_static(s: &'static str) -> Self {
        StringValue { repr: Repr::Static(hash_str(s) as u32, s) }
    }

    fn owned(s: String) -> Self {
        let hash = hash_str(&s) as u32;
        StringValue { repr: Repr::Owned(hash, s.into_boxed_str()) }
    }

    fn shared(s: Arc<str>) -> Self {
        let hash = hash_str(&s) as u32;
        StringValue { repr: Repr::Shared(hash, s) }
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.repr {
            Repr::Static(_, s) => s,
            Repr::Owned(_, s) => s,
            Repr::Shared(_, s) => s,
        }
    }

    /// The low 32 bits of [`hash_str`] of the text, computed when the value was made.
    #[inline]
    pub fn hash_code(&self) -> u64 {
        match &self.repr {
            Repr::Static(h, _) | Repr::Owned(h, _) | Repr::Shared(h, _) => u64::from(*h),
        }
    }
}

impl StringValue {
    /// Whether both hold the very same text in memory: the same `&'static str`, or clones of
    /// one shared `Arc<str>` (an owned string is only ever the same as itself). Equal values
    /// need not be; values this returns true for are equal, and telling so costs three
    /// comparisons instead of reading the text.
    #[inline(always)]
    pub fn ptr_eq(&self, other: &Self) -> bool {
        // Every arm compares the same two words, so this compiles to one tag comparison and
        // two word comparisons. (Two distinct owned strings never share an address.)
        match (&self.repr, &other.repr) {
            (Repr::Static(_, a), Repr::Static(_, b)) => std::ptr::eq(*a, *b),
            (Repr::Owned(_, a), Repr::Owned(_, b)) => std::ptr::eq(&**a, &**b),
            (Repr::Shared(_, a), Repr::Shared(_, b)) => {
                std::ptr::eq(Arc::as_ptr(a), Arc::as_ptr(b))
            }
            _ => false,
        }
    }
}

impl PartialEq for StringValue {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        if self.hash_code() != other.hash_code() {
            return false;
        }
        let (a, b) = (self.as_str(), other.as_str());
        // Attribute strings are often the same `'static` or shared text: skip the memcmp.
        (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
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
        StringValue::from_static(s)
    }
}
impl From<String> for StringValue {
    fn from(s: String) -> Self {
        StringValue::owned(s)
    }
}
impl From<Arc<str>> for StringValue {
    fn from(s: Arc<str>) -> Self {
        StringValue::shared(s)
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

    /// The low 32 bits of [`hash_str`] of the key, computed when the key was made.
    #[inline]
    pub fn hash_code(&self) -> u64 {
        self.0.hash_code()
    }

    /// Whether both keys hold the very same text in memory; see [`StringValue::ptr_eq`].
    #[inline(always)]
    pub fn ptr_eq(&self, other: &Key) -> bool {
        self.0.ptr_eq(&other.0)
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
    fn hash_codes_follow_text() {
        let a = StringValue::from("route");
        let b = StringValue::from(String::from("route"));
        let c = StringValue::from(Arc::<str>::from("route"));
        assert_eq!(a.hash_code(), b.hash_code());
        assert_eq!(b.hash_code(), c.hash_code());
        assert_eq!(a.hash_code(), hash_str("route") & 0xffff_ffff);
        const K: Key = Key::from_static_str("a-much-longer-key-than-sixteen-bytes");
        assert_eq!(K.hash_code(), hash_str("a-much-longer-key-than-sixteen-bytes") & 0xffff_ffff);
        assert_eq!(std::mem::size_of::<StringValue>(), 24);
        assert_eq!(std::mem::size_of::<KeyValue>(), 56);
        let mut seen = std::collections::HashSet::new();
        for s in [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "abc",
            "abcd",
            "abcde",
            "abcdefgh",
            "abcdefghi",
            "x".repeat(17).as_str(),
            "x".repeat(33).as_str(),
        ] {
            assert!(seen.insert(hash_str(s)), "{s}");
        }
    }

    #[test]
    fn ptr_eq_means_same_storage() {
        let shared: Arc<str> = Arc::from("v");
        let a = StringValue::from(shared.clone());
        assert!(a.ptr_eq(&StringValue::from(shared)));
        assert!(!a.ptr_eq(&StringValue::from(Arc::<str>::from("v"))));
        let text: &'static str = "v";
        let s = StringValue::from(text);
        assert!(s.ptr_eq(&StringValue::from(text)));
        assert!(!s.ptr_eq(&StringValue::from("w")));
        assert!(!s.ptr_eq(&a));
        let owned = StringValue::from(String::from("v"));
        assert!(!owned.ptr_eq(&owned.clone()));
        let k: &'static str = "k";
        assert!(Key::from(k).ptr_eq(&Key::from_static_str(k)));
        assert!(!Key::from("k").ptr_eq(&Key::from(String::from("k"))));
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
