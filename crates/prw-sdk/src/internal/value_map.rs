//! Per-stream storage of series: attribute set → aggregator cell.
//!
//! Finding an existing series hashes the attributes (order-independent, no allocation),
//! probes an open-addressing table and compares the set; the cell is then updated
//! with atomics or the cell's own small lock. Two indexes implement the table:
//!
//! - [`Index::Free`], for cumulative streams, whose series are never removed: readers take
//!   no lock at all. Slots are written once (`OnceLock`) and published with a release store
//!   of their hash; a full table is copied into a twice larger one that replaces it, and
//!   the old one stays readable, so a reader never sees a slot change under it. Creating a
//!   series takes the index's insert mutex, which readers never touch.
//! - [`Index::Locked`], for delta streams, which evict series idle for a whole interval:
//!   each shard is a table behind an `RwLock`. Writers hold the read lock while updating a
//!   cell, and the collector evicts under the write lock, so no update lands in an evicted
//!   series.
//!
//! Bound handles keep their series alive (an `Arc`); series with a live handle are never
//! evicted. Shards are cache-line padded so writers in different shards never share a line.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use prw_api::KeyValue;
use prw_api::diagnostics::{self, Severity};

use super::hash::{KeyFilter, hash_set, normalize, same_set};
use super::stream::Stats;
use crate::time::now_unix_nanos;

/// The attribute a stream's overflow series carries.
pub(crate) const OVERFLOW_KEY: &str = "otel.metric.overflow";

const SHARD_BITS: u32 = 5;
const SHARDS: usize = 1 << SHARD_BITS;
/// The lock-free index has a single table: its readers take no lock, so shards would only
/// spread inserts and table growth, and finding a shard's table from the attribute set's
/// hash puts two more dependent loads on every lookup's critical path (a measured 10-15% of
/// a counter add with 3 attributes). Creating series is serialised by one mutex instead.
const FREE_SHARDS: usize = 1;
/// Table generations per lock-free shard: 32 slots doubling 31 times is far past any
/// cardinality limit. A power of two, so indexing by the current generation needs no bounds
/// check.
const GENERATIONS: usize = 32;
const FIRST_CAPACITY: usize = 32;
/// How many series a collection visits per hold of a stream's insert lock.
const COLLECT_STRETCH: usize = 512;

/// A normalised attribute set, stored inline up to three attributes so that comparing a
/// measurement's attributes with it costs no extra pointer chase (and cache miss).
#[derive(Debug)]
pub(crate) enum Attrs {
    Zero,
    One([KeyValue; 1]),
    Two([KeyValue; 2]),
    Three([KeyValue; 3]),
    Many(Box<[KeyValue]>),
}

impl std::ops::Deref for Attrs {
    type Target = [KeyValue];
    #[inline(always)]
    fn deref(&self) -> &[KeyValue] {
        match self {
            Attrs::Zero => &[],
            Attrs::One(a) => a,
            Attrs::Two(a) => a,
            Attrs::Three(a) => a,
            Attrs::Many(a) => a,
        }
    }
}

impl From<Vec<KeyValue>> for Attrs {
    fn from(v: Vec<KeyValue>) -> Self {
        let v = match <[KeyValue; 3]>::try_from(v) {
            Ok(a) => return Attrs::Three(a),
            Err(v) => v,
        };
        let v = match <[KeyValue; 2]>::try_from(v) {
            Ok(a) => return Attrs::Two(a),
            Err(v) => v,
        };
        let v = match <[KeyValue; 1]>::try_from(v) {
            Ok(a) => return Attrs::One(a),
            Err(v) => v,
        };
        if v.is_empty() { Attrs::Zero } else { Attrs::Many(v.into_boxed_slice()) }
    }
}

/// One series: its normalised attribute set, its aggregator cell, when it was created.
///
/// `repr(C)`: the attribute set, which a lookup compares, and right after it the cell, which
/// the measurement then updates, are contiguous, so the cell's first bytes (a histogram's
/// count, sum, min and max) share a cache line with the set's last ones.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Series<C> {
    pub(crate) attrs: Attrs,
    pub(crate) cell: C,
    pub(crate) created: u64,
    /// Set by the collector when a whole interval passed with nothing recorded.
    quiet: AtomicBool,
}

