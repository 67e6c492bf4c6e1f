//! What the receiver found wrong with a request.

use std::fmt;

/// How serious a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Allowed but discouraged: the spec says SHOULD, or backends handle it in surprising ways.
    Warning,
    /// Breaks a MUST of the spec, or a real backend rejects or drops the data.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// Which rule a [`Problem`] is about. Stable names, so that tests and tools can match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProblemKind {
    /// The HTTP method is not POST.
    Method,
    /// `Content-Type` is missing, not written as the spec lists it, or not supported.
    ContentType,
    /// `Content-Encoding` is missing or not `snappy`.
    ContentEncoding,
    /// `X-Prometheus-Remote-Write-Version` is missing or does not match the protocol.
    VersionHeader,
    /// `User-Agent` is missing.
    UserAgent,
    /// The body uses the snappy framed format, which the spec forbids.
    FramedSnappy,
    /// The body (or its decoded form) is larger than the receiver accepts.
    BodyTooLarge,
    /// The body is not valid snappy or not the protobuf message its Content-Type announces.
    Undecodable,
    /// The body decodes as the other protocol's message than the Content-Type says.
    WrongMessage,
    /// The request carries no series at all.
    EmptyRequest,
    /// A series has no labels.
    NoLabels,
    /// A series has no `__name__` label.
    MissingName,
    /// A label name is empty.
    EmptyLabelName,
    /// A label value is empty.
    EmptyLabelValue,
    /// The same label name appears twice in a series.
    DuplicateLabel,
    /// Labels are not sorted by name.
    UnsortedLabels,
    /// The metric name does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    InvalidMetricName,
    /// A label name does not match `[a-zA-Z_][a-zA-Z0-9_]*`.
    InvalidLabelName,
    /// A label name other than `__name__` starts with the reserved `__` prefix.
    ReservedLabelName,
    /// A series has neither samples nor histograms.
    NoSamples,
    /// A series has both samples and histograms.
    SamplesAndHistograms,
    /// A sample is older than one already received for the same series.
    OutOfOrder,
    /// Two samples of a series have the same timestamp.
    DuplicateTimestamp,
    /// A timestamp does not look like milliseconds since the epoch.
    TimestampUnit,
    /// A start timestamp is missing where it is expected, or later than the sample.
    StartTimestamp,
    /// A native histogram is inconsistent (spans, counts, schema).
    InvalidHistogram,
    /// An exemplar is incomplete or has bad labels.
    InvalidExemplar,
    /// RW 2.0 `symbols` is empty, does not start with `""`, or repeats strings.
    Symbols,
    /// An RW 2.0 reference points outside `symbols`.
    SymbolRef,
    /// An RW 2.0 `labels_refs` has an odd length.
    OddLabelRefs,
    /// Metadata is missing, has no type, or is inconsistent.
    Metadata,
}

impl ProblemKind {
    /// A short kebab-case name, used in the `--json` output and in log lines.
    pub fn name(self) -> &'static str {
        match self {
            ProblemKind::Method => "method",
            ProblemKind::ContentType => "content-type",
            ProblemKind::ContentEncoding => "content-encoding",
            ProblemKind::VersionHeader => "version-header",
            ProblemKind::UserAgent => "user-agent",
            ProblemKind::FramedSnappy => "framed-snappy",
            ProblemKind::BodyTooLarge => "body-too-large",
            ProblemKind::Undecodable => "undecodable",
            ProblemKind::WrongMessage => "wrong-message",
            ProblemKind::EmptyRequest => "empty-request",
            ProblemKind::NoLabels => "no-labels",
            ProblemKind::MissingName => "missing-name",
            ProblemKind::EmptyLabelName => "empty-label-name",
            ProblemKind::EmptyLabelValue => "empty-label-value",
            ProblemKind::DuplicateLabel => "duplicate-label",
            ProblemKind::UnsortedLabels => "unsorted-labels",
            ProblemKind::InvalidMetricName => "invalid-metric-name",
            ProblemKind::InvalidLabelName => "invalid-label-name",
            ProblemKind::ReservedLabelName => "reserved-label-name",
            ProblemKind::NoSamples => "no-samples",
            ProblemKind::SamplesAndHistograms => "samples-and-histograms",
            ProblemKind::OutOfOrder => "out-of-order",
            ProblemKind::DuplicateTimestamp => "duplicate-timestamp",
            ProblemKind::TimestampUnit => "timestamp-unit",
            ProblemKind::StartTimestamp => "start-timestamp",
            ProblemKind::InvalidHistogram => "invalid-histogram",
            ProblemKind::InvalidExemplar => "invalid-exemplar",
            ProblemKind::Symbols => "symbols",
            ProblemKind::SymbolRef => "symbol-ref",
            ProblemKind::OddLabelRefs => "odd-label-refs",
            ProblemKind::Metadata => "metadata",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One thing about a request that breaks (or bends) the Remote Write spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// How serious it is.
    pub severity: Severity,
    /// Which rule it is about.
    pub kind: ProblemKind,
    /// The index of the series in the request it concerns, if it concerns one.
    pub series: Option<usize>,
    /// A sentence saying what is wrong, for people.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(severity: Severity, kind: ProblemKind, message: impl Into<String>) -> Self {
        Problem { severity, kind, series: None, message: message.into() }
    }

    pub(crate) fn error(kind: ProblemKind, message: impl Into<String>) -> Self {
        Problem::new(Severity::Error, kind, message)
    }

    pub(crate) fn warning(kind: ProblemKind, message: impl Into<String>) -> Self {
        Problem::new(Severity::Warning, kind, message)
    }

    pub(crate) fn in_series(mut self, index: usize) -> Self {
        self.series = Some(index);
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.severity, self.kind)?;
        if let Some(index) = self.series {
            write!(f, " series {index}")?;
        }
        write!(f, ": {}", self.message)
    }
}
