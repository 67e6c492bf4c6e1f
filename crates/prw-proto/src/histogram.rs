//! The Remote Write 1.0 and 2.0 native histograms carry the same fields (2.0 adds
//! `start_timestamp`), so code that reads both can treat a 1.0 histogram as a 2.0 one.

use crate::{rw1, rw2};

impl From<&rw1::Histogram> for rw2::Histogram {
    /// Copies every field; `start_timestamp`, which 1.0 does not have, is left unset (0).
    fn from(h: &rw1::Histogram) -> Self {
        use crate::{rw1::histogram as h1, rw2::histogram as h2};
        let spans = |spans: &[rw1::BucketSpan]| {
            spans.iter().map(|s| rw2::BucketSpan { offset: s.offset, length: s.length }).collect()
        };
        rw2::Histogram {
            count: h.count.map(|c| match c {
                h1::Count::CountInt(n) => h2::Count::CountInt(n),
                h1::Count::CountFloat(n) => h2::Count::CountFloat(n),
            }),
            sum: h.sum,
            schema: h.schema,
            zero_threshold: h.zero_threshold,
            zero_count: h.zero_count.map(|c| match c {
                h1::ZeroCount::ZeroCountInt(n) => h2::ZeroCount::ZeroCountInt(n),
                h1::ZeroCount::ZeroCountFloat(n) => h2::ZeroCount::ZeroCountFloat(n),
            }),
            negative_spans: spans(&h.negative_spans),
            negative_deltas: h.negative_deltas.clone(),
            negative_counts: h.negative_counts.clone(),
            positive_spans: spans(&h.positive_spans),
            positive_deltas: h.positive_deltas.clone(),
            positive_counts: h.positive_counts.clone(),
            reset_hint: h.reset_hint,
            timestamp: h.timestamp,
            custom_values: h.custom_values.clone(),
            start_timestamp: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn a_1_0_histogram_reads_as_the_same_2_0_histogram() {
        let v1 = rw1::Histogram {
            count: Some(rw1::histogram::Count::CountInt(7)),
            sum: 12.5,
            schema: 3,
            zero_threshold: 1e-128,
            zero_count: Some(rw1::histogram::ZeroCount::ZeroCountFloat(1.5)),
            negative_spans: vec![rw1::BucketSpan { offset: -2, length: 1 }],
            negative_deltas: vec![2],
            negative_counts: vec![],
            positive_spans: vec![rw1::BucketSpan { offset: 1, length: 2 }],
            positive_deltas: vec![1, 3],
            positive_counts: vec![0.5],
            reset_hint: 2,
            timestamp: 1_700_000_000_000,
            custom_values: vec![1.0, 2.0],
        };
        let v2 = rw2::Histogram::from(&v1);
        // Fields 1 to 16 have the same numbers and types in both messages, so the wire bytes
        // of the copy equal the original's.
        assert_eq!(v2.encode_to_vec(), v1.encode_to_vec());
        assert_eq!(v2.start_timestamp, 0);
    }
}
