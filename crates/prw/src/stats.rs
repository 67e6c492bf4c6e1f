//! The delivery counters of one endpoint: what the exporter reports about itself.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::payload::Counts;
use crate::protocol::Wire;

/// Why data never reached an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The queue hit its sample or byte limit while the endpoint was slow or down; the oldest
    /// data made room for the newest.
    QueueFull,
    /// The endpoint answered with a 4xx other than 429 and 413: retrying cannot help.
    Rejected,
    /// The endpoint answered 413 for a single series that cannot be split further.
    TooLarge,
    /// Retries went on for longer than the configured maximum retry duration.
    RetryTimeout,
    /// An RW 2.0 endpoint said it wrote fewer items than were sent, or (with fallback off)
    /// answered 2xx without saying what it wrote.
    NotWritten,
    /// The exporter shut down before the data could be delivered.
    Shutdown,
}

impl DropReason {
    /// Every reason, in a fixed order.
    pub const ALL: [DropReason; 6] = [
        DropReason::QueueFull,
        DropReason::Rejected,
        DropReason::TooLarge,
        DropReason::RetryTimeout,
        DropReason::NotWritten,
        DropReason::Shutdown,
    ];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::Rejected => "rejected",
            DropReason::TooLarge => "too_large",
            DropReason::RetryTimeout => "retry_timeout",
            DropReason::NotWritten => "not_written",
            DropReason::Shutdown => "shutdown",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Whether the loss comes from a failed request (as opposed to the queue or shutdown).
    pub(crate) fn is_failure(self) -> bool {
        matches!(
            self,
            DropReason::Rejected
                | DropReason::TooLarge
                | DropReason::RetryTimeout
                | DropReason::NotWritten
        )
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Upper bounds (seconds) of the request-duration histogram.
pub(crate) const DURATION_BOUNDS: [f64; 13] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0];

#[derive(Debug, Default)]
pub(crate) struct CountsCell {
    samples: AtomicU64,
    histograms: AtomicU64,
    exemplars: AtomicU64,
}

impl CountsCell {
    pub(crate) fn add(&self, c: Counts) {
        self.samples.fetch_add(c.samples, Relaxed);
        self.histograms.fetch_add(c.histograms, Relaxed);
        self.exemplars.fetch_add(c.exemplars, Relaxed);
    }

    pub(crate) fn get(&self) -> Counts {
        Counts {
            samples: self.samples.load(Relaxed),
            histograms: self.histograms.load(Relaxed),
            exemplars: self.exemplars.load(Relaxed),
        }
    }
}

/// Request durations, in the histogram the self-metrics export.
#[derive(Debug, Default)]
pub(crate) struct DurationHistogram {
    buckets: [AtomicU64; DURATION_BOUNDS.len() + 1],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

/// A snapshot of [`DurationHistogram`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DurationSnapshot {
    /// Per-bucket (not cumulative) counts; one more than the bounds (the `+Inf` bucket).
    pub(crate) buckets: Vec<u64>,
    pub(crate) sum_seconds: f64,
    pub(crate) count: u64,
}

impl DurationHistogram {
    pub(crate) fn record(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = DURATION_BOUNDS.partition_point(|b| *b < secs);
        self.buckets[i].fetch_add(1, Relaxed);
        self.sum_nanos.fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> DurationSnapshot {
        DurationSnapshot {
            buckets: self.buckets.iter().map(|b| b.load(Relaxed)).collect(),
            sum_seconds: self.sum_nanos.load(Relaxed) as f64 / 1e9,
            count: self.count.load(Relaxed),
        }
    }
}

/// The live counters of one endpoint, shared by its delivery task, its queue and the exporter.
#[derive(Debug)]
pub(crate) struct StatsCells {
    pub(crate) url: String,
    pub(crate) sent: CountsCell,
    pub(crate) retried: CountsCell,
    pub(crate) failed: CountsCell,
    dropped: [CountsCell; DropReason::ALL.len()],
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) requests_sent: AtomicU64,
    pub(crate) pending_points: AtomicU64,
    pub(crate) pending_bytes: AtomicU64,
    pub(crate) duration: DurationHistogram,
    pub(crate) fell_back: AtomicBool,
}

impl StatsCells {
    pub(crate) fn new(url: String) -> Self {
        StatsCells {
            url,
            sent: CountsCell::default(),
            retried: CountsCell::default(),
            failed: CountsCell::default(),
            dropped: Default::default(),
            bytes_sent: AtomicU64::new(0),
            requests_sent: AtomicU64::new(0),
            pending_points: AtomicU64::new(0),
            pending_bytes: AtomicU64::new(0),
            duration: DurationHistogram::default(),
            fell_back: AtomicBool::new(false),
        }
    }

