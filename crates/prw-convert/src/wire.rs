//! Protobuf wire-format helpers, writing exactly what prost writes.

#[inline]
pub(crate) fn varint_len(v: u64) -> usize {
    // 1 byte per 7 bits, at least 1.
    ((64 - (v | 1).leading_zeros() as usize) * 9 + 64) / 64
}

#[inline]
pub(crate) fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Length of a length-delimited field with a one-byte key: key + length + body.
#[inline]
pub(crate) fn ld_len(body: usize) -> usize {
    1 + varint_len(body as u64) + body
}

#[inline]
pub(crate) fn put_ld(buf: &mut Vec<u8>, key: u8, body: usize) {
    buf.push(key);
    put_varint(buf, body as u64);
}

/// A proto3 string field: absent when empty.
#[inline]
pub(crate) fn str_field_len(s: &[u8]) -> usize {
    if s.is_empty() { 0 } else { ld_len(s.len()) }
}

#[inline]
pub(crate) fn put_str_field(buf: &mut Vec<u8>, key: u8, s: &[u8]) {
    if !s.is_empty() {
        put_ld(buf, key, s.len());
        buf.extend_from_slice(s);
    }
}

/// Body length of a `Label { name = 1, value = 2 }` message.
#[inline]
pub(crate) fn label_body_len(name: &[u8], value: &[u8]) -> usize {
    str_field_len(name) + str_field_len(value)
}

/// Writes one `labels` entry (field 1) of an RW 1.0 `TimeSeries` or `Exemplar`.
#[inline]
pub(crate) fn put_label(buf: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    put_ld(buf, 0x0a, label_body_len(name, value));
    put_str_field(buf, 0x0a, name);
    put_str_field(buf, 0x12, value);
}

/// Bytes a write may store past the end of the room it was given: fixed-width writes store a
/// whole 16-byte word or 64-byte chunk and then advance by the bytes that count (the next write
/// overwrites the rest).
pub(crate) const SPILL: usize = 64;

/// Room for a field key and a 64-bit varint.
pub(crate) const HEAD: usize = 11;

/// `v` as a varint in the low bytes of a little-endian word, and how many bytes it takes.
/// (Words are `u128`, not `[u8; 16]`: the compiler keeps an integer in registers and stores it
/// whole, where it would build an array byte by byte.)
#[inline]
pub(crate) fn varint_word(v: u64) -> (u128, usize) {
    if v < 0x80 {
        (u128::from(v), 1)
    } else if v < 0x4000 {
        (u128::from((v & 0x7f) | 0x80 | (v >> 7) << 8), 2)
    } else {
        long_varint_word(v)
    }
}

fn long_varint_word(mut v: u64) -> (u128, usize) {
    let mut w = 0u128;
    let mut i = 0;
    while v >= 0x80 {
        w |= u128::from((v as u8) | 0x80) << (8 * i);
        v >>= 7;
        i += 1;
    }
    (w | u128::from(v) << (8 * i), i + 1)
}

/// A field key and a varint as one word, and how many of its bytes count.
#[inline]
pub(crate) fn key_varint(key: u8, v: u64) -> (u128, usize) {
    let (w, n) = varint_word(v);
    (u128::from(key) | w << 8, n + 1)
}

/// An integer field (key and varint, absent when 0) for values that repeat, such as the
/// timestamps of the series of one collection: the last value's bytes are kept.
#[derive(Clone, Copy)]
pub(crate) struct IntField {
    key: u8,
    v: u64,
    w: u128,
    n: usize,
}

impl IntField {
    pub(crate) fn new(key: u8) -> Self {
        Self { key, v: 0, w: 0, n: 0 }
    }

    /// The field for `v` as a word and how many of its bytes count (0 for `v == 0`).
    #[inline]
    pub(crate) fn get(&mut self, v: i64) -> (u128, usize) {
        let v = v as u64;
        if v != self.v {
            self.v = v;
            (self.w, self.n) = if v == 0 { (0, 0) } else { key_varint(self.key, v) };
        }
        (self.w, self.n)
    }
}

