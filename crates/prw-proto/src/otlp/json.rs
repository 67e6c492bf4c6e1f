//! OTLP/JSON: [`ExportMetricsServiceRequest`] from and to the JSON encoding of the OTLP
//! specification ("OTLP/HTTP, JSON Protobuf Encoding"), as the OpenTelemetry Collector's
//! file exporter writes it.
//!
//! The encoding is the proto3 JSON mapping with the OTLP exceptions. The decoder accepts:
//!
//! - lowerCamelCase field names, and the original snake_case names too (older writers, and
//!   every proto3 JSON parser, accept both);
//! - 64-bit integers as decimal strings or as JSON numbers, 32-bit ones as numbers or strings;
//! - enums as integers (what OTLP requires) or as their names (what older Collectors wrote);
//! - `traceId` and `spanId` as case-insensitive hex (the OTLP exception; never base64), other
//!   `bytes` (`bytesValue`) as standard or URL-safe base64, padded or not;
//! - doubles as numbers, numeric strings, or `"NaN"`, `"Infinity"`, `"-Infinity"` (and the
//!   `"+Inf"`, `"-Inf"` the Collector writes);
//! - `null` anywhere as "not set"; unknown fields are skipped.
//!
//! Anything else is an error carrying the position (line and column) and the path of the
//! field, for example `line 1, column 180: resourceMetrics[0].scopeMetrics[0].metrics[0]
//! .sum.dataPoints[0].asInt: expected an integer, got "abc"`. Decoding never panics.
//!
//! The encoder writes what the Collector writes: lowerCamelCase names, 64-bit integers as
//! strings, enums as integers, hex ids, fields with default values left out. Decoding what it
//! wrote gives back the same message (NaN payloads aside, which JSON cannot carry).
//!
//! # Example
//!
//! ```
//! use prw_proto::otlp::json;
//! use prw_proto::otlp::metrics::metric::Data;
//!
//! let line = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"up",
//!     "gauge":{"dataPoints":[{"timeUnixNano":"1700000000000000000","asInt":"1"}]}}]}]}]}"#;
//! let request = json::from_json_str(line)?;
//! let metric = &request.resource_metrics[0].scope_metrics[0].metrics[0];
//! assert_eq!(metric.name, "up");
//! let Some(Data::Gauge(gauge)) = &metric.data else { panic!("a gauge") };
//! assert_eq!(gauge.data_points[0].time_unix_nano, 1_700_000_000_000_000_000);
//!
//! // Encoding and decoding again gives the same request.
//! assert_eq!(json::from_json_str(&json::to_json_string(&request))?, request);
//!
//! // A malformed file: the error says where and what.
//! let err = json::from_json_str(r#"{"resourceMetrics":[{"schemaUrl":7}]}"#).unwrap_err();
//! assert_eq!((err.line(), err.column()), (1, 34));
//! assert_eq!(err.path(), "resourceMetrics[0].schemaUrl");
//! assert_eq!(err.to_string(),
//!     "line 1, column 34: resourceMetrics[0].schemaUrl: expected a string, got 7");
//! # Ok::<(), json::JsonError>(())
//! ```
//!
//! # Which function to call
//!
//! | input | function |
//! |---|---|
//! | one request (one HTTP body, or a file holding one, pretty-printed or not) | [`from_json_str`], [`from_json_slice`] |
//! | the Collector file exporter's output: one request per line | [`from_json_lines`], or [`JsonLinesReader`] to stream a large file |
//! | a file in either layout, or requests simply concatenated | [`from_json_documents`] |

mod decode;
mod encode;
mod error;
mod messages;

use std::io::BufRead;

use serde::de::IgnoredAny;

use crate::otlp::collector::ExportMetricsServiceRequest;

pub use error::{JsonError, JsonErrorKind};

/// Decodes one request: the whole of `text` must be a single JSON object (surrounding
/// whitespace allowed).
///
/// # Errors
///
/// [`JsonError`] when `text` is not JSON ([`JsonErrorKind::Syntax`], [`JsonErrorKind::Eof`])
/// or not an OTLP/JSON `ExportMetricsServiceRequest` ([`JsonErrorKind::Data`]).
pub fn from_json_str(text: &str) -> Result<ExportMetricsServiceRequest, JsonError> {
    from_json_slice(text.as_bytes())
}

/// Like [`from_json_str`], for bytes (which must be UTF-8 inside strings).
///
/// # Errors
///
/// As [`from_json_str`].
pub fn from_json_slice(bytes: &[u8]) -> Result<ExportMetricsServiceRequest, JsonError> {
    decode::decode_document(bytes).map_err(|(e, path)| error::from_serde(&e, &path, bytes, 0))
}

