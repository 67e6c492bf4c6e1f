//! Sorting series by their labels.
//!
//! Every label of a conversion has a rank in label order (name bytes, then value bytes), so a
//! label set sorts as the sequence of its labels' ranks. One metric's label sets share most
//! labels and differ in a few positions with a few values each (the method, the bucket bound,
//! the path): the sort folds the positions where a group of sets differs into one integer key
//! (a mixed-radix number of the ranks, each position counted from its lowest rank), and sorts
//! the group by that key, most often with a counting sort.

use std::cmp::Ordering;

use crate::symbols::LabelTable;

/// Reused buffers of [`order_by_ranks`].
#[derive(Default)]
struct Scratch {
    /// The key of each set of the group being sorted, in the group's order (sorted after
    /// [`sort_group`]).
    keys: Vec<u64>,
    /// Where each key goes (counting sort) or key and index packed (comparison sort).
    counts: Vec<u32>,
    packed: Vec<u64>,
    wide: Vec<(u64, u32)>,
    moved: Vec<u32>,
}

/// Sorts `group` (indices, increasing) by `sc.keys` (one per index, each `< span`), stably,
/// and, if `keep_keys`, leaves the keys sorted in `sc.keys`.
fn sort_group(group: &mut [u32], sc: &mut Scratch, span: u64, keep_keys: bool) {
    let keys = &mut sc.keys;
    if keys.is_sorted() {
        return;
    }
    let n = group.len();
    if span <= (2 * n as u64).max(256) {
        // Few distinct keys for the group's size: a counting sort, one pass to count and one
        // to place (which keeps equal keys in group order).
        let span = span as usize;
        sc.counts.clear();
        sc.counts.resize(span + 1, 0);
        for &k in keys.iter() {
            sc.counts[k as usize + 1] += 1;
        }
        for i in 1..=span {
            sc.counts[i] += sc.counts[i - 1];
        }
        sc.moved.clear();
        sc.moved.extend_from_slice(group);
        for (&k, &i) in keys.iter().zip(&sc.moved) {
            let at = &mut sc.counts[k as usize];
            group[*at as usize] = i;
            *at += 1;
        }
        if !keep_keys {
            return;
        }
        // Bucket `k` now ends at `counts[k]`: the sorted keys follow from the counts.
        let mut at = 0usize;
        for (k, &end) in sc.counts[..span].iter().enumerate() {
            keys[at..end as usize].fill(k as u64);
            at = end as usize;
        }
    } else if span <= 1 << 32 {
        // Key and index in one integer: ties go by index, which is group order.
        sc.packed.clear();
        sc.packed.extend(keys.iter().zip(group.iter()).map(|(&k, &i)| (k << 32) | u64::from(i)));
        sc.packed.sort_unstable();
        for ((x, g), k) in sc.packed.iter().zip(group.iter_mut()).zip(keys.iter_mut()) {
            *g = *x as u32;
            *k = *x >> 32;
        }
    } else {
        sc.wide.clear();
        sc.wide.extend(keys.iter().copied().zip(group.iter().copied()));
        sc.wide.sort_unstable();
        for ((x, g), k) in sc.wide.iter().zip(group.iter_mut()).zip(keys.iter_mut()) {
            *g = x.1;
            *k = x.0;
        }
    }
}

/// Pushes each run of equal keys in `keys` (sorted, for the group at `lo`) that has more than
/// one set and a key other than `skip` to the stack, to be sorted from label `depth` on.
fn push_ties(
    stack: &mut Vec<(usize, usize, usize)>,
    keys: &[u64],
    lo: usize,
    depth: usize,
    skip: Option<u64>,
) {
    let mut i = 0;
    while i < keys.len() {
        let mut j = i + 1;
        while j < keys.len() && keys[j] == keys[i] {
            j += 1;
        }
        if j - i > 1 && Some(keys[i]) != skip {
            stack.push((lo + i, lo + j, depth));
        }
        i = j;
    }
}

