//! Content negotiation and body decoding: headers → protocol version, snappy → protobuf →
//! [`Series`] with labels resolved.

use std::collections::HashMap;
use std::io::Read;

use http::{HeaderMap, Method, StatusCode, header};
use prw_proto::prost::Message;
use prw_proto::rw1::Label;
use prw_proto::rw2::metadata::MetricType;
use prw_proto::{rw1, rw2};

use super::problem::{Problem, ProblemKind};
use super::request::{Exemplar, MetricMetadata, RemoteWriteVersion, Series, WireMessage};

/// The first bytes of a snappy *framed* stream (stream identifier chunk).
pub(crate) const FRAMED_SNAPPY_MAGIC: &[u8] = b"\xff\x06\x00\x00sNaPpY";

/// The header carrying the protocol version.
pub(crate) const VERSION_HEADER: &str = "x-prometheus-remote-write-version";

const MEDIA_TYPE: &str = "application/x-protobuf";
const PROTO_V1: &str = "prometheus.WriteRequest";
const PROTO_V2: &str = "io.prometheus.write.v2.Request";

/// A request the receiver refuses outright, with the status to answer and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) problem: Problem,
}

impl Refusal {
    fn new(status: StatusCode, problem: Problem) -> Self {
        Refusal { status, problem }
    }
}

/// Decides the protocol from the method and headers, noting what the headers get wrong.
///
/// Refuses (405/415) what no Remote Write receiver would accept; everything merely missing or
/// miswritten is added to `problems` and the request is decoded anyway, as Prometheus does.
pub(crate) fn negotiate(
    method: &Method,
    headers: &HeaderMap,
    problems: &mut Vec<Problem>,
) -> Result<RemoteWriteVersion, Refusal> {
    if method != Method::POST {
        return Err(Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            Problem::error(
                ProblemKind::Method,
                format!("method {method} is not allowed: Remote Write requests are POSTs"),
            ),
        ));
    }
    let version = content_type(headers, problems)?;
    content_encoding(headers, problems)?;
    version_header(version, headers, problems);
    match headers.get(header::USER_AGENT).map(|v| v.as_bytes()) {
        None | Some(b"") => problems.push(Problem::error(
            ProblemKind::UserAgent,
            "missing User-Agent: senders must identify themselves as <name>/<version>",
        )),
        Some(_) => {}
    }
    Ok(version)
}

fn content_type(
    headers: &HeaderMap,
    problems: &mut Vec<Problem>,
) -> Result<RemoteWriteVersion, Refusal> {
    let Some(raw) = headers.get(header::CONTENT_TYPE) else {
        problems.push(Problem::error(
            ProblemKind::ContentType,
            "missing Content-Type: expected application/x-protobuf (decoding as RW 1.0)",
        ));
        return Ok(RemoteWriteVersion::V1);
    };
    let unsupported = |what: String| {
        Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Problem::error(
                ProblemKind::ContentType,
                format!(
                    "{what}: this receiver accepts application/x-protobuf with \
                     proto={PROTO_V1} (RW 1.0) or proto={PROTO_V2} (RW 2.0)"
                ),
            ),
        )
    };
    let Ok(text) = raw.to_str() else {
        return Err(unsupported("Content-Type is not readable text".to_owned()));
    };
    let mut parts = text.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case(MEDIA_TYPE) {
        return Err(unsupported(format!("unsupported Content-Type {text:?}")));
    }
    let mut proto = None;
    for param in parts {
        let Some((key, value)) = param.split_once('=') else { continue };
        if key.trim().eq_ignore_ascii_case("proto") {
            proto = Some(value.trim().trim_matches('"'));
        }
    }
    let version = match proto {
        None | Some(PROTO_V1) => RemoteWriteVersion::V1,
        Some(PROTO_V2) => RemoteWriteVersion::V2,
        Some(other) => return Err(unsupported(format!("unsupported proto={other:?}"))),
    };
    let canonical = [
        MEDIA_TYPE.to_owned(),
        format!("{MEDIA_TYPE};proto={PROTO_V1}"),
        format!("{MEDIA_TYPE};proto={PROTO_V2}"),
    ];
    if !canonical.iter().any(|c| c == text) {
        problems.push(Problem::warning(
            ProblemKind::ContentType,
            format!(
                "Content-Type {text:?} is not one of the three values the spec lists \
                 (e.g. {:?}); strict receivers may refuse it",
                canonical[if version == RemoteWriteVersion::V1 { 0 } else { 2 }]
            ),
        ));
    }
    Ok(version)
}

