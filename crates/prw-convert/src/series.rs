//! The output model: [`Series`] with their samples, native histograms, exemplars and metadata.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use crate::STALE_NAN_BITS;
use crate::symbols::LabelTable;

/// The Prometheus metric type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum MetricKind {
    /// Unknown (`prometheus.type=unknown`).
    #[default]
    Unknown,
    /// A counter (monotonic cumulative sum).
    Counter,
    /// A gauge (gauges and non-monotonic sums).
    Gauge,
    /// A histogram (classic or native).
    Histogram,
    /// A gauge histogram (not produced from OTLP).
    GaugeHistogram,
    /// A summary.
    Summary,
    /// An info metric (`prometheus.type=info`).
    Info,
    /// A state set (`prometheus.type=stateset`).
    StateSet,
}

impl MetricKind {
    /// The protobuf enum value, the same in RW 1.0 and 2.0.
    pub fn proto_value(self) -> i32 {
        match self {
            Self::Unknown => 0,
            Self::Counter => 1,
            Self::Gauge => 2,
            Self::Histogram => 3,
            Self::GaugeHistogram => 4,
            Self::Summary => 5,
            Self::Info => 6,
            Self::StateSet => 7,
        }
    }

    /// The lowercase name used in the text exposition format (`# TYPE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::GaugeHistogram => "gaugehistogram",
            Self::Summary => "summary",
            Self::Info => "info",
            Self::StateSet => "stateset",
        }
    }
}

/// Type, help and unit of a metric family (RW 1.0 `MetricMetadata`, RW 2.0 inline metadata).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Metadata {
    /// The family name: the metric name without `_bucket`, `_sum` or `_count`.
    pub metric_family_name: String,
    /// The Prometheus type.
    pub kind: MetricKind,
    /// The OTLP description.
    pub help: String,
    /// The unit, in Prometheus words (`seconds`, `bytes_per_second`); empty if none.
    pub unit: String,
}

/// One float sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The value; [`STALE_NAN_BITS`] marks a stale series.
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// When the counter started, in milliseconds (RW 2.0 `start_timestamp`); 0 when unknown.
    pub start_timestamp_ms: i64,
}

impl Sample {
    /// Whether this is the stale marker.
    pub fn is_stale(&self) -> bool {
        self.value.to_bits() == STALE_NAN_BITS
    }
}

/// A run of consecutive native-histogram buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BucketSpan {
    /// Gap to the previous span (or the index of the first bucket, for the first span).
    pub offset: i32,
    /// Number of buckets.
    pub length: u32,
}

/// A native (exponential) histogram sample, integer counts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NativeHistogram {
    /// Total count of observations (0 for a stale marker).
    pub count: u64,
    /// Sum of observations ([`STALE_NAN_BITS`] for a stale marker).
    pub sum: f64,
    /// Base-2 schema, -4 to 8.
    pub schema: i32,
    /// Width of the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// Negative bucket spans.
    pub negative_spans: Vec<BucketSpan>,
    /// Negative bucket counts, each as a delta to the previous bucket.
    pub negative_deltas: Vec<i64>,
    /// Positive bucket spans.
    pub positive_spans: Vec<BucketSpan>,
    /// Positive bucket counts, each as a delta to the previous bucket.
    pub positive_deltas: Vec<i64>,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// When the histogram started, in milliseconds (RW 2.0 only); 0 when unknown.
    pub start_timestamp_ms: i64,
}

impl NativeHistogram {
    /// Whether this is the stale marker (its sum is the stale NaN).
    pub fn is_stale(&self) -> bool {
        self.sum.to_bits() == STALE_NAN_BITS
    }
}

/// An exemplar: a sample with its own labels (`trace_id`, `span_id`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// Labels sorted by name, names unique, no empty values.
    pub labels: Vec<(String, String)>,
    /// The exemplar's value.
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
}

/// The labels of the series of one conversion: each distinct label once (see [`LabelTable`]),
/// and for each series a run of label ids in `refs`. Shared by all those series (one
/// allocation and one copy of each string per conversion instead of per series).
#[derive(Debug, Default)]
pub(crate) struct LabelStore {
    pub(crate) table: LabelTable,
    pub(crate) refs: Vec<u32>,
    /// The metric families of the series (a series holds an index, not a reference count:
    /// one atomic update less per series, made and dropped).
    pub(crate) metadata: Vec<Arc<Metadata>>,
}

