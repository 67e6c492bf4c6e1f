//! The spec checks: labels, samples, histograms, exemplars and metadata of each series, and the
//! per-series timestamp order across requests.

use std::collections::HashMap;

use prw_proto::rw1::Label;
use prw_proto::rw2;
use prw_proto::rw2::histogram::{Count, ZeroCount};
use prw_proto::rw2::metadata::MetricType;

use super::problem::{Problem, ProblemKind, Severity};
use super::request::{RemoteWriteVersion, Series};

/// The schema value of native histograms with custom bucket bounds.
pub(crate) const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// OpenMetrics' and Prometheus' limit on the length of an exemplar's labels, in characters.
const EXEMPLAR_LABELS_MAX_CHARS: usize = 128;

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub(crate) fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
pub(crate) fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The 1.0 name rules are MUSTs in 1.0 and SHOULDs in 2.0 (which allows any UTF-8).
fn name_rule_severity(version: RemoteWriteVersion) -> Severity {
    match version {
        RemoteWriteVersion::V1 => Severity::Error,
        RemoteWriteVersion::V2 => Severity::Warning,
    }
}

/// Checks a series' labels: present, named, unique, sorted, non-empty, valid names.
pub(crate) fn check_labels(
    version: RemoteWriteVersion,
    index: usize,
    labels: &[Label],
    problems: &mut Vec<Problem>,
) {
    let mut push = |p: Problem| problems.push(p.in_series(index));
    if labels.is_empty() {
        push(Problem::error(ProblemKind::NoLabels, "series has no labels"));
        return;
    }
    if !labels.iter().any(|l| l.name == "__name__") {
        push(Problem::error(
            ProblemKind::MissingName,
            "series has no __name__ label; Prometheus drops or rejects such series",
        ));
    }
    for label in labels {
        if label.name.is_empty() {
            push(Problem::error(
                ProblemKind::EmptyLabelName,
                format!("a label has an empty name (value {:?})", label.value),
            ));
        } else if label.name == "__name__" {
            if !label.value.is_empty() && !is_valid_metric_name(&label.value) {
                push(Problem::new(
                    name_rule_severity(version),
                    ProblemKind::InvalidMetricName,
                    format!(
                        "metric name {:?} does not match [a-zA-Z_:][a-zA-Z0-9_:]*",
                        label.value
                    ),
                ));
            }
        } else {
            if !is_valid_label_name(&label.name) {
                push(Problem::new(
                    name_rule_severity(version),
                    ProblemKind::InvalidLabelName,
                    format!("label name {:?} does not match [a-zA-Z_][a-zA-Z0-9_]*", label.name),
                ));
            }
            if label.name.starts_with("__") {
                push(Problem::warning(
                    ProblemKind::ReservedLabelName,
                    format!("label name {:?} uses the reserved __ prefix", label.name),
                ));
            }
        }
        if label.value.is_empty() {
            push(Problem::error(
                ProblemKind::EmptyLabelValue,
                format!("label {:?} has an empty value; leave the label out instead", label.name),
            ));
        }
    }
    let mut names: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
    names.sort_unstable();
    let mut repeated = names.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect::<Vec<_>>();
    repeated.dedup();
    for name in repeated {
        push(Problem::error(
            ProblemKind::DuplicateLabel,
            format!("label {name:?} appears more than once"),
        ));
    }
    let unsorted = labels
        .windows(2)
        .find(|pair| pair[0].name > pair[1].name)
        .map(|pair| (pair[0].name.clone(), pair[1].name.clone()));
    if let Some((a, b)) = unsorted {
        push(Problem::error(
            ProblemKind::UnsortedLabels,
            format!("labels are not sorted by name: {a:?} comes before {b:?}"),
        ));
    }
}

