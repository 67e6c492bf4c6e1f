//! Cutting one collection into requests: at most `max_series` series (metadata entries count
//! too) and under `max_bytes` uncompressed bytes each, never an empty one.

use std::ops::Range;
use std::sync::Arc;

use prw_convert::{Metadata, Series, encode_rw1, encode_rw2};

use crate::payload::{Counts, Payload};
use crate::protocol::Wire;

/// Request size limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchLimits {
    pub(crate) max_series: usize,
    pub(crate) max_bytes: usize,
}

/// One request's share of a collection: a range of its series and of its RW 1.0 metadata.
/// The collection itself is shared by every batch and every endpoint (as the `Vec` the
/// conversion built: no copy into an `Arc<[_]>`).
#[derive(Debug, Clone)]
pub(crate) struct SeriesBatch {
    series: Arc<Vec<Series>>,
    range: Range<usize>,
    metadata: Arc<[Metadata]>,
    metadata_range: Range<usize>,
    counts: Counts,
    size: usize,
}

/// What a metadata entry adds to an RW 1.0 request: a conservative estimate, since the
/// encoding is private to the conversion crate (tags, lengths and the type varint).
fn metadata_len(m: &Metadata) -> usize {
    m.metric_family_name.len() + m.help.len() + m.unit.len() + 16
}

impl SeriesBatch {
    /// A batch of `series[range]` and `metadata[metadata_range]`.
    fn new(
        series: &Arc<Vec<Series>>,
        range: Range<usize>,
        metadata: &Arc<[Metadata]>,
        metadata_range: Range<usize>,
    ) -> SeriesBatch {
        let mut counts = Counts::default();
        let mut size = 0;
        for s in &series[range.clone()] {
            counts += series_counts(s);
            size += s.encoded_len_rw1();
        }
        size += metadata[metadata_range.clone()].iter().map(metadata_len).sum::<usize>();
        SeriesBatch {
            series: series.clone(),
            range,
            metadata: metadata.clone(),
            metadata_range,
            counts,
            size,
        }
    }

    pub(crate) fn series(&self) -> &[Series] {
        &self.series[self.range.clone()]
    }
}

impl Payload for SeriesBatch {
    fn counts(&self) -> Counts {
        self.counts
    }

    fn size(&self) -> usize {
        self.size
    }

    fn is_empty(&self, wire: Wire) -> bool {
        match wire {
            Wire::V1 => self.range.is_empty() && self.metadata_range.is_empty(),
            // RW 2.0 carries metadata inside each series only
            Wire::V2 => self.range.is_empty(),
        }
    }

    fn encode(&self, wire: Wire, out: &mut Vec<u8>) {
        match wire {
            Wire::V1 => encode_rw1(self.series(), &self.metadata[self.metadata_range.clone()], out),
            Wire::V2 => encode_rw2(self.series(), out),
        }
    }

    fn split(&self) -> Option<(Arc<dyn Payload>, Arc<dyn Payload>)> {
        let items = self.range.len() + self.metadata_range.len();
        if items < 2 {
            return None;
        }
        // metadata first, then series, halved by item count
        let half = items / 2;
        let meta_first = half.min(self.metadata_range.len());
        let series_first = half - meta_first;
        let m = self.metadata_range.start + meta_first;
        let s = self.range.start + series_first;
        let first = SeriesBatch::new(
            &self.series,
            self.range.start..s,
            &self.metadata,
            self.metadata_range.start..m,
        );
        let second = SeriesBatch::new(
            &self.series,
            s..self.range.end,
            &self.metadata,
            m..self.metadata_range.end,
        );
        Some((Arc::new(first), Arc::new(second)))
    }
}

fn series_counts(s: &Series) -> Counts {
    Counts {
        samples: s.sample_count() as u64,
        histograms: s.histogram_count() as u64,
        exemplars: s.exemplar_count() as u64,
    }
}

