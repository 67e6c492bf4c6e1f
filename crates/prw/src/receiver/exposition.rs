//! Rendering in the Prometheus exposition style: `name{label="value",...} value timestamp_ms`.
//!
//! Floats are written as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes them (the form
//! Prometheus' text exposition uses: `42`, `0.25`, `1.5e+06`), special values as `NaN`, `+Inf`,
//! `-Inf`, and the stale marker as `StaleNaN`. Native histograms are written the way Prometheus
//! prints them: `{count:10, sum:25.5, [-4,-2):1, [-0.001,0.001]:2, (0.5,1]:3}`.

use std::fmt::{self, Write as _};

use prw_proto::rw1::Label;
use prw_proto::rw2;
use prw_proto::rw2::histogram::{Count, ZeroCount};
use prw_proto::rw2::metadata::MetricType;

use super::check::{
    CUSTOM_BUCKETS_SCHEMA, bucket_indexes, is_valid_label_name, is_valid_metric_name,
};
use super::request::{Exemplar, MetricMetadata, Series};

/// The bit pattern of Prometheus' stale marker.
const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Formats a sample value the way Prometheus' text exposition does (Go's `'g'` format with the
/// shortest precision), with `StaleNaN` for the stale marker.
///
/// ```
/// use prw::receiver::format_value;
/// assert_eq!(format_value(42.0), "42");
/// assert_eq!(format_value(1234567.0), "1.234567e+06");
/// assert_eq!(format_value(0.00001), "1e-05");
/// assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
/// assert_eq!(format_value(f64::from_bits(0x7ff0_0000_0000_0002)), "StaleNaN");
/// ```
pub fn format_value(value: f64) -> String {
    if value.to_bits() == STALE_NAN_BITS {
        return "StaleNaN".to_owned();
    }
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let sign = if value.is_sign_negative() { "-" } else { "" };
    if value == 0.0 {
        return format!("{sign}0");
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, like Go's shortest mode; only the
    // layout differs.
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(digits.len() + 8);
    out.push_str(sign);
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ =
            write!(out, "e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.unsigned_abs());
    } else {
        let point = exponent + 1; // digits before the decimal point
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            out.push_str(&digits);
        } else if point as usize >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
        } else {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        }
    }
    out
}

fn write_quoted(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    out.write_char('"')?;
    for c in text.chars() {
        match c {
            '\\' => out.write_str("\\\\")?,
            '"' => out.write_str("\\\"")?,
            '\n' => out.write_str("\\n")?,
            c => out.write_char(c)?,
        }
    }
    out.write_char('"')
}

/// Writes `label="value",...` between braces; names that are not valid legacy names are quoted.
fn write_label_set(
    out: &mut impl fmt::Write,
    labels: &[&Label],
    quoted_name: Option<&str>,
) -> fmt::Result {
    out.write_char('{')?;
    let mut first = true;
    if let Some(name) = quoted_name {
        write_quoted(out, name)?;
        first = false;
    }
    for label in labels {
        if !first {
            out.write_char(',')?;
        }
        first = false;
        if is_valid_label_name(&label.name) {
            out.write_str(&label.name)?;
        } else {
            write_quoted(out, &label.name)?;
        }
        out.write_char('=')?;
        write_quoted(out, &label.value)?;
    }
    out.write_char('}')
}

/// Writes a series' identity: `name{label="v",...}`, `{"dotted.name",label="v"}` for a name that
/// is not a legacy metric name (the Prometheus 3 form), `{label="v"}` without a name.
///
/// Labels stay in the order given (minus the first `__name__`), so that unsorted input shows.
pub fn write_series_name(out: &mut impl fmt::Write, labels: &[Label]) -> fmt::Result {
    let name_at = labels.iter().position(|l| l.name == "__name__");
    let rest: Vec<&Label> =
        labels.iter().enumerate().filter(|(i, _)| Some(*i) != name_at).map(|(_, l)| l).collect();
    match name_at.map(|i| labels[i].value.as_str()) {
        Some(name) if is_valid_metric_name(name) => {
            out.write_str(name)?;
            if rest.is_empty() { Ok(()) } else { write_label_set(out, &rest, None) }
        }
        Some(name) => write_label_set(out, &rest, Some(name)),
        None => write_label_set(out, &rest, None),
    }
}

