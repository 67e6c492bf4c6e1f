//! How a stream aggregates measurements.

use crate::error::ConfigError;
pub use crate::internal::aggregators::DEFAULT_BOUNDARIES;
pub use crate::internal::exponential::{DEFAULT_MAX_SCALE, DEFAULT_MAX_SIZE};

/// The aggregation a view gives a stream.
///
/// The default per instrument kind follows the specification: counters and up-down counters
/// (and their observable forms) aggregate to a [`Sum`](Aggregation::Sum), gauges to
/// [`LastValue`](Aggregation::LastValue), histograms to an
/// [`ExplicitBucketHistogram`](Aggregation::ExplicitBucketHistogram) with the instrument's
/// advised boundaries or [`DEFAULT_BOUNDARIES`].
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Aggregation {
    /// The default for the instrument's kind.
    #[default]
    Default,
    /// Drop every measurement; the stream is not exported.
    Drop,
    /// The arithmetic sum (monotonic for counters).
    Sum,
    /// The last value recorded.
    LastValue,
    /// Counts per bucket of explicit upper bounds, plus count, sum and optionally min/max.
    ExplicitBucketHistogram {
        /// Upper bounds (inclusive), finite and strictly increasing.
        boundaries: Vec<f64>,
        /// Whether to report min and max.
        record_min_max: bool,
    },
    /// Base-2 exponential buckets that rescale as values arrive.
    Base2ExponentialHistogram {
        /// Most buckets per side of zero (default [`DEFAULT_MAX_SIZE`]).
        max_size: u32,
        /// Starting (highest) scale, -10..=20 (default [`DEFAULT_MAX_SCALE`]).
        max_scale: i8,
        /// Whether to report min and max.
        record_min_max: bool,
    },
    /// Min, max, sum and count, exported as an OTLP summary with quantiles 0 (min) and 1
    /// (max).
    MinMaxSumCount,
}

impl Aggregation {
    /// An exponential histogram with the specification's defaults (160 buckets, scale 20).
    pub fn exponential() -> Self {
        Aggregation::Base2ExponentialHistogram {
            max_size: DEFAULT_MAX_SIZE,
            max_scale: DEFAULT_MAX_SCALE,
            record_min_max: true,
        }
    }

    /// An explicit-bucket histogram with these boundaries, recording min and max.
    pub fn histogram(boundaries: Vec<f64>) -> Self {
        Aggregation::ExplicitBucketHistogram { boundaries, record_min_max: true }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Aggregation::ExplicitBucketHistogram { boundaries, .. }
                if !prw_api::valid_boundaries(boundaries) =>
            {
                Err(ConfigError::InvalidBoundaries(boundaries.clone()))
            }
            Aggregation::Base2ExponentialHistogram { max_size, .. } if *max_size < 2 => {
                Err(ConfigError::InvalidMaxSize(*max_size))
            }
            Aggregation::Base2ExponentialHistogram { max_scale, .. }
                if !(-10..=20).contains(max_scale) =>
            {
                Err(ConfigError::InvalidMaxScale(*max_scale))
            }
            _ => Ok(()),
        }
    }
}
