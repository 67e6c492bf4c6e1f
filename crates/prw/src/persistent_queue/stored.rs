//! A request read back from the disk queue, as the delivery engine sees it (a [`Payload`]).
//!
//! The body was encoded and compressed when it was queued, in the wire format the endpoint
//! was using then. Sent in that format, it is only decompressed (the sender compresses what
//! `encode` gives it). Sent in the other format (the endpoint fell back from RW 2.0 to 1.0, or
//! a restart began with 2.0 again) or split after a 413, it is decoded back into series, and
//! the exporter's own batch type encodes and splits them.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use prw_convert::{BucketSpan, Exemplar, Metadata, MetricKind, NativeHistogram, Sample, Series};
use prw_proto::prost::Message;
use prw_proto::{rw1, rw2};

use crate::batch::{self, BatchLimits, SeriesBatch};
use crate::payload::{Counts, Payload};
use crate::protocol::Wire;

/// One queued request.
#[derive(Debug)]
pub(crate) struct StoredPayload {
    wire: Wire,
    body: Bytes,
    counts: Counts,
    size: usize,
    /// Decoded on first need; `None` if the body does not decode (logged once).
    decoded: OnceLock<Option<SeriesBatch>>,
}

impl StoredPayload {
    pub(crate) fn new(wire: Wire, body: Bytes, counts: Counts) -> Self {
        let size = snap::raw::decompress_len(&body).unwrap_or(body.len());
        Self { wire, body, counts, size, decoded: OnceLock::new() }
    }

    fn decoded(&self) -> Option<&SeriesBatch> {
        self.decoded
            .get_or_init(|| match decode(self.wire, &self.body) {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::error!(
                        target: "prw",
                        "a request from the persistent queue cannot be decoded ({e}); it can \
                         only be sent as it was stored"
                    );
                    None
                }
            })
            .as_ref()
    }
}

impl Payload for StoredPayload {
    fn counts(&self) -> Counts {
        self.counts
    }

    fn size(&self) -> usize {
        self.size
    }

    fn is_empty(&self, wire: Wire) -> bool {
        // Empty requests are never queued; in the other format, an undecodable body is
        // nothing that could be sent.
        wire != self.wire && self.decoded().is_none_or(|b| b.is_empty(wire))
    }

    fn encode(&self, wire: Wire, out: &mut Vec<u8>) {
        if wire == self.wire {
            let start = out.len();
            out.resize(start + self.size, 0);
            match snap::raw::Decoder::new().decompress(&self.body, &mut out[start..]) {
                Ok(n) => out.truncate(start + n),
                Err(e) => {
                    // The CRC on disk matched, so this is a body we compressed ourselves; an
                    // empty request is refused by the endpoint and counted there.
                    out.truncate(start);
                    tracing::error!(target: "prw", "a queued request does not decompress: {e}");
                }
            }
        } else if let Some(batch) = self.decoded() {
            batch.encode(wire, out);
        }
    }

    fn split(&self) -> Option<(Arc<dyn Payload>, Arc<dyn Payload>)> {
        self.decoded().and_then(|b| b.split())
    }
}

/// The series (and RW 1.0 metadata) of a stored body, as one batch.
fn decode(wire: Wire, body: &[u8]) -> Result<Option<SeriesBatch>, String> {
    let raw = snap::raw::Decoder::new().decompress_vec(body).map_err(|e| e.to_string())?;
    let (series, metadata) = match wire {
        Wire::V1 => {
            let request = rw1::WriteRequest::decode(raw.as_slice()).map_err(|e| e.to_string())?;
            from_rw1(&request)
        }
        Wire::V2 => {
            let request = rw2::Request::decode(raw.as_slice()).map_err(|e| e.to_string())?;
            from_rw2(&request)?
        }
    };
    let all = BatchLimits { max_series: usize::MAX, max_bytes: usize::MAX };
    Ok(batch::cut(series, metadata, all).pop())
}

