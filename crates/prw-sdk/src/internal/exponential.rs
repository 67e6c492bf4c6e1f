//! Base-2 exponential histogram: buckets whose boundaries grow by `2^(2^-scale)`, with the
//! scale lowered (buckets merged pairwise) whenever a value would need more than `max_size`
//! buckets on one side of zero.

use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};

use prw_proto::otlp::metrics::ExponentialHistogramDataPoint;
use prw_proto::otlp::metrics::exponential_histogram_data_point::Buckets as PBuckets;

use super::aggregators::PointCtx;
use super::convert::attributes;
use super::value_map::Cell;

/// The specification's default maximum number of buckets per side.
pub const DEFAULT_MAX_SIZE: u32 = 160;
/// The specification's default (and our highest) starting scale.
pub const DEFAULT_MAX_SCALE: i8 = 20;
/// The lowest scale the format allows.
pub(crate) const MIN_SCALE: i8 = -10;

#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Buckets {
    /// Index of `counts[0]`.
    offset: i32,
    counts: Vec<u64>,
}

impl Buckets {
    fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    fn high(&self) -> i32 {
        self.offset + self.counts.len() as i32 - 1
    }

    /// How much the scale must drop for `index` to fit within `max_size` buckets.
    fn change_to_fit(&self, index: i32, max_size: usize) -> u32 {
        if self.is_empty() {
            return 0;
        }
        let low = i64::from(self.offset.min(index));
        let high = i64::from(self.high().max(index));
        let mut change = 0u32;
        while (high >> change) - (low >> change) + 1 > max_size as i64 {
            change += 1;
        }
        change
    }

    fn increment(&mut self, index: i32) {
        if self.is_empty() {
            self.offset = index;
            self.counts.push(1);
            return;
        }
        if index < self.offset {
            let grow = (self.offset - index) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = index;
        } else if index > self.high() {
            self.counts.resize((index - self.offset) as usize + 1, 0);
        }
        self.counts[(index - self.offset) as usize] += 1;
    }

    fn downscale(&mut self, change: u32) {
        if change == 0 || self.is_empty() {
            return;
        }
        let new_offset = self.offset >> change;
        let mut merged = vec![0u64; ((self.high() >> change) - new_offset) as usize + 1];
        for (i, c) in self.counts.iter().enumerate() {
            let index = (self.offset + i as i32) >> change;
            merged[(index - new_offset) as usize] += c;
        }
        self.offset = new_offset;
        self.counts = merged;
    }

    fn to_proto(&self) -> PBuckets {
        PBuckets { offset: self.offset, bucket_counts: self.counts.clone() }
    }
}

/// The bucket index of a positive, finite `value` at `scale`: bucket `i` holds
/// `(2^(i·2^-scale), 2^((i+1)·2^-scale)]`.
pub(crate) fn map_to_index(value: f64, scale: i32) -> i32 {
    let bits = value.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    let mantissa = bits & ((1u64 << 52) - 1);
    let (exp, power_of_two) = if exp_bits == 0 {
        // Subnormal: value = mantissa · 2^-1074.
        (63 - mantissa.leading_zeros() as i32 - 1074, mantissa.is_power_of_two())
    } else {
        (exp_bits - 1023, mantissa == 0)
    };
    if scale <= 0 {
        // An exact power of two is the inclusive upper bound of the bucket below.
        return (exp - i32::from(power_of_two)) >> -scale;
    }
    if power_of_two {
        return (exp << scale) - 1;
    }
    let factor = std::f64::consts::LOG2_E * f64::from(1u32 << scale);
    (value.ln() * factor).floor() as i32
}

#[derive(Debug)]
pub(crate) struct ExpoState {
    scale: i32,
    count: u64,
    zero_count: u64,
    sum: f64,
    min: f64,
    max: f64,
    positive: Buckets,
    negative: Buckets,
}

/// An exponential histogram of one series.
#[derive(Debug)]
pub(crate) struct ExpoCell(Mutex<ExpoState>);

impl Cell for ExpoCell {
    fn idle(&self) -> bool {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).count == 0
    }
}

/// Base-2 exponential histogram aggregation.
#[derive(Debug)]
pub(crate) struct ExpoAggregator<T> {
    max_size: usize,
    max_scale: i32,
    record_min_max: bool,
    record_sum: bool,
    _t: PhantomData<fn(T)>,
}

impl<T> ExpoAggregator<T> {
    pub(crate) fn new(
        max_size: u32,
        max_scale: i8,
        record_min_max: bool,
        record_sum: bool,
    ) -> Self {
        ExpoAggregator {
            max_size: max_size.max(2) as usize,
            max_scale: i32::from(max_scale.clamp(MIN_SCALE, DEFAULT_MAX_SCALE)),
            record_min_max,
            record_sum,
            _t: PhantomData,
        }
    }

    pub(crate) fn cell(&self) -> ExpoCell {
        ExpoCell(Mutex::new(ExpoState {
            scale: self.max_scale,
            count: 0,
            zero_count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            positive: Buckets::default(),
            negative: Buckets::default(),
        }))
    }