impl<C> Series<C> {
    fn new(attrs: Attrs, cell: C) -> Self {
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

struct FreeSlot<C> {
    /// 0 while empty; set (release) after `series`.
    hash: AtomicU64,
    series: OnceLock<Arc<Series<C>>>,
}

impl<C> FreeSlot<C> {
    fn empty() -> Self {
        FreeSlot { hash: AtomicU64::new(0), series: OnceLock::new() }
    }
}

/// A shard of the lock-free index: a list of ever larger tables, the newest current.
struct FreeShard<C> {
    generations: [OnceLock<Box<[FreeSlot<C>]>>; GENERATIONS],
    current: AtomicUsize,
    /// Serialises inserts; holds the shard's series in the order they were created, which
    /// is close to their order in memory, so collection walks memory forwards instead of
    /// jumping around in hash order.
    insert: Mutex<Vec<Arc<Series<C>>>>,
}

impl<C> std::fmt::Debug for FreeShard<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FreeShard").finish_non_exhaustive()
    }
}

/// 0 marks an empty slot, so no real hash may be 0.
#[inline(always)]
fn nonzero(hash: u64) -> u64 {
    hash | u64::from(hash == 0)
}

impl<C> FreeShard<C> {
    fn new() -> Self {
        FreeShard {
            generations: std::array::from_fn(|_| OnceLock::new()),
            current: AtomicUsize::new(0),
            insert: Mutex::new(Vec::new()),
        }
    }

    #[inline]
    fn table(&self) -> Option<&[FreeSlot<C>]> {
        self.generations[self.current.load(Ordering::Acquire) % GENERATIONS].get().map(|t| &**t)
    }

    #[inline]
    fn find(&self, hash: u64, mut same: impl FnMut(&Series<C>) -> bool) -> Option<&Arc<Series<C>>> {
        let hash = nonzero(hash);
        let slots = self.table()?;
        let mask = slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let slot = &slots[i];
            match slot.hash.load(Ordering::Acquire) {
                0 => return None,
                h if h == hash => {
                    if let Some(s) = slot.series.get() {
                        if same(s) {
                            return Some(s);
                        }
                    }
                }
                _ => {}
            }
            i = (i + 1) & mask;
        }
    }

    fn place(slots: &[FreeSlot<C>], hash: u64, series: Arc<Series<C>>) {
        let mask = slots.len() - 1;
        let mut i = hash as usize & mask;
        while slots[i].hash.load(Ordering::Relaxed) != 0 {
            i = (i + 1) & mask;
        }
        // Under the insert lock: nobody else fills this slot.
        let _ = slots[i].series.set(series);
        slots[i].hash.store(hash, Ordering::Release);
    }

    /// Adds a series; the caller holds `insert` (passed as `all`). False if the shard
    /// cannot grow any more.
    fn insert(&self, all: &mut Vec<Arc<Series<C>>>, hash: u64, series: Arc<Series<C>>) -> bool {
        let hash = nonzero(hash);
        let g = self.current.load(Ordering::Relaxed);
        let slots = self.generations[g]
            .get_or_init(|| (0..FIRST_CAPACITY).map(|_| FreeSlot::empty()).collect());
        let slots = if (all.len() + 1) * 4 > slots.len() * 3 {
            if g + 1 >= GENERATIONS {
                return false;
            }
            let bigger: Box<[FreeSlot<C>]> =
                (0..slots.len() * 2).map(|_| FreeSlot::empty()).collect();
            for slot in slots.iter() {
                let h = slot.hash.load(Ordering::Relaxed);
                if let (true, Some(s)) = (h != 0, slot.series.get()) {
                    Self::place(&bigger, h, s.clone());
                }
            }
            let _ = self.generations[g + 1].set(bigger);
            // Readers still probing the old table may miss series added from now on; they
            // then take the insert path, which finds them here.
            self.current.store(g + 1, Ordering::Release);
            match self.generations[g + 1].get() {
                Some(t) => &**t,
                None => return false,
            }
        } else {
            slots
        };
        Self::place(slots, hash, series.clone());
        all.push(series);
        true
    }
}