/// One bucket of a native histogram, with absolute bounds and count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramBucket {
    /// The lower bound.
    pub lower: f64,
    /// The upper bound.
    pub upper: f64,
    /// Whether `lower` belongs to the bucket (negative and zero buckets).
    pub lower_inclusive: bool,
    /// Whether `upper` belongs to the bucket (positive and zero buckets).
    pub upper_inclusive: bool,
    /// The number of observations in the bucket (deltas already added up).
    pub count: f64,
}

/// The buckets of a native histogram from lowest to highest: negative buckets, the zero bucket
/// (when its count is not 0), positive buckets. Custom buckets (schema -53) run from `-Inf` to
/// `+Inf`. Buckets the spans list are all returned, also those with count 0.
pub fn histogram_buckets(h: &rw2::Histogram) -> Vec<HistogramBucket> {
    let is_int = matches!(h.count, Some(Count::CountInt(_)));
    let mut out = Vec::new();
    let negative =
        absolute_counts(&h.negative_spans, &h.negative_deltas, &h.negative_counts, is_int);
    for (index, count) in negative.into_iter().rev() {
        out.push(HistogramBucket {
            lower: -bound(h, index),
            upper: -bound(h, index - 1),
            lower_inclusive: true,
            upper_inclusive: false,
            count,
        });
    }
    let zero = match h.zero_count {
        Some(ZeroCount::ZeroCountInt(n)) => n as f64,
        Some(ZeroCount::ZeroCountFloat(n)) => n,
        None => 0.0,
    };
    if zero != 0.0 {
        out.push(HistogramBucket {
            lower: -h.zero_threshold,
            upper: h.zero_threshold,
            lower_inclusive: true,
            upper_inclusive: true,
            count: zero,
        });
    }
    for (index, count) in
        absolute_counts(&h.positive_spans, &h.positive_deltas, &h.positive_counts, is_int)
    {
        out.push(HistogramBucket {
            lower: bound(h, index - 1),
            upper: bound(h, index),
            lower_inclusive: false,
            upper_inclusive: true,
            count,
        });
    }
    out
}

/// Renders a native histogram as Prometheus prints one:
/// `{count:10, sum:25.5, [-4,-2):1, [-0.001,0.001]:2, (0.5,1]:3}`.
///
/// Positive buckets are `(lower,upper]`, negative ones `[lower,upper)`, the zero bucket
/// `[-threshold,threshold]`; custom buckets (schema -53) run from `-Inf` to `+Inf`.
pub fn format_histogram(h: &rw2::Histogram) -> String {
    let mut out = String::new();
    let count = match h.count {
        Some(Count::CountInt(n)) => n.to_string(),
        Some(Count::CountFloat(n)) => format_value(n),
        None => "?".to_owned(),
    };
    let _ = write!(out, "{{count:{count}, sum:{}", format_value(h.sum));
    for b in histogram_buckets(h) {
        let _ = write!(
            out,
            ", {}{},{}{}:{}",
            if b.lower_inclusive { '[' } else { '(' },
            format_value(b.lower),
            format_value(b.upper),
            if b.upper_inclusive { ']' } else { ')' },
            format_value(b.count)
        );
    }
    out.push('}');
    out
}

/// `(index, count)` of every bucket the spans describe, counts made absolute.
fn absolute_counts(
    spans: &[rw2::BucketSpan],
    deltas: &[i64],
    counts: &[f64],
    is_int: bool,
) -> Vec<(i64, f64)> {
    let mut absolute: i64 = 0;
    bucket_indexes(spans)
        .enumerate()
        .map(|(i, index)| {
            let count = if is_int {
                absolute = absolute.saturating_add(deltas.get(i).copied().unwrap_or(0));
                absolute as f64
            } else {
                counts.get(i).copied().unwrap_or(f64::NAN)
            };
            (index, count)
        })
        .collect()
}

/// The upper bound of bucket `index` (for a positive bucket; negate for a negative one).
fn bound(h: &rw2::Histogram, index: i64) -> f64 {
    if h.schema == CUSTOM_BUCKETS_SCHEMA {
        return usize::try_from(index)
            .ok()
            .and_then(|i| h.custom_values.get(i).copied())
            .unwrap_or(if index < 0 { f64::NEG_INFINITY } else { f64::INFINITY });
    }
    if h.schema <= 0 {
        // Bound = 2^(index · 2^-schema).
        (index as f64 * f64::from(1u32 << (-h.schema).clamp(0, 31))).exp2()
    } else {
        // Split the exponent so that powers of two stay exact.
        let per_octave = 1i64 << h.schema.clamp(0, 62);
        let octave = index.div_euclid(per_octave);
        let step = index.rem_euclid(per_octave);
        (octave as f64).exp2() * (step as f64 / per_octave as f64).exp2()
    }
}

