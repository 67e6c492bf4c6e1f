//! The aggregators' cells (what recording updates) and how a cell becomes an OTLP point.
//!
//! Sums and last values are single atomics. Histogram-like cells take a small per-series
//! lock: one uncontended lock keeps count, sum, buckets, min and max consistent with each
//! other in every collected point, which separate atomic updates could not.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use prw_proto::otlp::metrics::{
    AggregationTemporality, Gauge, Histogram as PHistogram, HistogramDataPoint, NumberDataPoint,
    Sum as PSum, Summary, SummaryDataPoint, metric::Data, summary_data_point::ValueAtQuantile,
};

use super::convert::{OtlpPoint, write_attributes};
use super::exponential::{ExpoAggregator, ExpoCell};
use super::number::Num;
use super::value_map::Cell;
use crate::export::Temporality;
use prw_api::KeyValue;

/// Where and when a point is taken.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PointCtx<'a> {
    pub(crate) attrs: &'a [KeyValue],
    pub(crate) start: u64,
    pub(crate) time: u64,
}

/// One aggregation: its cell, how to update it, how to read it.
pub(crate) trait Aggregator: Send + Sync + 'static {
    type Input: Num;
    type Cell: Cell;
    type Point: OtlpPoint;
    fn new_cell(&self) -> Self::Cell;
    /// Whether this aggregation takes `value` (counters refuse negatives, histograms NaN).
    fn accepts(&self, value: Self::Input) -> bool;
    fn update(&self, cell: &Self::Cell, value: Self::Input);
    /// Writes the cell's point over `out` (every field, whatever `out` held: it is a
    /// previous collection's point, reused for its memory), resetting the cell when `reset`
    /// (delta); false, leaving `out` unspecified, if there is nothing to report.
    fn write_point(
        &self,
        cell: &Self::Cell,
        reset: bool,
        ctx: PointCtx<'_>,
        out: &mut Self::Point,
    ) -> bool;
    fn data(&self, points: Vec<Self::Point>, temporality: Temporality) -> Data;
}

pub(crate) fn otlp_temporality(t: Temporality) -> i32 {
    match t {
        Temporality::Cumulative => AggregationTemporality::Cumulative as i32,
        Temporality::Delta => AggregationTemporality::Delta as i32,
    }
}

#[inline]
fn write_number_point<T: Num>(value: T, ctx: PointCtx<'_>, out: &mut NumberDataPoint) {
    write_attributes(ctx.attrs, &mut out.attributes);
    out.start_time_unix_nano = ctx.start;
    out.time_unix_nano = ctx.time;
    out.exemplars.clear();
    out.flags = 0;
    out.value = Some(value.point_value());
}

/// An atomic sum and whether it was written since the last collection.
#[derive(Debug, Default)]
pub(crate) struct SumCell {
    bits: AtomicU64,
    touched: AtomicBool,
}

impl Cell for SumCell {
    fn idle(&self) -> bool {
        !self.touched.load(Ordering::Relaxed)
    }
}

#[inline(always)]
fn touch(flag: &AtomicBool) {
    // A load first: the flag is almost always set already, and a plain read keeps the
    // cache line shared instead of writing it on every measurement.
    if !flag.load(Ordering::Relaxed) {
        flag.store(true, Ordering::Relaxed);
    }
}

/// Sum, monotonic (counters) or not.
#[derive(Debug)]
pub(crate) struct SumAgg<T> {
    pub(crate) monotonic: bool,
    _t: PhantomData<fn(T)>,
}

impl<T> SumAgg<T> {
    pub(crate) fn new(monotonic: bool) -> Self {
        SumAgg { monotonic, _t: PhantomData }
    }
}

impl<T: Num> Aggregator for SumAgg<T> {
    type Input = T;
    type Cell = SumCell;
    type Point = NumberDataPoint;

