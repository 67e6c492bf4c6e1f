//! Converting a large collection in chunks, on up to `threads` threads: the points are split
//! into chunks of [`CHUNK_POINTS`], each converted on its own, and the collection is put back
//! together afterwards. Chunks are faster even on one thread (converting 100,000 points at once
//! took twice as long as ten chunks of 10,000 here), and a spare core converts them in parallel.
//!
//! The result is what one conversion gives, up to the order of series (sorted runs instead of
//! one) and one case: two points of different chunks that become the same series (attribute
//! values `200` and `"200"`, keys `a.b` and `a_b`, metric names that escape alike). One
//! conversion keeps one of them and reports the other as `DuplicateTimestamp`; here the later
//! chunk's copy is dropped and reported the same way, so that no request ever carries a series
//! twice and no receiver sees two values at one timestamp.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use prw_convert::{
    Conversion, ConvertOptions, Converter, DropReason, Dropped, Metadata, OptionsError, Report,
    Series,
};
use prw_proto::otlp::metrics::{Metric, ResourceMetrics, ScopeMetrics, metric};

/// Points per chunk. 5,000 took less CPU and wall time than 10,000 (the same instruction count,
/// so probably cache effects) and 2,500 was no better, for 100,000 counter points.
pub(crate) const CHUNK_POINTS: usize = 5_000;

/// Converts in chunks, on one or more threads.
#[derive(Debug)]
pub(crate) struct ParallelConverter {
    full: Converter,
    /// For every chunk but the first: `target_info` comes from the first chunk only.
    tail: Converter,
    threads: usize,
}

impl ParallelConverter {
    pub(crate) fn new(opts: ConvertOptions, threads: usize) -> Result<Self, OptionsError> {
        let tail = Converter::new(ConvertOptions { target_info: false, ..opts.clone() })?;
        Ok(ParallelConverter { full: Converter::new(opts)?, tail, threads: threads.max(1) })
    }

    /// Converts `metrics` (taken apart and put back together when chunked) into one
    /// conversion.
    #[cfg(test)]
    pub(crate) fn convert(&self, metrics: &mut ResourceMetrics) -> Conversion {
        let mut all = Conversion::default();
        self.convert_each(metrics, |c| {
            all.series.extend(c.series.iter().cloned());
            all.metadata.extend(c.metadata);
            all.report.dropped.extend(c.report.dropped);
            all.report.exemplars_dropped += c.report.exemplars_dropped;
        });
        all.metadata.sort_by(|a, b| a.metric_family_name.cmp(&b.metric_family_name));
        all
    }

    /// Converts `metrics` and hands each chunk's conversion to `emit`, in chunk order, as soon
    /// as it and the ones before it are done: the caller sends the first chunks while the next
    /// ones convert. Each family's metadata is emitted once; a series already emitted by an
    /// earlier chunk is dropped and reported.
    pub(crate) fn convert_each(&self, metrics: &mut ResourceMetrics, mut emit: impl FnMut(Chunk)) {
        let points = point_count(metrics);
        if points <= CHUNK_POINTS {
            let c = self.full.convert(std::slice::from_ref(metrics));
            emit(Chunk { series: Arc::new(c.series), metadata: c.metadata, report: c.report });
            return;
        }
        // Split from the back, so that each split moves only its own points; chunk i is
        // `tails[tails.len() - i]`, and the tails go back in the reverse order.
        let boundaries: Vec<usize> =
            (1..points.div_ceil(CHUNK_POINTS)).map(|i| i * CHUNK_POINTS).collect();
        let tails: Vec<(ResourceMetrics, Vec<Origin>)> =
            boundaries.iter().rev().map(|at| split(metrics, *at)).collect();
        {
            let head: &ResourceMetrics = metrics;
            let chunks: Vec<&ResourceMetrics> =
                std::iter::once(head).chain(tails.iter().rev().map(|(rm, _)| rm)).collect();
            self.convert_chunks(&chunks, &mut emit);
        }
        for (tail, origins) in tails.into_iter().rev() {
            join(metrics, tail, origins);
        }
    }