/// Checks what a series carries: samples or histograms (not none, not both), plausible
/// timestamps, consistent histograms, complete exemplars.
pub(crate) fn check_points(
    version: RemoteWriteVersion,
    index: usize,
    series: &Series,
    problems: &mut Vec<Problem>,
) {
    let v2_must = match version {
        RemoteWriteVersion::V1 => Severity::Warning,
        RemoteWriteVersion::V2 => Severity::Error,
    };
    let mut push = |p: Problem| problems.push(p.in_series(index));
    match (series.samples.is_empty(), series.histograms.is_empty()) {
        (true, true) => push(Problem::new(
            v2_must,
            ProblemKind::NoSamples,
            "series has neither samples nor histograms",
        )),
        (false, false) => push(Problem::new(
            v2_must,
            ProblemKind::SamplesAndHistograms,
            "series has both samples and histograms; send them as two series",
        )),
        _ => {}
    }
    let timestamps = series
        .samples
        .iter()
        .map(|s| (s.timestamp, s.start_timestamp))
        .chain(series.histograms.iter().map(|h| (h.timestamp, h.start_timestamp)));
    let mut implausible = None;
    let mut late_start = None;
    for (timestamp, start) in timestamps {
        if !is_plausible_millis(timestamp) && implausible.is_none() {
            implausible = Some(timestamp);
        }
        if start != 0 && start > timestamp && late_start.is_none() {
            late_start = Some((start, timestamp));
        }
    }
    if let Some(ts) = implausible {
        push(Problem::warning(
            ProblemKind::TimestampUnit,
            format!(
                "timestamp {ts} does not look like milliseconds since the epoch (seconds? \
                 microseconds? nanoseconds?)"
            ),
        ));
    }
    if let Some((start, ts)) = late_start {
        push(Problem::warning(
            ProblemKind::StartTimestamp,
            format!("start timestamp {start} is later than the sample's timestamp {ts}"),
        ));
    }
    for histogram in &series.histograms {
        for (severity, message) in histogram_problems(version, histogram) {
            push(Problem::new(
                severity,
                ProblemKind::InvalidHistogram,
                format!("histogram at {}: {message}", histogram.timestamp),
            ));
        }
    }
    for exemplar in &series.exemplars {
        if exemplar.timestamp == 0 {
            push(Problem::new(v2_must, ProblemKind::InvalidExemplar, "exemplar has no timestamp"));
        }
        let mut names: Vec<&str> = exemplar.labels.iter().map(|l| l.name.as_str()).collect();
        if names.iter().any(|n| n.is_empty()) {
            push(Problem::error(
                ProblemKind::InvalidExemplar,
                "exemplar has a label with an empty name",
            ));
        }
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            push(Problem::error(ProblemKind::InvalidExemplar, "exemplar repeats a label name"));
        }
        let chars: usize =
            exemplar.labels.iter().map(|l| l.name.chars().count() + l.value.chars().count()).sum();
        if chars > EXEMPLAR_LABELS_MAX_CHARS {
            push(Problem::warning(
                ProblemKind::InvalidExemplar,
                format!(
                    "exemplar labels are {chars} characters long; Prometheus drops exemplars \
                     over {EXEMPLAR_LABELS_MAX_CHARS}"
                ),
            ));
        }
    }
}

/// Milliseconds between 2001-09-09 (1e12) and the year 5138 (1e14): anything outside is more
/// likely seconds, microseconds or nanoseconds than a real time.
fn is_plausible_millis(ts: i64) -> bool {
    (1_000_000_000_000..100_000_000_000_000).contains(&ts)
}