/// The family a series belongs to: its name without the suffixes of histogram and summary
/// parts.
fn family(name: &str, kind: MetricKind) -> &str {
    match kind {
        MetricKind::Histogram | MetricKind::GaugeHistogram | MetricKind::Summary => {
            ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name)
        }
        _ => name,
    }
}

fn kind(value: i32) -> MetricKind {
    [
        MetricKind::Unknown,
        MetricKind::Counter,
        MetricKind::Gauge,
        MetricKind::Histogram,
        MetricKind::GaugeHistogram,
        MetricKind::Summary,
        MetricKind::Info,
        MetricKind::StateSet,
    ]
    .into_iter()
    .find(|k| k.proto_value() == value)
    .unwrap_or_default()
}

fn spans(s: &[rw2::BucketSpan]) -> Vec<BucketSpan> {
    s.iter().map(|s| BucketSpan { offset: s.offset, length: s.length }).collect()
}

/// Integer histograms only: that is all the conversion produces.
fn histogram_v2(h: &rw2::Histogram) -> Option<NativeHistogram> {
    use rw2::histogram::{Count, ZeroCount};
    let count = match h.count {
        Some(Count::CountInt(n)) => n,
        None => 0,
        Some(Count::CountFloat(_)) => return None,
    };
    let zero_count = match h.zero_count {
        Some(ZeroCount::ZeroCountInt(n)) => n,
        None => 0,
        Some(ZeroCount::ZeroCountFloat(_)) => return None,
    };
    if !h.positive_counts.is_empty() || !h.negative_counts.is_empty() {
        return None;
    }
    Some(NativeHistogram {
        count,
        sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count,
        negative_spans: spans(&h.negative_spans),
        negative_deltas: h.negative_deltas.clone(),
        positive_spans: spans(&h.positive_spans),
        positive_deltas: h.positive_deltas.clone(),
        timestamp_ms: h.timestamp,
        start_timestamp_ms: h.start_timestamp,
    })
}

fn histogram_v1(h: &rw1::Histogram) -> Option<NativeHistogram> {
    histogram_v2(&rw2::Histogram::from(h))
}

fn skipped(name: &str, why: &str) {
    tracing::warn!(target: "prw", "a queued series {name:?} cannot be re-encoded ({why}); skipped");
}

fn from_rw1(request: &rw1::WriteRequest) -> (Vec<Series>, Vec<Metadata>) {
    let metadata: Vec<Metadata> = request
        .metadata
        .iter()
        .map(|m| Metadata {
            metric_family_name: m.metric_family_name.clone(),
            kind: kind(m.r#type),
            help: m.help.clone(),
            unit: m.unit.clone(),
        })
        .collect();
    let by_family: BTreeMap<&str, &Metadata> =
        metadata.iter().map(|m| (m.metric_family_name.as_str(), m)).collect();
    let mut series = Vec::with_capacity(request.timeseries.len());
    for ts in &request.timeseries {
        let labels: Vec<(&str, &str)> =
            ts.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())).collect();
        let name = labels.iter().find(|(k, _)| *k == "__name__").map_or("", |(_, v)| *v);
        // RW 1.0 keeps metadata per family; find this series' family by its name.
        let meta = by_family
            .get(name)
            .or_else(|| {
                ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).and_then(|f| by_family.get(f)))
            })
            .map(|m| (*m).clone())
            .unwrap_or_else(|| Metadata {
                metric_family_name: name.to_owned(),
                ..Metadata::default()
            });
        let samples = ts
            .samples
            .iter()
            .map(|s| Sample { value: s.value, timestamp_ms: s.timestamp, start_timestamp_ms: 0 })
            .collect();
        let Some(histograms) = ts.histograms.iter().map(histogram_v1).collect::<Option<Vec<_>>>()
        else {
            skipped(name, "float histogram");
            continue;
        };
        let exemplars = ts
            .exemplars
            .iter()
            .map(|e| Exemplar {
                labels: e.labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect(),
                value: e.value,
                timestamp_ms: e.timestamp,
            })
            .collect();
        match Series::new(&labels, meta, samples, histograms, exemplars) {
            Ok(s) => series.push(s),
            Err(e) => skipped(name, &e.to_string()),
        }
    }
    (series, metadata)
}

