//! Sorting series by their label buffers.
//!
//! Label buffers of one metric share long prefixes (`__name__`, `instance`, `job`, ...), so a
//! plain comparison sort re-compares those bytes over and over. This is an MSD string sort: it
//! skips the prefix a group has in common, sorts the group on the next 8 bytes as an integer,
//! and only descends into runs that tie.

use crate::series::{LabelSet, Series};
use crate::wire::get_label;

/// The 8 bytes of `b` from `at`, big-endian, zero-padded past the end.
fn key_at(b: &[u8], at: usize) -> u64 {
    let mut k = [0u8; 8];
    if at < b.len() {
        let n = (b.len() - at).min(8);
        k[..n].copy_from_slice(&b[at..at + n]);
    }
    u64::from_be_bytes(k)
}

/// Length of the longest common prefix of `a` and `b`.
pub(crate) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    // Eight bytes at a time; `chunks_exact` lets the compiler drop the bounds checks.
    let word = |c: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        u64::from_le_bytes(w)
    };
    let mut i = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let d = word(x) ^ word(y);
        if d != 0 {
            return i + (d.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + a[i..].iter().zip(&b[i..]).take_while(|(x, y)| x == y).count()
}

/// Byte-slice equality without a `memcmp` call: the strings compared here are short (label
/// names and values), and the call costs more than the comparison.
#[inline]
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && common_prefix(a, b) == a.len()
}

/// Reused buffers of [`sort_by_key_stable`].
#[derive(Default)]
struct KeySortScratch {
    items: Vec<(u64, u32)>,
    bucket: Vec<u8>,
}

/// Sorts `run` by key, stably. At a level of the sort, one metric's series usually differ in
/// a single label with a handful of values (the method, the bucket bound, the series name):
/// with at most 16 distinct keys this is a counting sort (one pass to count, one to place),
/// otherwise a comparison sort.
fn sort_by_key_stable(run: &mut [(u64, u32)], scratch: &mut KeySortScratch) {
    const FEW: usize = 16;
    if run.len() < 32 {
        run.sort_unstable();
        return;
    }
    let mut keys = [0u64; FEW];
    let mut counts = [0usize; FEW];
    let (mut n, mut last) = (0usize, 0usize);
    scratch.bucket.clear();
    for x in run.iter() {
        if n == 0 || keys[last] != x.0 {
            last = match keys[..n].iter().position(|&k| k == x.0) {
                Some(i) => i,
                None if n < FEW => {
                    keys[n] = x.0;
                    n += 1;
                    n - 1
                }
                None => {
                    run.sort_unstable();
                    return;
                }
            };
        }
        counts[last] += 1;
        scratch.bucket.push(last as u8);
    }
    let mut by_key: [usize; FEW] = std::array::from_fn(|i| i);
    by_key[..n].sort_unstable_by_key(|&i| keys[i]);
    let mut at = [0usize; FEW];
    let mut sum = 0;
    for &i in &by_key[..n] {
        at[i] = sum;
        sum += counts[i];
    }
    scratch.items.clear();
    scratch.items.extend_from_slice(run);
    for (x, &b) in scratch.items.iter().zip(&scratch.bucket) {
        let b = usize::from(b);
        run[at[b]] = *x;
        at[b] += 1;
    }
}

/// Sorts `items` (pairs of scratch key and index into `bufs`) by `bufs[index]`, ties by index.
fn msd_sort(items: &mut [(u64, u32)], bufs: &[&[u8]]) {
    // Explicit stack: a huge label set must not overflow the call stack.
    let mut stack: Vec<(usize, usize, usize)> = vec![(0, items.len(), 0)];
    let mut scratch = KeySortScratch::default();
    while let Some((lo, hi, depth)) = stack.pop() {
        let run = &mut items[lo..hi];
        if run.len() < 2 {
            continue;
        }
        if run.len() <= 12 {
            run.sort_by(|a, b| {
                let (x, y) = (bufs[a.1 as usize], bufs[b.1 as usize]);
                x[depth.min(x.len())..].cmp(&y[depth.min(y.len())..]).then(a.1.cmp(&b.1))
            });
            continue;
        }
        let first = bufs[run[0].1 as usize];
        let first_tail = &first[depth.min(first.len())..];
        let mut lcp = first_tail.len();
        for it in run[1..].iter() {
            let b = bufs[it.1 as usize];
            lcp = lcp.min(common_prefix(&first_tail[..lcp], &b[depth.min(b.len())..]));
            if lcp == 0 {
                break;
            }
        }
        let d = depth + lcp;
        for it in run.iter_mut() {
            it.0 = key_at(bufs[it.1 as usize], d);
        }
        // Each run is in index order (the first is, and ties are cut out of a sorted run), so
        // a stable sort by key gives the order by (key, index).
        sort_by_key_stable(run, &mut scratch);
        let mut i = 0;
        while i < run.len() {
            let mut j = i + 1;
            while j < run.len() && run[j].0 == run[i].0 {
                j += 1;
            }
            if j - i > 1 {
                let tie = &mut run[i..j];
                // Buffers that end within these 8 bytes are prefixes of the longer ones (the
                // zero padding matches their bytes), so they come first, shortest first.
                let ends_here = |x: &(u64, u32)| bufs[x.1 as usize].len() <= d + 8;
                if tie.iter().any(ends_here) {
                    tie.sort_by_key(|x| {
                        let len = bufs[x.1 as usize].len();
                        if len <= d + 8 { (0, len, x.1) } else { (1, 0, x.1) }
                    });
                }
                let done = tie.iter().take_while(|x| ends_here(x)).count();
                if j - i - done > 1 {
                    stack.push((lo + i + done, lo + j, d + 8));
                }
            }
            i = j;
        }
    }
}