/// What a series without a store reads as its metadata.
static NO_METADATA: Metadata = Metadata {
    metric_family_name: String::new(),
    kind: MetricKind::Unknown,
    help: String::new(),
    unit: String::new(),
};

/// What a label set without a store reads.
static NO_LABELS: LabelTable = LabelTable::EMPTY;

/// A series' label set: a run of label ids in a [`LabelStore`], sorted by name.
#[derive(Clone)]
pub(crate) struct LabelSet {
    /// `None` while the converter is still building the conversion's store (it sets the
    /// store when the conversion is done).
    pub(crate) store: Option<Arc<LabelStore>>,
    /// Where the set's first label id is in the store's `refs`.
    pub(crate) start: usize,
    /// Number of labels.
    pub(crate) n: u32,
    /// The series' metric family: its index in the store's `metadata`. (Kept here, where it
    /// fills what would be padding; it takes no part in comparing label sets.)
    pub(crate) meta: u32,
}

impl PartialEq for LabelSet {
    fn eq(&self, other: &Self) -> bool {
        if self.n != other.n {
            return false;
        }
        match (&self.store, &other.store) {
            // One store: equal labels have equal ids.
            (Some(a), Some(b)) if Arc::ptr_eq(a, b) => self.ids() == other.ids(),
            _ => self.iter().eq(other.iter()),
        }
    }
}

impl Eq for LabelSet {}

impl LabelSet {
    /// Builds a set in a store of its own from labels already sorted by name, unique,
    /// non-empty.
    pub(crate) fn from_sorted<'a>(
        labels: impl Iterator<Item = (&'a str, &'a str)>,
        metadata: Metadata,
    ) -> Self {
        let mut store = LabelStore { metadata: vec![Arc::new(metadata)], ..Default::default() };
        let mut n = 0u32;
        for (k, v) in labels {
            let id = store.table.push_strings(k, v);
            store.refs.push(id);
            n += 1;
        }
        Self { store: Some(Arc::new(store)), start: 0, n, meta: 0 }
    }

    /// The series' metric family.
    #[inline]
    pub(crate) fn metadata(&self) -> &Metadata {
        self.store
            .as_deref()
            .and_then(|s| s.metadata.get(self.meta as usize))
            .map_or(&NO_METADATA, |m| m)
    }

    /// The label ids.
    #[inline]
    pub(crate) fn ids(&self) -> &[u32] {
        self.store.as_deref().map_or(&[], |s| self.ids_in(&s.refs))
    }

    /// The label ids, read from `refs`: the store's, or the converter's before the store
    /// exists. Empty if the set is not in `refs` (which no caller makes).
    #[inline]
    pub(crate) fn ids_in<'r>(&self, refs: &'r [u32]) -> &'r [u32] {
        refs.get(self.start..self.start + self.n as usize).unwrap_or(&[])
    }

    /// The table the ids point into.
    #[inline]
    pub(crate) fn table(&self) -> &LabelTable {
        self.store.as_deref().map_or(&NO_LABELS, |s| &s.table)
    }

    pub(crate) fn len(&self) -> usize {
        self.n as usize
    }

    pub(crate) fn iter(&self) -> Labels<'_> {
        Labels { table: self.table(), ids: self.ids().iter() }
    }

    /// Bytes of the set's RW 1.0 `labels` entries.
    pub(crate) fn wire_len(&self) -> usize {
        let (_, bounds) = self.table().wire_parts();
        crate::encode::labels_len_rw1(self.ids(), bounds)
    }
}

