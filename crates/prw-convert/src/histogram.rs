//! Exponential histogram buckets: native spans and deltas, and classic bucket bounds.

use crate::series::BucketSpan;

/// Smallest and largest native-histogram schema.
pub(crate) const SCHEMA_MIN: i32 = -4;
pub(crate) const SCHEMA_MAX: i32 = 8;

/// `>>` that floors like Go's arithmetic shift on `int32`, for any shift amount.
fn shr(v: i64, by: i64) -> i64 {
    if by >= 63 { if v < 0 { -1 } else { 0 } } else { v >> by }
}

/// Dense OTLP exponential buckets (`offset`, `counts`) to Prometheus spans and deltas, merging
/// `2^scale_down` buckets into one. The same algorithm as Prometheus' `convertBucketsLayout`
/// (from client_golang's `makeBuckets`): native index = `((i + offset) >> scale_down) + 1`;
/// gaps of up to two buckets are filled with zero deltas, longer gaps start a new span.
///
/// Returns `None` when an index does not fit in an `i32`.
pub(crate) fn buckets_layout(
    counts: &[u64],
    offset: i32,
    scale_down: i32,
) -> Option<(Vec<BucketSpan>, Vec<i64>)> {
    if counts.is_empty() {
        return Some((Vec::new(), Vec::new()));
    }
    let sd = i64::from(scale_down.max(0));
    let offset = i64::from(offset);
    let mut spans: Vec<BucketSpan> = Vec::with_capacity(2);
    let mut deltas: Vec<i64> = Vec::with_capacity(counts.len());
    let mut prev: i64 = 0;
    let fits = |v: i64| i32::try_from(v).ok();

    let mut bucket_idx = shr(offset, sd) + 1;
    spans.push(BucketSpan { offset: fits(bucket_idx)?, length: 0 });
    let mut count: i64 = 0;

    // Counts are u64 in OTLP and i64 in Prometheus; wrapping keeps absurd input from
    // panicking (real counts never come near 2^63).
    let append = |spans: &mut Vec<BucketSpan>, deltas: &mut Vec<i64>, prev: &mut i64, c: i64| {
        if let Some(last) = spans.last_mut() {
            last.length = last.length.wrapping_add(1);
        }
        deltas.push(c.wrapping_sub(*prev));
        *prev = c;
    };
    let fill_gap = |spans: &mut Vec<BucketSpan>,
                    deltas: &mut Vec<i64>,
                    prev: &mut i64,
                    gap: i64|
     -> Option<()> {
        if gap > 2 {
            spans.push(BucketSpan { offset: fits(gap)?, length: 0 });
        } else {
            for _ in 0..gap.max(0) {
                append(spans, deltas, prev, 0);
            }
        }
        Some(())
    };

    for (i, &c) in counts.iter().enumerate() {
        let c = c as i64;
        let next_idx = shr(i as i64 + offset, sd) + 1;
        if bucket_idx == next_idx {
            count = count.wrapping_add(c);
            continue;
        }
        if count == 0 {
            count = c;
            continue;
        }
        fits(next_idx)?;
        fill_gap(&mut spans, &mut deltas, &mut prev, next_idx - bucket_idx - 1)?;
        append(&mut spans, &mut deltas, &mut prev, count);
        count = c;
        bucket_idx = next_idx;
    }
    let last_idx = shr(counts.len() as i64 + offset - 1, sd) + 1;
    fits(last_idx)?;
    fill_gap(&mut spans, &mut deltas, &mut prev, last_idx - bucket_idx)?;
    append(&mut spans, &mut deltas, &mut prev, count);
    Some((spans, deltas))
}

/// The upper bound of OTLP exponential bucket `index` at `scale`: `2^((index + 1) / 2^scale)`.
pub(crate) fn exp_upper_bound(index: i64, scale: i32) -> f64 {
    let i = index.saturating_add(1);
    if scale <= 0 {
        // 2^(i * 2^-scale), exact.
        let shift = u32::try_from(-i64::from(scale)).unwrap_or(u32::MAX).min(62);
        let e = i.saturating_mul(1i64 << shift);
        pow2(e)
    } else {
        let per = 1i64 << scale.min(62);
        let q = i.div_euclid(per);
        let r = i.rem_euclid(per);
        pow2(q) * (r as f64 / per as f64).exp2()
    }
}

