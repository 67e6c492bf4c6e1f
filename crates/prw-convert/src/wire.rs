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