/// What is wrong with one native histogram.
pub(crate) fn histogram_problems(
    version: RemoteWriteVersion,
    h: &rw2::Histogram,
) -> Vec<(Severity, String)> {
    let mut out = Vec::new();
    let custom = h.schema == CUSTOM_BUCKETS_SCHEMA;
    if custom {
        if version == RemoteWriteVersion::V1 {
            out.push((
                Severity::Warning,
                "custom buckets (schema -53) are not meant for RW 1.0 senders".to_owned(),
            ));
        }
    } else if !(-4..=8).contains(&h.schema) {
        out.push((
            Severity::Error,
            format!("schema {} is outside -4..8 (and is not -53, custom buckets)", h.schema),
        ));
    }
    let Some(count) = h.count else {
        out.push((Severity::Error, "no count".to_owned()));
        return out;
    };
    let is_int = matches!(count, Count::CountInt(_));
    let mixed = if is_int {
        !h.positive_counts.is_empty()
            || !h.negative_counts.is_empty()
            || matches!(h.zero_count, Some(ZeroCount::ZeroCountFloat(_)))
    } else {
        !h.positive_deltas.is_empty()
            || !h.negative_deltas.is_empty()
            || matches!(h.zero_count, Some(ZeroCount::ZeroCountInt(_)))
    };
    if mixed {
        out.push((
            Severity::Error,
            "mixes integer (count_int, *_deltas) and float (count_float, *_counts) fields"
                .to_owned(),
        ));
        return out;
    }
    if h.zero_threshold.is_nan() || h.zero_threshold < 0.0 {
        out.push((Severity::Error, format!("zero threshold {} is negative", h.zero_threshold)));
    }
    let sides = [
        ("positive", &h.positive_spans, &h.positive_deltas, &h.positive_counts),
        ("negative", &h.negative_spans, &h.negative_deltas, &h.negative_counts),
    ];
    let mut bucket_total = 0.0f64;
    let mut max_index: Option<i64> = None;
    for (side, spans, deltas, counts) in sides {
        let buckets = if is_int { deltas.len() } else { counts.len() };
        let span_total: u64 = spans.iter().map(|s| u64::from(s.length)).sum();
        if span_total != buckets as u64 {
            out.push((
                Severity::Error,
                format!("{side} spans cover {span_total} buckets but {buckets} are given"),
            ));
            continue;
        }
        if spans.iter().skip(1).any(|s| s.offset < 0) {
            out.push((
                Severity::Error,
                format!("a {side} span after the first has a negative offset"),
            ));
        }
        if let Some(last) = bucket_indexes(spans).last()
            && side == "positive"
        {
            max_index = Some(last);
        }
        if is_int {
            let mut absolute: i64 = 0;
            for delta in deltas.iter() {
                absolute = absolute.saturating_add(*delta);
                if absolute < 0 {
                    out.push((Severity::Error, format!("a {side} bucket count is negative")));
                    break;
                }
                bucket_total += absolute as f64;
            }
        } else {
            if counts.iter().any(|c| c.is_nan() || *c < 0.0) {
                out.push((Severity::Error, format!("a {side} bucket count is negative or NaN")));
            }
            bucket_total += counts.iter().filter(|c| c.is_finite()).sum::<f64>();
        }
    }
    let zero = match h.zero_count {
        Some(ZeroCount::ZeroCountInt(n)) => n as f64,
        Some(ZeroCount::ZeroCountFloat(n)) => n,
        None => 0.0,
    };
    bucket_total += zero;
    let total = match count {
        Count::CountInt(n) => n as f64,
        Count::CountFloat(n) => n,
    };
    // Observations of NaN count without landing in a bucket, so count may exceed the buckets'
    // sum but never fall short of it.
    if total + 1e-9 * bucket_total.max(1.0) < bucket_total {
        out.push((
            Severity::Error,
            format!("count {total} is less than the sum of the bucket counts {bucket_total}"),
        ));
    }
    if custom {
        if !h.negative_spans.is_empty() || zero != 0.0 {
            out.push((
                Severity::Error,
                "custom-bucket histograms have no negative or zero buckets".to_owned(),
            ));
        }
        if h.custom_values
            .windows(2)
            .any(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
            || h.custom_values.iter().any(|v| !v.is_finite())
        {
            out.push((
                Severity::Error,
                "custom_values must be finite and strictly increasing".to_owned(),
            ));
        }
        if let Some(max) = max_index
            && (max > h.custom_values.len() as i64 || max < 0)
        {
            out.push((
                Severity::Error,
                format!(
                    "bucket index {max} has no bound: there are {} custom_values",
                    h.custom_values.len()
                ),
            ));
        }
    } else if !h.custom_values.is_empty() {
        out.push((Severity::Error, "custom_values is only allowed with schema -53".to_owned()));
    }
    out
}

/// The absolute bucket indexes the spans describe, in order.
pub(crate) fn bucket_indexes(spans: &[rw2::BucketSpan]) -> impl Iterator<Item = i64> + '_ {
    let mut next: i64 = 0;
    spans.iter().flat_map(move |span| {
        let start = next + i64::from(span.offset);
        next = start + i64::from(span.length);
        start..next
    })
}

