//! The on-disk framing of one queue record.
//!
//! ```text
//! record  = magic "PRWR" (4) | payload length u32 LE (4) | crc32 u32 LE (4) | payload
//! crc32   = CRC-32 (IEEE) of the 4 length bytes followed by the payload
//! payload = kind u8, then
//!   kind 1 (request):  seq u64 | created unix ms u64 | protocol u8 | samples u64 |
//!                      histograms u64 | exemplars u64 | compressed body (the rest)
//!   kind 2 (consumed): seq u64 — every request with a sequence number up to it is done
//! ```
//!
//! The CRC covers the length so that a flipped length byte is caught instead of sending the
//! reader off to a wrong offset, and the magic lets a reader find the next record after a
//! damaged one.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::{ProtocolVersion, RequestMeta};

/// Marks the start of every record.
pub(crate) const MAGIC: [u8; 4] = *b"PRWR";
/// Magic, length and CRC.
pub(crate) const HEADER_LEN: usize = 12;
/// Larger payload lengths are taken as damage, not as a record: one request body is a few
/// MB at most (remote-write receivers refuse more than 32 MiB decoded).
pub(crate) const MAX_PAYLOAD: u32 = 128 << 20;

const KIND_REQUEST: u8 = 1;
const KIND_CONSUMED: u8 = 2;
/// kind, seq, created, protocol, samples, histograms, exemplars.
pub(crate) const REQUEST_META_LEN: usize = 1 + 8 + 8 + 1 + 8 + 8 + 8;
const CONSUMED_LEN: usize = 1 + 8;

/// A decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record {
    /// One encoded request.
    Request {
        /// Its sequence number.
        seq: u64,
        /// Its metadata.
        meta: RequestMeta,
        /// The compressed body.
        body: Bytes,
    },
    /// Every request up to `seq` was delivered, rejected or dropped.
    Consumed {
        /// The watermark.
        seq: u64,
    },
}

/// The on-disk length of a request record with a body of `body_len` bytes.
pub(crate) fn request_record_len(body_len: usize) -> u64 {
    (HEADER_LEN + REQUEST_META_LEN + body_len) as u64
}

/// The on-disk length of a consumed record.
pub(crate) const CONSUMED_RECORD_LEN: u64 = (HEADER_LEN + CONSUMED_LEN) as u64;

fn unix_ms(t: SystemTime) -> u64 {
    // A clock before 1970 is stored as 0: such a request simply looks old.
    t.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The header and metadata of a request record; the body follows it on disk unchanged, so
/// that a large body is never copied into a second buffer.
pub(crate) fn encode_request_head(seq: u64, meta: &RequestMeta, body: &[u8]) -> Vec<u8> {
    let mut meta_bytes = [0u8; REQUEST_META_LEN];
    meta_bytes[0] = KIND_REQUEST;
    meta_bytes[1..9].copy_from_slice(&seq.to_le_bytes());
    meta_bytes[9..17].copy_from_slice(&unix_ms(meta.created).to_le_bytes());
    meta_bytes[17] = meta.protocol.to_byte();
    meta_bytes[18..26].copy_from_slice(&meta.samples.to_le_bytes());
    meta_bytes[26..34].copy_from_slice(&meta.histograms.to_le_bytes());
    meta_bytes[34..42].copy_from_slice(&meta.exemplars.to_le_bytes());
    // Callers bound the body far below 4 GiB (`MAX_PAYLOAD`).
    let len = u32::try_from(REQUEST_META_LEN + body.len()).unwrap_or(u32::MAX);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len.to_le_bytes());
    crc.update(&meta_bytes);
    crc.update(body);
    let mut out = Vec::with_capacity(HEADER_LEN + REQUEST_META_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&meta_bytes);
    out
}

