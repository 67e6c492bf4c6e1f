//! The decoding machinery: serde seeds that read the proto3 JSON forms of each field kind
//! straight from the parser (no intermediate `serde_json::Value`), keeping the path to the
//! value being read so that an error can name it.
//!
//! The path is a stack pushed on entering a field or array element and popped on leaving it
//! successfully. An error returns early without popping, so after a failure the stack still
//! holds the path to the value that failed.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::de::{self, DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, Visitor};

use crate::otlp::collector::ExportMetricsServiceRequest;
use crate::otlp::metrics::AggregationTemporality;

/// One step on the way from the document root to a value.
#[derive(Debug, Clone)]
pub(crate) enum Segment {
    Field(&'static str),
    Index(usize),
    /// A field this decoder does not know (skipped, but it may still be malformed JSON).
    Unknown(String),
}

pub(crate) type Path = Vec<Segment>;

/// `resourceMetrics[0].scopeMetrics[1].metrics[3].sum`
pub(crate) fn render_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Field(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Segment::Unknown(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Segment::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Decodes one whole document (trailing whitespace allowed) as a request. On failure, also
/// gives the path to the value that failed.
pub(crate) fn decode_document(
    bytes: &[u8],
) -> Result<ExportMetricsServiceRequest, (serde_json::Error, Path)> {
    let mut path = Path::new();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = MsgVisitor::<ExportMetricsServiceRequest>::root(&mut path)
        .deserialize_from(&mut de)
        .and_then(|request| de.end().map(|()| request));
    result.map_err(|e| (e, path))
}

/// A kind of field value in proto3 JSON, decoded to `Out`.
///
/// Every error about a value is raised inside the visitor that reads it: serde_json then gives
/// it the position just after that value. Raised later, after the visitor returned, it would
/// get the position where the enclosing object or array ends.
pub(crate) trait Decode {
    type Out;
    /// Reads one value; `None` for JSON `null` (which means "not set"), or an error for
    /// `null` when `null` is not allowed (as an array element).
    fn decode<'de, D: Deserializer<'de>>(
        d: D,
        path: &mut Path,
        null: Null,
    ) -> Result<Option<Self::Out>, D::Error>;
}

/// What a `null` means where a value is read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Null {
    /// The field is not set.
    Unset,
    /// An error: array elements cannot be null.
    Forbidden,
}

const NULL_ELEMENT: &str = "null is not allowed as an array element";

struct Seed<'p, T> {
    path: &'p mut Path,
    null: Null,
    kind: PhantomData<T>,
}

impl<'p, T> Seed<'p, T> {
    fn new(path: &'p mut Path, null: Null) -> Self {
        Self { path, null, kind: PhantomData }
    }
}

impl<'de, T: Decode> DeserializeSeed<'de> for Seed<'_, T> {
    type Value = Option<T::Out>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        T::decode(d, self.path, self.null)
    }
}

/// Reads a value only to fail on it (a duplicate field, a second oneof member) so that the
/// error is positioned at that value. `null` passes when `null_passes`.
struct Reject {
    message: String,
    null_passes: bool,
}

impl<'de> DeserializeSeed<'de> for Reject {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Reject {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        if self.null_passes { Ok(()) } else { Err(E::custom(self.message)) }
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(self.message))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(self.message))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(self.message))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(self.message))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(self.message))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(A::Error::custom(self.message))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(A::Error::custom(self.message))
    }
}

// ---------------------------------------------------------------------------------------------
// Scalars

/// A scalar JSON token, read whatever the field expects, so that a wrong one can be shown.
pub(crate) enum Tok<'de> {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'de, str>),
}

impl fmt::Display for Tok<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Null => f.write_str("null"),
            Tok::Bool(b) => write!(f, "{b}"),
            Tok::U64(n) => write!(f, "{n}"),
            Tok::I64(n) => write!(f, "{n}"),
            Tok::F64(x) => write!(f, "{x}"),
            Tok::Str(s) => {
                // Long values are cut: the message is for a person, who has the file.
                const MAX: usize = 40;
                match s.char_indices().nth(MAX) {
                    Some((cut, _)) => write!(f, "{:?}…", s.get(..cut).unwrap_or_default()),
                    None => write!(f, "{s:?}"),
                }
            }
        }
    }
}