/// The series of one metric laid out for sorting, written while their labels are built (no
/// second pass over the label bytes): each series' labels as `name\0value\0...` in label
/// order, leaving out the labels the converter knows every series of the metric has byte for
/// byte (those from the resource and scope). Leaving out a label that all sets contain changes
/// neither their order nor which of them are equal, and it shortens what the sort reads to the
/// labels that vary (the point attributes, `__name__`, `le`).
#[derive(Debug, Default)]
pub(crate) struct SortLayout {
    pub(crate) bytes: Vec<u8>,
    spans: Vec<(u32, u32)>,
    /// The scope-base labels left out (bit `j` for base label `j`), which must be the same for
    /// every series.
    mask: Option<u64>,
    /// Set when the layouts cannot be used: a series without one, different labels left out,
    /// or a NUL byte in a name or value (byte order is then not label order).
    broken: bool,
}

impl SortLayout {
    /// Records the layout of the next series: `bytes[start..]`, with the base labels in `mask`
    /// left out.
    pub(crate) fn push(&mut self, start: usize, mask: u64, nul: bool) {
        let end = self.bytes.len();
        if nul || end > u32::MAX as usize || *self.mask.get_or_insert(mask) != mask {
            self.broken = true;
        }
        self.spans.push((start as u32, end as u32));
    }

    /// Marks the layouts unusable (a series was made without one).
    pub(crate) fn invalidate(&mut self) {
        self.broken = true;
    }

    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.spans.clear();
        self.mask = None;
        self.broken = false;
    }

    /// The sorted order of the `n` series laid out, as for [`sorted_order`]; `None` when the
    /// layouts cannot be used.
    pub(crate) fn sorted_order(&self, n: usize) -> Option<Vec<u32>> {
        if self.broken || self.spans.len() != n {
            return None;
        }
        let bufs: Vec<&[u8]> =
            self.spans.iter().map(|&(a, b)| &self.bytes[a as usize..b as usize]).collect();
        if bufs.windows(2).all(|w| w[0] <= w[1]) {
            return Some((0..n as u32).collect());
        }
        let mut items: Vec<(u64, u32)> = (0..n as u32).map(|i| (0, i)).collect();
        msd_sort(&mut items, &bufs);
        Some(items.into_iter().map(|(_, i)| i).collect())
    }
}

/// Length of the wire bytes of the leading whole labels that all `series` share.
fn shared_labels_len(series: &[Series]) -> usize {
    let Some(first) = series.first() else { return 0 };
    let w = first.labels.wire();
    let common = series.iter().map(|s| common_prefix(w, s.labels.wire())).min().unwrap_or(0);
    // Back to the end of the last label wholly inside the common bytes: since the bytes up to
    // there are equal, it is a label boundary in every series.
    let (mut pos, mut end) = (0, 0);
    while get_label(w, &mut pos).is_some() && pos <= common {
        end = pos;
    }
    end
}

/// The order of `series` by labels, as indices into it; equal label sets keep their input
/// order.
pub(crate) fn sorted_order(series: &[Series]) -> Vec<u32> {
    if series.is_sorted_by(|a, b| a.labels <= b.labels) {
        return (0..series.len() as u32).collect();
    }
    if series.iter().any(|s| s.labels.has_nul()) {
        // A NUL inside a name or value breaks the layout below (byte order is then not label
        // order): compare label by label instead. Rare, so the plain way.
        let mut order: Vec<u32> = (0..series.len() as u32).collect();
        order.sort_by(|&a, &b| series[a as usize].labels.cmp(&series[b as usize].labels));
        return order;
    }
    let mut items: Vec<(u64, u32)> = (0..series.len() as u32).map(|i| (0, i)).collect();
    // Lay every label set out as `name\0value\0...` in one arena: NUL sorts before every other
    // byte, so byte order is label order (no string contains NUL here), and the arena is
    // compact in memory.
    // Leading labels that every series has byte for byte (`__name__`, resource and scope
    // labels, often half the set) cannot change the order: leave them out.
    let skip = shared_labels_len(series);
    let total: usize = series.iter().map(|s| s.labels.wire().len() - skip).sum();
    let mut arena: Vec<u8> = Vec::with_capacity(total);
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(series.len());
    for s in series {
        let start = arena.len();
        let rest = &s.labels.wire()[skip..];
        let mut pos = 0;
        while let Some((k, v)) = get_label(rest, &mut pos) {
            arena.extend_from_slice(k);
            arena.push(0);
            arena.extend_from_slice(v);
            arena.push(0);
        }
        spans.push((start, arena.len()));
    }
    let bufs: Vec<&[u8]> = spans.iter().map(|&(a, b)| &arena[a..b]).collect();
    msd_sort(&mut items, &bufs);
    items.into_iter().map(|(_, i)| i).collect()
}