    pub(crate) fn record(&self, cell: &ExpoCell, v: f64) {
        let mut guard = cell.0.lock().unwrap_or_else(PoisonError::into_inner);
        let s = &mut *guard;
        s.count += 1;
        s.sum += v;
        s.min = s.min.min(v);
        s.max = s.max.max(v);
        if v == 0.0 {
            s.zero_count += 1;
            return;
        }
        let abs = v.abs();
        let mut index = map_to_index(abs, s.scale);
        let side = if v > 0.0 { &s.positive } else { &s.negative };
        let change = side.change_to_fit(index, self.max_size);
        if change > 0 {
            let change = change.min((s.scale - i32::from(MIN_SCALE)).max(0) as u32);
            s.scale -= change as i32;
            s.positive.downscale(change);
            s.negative.downscale(change);
            index = map_to_index(abs, s.scale);
        }
        if v > 0.0 {
            s.positive.increment(index);
        } else {
            s.negative.increment(index);
        }
    }

    pub(crate) fn take(
        &self,
        cell: &ExpoCell,
        reset: bool,
        ctx: PointCtx<'_>,
    ) -> Option<ExponentialHistogramDataPoint> {
        let mut s = cell.0.lock().unwrap_or_else(PoisonError::into_inner);
        if reset && s.count == 0 {
            return None;
        }
        let has = s.count > 0 && self.record_min_max;
        let point = ExponentialHistogramDataPoint {
            attributes: Vec::new(),
            start_time_unix_nano: ctx.start,
            time_unix_nano: ctx.time,
            count: s.count,
            sum: self.record_sum.then_some(s.sum),
            scale: s.scale,
            zero_count: s.zero_count,
            positive: Some(s.positive.to_proto()),
            negative: Some(s.negative.to_proto()),
            flags: 0,
            exemplars: Vec::new(),
            min: has.then_some(s.min),
            max: has.then_some(s.max),
            zero_threshold: 0.0,
        };
        if reset {
            s.scale = self.max_scale;
            s.count = 0;
            s.zero_count = 0;
            s.sum = 0.0;
            s.min = f64::INFINITY;
            s.max = f64::NEG_INFINITY;
            s.positive.counts.clear();
            s.negative.counts.clear();
        }
        drop(s);
        Some(ExponentialHistogramDataPoint { attributes: attributes(ctx.attrs), ..point })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lower_bound(index: i32, scale: i32) -> f64 {
        (f64::from(index) * (-f64::from(scale)).exp2()).exp2()
    }

    #[test]
    fn known_indices() {
        // scale 0: (1,2] → 0, (2,4] → 1, (0.5,1] → -1
        assert_eq!(map_to_index(1.0, 0), -1);
        assert_eq!(map_to_index(1.5, 0), 0);
        assert_eq!(map_to_index(2.0, 0), 0);
        assert_eq!(map_to_index(3.0, 0), 1);
        assert_eq!(map_to_index(4.0, 0), 1);
        // scale 1: boundaries at powers of sqrt(2)
        assert_eq!(map_to_index(2.0, 1), 1);
        assert_eq!(map_to_index(1.5, 1), 1);
        assert_eq!(map_to_index(1.3, 1), 0);
        // scale -1: (1,4] → 0, (4,16] → 1
        assert_eq!(map_to_index(4.0, -1), 0);
        assert_eq!(map_to_index(5.0, -1), 1);
        assert_eq!(map_to_index(f64::MIN_POSITIVE / 4.0, 0), -1025);
    }

    proptest! {
        #[test]
        fn value_within_its_bucket(v in 1e-300f64..1e300, scale in -10i32..=20) {
            let i = map_to_index(v, scale);
            let lo = lower_bound(i, scale);
            let hi = lower_bound(i + 1, scale);
            // Allow one ulp-ish slack for the logarithm near boundaries.
            prop_assert!(v >= lo * (1.0 - 1e-12) && v <= hi * (1.0 + 1e-12), "{v} not in ({lo}, {hi}] at {scale}");
        }
    }

    #[test]
    fn rescales_to_fit() {
        let agg = ExpoAggregator::<f64>::new(4, 20, true, true);
        let cell = agg.cell();
        for v in [1.0, 2.0, 4.0, 8.0, 16.0, 0.0, -3.0] {
            agg.record(&cell, v);
        }
        let s = cell.0.lock().unwrap();
        assert_eq!(s.count, 7);
        assert_eq!(s.zero_count, 1);
        assert!(s.positive.counts.len() <= 4);
        assert_eq!(s.positive.counts.iter().sum::<u64>(), 5);
        assert_eq!(s.negative.counts.iter().sum::<u64>(), 1);
        // 1..16 spans 16x: needs scale ≤ 0 for 4 buckets ((0.5,1],(1,2],(2,4],(4,8],(8,16] → 5 at scale 0)
        assert_eq!(s.scale, -1);
        assert_eq!(s.min, -3.0);
        assert_eq!(s.max, 16.0);
    }

    #[test]
    fn default_size_holds_wide_ranges() {
        let agg = ExpoAggregator::<f64>::new(DEFAULT_MAX_SIZE, DEFAULT_MAX_SCALE, true, true);
        let cell = agg.cell();
        for i in 1..=1000 {
            agg.record(&cell, f64::from(i) * 0.001);
        }
        let s = cell.0.lock().unwrap();
        assert!(s.positive.counts.len() <= 160);
        assert_eq!(s.positive.counts.iter().sum::<u64>(), 1000);
        // 0.001..1 is a factor of 1000 ≈ 2^9.97: at scale 4 (16 buckets per doubling) the
        // indices run from floor(-9.966·16) = -160 to -1 (1.0 is the top of bucket -1): 160.
        assert_eq!(s.scale, 4);
        assert_eq!(s.positive.offset, -160);
    }
}