/// Checks that concern the request as a whole.
pub(crate) fn check_request(
    version: RemoteWriteVersion,
    series: &[Series],
    problems: &mut Vec<Problem>,
) {
    if version == RemoteWriteVersion::V1 {
        // An empty 1.0 request is how senders probe a receiver; nothing more to check.
        return;
    }
    if series.is_empty() {
        problems.push(Problem::warning(ProblemKind::EmptyRequest, "the request carries no series"));
        return;
    }
    let without = series.iter().filter(|s| s.metadata.is_none()).count();
    if without > 0 {
        problems.push(Problem::warning(
            ProblemKind::Metadata,
            format!("{without} of {} series carry no metadata (type, help, unit)", series.len()),
        ));
    }
    let unspecified = series
        .iter()
        .filter(|s| s.metadata.as_ref().is_some_and(|m| m.metric_type == MetricType::Unspecified))
        .count();
    if unspecified > 0 {
        problems.push(Problem::warning(
            ProblemKind::Metadata,
            format!(
                "{unspecified} series have metadata of type UNSPECIFIED; receivers may reject them"
            ),
        ));
    }
    let mut types: HashMap<&str, MetricType> = HashMap::new();
    for (index, s) in series.iter().enumerate() {
        let Some(meta) = &s.metadata else { continue };
        if let Some(previous) = types.insert(meta.family.as_str(), meta.metric_type)
            && previous != meta.metric_type
        {
            problems.push(
                Problem::warning(
                    ProblemKind::Metadata,
                    format!(
                        "family {:?} is sent as {} and as {}",
                        meta.family,
                        previous.as_str_name(),
                        meta.metric_type.as_str_name()
                    ),
                )
                .in_series(index),
            );
        }
    }
    let cumulative = series
        .iter()
        .filter(|s| {
            s.metadata.as_ref().is_some_and(|m| match m.metric_type {
                MetricType::Counter | MetricType::Histogram => true,
                // A summary's quantiles are gauges; only its _sum and _count accumulate.
                MetricType::Summary => s.label("quantile").is_none(),
                _ => false,
            })
        })
        .filter(|s| {
            s.samples.iter().any(|p| p.start_timestamp == 0)
                || s.histograms.iter().any(|h| h.start_timestamp == 0)
        })
        .count();
    if cumulative > 0 {
        problems.push(Problem::warning(
            ProblemKind::StartTimestamp,
            format!(
                "{cumulative} counter/histogram/summary series have samples without start_timestamp"
            ),
        ));
    }
}

/// The last point seen for a series.
#[derive(Debug, Clone, Copy)]
struct LastPoint {
    timestamp: i64,
    /// The bits of a float sample's value, or a hash of a histogram.
    value: u64,
    request: u64,
}

/// Remembers the newest timestamp of every series, to find samples that arrive out of order —
/// within one series, across series of one request and across requests.
#[derive(Debug, Default)]
pub(crate) struct OrderTracker {
    last: HashMap<String, LastPoint>,
}

impl OrderTracker {
    /// Records the series' samples and histograms, reporting the first out-of-order and the first
    /// duplicate timestamp.
    pub(crate) fn observe(
        &mut self,
        request: u64,
        index: usize,
        series: &Series,
        problems: &mut Vec<Problem>,
    ) {
        let key = series_key(&series.labels);
        let points = series
            .samples
            .iter()
            .map(|s| (s.timestamp, s.value.to_bits()))
            .chain(series.histograms.iter().map(|h| (h.timestamp, histogram_hash(h))));
        let mut out_of_order = 0usize;
        let mut first_ooo = None;
        let mut duplicate = None;
        let mut last = self.last.get(&key).copied();
        for (timestamp, value) in points {
            if let Some(prev) = last {
                if timestamp < prev.timestamp {
                    out_of_order += 1;
                    first_ooo.get_or_insert((timestamp, prev));
                    continue;
                }
                if timestamp == prev.timestamp && duplicate.is_none() {
                    let same_value = value == prev.value;
                    // The same sample again in a later request is a retry: fine. Anything else at
                    // the same time is a conflict a TSDB refuses.
                    if !(same_value && prev.request != request) {
                        duplicate = Some((timestamp, same_value, prev));
                    }
                }
            }
            last = Some(LastPoint { timestamp, value, request });
        }
        if let Some(newest) = last {
            self.last.insert(key, newest);
        }
        let whence = |prev: LastPoint| {
            if prev.request == request {
                "earlier in this request".to_owned()
            } else {
                format!("in request {}", prev.request)
            }
        };
        if let Some((timestamp, prev)) = first_ooo {
            problems.push(
                Problem::error(
                    ProblemKind::OutOfOrder,
                    format!(
                        "{out_of_order} point(s) out of order: {timestamp} is older than {} \
                         received {}",
                        prev.timestamp,
                        whence(prev)
                    ),
                )
                .in_series(index),
            );
        }
        if let Some((timestamp, same_value, prev)) = duplicate {
            let (severity, what) = if same_value {
                (Severity::Warning, "the same value is sent twice")
            } else {
                (Severity::Error, "two different values for one timestamp")
            };
            problems.push(
                Problem::new(
                    severity,
                    ProblemKind::DuplicateTimestamp,
                    format!("timestamp {timestamp} was already received {}: {what}", whence(prev)),
                )
                .in_series(index),
            );
        }
    }

    /// How many series are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.last.len()
    }
}

fn histogram_hash(h: &rw2::Histogram) -> u64 {
    use prw_proto::prost::Message;
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    h.encode_to_vec().hash(&mut hasher);
    hasher.finish()
}

