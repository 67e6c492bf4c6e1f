//! Remote Write bodies: building, encoding (protobuf + snappy block format), decoding and
//! pushing them, so tests can write known data and inspect what an exporter sent.

use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message as _;
use prw_proto::{rw1, rw2};

use crate::http::{HttpError, HttpResponse, post};
use crate::prom_api::Labels;

/// `Content-Type` of a Remote Write 1.0 request.
pub const CONTENT_TYPE_RW1: &str = "application/x-protobuf";
/// `Content-Type` of a Remote Write 2.0 request.
pub const CONTENT_TYPE_RW2: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
/// `X-Prometheus-Remote-Write-Version` for 1.0.
pub const VERSION_RW1: &str = "0.1.0";
/// `X-Prometheus-Remote-Write-Version` for 2.0.
pub const VERSION_RW2: &str = "2.0.0";
/// The RW 2.0 response header counting written samples.
pub const SAMPLES_WRITTEN: &str = "X-Prometheus-Remote-Write-Samples-Written";
/// The RW 2.0 response header counting written histograms.
pub const HISTOGRAMS_WRITTEN: &str = "X-Prometheus-Remote-Write-Histograms-Written";
/// The RW 2.0 response header counting written exemplars.
pub const EXEMPLARS_WRITTEN: &str = "X-Prometheus-Remote-Write-Exemplars-Written";

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not snappy block format.
    #[error("body is not snappy (block format): {0}")]
    Snappy(#[from] snap::Error),
    /// Not the expected protobuf message.
    #[error("body is not the expected protobuf message: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A RW 1.0 series named `name` with `labels` (sorted, as the spec requires) and float samples
/// `(timestamp_ms, value)`.
pub fn rw1_series(name: &str, labels: &[(&str, &str)], samples: &[(i64, f64)]) -> rw1::TimeSeries {
    let mut all: Vec<rw1::Label> = std::iter::once(("__name__", name))
        .chain(labels.iter().copied())
        .map(|(name, value)| rw1::Label { name: name.to_owned(), value: value.to_owned() })
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    rw1::TimeSeries {
        labels: all,
        samples: samples
            .iter()
            .map(|&(timestamp, value)| rw1::Sample { value, timestamp })
            .collect(),
        ..Default::default()
    }
}

/// The labels of a RW 1.0 series as a map.
pub fn rw1_labels(series: &rw1::TimeSeries) -> Labels {
    series.labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect()
}

/// The labels of a RW 2.0 series, resolved through the request's symbol table; `None` when a
/// reference is out of range or the refs are not name/value pairs.
pub fn rw2_labels(request: &rw2::Request, series: &rw2::TimeSeries) -> Option<Labels> {
    if series.labels_refs.len() % 2 != 0 {
        return None;
    }
    let symbol = |r: u32| request.symbols.get(usize::try_from(r).ok()?).cloned();
    series.labels_refs.chunks(2).map(|pair| Some((symbol(pair[0])?, symbol(pair[1])?))).collect()
}

/// What a receiver writes for a RW 2.0 request: (samples, histograms, exemplars), the values of
/// the `...-Written` headers.
pub fn rw2_counts(request: &rw2::Request) -> (usize, usize, usize) {
    request.timeseries.iter().fold((0, 0, 0), |(s, h, e), ts| {
        (s + ts.samples.len(), h + ts.histograms.len(), e + ts.exemplars.len())
    })
}

/// Protobuf-encodes and snappy-compresses a RW 1.0 request.
pub fn encode_rw1(request: &rw1::WriteRequest) -> Vec<u8> {
    compress(&request.encode_to_vec())
}

/// Protobuf-encodes and snappy-compresses a RW 2.0 request.
pub fn encode_rw2(request: &rw2::Request) -> Vec<u8> {
    compress(&request.encode_to_vec())
}

fn compress(raw: &[u8]) -> Vec<u8> {
    // The encoder only fails for inputs over ~4 GiB, far beyond any test body.
    snap::raw::Encoder::new().compress_vec(raw).unwrap_or_default()
}

/// Decodes a snappy-compressed RW 1.0 body.
///
/// # Errors
///
/// When the body is not snappy block format or not a `prometheus.WriteRequest`.
pub fn decode_rw1(body: &[u8]) -> Result<rw1::WriteRequest, DecodeError> {
    let raw = snap::raw::Decoder::new().decompress_vec(body)?;
    Ok(rw1::WriteRequest::decode(raw.as_slice())?)
}

/// Decodes a snappy-compressed RW 2.0 body.
///
/// # Errors
///
/// When the body is not snappy block format or not an `io.prometheus.write.v2.Request`.
pub fn decode_rw2(body: &[u8]) -> Result<rw2::Request, DecodeError> {
    let raw = snap::raw::Decoder::new().decompress_vec(body)?;
    Ok(rw2::Request::decode(raw.as_slice())?)
}

/// POSTs a RW 1.0 request to `write_url` with the spec's headers. Any status is returned as is.
///
/// # Errors
///
/// When the exchange fails (see [`HttpError`]).
pub fn push_rw1(write_url: &str, request: &rw1::WriteRequest) -> Result<HttpResponse, HttpError> {
    post(write_url, &rw_headers(CONTENT_TYPE_RW1, VERSION_RW1), encode_rw1(request))
}

/// POSTs a RW 2.0 request to `write_url` with the spec's headers. Any status is returned as is.
///
/// # Errors
///
/// When the exchange fails (see [`HttpError`]).
pub fn push_rw2(write_url: &str, request: &rw2::Request) -> Result<HttpResponse, HttpError> {
    post(write_url, &rw_headers(CONTENT_TYPE_RW2, VERSION_RW2), encode_rw2(request))
}

fn rw_headers(
    content_type: &'static str,
    version: &'static str,
) -> [(&'static str, &'static str); 4] {
    [
        ("Content-Type", content_type),
        ("Content-Encoding", "snappy"),
        ("X-Prometheus-Remote-Write-Version", version),
        ("User-Agent", "prw-integration"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rw1_round_trip_with_sorted_labels() {
        let series = rw1_series("up", &[("job", "a"), ("instance", "b")], &[(5, 1.0)]);
        let names: Vec<_> = series.labels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["__name__", "instance", "job"]);
        let request = rw1::WriteRequest { timeseries: vec![series], metadata: vec![] };
        let body = encode_rw1(&request);
        assert_eq!(decode_rw1(&body).unwrap(), request);
        assert_eq!(rw1_labels(&request.timeseries[0])["job"], "a");
        assert!(matches!(decode_rw1(b"not snappy"), Err(DecodeError::Snappy(_))));
        let not_proto = snap::raw::Encoder::new().compress_vec(&[0xff, 0xff, 0xff]).unwrap();
        assert!(matches!(decode_rw1(&not_proto), Err(DecodeError::Protobuf(_))));
    }

    #[test]
    fn rw2_symbols_and_counts() {
        let request = rw2::Request {
            symbols: vec!["".into(), "__name__".into(), "up".into(), "job".into(), "a".into()],
            timeseries: vec![rw2::TimeSeries {
                labels_refs: vec![1, 2, 3, 4],
                samples: vec![rw2::Sample { value: 1.0, timestamp: 1, start_timestamp: 0 }; 2],
                ..Default::default()
            }],
        };
        let decoded = decode_rw2(&encode_rw2(&request)).unwrap();
        assert_eq!(decoded, request);
        let labels = rw2_labels(&decoded, &decoded.timeseries[0]).unwrap();
        assert_eq!(
            labels,
            Labels::from([("__name__".into(), "up".into()), ("job".into(), "a".into())])
        );
        assert_eq!(rw2_counts(&decoded), (2, 0, 0));
        let broken = rw2::TimeSeries { labels_refs: vec![1, 99], ..Default::default() };
        assert_eq!(rw2_labels(&decoded, &broken), None);
    }

    #[test]
    fn now_is_plausible() {
        assert!(now_ms() > 1_600_000_000_000);
    }
}