fn write_timestamp_suffix(out: &mut fmt::Formatter<'_>, timestamp: i64, start: i64) -> fmt::Result {
    write!(out, " {timestamp}")?;
    if start != 0 {
        write!(out, " # start {start}")?;
    }
    Ok(())
}

impl fmt::Display for Series {
    /// One line per sample and per histogram, then one `# exemplar` line per exemplar, separated
    /// by newlines (no newline after the last).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut name = String::new();
        write_series_name(&mut name, &self.labels)?;
        let mut first = true;
        let mut line_break = |f: &mut fmt::Formatter<'_>| {
            let was_first = first;
            first = false;
            if was_first { Ok(()) } else { f.write_char('\n') }
        };
        for sample in &self.samples {
            line_break(f)?;
            write!(f, "{name} {}", format_value(sample.value))?;
            write_timestamp_suffix(f, sample.timestamp, sample.start_timestamp)?;
        }
        for histogram in &self.histograms {
            line_break(f)?;
            write!(f, "{name} {}", format_histogram(histogram))?;
            write_timestamp_suffix(f, histogram.timestamp, histogram.start_timestamp)?;
        }
        for exemplar in &self.exemplars {
            line_break(f)?;
            write!(f, "# exemplar {name} {exemplar}")?;
        }
        if first {
            write!(f, "{name} # no samples")?;
        }
        Ok(())
    }
}

impl fmt::Display for Exemplar {
    /// `{trace_id="…",span_id="…"} value timestamp`, as in OpenMetrics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let labels: Vec<&Label> = self.labels.iter().collect();
        let mut text = String::new();
        write_label_set(&mut text, &labels, None)?;
        write!(f, "{text} {} {}", format_value(self.value), self.timestamp)
    }
}

/// The exposition name of a metric type: `counter`, `gauge`, `histogram`, ...
pub fn metric_type_name(metric_type: MetricType) -> &'static str {
    match metric_type {
        MetricType::Unspecified => "unknown",
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
        MetricType::Gaugehistogram => "gaugehistogram",
        MetricType::Summary => "summary",
        MetricType::Info => "info",
        MetricType::Stateset => "stateset",
    }
}