fn content_encoding(headers: &HeaderMap, problems: &mut Vec<Problem>) -> Result<(), Refusal> {
    match headers.get(header::CONTENT_ENCODING) {
        None => {
            problems.push(Problem::error(
                ProblemKind::ContentEncoding,
                "missing Content-Encoding: snappy (decoding as snappy anyway)",
            ));
            Ok(())
        }
        Some(value) if value.as_bytes().trim_ascii().eq_ignore_ascii_case(b"snappy") => Ok(()),
        Some(value) => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Problem::error(
                ProblemKind::ContentEncoding,
                format!(
                    "unsupported Content-Encoding {:?}: Remote Write bodies are snappy \
                     block-compressed (Content-Encoding: snappy)",
                    String::from_utf8_lossy(value.as_bytes())
                ),
            ),
        )),
    }
}

fn version_header(version: RemoteWriteVersion, headers: &HeaderMap, problems: &mut Vec<Problem>) {
    let value = headers.get(VERSION_HEADER).map(|v| String::from_utf8_lossy(v.as_bytes()));
    match (version, value.as_deref()) {
        (RemoteWriteVersion::V1, None) => problems.push(Problem::error(
            ProblemKind::VersionHeader,
            "missing X-Prometheus-Remote-Write-Version: RW 1.0 senders must send 0.1.0",
        )),
        (RemoteWriteVersion::V1, Some("0.1.0")) => {}
        (RemoteWriteVersion::V1, Some(other)) => problems.push(Problem::error(
            ProblemKind::VersionHeader,
            format!(
                "X-Prometheus-Remote-Write-Version is {other:?} but the Content-Type announces \
                 RW 1.0, which must be sent with 0.1.0"
            ),
        )),
        (RemoteWriteVersion::V2, None) => problems.push(Problem::error(
            ProblemKind::VersionHeader,
            "missing X-Prometheus-Remote-Write-Version: RW 2.0 senders should send 2.0.0",
        )),
        (RemoteWriteVersion::V2, Some(v)) if v.starts_with("2.0") => {}
        (RemoteWriteVersion::V2, Some(other)) => problems.push(Problem::warning(
            ProblemKind::VersionHeader,
            format!(
                "X-Prometheus-Remote-Write-Version is {other:?} but the Content-Type announces \
                 RW 2.0, which should be sent with 2.0.0"
            ),
        )),
    }
}

