//! Per-stream storage of series: attribute set → aggregator cell.
//!
//! The map is split into cache-line-padded shards, each an open-addressing table behind its
//! own `RwLock`. Recording into an existing series hashes the attributes (order-independent),
//! takes the read lock of one shard, compares, and updates the cell with atomics or the
//! cell's own small lock: no allocation, and no lock shared with writers of series in other
//! shards. Only creating a series takes a write lock.
//!
//! Writers hold the shard's read lock while they update a cell, and the collector evicts
//! idle delta series under the write lock, so an update never lands in an evicted series.
//! Bound handles keep their series alive (an `Arc`), and series with a live handle are never
//! evicted.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use prw_api::KeyValue;
use prw_api::diagnostics::{self, Severity};

use super::hash::{KeyFilter, hash_set, normalize, same_set};
use super::stream::Stats;
use crate::time::now_unix_nanos;

/// The attribute a stream's overflow series carries.
pub(crate) const OVERFLOW_KEY: &str = "otel.metric.overflow";

const SHARD_BITS: u32 = 5;
const SHARDS: usize = 1 << SHARD_BITS;

/// One series: its normalised attribute set, its aggregator cell, when it was created.
#[derive(Debug)]
pub(crate) struct Series<C> {
    pub(crate) attrs: Box<[KeyValue]>,
    pub(crate) cell: C,
    pub(crate) created: u64,
    /// Set by the collector when a whole interval passed with nothing recorded.
    quiet: AtomicBool,
}

impl<C> Series<C> {
    fn new(attrs: Box<[KeyValue]>, cell: C) -> Self {
        Series { attrs, cell, created: now_unix_nanos(), quiet: AtomicBool::new(false) }
    }
}

/// Keeps each shard's lock word on its own cache line, so two threads writing series in
/// different shards do not invalidate each other's line.
#[repr(align(128))]
#[derive(Debug, Default)]
struct Padded<T>(T);

#[derive(Debug)]
struct Table<C> {
    slots: Vec<Option<(u64, Arc<Series<C>>)>>,
    len: usize,
}

impl<C> Default for Table<C> {
    fn default() -> Self {
        Table { slots: Vec::new(), len: 0 }
    }
}

impl<C> Table<C> {
    #[inline]
    fn find(&self, hash: u64, mut same: impl FnMut(&Series<C>) -> bool) -> Option<&Arc<Series<C>>> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            match &self.slots[i] {
                None => return None,
                Some((h, s)) if *h == hash && same(s) => return Some(s),
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    fn insert(&mut self, hash: u64, series: Arc<Series<C>>) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            let cap = (self.slots.len() * 2).max(8);
            let old = std::mem::take(&mut self.slots);
            self.slots = (0..cap).map(|_| None).collect();
            self.len = 0;
            for (h, s) in old.into_iter().flatten() {
                self.put(h, s);
            }
        }
        self.put(hash, series);
    }

    fn put(&mut self, hash: u64, series: Arc<Series<C>>) {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        while self.slots[i].is_some() {
            i = (i + 1) & mask;
        }
        self.slots[i] = Some((hash, series));
        self.len += 1;
    }

    fn iter(&self) -> impl Iterator<Item = &Arc<Series<C>>> {
        self.slots.iter().flatten().map(|(_, s)| s)
    }

    /// Keeps the series `keep` accepts; returns how many were removed.
    fn retain(&mut self, mut keep: impl FnMut(&Arc<Series<C>>) -> bool) -> usize {
        let before = self.len;
        let old = std::mem::take(&mut self.slots);
        self.slots = (0..old.len()).map(|_| None).collect();
        self.len = 0;
        for (h, s) in old.into_iter().flatten() {
            if keep(&s) {
                self.put(h, s);
            }
        }
        before - self.len
    }
}

/// What a series store needs from an aggregator's cell.
pub(crate) trait Cell: Send + Sync + 'static {
    /// Whether nothing was recorded since the last reset (an idle delta series).
    fn idle(&self) -> bool;
}

/// The series of one stream.
#[derive(Debug)]
pub(crate) struct ValueMap<C> {
    shards: Box<[Padded<RwLock<Table<C>>>]>,
    empty: OnceLock<Arc<Series<C>>>,
    overflow: OnceLock<Arc<Series<C>>>,
    len: Padded<AtomicUsize>,
    stats: Arc<Stats>,
    limit: usize,
    filter: KeyFilter,
    name: Arc<str>,
}

impl<C: Cell> ValueMap<C> {
    /// `limit` is the cardinality limit, counting the overflow series (at least 2).
    pub(crate) fn new(limit: usize, filter: KeyFilter, name: Arc<str>, stats: Arc<Stats>) -> Self {
        ValueMap {
            shards: (0..SHARDS).map(|_| Padded::default()).collect(),
            empty: OnceLock::new(),
            overflow: OnceLock::new(),
            len: Padded(AtomicUsize::new(0)),
            stats,
            limit: limit.max(2),
            filter,
            name,
        }
    }

    #[inline]
    fn shard(&self, hash: u64) -> &RwLock<Table<C>> {
        &self.shards[(hash >> (64 - SHARD_BITS)) as usize].0
    }

    fn empty_series(&self, new_cell: &impl Fn() -> C) -> &Arc<Series<C>> {
        self.empty.get_or_init(|| {
            self.len.0.fetch_add(1, Ordering::Relaxed);
            Arc::new(Series::new(Box::new([]), new_cell()))
        })
    }