/// The order of label sets given as runs of label ids, as indices into `sets`; equal sets
/// keep their input order. `rank` gives each label's place in label order, so sets sort as
/// their sequences of ranks (label by label; a prefix first).
///
/// A group of sets of one length is sorted at once on every position where its sets differ,
/// as one mixed-radix key (as many positions as fit in 64 bits; ties on those are sorted again
/// on the next ones). A group of mixed lengths (a histogram's `_bucket` sets have `le`, its
/// `_sum` and `_count` sets do not) is sorted on the first label where its sets differ, with
/// the sets that end there first; each run that ties is sorted again from the next label, and
/// runs of one length (one series name, for a histogram) take the fast way.
pub(crate) fn order_by_ranks(rank: &[u32], sets: &[&[u32]]) -> Vec<u32> {
    let r = |id: u32| rank.get(id as usize).copied().unwrap_or(0);
    let mut order: Vec<u32> = (0..sets.len() as u32).collect();
    // Explicit stack of (start, end, depth): a huge label set must not overflow the call stack.
    // Within a group every set has the same labels before `depth`, and the group's indices
    // are increasing (ties of a stable sort keep that).
    let mut stack: Vec<(usize, usize, usize)> = vec![(0, sets.len(), 0)];
    let mut sc = Scratch::default();
    let mut digits: Vec<(usize, u32, u64)> = Vec::new();
    let mut differs: Vec<u32> = Vec::new();
    while let Some((lo, hi, depth)) = stack.pop() {
        let group = &mut order[lo..hi];
        let Some(&g0) = group.first() else { continue };
        if group.len() < 2 {
            continue;
        }
        let first = sets[g0 as usize];
        let len = first.len();
        let set = |i: u32| sets[i as usize];
        if group.iter().all(|&i| set(i).len() == len) {
            // Positions where the sets differ, each with its lowest rank and number of ranks.
            digits.clear();
            let mut span = 1u64;
            let mut next = len;
            // One pass over the sets: which positions differ from the first set anywhere.
            let tail = first.get(depth..).unwrap_or(&[]);
            differs.clear();
            differs.resize(tail.len(), 0);
            for &i in group.iter() {
                let s = set(i).get(depth..).unwrap_or(&[]);
                for (d, (x, f)) in differs.iter_mut().zip(s.iter().zip(tail)) {
                    *d |= x ^ f;
                }
            }
            for (p, _) in differs.iter().enumerate().filter(|(_, d)| **d != 0) {
                let p = p + depth;
                let (mut lo_rank, mut hi_rank) = (u32::MAX, 0u32);
                for &i in group.iter() {
                    let x = r(set(i)[p]);
                    lo_rank = lo_rank.min(x);
                    hi_rank = hi_rank.max(x);
                }
                let radix = u64::from(hi_rank - lo_rank) + 1;
                match span.checked_mul(radix) {
                    Some(s) => {
                        span = s;
                        digits.push((p, lo_rank, radix));
                    }
                    None => {
                        next = p;
                        break;
                    }
                }
            }
            if digits.is_empty() {
                continue; // all equal: input order
            }
            sc.keys.clear();
            sc.keys.extend(group.iter().map(|&i| {
                let s = set(i);
                digits.iter().fold(0u64, |k, &(p, low, radix)| k * radix + u64::from(r(s[p]) - low))
            }));
            sort_group(group, &mut sc, span, next < len);
            if next < len {
                push_ties(&mut stack, &sc.keys, lo, next, None);
            }
        } else {
            // The first label where the sets differ (or one ends).
            let shortest = group.iter().map(|&i| set(i).len()).min().unwrap_or(0);
            let mut d = depth;
            while d < shortest && group.iter().all(|&i| set(i)[d] == first[d]) {
                d += 1;
            }
            let (mut lo_rank, mut hi_rank) = (u32::MAX, 0u32);
            for &i in group.iter() {
                if let Some(&id) = set(i).get(d) {
                    lo_rank = lo_rank.min(r(id));
                    hi_rank = hi_rank.max(r(id));
                }
            }
            // Sets that end at `d` are prefixes of the others: key 0, first.
            sc.keys.clear();
            sc.keys.extend(group.iter().map(|&i| match set(i).get(d) {
                Some(&id) => u64::from(r(id) - lo_rank) + 1,
                None => 0,
            }));
            sort_group(group, &mut sc, u64::from(hi_rank.saturating_sub(lo_rank)) + 2, true);
            // Sets that end at `d` are equal: they stay in input order.
            push_ties(&mut stack, &sc.keys, lo, d + 1, Some(0));
        }
    }
    order
}