/// Cuts a collection into batches within `limits`. Metadata (RW 1.0) goes first. A single
/// series over the byte limit gets a batch of its own (the endpoint may still take it).
/// One pass: each series' size and counts are looked at once.
pub(crate) fn cut(
    series: impl Into<Arc<Vec<Series>>>,
    metadata: Vec<Metadata>,
    limits: BatchLimits,
) -> Vec<SeriesBatch> {
    let series: Arc<Vec<Series>> = series.into();
    let metadata: Arc<[Metadata]> = metadata.into();
    let max_series = limits.max_series.max(1);
    let mut batches = Vec::new();
    let (mut m0, mut s0) = (0, 0);
    let (mut count, mut bytes, mut counts) = (0usize, 0usize, Counts::default());
    let items = metadata
        .iter()
        .map(|m| (metadata_len(m), Counts::default()))
        .chain(series.iter().map(|s| (s.encoded_len_rw1(), series_counts(s))));
    for (i, (len, c)) in items.enumerate() {
        if count > 0 && (count == max_series || bytes + len >= limits.max_bytes) {
            let (m1, s1) = split_index(i, metadata.len());
            batches.push(SeriesBatch {
                series: series.clone(),
                range: s0..s1,
                metadata: metadata.clone(),
                metadata_range: m0..m1,
                counts,
                size: bytes,
            });
            (m0, s0) = (m1, s1);
            (count, bytes, counts) = (0, 0, Counts::default());
        }
        count += 1;
        bytes += len;
        counts += c;
    }
    if count > 0 {
        batches.push(SeriesBatch {
            series: series.clone(),
            range: s0..series.len(),
            metadata: metadata.clone(),
            metadata_range: m0..metadata.len(),
            counts,
            size: bytes,
        });
    }
    batches
}