/// A key that is the same for the same label set in any order.
fn series_key(labels: &[Label]) -> String {
    let mut pairs: Vec<(&str, &str)> =
        labels.iter().map(|l| (l.name.as_str(), l.value.as_str())).collect();
    pairs.sort_unstable();
    let mut key = String::with_capacity(pairs.iter().map(|(n, v)| n.len() + v.len() + 2).sum());
    for (name, value) in pairs {
        key.push_str(name);
        key.push('\u{0}');
        key.push_str(value);
        key.push('\u{0}');
    }
    key
}

#[cfg(test)]
#[allow(clippy::type_complexity)] // tables of cases
mod tests {
    use super::*;
    use crate::receiver::request::Exemplar;
    use prw_proto::rw2::BucketSpan;

    fn labels(pairs: &[(&str, &str)]) -> Vec<Label> {
        pairs.iter().map(|(n, v)| Label { name: (*n).into(), value: (*v).into() }).collect()
    }

    fn kinds(problems: &[Problem]) -> Vec<(ProblemKind, Severity)> {
        problems.iter().map(|p| (p.kind, p.severity)).collect()
    }

    #[test]
    fn names_follow_the_legacy_rules() {
        for (name, metric, label) in [
            ("up", true, true),
            ("http_requests_total", true, true),
            ("_x", true, true),
            ("a:b", true, false),
            (":a", true, false),
            ("1a", false, false),
            ("a.b", false, false),
            ("a-b", false, false),
            ("", false, false),
            ("é", false, false),
            ("a1", true, true),
        ] {
            assert_eq!(is_valid_metric_name(name), metric, "metric name {name:?}");
            assert_eq!(is_valid_label_name(name), label, "label name {name:?}");
        }
    }

    #[test]
    fn label_checks() {
        use ProblemKind as K;
        use Severity::{Error as E, Warning as W};
        let v1 = RemoteWriteVersion::V1;
        let v2 = RemoteWriteVersion::V2;
        let cases: Vec<(RemoteWriteVersion, Vec<(&str, &str)>, Vec<(ProblemKind, Severity)>)> = vec![
            (v1, vec![("__name__", "up"), ("job", "a")], vec![]),
            (v1, vec![], vec![(K::NoLabels, E)]),
            (v1, vec![("job", "a")], vec![(K::MissingName, E)]),
            (v1, vec![("__name__", "up"), ("a", "")], vec![(K::EmptyLabelValue, E)]),
            (v1, vec![("", "x"), ("__name__", "up")], vec![(K::EmptyLabelName, E)]),
            (v1, vec![("__name__", "up"), ("b", "1"), ("a", "2")], vec![(K::UnsortedLabels, E)]),
            (v1, vec![("__name__", "up"), ("a", "1"), ("a", "1")], vec![(K::DuplicateLabel, E)]),
            (
                v1,
                vec![("__name__", "up"), ("job", "x"), ("__name__", "up")],
                vec![(K::DuplicateLabel, E), (K::UnsortedLabels, E)],
            ),
            (v1, vec![("__name__", "http.requests")], vec![(K::InvalidMetricName, E)]),
            (v2, vec![("__name__", "http.requests")], vec![(K::InvalidMetricName, W)]),
            (v1, vec![("__name__", "up"), ("http.route", "/")], vec![(K::InvalidLabelName, E)]),
            (v2, vec![("__name__", "up"), ("http.route", "/")], vec![(K::InvalidLabelName, W)]),
            (v1, vec![("__meta", "x"), ("__name__", "up")], vec![(K::ReservedLabelName, W)]),
            (v2, vec![("__name__", "ünïcödé_ok"), ("a", "ü\n\"")], vec![(K::InvalidMetricName, W)]),
            (
                v1,
                vec![("job", ""), ("__name__", "up"), ("job", "x")],
                vec![(K::EmptyLabelValue, E), (K::DuplicateLabel, E), (K::UnsortedLabels, E)],
            ),
        ];
        for (version, input, expected) in cases {
            let mut problems = Vec::new();
            check_labels(version, 7, &labels(&input), &mut problems);
            assert_eq!(kinds(&problems), expected, "labels {input:?} ({version})");
            assert!(problems.iter().all(|p| p.series == Some(7)));
        }
    }

    fn sample(timestamp: i64, value: f64) -> rw2::Sample {
        rw2::Sample { value, timestamp, start_timestamp: 0 }
    }