fn pow2(e: i64) -> f64 {
    if e > 1023 {
        f64::INFINITY
    } else if e < -1074 {
        0.0
    } else {
        (e as f64).exp2()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Spans = Vec<(i32, u32)>;

    fn layout(counts: &[u64], offset: i32, sd: i32) -> (Spans, Vec<i64>) {
        let (s, d) = buckets_layout(counts, offset, sd).unwrap();
        (s.iter().map(|s| (s.offset, s.length)).collect(), d)
    }

    #[test]
    fn spans_and_deltas_like_prometheus() {
        // The specification's example (offset 3, counts 10,0,0,20,5,2) gives {4,1},{2,3};
        // Prometheus fills gaps of up to two buckets with zero deltas instead, and so do we.
        assert_eq!(
            layout(&[10, 0, 0, 20, 5, 2], 3, 0),
            (vec![(4, 6)], vec![10, -10, 0, 20, -15, -3])
        );
        // A gap of three starts a new span.
        assert_eq!(
            layout(&[10, 0, 0, 0, 20, 5, 2], 3, 0),
            (vec![(4, 1), (3, 3)], vec![10, 10, -15, -3])
        );
        // E1: offset 1, [1,1] → {2,2} [1,0].
        assert_eq!(layout(&[1, 1], 1, 0), (vec![(2, 2)], vec![1, 0]));
        // E2: scale 8: pos offset 1 [1,1,1] → {2,3} [1,0,0]; neg offset 2 → {3,3} [1,0,0].
        assert_eq!(layout(&[1, 1, 1], 1, 0), (vec![(2, 3)], vec![1, 0, 0]));
        assert_eq!(layout(&[1, 1, 1], 2, 0), (vec![(3, 3)], vec![1, 0, 0]));
        // E3: scale 9 → schema 8 (scale down 1): pos → {1,2} [1,1]; neg → {2,2} [2,-1].
        assert_eq!(layout(&[1, 1, 1], 1, 1), (vec![(1, 2)], vec![1, 1]));
        assert_eq!(layout(&[1, 1, 1], 2, 1), (vec![(2, 2)], vec![2, -1]));
        // Empty.
        assert_eq!(layout(&[], 5, 0), (vec![], vec![]));
        // Negative offsets floor when scaled down (arithmetic shift).
        assert_eq!(layout(&[1, 2, 3, 4], -3, 1), (vec![(-1, 3)], vec![1, 4, -1]));
        // Leading zero bucket, then data beyond a long gap.
        assert_eq!(layout(&[0, 0, 0, 0, 5], 0, 0), (vec![(1, 0), (4, 1)], vec![5]));
    }

    #[test]
    fn every_downscale() {
        // 16 buckets of 1 starting at offset -8; every scale-down from 0 to 4 merges 2^sd
        // buckets, so the counts per native bucket are 2^sd (fewer at the edges).
        let counts = [1u64; 16];
        let want: [(i32, Spans, Vec<i64>); 5] = [
            (0, vec![(-7, 16)], {
                let mut d = vec![1];
                d.extend([0; 15]);
                d
            }),
            (1, vec![(-3, 8)], vec![2, 0, 0, 0, 0, 0, 0, 0]),
            (2, vec![(-1, 4)], vec![4, 0, 0, 0]),
            (3, vec![(0, 2)], vec![8, 0]),
            (4, vec![(0, 2)], vec![8, 0]),
        ];
        for (sd, spans, deltas) in want {
            assert_eq!(layout(&counts, -8, sd), (spans, deltas), "scale down {sd}");
        }
        // Huge scale-downs put everything in one bucket.
        assert_eq!(layout(&[1, 2, 3], 100, 200), (vec![(1, 1)], vec![6]));
        assert_eq!(layout(&[1, 2, 3], -100, 200), (vec![(0, 1)], vec![6]));
    }

    #[test]
    fn out_of_range_indices_are_refused() {
        assert!(buckets_layout(&[1], i32::MAX, 0).is_none());
        assert!(buckets_layout(&[1, 1], i32::MAX - 1, 0).is_none());
        assert!(buckets_layout(&[1], i32::MAX - 1, 0).is_some());
    }

    #[test]
    fn upper_bounds() {
        assert_eq!(exp_upper_bound(0, 0), 2.0);
        assert_eq!(exp_upper_bound(-1, 0), 1.0);
        assert_eq!(exp_upper_bound(1, 1), 2.0);
        assert!((exp_upper_bound(0, 1) - std::f64::consts::SQRT_2).abs() < 1e-15);
        assert_eq!(exp_upper_bound(0, -1), 4.0);
        assert_eq!(exp_upper_bound(-3, -2), 2f64.powi(-8));
        assert_eq!(exp_upper_bound(2000, 0), f64::INFINITY);
        assert_eq!(exp_upper_bound(-2000, 0), 0.0);
        assert_eq!(exp_upper_bound(i64::MAX, 20), f64::INFINITY);
    }
}