/// Item index → (metadata end, series start).
fn split_index(i: usize, metadata: usize) -> (usize, usize) {
    if i <= metadata { (i, 0) } else { (metadata, i - metadata) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prw_convert::{MetricKind, Sample};
    use prw_proto::prost::Message;
    use prw_proto::rw1::WriteRequest;

    fn series(n: usize, label_len: usize) -> Vec<Series> {
        (0..n)
            .map(|i| {
                let v = format!("{i:0label_len$}");
                Series::new(
                    &[("__name__", "m"), ("i", v.as_str())],
                    Metadata {
                        metric_family_name: "m".into(),
                        kind: MetricKind::Gauge,
                        ..Default::default()
                    },
                    vec![Sample { value: i as f64, timestamp_ms: 1_000, start_timestamp_ms: 0 }],
                    vec![],
                    vec![],
                )
                .unwrap()
            })
            .collect()
    }

    fn meta(n: usize) -> Vec<Metadata> {
        (0..n)
            .map(|i| Metadata {
                metric_family_name: format!("m{i}"),
                kind: MetricKind::Counter,
                help: "help".into(),
                unit: String::new(),
            })
            .collect()
    }

    fn decode(b: &SeriesBatch) -> WriteRequest {
        let mut out = Vec::new();
        b.encode(Wire::V1, &mut out);
        WriteRequest::decode(out.as_slice()).unwrap()
    }

    #[test]
    fn cuts_by_series_count() {
        let batches =
            cut(series(4_500, 1), vec![], BatchLimits { max_series: 2_000, max_bytes: 3 << 20 });
        let sizes: Vec<usize> = batches.iter().map(|b| b.series().len()).collect();
        assert_eq!(sizes, vec![2_000, 2_000, 500]);
        assert_eq!(batches.iter().map(|b| b.counts().samples).sum::<u64>(), 4_500);
    }

    #[test]
    fn cuts_by_bytes_and_stays_under_the_limit() {
        let s = series(300, 200);
        // series 0 is shorter (a 0.0 value is not encoded); the rest are all the same size
        let one = s[1].encoded_len_rw1();
        let limit = one * 10 + 1;
        let batches = cut(s, vec![], BatchLimits { max_series: 2_000, max_bytes: limit });
        assert_eq!(batches.len(), 30);
        assert_eq!(batches[1].series().len(), 10);
        for b in &batches {
            let mut out = Vec::new();
            b.encode(Wire::V1, &mut out);
            assert!(out.len() < limit, "{} >= {limit}", out.len());
            assert_eq!(out.len(), b.size(), "series sizes add up exactly");
        }
    }

    #[test]
    fn an_oversized_series_travels_alone() {
        let s = series(3, 1_000);
        let batches = cut(s, vec![], BatchLimits { max_series: 2_000, max_bytes: 100 });
        assert_eq!(batches.len(), 3);
    }

    #[test]
    fn nothing_in_nothing_out() {
        assert!(
            cut(Vec::new(), vec![], BatchLimits { max_series: 10, max_bytes: 1_000 }).is_empty()
        );
    }

    #[test]
    fn metadata_goes_first_and_counts_toward_the_limits() {
        let batches = cut(series(5, 1), meta(3), BatchLimits { max_series: 4, max_bytes: 3 << 20 });
        assert_eq!(batches.len(), 2);
        let first = decode(&batches[0]);
        assert_eq!(first.metadata.len(), 3);
        assert_eq!(first.timeseries.len(), 1);
        let second = decode(&batches[1]);
        assert_eq!(second.metadata.len(), 0);
        assert_eq!(second.timeseries.len(), 4);
    }

    #[test]
    fn a_metadata_only_batch_is_empty_for_rw2_only() {
        let batches = cut(series(1, 1), meta(4), BatchLimits { max_series: 4, max_bytes: 3 << 20 });
        assert_eq!(batches.len(), 2);
        assert!(!batches[0].is_empty(Wire::V1));
        assert!(batches[0].is_empty(Wire::V2));
        assert!(!batches[1].is_empty(Wire::V2));
    }

    #[test]
    fn split_halves_keep_every_item_once_and_in_order() {
        let batches =
            cut(series(7, 1), meta(2), BatchLimits { max_series: 100, max_bytes: 3 << 20 });
        assert_eq!(batches.len(), 1);
        let mut stack: Vec<Arc<dyn Payload>> = vec![Arc::new(batches[0].clone())];
        let mut leaves = Vec::new();
        while let Some(p) = stack.pop() {
            match p.split() {
                Some((a, b)) => {
                    stack.push(b);
                    stack.push(a);
                }
                None => leaves.push(p),
            }
        }
        assert_eq!(leaves.len(), 9);
        let mut names = Vec::new();
        for l in &leaves {
            let mut out = Vec::new();
            l.encode(Wire::V1, &mut out);
            let req = WriteRequest::decode(out.as_slice()).unwrap();
            names.extend(req.metadata.iter().map(|m| m.metric_family_name.clone()));
            names.extend(req.timeseries.iter().map(|t| t.labels[1].value.clone()));
        }
        assert_eq!(names, vec!["m0", "m1", "0", "1", "2", "3", "4", "5", "6"]);
        let total: u64 = leaves.iter().map(|l| l.counts().samples).sum();
        assert_eq!(total, 7);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;
    use prw_convert::{MetricKind, Sample};

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Any series sizes and limits: every series in exactly one batch, in order; no batch
        /// empty or over the series limit; over the byte limit only a lone series.
        #[test]
        fn batches_respect_the_limits_and_lose_nothing(
            lens in prop::collection::vec(1usize..400, 0..300),
            max_series in 1usize..50,
            max_bytes in 1024usize..20_000,
        ) {
            let series: Vec<Series> = lens
                .iter()
                .enumerate()
                .map(|(i, len)| {
                    let v = format!("{i:0len$}");
                    Series::new(
                        &[("__name__", "m"), ("i", v.as_str())],
                        prw_convert::Metadata { metric_family_name: "m".into(), kind: MetricKind::Gauge, ..Default::default() },
                        vec![Sample { value: 1.0, timestamp_ms: 1, start_timestamp_ms: 0 }],
                        vec![],
                        vec![],
                    )
                    .expect("valid")
                })
                .collect();
            let n = series.len();
            let batches = cut(series, vec![], BatchLimits { max_series, max_bytes });
            let mut next = 0;
            for b in &batches {
                prop_assert!(!b.series().is_empty());
                prop_assert!(b.series().len() <= max_series);
                prop_assert!(b.size() < max_bytes || b.series().len() == 1, "{} bytes", b.size());
                for s in b.series() {
                    prop_assert_eq!(s.label("i").map(|v| v.trim_start_matches('0').parse::<usize>().unwrap_or(0)), Some(next));
                    next += 1;
                }
            }
            prop_assert_eq!(next, n);
        }
    }
}