/// Ranks of the labels made so far, brought up to date as labels are added, so that each
/// metric's series can be sorted as soon as they are made, while they are in cache. (The ranks
/// of a conversion's labels change as labels are added; only their order is used, and the
/// order of two labels never changes.)
#[derive(Debug, Default)]
pub(crate) struct RunningRanks {
    /// Label ids ranked so far, in label order.
    sorted: Vec<u32>,
    /// Rank by label id, for the ids ranked so far.
    pub(crate) rank: Vec<u32>,
    merged: Vec<u32>,
}

impl RunningRanks {
    /// Ranks the labels of `table` not ranked yet. Refuses (returns `false`, ranking nothing)
    /// when that would touch more than `budget` labels: many labels for few series are ranked
    /// once at the end instead.
    pub(crate) fn update(&mut self, table: &LabelTable, budget: usize) -> bool {
        let known = self.rank.len().max(1); // label id 0 is unused
        let total = table.len();
        if total <= known {
            return true;
        }
        if self.sorted.len() + (total - known) > budget {
            return false;
        }
        let mut new: Vec<u32> = (known as u32..total as u32).collect();
        crate::symbols::sort_labels(table, &mut new);
        if new.len() * 16 < self.sorted.len() {
            // A few new labels (a new series name): each goes in by binary search.
            for id in new {
                let at = self.sorted.partition_point(|&x| table.cmp(x, id) == Ordering::Less);
                self.sorted.insert(at, id);
            }
        } else {
            self.merged.clear();
            let (mut i, mut j) = (0, 0);
            while let (Some(&x), Some(&y)) = (self.sorted.get(i), new.get(j)) {
                if table.cmp(x, y) == Ordering::Greater {
                    self.merged.push(y);
                    j += 1;
                } else {
                    self.merged.push(x);
                    i += 1;
                }
            }
            self.merged.extend_from_slice(self.sorted.get(i..).unwrap_or(&[]));
            self.merged.extend_from_slice(new.get(j..).unwrap_or(&[]));
            std::mem::swap(&mut self.sorted, &mut self.merged);
        }
        self.rank.resize(total, 0);
        for (r, &id) in self.sorted.iter().enumerate() {
            if let Some(x) = self.rank.get_mut(id as usize) {
                *x = r as u32;
            }
        }
        true
    }
}

/// Compares two label sets by their labels' ranks.
fn cmp_by_ranks(rank: &[u32], a: &[u32], b: &[u32]) -> Ordering {
    let r = |id: u32| rank.get(id as usize).copied().unwrap_or(0);
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return r(*x).cmp(&r(*y));
        }
    }
    a.len().cmp(&b.len())
}

/// The order of chunks of sorted label sets (one metric's series each), given each chunk's
/// first and last set, or `None` when two chunks overlap (the same series name from several
/// metrics, scopes or resources): then the chunks are not sorted apart and only a sort of all
/// their sets gives the order.
pub(crate) fn chunk_order(rank: &[u32], ends: &[(&[u32], &[u32])]) -> Option<Vec<usize>> {
    let mut order: Vec<usize> = (0..ends.len()).collect();
    order.sort_by(|&a, &b| cmp_by_ranks(rank, ends[a].0, ends[b].0));
    let disjoint =
        order.windows(2).all(|w| cmp_by_ranks(rank, ends[w[0]].1, ends[w[1]].0) == Ordering::Less);
    disjoint.then_some(order)
}