/// How a stream indexes its series.
#[derive(Debug)]
enum Index<C> {
    Free(Box<[Padded<FreeShard<C>>; FREE_SHARDS]>),
    Locked(Box<[Padded<RwLock<Table<C>>>]>),
}

/// What a series store needs from an aggregator's cell.
pub(crate) trait Cell: Send + Sync + 'static {
    /// Whether nothing was recorded since the last reset (an idle delta series).
    fn idle(&self) -> bool;
}

/// The series of one stream.
#[derive(Debug)]
pub(crate) struct ValueMap<C> {
    index: Index<C>,
    empty: OnceLock<Arc<Series<C>>>,
    overflow: OnceLock<Arc<Series<C>>>,
    len: Padded<AtomicUsize>,
    stats: Arc<Stats>,
    limit: usize,
    filter: KeyFilter,
    name: Arc<str>,
    /// The locked index's collection buffer, kept so that collecting allocates nothing.
    batch: Mutex<Vec<Arc<Series<C>>>>,
}

impl<C: Cell> ValueMap<C> {
    /// `limit` is the cardinality limit, counting the overflow series (at least 2).
    /// `evicting` streams (delta) can drop idle series; others never drop any.
    pub(crate) fn new(
        limit: usize,
        filter: KeyFilter,
        name: Arc<str>,
        stats: Arc<Stats>,
        evicting: bool,
    ) -> Self {
        let index = if evicting {
            Index::Locked((0..SHARDS).map(|_| Padded::default()).collect())
        } else {
            Index::Free(Box::new(std::array::from_fn(|_| Padded(FreeShard::new()))))
        };
        ValueMap {
            index,
            empty: OnceLock::new(),
            overflow: OnceLock::new(),
            len: Padded(AtomicUsize::new(0)),
            stats,
            limit: limit.max(2),
            filter,
            name,
            batch: Mutex::new(Vec::new()),
        }
    }

    #[cold]
    fn empty_series(&self, new_cell: &impl Fn() -> C) -> &Arc<Series<C>> {
        self.empty.get_or_init(|| {
            self.len.0.fetch_add(1, Ordering::Relaxed);
            Arc::new(Series::new(Attrs::Zero, new_cell()))
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
            Arc::new(Series::new(Attrs::One([KeyValue::new(OVERFLOW_KEY, true)]), new_cell()))
        })
    }

    /// The series of the empty attribute set, if it exists.
    #[inline(always)]
    pub(crate) fn empty(&self) -> Option<&Series<C>> {
        self.empty.get().map(|s| &**s)
    }

    /// Runs `update` on the series for `attrs`, creating it if needed.
    ///
    /// Inlined into a caller that is itself out of line (`SyncStream::record`), which checks
    /// for the existing attribute-less series before calling: so that path never pays for the
    /// lookup's register saves and stack frame.
    #[inline(always)]
    pub(crate) fn with_series<R>(
        &self,
        attrs: &[KeyValue],
        new_cell: impl Fn() -> C,
        update: impl FnOnce(&Series<C>) -> R,
    ) -> R {
        if attrs.is_empty() {
            if let Some(s) = self.empty.get() {
                return update(s);
            }
            return update(self.empty_series(&new_cell));
        }
        self.with_attrs(attrs, new_cell, update)
    }

