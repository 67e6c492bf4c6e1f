//! Sorting series by their label buffers.
//!
//! Label buffers of one metric share long prefixes (`__name__`, `instance`, `job`, ...), so a
//! plain comparison sort re-compares those bytes over and over. This is an MSD string sort: it
//! skips the prefix a group has in common, sorts the group on the next 8 bytes as an integer,
//! and only descends into runs that tie.

use crate::series::Series;

/// The 8 bytes of `b` from `at`, big-endian, zero-padded past the end.
fn key_at(b: &[u8], at: usize) -> u64 {
    let mut k = [0u8; 8];
    if at < b.len() {
        let n = (b.len() - at).min(8);
        k[..n].copy_from_slice(&b[at..at + n]);
    }
    u64::from_be_bytes(k)
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_le_bytes([
            a[i],
            a[i + 1],
            a[i + 2],
            a[i + 3],
            a[i + 4],
            a[i + 5],
            a[i + 6],
            a[i + 7],
        ]);
        let y = u64::from_le_bytes([
            b[i],
            b[i + 1],
            b[i + 2],
            b[i + 3],
            b[i + 4],
            b[i + 5],
            b[i + 6],
            b[i + 7],
        ]);
        if x != y {
            return i + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// Sorts `items` (pairs of scratch key and index into `bufs`) by `bufs[index]`, ties by index.
fn msd_sort(items: &mut [(u64, u32)], bufs: &[&[u8]]) {
    // Explicit stack: a huge label set must not overflow the call stack.
    let mut stack: Vec<(usize, usize, usize)> = vec![(0, items.len(), 0)];
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
        run.sort_unstable();
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

/// Sorts series by labels. Series with equal labels keep their input order.
pub(crate) fn sort_series(series: Vec<Series>) -> Vec<Series> {
    if series.is_sorted_by(|a, b| a.labels <= b.labels) {
        return series;
    }
    let mut items: Vec<(u64, u32)> = (0..series.len() as u32).map(|i| (0, i)).collect();
    // Lay every label set out as `name\0value\0...` in one arena: NUL sorts before every other
    // byte, so byte order is label order (unless a string contains NUL, fixed up below), and
    // the arena is compact in memory.
    let total: usize = series.iter().map(|s| s.labels.wire().len()).sum();
    let mut arena: Vec<u8> = Vec::with_capacity(total);
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(series.len());
    let mut nul = false;
    for s in &series {
        let start = arena.len();
        for (k, v) in s.labels.iter_bytes() {
            nul |= k.contains(&0) || v.contains(&0);
            arena.extend_from_slice(k);
            arena.push(0);
            arena.extend_from_slice(v);
            arena.push(0);
        }
        spans.push((start, arena.len()));
    }
    let bufs: Vec<&[u8]> = spans.iter().map(|&(a, b)| &arena[a..b]).collect();
    msd_sort(&mut items, &bufs);
    // Equal arena strings can still be different label sets when a string contains NUL: order
    // those runs by the exact comparison so that equal sets end up next to each other.
    let mut i = if nul { 0 } else { items.len() };
    while i < items.len() {
        let mut j = i + 1;
        let bi = bufs[items[i].1 as usize];
        while j < items.len() && bufs[items[j].1 as usize] == bi {
            j += 1;
        }
        if j - i > 1 {
            items[i..j].sort_by(|a, b| {
                series[a.1 as usize].labels.cmp(&series[b.1 as usize].labels).then(a.1.cmp(&b.1))
            });
        }
        i = j;
    }
    let mut slots: Vec<Option<Series>> = series.into_iter().map(Some).collect();
    items.iter().filter_map(|&(_, i)| slots[i as usize].take()).collect()
}

/// Sorts `series[start..]` in place.
pub(crate) fn sort_tail(series: &mut Vec<Series>, start: usize) {
    let tail = &series[start..];
    if tail.is_sorted_by(|a, b| a.labels <= b.labels) {
        return;
    }
    let chunk: Vec<Series> = series.drain(start..).collect();
    series.extend(sort_series(chunk));
}

/// Puts sorted, non-overlapping chunks in order; falls back to a full sort when chunks overlap
/// (the same series name from several metrics, scopes or resources).
pub(crate) fn merge_chunks(series: Vec<Series>, chunks: &[(usize, usize)]) -> Vec<Series> {
    let mut order: Vec<(usize, usize)> = chunks.to_vec();
    order.sort_by(|a, b| series[a.0].labels.cmp(&series[b.0].labels).then(a.0.cmp(&b.0)));
    let disjoint = order.windows(2).all(|w| series[w[0].1 - 1].labels < series[w[1].0].labels);
    let covers = chunks.iter().map(|c| c.1 - c.0).sum::<usize>() == series.len();
    if !disjoint || !covers {
        return sort_series(series);
    }
    if order.windows(2).all(|w| w[0].1 == w[1].0) {
        return series; // already in order
    }
    let mut slots: Vec<Option<Series>> = series.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(slots.len());
    for (a, b) in order {
        out.extend(slots[a..b].iter_mut().filter_map(Option::take));
    }
    out
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
