//! Series to Remote Write 1.0 and 2.0: as prost structs (`to_rw1`, `to_rw2`) and straight to
//! protobuf bytes (`encode_rw1`, `encode_rw2`), byte for byte what prost would encode.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use prw_proto::{rw1, rw2};

use crate::series::{BucketSpan, Exemplar, LabelStore, Metadata, NativeHistogram, Sample, Series};
use crate::sort::bytes_eq;
use crate::symbols::FxHasher;
use crate::wire::{
    label_body_len, ld_len, put_label, put_ld, put_str_field, put_varint, str_field_len, varint_len,
};

// ---------------------------------------------------------------------------------------------
// Prost structs (the reference the byte encoders are checked against).

fn rw1_histogram(h: &NativeHistogram) -> rw1::Histogram {
    let spans = |s: &[BucketSpan]| {
        s.iter().map(|s| rw1::BucketSpan { offset: s.offset, length: s.length }).collect()
    };
    rw1::Histogram {
        count: Some(rw1::histogram::Count::CountInt(h.count)),
        sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: Some(rw1::histogram::ZeroCount::ZeroCountInt(h.zero_count)),
        negative_spans: spans(&h.negative_spans),
        negative_deltas: h.negative_deltas.clone(),
        negative_counts: Vec::new(),
        positive_spans: spans(&h.positive_spans),
        positive_deltas: h.positive_deltas.clone(),
        positive_counts: Vec::new(),
        reset_hint: rw1::histogram::ResetHint::Unknown as i32,
        timestamp: h.timestamp_ms,
        custom_values: Vec::new(),
    }
}

fn rw2_histogram(h: &NativeHistogram) -> rw2::Histogram {
    // The 2.0 histogram is the 1.0 one plus its start timestamp.
    rw2::Histogram {
        start_timestamp: h.start_timestamp_ms,
        ..rw2::Histogram::from(&rw1_histogram(h))
    }
}

fn rw1_metadata(m: &Metadata) -> rw1::MetricMetadata {
    rw1::MetricMetadata {
        r#type: m.kind.proto_value(),
        metric_family_name: m.metric_family_name.clone(),
        help: m.help.clone(),
        unit: m.unit.clone(),
    }
}

/// Builds a Remote Write 1.0 request (prost struct). `metadata` goes in the request's
/// `metadata` field; pass `&[]` to send none.
pub fn to_rw1(series: &[Series], metadata: &[Metadata]) -> rw1::WriteRequest {
    rw1::WriteRequest {
        timeseries: series
            .iter()
            .map(|s| rw1::TimeSeries {
                labels: s
                    .labels()
                    .map(|(n, v)| rw1::Label { name: n.to_string(), value: v.to_string() })
                    .collect(),
                samples: s
                    .samples
                    .iter()
                    .map(|x| rw1::Sample { value: x.value, timestamp: x.timestamp_ms })
                    .collect(),
                exemplars: s
                    .exemplars
                    .iter()
                    .map(|e| rw1::Exemplar {
                        labels: e
                            .labels
                            .iter()
                            .map(|(n, v)| rw1::Label { name: n.clone(), value: v.clone() })
                            .collect(),
                        value: e.value,
                        timestamp: e.timestamp_ms,
                    })
                    .collect(),
                histograms: s.histograms.iter().map(rw1_histogram).collect(),
            })
            .collect(),
        metadata: metadata.iter().map(rw1_metadata).collect(),
    }
}