    fn int_histogram(timestamp: i64) -> rw2::Histogram {
        // buckets 1 (index 0) and 2 (index 1) at schema 0, plus 1 in the zero bucket
        rw2::Histogram {
            count: Some(Count::CountInt(4)),
            sum: 3.5,
            schema: 0,
            zero_threshold: 1e-128,
            zero_count: Some(ZeroCount::ZeroCountInt(1)),
            positive_spans: vec![BucketSpan { offset: 0, length: 2 }],
            positive_deltas: vec![1, 1],
            timestamp,
            ..Default::default()
        }
    }

    const T: i64 = 1_700_000_000_000;

    #[test]
    fn point_checks() {
        use ProblemKind as K;
        use Severity::{Error as E, Warning as W};
        let v1 = RemoteWriteVersion::V1;
        let v2 = RemoteWriteVersion::V2;
        let base = Series { labels: labels(&[("__name__", "x")]), ..Default::default() };
        let with = |f: &dyn Fn(&mut Series)| {
            let mut s = base.clone();
            f(&mut s);
            s
        };
        let cases: Vec<(RemoteWriteVersion, Series, Vec<(ProblemKind, Severity)>)> = vec![
            (v2, with(&|s| s.samples = vec![sample(T, 1.0)]), vec![]),
            (v2, base.clone(), vec![(K::NoSamples, E)]),
            (v1, base.clone(), vec![(K::NoSamples, W)]),
            (
                v2,
                with(&|s| {
                    s.samples = vec![sample(T, 1.0)];
                    s.histograms = vec![int_histogram(T)];
                }),
                vec![(K::SamplesAndHistograms, E)],
            ),
            (
                v2,
                with(&|s| s.samples = vec![sample(1_700_000_000, 1.0)]),
                vec![(K::TimestampUnit, W)],
            ),
            (
                v2,
                with(&|s| s.samples = vec![sample(1_700_000_000_000_000_000, 1.0)]),
                vec![(K::TimestampUnit, W)],
            ),
            (
                v2,
                with(&|s| {
                    s.samples =
                        vec![rw2::Sample { value: 1.0, timestamp: T, start_timestamp: T + 1 }]
                }),
                vec![(K::StartTimestamp, W)],
            ),
            (v2, with(&|s| s.histograms = vec![int_histogram(T)]), vec![]),
            (
                v2,
                with(&|s| {
                    s.samples = vec![sample(T, 1.0)];
                    s.exemplars = vec![Exemplar {
                        labels: labels(&[("trace_id", "ab")]),
                        value: 1.0,
                        timestamp: 0,
                    }];
                }),
                vec![(K::InvalidExemplar, E)],
            ),
            (
                v1,
                with(&|s| {
                    s.samples = vec![sample(T, 1.0)];
                    s.exemplars = vec![Exemplar {
                        labels: labels(&[("a", "1"), ("a", "2"), ("", "x")]),
                        value: 1.0,
                        timestamp: T,
                    }];
                }),
                vec![(K::InvalidExemplar, E), (K::InvalidExemplar, E)],
            ),
            (
                v2,
                with(&|s| {
                    s.samples = vec![sample(T, 1.0)];
                    s.exemplars = vec![Exemplar {
                        labels: labels(&[("trace_id", &"a".repeat(130))]),
                        value: 1.0,
                        timestamp: T,
                    }];
                }),
                vec![(K::InvalidExemplar, W)],
            ),
        ];
        for (i, (version, series, expected)) in cases.into_iter().enumerate() {
            let mut problems = Vec::new();
            check_points(version, 0, &series, &mut problems);
            assert_eq!(kinds(&problems), expected, "case {i}: {problems:?}");
        }
    }