/// A whole consumed record.
pub(crate) fn encode_consumed(seq: u64) -> Vec<u8> {
    let mut payload = [0u8; CONSUMED_LEN];
    payload[0] = KIND_CONSUMED;
    payload[1..].copy_from_slice(&seq.to_le_bytes());
    let len = CONSUMED_LEN as u32;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len.to_le_bytes());
    crc.update(&payload);
    let mut out = Vec::with_capacity(HEADER_LEN + CONSUMED_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// The payload length a header announces, or `None` when it cannot start a record.
pub(crate) fn parse_header(header: &[u8; HEADER_LEN]) -> Option<(u32, u32)> {
    if header[..4] != MAGIC {
        return None;
    }
    let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let crc = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    (len as usize >= CONSUMED_LEN.min(REQUEST_META_LEN) && len <= MAX_PAYLOAD).then_some((len, crc))
}

/// Checks the CRC and decodes the payload; `None` for anything damaged or unknown.
pub(crate) fn decode_payload(len: u32, crc: u32, payload: Vec<u8>) -> Option<Record> {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&len.to_le_bytes());
    hasher.update(&payload);
    if hasher.finalize() != crc {
        return None;
    }
    let u64_at = |at: usize| -> Option<u64> {
        let bytes: [u8; 8] = payload.get(at..at + 8)?.try_into().ok()?;
        Some(u64::from_le_bytes(bytes))
    };
    match *payload.first()? {
        KIND_REQUEST if payload.len() >= REQUEST_META_LEN => {
            let seq = u64_at(1)?;
            let created = UNIX_EPOCH + Duration::from_millis(u64_at(9)?);
            let protocol = ProtocolVersion::from_byte(payload[17])?;
            let meta = RequestMeta {
                protocol,
                samples: u64_at(18)?,
                histograms: u64_at(26)?,
                exemplars: u64_at(34)?,
                created,
            };
            let mut payload = payload;
            let body = payload.split_off(REQUEST_META_LEN);
            Some(Record::Request { seq, meta, body: Bytes::from(body) })
        }
        KIND_CONSUMED if payload.len() == CONSUMED_LEN => {
            Some(Record::Consumed { seq: u64_at(1)? })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let header: [u8; HEADER_LEN] = bytes[..HEADER_LEN].try_into().expect("header");
        let (len, crc) = parse_header(&header).expect("valid header");
        (len, crc, bytes[HEADER_LEN..].to_vec())
    }

    #[test]
    fn request_round_trips() {
        let meta = RequestMeta {
            protocol: ProtocolVersion::V2,
            samples: 7,
            histograms: 3,
            exemplars: 1,
            created: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
        };
        let body = b"compressed".to_vec();
        let mut bytes = encode_request_head(42, &meta, &body);
        bytes.extend_from_slice(&body);
        assert_eq!(bytes.len() as u64, request_record_len(body.len()));
        let (len, crc, payload) = split(&bytes);
        assert_eq!(
            decode_payload(len, crc, payload),
            Some(Record::Request { seq: 42, meta, body: Bytes::from(body) })
        );
    }

    #[test]
    fn consumed_round_trips() {
        let bytes = encode_consumed(9);
        assert_eq!(bytes.len() as u64, CONSUMED_RECORD_LEN);
        let (len, crc, payload) = split(&bytes);
        assert_eq!(decode_payload(len, crc, payload), Some(Record::Consumed { seq: 9 }));
    }

    #[test]
    fn every_flipped_bit_is_caught() {
        let meta = RequestMeta::new(ProtocolVersion::V1, 1, 0, 0);
        let mut bytes = encode_request_head(1, &meta, b"abc");
        bytes.extend_from_slice(b"abc");
        for i in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[i / 8] ^= 1 << (i % 8);
            let header: [u8; HEADER_LEN] = damaged[..HEADER_LEN].try_into().expect("header");
            let decoded = parse_header(&header).and_then(|(len, crc)| {
                let payload = damaged.get(HEADER_LEN..HEADER_LEN + len as usize)?.to_vec();
                decode_payload(len, crc, payload)
            });
            assert_eq!(decoded, None, "bit {i}");
        }
    }
}