    #[inline(always)]
    fn with_attrs<R>(
        &self,
        attrs: &[KeyValue],
        new_cell: impl Fn() -> C,
        update: impl FnOnce(&Series<C>) -> R,
    ) -> R {
        let hash = hash_set(attrs, &self.filter);
        match &self.index {
            Index::Free(shards) => {
                let shard = &shards[0].0;
                if let Some(s) = shard.find(hash, |s| same_set(&s.attrs, attrs, &self.filter)) {
                    return update(s);
                }
            }
            Index::Locked(shards) => {
                let shard = &shards[(hash >> (64 - SHARD_BITS)) as usize].0;
                let table = shard.read().unwrap_or_else(PoisonError::into_inner);
                if let Some(s) = table.find(hash, |s| same_set(&s.attrs, attrs, &self.filter)) {
                    return update(s);
                }
            }
        }
        self.missing(attrs, &new_cell, update)
    }

    /// The set has no series yet (or a rare hash collision hid it): create it, or send the
    /// measurement to the overflow series when the stream is full.
    #[cold]
    #[inline(never)]
    fn missing<R>(
        &self,
        attrs: &[KeyValue],
        new_cell: &impl Fn() -> C,
        update: impl FnOnce(&Series<C>) -> R,
    ) -> R {
        if self.len.0.load(Ordering::Relaxed) + 1 >= self.limit && !has_duplicate_keys(attrs) {
            // Full: a set that is not here goes to the overflow series, without the cost of
            // normalising it (it would only be thrown away).
            return update(self.overflow_series(new_cell));
        }
        let series = self.find_or_insert(attrs, new_cell);
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
        let hash = hash_set(&norm, &KeyFilter::default());
        match &self.index {
            Index::Free(shards) => {
                let shard = &shards[0].0;
                let mut all = shard.insert.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(s) = shard.find(hash, |s| *s.attrs == *norm) {
                    return s.clone();
                }
                if !self.reserve() {
                    drop(all);
                    return self.overflow_series(new_cell).clone();
                }
                let series = Arc::new(Series::new(norm.into(), new_cell()));
                if shard.insert(&mut all, hash, series.clone()) {
                    series
                } else {
                    self.len.0.fetch_sub(1, Ordering::Relaxed);
                    drop(all);
                    self.overflow_series(new_cell).clone()
                }
            }
            Index::Locked(shards) => {
                let shard = &shards[(hash >> (64 - SHARD_BITS)) as usize].0;
                let mut table = shard.write().unwrap_or_else(PoisonError::into_inner);
                if let Some(s) = table.find(hash, |s| *s.attrs == *norm) {
                    return s.clone();
                }
                if !self.reserve() {
                    drop(table);
                    return self.overflow_series(new_cell).clone();
                }
                let series = Arc::new(Series::new(norm.into(), new_cell()));
                table.insert(hash, series.clone());
                series
            }
        }
    }

    /// How many series of its own the stream holds (a capacity hint for collection).
    pub(crate) fn len(&self) -> usize {
        self.len.0.load(Ordering::Relaxed)
    }

