//! Streams: one instrument's output for one reader, after views.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use prw_api::diagnostics::{self, Severity};
use prw_api::{BoundSyncInstrument, Callback, KeyValue, Observer, SyncInstrument};
use prw_proto::otlp::metrics::{
    DataPointFlags, Gauge, Metric, NumberDataPoint, Sum as PSum, metric::Data,
};

use super::aggregators::{Aggregator, PointCtx, otlp_temporality};
use super::convert::{OtlpPoint, write_attributes, write_str};
use super::hash::{KeyFilter, normalize};
use super::number::Num;
use super::value_map::{OVERFLOW_KEY, Series, ValueMap};
use crate::export::Temporality;
use crate::time::now_unix_nanos;

/// Counters of what the SDK dropped, shared by every stream of a provider.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) overflowed: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) callback_failures: AtomicU64,
    pub(crate) failed_exports: AtomicU64,
}

/// What an exported metric is called.
#[derive(Debug, Clone)]
pub(crate) struct StreamDesc {
    pub(crate) name: Arc<str>,
    pub(crate) description: Cow<'static, str>,
    pub(crate) unit: Cow<'static, str>,
}

impl StreamDesc {
    /// Writes the name, description and unit over `out`'s and clears its metadata.
    fn write_metric(&self, out: &mut Metric) {
        write_str(&self.name, &mut out.name);
        write_str(&self.description, &mut out.description);
        write_str(&self.unit, &mut out.unit);
        out.metadata.clear();
    }
}

/// Something the pipeline collects.
pub(crate) trait Collect: Send + Sync {
    /// Writes this stream's metric over `out`, a metric of a previous collection (or a
    /// default one) reused for its memory: every field, whatever it held. False if the
    /// stream has no points; `out` is then unspecified (the next stream reuses it).
    fn collect_into(&self, now: u64, out: &mut Metric) -> bool;
}

/// The `n`th point of `points`, a default one added if there are only `n`.
#[inline(always)]
fn slot<P: Default>(points: &mut Vec<P>, n: usize) -> &mut P {
    if n == points.len() {
        points.push(P::default());
    }
    &mut points[n]
}

/// A synchronous instrument's stream.
pub(crate) struct SyncStream<A: Aggregator> {
    agg: Arc<A>,
    map: ValueMap<A::Cell>,
    desc: StreamDesc,
    temporality: Temporality,
    last_collect: AtomicU64,
    stats: Arc<Stats>,
}

impl<A: Aggregator> SyncStream<A> {
    pub(crate) fn new(
        agg: A,
        desc: StreamDesc,
        temporality: Temporality,
        limit: usize,
        filter: KeyFilter,
        stats: Arc<Stats>,
    ) -> Self {
        SyncStream {
            agg: Arc::new(agg),
            map: ValueMap::new(
                limit,
                filter,
                desc.name.clone(),
                stats.clone(),
                temporality == Temporality::Delta,
            ),
            desc,
            temporality,
            last_collect: AtomicU64::new(now_unix_nanos()),
            stats,
        }
    }
}

#[cold]
fn reject<T: std::fmt::Debug>(stats: &Stats, name: &str, value: T) {
    stats.rejected.fetch_add(1, Ordering::Relaxed);
    diagnostics::report_once(&format!("rejected:{name}"), Severity::Warning, || {
        format!(
            "metric {name:?} dropped the value {value:?}: counters take no negative values and \
             histograms no NaN or infinity (further drops are counted, not reported)"
        )
    });
}

impl<A: Aggregator> SyncStream<A> {
    #[inline(never)]
    fn record(&self, value: A::Input, attributes: &[KeyValue]) {
        let agg = &*self.agg;
        self.map.with_series(attributes, || agg.new_cell(), |s| agg.update(&s.cell, value))
    }
}

impl<A: Aggregator> SyncInstrument<A::Input> for SyncStream<A> {
    #[inline]
    fn measure(&self, value: A::Input, attributes: &[KeyValue]) {
        if !self.agg.accepts(value) {
            return reject(&self.stats, &self.desc.name, value);
        }
        // The attribute-less series, once it exists, is updated right here: nothing else of
        // the lookup (its closures, its stack frame) is paid for on this path.
        if attributes.is_empty() {
            if let Some(s) = self.map.empty() {
                return self.agg.update(&s.cell, value);
            }
        }
        self.record(value, attributes)
    }

    fn bind(&self, attributes: &[KeyValue]) -> Option<Arc<dyn BoundSyncInstrument<A::Input>>> {
        let agg = &*self.agg;
        let series = self.map.bind(attributes, || agg.new_cell());
        Some(Arc::new(Bound {
            agg: self.agg.clone(),
            series,
            name: self.desc.name.clone(),
            stats: self.stats.clone(),
        }))
    }
}