impl Ord for LabelSet {
    fn cmp(&self, other: &Self) -> Ordering {
        // Label by label: name, then value; a prefix sorts first.
        let same = matches!((&self.store, &other.store), (Some(a), Some(b)) if Arc::ptr_eq(a, b));
        if same {
            let t = self.table();
            let (a, b) = (self.ids(), other.ids());
            for (x, y) in a.iter().zip(b) {
                match t.cmp(*x, *y) {
                    Ordering::Equal => {}
                    o => return o,
                }
            }
            return a.len().cmp(&b.len());
        }
        let (mut a, mut b) = (self.iter(), other.iter());
        loop {
            match (a.next(), b.next()) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some((xk, xv)), Some((yk, yv))) => {
                    match xk.as_bytes().cmp(yk.as_bytes()).then(xv.as_bytes().cmp(yv.as_bytes())) {
                        Ordering::Equal => {}
                        o => return o,
                    }
                }
            }
        }
    }
}

impl PartialOrd for LabelSet {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for LabelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Iterator over a series' labels as `(name, value)`, sorted by name.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    table: &'a LabelTable,
    ids: std::slice::Iter<'a, u32>,
}

impl<'a> Iterator for Labels<'a> {
    type Item = (&'a str, &'a str);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.ids.next().map(|&id| self.table.get(id))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ids.size_hint()
    }
}

impl ExactSizeIterator for Labels<'_> {}

/// A list that holds its first element inline: most series carry exactly one sample, and this
/// saves an allocation for each.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Points<T> {
    #[default]
    Empty,
    One(T),
    Many(Vec<T>),
}

impl<T> From<Vec<T>> for Points<T> {
    fn from(mut v: Vec<T>) -> Self {
        match v.len() {
            0 => Self::Empty,
            1 => v.pop().map_or(Self::Empty, Self::One),
            _ => Self::Many(v),
        }
    }
}

impl<T> std::ops::Deref for Points<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Self::Empty => &[],
            Self::One(x) => std::slice::from_ref(x),
            Self::Many(v) => v,
        }
    }
}

impl<T> Points<T> {
    /// The elements as a `Vec`.
    pub(crate) fn into_vec(self) -> Vec<T> {
        match self {
            Self::Empty => Vec::new(),
            Self::One(x) => vec![x],
            Self::Many(v) => v,
        }
    }

    pub(crate) fn append(&mut self, other: Self) {
        match other {
            Self::Empty => {}
            Self::One(x) if matches!(self, Self::Empty) => *self = Self::One(x),
            other => {
                let mut v = std::mem::take(self).into_vec();
                v.extend(other.into_vec());
                *self = Self::Many(v);
            }
        }
    }
}

/// One Prometheus series: its labels (sorted, unique, with `__name__`), its samples or native
/// histograms in time order, its exemplars, and its family's metadata.
///
/// A series is self-contained, so any slice of series can be encoded as a request on its own.
#[derive(Clone)]
pub struct Series {
    pub(crate) labels: LabelSet,
    pub(crate) samples: Points<Sample>,
    pub(crate) histograms: Vec<NativeHistogram>,
    pub(crate) exemplars: Vec<Exemplar>,
}

impl PartialEq for Series {
    fn eq(&self, other: &Self) -> bool {
        self.labels == other.labels
            && self.metadata() == other.metadata()
            && self.samples == other.samples
            && self.histograms == other.histograms
            && self.exemplars == other.exemplars
    }
}

impl fmt::Debug for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Series")
            .field("labels", &self.labels)
            .field("metadata", self.metadata())
            .field("samples", &self.samples)
            .field("histograms", &self.histograms)
            .field("exemplars", &self.exemplars)
            .finish()
    }
}

/// Why [`Series::new`] refused a label set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidSeries {
    /// No `__name__` label, or an empty one.
    MissingName,
    /// A label name is empty.
    EmptyLabelName,
    /// The same label name is given twice.
    DuplicateLabel(String),
    /// A series must carry samples or histograms, not both.
    SamplesAndHistograms,
}

impl fmt::Display for InvalidSeries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingName => f.write_str("series has no __name__ label"),
            Self::EmptyLabelName => f.write_str("series has a label with an empty name"),
            Self::DuplicateLabel(n) => write!(f, "series has label {n:?} twice"),
            Self::SamplesAndHistograms => f.write_str("series has both samples and histograms"),
        }
    }
}

impl std::error::Error for InvalidSeries {}