/// Snappy-decodes and protobuf-decodes a body. Returns the message and the decoded length.
///
/// A framed-snappy body is decoded too (so that its content can be shown), with a problem
/// added; the caller must still refuse it, since no Remote Write receiver accepts it.
pub(crate) fn decode_body(
    version: RemoteWriteVersion,
    body: &[u8],
    max_decoded: usize,
    problems: &mut Vec<Problem>,
) -> Result<(WireMessage, usize), Refusal> {
    let undecodable = |message: String| {
        Refusal::new(StatusCode::BAD_REQUEST, Problem::error(ProblemKind::Undecodable, message))
    };
    let decoded = if body.starts_with(FRAMED_SNAPPY_MAGIC) {
        problems.push(Problem::error(
            ProblemKind::FramedSnappy,
            "the body uses the snappy framed format; Remote Write requires the block format \
             (snap::raw::Encoder, not snap::write::FrameEncoder)",
        ));
        let mut out = Vec::new();
        let limit = u64::try_from(max_decoded).unwrap_or(u64::MAX).saturating_add(1);
        snap::read::FrameDecoder::new(body)
            .take(limit)
            .read_to_end(&mut out)
            .map_err(|e| undecodable(format!("framed snappy body does not decode: {e}")))?;
        if out.len() > max_decoded {
            return Err(too_large(max_decoded));
        }
        out
    } else {
        let len = snap::raw::decompress_len(body)
            .map_err(|e| undecodable(format!("body is not snappy block-compressed: {e}")))?;
        if len > max_decoded {
            return Err(too_large(max_decoded));
        }
        snap::raw::Decoder::new()
            .decompress_vec(body)
            .map_err(|e| undecodable(format!("body is not valid snappy: {e}")))?
    };
    let decoded_len = decoded.len();
    let message = match version {
        RemoteWriteVersion::V1 => {
            let request = rw1::WriteRequest::decode(decoded.as_slice()).map_err(|e| {
                undecodable(format!("body is not a valid prometheus.WriteRequest: {e}"))
            })?;
            if request.timeseries.is_empty()
                && request.metadata.is_empty()
                && decoded_len > 0
                && let Ok(other) = rw2::Request::decode(decoded.as_slice())
                && (!other.symbols.is_empty() || !other.timeseries.is_empty())
            {
                problems.push(Problem::error(
                    ProblemKind::WrongMessage,
                    "the body is an io.prometheus.write.v2.Request but the Content-Type \
                             announces RW 1.0; a 1.0 receiver sees an empty request",
                ));
            }
            WireMessage::V1(request)
        }
        RemoteWriteVersion::V2 => {
            let request = rw2::Request::decode(decoded.as_slice()).map_err(|e| {
                undecodable(format!("body is not a valid io.prometheus.write.v2.Request: {e}"))
            })?;
            if request.symbols.is_empty()
                && request.timeseries.is_empty()
                && decoded_len > 0
                && let Ok(other) = rw1::WriteRequest::decode(decoded.as_slice())
                && (!other.timeseries.is_empty() || !other.metadata.is_empty())
            {
                problems.push(Problem::error(
                    ProblemKind::WrongMessage,
                    "the body is a prometheus.WriteRequest (RW 1.0) but the Content-Type \
                             announces RW 2.0; a 2.0 receiver sees an empty request",
                ));
            }
            WireMessage::V2(request)
        }
    };
    Ok((message, decoded_len))
}

fn too_large(max: usize) -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        Problem::error(
            ProblemKind::BodyTooLarge,
            format!("the decoded body would be larger than {max} bytes"),
        ),
    )
}

/// Turns a decoded message into series with resolved labels (and RW 1.0 metadata), adding the
/// symbol-table problems of RW 2.0.
pub(crate) fn resolve(
    message: &WireMessage,
    problems: &mut Vec<Problem>,
) -> (Vec<Series>, Vec<MetricMetadata>) {
    match message {
        WireMessage::V1(request) => resolve_v1(request, problems),
        WireMessage::V2(request) => (resolve_v2(request, problems), Vec::new()),
    }
}

fn resolve_v1(
    request: &rw1::WriteRequest,
    problems: &mut Vec<Problem>,
) -> (Vec<Series>, Vec<MetricMetadata>) {
    let series = request
        .timeseries
        .iter()
        .map(|ts| Series {
            labels: ts.labels.clone(),
            samples: ts
                .samples
                .iter()
                .map(|s| rw2::Sample { value: s.value, timestamp: s.timestamp, start_timestamp: 0 })
                .collect(),
            histograms: ts.histograms.iter().map(rw2::Histogram::from).collect(),
            exemplars: ts
                .exemplars
                .iter()
                .map(|e| Exemplar {
                    labels: e.labels.clone(),
                    value: e.value,
                    timestamp: e.timestamp,
                })
                .collect(),
            metadata: None,
        })
        .collect();
    let metadata = request
        .metadata
        .iter()
        .map(|m| {
            // The two enums share their numbers; RW 1.0 calls 0 UNKNOWN.
            let metric_type = MetricType::try_from(m.r#type).unwrap_or_else(|_| {
                problems.push(Problem::error(
                    ProblemKind::Metadata,
                    format!(
                        "metadata for {:?} has unknown type {}",
                        m.metric_family_name, m.r#type
                    ),
                ));
                MetricType::Unspecified
            });
            if m.metric_family_name.is_empty() {
                problems.push(Problem::error(
                    ProblemKind::Metadata,
                    "metadata entry without metric_family_name",
                ));
            }
            MetricMetadata {
                family: m.metric_family_name.clone(),
                metric_type,
                help: m.help.clone(),
                unit: m.unit.clone(),
            }
        })
        .collect();
    (series, metadata)
}

/// Looks refs up in the symbol table, reporting each bad one once.
struct Symbols<'a> {
    table: &'a [String],
}