    #[test]
    fn histogram_checks() {
        let v2 = RemoteWriteVersion::V2;
        let ok = int_histogram(T);
        let with = |f: &dyn Fn(&mut rw2::Histogram)| {
            let mut h = ok.clone();
            f(&mut h);
            h
        };
        let float = rw2::Histogram {
            count: Some(Count::CountFloat(4.0)),
            sum: 3.5,
            schema: 3,
            zero_count: Some(ZeroCount::ZeroCountFloat(1.0)),
            negative_spans: vec![
                BucketSpan { offset: -2, length: 1 },
                BucketSpan { offset: 3, length: 1 },
            ],
            negative_counts: vec![1.0, 2.0],
            timestamp: T,
            ..Default::default()
        };
        let custom = rw2::Histogram {
            count: Some(Count::CountInt(3)),
            sum: 1.0,
            schema: CUSTOM_BUCKETS_SCHEMA,
            positive_spans: vec![BucketSpan { offset: 0, length: 3 }],
            positive_deltas: vec![1, 0, 0],
            custom_values: vec![0.1, 0.5],
            timestamp: T,
            ..Default::default()
        };
        let cases: Vec<(&str, rw2::Histogram, Vec<&str>)> = vec![
            ("valid integer", ok.clone(), vec![]),
            ("valid float", float.clone(), vec![]),
            ("valid custom", custom.clone(), vec![]),
            (
                "NaN observations make count larger",
                with(&|h| h.count = Some(Count::CountInt(9))),
                vec![],
            ),
            ("no count", with(&|h| h.count = None), vec!["no count"]),
            ("schema", with(&|h| h.schema = 9), vec!["schema 9"]),
            (
                "count too small",
                with(&|h| h.count = Some(Count::CountInt(3))),
                vec!["less than the sum"],
            ),
            (
                "spans vs buckets",
                with(&|h| h.positive_deltas = vec![1]),
                vec!["cover 2 buckets but 1"],
            ),
            ("negative bucket", with(&|h| h.positive_deltas = vec![1, -2]), vec!["negative"]),
            ("mixed", with(&|h| h.positive_counts = vec![1.0]), vec!["mixes integer"]),
            (
                "later span with negative offset",
                with(&|h| {
                    h.positive_spans = vec![
                        BucketSpan { offset: 0, length: 1 },
                        BucketSpan { offset: -1, length: 1 },
                    ]
                }),
                vec!["negative offset"],
            ),
            ("negative zero threshold", with(&|h| h.zero_threshold = -1.0), vec!["zero threshold"]),
            (
                "custom values on exponential",
                with(&|h| h.custom_values = vec![1.0]),
                vec!["only allowed with schema -53"],
            ),
            (
                "custom bucket beyond bounds",
                rw2::Histogram {
                    positive_spans: vec![BucketSpan { offset: 0, length: 4 }],
                    positive_deltas: vec![1, -1, 0, 0],
                    count: Some(Count::CountInt(1)),
                    ..custom.clone()
                },
                vec!["bucket index 3 has no bound"],
            ),
            (
                "custom values not increasing",
                rw2::Histogram { custom_values: vec![0.5, 0.1], ..custom.clone() },
                vec!["strictly increasing"],
            ),
            (
                "custom with zero bucket",
                rw2::Histogram {
                    zero_count: Some(ZeroCount::ZeroCountInt(1)),
                    count: Some(Count::CountInt(4)),
                    ..custom.clone()
                },
                vec!["no negative or zero buckets"],
            ),
        ];
        for (name, histogram, expected) in cases {
            let found = histogram_problems(v2, &histogram);
            assert_eq!(found.len(), expected.len(), "{name}: {found:?}");
            for ((severity, message), want) in found.iter().zip(expected) {
                assert_eq!(*severity, Severity::Error, "{name}");
                assert!(message.contains(want), "{name}: {message:?} should contain {want:?}");
            }
        }
        let v1_custom = histogram_problems(RemoteWriteVersion::V1, &custom);
        assert_eq!(v1_custom.len(), 1);
        assert_eq!(v1_custom[0].0, Severity::Warning);
    }

    #[test]
    fn bucket_indexes_follow_spans() {
        let spans = [BucketSpan { offset: -2, length: 2 }, BucketSpan { offset: 3, length: 1 }];
        assert_eq!(bucket_indexes(&spans).collect::<Vec<_>>(), vec![-2, -1, 3]);
        assert_eq!(bucket_indexes(&[]).count(), 0);
    }

