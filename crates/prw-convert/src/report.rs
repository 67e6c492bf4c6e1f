//! What a conversion dropped, and why.

use std::fmt;

/// Why points were not converted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// A sum, histogram or exponential histogram with delta temporality. Delta points are never
    /// sent as if they were cumulative; use [`DeltaToCumulative`](crate::DeltaToCumulative).
    DeltaTemporality,
    /// A sum or histogram whose temporality is unspecified.
    UnspecifiedTemporality,
    /// The metric has no data (no gauge, sum, histogram or summary).
    NoData,
    /// The metric has no data points.
    NoDataPoints,
    /// Nothing valid is left of the metric name after escaping.
    InvalidMetricName,
    /// An attribute key from which no valid label name can be made (empty, or underscores
    /// only after escaping); the whole point is dropped, as Prometheus does.
    InvalidLabelName(String),
    /// A point without a timestamp (it would be rejected as too old, failing the whole
    /// request).
    MissingTimestamp,
    /// A number point without a value.
    MissingValue,
    /// An explicit-bucket histogram whose bucket counts do not match its bounds (there must be
    /// one more count than bounds, or none of either), or whose bounds are not increasing.
    InvalidBuckets,
    /// An exponential histogram whose scale is below -4, the smallest native schema.
    ScaleTooSmall(i32),
    /// An exponential histogram whose bucket indices do not fit a native histogram.
    BucketIndexOutOfRange,
    /// An exponential histogram point without a sum (the specification says to drop it).
    MissingSum,
    /// Two points of the same series at the same timestamp with different values; the later
    /// one (in input order) is kept.
    DuplicateTimestamp,
    /// Two metrics produced the same series, one with samples and one with histograms; the
    /// first is kept.
    ConflictingSeriesType,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DeltaTemporality => f.write_str(
                "delta temporality is not sent as cumulative (configure cumulative temporality or use DeltaToCumulative)",
            ),
            Self::UnspecifiedTemporality => f.write_str("aggregation temporality is unspecified"),
            Self::NoData => f.write_str("metric has no data"),
            Self::NoDataPoints => f.write_str("metric has no data points"),
            Self::InvalidMetricName => f.write_str("no valid Prometheus name is left after escaping the metric name"),
            Self::InvalidLabelName(k) => {
                write!(f, "attribute key {k:?} gives no valid label name after escaping")
            }
            Self::MissingTimestamp => f.write_str("data point has no timestamp"),
            Self::MissingValue => f.write_str("number data point has no value"),
            Self::InvalidBuckets => f.write_str(
                "histogram bucket counts do not match its explicit bounds, or the bounds are not increasing",
            ),
            Self::ScaleTooSmall(s) => {
                write!(f, "cannot convert exponential to native histogram: scale must be >= -4, was {s}")
            }
            Self::BucketIndexOutOfRange => {
                f.write_str("exponential histogram bucket indices do not fit a native histogram")
            }
            Self::MissingSum => f.write_str("exponential histogram point has no sum"),
            Self::DuplicateTimestamp => {
                f.write_str("two points of the same series at one timestamp with different values; kept the later")
            }
            Self::ConflictingSeriesType => {
                f.write_str("series produced both as float samples and as native histograms; kept the first")
            }
        }
    }
}

/// Points of one metric dropped for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The OTLP metric name (or the Prometheus series name for duplicates and conflicts).
    pub metric: String,
    /// Why.
    pub reason: DropReason,
    /// How many data points (0 for a metric that had none).
    pub points: u64,
}

/// Everything a conversion dropped, grouped by metric and reason, in a stable order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Dropped points by metric and reason, sorted by metric then reason.
    pub dropped: Vec<Dropped>,
    /// Exemplars dropped because the specification keeps them only on counters and histograms
    /// (gauge and summary exemplars), or because they had no value.
    pub exemplars_dropped: u64,
}

impl Report {
    /// Whether nothing was dropped.
    pub fn is_empty(&self) -> bool {
        self.dropped.is_empty() && self.exemplars_dropped == 0
    }

    /// Total dropped data points.
    pub fn dropped_points(&self) -> u64 {
        self.dropped.iter().map(|d| d.points).sum()
    }

    pub(crate) fn add(&mut self, metric: &str, reason: DropReason, points: u64) {
        if let Some(d) =
            self.dropped.iter_mut().rev().find(|d| d.reason == reason && d.metric == metric)
        {
            d.points += points;
        } else {
            self.dropped.push(Dropped { metric: metric.to_string(), reason, points });
        }
    }

    pub(crate) fn finish(&mut self) {
        self.dropped.sort_by(|a, b| a.metric.cmp(&b.metric).then_with(|| a.reason.cmp(&b.reason)));
        self.dropped.dedup_by(|later, earlier| {
            if later.metric == earlier.metric && later.reason == earlier.reason {
                earlier.points += later.points;
                true
            } else {
                false
            }
        });
    }
}

/// One line per entry: `metric "name": N points dropped: reason`.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.dropped {
            writeln!(f, "metric {:?}: {} points dropped: {}", d.metric, d.points, d.reason)?;
        }
        if self.exemplars_dropped > 0 {
            writeln!(
                f,
                "{} exemplars dropped (only counters and histograms keep exemplars)",
                self.exemplars_dropped
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_displays() {
        let mut r = Report::default();
        assert!(r.is_empty());
        r.add("b", DropReason::DeltaTemporality, 2);
        r.add("a", DropReason::MissingSum, 1);
        r.add("b", DropReason::DeltaTemporality, 3);
        r.add("b", DropReason::ScaleTooSmall(-10), 1);
        r.finish();
        assert_eq!(r.dropped_points(), 7);
        assert_eq!(r.dropped.len(), 3);
        assert_eq!(r.dropped[0].metric, "a");
        assert_eq!(
            r.dropped[1],
            Dropped { metric: "b".into(), reason: DropReason::DeltaTemporality, points: 5 }
        );
        let text = r.to_string();
        assert!(text.contains("metric \"b\": 1 points dropped: cannot convert exponential to native histogram: scale must be >= -4, was -10"), "{text}");
        assert!(text.contains("DeltaToCumulative"));
    }
}