/// A cursor in a buffer with room made for what is written (see [`append`]): fields are
/// stored as fixed-width words, with no capacity check or `memcpy` call per field. A write that
/// would not fit (only if the room asked for was wrong) is dropped, never a panic.
pub(crate) struct Out<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl Out<'_> {
    /// Stores the 16 bytes of `w`, of which the first `n` count.
    #[inline]
    pub(crate) fn word(&mut self, w: u128, n: usize) {
        if let Some(d) = self.buf.get_mut(self.at..).and_then(<[u8]>::first_chunk_mut::<16>) {
            *d = w.to_le_bytes();
        }
        self.at += n;
    }

    #[inline]
    pub(crate) fn byte(&mut self, b: u8) {
        if let Some(d) = self.buf.get_mut(self.at) {
            *d = b;
        }
        self.at += 1;
    }

    #[inline]
    pub(crate) fn varint(&mut self, v: u64) {
        let (w, n) = varint_word(v);
        self.word(w, n);
    }

    /// A field key and a varint: a length prefix, or an integer field that is present.
    #[inline]
    pub(crate) fn key_varint(&mut self, key: u8, v: u64) {
        let (w, n) = key_varint(key, v);
        self.word(w, n);
    }

    #[inline]
    pub(crate) fn bytes(&mut self, s: &[u8]) {
        if let Some(d) = self.buf.get_mut(self.at..self.at + s.len()) {
            d.copy_from_slice(s);
        }
        self.at += s.len();
    }

    /// Copies `src[a..a + n]`: as one fixed 64-byte chunk when it is that short and `src` has
    /// 64 bytes from `a` (label entries are short and sit in one buffer), else with `memcpy`.
    #[inline]
    pub(crate) fn copy(&mut self, src: &[u8], a: usize, n: usize) {
        if n <= 64 {
            let s = src.get(a..a + 64).and_then(|s| <&[u8; 64]>::try_from(s).ok());
            let d = self.buf.get_mut(self.at..self.at + 64);
            if let (Some(s), Some(d)) = (s, d) {
                d.copy_from_slice(s);
                self.at += n;
                return;
            }
        }
        self.bytes(src.get(a..a + n).unwrap_or_default());
    }

    /// A `double` field (absent when 0).
    #[inline]
    pub(crate) fn double(&mut self, key: u8, v: f64) {
        if v != 0.0 {
            self.word(u128::from(key) | u128::from(v.to_bits()) << 8, 9);
        }
    }

    /// An `int64`/`int32`/`uint64` field (absent when 0).
    #[inline]
    pub(crate) fn int(&mut self, key: u8, v: i64) {
        if v != 0 {
            self.key_varint(key, v as u64);
        }
    }

    /// A `string` field (absent when empty).
    #[inline]
    pub(crate) fn str_field(&mut self, key: u8, s: &[u8]) {
        if !s.is_empty() {
            self.key_varint(key, s.len() as u64);
            self.bytes(s);
        }
    }
}

/// Appends a message of at most `n` bytes to `out`: `f` writes it through an [`Out`] with room
/// for it (and [`SPILL`] past it), and `out` is then cut to what was written. Zeroing the room
/// first costs less than a capacity check per field, and the output is written once, in place.
#[inline]
pub(crate) fn append(out: &mut Vec<u8>, n: usize, f: impl FnOnce(&mut Out<'_>)) {
    let start = out.len();
    out.resize(start + n + SPILL, 0);
    let mut o = Out { buf: out, at: start };
    f(&mut o);
    let end = o.at;
    debug_assert!(end <= start + n, "wrote {} bytes in room for {n}", end - start);
    out.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::*;
    use prw_proto::prost::Message;

    #[test]
    fn varints_match_prost() {
        for v in [0u64, 1, 127, 128, 16383, 16384, 1 << 35, u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            let mut want = Vec::new();
            prw_proto::prost::encoding::encode_varint(v, &mut want);
            assert_eq!(b, want, "{v}");
            assert_eq!(varint_len(v), want.len(), "{v}");
            let (w, n) = varint_word(v);
            assert_eq!(&w.to_le_bytes()[..n], want.as_slice(), "{v}");
            let (w, n) = key_varint(0x12, v);
            assert_eq!(w.to_le_bytes()[0], 0x12);
            assert_eq!(&w.to_le_bytes()[1..n], want.as_slice(), "{v}");
            let mut f = IntField::new(0x10);
            for _ in 0..2 {
                let (w, n) = f.get(v as i64);
                let want_n = if v == 0 { 0 } else { 1 + want.len() };
                assert_eq!(n, want_n, "{v}");
                assert_eq!(&w.to_le_bytes()[1..n.max(1)], &want[..n.saturating_sub(1)]);
            }
        }
    }

    #[test]
    fn out_writes_what_it_is_given() {
        // Entries near the end of their buffer, and long ones, take the plain copy.
        let src: Vec<u8> = (0..200u8).collect();
        for (a, n) in [(0, 0), (0, 17), (3, 64), (150, 40), (190, 10), (0, 65), (10, 190)] {
            let mut out = vec![7u8];
            append(&mut out, 2 + n, |o| {
                o.byte(1);
                o.copy(&src, a, n);
                o.byte(2);
            });
            let mut want = vec![7u8, 1];
            want.extend_from_slice(&src[a..a + n]);
            want.push(2);
            assert_eq!(out, want, "{a} {n}");
        }
    }

    #[test]
    fn labels_match_prost() {
        for (name, value) in [("name", ""), ("", "v"), ("k", &*"v".repeat(300))] {
            let mut b = Vec::new();
            put_label(&mut b, name.as_bytes(), value.as_bytes());
            let ts = prw_proto::rw1::TimeSeries {
                labels: vec![prw_proto::rw1::Label { name: name.into(), value: value.into() }],
                ..Default::default()
            };
            assert_eq!(b, ts.encode_to_vec());
            assert_eq!(ld_len(label_body_len(name.as_bytes(), value.as_bytes())), b.len());
        }
    }
}