    fn new_cell(&self) -> SumCell {
        SumCell { bits: AtomicU64::new(T::default().to_bits()), touched: AtomicBool::new(false) }
    }
    #[inline]
    fn accepts(&self, value: T) -> bool {
        !(self.monotonic && value.is_negative())
    }
    #[inline]
    fn update(&self, cell: &SumCell, value: T) {
        T::atomic_add(&cell.bits, value);
        touch(&cell.touched);
    }
    #[inline]
    fn write_point(
        &self,
        cell: &SumCell,
        reset: bool,
        ctx: PointCtx<'_>,
        out: &mut NumberDataPoint,
    ) -> bool {
        let bits = if reset {
            let touched = cell.touched.swap(false, Ordering::Relaxed);
            let bits = cell.bits.swap(T::default().to_bits(), Ordering::Relaxed);
            if !touched && bits == T::default().to_bits() {
                return false;
            }
            bits
        } else {
            cell.bits.load(Ordering::Relaxed)
        };
        write_number_point(T::from_bits(bits), ctx, out);
        true
    }
    fn data(&self, points: Vec<NumberDataPoint>, temporality: Temporality) -> Data {
        Data::Sum(PSum {
            data_points: points,
            aggregation_temporality: otlp_temporality(temporality),
            is_monotonic: self.monotonic,
        })
    }
}

/// The last value set, whether one was ever set, and whether one was set since the last
/// collection.
#[derive(Debug, Default)]
pub(crate) struct LastValueCell {
    bits: AtomicU64,
    ever: AtomicBool,
    touched: AtomicBool,
}

impl Cell for LastValueCell {
    fn idle(&self) -> bool {
        !self.touched.load(Ordering::Relaxed)
    }
}

/// Last value (gauges).
#[derive(Debug)]
pub(crate) struct LastValueAgg<T>(PhantomData<fn(T)>);

impl<T> LastValueAgg<T> {
    pub(crate) fn new() -> Self {
        LastValueAgg(PhantomData)
    }
}

impl<T: Num> Aggregator for LastValueAgg<T> {
    type Input = T;
    type Cell = LastValueCell;
    type Point = NumberDataPoint;

    fn new_cell(&self) -> LastValueCell {
        LastValueCell::default()
    }
    #[inline]
    fn accepts(&self, _value: T) -> bool {
        true
    }
    #[inline]
    fn update(&self, cell: &LastValueCell, value: T) {
        cell.bits.store(value.to_bits(), Ordering::Relaxed);
        touch(&cell.touched);
        touch(&cell.ever);
    }
    #[inline]
    fn write_point(
        &self,
        cell: &LastValueCell,
        reset: bool,
        ctx: PointCtx<'_>,
        out: &mut NumberDataPoint,
    ) -> bool {
        let touched = cell.touched.swap(false, Ordering::Relaxed);
        let has = if reset { touched } else { cell.ever.load(Ordering::Relaxed) };
        if has {
            write_number_point(T::from_bits(cell.bits.load(Ordering::Relaxed)), ctx, out);
        }
        has
    }
    fn data(&self, points: Vec<NumberDataPoint>, _temporality: Temporality) -> Data {
        Data::Gauge(Gauge { data_points: points })
    }
}

/// A tiny lock for a histogram cell: one compare-exchange to take, a plain store to release
/// (a `Mutex` spends a second atomic read-modify-write on release). The fields it guards are
/// atomics accessed with plain loads and stores while it is held, so no `unsafe` is needed and
/// every collected point is consistent: count = sum of buckets.
#[derive(Debug, Default)]
struct SpinFlag(AtomicBool);

struct Held<'a>(&'a AtomicBool);