/// Decodes "JSON lines": one request per line, as the Collector's file exporter writes them.
/// Blank lines are skipped; a line may end in `\r\n`.
///
/// Stops at the first bad line; use [`JsonLinesReader`] to go on past bad lines.
///
/// # Errors
///
/// The first line that is not a request, as a [`JsonError`] whose [`line`](JsonError::line)
/// is that line's number in `text`.
pub fn from_json_lines(text: &str) -> Result<Vec<ExportMetricsServiceRequest>, JsonError> {
    JsonLinesReader::new(text.as_bytes()).collect()
}

/// Decodes any number of requests separated by whitespace: a single request (pretty-printed
/// or not), JSON lines, or documents simply written one after the other. An input with only
/// whitespace gives no requests.
///
/// Use it when the layout of a file is not known. For JSON lines, [`from_json_lines`] reports
/// a truncated line better (this function reads on into the next line before it fails).
///
/// # Errors
///
/// The first document that is not JSON or not a request, as a [`JsonError`] positioned in the
/// whole of `text`.
pub fn from_json_documents(text: &str) -> Result<Vec<ExportMetricsServiceRequest>, JsonError> {
    let bytes = text.as_bytes();
    let mut requests = Vec::new();
    // A first pass only finds where each document ends (JSON syntax errors surface here, with
    // their position); each document is then decoded on its own, with field paths.
    let mut documents = serde_json::Deserializer::from_slice(bytes).into_iter::<IgnoredAny>();
    loop {
        let start = documents.byte_offset();
        match documents.next() {
            None => return Ok(requests),
            Some(Err(e)) => return Err(error::from_serde(&e, &[], bytes, 0)),
            Some(Ok(IgnoredAny)) => {
                let end = documents.byte_offset();
                let document = bytes.get(start..end).unwrap_or_default();
                let request = decode::decode_document(document)
                    .map_err(|(e, path)| error::from_serde(&e, &path, bytes, start))?;
                requests.push(request);
            }
        }
    }
}

/// Streams requests out of JSON lines (one request per line) read from `R`, for files too
/// large to hold in memory.
///
/// Each item is one non-blank line: the request, or a [`JsonError`] for that line, after which
/// the reader goes on with the next line, so a caller can count bad lines and continue. After
/// a read error ([`JsonErrorKind::Io`]) the iterator ends.
///
/// ```
/// use prw_proto::otlp::json::JsonLinesReader;
///
/// let file = "{\"resourceMetrics\":[]}\nnot json\n\n{}\n";
/// let results: Vec<_> = JsonLinesReader::new(file.as_bytes()).collect();
/// assert_eq!(results.len(), 3);
/// assert!(results[0].is_ok() && results[2].is_ok());
/// assert_eq!(results[1].as_ref().unwrap_err().line(), 2);
/// ```
#[derive(Debug)]
pub struct JsonLinesReader<R> {
    reader: R,
    line: usize,
    buf: Vec<u8>,
    failed: bool,
}

impl<R: BufRead> JsonLinesReader<R> {
    /// Reads JSON lines from `reader`.
    pub fn new(reader: R) -> Self {
        Self { reader, line: 0, buf: Vec::new(), failed: false }
    }

    /// The number of the last line read (1-based; 0 before the first).
    pub fn line(&self) -> usize {
        self.line
    }

    /// Gives back the underlying reader.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: BufRead> Iterator for JsonLinesReader<R> {
    type Item = Result<ExportMetricsServiceRequest, JsonError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.failed {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {
                    self.line += 1;
                    let mut text = self.buf.as_slice();
                    text = text.strip_suffix(b"\n").unwrap_or(text);
                    text = text.strip_suffix(b"\r").unwrap_or(text);
                    if text.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let line = self.line;
                    return Some(
                        decode::decode_document(text)
                            .map_err(|(e, path)| error::from_serde_on_line(&e, &path, text, line)),
                    );
                }
                Err(e) => {
                    self.failed = true;
                    return Some(Err(JsonError::io(e, self.line + 1)));
                }
            }
        }
        None
    }
}

/// Encodes `request` as OTLP/JSON on one line (no newline at the end): the layout of one
/// line of the Collector file exporter's output.
pub fn to_json_string(request: &ExportMetricsServiceRequest) -> String {
    encode::encode(request, false)
}

/// Encodes `request` as OTLP/JSON, indented by two spaces, for people to read.
pub fn to_json_string_pretty(request: &ExportMetricsServiceRequest) -> String {
    encode::encode(request, true)
}

/// Encodes `requests` as JSON lines: each request on its own line, each line ending in `\n`.
pub fn to_json_lines(requests: &[ExportMetricsServiceRequest]) -> String {
    let mut out = String::new();
    for request in requests {
        out.push_str(&encode::encode(request, false));
        out.push('\n');
    }
    out
}
