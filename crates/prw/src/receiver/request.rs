//! What the receiver hands out for every request: the decoded series and the problems found.

use std::fmt;
use std::net::SocketAddr;
use std::time::SystemTime;

use prw_proto::rw1::Label;
use prw_proto::rw2::metadata::MetricType;
use prw_proto::{rw1, rw2};

use super::problem::{Problem, Severity};

/// The Remote Write protocol a request used, as announced by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RemoteWriteVersion {
    /// Remote Write 1.0: `prometheus.WriteRequest`.
    V1,
    /// Remote Write 2.0: `io.prometheus.write.v2.Request`.
    V2,
}

impl fmt::Display for RemoteWriteVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RemoteWriteVersion::V1 => "1.0",
            RemoteWriteVersion::V2 => "2.0",
        })
    }
}

/// The protobuf message as it arrived, before labels were resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum WireMessage {
    /// A Remote Write 1.0 body.
    V1(rw1::WriteRequest),
    /// A Remote Write 2.0 body.
    V2(rw2::Request),
}

/// Type, help and unit of a metric family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricMetadata {
    /// The metric family name: `metric_family_name` in RW 1.0; in RW 2.0 the series' `__name__`,
    /// without the `_bucket`, `_sum` or `_count` suffix of a histogram's or summary's series.
    pub family: String,
    /// The metric type.
    pub metric_type: MetricType,
    /// The help text (empty when unset).
    pub help: String,
    /// The unit (empty when unset).
    pub unit: String,
}

/// An exemplar with its labels resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// The exemplar's labels, usually `trace_id` and `span_id`.
    pub labels: Vec<Label>,
    /// The observed value.
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
}

/// One series of a request, with its labels resolved (for RW 2.0, through the symbol table).
///
/// Labels are kept in the order they arrived, so that unsorted or repeated labels stay visible.
/// Samples carry a start timestamp (0 = unset, always 0 for RW 1.0); RW 1.0 histograms are held
/// in the RW 2.0 type, which is the same message plus `start_timestamp`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// The labels, in the order they arrived.
    pub labels: Vec<Label>,
    /// Float samples.
    pub samples: Vec<rw2::Sample>,
    /// Native histogram samples.
    pub histograms: Vec<rw2::Histogram>,
    /// Exemplars.
    pub exemplars: Vec<Exemplar>,
    /// Metadata sent with the series (RW 2.0 only; RW 1.0 sends it per family, see
    /// [`ReceivedRequest::metadata`]).
    pub metadata: Option<MetricMetadata>,
}

impl Series {
    /// The value of `__name__`, if present.
    pub fn name(&self) -> Option<&str> {
        self.label("__name__")
    }

    /// The value of the first label called `name`.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|l| l.name == name).map(|l| l.value.as_str())
    }
}

/// What the receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// `X-Prometheus-Remote-Write-Samples-Written`, sent for RW 2.0 requests.
    pub samples_written: Option<u64>,
    /// `X-Prometheus-Remote-Write-Histograms-Written`, sent for RW 2.0 requests.
    pub histograms_written: Option<u64>,
    /// `X-Prometheus-Remote-Write-Exemplars-Written`, sent for RW 2.0 requests.
    pub exemplars_written: Option<u64>,
    /// The response body (empty on success, a human-readable reason otherwise).
    pub body: String,
}

/// One HTTP request the receiver got, decoded and checked.
///
/// Every request is reported, also the ones that were refused (wrong method, unsupported
/// encoding, undecodable body): then `version` or `message` is `None` and `problems` says why.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    /// 1 for the first request this receiver got, then 2, 3, ...
    pub sequence: u64,
    /// Where the request came from.
    pub remote_addr: SocketAddr,
    /// When the request's body had been read.
    pub received_at: SystemTime,
    /// The HTTP method.
    pub method: http::Method,
    /// The request path (with query string, if any).
    pub path: String,
    /// The request headers.
    pub headers: http::HeaderMap,
    /// The protocol announced by `Content-Type`; `None` when it is not a Remote Write type.
    pub version: Option<RemoteWriteVersion>,
    /// The length of the body as received (compressed).
    pub body_len: usize,
    /// The length of the body after snappy decoding, when that worked.
    pub decoded_len: Option<usize>,
    /// The protobuf message, when it could be decoded.
    pub message: Option<WireMessage>,
    /// The series, labels resolved.
    pub series: Vec<Series>,
    /// RW 1.0 metadata (the `metadata` field of `WriteRequest`), one entry per family.
    pub metadata: Vec<MetricMetadata>,
    /// Everything that breaks or bends the spec, in the order found.
    pub problems: Vec<Problem>,
    /// What the receiver answered.
    pub response: Response,
}

impl ReceivedRequest {
    /// The number of float samples in the request.
    pub fn sample_count(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }

    /// The number of native histogram samples in the request.
    pub fn histogram_count(&self) -> usize {
        self.series.iter().map(|s| s.histograms.len()).sum()
    }

    /// The number of exemplars in the request.
    pub fn exemplar_count(&self) -> usize {
        self.series.iter().map(|s| s.exemplars.len()).sum()
    }

    /// Whether any problem of [`Severity::Error`] was found.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }

    /// The value of a request header, if present and readable as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