impl Drop for Held<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl SpinFlag {
    #[inline]
    fn hold(&self) -> Held<'_> {
        if self.0.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err()
        {
            self.contended();
        }
        Held(&self.0)
    }

    #[cold]
    fn contended(&self) {
        let mut spins = 0u32;
        loop {
            while self.0.load(Ordering::Relaxed) {
                spins += 1;
                if spins < 64 {
                    std::hint::spin_loop();
                } else {
                    // The holder may have been preempted: let it run.
                    std::thread::yield_now();
                }
            }
            if self
                .0
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

/// Adds one to a field guarded by a held [`SpinFlag`].
#[inline(always)]
fn bump(a: &AtomicU64, by: u64) {
    a.store(a.load(Ordering::Relaxed) + by, Ordering::Relaxed);
}

#[inline(always)]
fn get_f64(a: &AtomicU64) -> f64 {
    f64::from_bits(a.load(Ordering::Relaxed))
}

#[inline(always)]
fn set_f64(a: &AtomicU64, v: f64) {
    a.store(v.to_bits(), Ordering::Relaxed);
}

/// Count, sum, min and max of one series' measurements: what a histogram and a
/// MinMaxSumCount both keep. Plain loads and stores: the owning cell's flag serialises access.
#[derive(Debug)]
#[repr(C)]
struct Moments {
    count: AtomicU64,
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
}

impl Moments {
    fn new() -> Self {
        Moments {
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0f64.to_bits()),
            min: AtomicU64::new(f64::INFINITY.to_bits()),
            max: AtomicU64::new(f64::NEG_INFINITY.to_bits()),
        }
    }

    #[inline(always)]
    fn add(&self, v: f64) {
        bump(&self.count, 1);
        set_f64(&self.sum, get_f64(&self.sum) + v);
        if v < get_f64(&self.min) {
            set_f64(&self.min, v);
        }
        if v > get_f64(&self.max) {
            set_f64(&self.max, v);
        }
    }

    #[inline]
    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn reset(&self) {
        self.count.store(0, Ordering::Relaxed);
        set_f64(&self.sum, 0.0);
        set_f64(&self.min, f64::INFINITY);
        set_f64(&self.max, f64::NEG_INFINITY);
    }
}

/// An explicit-bucket histogram of one series.
///
/// `repr(C)` here and in [`Buckets`]: the lock, count, sum, min, max and the bucket array's
/// tag and length, which every measurement reads or writes, are the first 56 bytes, so they
/// share one or two cache lines; the counts follow.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct HistCell {
    flag: SpinFlag,
    moments: Moments,
    buckets: Buckets,
}

/// Buckets stored in the cell itself, up to this many (the default bounds give 16).
const INLINE_BUCKETS: usize = 16;

/// A histogram cell's bucket counts. Kept inline when few, so a record follows no pointer
/// to a separate allocation (one dependent cache miss less per measurement).
#[derive(Debug)]
#[repr(C, u64)]
enum Buckets {
    Inline { len: usize, counts: [AtomicU64; INLINE_BUCKETS] },
    Heap(Box<[AtomicU64]>),
}

impl Buckets {
    fn new(n: usize) -> Self {
        if n <= INLINE_BUCKETS {
            Buckets::Inline { counts: std::array::from_fn(|_| AtomicU64::new(0)), len: n }
        } else {
            Buckets::Heap((0..n).map(|_| AtomicU64::new(0)).collect())
        }
    }

    #[inline(always)]
    fn as_slice(&self) -> &[AtomicU64] {
        match self {
            Buckets::Inline { counts, len } => counts.get(..*len).unwrap_or(counts),
            Buckets::Heap(b) => b,
        }
    }
}

impl Cell for HistCell {
    fn idle(&self) -> bool {
        let _held = self.flag.hold();
        self.moments.count() == 0
    }
}

impl HistCell {
    /// Zeroes the cell; the caller holds the flag.
    fn reset(&self) {
        self.moments.reset();
        for b in self.buckets.as_slice() {
            b.store(0, Ordering::Relaxed);
        }
    }
}