    /// Counts a loss under its reason (and as failed when a request failed).
    pub(crate) fn drop_counts(&self, reason: DropReason, c: Counts) {
        self.dropped[reason.index()].add(c);
        if reason.is_failure() {
            self.failed.add(c);
        }
    }

    pub(crate) fn dropped(&self, reason: DropReason) -> Counts {
        self.dropped[reason.index()].get()
    }

    pub(crate) fn snapshot(&self, first_wire: Wire) -> EndpointStats {
        EndpointStats {
            url: self.url.clone(),
            wire: if self.fell_back.load(Relaxed) { Wire::V1 } else { first_wire },
            sent: self.sent.get(),
            retried: self.retried.get(),
            failed: self.failed.get(),
            dropped: DropReason::ALL.iter().map(|r| (*r, self.dropped(*r))).collect(),
            bytes_sent: self.bytes_sent.load(Relaxed),
            requests_sent: self.requests_sent.load(Relaxed),
            pending_points: self.pending_points.load(Relaxed),
            pending_bytes: self.pending_bytes.load(Relaxed),
        }
    }
}

/// A snapshot of what the exporter did for one endpoint (see
/// [`PrometheusRemoteWriteExporter::stats`](crate::PrometheusRemoteWriteExporter::stats)).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EndpointStats {
    /// The endpoint, without credentials or query.
    pub url: String,
    /// The encoding the endpoint currently gets (RW 1.0 after a fallback).
    pub wire: Wire,
    /// Delivered (the endpoint answered 2xx).
    pub sent: Counts,
    /// Included in a request that had to be retried (once per retry).
    pub retried: Counts,
    /// Lost because a request failed for good (a subset of `dropped`).
    pub failed: Counts,
    /// Lost, by reason; every reason is listed, most with zero counts.
    pub dropped: Vec<(DropReason, Counts)>,
    /// Compressed bytes of the requests the endpoint accepted.
    pub bytes_sent: u64,
    /// Requests the endpoint accepted.
    pub requests_sent: u64,
    /// Samples and histograms waiting or in flight.
    pub pending_points: u64,
    /// Uncompressed bytes waiting or in flight.
    pub pending_bytes: u64,
}

impl EndpointStats {
    /// Everything dropped, whatever the reason.
    pub fn dropped_total(&self) -> Counts {
        let mut total = Counts::default();
        for (_, c) in &self.dropped {
            total += *c;
        }
        total
    }

    /// What was dropped for one reason.
    pub fn dropped(&self, reason: DropReason) -> Counts {
        self.dropped.iter().find(|(r, _)| *r == reason).map(|(_, c)| *c).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_buckets_are_upper_inclusive() {
        let h = DurationHistogram::default();
        h.record(Duration::from_millis(5));
        h.record(Duration::from_millis(6));
        h.record(Duration::from_secs(100));
        let s = h.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.buckets.len(), DURATION_BOUNDS.len() + 1);
        assert_eq!(s.buckets[0], 1);
        assert_eq!(s.buckets[1], 1);
        assert_eq!(s.buckets[DURATION_BOUNDS.len()], 1);
        assert!((s.sum_seconds - 100.011).abs() < 1e-9);
    }

    #[test]
    fn failures_count_as_failed_and_dropped() {
        let s = StatsCells::new("http://x/".into());
        let c = Counts { samples: 3, histograms: 1, exemplars: 0 };
        s.drop_counts(DropReason::Rejected, c);
        s.drop_counts(DropReason::QueueFull, c);
        let snap = s.snapshot(Wire::V1);
        assert_eq!(snap.failed, c);
        assert_eq!(snap.dropped(DropReason::Rejected), c);
        assert_eq!(snap.dropped(DropReason::QueueFull), c);
        assert_eq!(snap.dropped_total().samples, 6);
    }

    #[test]
    fn reasons_have_distinct_labels_and_indices() {
        let labels: std::collections::HashSet<_> =
            DropReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(labels.len(), DropReason::ALL.len());
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }
}
