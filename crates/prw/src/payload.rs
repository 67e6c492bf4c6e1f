//! What one request carries, seen by the delivery engine only through this trait, so that the
//! engine does not care whether the batch came from a collection, a file or a disk queue.

use std::fmt::Debug;
use std::ops::AddAssign;
use std::sync::Arc;

use crate::protocol::Wire;

/// How many float samples, native histograms and exemplars something holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Counts {
    /// Float samples (a classic histogram's buckets, sum and count are samples too).
    pub samples: u64,
    /// Native histograms.
    pub histograms: u64,
    /// Exemplars.
    pub exemplars: u64,
}

impl Counts {
    /// Samples and histograms: what the queue limit counts (exemplars ride along).
    pub fn points(&self) -> u64 {
        self.samples + self.histograms
    }

    /// Nothing at all.
    pub fn is_empty(&self) -> bool {
        self.samples == 0 && self.histograms == 0 && self.exemplars == 0
    }

    /// `self - other`, never below zero.
    pub fn saturating_sub(&self, other: Counts) -> Counts {
        Counts {
            samples: self.samples.saturating_sub(other.samples),
            histograms: self.histograms.saturating_sub(other.histograms),
            exemplars: self.exemplars.saturating_sub(other.exemplars),
        }
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, rhs: Counts) {
        self.samples += rhs.samples;
        self.histograms += rhs.histograms;
        self.exemplars += rhs.exemplars;
    }
}

/// One batch of series, ready to be encoded in either wire format.
pub(crate) trait Payload: Debug + Send + Sync {
    /// What the batch holds.
    fn counts(&self) -> Counts;
    /// The uncompressed RW 1.0 size, used for the queue's byte limit.
    fn size(&self) -> usize;
    /// Whether a request in `wire` format would carry nothing (never sent).
    fn is_empty(&self, wire: Wire) -> bool {
        let _ = wire;
        self.counts().is_empty()
    }
    /// Appends the uncompressed protobuf body in `wire` format to `out`.
    fn encode(&self, wire: Wire, out: &mut Vec<u8>);
    /// Two halves that together hold everything, each series in exactly one of them; `None`
    /// when the batch cannot be split (a single series).
    fn split(&self) -> Option<(Arc<dyn Payload>, Arc<dyn Payload>)>;
}