/// The specification's default explicit bucket boundaries.
pub const DEFAULT_BOUNDARIES: [f64; 15] = [
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// Finds a value's bucket: the number of bounds (sorted, finite) below it.
///
/// Up to 16 bounds (the default is 15) are padded with infinities to exactly 16 and searched
/// in four fixed halving steps, each a compare and a conditional move: no loop and no branch
/// to mispredict on random values. (Recorded values are finite: none is counted below a pad.)
/// Up to 32 bounds a branch-free count, which the compiler vectorises; beyond, a binary
/// search.
#[derive(Debug)]
enum BucketSearch {
    Sixteen([f64; 16]),
    Count(Box<[f64]>),
    Binary(Box<[f64]>),
}

impl BucketSearch {
    fn new(bounds: &[f64]) -> Self {
        if bounds.len() <= 16 {
            let mut padded = [f64::INFINITY; 16];
            padded[..bounds.len()].copy_from_slice(bounds);
            BucketSearch::Sixteen(padded)
        } else if bounds.len() <= 32 {
            BucketSearch::Count(bounds.into())
        } else {
            BucketSearch::Binary(bounds.into())
        }
    }

    /// The bucket of a finite `v`; bucket `i` holds (bounds[i-1], bounds[i]].
    #[inline(always)]
    fn index(&self, v: f64) -> usize {
        match self {
            BucketSearch::Sixteen(b) => {
                // After each step, every bound before `i` is below `v`; the last step tells
                // whether the 16th is too.
                let mut i = 0;
                i += usize::from(b[7] < v) * 8;
                i += usize::from(b[i + 3] < v) * 4;
                i += usize::from(b[i + 1] < v) * 2;
                i += usize::from(b[i] < v);
                i + usize::from(b[i] < v)
            }
            BucketSearch::Count(b) => b.iter().map(|b| usize::from(*b < v)).sum(),
            BucketSearch::Binary(b) => b.partition_point(|b| *b < v),
        }
    }
}

/// Explicit-bucket histogram.
#[derive(Debug)]
pub(crate) struct HistogramAgg<T> {
    bounds: Box<[f64]>,
    search: BucketSearch,
    record_min_max: bool,
    /// Whether to report the sum: not for instruments that can record negative values,
    /// where a sum would mislead (the specification's rule).
    record_sum: bool,
    _t: PhantomData<fn(T)>,
}

impl<T> HistogramAgg<T> {
    pub(crate) fn new(bounds: Vec<f64>, record_min_max: bool, record_sum: bool) -> Self {
        HistogramAgg {
            search: BucketSearch::new(&bounds),
            bounds: bounds.into(),
            record_min_max,
            record_sum,
            _t: PhantomData,
        }
    }
}

impl<T: Num> Aggregator for HistogramAgg<T> {
    type Input = T;
    type Cell = HistCell;
    type Point = HistogramDataPoint;

    fn new_cell(&self) -> HistCell {
        HistCell {
            flag: SpinFlag::default(),
            moments: Moments::new(),
            buckets: Buckets::new(self.bounds.len() + 1),
        }
    }
    #[inline]
    fn accepts(&self, value: T) -> bool {
        value.is_finite()
    }
    #[inline]
    fn update(&self, cell: &HistCell, value: T) {
        let v = value.to_f64();
        // Bucket i holds (bounds[i-1], bounds[i]]: upper bounds are inclusive.
        let i = self.search.index(v);
        let _held = cell.flag.hold();
        cell.moments.add(v);
        if let Some(b) = cell.buckets.as_slice().get(i) {
            bump(b, 1);
        }
    }
    fn write_point(
        &self,
        cell: &HistCell,
        reset: bool,
        ctx: PointCtx<'_>,
        out: &mut HistogramDataPoint,
    ) -> bool {
        let held = cell.flag.hold();
        let count = cell.moments.count();
        if reset && count == 0 {
            return false;
        }
        let has = count > 0 && self.record_min_max;
        out.count = count;
        out.sum = self.record_sum.then(|| get_f64(&cell.moments.sum));
        out.min = has.then(|| get_f64(&cell.moments.min));
        out.max = has.then(|| get_f64(&cell.moments.max));
        out.bucket_counts.clear();
        out.bucket_counts.extend(cell.buckets.as_slice().iter().map(|b| b.load(Ordering::Relaxed)));
        if reset {
            cell.reset();
        }
        drop(held);
        write_attributes(ctx.attrs, &mut out.attributes);
        out.start_time_unix_nano = ctx.start;
        out.time_unix_nano = ctx.time;
        if *out.explicit_bounds != *self.bounds {
            out.explicit_bounds.clear();
            out.explicit_bounds.extend_from_slice(&self.bounds);
        }
        out.exemplars.clear();
        out.flags = 0;
        true
    }
    fn data(&self, points: Vec<HistogramDataPoint>, temporality: Temporality) -> Data {
        Data::Histogram(PHistogram {
            data_points: points,
            aggregation_temporality: otlp_temporality(temporality),
        })
    }
}

/// Min, max, sum and count of one series.
#[derive(Debug)]
pub(crate) struct MmscCell {
    flag: SpinFlag,
    moments: Moments,
}

impl Cell for MmscCell {
    fn idle(&self) -> bool {
        let _held = self.flag.hold();
        self.moments.count() == 0
    }
}

/// MinMaxSumCount, exported as a summary with quantile 0 (min) and 1 (max).
#[derive(Debug)]
pub(crate) struct MmscAgg<T>(PhantomData<fn(T)>);

impl<T> MmscAgg<T> {
    pub(crate) fn new() -> Self {
        MmscAgg(PhantomData)
    }
}

impl<T: Num> Aggregator for MmscAgg<T> {
    type Input = T;
    type Cell = MmscCell;
    type Point = SummaryDataPoint;

    fn new_cell(&self) -> MmscCell {
        MmscCell { flag: SpinFlag::default(), moments: Moments::new() }
    }
    #[inline]
    fn accepts(&self, value: T) -> bool {
        value.is_finite()
    }
    #[inline]
    fn update(&self, cell: &MmscCell, value: T) {
        let v = value.to_f64();
        let _held = cell.flag.hold();
        cell.moments.add(v);
    }
    fn write_point(
        &self,
        cell: &MmscCell,
        reset: bool,
        ctx: PointCtx<'_>,
        out: &mut SummaryDataPoint,
    ) -> bool {
        let held = cell.flag.hold();
        let count = cell.moments.count();
        if reset && count == 0 {
            return false;
        }
        out.quantile_values.clear();
        if count > 0 {
            out.quantile_values.extend([
                ValueAtQuantile { quantile: 0.0, value: get_f64(&cell.moments.min) },
                ValueAtQuantile { quantile: 1.0, value: get_f64(&cell.moments.max) },
            ]);
        }
        let sum = get_f64(&cell.moments.sum);
        if reset {
            cell.moments.reset();
        }
        drop(held);
        write_attributes(ctx.attrs, &mut out.attributes);
        out.start_time_unix_nano = ctx.start;
        out.time_unix_nano = ctx.time;
        out.count = count;
        out.sum = sum;
        out.flags = 0;
        true
    }
    fn data(&self, points: Vec<SummaryDataPoint>, _temporality: Temporality) -> Data {
        Data::Summary(Summary { data_points: points })
    }
}

impl<T: Num> Aggregator for ExpoAggregator<T> {
    type Input = T;
    type Cell = ExpoCell;
    type Point = prw_proto::otlp::metrics::ExponentialHistogramDataPoint;

    fn new_cell(&self) -> ExpoCell {
        self.cell()
    }
    #[inline]
    fn accepts(&self, value: T) -> bool {
        value.is_finite()
    }
    #[inline]
    fn update(&self, cell: &ExpoCell, value: T) {
        self.record(cell, value.to_f64())
    }
    fn write_point(
        &self,
        cell: &ExpoCell,
        reset: bool,
        ctx: PointCtx<'_>,
        out: &mut Self::Point,
    ) -> bool {
        match self.take(cell, reset, ctx) {
            Some(p) => {
                *out = p;
                true
            }
            None => false,
        }
    }
    fn data(&self, points: Vec<Self::Point>, temporality: Temporality) -> Data {
        Data::ExponentialHistogram(prw_proto::otlp::metrics::ExponentialHistogram {
            data_points: points,
            aggregation_temporality: otlp_temporality(temporality),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bucket_is_the_count_of_bounds_below() {
        let b = DEFAULT_BOUNDARIES;
        for (v, want) in [
            (-1.0, 0),
            (0.0, 0),
            (0.1, 1),
            (5.0, 1),
            (5.5, 2),
            (10000.0, 14),
            (10000.5, 15),
            (f64::INFINITY, 15),
        ] {
            assert_eq!(BucketSearch::new(&b).index(v), want, "{v}");
        }
        assert_eq!(BucketSearch::new(&[]).index(1.0), 0);
        assert_eq!(BucketSearch::new(&[1.0]).index(1.0), 0);
        assert_eq!(BucketSearch::new(&[1.0]).index(1.5), 1);
        let sixteen: Vec<f64> = (0..16).map(f64::from).collect();
        assert_eq!(BucketSearch::new(&sixteen).index(15.5), 16);
        assert_eq!(BucketSearch::new(&sixteen).index(15.0), 15);
    }

    proptest! {
        #[test]
        fn bucket_matches_a_linear_count(
            mut bounds in proptest::collection::vec(-50i32..50, 0..70),
            v in -60i32..60,
            frac in 0u8..3,
        ) {
            bounds.sort();
            bounds.dedup();
            let bounds: Vec<f64> = bounds.into_iter().map(f64::from).collect();
            // On a bound (inclusive upper), or just either side of one.
            let v = f64::from(v) + [0.0, 0.5, -0.5][usize::from(frac)];
            let want = bounds.iter().filter(|b| **b < v).count();
            prop_assert_eq!(BucketSearch::new(&bounds).index(v), want);
        }
    }
}