impl Symbols<'_> {
    fn get(
        &self,
        reference: u32,
        what: &str,
        series: usize,
        problems: &mut Vec<Problem>,
    ) -> String {
        match self.table.get(reference as usize) {
            Some(symbol) => symbol.clone(),
            None => {
                problems.push(
                    Problem::error(
                        ProblemKind::SymbolRef,
                        format!(
                            "{what} refers to symbol {reference}, but there are only {} symbols",
                            self.table.len()
                        ),
                    )
                    .in_series(series),
                );
                format!("<bad ref {reference}>")
            }
        }
    }

    fn labels(
        &self,
        refs: &[u32],
        what: &str,
        series: usize,
        problems: &mut Vec<Problem>,
    ) -> Vec<Label> {
        if refs.len() % 2 != 0 {
            problems.push(
                Problem::error(
                    ProblemKind::OddLabelRefs,
                    format!(
                        "{what} labels_refs has odd length {}; the last ref is ignored",
                        refs.len()
                    ),
                )
                .in_series(series),
            );
        }
        refs.chunks_exact(2)
            .map(|pair| Label {
                name: self.get(pair[0], &format!("{what} label name"), series, problems),
                value: self.get(pair[1], &format!("{what} label value"), series, problems),
            })
            .collect()
    }
}

fn resolve_v2(request: &rw2::Request, problems: &mut Vec<Problem>) -> Vec<Series> {
    check_symbol_table(request, problems);
    let symbols = Symbols { table: &request.symbols };
    request
        .timeseries
        .iter()
        .enumerate()
        .map(|(index, ts)| {
            let labels = symbols.labels(&ts.labels_refs, "series", index, problems);
            let exemplars = ts
                .exemplars
                .iter()
                .map(|e| Exemplar {
                    labels: symbols.labels(&e.labels_refs, "exemplar", index, problems),
                    value: e.value,
                    timestamp: e.timestamp,
                })
                .collect();
            let metadata = ts.metadata.map(|m| {
                let metric_type = MetricType::try_from(m.r#type).unwrap_or_else(|_| {
                    problems.push(
                        Problem::error(
                            ProblemKind::Metadata,
                            format!("metadata has unknown type {}", m.r#type),
                        )
                        .in_series(index),
                    );
                    MetricType::Unspecified
                });
                let name =
                    labels.iter().find(|l| l.name == "__name__").map_or("", |l| l.value.as_str());
                MetricMetadata {
                    family: family_name(name, metric_type).to_owned(),
                    metric_type,
                    help: symbols.get(m.help_ref, "metadata help", index, problems),
                    unit: symbols.get(m.unit_ref, "metadata unit", index, problems),
                }
            });
            Series {
                labels,
                samples: ts.samples.clone(),
                histograms: ts.histograms.clone(),
                exemplars,
                metadata,
            }
        })
        .collect()
}

/// The family a series belongs to: its name, without the `_bucket`, `_sum`, `_count` (and
/// `_created`) suffix that classic histograms and summaries add.
pub(crate) fn family_name(name: &str, metric_type: MetricType) -> &str {
    if matches!(
        metric_type,
        MetricType::Histogram | MetricType::Gaugehistogram | MetricType::Summary
    ) {
        for suffix in ["_bucket", "_sum", "_count", "_created"] {
            if let Some(family) = name.strip_suffix(suffix) {
                return family;
            }
        }
    }
    name
}

fn check_symbol_table(request: &rw2::Request, problems: &mut Vec<Problem>) {
    match request.symbols.first() {
        None if !request.timeseries.is_empty() => problems.push(Problem::error(
            ProblemKind::Symbols,
            "symbols is empty but the request has series; symbols[0] must be \"\"",
        )),
        None => {}
        Some(first) if !first.is_empty() => problems.push(Problem::error(
            ProblemKind::Symbols,
            format!("symbols[0] is {first:?}; it must be the empty string"),
        )),
        Some(_) => {}
    }
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(request.symbols.len());
    let mut repeats = 0usize;
    let mut example = None;
    for (index, symbol) in request.symbols.iter().enumerate() {
        if let Some(first) = seen.insert(symbol, index) {
            repeats += 1;
            example.get_or_insert((symbol.clone(), first, index));
        }
    }
    if let Some((symbol, first, again)) = example {
        problems.push(Problem::warning(
            ProblemKind::Symbols,
            format!(
                "symbols are not deduplicated: {repeats} repeated, e.g. {symbol:?} at {first} \
                 and {again}"
            ),
        ));
    }
}

