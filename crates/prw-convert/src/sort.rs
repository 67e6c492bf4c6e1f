//! Sorting series by their label buffers.
//!
//! Label buffers of one metric share long prefixes (`__name__`, `instance`, `job`, ...), so a
//! plain comparison sort re-compares those bytes over and over. This is an MSD string sort: it
//! skips the prefix a group has in common, sorts the group on the next 8 bytes as an integer,
//! and only descends into runs that tie.

use crate::series::{LabelSet, Series};
use crate::symbols::Ranks;

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

/// The order of label sets given as runs of label ids, as indices into `sets`; equal sets
/// keep their input order. `rank` gives each label's place in label order (`distinct` ranks).
///
/// Each set is laid out as its labels' ranks, fixed width and big-endian: byte order of the
/// layouts is then label order (name, then value, label by label; a prefix first), and the
/// string sort reads two bytes per label instead of the label's text. When all sets have the
/// same number of labels, only the positions where they differ are laid out, and when those
/// fit in eight bytes the sort is a plain sort of integers.
pub(crate) fn order_by_ranks(rank: &[u32], distinct: usize, sets: &[&[u32]]) -> Vec<u32> {
    let n = sets.len();
    let width = if distinct > 1 << 16 { 4 } else { 2 };
    let r = |id: u32| rank.get(id as usize).copied().unwrap_or(0);
    let Some(first) = sets.first() else { return Vec::new() };
    let same_len = sets.iter().all(|s| s.len() == first.len());
    let varying: Vec<usize> = if same_len {
        (0..first.len()).filter(|&p| sets.iter().any(|s| s[p] != first[p])).collect()
    } else {
        Vec::new()
    };
    if same_len && varying.len() * width <= 8 {
        let mut items: Vec<(u64, u32)> = sets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let key =
                    varying.iter().fold(0u64, |k, &p| (k << (8 * width)) | u64::from(r(s[p])));
                (key, i as u32)
            })
            .collect();
        if !items.is_sorted() {
            items.sort_unstable();
        }
        return items.into_iter().map(|(_, i)| i).collect();
    }
    let mut arena: Vec<u8> = Vec::with_capacity(n * first.len() * width);
    let mut ends: Vec<usize> = Vec::with_capacity(n);
    let put = |arena: &mut Vec<u8>, id: u32| {
        if width == 4 {
            arena.extend_from_slice(&r(id).to_be_bytes());
        } else {
            arena.extend_from_slice(&(r(id) as u16).to_be_bytes());
        }
    };
    for set in sets {
        if same_len {
            for &p in &varying {
                put(&mut arena, set[p]);
            }
        } else {
            for &id in *set {
                put(&mut arena, id);
            }
        }
        ends.push(arena.len());
    }
    let mut start = 0;
    let bufs: Vec<&[u8]> = ends
        .iter()
        .map(|&e| {
            let b = &arena[start..e];
            start = e;
            b
        })
        .collect();
    if bufs.windows(2).all(|w| w[0] <= w[1]) {
        return (0..n as u32).collect();
    }
    let mut items: Vec<(u64, u32)> = (0..n as u32).map(|i| (0, i)).collect();
    msd_sort(&mut items, &bufs);
    items.into_iter().map(|(_, i)| i).collect()
}

/// The order of `series` by labels, as indices into it; equal label sets keep their input
/// order.
pub(crate) fn sorted_order(series: &[Series]) -> Vec<u32> {
    if series.is_sorted_by(|a, b| a.labels <= b.labels) {
        return (0..series.len() as u32).collect();
    }
    // Series of one conversion share one store: sort by symbol ranks.
    let store = series.first().and_then(|s| s.labels.store.as_ref());
    if let Some(store) = store {
        if series
            .iter()
            .all(|s| s.labels.store.as_ref().is_some_and(|x| std::sync::Arc::ptr_eq(x, store)))
        {
            let sets: Vec<&[u32]> = series.iter().map(|s| s.labels.ids()).collect();
            let mut ranks = Ranks::default();
            let distinct = ranks.rank_all(&store.table);
            return order_by_ranks(&ranks.rank, distinct, &sets);
        }
    }
    let mut order: Vec<u32> = (0..series.len() as u32).collect();
    order.sort_by(|&a, &b| series[a as usize].labels.cmp(&series[b as usize].labels));
    order
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