/// Reorders `v` in place so that position `j` holds the element first at the `j`-th index of
/// `sources` (a permutation of `0..v.len()`). Destinations are filled in order, each by one
/// swap with wherever its element is now; the element displaced goes where that one was.
/// When `sources` takes runs from one region (a chunk, sorted within), the swaps stay in that
/// region, so this touches memory in cache-sized neighbourhoods rather than all over.
pub(crate) fn permute<T>(v: &mut [T], sources: impl IntoIterator<Item = u32>) {
    // `pos[o]`: where the element first at `o` is now; `at[i]`: which element is at `i`.
    let mut pos: Vec<u32> = (0..v.len() as u32).collect();
    let mut at = pos.clone();
    for (j, s) in sources.into_iter().enumerate().take(v.len()) {
        let Some(&cur) = pos.get(s as usize) else { continue };
        let cur = cur as usize;
        if cur <= j {
            continue; // in place (or, for a source given twice, already placed)
        }
        v.swap(j, cur);
        let displaced = at[j];
        pos[displaced as usize] = cur as u32;
        at[cur] = displaced;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbols::Ranks;
    use proptest::prelude::*;

    /// `order_by_ranks` against a stable comparison sort of the rank sequences.
    fn check(rank: &[u32], sets: &[Vec<u32>]) {
        let views: Vec<&[u32]> = sets.iter().map(Vec::as_slice).collect();
        let got = order_by_ranks(rank, &views);
        let ranks_of =
            |i: u32| -> Vec<u32> { sets[i as usize].iter().map(|&id| rank[id as usize]).collect() };
        let mut want: Vec<u32> = (0..sets.len() as u32).collect();
        want.sort_by_key(|&i| ranks_of(i));
        assert_eq!(got, want);
    }

    #[test]
    fn permutes_in_place() {
        for perm in [
            vec![],
            vec![0],
            vec![1, 0],
            vec![2, 0, 1],
            vec![1, 2, 0],
            vec![3, 1, 0, 2, 5, 4],
            vec![5, 4, 3, 2, 1, 0, 6],
        ] {
            let mut v: Vec<u32> = (0..perm.len() as u32).map(|i| i * 10).collect();
            let want: Vec<u32> = perm.iter().map(|&p| p * 10).collect();
            permute(&mut v, perm.iter().copied());
            assert_eq!(v, want);
        }
    }

    proptest! {
        #[test]
        fn permutes_like_indexing(seed in any::<u64>(), n in 0usize..300) {
            let mut perm: Vec<u32> = (0..n as u32).collect();
            let mut x = seed | 1;
            for i in (1..n).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                perm.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut v: Vec<u32> = (0..n as u32).collect();
            permute(&mut v, perm.iter().copied());
            prop_assert_eq!(v, perm);
        }
    }

    #[test]
    fn running_ranks_keep_label_order_as_labels_are_added() {
        let mut interner = crate::symbols::Interner::new();
        let mut running = RunningRanks::default();
        // Batches: many new labels (merged), then a few (inserted), NUL and prefixes.
        let batches: Vec<Vec<(String, String)>> = vec![
            (0..300).map(|i| (format!("k{}", i % 7), format!("v{}", i * 7919 % 1000))).collect(),
            vec![("k3".into(), "v\0".into()), ("k3".into(), "v".into()), ("a".into(), "".into())],
            (0..50).map(|i| (format!("k{i}\0"), format!("{i}"))).collect(),
        ];
        for batch in &batches {
            for (k, v) in batch {
                interner.label_str(k, v);
            }
            assert!(running.update(interner.table(), usize::MAX));
            let mut all = Ranks::default();
            all.rank_all(interner.table());
            assert_eq!(running.rank, all.rank);
        }
        // Over budget: nothing is ranked.
        interner.label_str("new", "label");
        assert!(!running.update(interner.table(), 1));
        assert_eq!(running.rank.len() + 1, interner.table().len());
    }

    #[test]
    fn sorts_known_cases() {
        // Label ids 0..8, ranked in reverse.
        let rank: Vec<u32> = (0..8).rev().collect();
        check(&rank, &[]);
        check(&rank, &[vec![1, 2]]);
        check(&rank, &[vec![], vec![3], vec![], vec![3, 1], vec![3], vec![4, 0], vec![3, 1, 2]]);
        // A histogram: `_bucket` sets with `le` (position 1), `_sum`/`_count` without.
        let mut sets = Vec::new();
        for path in [5u32, 4] {
            for name in [7u32, 6, 1] {
                let les: &[u32] = if name == 7 { &[2, 3, 0] } else { &[] };
                for &le in les {
                    sets.push(vec![name, le, path]);
                }
                if les.is_empty() {
                    sets.push(vec![name, path]);
                }
            }
        }
        check(&rank, &sets);
        // Wide ranks: the key of all positions does not fit in 64 bits.
        let wide: Vec<u32> = (0..40).map(|i| (i * 104_729) % 1_000_003).collect();
        let sets: Vec<Vec<u32>> =
            (0..300u32).map(|i| (0..6).map(|p| (i * 7 + p * 13) % 40).collect()).collect();
        check(&wide, &sets);
    }

    proptest! {
        /// Mixed lengths, prefixes, ties, few and many distinct labels, narrow and wide ranks.
        #[test]
        fn sorts_like_comparison(
            labels in 1usize..50,
            spread in prop_oneof![Just(1u32), Just(1000), Just(u32::MAX / 64)],
            shape in proptest::collection::vec(proptest::collection::vec(0usize..50, 0..6), 0..300),
            seed in any::<u32>(),
        ) {
            // Distinct ranks per label (as in a conversion): a permutation of 0..labels,
            // shuffled by the seed, times the spread.
            let mut by_key: Vec<u32> = (0..labels as u32).collect();
            by_key.sort_by_key(|&i| (i.wrapping_mul(0x9e37_79b9) ^ seed, i));
            let mut rank = vec![0u32; labels];
            for (r, &i) in by_key.iter().enumerate() {
                rank[i as usize] = r as u32 * spread;
            }
            let sets: Vec<Vec<u32>> =
                shape.iter().map(|s| s.iter().map(|&x| (x % labels) as u32).collect()).collect();
            check(&rank, &sets);
        }

        /// Chunks sorted one by one and put in order give the order of all sets at once,
        /// whether the chunks overlap or not.
        #[test]
        fn chunks_in_order_sort_like_all_at_once(
            names in proptest::collection::vec(0u32..4, 0..40),
            cuts in proptest::collection::vec(0usize..60, 0..6),
            shared in any::<bool>(),
        ) {
            // Label ids: 0..4 series names, 4..8 values; ranked in reverse id order.
            let rank: Vec<u32> = (0..8).rev().collect();
            let sets: Vec<Vec<u32>> = names
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    // Mostly disjoint unless `shared`: neighbouring sets share a name.
                    let name = if shared { n } else { 3 - (i as u32 * 4 / 40).min(3) };
                    if n == 0 { vec![name] } else { vec![name, 4 + (n + i as u32) % 4] }
                })
                .collect();
            let mut ends = cuts.clone();
            ends.push(sets.len());
            ends.sort_unstable();
            let views: Vec<&[u32]> = sets.iter().map(Vec::as_slice).collect();
            // As `Run::finish`: each chunk sorted, then the chunks in order if they are apart.
            let mut chunks: Vec<Vec<u32>> = Vec::new();
            let mut start = 0;
            for &end in &ends {
                let end = end.min(sets.len());
                if end > start {
                    let local = order_by_ranks(&rank, &views[start..end]);
                    chunks.push(local.iter().map(|&i| i + start as u32).collect());
                    start = end;
                }
            }
            let bounds: Vec<(&[u32], &[u32])> = chunks
                .iter()
                .map(|c| (views[c[0] as usize], views[c[c.len() - 1] as usize]))
                .collect();
            let all = order_by_ranks(&rank, &views);
            match chunk_order(&rank, &bounds) {
                Some(order) => {
                    let got: Vec<u32> = order.iter().flat_map(|&c| chunks[c].clone()).collect();
                    prop_assert_eq!(got, all);
                }
                None => {
                    // Some two chunks do overlap.
                    let overlap = bounds.iter().enumerate().any(|(i, a)| {
                        bounds.iter().enumerate().any(|(j, b)| {
                            i != j
                                && cmp_by_ranks(&rank, a.0, b.0) != Ordering::Greater
                                && cmp_by_ranks(&rank, b.0, a.1) != Ordering::Greater
                        })
                    });
                    prop_assert!(overlap);
                }
            }
        }
    }
}