    /// Takes one place under the cardinality limit: at most limit-1 sets of their own, the
    /// overflow series is the last one.
    fn reserve(&self) -> bool {
        if self.len.0.fetch_add(1, Ordering::Relaxed) + 1 >= self.limit {
            self.len.0.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
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
        let shards = match &self.index {
            Index::Free(shards) => {
                // The insert lock delays only the creation of new series, never recording
                // into existing ones; and since series are only ever appended, it is taken
                // per stretch of the list rather than for the whole walk, so a new attribute
                // set waits for one stretch, not for the collection of the whole stream.
                // Series created during the walk are collected next time.
                for shard in shards.iter() {
                    let len = shard.0.insert.lock().unwrap_or_else(PoisonError::into_inner).len();
                    let mut at = 0;
                    while at < len {
                        let all = shard.0.insert.lock().unwrap_or_else(PoisonError::into_inner);
                        let Some(stretch) = all.get(at..len.min(at + COLLECT_STRETCH)) else {
                            break;
                        };
                        for chunk in stretch.chunks(32) {
                            warm(chunk);
                            for s in chunk {
                                visit(s);
                            }
                        }
                        at += stretch.len();
                    }
                }
                return;
            }
            Index::Locked(shards) => shards,
        };
        let mut batch = self.batch.lock().unwrap_or_else(PoisonError::into_inner);
        for shard in shards.iter() {
            batch.clear();
            {
                let table = shard.0.read().unwrap_or_else(PoisonError::into_inner);
                batch.extend(table.iter().cloned());
            }
            let mut quiet = 0usize;
            for s in batch.iter() {
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
        // Keeps the memory, not the series: evicted ones are freed now.
        batch.clear();
    }
}

/// Reads a few words of each series in a tight loop, so that the processor fetches their
/// cache lines in parallel instead of one miss at a time in the long loop that follows.
/// (With 100,000 series this halves collection time.)
#[inline(never)]
fn warm<C>(chunk: &[Arc<Series<C>>]) {
    let mut sink = 0u64;
    for s in chunk {
        sink ^= s.created;
        for kv in s.attrs.iter() {
            sink ^= kv.key.hash_code();
            if let prw_api::Value::I64(i) = kv.value {
                sink ^= i as u64;
            }
        }
    }
    std::hint::black_box(sink);
}

fn has_duplicate_keys(attrs: &[KeyValue]) -> bool {
    attrs.iter().enumerate().any(|(i, a)| attrs[..i].iter().any(|b| b.key == a.key))
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Cell for std::sync::atomic::AtomicU64 {
        fn idle(&self) -> bool {
            self.load(Ordering::Relaxed) == 0
        }
    }

    fn set(i: i64) -> [KeyValue; 3] {
        [KeyValue::new("a", i % 10), KeyValue::new("b", (i / 10) % 10), KeyValue::new("c", i / 100)]
    }

    fn total(m: &ValueMap<AtomicU64>) -> (usize, u64) {
        let (mut n, mut sum) = (0, 0);
        m.collect(false, |s| {
            n += 1;
            sum += s.cell.load(Ordering::Relaxed);
            true
        });
        (n, sum)
    }

    #[test]
    fn both_indexes_find_every_series_through_growth() {
        for evicting in [false, true] {
            let m =
                ValueMap::new(100_000, KeyFilter::default(), "x".into(), Arc::default(), evicting);
            for round in 0..3 {
                for i in 0..5000i64 {
                    let mut s = set(i);
                    if round == 1 {
                        s.reverse();
                    }
                    m.with_series(&s, AtomicU64::default, |s| {
                        s.cell.fetch_add(1, Ordering::Relaxed);
                    });
                }
            }
            assert_eq!(total(&m), (5000, 15000), "evicting={evicting}");
        }
    }

    #[test]
    fn limit_sends_new_sets_to_overflow() {
        for evicting in [false, true] {
            let m = ValueMap::new(11, KeyFilter::default(), "x".into(), Arc::default(), evicting);
            for i in 0..100i64 {
                m.with_series(&set(i), AtomicU64::default, |s| {
                    s.cell.fetch_add(1, Ordering::Relaxed);
                });
            }
            // 10 sets of their own plus the overflow series holding the other 90.
            assert_eq!(total(&m), (11, 100));
            let overflow = m.overflow.get().unwrap();
            assert_eq!(overflow.cell.load(Ordering::Relaxed), 90);
            assert_eq!(&*overflow.attrs, &[KeyValue::new(OVERFLOW_KEY, true)]);
        }
    }

    #[test]
    fn concurrent_inserts_and_lookups_lose_nothing() {
        for evicting in [false, true] {
            let m =
                ValueMap::new(100_000, KeyFilter::default(), "x".into(), Arc::default(), evicting);
            std::thread::scope(|s| {
                for t in 0..4i64 {
                    let m = &m;
                    s.spawn(move || {
                        for i in 0..3000i64 {
                            let k = (i * 7 + t * 13) % 3000;
                            m.with_series(&set(k), AtomicU64::default, |s| {
                                s.cell.fetch_add(1, Ordering::Relaxed);
                            });
                        }
                    });
                }
            });
            assert_eq!(total(&m), (3000, 12000));
        }
    }
}