fn from_rw2(request: &rw2::Request) -> Result<(Vec<Series>, Vec<Metadata>), String> {
    let symbol = |r: u32| -> Result<&str, String> {
        request
            .symbols
            .get(r as usize)
            .map(String::as_str)
            .ok_or_else(|| format!("symbol reference {r} out of range"))
    };
    let pairs = |refs: &[u32]| -> Result<Vec<(&str, &str)>, String> {
        refs.chunks(2)
            .map(|p| match p {
                [k, v] => Ok((symbol(*k)?, symbol(*v)?)),
                _ => Err("odd number of label references".to_owned()),
            })
            .collect()
    };
    let mut series = Vec::with_capacity(request.timeseries.len());
    // For RW 1.0: one metadata entry per family.
    let mut families: BTreeMap<String, Metadata> = BTreeMap::new();
    for ts in &request.timeseries {
        let labels = pairs(&ts.labels_refs)?;
        let name = labels.iter().find(|(k, _)| *k == "__name__").map_or("", |(_, v)| *v);
        let meta = match &ts.metadata {
            Some(m) => {
                let k = kind(m.r#type);
                Metadata {
                    metric_family_name: family(name, k).to_owned(),
                    kind: k,
                    help: symbol(m.help_ref)?.to_owned(),
                    unit: symbol(m.unit_ref)?.to_owned(),
                }
            }
            None => Metadata { metric_family_name: name.to_owned(), ..Metadata::default() },
        };
        if meta.kind != MetricKind::Unknown || !meta.help.is_empty() || !meta.unit.is_empty() {
            families.entry(meta.metric_family_name.clone()).or_insert_with(|| meta.clone());
        }
        let samples = ts
            .samples
            .iter()
            .map(|s| Sample {
                value: s.value,
                timestamp_ms: s.timestamp,
                start_timestamp_ms: s.start_timestamp,
            })
            .collect();
        let Some(histograms) = ts.histograms.iter().map(histogram_v2).collect::<Option<Vec<_>>>()
        else {
            skipped(name, "float histogram");
            continue;
        };
        let mut exemplars = Vec::with_capacity(ts.exemplars.len());
        for e in &ts.exemplars {
            exemplars.push(Exemplar {
                labels: pairs(&e.labels_refs)?
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
                value: e.value,
                timestamp_ms: e.timestamp,
            });
        }
        match Series::new(&labels, meta, samples, histograms, exemplars) {
            Ok(s) => series.push(s),
            Err(e) => skipped(name, &e.to_string()),
        }
    }
    Ok((series, families.into_values().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_series() -> Vec<Series> {
        let gauge = Metadata {
            metric_family_name: "temp_celsius".into(),
            kind: MetricKind::Gauge,
            help: "temperature".into(),
            unit: "celsius".into(),
        };
        let hist = Metadata {
            metric_family_name: "latency_seconds".into(),
            kind: MetricKind::Histogram,
            help: "latency".into(),
            unit: "seconds".into(),
        };
        let s = |ts, v| Sample { value: v, timestamp_ms: ts, start_timestamp_ms: 0 };
        vec![
            Series::new(
                &[("__name__", "temp_celsius"), ("room", "a")],
                gauge.clone(),
                vec![s(1000, 21.5), s(2000, 22.0)],
                vec![],
                vec![Exemplar {
                    labels: vec![("trace_id".into(), "ab12".into())],
                    value: 21.5,
                    timestamp_ms: 1000,
                }],
            )
            .expect("series"),
            Series::new(
                &[("__name__", "latency_seconds_bucket"), ("le", "+Inf")],
                hist.clone(),
                vec![s(1000, 7.0)],
                vec![],
                vec![],
            )
            .expect("series"),
            Series::new(
                &[("__name__", "latency_seconds")],
                hist,
                vec![],
                vec![NativeHistogram {
                    count: 7,
                    sum: 1.5,
                    schema: 3,
                    zero_threshold: 1e-128,
                    zero_count: 1,
                    positive_spans: vec![BucketSpan { offset: -2, length: 2 }],
                    positive_deltas: vec![4, -2],
                    timestamp_ms: 1000,
                    ..NativeHistogram::default()
                }],
                vec![],
            )
            .expect("series"),
        ]
    }

    fn stored(wire: Wire, series: &[Series], metadata: &[Metadata]) -> StoredPayload {
        let mut raw = Vec::new();
        match wire {
            Wire::V1 => prw_convert::encode_rw1(series, metadata, &mut raw),
            Wire::V2 => prw_convert::encode_rw2(series, &mut raw),
        }
        let body = snap::raw::Encoder::new().compress_vec(&raw).expect("compress");
        StoredPayload::new(wire, Bytes::from(body), Counts::default())
    }

    fn encoded(p: &dyn Payload, wire: Wire) -> Vec<u8> {
        let mut out = Vec::new();
        p.encode(wire, &mut out);
        out
    }

    #[test]
    fn the_stored_format_is_sent_as_stored() {
        let series = sample_series();
        for wire in [Wire::V1, Wire::V2] {
            let p = stored(wire, &series, &[]);
            let mut want = Vec::new();
            match wire {
                Wire::V1 => prw_convert::encode_rw1(&series, &[], &mut want),
                Wire::V2 => prw_convert::encode_rw2(&series, &mut want),
            }
            assert_eq!(encoded(&p, wire), want);
            assert_eq!(p.size(), want.len());
            assert!(!p.is_empty(wire));
        }
    }

    #[test]
    fn rw2_bodies_are_re_encoded_as_rw1_with_metadata_and_back() {
        let series = sample_series();
        let p = stored(Wire::V2, &series, &[]);
        let v1 = rw1::WriteRequest::decode(encoded(&p, Wire::V1).as_slice()).expect("rw1");
        let direct = prw_convert::to_rw1(&series, &[]);
        assert_eq!(v1.timeseries, direct.timeseries);
        let mut families: Vec<_> =
            v1.metadata.iter().map(|m| (m.metric_family_name.as_str(), m.r#type)).collect();
        families.sort_unstable();
        assert_eq!(families, vec![("latency_seconds", 3), ("temp_celsius", 2)]);

        // And a body stored as RW 1.0 (an earlier run had fallen back) goes out as RW 2.0.
        let meta: Vec<Metadata> = series.iter().map(|s| s.metadata().clone()).collect();
        let p = stored(Wire::V1, &series, &meta[..2]);
        let v2 = rw2::Request::decode(encoded(&p, Wire::V2).as_slice()).expect("rw2");
        assert_eq!(v2, prw_convert::to_rw2(&series));
    }

    #[test]
    fn a_stored_request_splits_into_halves_holding_everything() {
        let series = sample_series();
        let p = stored(Wire::V2, &series, &[]);
        let (a, b) = p.split().expect("splits");
        let v1 = |x: &dyn Payload| {
            rw1::WriteRequest::decode(encoded(x, Wire::V1).as_slice()).expect("rw1")
        };
        let (a, b) = (v1(a.as_ref()), v1(b.as_ref()));
        // Three series and two metadata entries (RW 1.0), each in exactly one half.
        let mut all: Vec<_> = a.timeseries.iter().chain(&b.timeseries).cloned().collect();
        all.sort_by_key(|t| format!("{:?}", t.labels));
        let mut want = prw_convert::to_rw1(&series, &[]).timeseries;
        want.sort_by_key(|t| format!("{:?}", t.labels));
        assert_eq!(all, want);
        assert_eq!(a.metadata.len() + b.metadata.len(), 2);
        assert!(a.timeseries.len() + a.metadata.len() > 0);
        assert!(b.timeseries.len() + b.metadata.len() > 0);
    }

    #[test]
    fn garbage_is_never_sent_in_another_format() {
        let p = StoredPayload::new(Wire::V2, Bytes::from_static(b"\x05garbage"), Counts::default());
        assert!(p.is_empty(Wire::V1));
        assert!(p.split().is_none());
    }
}