/// "expected {what}, got {tok}"
fn wrong<E: de::Error>(what: impl fmt::Display, got: impl fmt::Display) -> E {
    E::custom(format_args!("expected {what}, got {got}"))
}

/// Shows a visitor's `expecting` text.
struct Expecting<'a, V>(&'a V);

impl<'de, V: Visitor<'de>> fmt::Display for Expecting<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }
}

/// The visit methods for scalar JSON values, all errors: for visitors of objects and arrays.
macro_rules! reject_scalars {
    () => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Err(wrong(Expecting(&self), Tok::Bool(v)))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Err(wrong(Expecting(&self), Tok::U64(v)))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Err(wrong(Expecting(&self), Tok::I64(v)))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Err(wrong(Expecting(&self), Tok::F64(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Err(wrong(Expecting(&self), Tok::Str(Cow::Borrowed(v))))
        }
    };
}

struct ScalarVisitor<S> {
    null: Null,
    kind: PhantomData<S>,
}

impl<S: Scalar> ScalarVisitor<S> {
    fn convert<E: de::Error>(tok: Tok<'_>) -> Result<Option<S::Out>, E> {
        S::convert(tok).map_err(E::custom)
    }
}

impl<'de, S: Scalar> Visitor<'de> for ScalarVisitor<S> {
    type Value = Option<S::Out>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(S::EXPECTED)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        match self.null {
            Null::Unset => Ok(None),
            Null::Forbidden => Err(E::custom(NULL_ELEMENT)),
        }
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Self::convert(Tok::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Self::convert(Tok::U64(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Self::convert(Tok::I64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Self::convert(Tok::F64(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Self::convert(Tok::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Self::convert(Tok::Str(Cow::Borrowed(v)))
    }
    // Failing at the opening bracket points the error at the start of the unwanted value.
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(wrong(S::EXPECTED, "an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(wrong(S::EXPECTED, "an object"))
    }
}

/// A scalar kind: how a token becomes a value (`Ok(None)` for null).
pub(crate) trait Scalar {
    type Out;
    const EXPECTED: &'static str;
    fn convert(tok: Tok<'_>) -> Result<Option<Self::Out>, String>;
}

impl<S: Scalar> Decode for S {
    type Out = S::Out;
    fn decode<'de, D: Deserializer<'de>>(
        d: D,
        _path: &mut Path,
        null: Null,
    ) -> Result<Option<Self::Out>, D::Error> {
        d.deserialize_any(ScalarVisitor::<S> { null, kind: PhantomData })
    }
}

/// `string`
pub(crate) struct Str;
impl Scalar for Str {
    type Out = String;
    const EXPECTED: &'static str = "a string";
    fn convert(tok: Tok<'_>) -> Result<Option<String>, String> {
        match tok {
            Tok::Null => Ok(None),
            Tok::Str(s) => Ok(Some(s.into_owned())),
            other => Err(format!("expected {}, got {other}", Self::EXPECTED)),
        }
    }
}

/// `bool`: only `true` and `false`, as proto3 JSON says.
pub(crate) struct Bool;
impl Scalar for Bool {
    type Out = bool;
    const EXPECTED: &'static str = "true or false";
    fn convert(tok: Tok<'_>) -> Result<Option<bool>, String> {
        match tok {
            Tok::Null => Ok(None),
            Tok::Bool(b) => Ok(Some(b)),
            other => Err(format!("expected {}, got {other}", Self::EXPECTED)),
        }
    }
}

/// 2^53: above it, a number written with a fraction or exponent may not be the integer the
/// writer meant, because it went through a double.
const EXACT_IN_DOUBLE: f64 = 9_007_199_254_740_992.0;

/// Any integer form of proto3 JSON: a number (`1`, `1.0`, `1e3`) or a decimal string.
fn integer(tok: &Tok<'_>) -> Result<Option<i128>, String> {
    const EXPECTED: &str = "an integer";
    match tok {
        Tok::Null => Ok(None),
        Tok::U64(n) => Ok(Some(i128::from(*n))),
        Tok::I64(n) => Ok(Some(i128::from(*n))),
        Tok::F64(x) => {
            if x.fract() == 0.0 && x.abs() <= EXACT_IN_DOUBLE {
                // Exact: |x| <= 2^53 and integral.
                #[allow(clippy::cast_possible_truncation)]
                Ok(Some(*x as i128))
            } else if x.fract() == 0.0 {
                Err(format!(
                    "expected an integer, got {x} in floating-point notation, which cannot be \
                     exact above 2^53; write it as digits or as a string"
                ))
            } else {
                Err(format!("expected {EXPECTED}, got {x}"))
            }
        }
        Tok::Str(s) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("expected {EXPECTED}, got {tok}"));
            }
            s.parse::<i128>().map(Some).map_err(|_| format!("integer {tok} is out of range"))
        }
        Tok::Bool(_) => Err(format!("expected {EXPECTED}, got {tok}")),
    }
}

macro_rules! integer_kind {
    ($(#[$doc:meta])* $kind:ident, $ty:ty, $proto:literal) => {
        $(#[$doc])*
        pub(crate) struct $kind;
        impl Scalar for $kind {
            type Out = $ty;
            const EXPECTED: &'static str = "an integer";
            fn convert(tok: Tok<'_>) -> Result<Option<$ty>, String> {
                match integer(&tok)? {
                    None => Ok(None),
                    Some(n) => <$ty>::try_from(n).map(Some).map_err(|_| {
                        format!(
                            "integer {tok} is out of range for {} ({} to {})",
                            $proto,
                            <$ty>::MIN,
                            <$ty>::MAX
                        )
                    }),
                }
            }
        }
    };
}

integer_kind!(
    /// `uint32`
    U32, u32, "uint32"
);
integer_kind!(
    /// `int32`, `sint32`
    I32, i32, "int32"
);
integer_kind!(
    /// `uint64`, `fixed64`
    U64, u64, "uint64"
);
integer_kind!(
    /// `int64`, `sint64`, `sfixed64`
    I64, i64, "int64"
);

/// `double`: a number, a numeric string, or one of the names of the special values.
pub(crate) struct F64;
impl Scalar for F64 {
    type Out = f64;
    const EXPECTED: &'static str = r#"a number or "NaN", "Infinity", "-Infinity""#;
    fn convert(tok: Tok<'_>) -> Result<Option<f64>, String> {
        #[allow(clippy::cast_precision_loss)] // the nearest double, as for any JSON number
        match tok {
            Tok::Null => Ok(None),
            Tok::F64(x) => Ok(Some(x)),
            Tok::U64(n) => Ok(Some(n as f64)),
            Tok::I64(n) => Ok(Some(n as f64)),
            Tok::Str(ref s) => match special_double(s) {
                Some(x) => Ok(Some(x)),
                None if is_json_number(s.strip_prefix('+').unwrap_or(s)) => {
                    match s.parse::<f64>() {
                        Ok(x) if x.is_finite() => Ok(Some(x)),
                        _ => Err(format!("number {tok} is out of range for a double")),
                    }
                }
                None => Err(format!("expected {}, got {tok}", Self::EXPECTED)),
            },
            Tok::Bool(_) => Err(format!("expected {}, got {tok}", Self::EXPECTED)),
        }
    }
}

/// The proto3 JSON names (`NaN`, `Infinity`, `-Infinity`) and what Go writes and parses
/// (`+Inf`, `-Inf`, any case): the Collector writes infinities with Go's `%f`.
fn special_double(s: &str) -> Option<f64> {
    let (negative, name) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    if name.eq_ignore_ascii_case("inf") || name.eq_ignore_ascii_case("infinity") {
        Some(if negative { f64::NEG_INFINITY } else { f64::INFINITY })
    } else if name.eq_ignore_ascii_case("nan") {
        Some(f64::NAN)
    } else {
        None
    }
}

/// The JSON number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Base64 as proto3 JSON allows it: standard or URL-safe alphabet, with or without padding.
const BASE64_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);
const BASE64_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// `bytes` other than trace and span ids: base64.
pub(crate) struct Base64;
impl Scalar for Base64 {
    type Out = Vec<u8>;
    const EXPECTED: &'static str = "a base64 string";
    fn convert(tok: Tok<'_>) -> Result<Option<Vec<u8>>, String> {
        match tok {
            Tok::Null => Ok(None),
            Tok::Str(ref s) => {
                let engine =
                    if s.contains(['-', '_']) { &BASE64_URL_SAFE } else { &BASE64_STANDARD };
                engine
                    .decode(s.as_bytes())
                    .map(Some)
                    .map_err(|e| format!("expected {}, got {tok} ({e})", Self::EXPECTED))
            }
            other => Err(format!("expected {}, got {other}", Self::EXPECTED)),
        }
    }
}

/// `traceId` and `spanId`: hex, in either case (the OTLP exception to proto3 JSON).
pub(crate) struct Hex;
impl Scalar for Hex {
    type Out = Vec<u8>;
    const EXPECTED: &'static str = "a hex string";
    fn convert(tok: Tok<'_>) -> Result<Option<Vec<u8>>, String> {
        match tok {
            Tok::Null => Ok(None),
            Tok::Str(ref s) => match decode_hex(s) {
                Some(bytes) => Ok(Some(bytes)),
                None => {
                    // A writer following plain proto3 JSON would send base64 here: say so
                    // when the text is base64 of the size of a span or trace id.
                    let decoded = BASE64_STANDARD.decode(s.as_bytes()).map(|b| b.len());
                    let hint = if matches!(decoded, Ok(8 | 16)) {
                        " (OTLP/JSON writes trace and span ids in hex, not base64)"
                    } else {
                        ""
                    };
                    Err(format!("expected {}, got {tok}{hint}", Self::EXPECTED))
                }
            },
            other => Err(format!("expected {}, got {other}", Self::EXPECTED)),
        }
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes.chunks_exact(2).map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?)).collect()
}

/// `AggregationTemporality`: an integer (any value, since proto3 enums are open), or a name.
pub(crate) struct Temporality;
impl Scalar for Temporality {
    type Out = i32;
    const EXPECTED: &'static str = "an AggregationTemporality (0, 1, 2 or its name)";
    fn convert(tok: Tok<'_>) -> Result<Option<i32>, String> {
        if let Tok::Str(s) = &tok {
            if let Some(value) = AggregationTemporality::from_str_name(s) {
                return Ok(Some(value as i32));
            }
        }
        match integer(&tok) {
            Ok(None) => Ok(None),
            Ok(Some(n)) => i32::try_from(n)
                .map(Some)
                .map_err(|_| format!("enum value {tok} is out of range for int32")),
            Err(_) => Err(format!("expected {}, got {tok}", Self::EXPECTED)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Messages and repeated fields

/// A protobuf message decoded from a JSON object, one field at a time.
pub(crate) trait Message: Default {
    /// How the message is named in errors: "a NumberDataPoint object".
    const EXPECTED: &'static str;
    /// Decodes the value of the field named `key` (or skips it when unknown).
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        fields: &mut Fields<'_, '_, A>,
    ) -> Result<(), A::Error>;
}

/// A message-typed field.
pub(crate) struct Msg<M>(PhantomData<M>);

impl<M: Message> Decode for Msg<M> {
    type Out = M;
    fn decode<'de, D: Deserializer<'de>>(
        d: D,
        path: &mut Path,
        null: Null,
    ) -> Result<Option<M>, D::Error> {
        d.deserialize_any(MsgVisitor::<M> { path, null, kind: PhantomData })
    }
}

struct MsgVisitor<'p, M> {
    path: &'p mut Path,
    null: Null,
    kind: PhantomData<M>,
}

impl<'p, M: Message> MsgVisitor<'p, M> {
    fn root(path: &'p mut Path) -> Self {
        // The document root may not be null.
        Self { path, null: Null::Forbidden, kind: PhantomData }
    }

    fn deserialize_from<'de, D: Deserializer<'de>>(self, d: D) -> Result<M, D::Error> {
        Ok(d.deserialize_any(self)?.unwrap_or_default())
    }
}

impl<'de, M: Message> Visitor<'de> for MsgVisitor<'_, M> {
    type Value = Option<M>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(M::EXPECTED)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        match self.null {
            Null::Unset => Ok(None),
            Null::Forbidden if self.path.is_empty() => Err(wrong(M::EXPECTED, Tok::Null)),
            Null::Forbidden => Err(E::custom(NULL_ELEMENT)),
        }
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(wrong(M::EXPECTED, "an array"))
    }
    reject_scalars!();

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut message = M::default();
        let mut fields = Fields { map: &mut map, path: self.path, seen: 0 };
        while let Some(key) = fields.map.next_key_seed(KeySeed)? {
            message.field(&key, &mut fields)?;
        }
        Ok(Some(message))
    }
}

/// Object keys, borrowed from the input when they have no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// The fields of the object being decoded.
pub(crate) struct Fields<'a, 'p, A> {
    map: &'a mut A,
    path: &'p mut Path,
    /// Bit `i` is set once field number `i` (in the message's own numbering) has been read.
    seen: u32,
}

impl<'de, A: MapAccess<'de>> Fields<'_, '_, A> {
    /// Reads the value of field `name` (bit `bit`); `null` gives the default.
    pub(crate) fn value<T: Decode>(
        &mut self,
        name: &'static str,
        bit: u32,
    ) -> Result<T::Out, A::Error>
    where
        T::Out: Default,
    {
        Ok(self.optional::<T>(name, bit)?.unwrap_or_default())
    }

    /// Reads the value of field `name` (bit `bit`); `None` for `null`.
    pub(crate) fn optional<T: Decode>(
        &mut self,
        name: &'static str,
        bit: u32,
    ) -> Result<Option<T::Out>, A::Error> {
        self.path.push(Segment::Field(name));
        let mask = 1u32 << bit;
        if self.seen & mask != 0 {
            let message = format!("field `{name}` appears more than once");
            self.map.next_value_seed(Reject { message, null_passes: false })?;
        }
        self.seen |= mask;
        let value = self.map.next_value_seed(Seed::<T>::new(self.path, Null::Unset))?;
        self.path.pop();
        Ok(value)
    }

    /// Reads member `name` (bit `bit`) of a oneof whose members are `members`, into `slot`.
    pub(crate) fn oneof<T: Decode, V>(
        &mut self,
        slot: &mut Option<V>,
        name: &'static str,
        bit: u32,
        members: &'static [&'static str],
        wrap: fn(T::Out) -> V,
    ) -> Result<(), A::Error> {
        if slot.is_some() {
            // A second member: an error unless it is null (which leaves the first one set).
            self.path.push(Segment::Field(name));
            let mask = 1u32 << bit;
            let message = if self.seen & mask != 0 {
                format!("field `{name}` appears more than once")
            } else {
                format!("only one of `{}` may be set", members.join("`, `"))
            };
            self.seen |= mask;
            self.map.next_value_seed(Reject { message, null_passes: true })?;
            self.path.pop();
            return Ok(());
        }
        if let Some(value) = self.optional::<T>(name, bit)? {
            *slot = Some(wrap(value));
        }
        Ok(())
    }

    /// Skips the value of a field this decoder does not know, as OTLP/JSON requires.
    pub(crate) fn skip(&mut self, key: &str) -> Result<(), A::Error> {
        self.path.push(Segment::Unknown(key.to_owned()));
        self.map.next_value::<IgnoredAny>()?;
        self.path.pop();
        Ok(())
    }
}

/// A repeated field: a JSON array (or `null`, for empty).
pub(crate) struct List<T>(PhantomData<T>);

impl<T: Decode> Decode for List<T> {
    type Out = Vec<T::Out>;
    fn decode<'de, D: Deserializer<'de>>(
        d: D,
        path: &mut Path,
        null: Null,
    ) -> Result<Option<Vec<T::Out>>, D::Error> {
        d.deserialize_any(ListVisitor::<T> { path, null, kind: PhantomData })
    }
}

struct ListVisitor<'p, T> {
    path: &'p mut Path,
    null: Null,
    kind: PhantomData<T>,
}

impl<'de, T: Decode> Visitor<'de> for ListVisitor<'_, T> {
    type Value = Option<Vec<T::Out>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        match self.null {
            Null::Unset => Ok(None),
            Null::Forbidden => Err(E::custom(NULL_ELEMENT)),
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(wrong("an array", "an object"))
    }
    reject_scalars!();

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        loop {
            self.path.push(Segment::Index(out.len()));
            match seq.next_element_seed(Seed::<T>::new(self.path, Null::Forbidden))? {
                None => {
                    self.path.pop();
                    return Ok(Some(out));
                }
                // Null::Forbidden already failed on a null.
                Some(None) => {}
                Some(Some(value)) => out.push(value),
            }
            self.path.pop();
        }
    }
}