#[cfg(test)]
#[allow(clippy::type_complexity)] // tables of cases
mod tests {
    use super::*;
    use crate::receiver::problem::Severity;
    use http::HeaderValue;

    const V1_TYPE: &str = "application/x-protobuf";
    const V2_TYPE: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn good(
        content_type: &'static str,
        version: &'static str,
    ) -> Vec<(&'static str, &'static str)> {
        vec![
            ("content-type", content_type),
            ("content-encoding", "snappy"),
            ("x-prometheus-remote-write-version", version),
            ("user-agent", "test/1.0"),
        ]
    }

    fn without(
        mut pairs: Vec<(&'static str, &'static str)>,
        name: &str,
    ) -> Vec<(&'static str, &'static str)> {
        pairs.retain(|(n, _)| *n != name);
        pairs
    }

    fn with(
        mut pairs: Vec<(&'static str, &'static str)>,
        name: &'static str,
        value: &'static str,
    ) -> Vec<(&'static str, &'static str)> {
        pairs.retain(|(n, _)| *n != name);
        pairs.push((name, value));
        pairs
    }

    #[test]
    fn negotiation() {
        use ProblemKind as K;
        use RemoteWriteVersion::{V1, V2};
        use Severity::{Error as E, Warning as W};
        type Expect = Result<RemoteWriteVersion, StatusCode>;
        let v1 = good(V1_TYPE, "0.1.0");
        let v2 = good(V2_TYPE, "2.0.0");
        let cases: Vec<(Method, Vec<(&str, &str)>, Expect, Vec<(ProblemKind, Severity)>)> = vec![
            (Method::POST, v1.clone(), Ok(V1), vec![]),
            (Method::POST, v2.clone(), Ok(V2), vec![]),
            (
                Method::POST,
                good("application/x-protobuf;proto=prometheus.WriteRequest", "0.1.0"),
                Ok(V1),
                vec![],
            ),
            (Method::GET, v1.clone(), Err(StatusCode::METHOD_NOT_ALLOWED), vec![]),
            (
                Method::POST,
                with(v1.clone(), "content-type", "application/json"),
                Err(StatusCode::UNSUPPORTED_MEDIA_TYPE),
                vec![],
            ),
            (
                Method::POST,
                with(v1.clone(), "content-type", "image/png"),
                Err(StatusCode::UNSUPPORTED_MEDIA_TYPE),
                vec![],
            ),
            (
                Method::POST,
                with(v1.clone(), "content-type", "application/x-protobuf;proto=foo.Bar"),
                Err(StatusCode::UNSUPPORTED_MEDIA_TYPE),
                vec![],
            ),
            (
                Method::POST,
                with(v1.clone(), "content-encoding", "gzip"),
                Err(StatusCode::UNSUPPORTED_MEDIA_TYPE),
                vec![],
            ),
            (
                Method::POST,
                with(v2.clone(), "content-encoding", "deflate"),
                Err(StatusCode::UNSUPPORTED_MEDIA_TYPE),
                vec![],
            ),
            (Method::POST, without(v1.clone(), "content-type"), Ok(V1), vec![(K::ContentType, E)]),
            (
                Method::POST,
                without(v1.clone(), "content-encoding"),
                Ok(V1),
                vec![(K::ContentEncoding, E)],
            ),
            (Method::POST, without(v1.clone(), "user-agent"), Ok(V1), vec![(K::UserAgent, E)]),
            (Method::POST, with(v1.clone(), "user-agent", ""), Ok(V1), vec![(K::UserAgent, E)]),
            (
                Method::POST,
                without(v1.clone(), "x-prometheus-remote-write-version"),
                Ok(V1),
                vec![(K::VersionHeader, E)],
            ),
            (
                Method::POST,
                with(v1.clone(), "x-prometheus-remote-write-version", "2.0.0"),
                Ok(V1),
                vec![(K::VersionHeader, E)],
            ),
            (
                Method::POST,
                without(v2.clone(), "x-prometheus-remote-write-version"),
                Ok(V2),
                vec![(K::VersionHeader, E)],
            ),
            (
                Method::POST,
                with(v2.clone(), "x-prometheus-remote-write-version", "0.1.0"),
                Ok(V2),
                vec![(K::VersionHeader, W)],
            ),
            (
                Method::POST,
                with(v2.clone(), "x-prometheus-remote-write-version", "2.0.1"),
                Ok(V2),
                vec![],
            ),
            (
                Method::POST,
                with(
                    v2.clone(),
                    "content-type",
                    "application/x-protobuf; proto=\"io.prometheus.write.v2.Request\"",
                ),
                Ok(V2),
                vec![(K::ContentType, W)],
            ),
            (
                Method::POST,
                with(v1.clone(), "content-type", "Application/X-Protobuf"),
                Ok(V1),
                vec![(K::ContentType, W)],
            ),
            (Method::POST, with(v1.clone(), "content-encoding", "SNAPPY"), Ok(V1), vec![]),
            (
                Method::POST,
                vec![("content-type", V2_TYPE)],
                Ok(V2),
                vec![(K::ContentEncoding, E), (K::VersionHeader, E), (K::UserAgent, E)],
            ),
        ];
        for (method, pairs, expected, expected_problems) in cases {
            let mut problems = Vec::new();
            let got = negotiate(&method, &headers(&pairs), &mut problems);
            match (&got, &expected) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{method} {pairs:?}"),
                (Err(refusal), Err(status)) => {
                    assert_eq!(refusal.status, *status, "{method} {pairs:?}")
                }
                _ => panic!("{method} {pairs:?}: got {got:?}, expected {expected:?}"),
            }
            let found: Vec<_> = problems.iter().map(|p| (p.kind, p.severity)).collect();
            assert_eq!(found, expected_problems, "{method} {pairs:?}");
        }
    }

    fn snappy(bytes: &[u8]) -> Vec<u8> {
        snap::raw::Encoder::new().compress_vec(bytes).unwrap()
    }

    fn v1_request() -> rw1::WriteRequest {
        rw1::WriteRequest {
            timeseries: vec![rw1::TimeSeries {
                labels: vec![Label { name: "__name__".into(), value: "up".into() }],
                samples: vec![rw1::Sample { value: 1.0, timestamp: 1_700_000_000_000 }],
                ..Default::default()
            }],
            metadata: vec![],
        }
    }

    fn v2_request() -> rw2::Request {
        rw2::Request {
            symbols: vec!["".into(), "__name__".into(), "up".into(), "help!".into()],
            timeseries: vec![rw2::TimeSeries {
                labels_refs: vec![1, 2],
                samples: vec![rw2::Sample {
                    value: 1.0,
                    timestamp: 1_700_000_000_000,
                    start_timestamp: 0,
                }],
                metadata: Some(rw2::Metadata { r#type: 2, help_ref: 3, unit_ref: 0 }),
                ..Default::default()
            }],
        }
    }

    #[test]
    fn bodies_decode_or_are_refused_with_a_reason() {
        let max = 1 << 20;
        let mut problems = Vec::new();
        let (message, len) = decode_body(
            RemoteWriteVersion::V1,
            &snappy(&v1_request().encode_to_vec()),
            max,
            &mut problems,
        )
        .unwrap();
        assert_eq!(message, WireMessage::V1(v1_request()));
        assert_eq!(len, v1_request().encode_to_vec().len());
        let (message, _) = decode_body(
            RemoteWriteVersion::V2,
            &snappy(&v2_request().encode_to_vec()),
            max,
            &mut problems,
        )
        .unwrap();
        assert_eq!(message, WireMessage::V2(v2_request()));
        assert!(problems.is_empty(), "{problems:?}");

        // an empty body is an empty request
        let (message, len) =
            decode_body(RemoteWriteVersion::V1, &snappy(&[]), max, &mut problems).unwrap();
        assert_eq!((message, len), (WireMessage::V1(rw1::WriteRequest::default()), 0));

        let refused = |version, body: &[u8], max| {
            let mut problems = Vec::new();
            decode_body(version, body, max, &mut problems).unwrap_err()
        };
        let r = refused(RemoteWriteVersion::V1, b"not snappy at all \xff\xff\xff\xff\xff", max);
        assert_eq!((r.status, r.problem.kind), (StatusCode::BAD_REQUEST, ProblemKind::Undecodable));
        let r = refused(RemoteWriteVersion::V1, &snappy(b"\x0a\x05garbage"), max);
        assert_eq!(r.problem.kind, ProblemKind::Undecodable);
        assert!(r.problem.message.contains("prometheus.WriteRequest"), "{}", r.problem.message);
        let r = refused(RemoteWriteVersion::V2, &snappy(&[0x22, 0x03, 0xff, 0xfe, 0xfd]), max);
        assert!(
            r.problem.message.contains("io.prometheus.write.v2.Request"),
            "{}",
            r.problem.message
        );
        let r = refused(RemoteWriteVersion::V1, &snappy(&vec![0u8; 2000]), 1000);
        assert_eq!(
            (r.status, r.problem.kind),
            (StatusCode::BAD_REQUEST, ProblemKind::BodyTooLarge)
        );
    }

    #[test]
    fn framed_snappy_is_decoded_for_display_and_flagged() {
        use std::io::Write;
        let mut framed = Vec::new();
        {
            let mut encoder = snap::write::FrameEncoder::new(&mut framed);
            encoder.write_all(&v1_request().encode_to_vec()).unwrap();
        }
        assert!(framed.starts_with(FRAMED_SNAPPY_MAGIC));
        let mut problems = Vec::new();
        let (message, _) =
            decode_body(RemoteWriteVersion::V1, &framed, 1 << 20, &mut problems).unwrap();
        assert_eq!(message, WireMessage::V1(v1_request()));
        assert_eq!(problems.len(), 1);
        assert_eq!(
            (problems[0].kind, problems[0].severity),
            (ProblemKind::FramedSnappy, Severity::Error)
        );
        // a broken framed stream is refused
        let mut problems = Vec::new();
        let broken = [FRAMED_SNAPPY_MAGIC, b"\x01\x02"].concat();
        let refusal =
            decode_body(RemoteWriteVersion::V1, &broken, 1 << 20, &mut problems).unwrap_err();
        assert_eq!(refusal.problem.kind, ProblemKind::Undecodable);
    }

    #[test]
    fn a_body_of_the_other_protocol_is_named() {
        let mut problems = Vec::new();
        let (message, _) = decode_body(
            RemoteWriteVersion::V1,
            &snappy(&v2_request().encode_to_vec()),
            1 << 20,
            &mut problems,
        )
        .unwrap();
        assert_eq!(message, WireMessage::V1(rw1::WriteRequest::default()));
        assert_eq!(
            problems.iter().map(|p| p.kind).collect::<Vec<_>>(),
            vec![ProblemKind::WrongMessage]
        );
        let mut problems = Vec::new();
        decode_body(
            RemoteWriteVersion::V2,
            &snappy(&v1_request().encode_to_vec()),
            1 << 20,
            &mut problems,
        )
        .unwrap();
        assert_eq!(
            problems.iter().map(|p| p.kind).collect::<Vec<_>>(),
            vec![ProblemKind::WrongMessage]
        );
    }

    #[test]
    fn rw2_symbols_are_resolved_and_checked() {
        let mut problems = Vec::new();
        let (series, metadata) = resolve(&WireMessage::V2(v2_request()), &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(metadata.is_empty());
        assert_eq!(series[0].name(), Some("up"));
        let meta = series[0].metadata.as_ref().unwrap();
        assert_eq!(
            (meta.family.as_str(), meta.metric_type, meta.help.as_str(), meta.unit.as_str()),
            ("up", MetricType::Gauge, "help!", "")
        );

        use ProblemKind as K;
        let cases: Vec<(&str, Box<dyn Fn(&mut rw2::Request)>, Vec<ProblemKind>)> = vec![
            ("symbols[0] not empty", Box::new(|r| r.symbols[0] = "x".into()), vec![K::Symbols]),
            (
                "no symbols",
                Box::new(|r| r.symbols.clear()),
                vec![K::Symbols, K::SymbolRef, K::SymbolRef, K::SymbolRef, K::SymbolRef],
            ),
            (
                "label ref out of range",
                Box::new(|r| r.timeseries[0].labels_refs = vec![1, 9]),
                vec![K::SymbolRef],
            ),
            (
                "odd refs",
                Box::new(|r| r.timeseries[0].labels_refs = vec![1, 2, 1]),
                vec![K::OddLabelRefs],
            ),
            (
                "help ref out of range",
                Box::new(|r| {
                    r.timeseries[0].metadata =
                        Some(rw2::Metadata { r#type: 1, help_ref: 4, unit_ref: 0 })
                }),
                vec![K::SymbolRef],
            ),
            (
                "unknown type",
                Box::new(|r| {
                    r.timeseries[0].metadata =
                        Some(rw2::Metadata { r#type: 42, help_ref: 0, unit_ref: 0 })
                }),
                vec![K::Metadata],
            ),
            ("repeated symbols", Box::new(|r| r.symbols.push("up".into())), vec![K::Symbols]),
            (
                "exemplar refs",
                Box::new(|r| {
                    r.timeseries[0].exemplars = vec![rw2::Exemplar {
                        labels_refs: vec![1, 2, 100],
                        value: 1.0,
                        timestamp: 1,
                    }]
                }),
                vec![K::OddLabelRefs],
            ),
        ];
        for (name, mutate, expected) in cases {
            let mut request = v2_request();
            mutate(&mut request);
            let mut problems = Vec::new();
            let (series, _) = resolve(&WireMessage::V2(request), &mut problems);
            assert_eq!(
                problems.iter().map(|p| p.kind).collect::<Vec<_>>(),
                expected,
                "{name}: {problems:?}"
            );
            assert_eq!(series.len(), 1, "{name}");
        }
        let mut request = v2_request();
        request.timeseries[0].labels_refs = vec![1, 9];
        let (series, _) = resolve(&WireMessage::V2(request), &mut Vec::new());
        assert_eq!(series[0].labels[0].value, "<bad ref 9>");
    }

    #[test]
    fn families_of_classic_histograms_and_summaries() {
        for (name, metric_type, family) in [
            ("x_bucket", MetricType::Histogram, "x"),
            ("x_count", MetricType::Summary, "x"),
            ("x_sum", MetricType::Gaugehistogram, "x"),
            ("x", MetricType::Histogram, "x"),
            ("x_total", MetricType::Counter, "x_total"),
            ("x_count", MetricType::Gauge, "x_count"),
        ] {
            assert_eq!(family_name(name, metric_type), family, "{name}");
        }
    }

    #[test]
    fn rw1_histograms_and_metadata_are_carried_over() {
        let request = rw1::WriteRequest {
            timeseries: vec![rw1::TimeSeries {
                labels: vec![Label { name: "__name__".into(), value: "h".into() }],
                histograms: vec![rw1::Histogram {
                    count: Some(rw1::histogram::Count::CountInt(3)),
                    zero_count: Some(rw1::histogram::ZeroCount::ZeroCountInt(1)),
                    sum: 2.0,
                    schema: 1,
                    positive_spans: vec![rw1::BucketSpan { offset: 1, length: 1 }],
                    positive_deltas: vec![2],
                    timestamp: 5,
                    ..Default::default()
                }],
                exemplars: vec![rw1::Exemplar { labels: vec![], value: 0.5, timestamp: 4 }],
                ..Default::default()
            }],
            metadata: vec![
                rw1::MetricMetadata {
                    r#type: 3,
                    metric_family_name: "h".into(),
                    help: "a histogram".into(),
                    unit: "seconds".into(),
                },
                rw1::MetricMetadata {
                    r#type: 0,
                    metric_family_name: String::new(),
                    help: String::new(),
                    unit: String::new(),
                },
            ],
        };
        let mut problems = Vec::new();
        let (series, metadata) = resolve(&WireMessage::V1(request), &mut problems);
        let h = &series[0].histograms[0];
        assert_eq!(h.count, Some(rw2::histogram::Count::CountInt(3)));
        assert_eq!(h.zero_count, Some(rw2::histogram::ZeroCount::ZeroCountInt(1)));
        assert_eq!((h.schema, h.timestamp, h.positive_deltas.as_slice()), (1, 5, &[2i64][..]));
        assert_eq!(series[0].exemplars[0].value, 0.5);
        assert_eq!(metadata[0].metric_type, MetricType::Histogram);
        assert_eq!(metadata[0].unit, "seconds");
        assert_eq!(
            problems.iter().map(|p| p.kind).collect::<Vec<_>>(),
            vec![ProblemKind::Metadata]
        );
    }
}