    fn overflow_series(&self, new_cell: &impl Fn() -> C) -> &Arc<Series<C>> {
        self.stats.overflowed.fetch_add(1, Ordering::Relaxed);
        let name = &self.name;
        let limit = self.limit;
        diagnostics::report_once(&format!("overflow:{name}:{:p}", self), Severity::Warning, || {
            format!(
                "metric {name:?} reached its cardinality limit of {limit} series; further \
                 attribute sets are aggregated into one series with otel.metric.overflow=true \
                 (raise the limit with a view or the provider's with_cardinality_limit)"
            )
        });
        self.overflow.get_or_init(|| {
            Arc::new(Series::new(Box::new([KeyValue::new(OVERFLOW_KEY, true)]), new_cell()))
        })
    }

    /// Runs `update` on the series for `attrs`, creating it if needed.
    #[inline]
    pub(crate) fn with_series<R>(
        &self,
        attrs: &[KeyValue],
        new_cell: impl Fn() -> C,
        update: impl FnOnce(&Series<C>) -> R,
    ) -> R {
        if attrs.is_empty() {
            return update(self.empty_series(&new_cell));
        }
        let hash = hash_set(attrs, &self.filter);
        let shard = self.shard(hash);
        {
            let table = shard.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(s) = table.find(hash, |s| same_set(&s.attrs, attrs, &self.filter)) {
                return update(s);
            }
        }
        if self.len.0.load(Ordering::Relaxed) + 1 >= self.limit && !has_duplicate_keys(attrs) {
            // Full: a set that is not here goes to the overflow series, without the cost of
            // normalising it (it would only be thrown away).
            return update(self.overflow_series(&new_cell));
        }
        let series = self.find_or_insert(attrs, &new_cell);
        update(&series)
    }

    /// The series for `attrs`, for a bound handle.
    pub(crate) fn bind(&self, attrs: &[KeyValue], new_cell: impl Fn() -> C) -> Arc<Series<C>> {
        if attrs.is_empty() {
            return self.empty_series(&new_cell).clone();
        }
        self.find_or_insert(attrs, &new_cell)
    }

    #[cold]
    fn find_or_insert(&self, attrs: &[KeyValue], new_cell: &impl Fn() -> C) -> Arc<Series<C>> {
        let norm = normalize(attrs, &self.filter);
        if norm.is_empty() {
            return self.empty_series(new_cell).clone();
        }
        let all = KeyFilter::default();
        let hash = hash_set(&norm, &all);
        let mut table = self.shard(hash).write().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = table.find(hash, |s| *s.attrs == *norm) {
            return s.clone();
        }
        // At most limit-1 sets of their own; the overflow series is the last one.
        if self.len.0.fetch_add(1, Ordering::Relaxed) + 1 >= self.limit {
            self.len.0.fetch_sub(1, Ordering::Relaxed);
            drop(table);
            return self.overflow_series(new_cell).clone();
        }
        let series = Arc::new(Series::new(norm.into_boxed_slice(), new_cell()));
        table.insert(hash, series.clone());
        series
    }

    /// Visits every series; `visit` says whether the series had anything to report. With
    /// `evict_idle`, series with nothing to report that nobody else holds (no bound handle)
    /// are removed afterwards, unless they were written to in between.
    pub(crate) fn collect(&self, evict_idle: bool, mut visit: impl FnMut(&Series<C>) -> bool) {
        if let Some(s) = self.empty.get() {
            visit(s);
        }
        if let Some(s) = self.overflow.get() {
            visit(s);
        }
        let mut batch: Vec<Arc<Series<C>>> = Vec::new();
        for shard in self.shards.iter() {
            batch.clear();
            {
                let table = shard.0.read().unwrap_or_else(PoisonError::into_inner);
                batch.extend(table.iter().cloned());
            }
            let mut quiet = 0usize;
            for s in &batch {
                let had_data = visit(s);
                s.quiet.store(!had_data, Ordering::Relaxed);
                quiet += usize::from(!had_data);
            }
            if evict_idle && quiet > 0 {
                let mut table = shard.0.write().unwrap_or_else(PoisonError::into_inner);
                // 2 = the table's reference and `batch`'s: no bound handle holds it.
                let removed = table.retain(|s| {
                    !(s.quiet.load(Ordering::Relaxed) && s.cell.idle() && Arc::strong_count(s) <= 2)
                });
                self.len.0.fetch_sub(removed, Ordering::Relaxed);
            }
        }
    }
}

fn has_duplicate_keys(attrs: &[KeyValue]) -> bool {
    attrs.iter().enumerate().any(|(i, a)| attrs[..i].iter().any(|b| b.key == a.key))
}

#[cfg(test)]
mod probe_tests {
    use super::*;
    impl<C> Table<C> {
        fn probes(&self) -> (usize, usize) {
            let mask = self.slots.len().wrapping_sub(1);
            let mut total = 0;
            let mut worst = 0;
            for (pos, slot) in self.slots.iter().enumerate() {
                if let Some((h, _)) = slot {
                    let d = pos.wrapping_sub(*h as usize) & mask;
                    total += d + 1;
                    worst = worst.max(d + 1);
                }
            }
            (total, worst)
        }
    }
    impl Cell for () {
        fn idle(&self) -> bool {
            false
        }
    }
    #[test]
    fn probe_lengths_are_short() {
        let m: ValueMap<()> = ValueMap::new(5000, KeyFilter::default(), "x".into(), Arc::default());
        for i in 0..1000i64 {
            let set = [KeyValue::new("a", i % 10), KeyValue::new("b", (i / 10) % 10), KeyValue::new("c", i / 100)];
            m.with_series(&set, || (), |_| ());
        }
        let (mut total, mut worst) = (0, 0);
        for s in m.shards.iter() {
            let t = s.0.read().unwrap();
            let (a, b) = t.probes();
            total += a;
            worst = worst.max(b);
            println!("len {} cap {}", t.len, t.slots.len());
        }
        println!("avg {} worst {}", total as f64 / 1000.0, worst);
        assert!(worst < 20);
    }
}