    fn series(pairs: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
        Series {
            labels: labels(pairs),
            samples: points.iter().map(|(t, v)| sample(*t, *v)).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn order_is_tracked_within_and_across_requests() {
        use ProblemKind as K;
        use Severity::{Error as E, Warning as W};
        let a = [("__name__", "a")];
        // (request, series, expected)
        let steps: Vec<(u64, Series, Vec<(ProblemKind, Severity)>)> = vec![
            (1, series(&a, &[(T, 1.0), (T + 10, 2.0)]), vec![]),
            // a retry of the same sample is fine
            (2, series(&a, &[(T + 10, 2.0), (T + 20, 3.0)]), vec![]),
            // older than what request 2 delivered
            (3, series(&a, &[(T + 15, 4.0)]), vec![(K::OutOfOrder, E)]),
            // a different value for a known timestamp
            (4, series(&a, &[(T + 20, 5.0)]), vec![(K::DuplicateTimestamp, E)]),
            // out of order within one series
            (
                5,
                series(&a, &[(T + 40, 1.0), (T + 30, 1.0), (T + 35, 1.0)]),
                vec![(K::OutOfOrder, E)],
            ),
            // the same sample twice in one request
            (6, series(&a, &[(T + 50, 1.0), (T + 50, 1.0)]), vec![(K::DuplicateTimestamp, W)]),
            // label order does not make a different series
            (7, series(&[("job", "x"), ("__name__", "b")], &[(T, 1.0)]), vec![]),
            (
                8,
                series(&[("__name__", "b"), ("job", "x")], &[(T - 1, 1.0)]),
                vec![(K::OutOfOrder, E)],
            ),
            // another series is independent
            (9, series(&[("__name__", "c")], &[(T - 100, 1.0)]), vec![]),
        ];
        let mut tracker = OrderTracker::default();
        for (request, s, expected) in steps {
            let mut problems = Vec::new();
            tracker.observe(request, 0, &s, &mut problems);
            assert_eq!(kinds(&problems), expected, "request {request}: {problems:?}");
        }
        assert_eq!(tracker.len(), 3);
        let mut problems = Vec::new();
        tracker.observe(10, 3, &series(&a, &[(T, 0.0), (T + 1, 0.0)]), &mut problems);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.starts_with("2 point(s) out of order"),
            "{}",
            problems[0].message
        );
        assert!(problems[0].message.contains("in request 6"), "{}", problems[0].message);
        assert_eq!(problems[0].series, Some(3));
    }

    #[test]
    fn histogram_retries_are_not_conflicts() {
        let mut tracker = OrderTracker::default();
        let s = Series {
            labels: labels(&[("__name__", "h")]),
            histograms: vec![int_histogram(T)],
            ..Default::default()
        };
        let mut problems = Vec::new();
        tracker.observe(1, 0, &s, &mut problems);
        tracker.observe(2, 0, &s, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let mut changed = s.clone();
        changed.histograms[0].sum = 99.0;
        tracker.observe(3, 0, &changed, &mut problems);
        assert_eq!(kinds(&problems), vec![(ProblemKind::DuplicateTimestamp, Severity::Error)]);
    }

    #[test]
    fn request_checks() {
        use crate::receiver::request::MetricMetadata;
        let meta = |t: MetricType| {
            Some(MetricMetadata {
                family: "x".into(),
                metric_type: t,
                help: String::new(),
                unit: String::new(),
            })
        };
        let mut counter = series(&[("__name__", "x")], &[(T, 1.0)]);
        counter.metadata = meta(MetricType::Counter);
        let mut gauge = counter.clone();
        gauge.metadata = meta(MetricType::Gauge);
        gauge.samples[0].start_timestamp = T - 1;
        let mut unspecified = gauge.clone();
        unspecified.metadata = meta(MetricType::Unspecified);
        let bare = series(&[("__name__", "y")], &[(T, 1.0)]);
        let mut quantile = series(&[("__name__", "s"), ("quantile", "0.5")], &[(T, 1.0)]);
        quantile.metadata = meta(MetricType::Summary);
        quantile.metadata.as_mut().unwrap().family = "s".into();

        let mut problems = Vec::new();
        check_request(RemoteWriteVersion::V1, &[], &mut problems);
        check_request(RemoteWriteVersion::V1, std::slice::from_ref(&bare), &mut problems);
        assert!(problems.is_empty(), "RW 1.0 has no request-level rules here: {problems:?}");

        check_request(RemoteWriteVersion::V2, &[], &mut problems);
        assert_eq!(kinds(&problems), vec![(ProblemKind::EmptyRequest, Severity::Warning)]);

        let mut problems = Vec::new();
        check_request(
            RemoteWriteVersion::V2,
            &[counter, gauge, unspecified, bare, quantile],
            &mut problems,
        );
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(problems.len(), 5, "{messages:?}");
        assert!(messages[0].starts_with("1 of 5 series carry no metadata"), "{messages:?}");
        assert!(messages[1].starts_with("1 series have metadata of type UNSPECIFIED"));
        assert!(messages[2].contains("METRIC_TYPE_COUNTER and as METRIC_TYPE_GAUGE"));
        assert!(messages[3].contains("METRIC_TYPE_GAUGE and as METRIC_TYPE_UNSPECIFIED"));
        assert!(messages[4].starts_with("1 counter/histogram/summary series"));
    }
}