/// Reorders `v` so that `v[i]` becomes the old `v[perm[i]]`, in place (`perm` must be a
/// permutation of `0..v.len()`): each element is moved by a swap along its cycle, no second
/// array of elements is allocated.
pub(crate) fn permute<T>(v: &mut [T], perm: &[u32]) {
    let mut done = vec![false; v.len()];
    for i in 0..v.len() {
        if done[i] {
            continue;
        }
        let mut j = i;
        loop {
            done[j] = true;
            let k = perm[j] as usize;
            if k == i || done[k] {
                break;
            }
            v.swap(j, k);
            j = k;
        }
    }
}

/// All series in label order, given the chunks (one metric's series each), each already
/// sorted while still in cache. When the chunks do not overlap, this only orders the chunks
/// and moves each series once, in runs; otherwise (the same series name from several metrics,
/// scopes or resources) it sorts everything. Also returns whether the chunks were disjoint
/// (then no two series of different chunks have equal labels).
pub(crate) fn assemble(mut chunks: Vec<Vec<Series>>) -> (Vec<Series>, bool) {
    chunks.retain(|c| !c.is_empty());
    fn first(c: &[Series]) -> Option<&LabelSet> {
        c.first().map(|s| &s.labels)
    }
    fn last(c: &[Series]) -> Option<&LabelSet> {
        c.last().map(|s| &s.labels)
    }
    if chunks.len() == 1 {
        return (chunks.pop().unwrap_or_default(), true);
    }
    let mut order: Vec<usize> = (0..chunks.len()).collect();
    order.sort_by(|&a, &b| first(&chunks[a]).cmp(&first(&chunks[b])));
    let disjoint = order.windows(2).all(|w| last(&chunks[w[0]]) < first(&chunks[w[1]]));
    let mut series = Vec::with_capacity(chunks.iter().map(Vec::len).sum());
    if disjoint {
        for i in order {
            series.append(&mut chunks[i]);
        }
    } else {
        // In input order, so that equal label sets stay in input order.
        for mut c in chunks {
            series.append(&mut c);
        }
        let perm = sorted_order(&series);
        permute(&mut series, &perm);
    }
    (series, disjoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(mut strings: Vec<Vec<u8>>) {
        let bufs: Vec<&[u8]> = strings.iter().map(Vec::as_slice).collect();
        let mut items: Vec<(u64, u32)> = (0..bufs.len() as u32).map(|i| (0, i)).collect();
        msd_sort(&mut items, &bufs);
        let got: Vec<(Vec<u8>, u32)> =
            items.iter().map(|&(_, i)| (bufs[i as usize].to_vec(), i)).collect();
        let mut want: Vec<(Vec<u8>, u32)> =
            strings.drain(..).enumerate().map(|(i, s)| (s, i as u32)).collect();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn key_sort_is_stable_and_sorted() {
        for n in [0usize, 5, 31, 32, 33, 1000] {
            for distinct in [1u32, 3, 16, 17, 1000] {
                let mut v: Vec<(u64, u32)> = (0..n as u32)
                    .map(|i| (u64::from(i.wrapping_mul(2_654_435_761) % distinct) << 40, i))
                    .collect();
                let mut want = v.clone();
                want.sort();
                sort_by_key_stable(&mut v, &mut KeySortScratch::default());
                assert_eq!(v, want);
            }
        }
    }

    #[test]
    fn permutes_in_place() {
        for perm in
            [vec![], vec![0], vec![1, 0], vec![2, 0, 1], vec![1, 2, 0], vec![3, 1, 0, 2, 5, 4]]
        {
            let mut v: Vec<u32> = (0..perm.len() as u32).map(|i| i * 10).collect();
            let want: Vec<u32> = perm.iter().map(|&p| p * 10).collect();
            permute(&mut v, &perm);
            assert_eq!(v, want);
        }
    }

    #[test]
    fn sorts_like_byte_comparison() {
        let mut v = Vec::new();
        for a in ["__name__\0x\0", "__name__\0xy\0", "__name__\0x\0a\0b\0", "a", "", "\0", "\0\0"] {
            for b in
                ["", "\0", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "common-prefix-that-is-long\0tail"]
            {
                v.push(format!("{a}{b}").into_bytes());
                v.push(format!("{a}{b}").into_bytes());
            }
        }
        check(v.clone());
        v.reverse();
        check(v);
        let many: Vec<Vec<u8>> = (0..500u32)
            .map(|i| {
                format!("__name__\0metric_{}\0job\0j\0path\0/api/{}\0", i % 7, (i * 7919) % 101)
                    .into_bytes()
            })
            .collect();
        check(many);
    }
}