impl Series {
    /// Builds a series by hand (for tests and callers with their own data). Labels may come in
    /// any order; empty values are dropped; samples and histograms are sorted by time.
    pub fn new(
        labels: &[(&str, &str)],
        metadata: Metadata,
        mut samples: Vec<Sample>,
        mut histograms: Vec<NativeHistogram>,
        exemplars: Vec<Exemplar>,
    ) -> Result<Self, InvalidSeries> {
        let mut sorted: Vec<(&str, &str)> =
            labels.iter().copied().filter(|(_, v)| !v.is_empty()).collect();
        sorted.sort_unstable();
        if sorted.iter().any(|(k, _)| k.is_empty()) {
            return Err(InvalidSeries::EmptyLabelName);
        }
        if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(InvalidSeries::DuplicateLabel(w[0].0.to_string()));
        }
        if !sorted.iter().any(|(k, _)| *k == "__name__") {
            return Err(InvalidSeries::MissingName);
        }
        if !samples.is_empty() && !histograms.is_empty() {
            return Err(InvalidSeries::SamplesAndHistograms);
        }
        samples.sort_by_key(|s| s.timestamp_ms);
        histograms.sort_by_key(|h| h.timestamp_ms);
        Ok(Self {
            labels: LabelSet::from_sorted(sorted.iter().copied(), metadata),
            samples: samples.into(),
            histograms,
            exemplars,
        })
    }

    /// The labels, sorted by name.
    pub fn labels(&self) -> Labels<'_> {
        self.labels.iter()
    }

    /// A hash of the labels (names and values), equal for equal label sets: for callers that
    /// look for the same series across several conversions. Stable within one build of this
    /// crate, not across versions.
    pub fn label_hash(&self) -> u64 {
        // Each label's hash was made when the label was added to its table.
        let table = self.labels.table();
        let mut h = 0u64;
        for &id in self.labels.ids() {
            h = (h.rotate_left(5) ^ table.content_hash(id)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        // The multiply leaves the low bits weak, and hash maps index by them.
        h ^ (h >> 29)
    }

    /// Whether two series have the same labels (cheap for series of one conversion).
    pub fn same_labels(&self, other: &Series) -> bool {
        self.labels == other.labels
    }

    /// The value of one label.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// The metric name (`__name__`).
    pub fn name(&self) -> &str {
        self.label("__name__").unwrap_or("")
    }

    /// Float samples, in time order.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Native histogram samples, in time order.
    pub fn histograms(&self) -> &[NativeHistogram] {
        &self.histograms
    }

    /// Exemplars, in time order.
    pub fn exemplars(&self) -> &[Exemplar] {
        &self.exemplars
    }

    /// The metric family's type, help and unit.
    pub fn metadata(&self) -> &Metadata {
        self.labels.metadata()
    }

    /// Number of float samples.
    pub fn sample_count(&self) -> usize {
        self.samples.len()
    }

    /// Number of native histogram samples.
    pub fn histogram_count(&self) -> usize {
        self.histograms.len()
    }

    /// Number of exemplars.
    pub fn exemplar_count(&self) -> usize {
        self.exemplars.len()
    }

    /// Bytes this series adds to an encoded RW 1.0 `WriteRequest` (its `TimeSeries` with the
    /// field key and length prefix), for size-based batching.
    pub fn encoded_len_rw1(&self) -> usize {
        crate::encode::series_len_rw1(self)
    }

    /// Renders the series in the Prometheus text exposition style, one line per sample:
    /// `name{label="value",...} value timestamp_ms`. See the [`Display`](fmt::Display) impl.
    pub fn exposition(&self) -> String {
        self.to_string()
    }
}

fn is_legacy_name(s: &str, metric: bool) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_' || (metric && b[0] == b':'))
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || (metric && c == b':'))
}

fn write_escaped(f: &mut fmt::Formatter<'_>, v: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in v.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '"' => f.write_str("\\\"")?,
            '\n' => f.write_str("\\n")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

fn write_value(f: &mut fmt::Formatter<'_>, v: f64) -> fmt::Result {
    if v.to_bits() == STALE_NAN_BITS {
        f.write_str("StaleNaN")
    } else if v.is_nan() {
        f.write_str("NaN")
    } else {
        let mut s = String::new();
        crate::value::write_double(v, &mut s);
        f.write_str(&s)
    }
}