/// A handle on one series: recording skips hashing and the map entirely.
struct Bound<A: Aggregator> {
    agg: Arc<A>,
    series: Arc<Series<A::Cell>>,
    name: Arc<str>,
    stats: Arc<Stats>,
}

impl<A: Aggregator> BoundSyncInstrument<A::Input> for Bound<A> {
    #[inline]
    fn measure(&self, value: A::Input) {
        if !self.agg.accepts(value) {
            return reject(&self.stats, &self.name, value);
        }
        self.agg.update(&self.series.cell, value)
    }
}

impl<A: Aggregator> Collect for SyncStream<A> {
    fn collect_into(&self, now: u64, out: &mut Metric) -> bool {
        let delta = self.temporality == Temporality::Delta;
        let previous = self.last_collect.swap(now, Ordering::Relaxed);
        let mut points = A::Point::take_points(&mut out.data);
        // The overflow series is not counted in len().
        points.reserve((self.map.len() + 1).saturating_sub(points.len()));
        let mut n = 0;
        self.map.collect(delta, |s| {
            // Delta points cover the interval since the last collection; cumulative points
            // cover the series' life, so their start stays fixed across collections.
            let start = if delta { previous } else { s.created };
            let ctx = PointCtx { attrs: &s.attrs, start, time: now };
            let has = self.agg.write_point(&s.cell, delta, ctx, slot(&mut points, n));
            n += usize::from(has);
            has
        });
        points.truncate(n);
        self.desc.write_metric(out);
        out.data = Some(self.agg.data(points, self.temporality));
        n > 0
    }
}

/// Several streams behind one instrument (several views or readers).
pub(crate) struct Fanout<T>(pub(crate) Vec<Arc<dyn SyncInstrument<T>>>);

impl<T: Copy + 'static> SyncInstrument<T> for Fanout<T> {
    fn measure(&self, value: T, attributes: &[KeyValue]) {
        for s in &self.0 {
            s.measure(value, attributes);
        }
    }
    fn bind(&self, attributes: &[KeyValue]) -> Option<Arc<dyn BoundSyncInstrument<T>>> {
        let bound: Option<Vec<_>> = self.0.iter().map(|s| s.bind(attributes)).collect();
        Some(Arc::new(BoundFanout(bound?)))
    }
}

struct BoundFanout<T>(Vec<Arc<dyn BoundSyncInstrument<T>>>);

impl<T: Copy> BoundSyncInstrument<T> for BoundFanout<T> {
    fn measure(&self, value: T) {
        for s in &self.0 {
            s.measure(value);
        }
    }
}

/// How an observable stream aggregates what callbacks report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AsyncAgg {
    /// Callbacks report running totals (counters, up-down counters).
    Sum { monotonic: bool },
    /// Callbacks report current values (gauges).
    LastValue,
}

/// The callbacks of one observable instrument, shared by its streams in every reader.
pub(crate) type Callbacks<T> = Arc<RwLock<Vec<Callback<T>>>>;

struct AsyncSeries<T> {
    last: T,
    start: u64,
}

/// An observable instrument's stream.
pub(crate) struct AsyncStream<T> {
    callbacks: Callbacks<T>,
    agg: AsyncAgg,
    desc: StreamDesc,
    temporality: Temporality,
    limit: usize,
    filter: KeyFilter,
    state: Mutex<AsyncState<T>>,
    stats: Arc<Stats>,
}

struct AsyncState<T> {
    series: HashMap<Vec<KeyValue>, AsyncSeries<T>>,
    last_collect: u64,
}

impl<T: Num> AsyncStream<T> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        callbacks: Callbacks<T>,
        agg: AsyncAgg,
        desc: StreamDesc,
        temporality: Temporality,
        limit: usize,
        filter: KeyFilter,
        stats: Arc<Stats>,
    ) -> Self {
        AsyncStream {
            callbacks,
            agg,
            desc,
            temporality,
            limit: limit.max(2),
            filter,
            state: Mutex::new(AsyncState {
                series: HashMap::new(),
                last_collect: now_unix_nanos(),
            }),
            stats,
        }
    }

    /// Runs every callback; returns what they observed (last observation of a set wins) and
    /// whether all of them succeeded.
    fn observe(&self) -> (Vec<(Vec<KeyValue>, T)>, bool) {
        struct Collecting<'a, T> {
            seen: RefCell<Vec<(Vec<KeyValue>, T)>>,
            filter: &'a KeyFilter,
        }
        impl<T> Observer<T> for Collecting<'_, T> {
            fn observe(&self, value: T, attributes: &[KeyValue]) {
                self.seen.borrow_mut().push((normalize(attributes, self.filter), value));
            }
        }
        let mut all = Vec::new();
        let mut ok = true;
        let callbacks = self.callbacks.read().unwrap_or_else(PoisonError::into_inner);
        for cb in callbacks.iter() {
            let observer = Collecting { seen: RefCell::new(Vec::new()), filter: &self.filter };
            let name = &self.desc.name;
            let failure = match catch_unwind(AssertUnwindSafe(|| cb(&observer))) {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("callback of {name:?} failed: {e}")),
                Err(panic) => {
                    let why = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into());
                    Some(format!("callback of {name:?} panicked: {why}"))
                }
            };
            match failure {
                None => all.extend(observer.seen.into_inner()),
                Some(msg) => {
                    ok = false;
                    self.stats.callback_failures.fetch_add(1, Ordering::Relaxed);
                    diagnostics::report(
                        Severity::Error,
                        format!("{msg}; its observations in this collection are dropped"),
                    );
                }
            }
        }
        (all, ok)
    }
}