    /// Converts every chunk (the first with `target_info`) on up to `threads` threads, and
    /// emits them in order. The calling thread converts too, and emits whenever the next chunk
    /// in order is ready.
    fn convert_chunks(&self, chunks: &[&ResourceMetrics], emit: &mut dyn FnMut(Chunk)) {
        let one = |i: usize| {
            let converter = if i == 0 { &self.full } else { &self.tail };
            hashed(converter.convert(std::slice::from_ref(chunks[i])))
        };
        let next = AtomicUsize::new(0);
        let ready: Mutex<Vec<Option<Hashed>>> =
            Mutex::new((0..chunks.len()).map(|_| None).collect());
        let done = Condvar::new();
        let take = || {
            let i = next.fetch_add(1, Ordering::Relaxed);
            (i < chunks.len()).then_some(i)
        };
        let store = |i: usize, h: Hashed| {
            lock(&ready)[i] = Some(h);
            done.notify_all();
        };
        let mut merger = Merger::default();
        std::thread::scope(|s| {
            for _ in 1..self.threads.min(chunks.len()) {
                // no thread to be had: the calling thread does all the work
                let _ =
                    std::thread::Builder::new().name("prw-convert".into()).spawn_scoped(s, || {
                        while let Some(i) = take() {
                            // a panicking conversion leaves its slot empty; the caller then
                            // converts that chunk itself and gets the panic there
                            let h =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| one(i)));
                            match h {
                                Ok(h) => store(i, h),
                                Err(_) => done.notify_all(),
                            }
                        }
                    });
            }
            for want in 0..chunks.len() {
                loop {
                    if let Some(h) = lock(&ready)[want].take() {
                        emit(merger.add(h, want + 1 == chunks.len()));
                        break;
                    }
                    if let Some(i) = take() {
                        let h = one(i);
                        store(i, h);
                        continue;
                    }
                    // Everything is taken: wait for the helper converting `want`. If it
                    // panicked its slot stays empty once all helpers are idle; convert here.
                    let guard = lock(&ready);
                    if guard[want].is_some() {
                        continue;
                    }
                    let (guard, timeout) = done
                        .wait_timeout(guard, std::time::Duration::from_secs(1))
                        .unwrap_or_else(|p| p.into_inner());
                    if guard[want].is_none()
                        && timeout.timed_out()
                        && helpers_idle(&next, chunks.len())
                    {
                        drop(guard);
                        let h = one(want);
                        store(want, h);
                    }
                }
            }
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Every chunk was taken; a waiting caller falls back to converting its chunk itself only after
/// a timeout, so this is just a sanity check that no chunk is still unassigned.
fn helpers_idle(next: &AtomicUsize, n: usize) -> bool {
    next.load(Ordering::Relaxed) >= n
}

fn points_of(m: &Metric) -> usize {
    match &m.data {
        Some(metric::Data::Gauge(g)) => g.data_points.len(),
        Some(metric::Data::Sum(s)) => s.data_points.len(),
        Some(metric::Data::Histogram(h)) => h.data_points.len(),
        Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(metric::Data::Summary(s)) => s.data_points.len(),
        None => 0,
    }
}

fn point_count(rm: &ResourceMetrics) -> usize {
    rm.scope_metrics.iter().flat_map(|sm| &sm.metrics).map(points_of).sum()
}

/// A copy of `m` without points, of the same kind.
fn shell(m: &Metric) -> Metric {
    let data = m.data.as_ref().map(|d| match d {
        metric::Data::Gauge(_) => metric::Data::Gauge(Default::default()),
        metric::Data::Sum(s) => metric::Data::Sum(prw_proto::otlp::metrics::Sum {
            data_points: Vec::new(),
            aggregation_temporality: s.aggregation_temporality,
            is_monotonic: s.is_monotonic,
        }),
        metric::Data::Histogram(h) => {
            metric::Data::Histogram(prw_proto::otlp::metrics::Histogram {
                data_points: Vec::new(),
                aggregation_temporality: h.aggregation_temporality,
            })
        }
        metric::Data::ExponentialHistogram(h) => {
            metric::Data::ExponentialHistogram(prw_proto::otlp::metrics::ExponentialHistogram {
                data_points: Vec::new(),
                aggregation_temporality: h.aggregation_temporality,
            })
        }
        metric::Data::Summary(_) => metric::Data::Summary(Default::default()),
    });
    Metric {
        name: m.name.clone(),
        description: m.description.clone(),
        unit: m.unit.clone(),
        metadata: m.metadata.clone(),
        data,
    }
}

/// Moves the points from index `k` on out of `m` into a shell.
fn split_points(m: &mut Metric, k: usize) -> Metric {
    let mut t = shell(m);
    match (&mut m.data, &mut t.data) {
        (Some(metric::Data::Gauge(a)), Some(metric::Data::Gauge(b))) => {
            b.data_points = a.data_points.split_off(k)
        }
        (Some(metric::Data::Sum(a)), Some(metric::Data::Sum(b))) => {
            b.data_points = a.data_points.split_off(k)
        }
        (Some(metric::Data::Histogram(a)), Some(metric::Data::Histogram(b))) => {
            b.data_points = a.data_points.split_off(k)
        }
        (
            Some(metric::Data::ExponentialHistogram(a)),
            Some(metric::Data::ExponentialHistogram(b)),
        ) => b.data_points = a.data_points.split_off(k),
        (Some(metric::Data::Summary(a)), Some(metric::Data::Summary(b))) => {
            b.data_points = a.data_points.split_off(k)
        }
        _ => {}
    }
    t
}

/// Puts the points of `t` back at the end of `m`.
fn append_points(m: &mut Metric, t: Metric) {
    match (&mut m.data, t.data) {
        (Some(metric::Data::Gauge(a)), Some(metric::Data::Gauge(b))) => {
            a.data_points.extend(b.data_points)
        }
        (Some(metric::Data::Sum(a)), Some(metric::Data::Sum(b))) => {
            a.data_points.extend(b.data_points)
        }
        (Some(metric::Data::Histogram(a)), Some(metric::Data::Histogram(b))) => {
            a.data_points.extend(b.data_points)
        }
        (
            Some(metric::Data::ExponentialHistogram(a)),
            Some(metric::Data::ExponentialHistogram(b)),
        ) => a.data_points.extend(b.data_points),
        (Some(metric::Data::Summary(a)), Some(metric::Data::Summary(b))) => {
            a.data_points.extend(b.data_points)
        }
        _ => {}
    }
}

/// Where a tail scope came from: its scope's index in the head, and whether its first metric
/// is the tail of the head's metric at that index.
#[derive(Debug, Clone, Copy)]
struct Origin {
    scope: usize,
    split_metric: Option<usize>,
}

/// Moves everything from the `at`-th point (in walk order) into a second `ResourceMetrics`.
fn split(rm: &mut ResourceMetrics, at: usize) -> (ResourceMetrics, Vec<Origin>) {
    let mut tail = ResourceMetrics {
        resource: rm.resource.clone(),
        scope_metrics: Vec::new(),
        schema_url: rm.schema_url.clone(),
    };
    let mut origins = Vec::new();
    let mut seen = 0;
    for (si, sm) in rm.scope_metrics.iter_mut().enumerate() {
        let mut moved = Vec::new();
        let mut split_metric = None;
        let mut first_whole = sm.metrics.len();
        for mi in 0..sm.metrics.len() {
            if seen >= at {
                first_whole = mi;
                break;
            }
            let n = points_of(&sm.metrics[mi]);
            if seen + n > at {
                moved.push(split_points(&mut sm.metrics[mi], at - seen));
                split_metric = Some(mi);
                seen = at;
                first_whole = mi + 1;
                break;
            }
            seen += n;
        }
        moved.extend(sm.metrics.drain(first_whole..));
        if !moved.is_empty() {
            tail.scope_metrics.push(ScopeMetrics {
                scope: sm.scope.clone(),
                metrics: moved,
                schema_url: sm.schema_url.clone(),
            });
            origins.push(Origin { scope: si, split_metric });
        }
    }
    (tail, origins)
}

/// Undoes [`split`].
fn join(rm: &mut ResourceMetrics, tail: ResourceMetrics, origins: Vec<Origin>) {
    for (sm, origin) in tail.scope_metrics.into_iter().zip(origins) {
        let Some(head) = rm.scope_metrics.get_mut(origin.scope) else { continue };
        let mut metrics = sm.metrics.into_iter();
        if let Some(mi) = origin.split_metric {
            if let (Some(m), Some(t)) = (head.metrics.get_mut(mi), metrics.next()) {
                append_points(m, t);
            }
        }
        head.metrics.extend(metrics);
    }
}

/// A conversion with a hash of each series' labels, computed on the converting thread.
struct Hashed {
    conversion: Conversion,
    hashes: Vec<u64>,
}

fn hashed(conversion: Conversion) -> Hashed {
    let hashes = conversion.series.iter().map(label_hash).collect();
    Hashed { conversion, hashes }
}

fn label_hash(s: &Series) -> u64 {
    s.label_hash()
}

fn same_labels(a: &Series, b: &Series) -> bool {
    a.same_labels(b)
}

/// A `u64` hash is already mixed: use it as is.
#[derive(Debug, Default, Clone, Copy)]
struct Identity(u64);

impl std::hash::Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdentityBuild = std::hash::BuildHasherDefault<Identity>;

/// Removes the items at `at` (ascending indices) from `v`, keeping the order of the rest.
fn remove_sorted<T>(v: &mut Vec<T>, at: &[usize]) {
    let mut next = at.iter().peekable();
    let mut i = 0;
    v.retain(|_| {
        let gone = next.next_if_eq(&&i).is_some();
        i += 1;
        !gone
    });
}

/// One chunk's share of the conversion, ready to be cut into requests.
#[derive(Debug)]
pub(crate) struct Chunk {
    pub(crate) series: Arc<Vec<Series>>,
    /// The families not described by an earlier chunk.
    pub(crate) metadata: Vec<Metadata>,
    pub(crate) report: Report,
}

/// Joins chunk conversions one after the other: a series an earlier chunk already produced is
/// dropped and reported, each family's metadata is kept once.
#[derive(Default)]
struct Merger {
    emitted: Vec<Arc<Vec<Series>>>,
    /// label hash -> (chunk, index) of the first emitted series with it
    index: HashMap<u64, (u32, u32), IdentityBuild>,
    /// further series whose hash was taken (different labels, same 64-bit hash)
    more: Vec<(u64, u32, u32)>,
    families: HashSet<String>,
}

impl Merger {
    fn seen(&self, h: u64, s: &Series) -> bool {
        let same = |c: u32, i: u32| {
            self.emitted
                .get(c as usize)
                .and_then(|e| e.get(i as usize))
                .is_some_and(|e| same_labels(e, s))
        };
        self.index.get(&h).is_some_and(|&(c, i)| same(c, i))
            || self.more.iter().any(|&(mh, c, i)| mh == h && same(c, i))
    }

    /// Adds the next chunk; `last` when no chunk follows (its series need no index then).
    fn add(&mut self, h: Hashed, last: bool) -> Chunk {
        let Hashed { conversion, mut hashes } = h;
        let Conversion { mut series, metadata, mut report } = conversion;
        let c = u32::try_from(self.emitted.len()).unwrap_or(u32::MAX);
        // one chunk's series are unique: only earlier chunks can hold a twin, and they are
        // rare, so the series stay where the conversion put them unless one is found
        let twins: Vec<usize> = if c == 0 {
            Vec::new()
        } else {
            (0..series.len()).filter(|&i| self.seen(hashes[i], &series[i])).collect()
        };
        if !twins.is_empty() {
            let mut duplicates: HashMap<String, u64> = HashMap::new();
            for &i in &twins {
                let s = &series[i];
                *duplicates.entry(s.name().to_owned()).or_default() +=
                    (s.sample_count() + s.histogram_count()) as u64;
            }
            remove_sorted(&mut series, &twins);
            remove_sorted(&mut hashes, &twins);
            for (metric, points) in duplicates {
                report.dropped.push(Dropped {
                    metric,
                    reason: DropReason::DuplicateTimestamp,
                    points,
                });
            }
        }
        if !last {
            for (i, h) in hashes.into_iter().enumerate() {
                let at = (c, u32::try_from(i).unwrap_or(u32::MAX));
                match self.index.entry(h) {
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(at);
                    }
                    std::collections::hash_map::Entry::Occupied(_) => {
                        self.more.push((h, at.0, at.1))
                    }
                }
            }
        }
        let series = Arc::new(series);
        self.emitted.push(series.clone());
        let metadata = metadata
            .into_iter()
            .filter(|m| self.families.insert(m.metric_family_name.clone()))
            .collect();
        Chunk { series, metadata, report }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::otlp::{T0, counter, gauge, point, resource};
    use prw_proto::otlp::metrics::ScopeMetrics;

    /// `n` points over three metrics in two scopes.
    fn collection(n: usize) -> ResourceMetrics {
        let ids: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        let pts = |range: std::ops::Range<usize>| -> Vec<_> {
            range.map(|i| point(&[("id", ids[i].as_str())], i as f64, T0)).collect()
        };
        let mut rm =
            resource("svc", vec![counter("c", pts(0..n / 2)), gauge("g", pts(n / 2..n * 3 / 4))]);
        rm.scope_metrics.push(ScopeMetrics {
            metrics: vec![gauge("h", pts(n * 3 / 4..n))],
            ..Default::default()
        });
        rm
    }

    fn labels(c: &Conversion) -> Vec<String> {
        let mut v: Vec<String> = c.series.iter().map(|s| format!("{s}")).collect();
        v.sort();
        v
    }

    #[test]
    fn split_and_join_give_back_the_same_collection() {
        for at in [0, 1, 3, 5, 6, 7, 8, 12] {
            let original = collection(8);
            let mut rm = original.clone();
            let (tail, origins) = split(&mut rm, at);
            assert_eq!(point_count(&rm), at.min(8), "at {at}");
            assert_eq!(point_count(&tail), 8 - at.min(8), "at {at}");
            join(&mut rm, tail, origins);
            assert_eq!(rm, original, "at {at}");
        }
    }

    #[test]
    fn two_threads_give_what_one_gives() {
        let opts = ConvertOptions::default();
        let one = Converter::new(opts.clone()).unwrap();
        let two = ParallelConverter::new(opts, 2).unwrap();
        let original = collection(CHUNK_POINTS * 5 + 7);
        let mut rm = original.clone();
        let a = one.convert(std::slice::from_ref(&original));
        let b = two.convert(&mut rm);
        assert_eq!(rm, original, "the collection is put back together");
        assert_eq!(labels(&a), labels(&b));
        assert_eq!(a.metadata, b.metadata);
        assert_eq!(a.report, b.report);
        assert_eq!(b.series.iter().filter(|s| s.name() == "target_info").count(), 1);
    }

    #[test]
    fn a_series_made_in_both_halves_is_sent_once_and_reported() {
        let two = ParallelConverter::new(ConvertOptions::default(), 2).unwrap();
        let mut rm = collection(CHUNK_POINTS * 3);
        // the last point of the tail becomes the same series as the first of the head:
        // id "0" as an integer is label id="0" too
        if let Some(metric::Data::Gauge(g)) = &mut rm.scope_metrics[1].metrics[0].data {
            let p = g.data_points.last_mut().unwrap();
            p.attributes = vec![prw_proto::otlp::common::KeyValue {
                key: "id".into(),
                value: Some(prw_proto::otlp::common::AnyValue {
                    value: Some(prw_proto::otlp::common::any_value::Value::IntValue(0)),
                }),
            }];
        }
        rm.scope_metrics[1].metrics[0].name = "c".into();
        if let Some(metric::Data::Gauge(g)) = rm.scope_metrics[1].metrics[0].data.take() {
            rm.scope_metrics[1].metrics[0].data =
                Some(metric::Data::Sum(prw_proto::otlp::metrics::Sum {
                    data_points: g.data_points,
                    aggregation_temporality: 2,
                    is_monotonic: true,
                }));
        }
        let out = two.convert(&mut rm);
        let c0 = out
            .series
            .iter()
            .filter(|s| s.name() == "c_total" && s.label("id") == Some("0"))
            .count();
        assert_eq!(c0, 1);
        assert!(
            out.report
                .dropped
                .iter()
                .any(|d| d.reason == DropReason::DuplicateTimestamp && d.metric == "c_total")
        );
    }

    #[test]
    fn small_collections_and_one_thread_work_too() {
        let two = ParallelConverter::new(ConvertOptions::default(), 2).unwrap();
        let mut rm = collection(100);
        assert_eq!(two.convert(&mut rm).series.len(), 101);
        let one = ParallelConverter::new(ConvertOptions::default(), 1).unwrap();
        let original = collection(CHUNK_POINTS * 3 + 1);
        let mut rm = original.clone();
        assert_eq!(one.convert(&mut rm).series.len(), CHUNK_POINTS * 3 + 2);
        assert_eq!(rm, original);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use crate::testing::otlp::{T0, counter, gauge, point, resource};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// However the points are spread over scopes and metrics and wherever it is cut, split
        /// then join gives back exactly the collection.
        #[test]
        fn split_then_join_is_the_identity(
            scopes in prop::collection::vec(prop::collection::vec(0usize..6, 0..4), 1..4),
            at in 0usize..40,
        ) {
            let mut id = 0;
            let mut rm = resource("s", vec![]);
            rm.scope_metrics.clear();
            for (si, metrics) in scopes.iter().enumerate() {
                let ms = metrics
                    .iter()
                    .enumerate()
                    .map(|(mi, n)| {
                        let pts = (0..*n)
                            .map(|_| {
                                id += 1;
                                point(&[("id", &id.to_string())], id as f64, T0)
                            })
                            .collect();
                        if mi % 2 == 0 { counter(&format!("c{si}{mi}"), pts) } else { gauge(&format!("g{si}{mi}"), pts) }
                    })
                    .collect();
                rm.scope_metrics.push(ScopeMetrics { metrics: ms, ..Default::default() });
            }
            let original = rm.clone();
            let total = point_count(&rm);
            let (tail, origins) = split(&mut rm, at);
            prop_assert_eq!(point_count(&rm), at.min(total));
            prop_assert_eq!(point_count(&rm) + point_count(&tail), total);
            join(&mut rm, tail, origins);
            prop_assert_eq!(rm, original);
        }
    }
}
