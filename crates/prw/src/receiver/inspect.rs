//! Checking a decoded message without a server: what `prw convert` uses to show its own output
//! exactly as the receiver would.

use super::check::{self, OrderTracker};
use super::decode;
use super::problem::Problem;
use super::request::{MetricMetadata, RemoteWriteVersion, Series, WireMessage};

/// The series of a message with their labels resolved, and what breaks the spec in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    /// The series, labels resolved, in message order.
    pub series: Vec<Series>,
    /// RW 1.0 metadata entries.
    pub metadata: Vec<MetricMetadata>,
    /// Everything in the message that breaks or bends the spec.
    pub problems: Vec<Problem>,
}

/// Resolves and checks one message on its own, as the receiver does for a request body (header
/// checks aside, and with timestamp order checked within the message only).
///
/// ```
/// use prw::proto::rw1::{Label, Sample, TimeSeries, WriteRequest};
/// use prw::receiver::{WireMessage, inspect};
///
/// let request = WriteRequest {
///     timeseries: vec![TimeSeries {
///         labels: vec![
///             Label { name: "__name__".into(), value: "up".into() },
///             Label { name: "job".into(), value: "api".into() },
///         ],
///         samples: vec![Sample { value: 1.0, timestamp: 1_700_000_000_000 }],
///         ..Default::default()
///     }],
///     metadata: vec![],
/// };
/// let found = inspect(&WireMessage::V1(request));
/// assert!(found.problems.is_empty());
/// assert_eq!(found.series[0].to_string(), "up{job=\"api\"} 1 1700000000000");
/// ```
pub fn inspect(message: &WireMessage) -> Inspection {
    let mut problems = Vec::new();
    let mut tracker = OrderTracker::default();
    let (series, metadata) = examine(message, 1, &mut tracker, &mut problems);
    Inspection { series, metadata, problems }
}

/// Resolves labels and runs every body check, recording timestamps in `tracker`.
pub(crate) fn examine(
    message: &WireMessage,
    sequence: u64,
    tracker: &mut OrderTracker,
    problems: &mut Vec<Problem>,
) -> (Vec<Series>, Vec<MetricMetadata>) {
    let version = match message {
        WireMessage::V1(_) => RemoteWriteVersion::V1,
        WireMessage::V2(_) => RemoteWriteVersion::V2,
    };
    let (series, metadata) = decode::resolve(message, problems);
    for (index, s) in series.iter().enumerate() {
        check::check_labels(version, index, &s.labels, problems);
        check::check_points(version, index, s, problems);
    }
    check::check_request(version, &series, problems);
    for (index, s) in series.iter().enumerate() {
        tracker.observe(sequence, index, s, problems);
    }
    (series, metadata)
}