impl<T: Num> Collect for AsyncStream<T> {
    fn collect_into(&self, now: u64, out: &mut Metric) -> bool {
        let (observed, all_ok) = self.observe();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = std::mem::replace(&mut state.last_collect, now);
        let delta = self.temporality == Temporality::Delta;

        // Last observation of a set wins; sets past the cardinality limit merge into the
        // overflow set.
        // Sets in the order first observed (points come out in that order, the same every
        // collection), with an index to find them.
        let mut current: Vec<(Vec<KeyValue>, T)> = Vec::with_capacity(observed.len());
        let mut index: HashMap<Vec<KeyValue>, usize> = HashMap::with_capacity(observed.len());
        let overflow_key = vec![KeyValue::new(OVERFLOW_KEY, true)];
        for (attrs, value) in observed {
            if let Some(&i) = index.get(&attrs) {
                current[i].1 = value;
            } else if state.series.contains_key(&attrs) || current.len() + 1 < self.limit {
                index.insert(attrs.clone(), current.len());
                current.push((attrs, value));
            } else {
                self.stats.overflowed.fetch_add(1, Ordering::Relaxed);
                let i = *index.entry(overflow_key.clone()).or_insert_with(|| {
                    current.push((overflow_key.clone(), T::default()));
                    current.len() - 1
                });
                let slot = &mut current[i].1;
                *slot = match self.agg {
                    AsyncAgg::Sum { .. } => slot.add(value),
                    AsyncAgg::LastValue => value,
                };
            }
        }

        let mut points = NumberDataPoint::take_points(&mut out.data);
        let mut n = 0;
        let mut push = |attrs: &[KeyValue], start: u64, flags: u32, value: T| {
            let p = slot(&mut points, n);
            write_attributes(attrs, &mut p.attributes);
            p.start_time_unix_nano = start;
            p.time_unix_nano = now;
            p.exemplars.clear();
            p.flags = flags;
            p.value = Some(value.point_value());
            n += 1;
        };
        for (attrs, value) in &current {
            let series = state
                .series
                .entry(attrs.clone())
                .or_insert(AsyncSeries { last: T::default(), start: now });
            let (reported, start) = match (self.agg, delta) {
                (AsyncAgg::Sum { monotonic }, true) => {
                    // A running total that went down was reset: its delta is all of it.
                    let d = if monotonic && *value < series.last {
                        *value
                    } else {
                        value.sub(series.last)
                    };
                    (d, previous)
                }
                _ => (*value, series.start),
            };
            series.last = *value;
            push(attrs, start, 0, reported);
        }
        // Sets a callback stopped reporting: exported once as "no recorded value" so the
        // exporter can mark them stale, then forgotten. Skipped when a callback failed, since
        // its sets are missing for another reason.
        if all_ok {
            let gone: Vec<Vec<KeyValue>> =
                state.series.keys().filter(|k| !index.contains_key(*k)).cloned().collect();
            for attrs in gone {
                if let Some(series) = state.series.remove(&attrs) {
                    let value = if delta { T::default() } else { series.last };
                    push(
                        &attrs,
                        if delta { previous } else { series.start },
                        DataPointFlags::NoRecordedValueMask as u32,
                        value,
                    );
                }
            }
        }
        drop(state);
        points.truncate(n);
        let data = match self.agg {
            AsyncAgg::Sum { monotonic } => Data::Sum(PSum {
                data_points: points,
                aggregation_temporality: otlp_temporality(self.temporality),
                is_monotonic: monotonic,
            }),
            AsyncAgg::LastValue => Data::Gauge(Gauge { data_points: points }),
        };
        self.desc.write_metric(out);
        out.data = Some(data);
        n > 0
    }
}