/// Builds a Remote Write 2.0 request (prost struct): symbols deduplicated with
/// `symbols[0] == ""`, each series with its inline metadata.
pub fn to_rw2(series: &[Series]) -> rw2::Request {
    let table = SymbolTable::build(series);
    let mut refs = table.refs.iter().copied();
    let mut take = |n: usize| -> Vec<u32> { refs.by_ref().take(n).collect() };
    let timeseries = series
        .iter()
        .map(|s| {
            let labels_refs = take(s.labels.len() * 2);
            let exemplars = s
                .exemplars
                .iter()
                .map(|e| rw2::Exemplar {
                    labels_refs: take(e.labels.len() * 2),
                    value: e.value,
                    timestamp: e.timestamp_ms,
                })
                .collect();
            let meta = take(2);
            rw2::TimeSeries {
                labels_refs,
                samples: s
                    .samples
                    .iter()
                    .map(|x| rw2::Sample {
                        value: x.value,
                        timestamp: x.timestamp_ms,
                        start_timestamp: x.start_timestamp_ms,
                    })
                    .collect(),
                histograms: s.histograms.iter().map(rw2_histogram).collect(),
                exemplars,
                metadata: Some(rw2::Metadata {
                    r#type: s.metadata.kind.proto_value(),
                    help_ref: meta.first().copied().unwrap_or(0),
                    unit_ref: meta.get(1).copied().unwrap_or(0),
                }),
            }
        })
        .collect();
    // Symbols are copies of `&str`s, so UTF-8.
    let symbols = table.symbols.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect();
    rw2::Request { symbols, timeseries }
}

// ---------------------------------------------------------------------------------------------
// The RW 2.0 symbol table.

/// Symbols in order of first use (`""` first) and, for each series in order, the refs of its
/// labels, of each exemplar's labels, then of its help and unit.
struct SymbolTable<'s> {
    symbols: Vec<&'s [u8]>,
    refs: Vec<u32>,
}

/// A symbol's bytes as a map key: hashed without a length prefix and compared without a
/// `memcmp` call (symbols are short).
#[derive(Clone, Copy)]
struct Sym<'s>(&'s [u8]);

impl PartialEq for Sym<'_> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        bytes_eq(self.0, other.0)
    }
}

impl Eq for Sym<'_> {}

impl std::hash::Hash for Sym<'_> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.0);
    }
}

/// FxHash map from a symbol to its ref.
type SymbolMap<'s> = HashMap<Sym<'s>, u32, BuildHasherDefault<FxHasher>>;

/// The symbols seen so far and their refs.
struct Interner<'s> {
    map: SymbolMap<'s>,
    symbols: Vec<&'s [u8]>,
}

impl<'s> Interner<'s> {
    fn new(capacity: usize) -> Self {
        // Sized for about one new symbol per series up front: growing a big table rehashes it.
        let mut map = SymbolMap::with_capacity_and_hasher(capacity + 64, Default::default());
        map.insert(Sym(b""), 0);
        Self { map, symbols: vec![b""] }
    }

    #[inline]
    fn intern(&mut self, s: &'s [u8]) -> u32 {
        if s.is_empty() {
            return 0;
        }
        let next = self.symbols.len() as u32;
        let r = *self.map.entry(Sym(s)).or_insert(next);
        if r == next {
            self.symbols.push(s);
        }
        r
    }
}

/// How many label stores' ref maps [`SymbolTable::build`] keeps at once. A batch usually holds
/// the series of one or two conversions; series built one by one each have a store of their
/// own, and for them a map saves nothing.
const STORE_MAPS: usize = 8;

