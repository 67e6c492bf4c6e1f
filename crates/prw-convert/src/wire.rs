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

/// Reads a varint at `*pos`, advancing it; `None` at the end of `buf` or on overflow.
#[inline]
pub(crate) fn get_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if shift > 63 {
            return None;
        }
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
        shift += 7;
    }
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

/// Reads one `labels` entry written by [`put_label`] at `*pos`; `None` if malformed.
#[inline]
pub(crate) fn get_label<'b>(buf: &'b [u8], pos: &mut usize) -> Option<(&'b [u8], &'b [u8])> {
    if *buf.get(*pos)? != 0x0a {
        return None;
    }
    *pos += 1;
    let len = get_varint(buf, pos)? as usize;
    let end = pos.checked_add(len).filter(|&e| e <= buf.len())?;
    let (mut name, mut value): (&[u8], &[u8]) = (&[], &[]);
    while *pos < end {
        let key = buf[*pos];
        *pos += 1;
        let l = get_varint(buf, pos)? as usize;
        let s = buf.get(*pos..pos.checked_add(l)?)?;
        *pos += l;
        match key {
            0x0a => name = s,
            0x12 => value = s,
            _ => return None,
        }
    }
    Some((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        for (v, n) in
            [(0u64, 1), (1, 1), (127, 1), (128, 2), (16383, 2), (16384, 3), (u64::MAX, 10)]
        {
            assert_eq!(varint_len(v), n, "{v}");
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(b.len(), n);
            let mut pos = 0;
            assert_eq!(get_varint(&b, &mut pos), Some(v));
            assert_eq!(pos, n);
        }
        assert_eq!(get_varint(&[0x80], &mut 0), None);
        assert_eq!(get_varint(&[0xff; 11], &mut 0), None);
    }

    #[test]
    fn labels_round_trip() {
        let mut b = Vec::new();
        put_label(&mut b, b"name", b"");
        put_label(&mut b, b"k", &[b'v'; 300]);
        let mut pos = 0;
        assert_eq!(get_label(&b, &mut pos), Some((&b"name"[..], &b""[..])));
        assert_eq!(get_label(&b, &mut pos), Some((&b"k"[..], &[b'v'; 300][..])));
        assert_eq!(pos, b.len());
        assert_eq!(get_label(&b, &mut pos), None);
        assert_eq!(get_label(&b[..5], &mut 0), None);
    }
}