fn write_spans(f: &mut fmt::Formatter<'_>, spans: &[BucketSpan], deltas: &[i64]) -> fmt::Result {
    f.write_str("[")?;
    for (i, s) in spans.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{{{},{}}}", s.offset, s.length)?;
    }
    f.write_str("] deltas [")?;
    for (i, d) in deltas.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{d}")?;
    }
    f.write_str("]")
}

impl Series {
    fn write_selector(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        let legacy = is_legacy_name(name, true);
        let mut first = true;
        if legacy {
            f.write_str(name)?;
        } else {
            f.write_str("{")?;
            write_escaped(f, name)?;
            first = false;
        }
        for (k, v) in self.labels().filter(|(k, _)| *k != "__name__") {
            f.write_str(if first { "{" } else { "," })?;
            first = false;
            if is_legacy_name(k, false) {
                f.write_str(k)?;
            } else {
                write_escaped(f, k)?;
            }
            f.write_str("=")?;
            write_escaped(f, v)?;
        }
        if !first {
            f.write_str("}")?;
        }
        Ok(())
    }
}

/// One line per sample or histogram: `name{label="value",...} value timestamp_ms`, with label
/// values escaped as in the text format (`\\`, `\"`, `\n`). Names that are not classic
/// Prometheus names are quoted inside the braces (`{"my.metric",a="b"}`), as Prometheus 3 does.
/// The stale marker prints as `StaleNaN`. A native histogram prints as
/// `{count:..,sum:..,schema:..,zero_threshold:..,zero_count:..,positive:[{offset,length}..]
/// deltas [..],negative:[..] deltas [..]}`. Exemplars follow as `# exemplar {labels} value ts`.
impl fmt::Display for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in self.samples.iter() {
            self.write_selector(f)?;
            f.write_str(" ")?;
            write_value(f, s.value)?;
            writeln!(f, " {}", s.timestamp_ms)?;
        }
        for h in &self.histograms {
            self.write_selector(f)?;
            write!(f, " {{count:{},sum:", h.count)?;
            write_value(f, h.sum)?;
            write!(f, ",schema:{},zero_threshold:", h.schema)?;
            write_value(f, h.zero_threshold)?;
            write!(f, ",zero_count:{},positive:", h.zero_count)?;
            write_spans(f, &h.positive_spans, &h.positive_deltas)?;
            f.write_str(",negative:")?;
            write_spans(f, &h.negative_spans, &h.negative_deltas)?;
            writeln!(f, "}} {}", h.timestamp_ms)?;
        }
        for e in &self.exemplars {
            f.write_str("# exemplar {")?;
            for (i, (k, v)) in e.labels.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                f.write_str(k)?;
                f.write_str("=")?;
                write_escaped(f, v)?;
            }
            f.write_str("} ")?;
            write_value(f, e.value)?;
            writeln!(f, " {}", e.timestamp_ms)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Metadata {
        Metadata { metric_family_name: "m".into(), kind: MetricKind::Gauge, ..Default::default() }
    }

    #[test]
    fn label_set_round_trips_and_orders() {
        let a = LabelSet::from_sorted([("__name__", "a"), ("x", "1")].into_iter(), meta());
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![("__name__", "a"), ("x", "1")]);
        assert_eq!(a.iter().len(), 2);
        let b = LabelSet::from_sorted([("__name__", "a"), ("x", "10")].into_iter(), meta());
        let c = LabelSet::from_sorted([("__name__", "ab")].into_iter(), meta());
        let d = LabelSet::from_sorted([("__name__", "a")].into_iter(), meta());
        assert!(a < b && b < c && d < a);
        let e = LabelSet::from_sorted([("a", "x\0b\0y")].into_iter(), meta());
        let g = LabelSet::from_sorted([("a", "x"), ("b", "y")].into_iter(), meta());
        assert_ne!(e, g);
        assert!(g < e);
        assert_eq!(e.iter().collect::<Vec<_>>(), vec![("a", "x\0b\0y")]);
        // The wire form is what prost writes for the labels.
        use prw_proto::prost::Message;
        let ts = prw_proto::rw1::TimeSeries {
            labels: a
                .iter()
                .map(|(n, v)| prw_proto::rw1::Label { name: n.into(), value: v.into() })
                .collect(),
            ..Default::default()
        };
        assert_eq!(a.wire_len(), ts.encode_to_vec().len());
    }

    #[test]
    fn long_strings_round_trip() {
        let long = "x".repeat(100_000);
        let a = LabelSet::from_sorted(
            [("__name__", long.as_str()), (long.as_str(), "1")].into_iter(),
            meta(),
        );
        assert_eq!(
            a.iter().collect::<Vec<_>>(),
            vec![("__name__", long.as_str()), (long.as_str(), "1")]
        );
    }

    #[test]
    fn new_validates() {
        assert_eq!(
            Series::new(&[("a", "b")], meta(), vec![], vec![], vec![]),
            Err(InvalidSeries::MissingName)
        );
        assert_eq!(
            Series::new(
                &[("__name__", "m"), ("a", "1"), ("a", "2")],
                meta(),
                vec![],
                vec![],
                vec![]
            ),
            Err(InvalidSeries::DuplicateLabel("a".into()))
        );
        assert_eq!(
            Series::new(&[("__name__", "m"), ("", "1")], meta(), vec![], vec![], vec![]),
            Err(InvalidSeries::EmptyLabelName)
        );
        let s = Series::new(
            &[("z", "1"), ("__name__", "m"), ("e", "")],
            meta(),
            vec![
                Sample { value: 2.0, timestamp_ms: 2, start_timestamp_ms: 0 },
                Sample { value: 1.0, timestamp_ms: 1, start_timestamp_ms: 0 },
            ],
            vec![],
            vec![],
        )
        .unwrap();
        assert_eq!(s.labels().collect::<Vec<_>>(), vec![("__name__", "m"), ("z", "1")]);
        assert_eq!(s.samples()[0].timestamp_ms, 1);
        assert_eq!(s.name(), "m");
        assert_eq!(s.sample_count(), 2);
    }

    #[test]
    fn exposition() {
        let stale = f64::from_bits(STALE_NAN_BITS);
        let s = Series::new(
            &[("__name__", "up"), ("job", "a\"b\\c\nd")],
            meta(),
            vec![
                Sample { value: 1.5, timestamp_ms: 1000, start_timestamp_ms: 0 },
                Sample { value: stale, timestamp_ms: 2000, start_timestamp_ms: 0 },
            ],
            vec![],
            vec![Exemplar {
                labels: vec![("trace_id".into(), "ab".into())],
                value: 1.0,
                timestamp_ms: 5,
            }],
        )
        .unwrap();
        assert_eq!(
            s.exposition(),
            "up{job=\"a\\\"b\\\\c\\nd\"} 1.5 1000\nup{job=\"a\\\"b\\\\c\\nd\"} StaleNaN 2000\n\
             # exemplar {trace_id=\"ab\"} 1 5\n"
        );
        let h = NativeHistogram {
            count: 4,
            sum: 10.1,
            schema: 1,
            zero_threshold: 1e-128,
            zero_count: 1,
            positive_spans: vec![BucketSpan { offset: 2, length: 2 }],
            positive_deltas: vec![1, 0],
            timestamp_ms: 500,
            ..Default::default()
        };
        let s =
            Series::new(&[("__name__", "my.hist"), ("a.b", "x")], meta(), vec![], vec![h], vec![])
                .unwrap();
        assert_eq!(
            s.exposition(),
            "{\"my.hist\",\"a.b\"=\"x\"} {count:4,sum:10.1,schema:1,zero_threshold:1e-128,zero_count:1,positive:[{2,2}] deltas [1,0],negative:[] deltas []} 500\n"
        );
        let bare = Series::new(
            &[("__name__", "x")],
            meta(),
            vec![Sample { value: -0.25, timestamp_ms: 1, start_timestamp_ms: 0 }],
            vec![],
            vec![],
        )
        .unwrap();
        assert_eq!(bare.exposition(), "x -0.25 1\n");
    }
}