impl<'s> SymbolTable<'s> {
    fn build(series: &'s [Series]) -> Self {
        let mut table = Interner::new(series.len());
        let mut refs: Vec<u32> = Vec::with_capacity(series.len() * 16);
        // Per label store, its labels' request refs (name ref in the high half, value ref in
        // the low one; `UNSEEN` before first use): each distinct label of a store is looked
        // up once per request, not once per use.
        const UNSEEN: u64 = u64::MAX;
        let mut maps: Vec<(&'s LabelStore, Vec<u64>)> = Vec::new();
        let mut current: Option<usize> = None;
        let mut prev_meta: Option<&'s Arc<Metadata>> = None;
        let mut meta_refs = (0u32, 0u32);
        for s in series {
            if let Some(store) = s.labels.store.as_deref() {
                let at = match current {
                    Some(i) if std::ptr::eq(maps[i].0, store) => i,
                    _ => {
                        let i = match maps.iter().position(|(m, _)| std::ptr::eq(*m, store)) {
                            Some(i) => i,
                            None => {
                                if maps.len() == STORE_MAPS {
                                    maps.remove(0);
                                }
                                maps.push((store, vec![UNSEEN; store.table.len()]));
                                maps.len() - 1
                            }
                        };
                        current = Some(i);
                        i
                    }
                };
                let map = &mut maps[at].1;
                let labels = &store.table;
                for &id in s.labels.ids() {
                    let known = map.get(id as usize).copied().unwrap_or(UNSEEN);
                    let pair = if known != UNSEEN {
                        known
                    } else {
                        let [n, v] = labels.pair(id);
                        let n = table.intern(labels.symbols.bytes(n));
                        let v = table.intern(labels.symbols.bytes(v));
                        let pair = (u64::from(n) << 32) | u64::from(v);
                        if let Some(slot) = map.get_mut(id as usize) {
                            *slot = pair;
                        }
                        pair
                    };
                    refs.push((pair >> 32) as u32);
                    refs.push(pair as u32);
                }
            }
            for e in &s.exemplars {
                for (n, v) in &e.labels {
                    refs.push(table.intern(n.as_bytes()));
                    refs.push(table.intern(v.as_bytes()));
                }
            }
            // Every series of a metric family shares one `Arc<Metadata>`.
            if !prev_meta.is_some_and(|p| Arc::ptr_eq(p, &s.metadata)) {
                meta_refs = (
                    table.intern(s.metadata.help.as_bytes()),
                    table.intern(s.metadata.unit.as_bytes()),
                );
            }
            refs.push(meta_refs.0);
            refs.push(meta_refs.1);
            prev_meta = Some(&s.metadata);
        }
        Self { symbols: table.symbols, refs }
    }
}

// ---------------------------------------------------------------------------------------------
// Wire encoding.

#[inline]
fn zigzag32(v: i32) -> u64 {
    u64::from(((v << 1) ^ (v >> 31)) as u32)
}

#[inline]
fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
fn double_len(v: f64) -> usize {
    if v != 0.0 { 9 } else { 0 }
}

#[inline]
fn put_double(buf: &mut Vec<u8>, key: u8, v: f64) {
    if v != 0.0 {
        buf.push(key);
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

#[inline]
fn int_len(v: i64) -> usize {
    if v != 0 { 1 + varint_len(v as u64) } else { 0 }
}

#[inline]
fn put_int(buf: &mut Vec<u8>, key: u8, v: i64) {
    if v != 0 {
        buf.push(key);
        put_varint(buf, v as u64);
    }
}

#[inline]
fn sample_len(s: &Sample, rw2: bool) -> usize {
    double_len(s.value)
        + int_len(s.timestamp_ms)
        + if rw2 { int_len(s.start_timestamp_ms) } else { 0 }
}

fn span_len(s: &BucketSpan) -> usize {
    (if s.offset != 0 { 1 + varint_len(zigzag32(s.offset)) } else { 0 })
        + if s.length != 0 { 1 + varint_len(u64::from(s.length)) } else { 0 }
}

fn deltas_body_len(d: &[i64]) -> usize {
    d.iter().map(|&x| varint_len(zigzag64(x))).sum()
}

fn histogram_len(h: &NativeHistogram, rw2: bool) -> usize {
    let mut n = 1 + varint_len(h.count);
    n += double_len(h.sum);
    if h.schema != 0 {
        n += 1 + varint_len(zigzag32(h.schema));
    }
    n += double_len(h.zero_threshold);
    n += 1 + varint_len(h.zero_count);
    for spans in [&h.negative_spans, &h.positive_spans] {
        n += spans.iter().map(|s| ld_len(span_len(s))).sum::<usize>();
    }
    for d in [&h.negative_deltas, &h.positive_deltas] {
        if !d.is_empty() {
            n += ld_len(deltas_body_len(d));
        }
    }
    n += int_len(h.timestamp_ms);
    if rw2 && h.start_timestamp_ms != 0 {
        n += 2 + varint_len(h.start_timestamp_ms as u64);
    }
    n
}

fn put_spans(buf: &mut Vec<u8>, key: u8, spans: &[BucketSpan]) {
    for s in spans {
        put_ld(buf, key, span_len(s));
        if s.offset != 0 {
            buf.push(0x08);
            put_varint(buf, zigzag32(s.offset));
        }
        if s.length != 0 {
            buf.push(0x10);
            put_varint(buf, u64::from(s.length));
        }
    }
}

fn put_deltas(buf: &mut Vec<u8>, key: u8, d: &[i64]) {
    if !d.is_empty() {
        put_ld(buf, key, deltas_body_len(d));
        for &x in d {
            put_varint(buf, zigzag64(x));
        }
    }
}

fn put_histogram(buf: &mut Vec<u8>, key: u8, h: &NativeHistogram, rw2: bool) {
    put_ld(buf, key, histogram_len(h, rw2));
    buf.push(0x08);
    put_varint(buf, h.count);
    put_double(buf, 0x19, h.sum);
    if h.schema != 0 {
        buf.push(0x20);
        put_varint(buf, zigzag32(h.schema));
    }
    put_double(buf, 0x29, h.zero_threshold);
    buf.push(0x30);
    put_varint(buf, h.zero_count);
    put_spans(buf, 0x42, &h.negative_spans);
    put_deltas(buf, 0x4a, &h.negative_deltas);
    put_spans(buf, 0x5a, &h.positive_spans);
    put_deltas(buf, 0x62, &h.positive_deltas);
    put_int(buf, 0x78, h.timestamp_ms);
    if rw2 && h.start_timestamp_ms != 0 {
        buf.extend_from_slice(&[0x88, 0x01]);
        put_varint(buf, h.start_timestamp_ms as u64);
    }
}

fn exemplar_len_rw1(e: &Exemplar) -> usize {
    e.labels.iter().map(|(n, v)| ld_len(label_body_len(n.as_bytes(), v.as_bytes()))).sum::<usize>()
        + double_len(e.value)
        + int_len(e.timestamp_ms)
}

fn series_body_len_rw1(s: &Series) -> usize {
    let mut n = s.labels.wire_len();
    for x in s.samples.iter() {
        n += ld_len(sample_len(x, false));
    }
    for e in &s.exemplars {
        n += ld_len(exemplar_len_rw1(e));
    }
    for h in &s.histograms {
        n += ld_len(histogram_len(h, false));
    }
    n
}

pub(crate) fn series_len_rw1(s: &Series) -> usize {
    ld_len(series_body_len_rw1(s))
}

fn put_sample(buf: &mut Vec<u8>, key: u8, x: &Sample, rw2: bool) {
    put_ld(buf, key, sample_len(x, rw2));
    put_double(buf, 0x09, x.value);
    put_int(buf, 0x10, x.timestamp_ms);
    if rw2 {
        put_int(buf, 0x18, x.start_timestamp_ms);
    }
}

/// Encodes a Remote Write 1.0 `WriteRequest`, appending to `buf`. The bytes are exactly
/// `prost::Message::encode_to_vec(&to_rw1(series, metadata))`, without building it.
pub fn encode_rw1(series: &[Series], metadata: &[Metadata], buf: &mut Vec<u8>) {
    for s in series {
        put_ld(buf, 0x0a, series_body_len_rw1(s));
        let labels = s.labels.table();
        for &id in s.labels.ids() {
            buf.extend_from_slice(labels.wire(id));
        }
        for x in s.samples.iter() {
            put_sample(buf, 0x12, x, false);
        }
        for e in &s.exemplars {
            put_ld(buf, 0x1a, exemplar_len_rw1(e));
            for (name, value) in &e.labels {
                put_label(buf, name.as_bytes(), value.as_bytes());
            }
            put_double(buf, 0x11, e.value);
            put_int(buf, 0x18, e.timestamp_ms);
        }
        for h in &s.histograms {
            put_histogram(buf, 0x22, h, false);
        }
    }
    for m in metadata {
        let t = m.kind.proto_value();
        let body = int_len(i64::from(t))
            + str_field_len(m.metric_family_name.as_bytes())
            + str_field_len(m.help.as_bytes())
            + str_field_len(m.unit.as_bytes());
        put_ld(buf, 0x1a, body);
        put_int(buf, 0x08, i64::from(t));
        put_str_field(buf, 0x12, m.metric_family_name.as_bytes());
        put_str_field(buf, 0x22, m.help.as_bytes());
        put_str_field(buf, 0x2a, m.unit.as_bytes());
    }
}

fn refs_body_len(refs: &[u32]) -> usize {
    refs.iter().map(|&r| varint_len(u64::from(r))).sum()
}

fn put_refs(buf: &mut Vec<u8>, key: u8, refs: &[u32], body: usize) {
    if !refs.is_empty() {
        put_ld(buf, key, body);
        for &r in refs {
            put_varint(buf, u64::from(r));
        }
    }
}

/// Encodes a Remote Write 2.0 `Request`, appending to `buf`. The bytes are exactly
/// `prost::Message::encode_to_vec(&to_rw2(series))`, without building it.
pub fn encode_rw2(series: &[Series], buf: &mut Vec<u8>) {
    let table = SymbolTable::build(series);
    for s in &table.symbols {
        put_ld(buf, 0x22, s.len());
        buf.extend_from_slice(s);
    }
    let mut at = 0usize;
    for s in series {
        let label_refs = &table.refs[at..at + s.labels.len() * 2];
        at += label_refs.len();
        let labels_body = refs_body_len(label_refs);
        let mut body = if label_refs.is_empty() { 0 } else { ld_len(labels_body) };
        for x in s.samples.iter() {
            body += ld_len(sample_len(x, true));
        }
        for h in &s.histograms {
            body += ld_len(histogram_len(h, true));
        }
        let ex_start = at;
        for e in &s.exemplars {
            let r = &table.refs[at..at + e.labels.len() * 2];
            at += r.len();
            let eb = if r.is_empty() { 0 } else { ld_len(refs_body_len(r)) }
                + double_len(e.value)
                + int_len(e.timestamp_ms);
            body += ld_len(eb);
        }
        let (help_ref, unit_ref) = (table.refs[at], table.refs[at + 1]);
        at += 2;
        let t = s.metadata.kind.proto_value();
        let meta_body =
            int_len(i64::from(t)) + int_len(i64::from(help_ref)) + int_len(i64::from(unit_ref));
        body += ld_len(meta_body);

        put_ld(buf, 0x2a, body);
        put_refs(buf, 0x0a, label_refs, labels_body);
        for x in s.samples.iter() {
            put_sample(buf, 0x12, x, true);
        }
        for h in &s.histograms {
            put_histogram(buf, 0x1a, h, true);
        }
        let mut eat = ex_start;
        for e in &s.exemplars {
            let r = &table.refs[eat..eat + e.labels.len() * 2];
            eat += r.len();
            let rb = refs_body_len(r);
            let eb = if r.is_empty() { 0 } else { ld_len(rb) }
                + double_len(e.value)
                + int_len(e.timestamp_ms);
            put_ld(buf, 0x22, eb);
            put_refs(buf, 0x0a, r, rb);
            put_double(buf, 0x11, e.value);
            put_int(buf, 0x18, e.timestamp_ms);
        }
        put_ld(buf, 0x2a, meta_body);
        put_int(buf, 0x08, i64::from(t));
        put_int(buf, 0x18, i64::from(help_ref));
        put_int(buf, 0x20, i64::from(unit_ref));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag() {
        assert_eq!(zigzag32(0), 0);
        assert_eq!(zigzag32(-1), 1);
        assert_eq!(zigzag32(1), 2);
        assert_eq!(zigzag32(i32::MIN), u64::from(u32::MAX));
        assert_eq!(zigzag64(-2), 3);
        assert_eq!(zigzag64(i64::MIN), u64::MAX);
    }
}