impl fmt::Display for MetricMetadata {
    /// `# TYPE`, then `# HELP` and `# UNIT` when set, one per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "# TYPE {} {}", self.family, metric_type_name(self.metric_type))?;
        if !self.help.is_empty() {
            let help = self.help.replace('\\', "\\\\").replace('\n', "\\n");
            write!(f, "\n# HELP {} {help}", self.family)?;
        }
        if !self.unit.is_empty() {
            write!(f, "\n# UNIT {} {}", self.family, self.unit)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prw_proto::rw2::BucketSpan;

    #[test]
    fn values_are_formatted_like_go() {
        // Expected strings are Go's strconv.FormatFloat(v, 'g', -1, 64).
        for (value, expected) in [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (42.0, "42"),
            (-15.5, "-15.5"),
            (123.45, "123.45"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.23e-4, "0.000123"),
            (999999.0, "999999"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (100000.0, "100000"),
            (1.797e308, "1.797e+308"),
            (2.225e-308, "2.225e-308"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (1e21, "1e+21"),
            (0.3, "0.3"),
            (1.0 / 3.0, "0.3333333333333333"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (f64::from_bits(0x7ff8_0000_0000_0001), "NaN"),
            (f64::from_bits(0x7ff0_0000_0000_0002), "StaleNaN"),
        ] {
            assert_eq!(format_value(value), expected, "{value:e}");
        }
    }

    fn label(name: &str, value: &str) -> Label {
        Label { name: name.into(), value: value.into() }
    }

    #[test]
    fn series_names() {
        for (labels, expected) in [
            (vec![label("__name__", "up")], "up"),
            (vec![label("__name__", "up"), label("job", "a")], r#"up{job="a"}"#),
            (
                vec![label("job", "a"), label("__name__", "up"), label("i", "b")],
                r#"up{job="a",i="b"}"#,
            ),
            (vec![label("job", "a")], r#"{job="a"}"#),
            (vec![], "{}"),
            (
                vec![label("__name__", "http.server.duration"), label("a", "1")],
                r#"{"http.server.duration",a="1"}"#,
            ),
            (vec![label("__name__", "x"), label("http.route", "/")], r#"x{"http.route"="/"}"#),
            (vec![label("__name__", "x"), label("v", "a\"b\\c\nd")], r#"x{v="a\"b\\c\nd"}"#),
            (vec![label("__name__", "x"), label("__name__", "y")], r#"x{__name__="y"}"#),
        ] {
            let mut out = String::new();
            write_series_name(&mut out, &labels).unwrap();
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn native_histograms_read_like_prometheus() {
        let h = rw2::Histogram {
            count: Some(Count::CountInt(9)),
            sum: 12.5,
            schema: 0,
            zero_threshold: 0.001,
            zero_count: Some(ZeroCount::ZeroCountInt(2)),
            negative_spans: vec![BucketSpan { offset: 1, length: 1 }],
            negative_deltas: vec![1],
            positive_spans: vec![
                BucketSpan { offset: 0, length: 2 },
                BucketSpan { offset: 1, length: 1 },
            ],
            positive_deltas: vec![1, 2, -1],
            ..Default::default()
        };
        assert_eq!(
            format_histogram(&h),
            "{count:9, sum:12.5, [-2,-1):1, [-0.001,0.001]:2, (0.5,1]:1, (1,2]:3, (4,8]:2}"
        );
        let float = rw2::Histogram {
            count: Some(Count::CountFloat(3.5)),
            sum: 1.0,
            schema: 2,
            positive_spans: vec![BucketSpan { offset: -1, length: 3 }],
            positive_counts: vec![1.0, 2.0, 0.5],
            ..Default::default()
        };
        // schema 2: bounds are 2^(i/4)
        assert_eq!(
            format_histogram(&float),
            "{count:3.5, sum:1, (0.7071067811865476,0.8408964152537145]:1, (0.8408964152537145,1]:2, \
             (1,1.189207115002721]:0.5}"
        );
        let custom = rw2::Histogram {
            count: Some(Count::CountInt(3)),
            sum: 0.7,
            schema: CUSTOM_BUCKETS_SCHEMA,
            positive_spans: vec![BucketSpan { offset: 0, length: 3 }],
            positive_deltas: vec![1, 0, 0],
            custom_values: vec![0.1, 0.5],
            ..Default::default()
        };
        assert_eq!(
            format_histogram(&custom),
            "{count:3, sum:0.7, (-Inf,0.1]:1, (0.1,0.5]:1, (0.5,+Inf]:1}"
        );
        let low = rw2::Histogram {
            count: Some(Count::CountInt(1)),
            schema: -2,
            positive_spans: vec![BucketSpan { offset: 1, length: 1 }],
            positive_deltas: vec![1],
            ..Default::default()
        };
        assert_eq!(format_histogram(&low), "{count:1, sum:0, (1,16]:1}");
    }

    #[test]
    fn series_display_has_one_line_per_point() {
        let series = Series {
            labels: vec![label("__name__", "x"), label("a", "1")],
            samples: vec![
                rw2::Sample { value: 1.5, timestamp: 1000, start_timestamp: 0 },
                rw2::Sample { value: 2.0, timestamp: 2000, start_timestamp: 500 },
            ],
            exemplars: vec![Exemplar {
                labels: vec![label("trace_id", "ab")],
                value: 0.5,
                timestamp: 900,
            }],
            ..Default::default()
        };
        assert_eq!(
            series.to_string(),
            "x{a=\"1\"} 1.5 1000\nx{a=\"1\"} 2 2000 # start 500\n# exemplar x{a=\"1\"} {trace_id=\"ab\"} 0.5 900"
        );
        let empty = Series { labels: vec![label("__name__", "x")], ..Default::default() };
        assert_eq!(empty.to_string(), "x # no samples");
        let meta = MetricMetadata {
            family: "x".into(),
            metric_type: MetricType::Counter,
            help: "a\nb".into(),
            unit: "seconds".into(),
        };
        assert_eq!(meta.to_string(), "# TYPE x counter\n# HELP x a\\nb\n# UNIT x seconds");
    }
}
