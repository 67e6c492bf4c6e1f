//! Series to Remote Write 1.0 and 2.0: as prost structs (`to_rw1`, `to_rw2`) and straight to
//! protobuf bytes (`encode_rw1`, `encode_rw2`), byte for byte what prost would encode.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use prw_proto::{rw1, rw2};

use crate::series::{
    BucketSpan, Exemplar, LabelStore, Metadata, NativeHistogram, Points, Sample, Series,
};
use crate::symbols::{FxHasher, same_bytes};
use crate::wire::{
    HEAD, IntField, Out, append, key_varint, label_body_len, ld_len, str_field_len, varint_len,
    varint_word,
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
                    r#type: s.metadata().kind.proto_value(),
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
/// labels, of each exemplar's labels, then of its help and unit. The plain way, one lookup per
/// string: the reference [`encode_rw2`]'s own table is checked against.
struct SymbolTable<'s> {
    symbols: Vec<&'s [u8]>,
    refs: Vec<u32>,
}

impl<'s> SymbolTable<'s> {
    fn build(series: &'s [Series]) -> Self {
        let mut table = Interner::new(series.len());
        let mut refs = Vec::new();
        for s in series {
            for (n, v) in s.labels() {
                refs.push(table.intern(n.as_bytes()));
                refs.push(table.intern(v.as_bytes()));
            }
            for e in &s.exemplars {
                for (n, v) in &e.labels {
                    refs.push(table.intern(n.as_bytes()));
                    refs.push(table.intern(v.as_bytes()));
                }
            }
            refs.push(table.intern(s.metadata().help.as_bytes()));
            refs.push(table.intern(s.metadata().unit.as_bytes()));
        }
        Self { symbols: table.symbols, refs }
    }
}

/// A symbol's bytes as a map key: hashed without a length prefix and compared without a
/// `memcmp` call (symbols are short).
#[derive(Clone, Copy)]
struct Sym<'s>(&'s [u8]);

impl PartialEq for Sym<'_> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        same_bytes(self.0, other.0)
    }
}

impl Eq for Sym<'_> {}

impl std::hash::Hash for Sym<'_> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.0);
    }
}

type FxBuild = BuildHasherDefault<FxHasher>;

/// The symbols seen so far and their refs.
struct Interner<'s> {
    map: HashMap<Sym<'s>, u32, FxBuild>,
    symbols: Vec<&'s [u8]>,
}

impl<'s> Interner<'s> {
    /// An interner for the symbols of `series` series. A request has far fewer distinct
    /// strings than series (its series share names and most values), so the table starts at
    /// most a few thousand entries and grows as needed: sized by the series count, it was
    /// megabytes touched at random for a few hundred symbols.
    fn new(series: usize) -> Self {
        let mut map =
            HashMap::with_capacity_and_hasher(series.min(1 << 12) + 64, FxBuild::default());
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

/// What [`encode_rw2`] learns about a request before writing it (the symbols come first in the
/// message, so every symbol must be known before any series is written).
struct Rw2Plan<'s> {
    symbols: Vec<&'s [u8]>,
    /// Per label store, per label id: the varints of the label's name and value refs, with
    /// their length in byte 15 (0 for a label no series of the request uses). Each distinct
    /// label of a store is looked up once per request, and a series' packed label refs are
    /// one 16-byte copy per label.
    maps: Vec<Vec<u128>>,
    /// Per series: bytes of its packed label refs, its store's map (`NO_MAP`: none), and its
    /// metadata field in `metas`.
    rows: Vec<Row>,
    /// The refs of every exemplar's labels, series by series.
    exemplar_refs: Vec<u32>,
    /// Each metric family's `metadata` field (key, length, type, help and unit refs), and how
    /// many of its bytes count.
    metas: Vec<(u128, usize)>,
}

#[derive(Clone, Copy)]
struct Row {
    labels_len: u32,
    map: u32,
    meta: u32,
}

const NO_MAP: u32 = u32::MAX;

/// A label's name and value refs as packed varints in a word, their length in the top byte.
fn label_word(name: u32, value: u32) -> u128 {
    let (n, nl) = varint_word(u64::from(name));
    let (v, vl) = varint_word(u64::from(value));
    n | v << (8 * nl) | ((nl + vl) as u128) << 120
}

/// The bytes that count in a label word.
#[inline]
fn label_word_len(w: u128) -> usize {
    (w >> 120) as usize
}

/// An RW 2.0 `metadata` field (field 5 of `TimeSeries`) with its key and length.
fn metadata_word(kind: i32, help: u32, unit: u32) -> (u128, usize) {
    let mut body = 0u128;
    let mut n = 0;
    for (key, v) in [(0x08, kind as u32), (0x18, help), (0x20, unit)] {
        if v != 0 {
            let (w, l) = key_varint(key, u64::from(v));
            body |= w << (8 * n);
            n += l;
        }
    }
    // At most 2 + 6 + 6 bytes.
    (0x2a | (n as u128) << 8 | body << 16, n + 2)
}

impl<'s> Rw2Plan<'s> {
    fn build(series: &'s [Series]) -> Self {
        let mut table = Interner::new(series.len());
        let mut maps: Vec<Vec<u128>> = Vec::new();
        // The map of each store seen, by address (the stores are borrowed for 's, so no
        // address is reused meanwhile). Consecutive series nearly always share a store.
        let mut by_store: HashMap<usize, u32, FxBuild> = HashMap::default();
        let mut current = (0usize, NO_MAP);
        let mut rows = Vec::with_capacity(series.len());
        let mut exemplar_refs = Vec::new();
        let mut metas = Vec::new();
        let mut prev_meta: Option<&'s Metadata> = None;
        for s in series {
            let mut row = Row { labels_len: 0, map: NO_MAP, meta: 0 };
            if let Some(store) = s.labels.store.as_deref() {
                let key = std::ptr::from_ref::<LabelStore>(store) as usize;
                if key != current.0 {
                    let next = maps.len() as u32;
                    let m = *by_store.entry(key).or_insert(next);
                    if m == next {
                        maps.push(vec![0; store.table.len()]);
                    }
                    current = (key, m);
                }
                row.map = current.1;
                if let Some(map) = maps.get_mut(current.1 as usize) {
                    let labels = &store.table;
                    let mut len = 0u32;
                    for &id in s.labels.ids() {
                        let Some(w) = map.get_mut(id as usize) else { continue };
                        if *w == 0 {
                            let [n, v] = labels.pair(id);
                            let n = table.intern(labels.symbols.bytes(n));
                            let v = table.intern(labels.symbols.bytes(v));
                            *w = label_word(n, v);
                        }
                        len += label_word_len(*w) as u32;
                    }
                    row.labels_len = len;
                }
            }
            for e in &s.exemplars {
                for (n, v) in &e.labels {
                    exemplar_refs.push(table.intern(n.as_bytes()));
                    exemplar_refs.push(table.intern(v.as_bytes()));
                }
            }
            // Every series of a metric family shares one `Arc<Metadata>`.
            if !prev_meta.is_some_and(|p| std::ptr::eq(p, s.metadata())) {
                let help = table.intern(s.metadata().help.as_bytes());
                let unit = table.intern(s.metadata().unit.as_bytes());
                metas.push(metadata_word(s.metadata().kind.proto_value(), help, unit));
                prev_meta = Some(s.metadata());
            }
            row.meta = metas.len() as u32 - 1;
            rows.push(row);
        }
        Self { symbols: table.symbols, maps, rows, exemplar_refs, metas }
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
fn int_len(v: i64) -> usize {
    if v != 0 { 1 + varint_len(v as u64) } else { 0 }
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

fn put_spans(o: &mut Out<'_>, key: u8, spans: &[BucketSpan]) {
    for s in spans {
        o.key_varint(key, span_len(s) as u64);
        if s.offset != 0 {
            o.key_varint(0x08, zigzag32(s.offset));
        }
        if s.length != 0 {
            o.key_varint(0x10, u64::from(s.length));
        }
    }
}

fn put_deltas(o: &mut Out<'_>, key: u8, d: &[i64]) {
    if !d.is_empty() {
        o.key_varint(key, deltas_body_len(d) as u64);
        for &x in d {
            o.varint(zigzag64(x));
        }
    }
}

/// Writes a histogram field whose body is `len` bytes (`histogram_len`).
fn put_histogram(o: &mut Out<'_>, key: u8, h: &NativeHistogram, len: usize, rw2: bool) {
    o.key_varint(key, len as u64);
    o.key_varint(0x08, h.count);
    o.double(0x19, h.sum);
    if h.schema != 0 {
        o.key_varint(0x20, zigzag32(h.schema));
    }
    o.double(0x29, h.zero_threshold);
    o.key_varint(0x30, h.zero_count);
    put_spans(o, 0x42, &h.negative_spans);
    put_deltas(o, 0x4a, &h.negative_deltas);
    put_spans(o, 0x5a, &h.positive_spans);
    put_deltas(o, 0x62, &h.positive_deltas);
    o.int(0x78, h.timestamp_ms);
    if rw2 && h.start_timestamp_ms != 0 {
        o.byte(0x88);
        o.byte(0x01);
        o.varint(h.start_timestamp_ms as u64);
    }
}

/// The timestamp fields of a request's samples: the series of one collection share them, so
/// their bytes are kept from one sample to the next.
struct SampleFields {
    timestamp: IntField,
    start: IntField,
}

impl SampleFields {
    fn new() -> Self {
        Self { timestamp: IntField::new(0x10), start: IntField::new(0x18) }
    }
}

/// A `samples` entry (field 2 in RW 1.0 and 2.0 alike, `start_timestamp` only in 2.0): its key,
/// length and value as one word, its timestamp fields as words, and how many bytes of each
/// count.
#[inline(always)]
fn sample_words(x: &Sample, f: &mut SampleFields, rw2: bool) -> [(u128, usize); 3] {
    let ts = f.timestamp.get(x.timestamp_ms);
    let st = if rw2 { f.start.get(x.start_timestamp_ms) } else { (0, 0) };
    let (value, n) = if x.value != 0.0 {
        (0x09 << 16 | u128::from(x.value.to_bits()) << 24, 11)
    } else {
        (0, 2)
    };
    // At most 9 + 11 + 11 bytes: the length is one byte.
    let len = (n - 2 + ts.1 + st.1) as u128;
    [(0x12 | len << 8 | value, n), ts, st]
}

#[inline]
fn put_samples(o: &mut Out<'_>, samples: &[Sample], f: &mut SampleFields, rw2: bool) {
    for x in samples {
        let [head, ts, st] = sample_words(x, f, rw2);
        o.word(head.0, head.1);
        o.word(ts.0, ts.1);
        if rw2 {
            o.word(st.0, st.1);
        }
    }
}

/// Bytes of a series' `samples` entries, keys and lengths included.
fn samples_len(samples: &[Sample], f: &mut SampleFields, rw2: bool) -> usize {
    samples
        .iter()
        .map(|x| {
            let [head, ts, st] = sample_words(x, f, rw2);
            head.1 + ts.1 + st.1
        })
        .sum()
}

fn exemplar_len_rw1(e: &Exemplar) -> usize {
    e.labels.iter().map(|(n, v)| ld_len(label_body_len(n.as_bytes(), v.as_bytes()))).sum::<usize>()
        + double_len(e.value)
        + int_len(e.timestamp_ms)
}

/// Bytes of a series' RW 1.0 `labels` entries.
#[inline]
pub(crate) fn labels_len_rw1(ids: &[u32], bounds: &[usize]) -> usize {
    ids.iter()
        .map(|&id| match bounds.get(id as usize..id as usize + 2) {
            Some(&[a, b]) => b - a,
            _ => 0,
        })
        .sum()
}

/// Bytes of a series' RW 1.0 exemplars and histograms.
fn extras_len_rw1(s: &Series) -> usize {
    s.exemplars.iter().map(|e| ld_len(exemplar_len_rw1(e))).sum::<usize>()
        + s.histograms.iter().map(|h| ld_len(histogram_len(h, false))).sum::<usize>()
}

pub(crate) fn series_len_rw1(s: &Series) -> usize {
    let samples: usize =
        s.samples.iter().map(|x| 2 + double_len(x.value) + int_len(x.timestamp_ms)).sum();
    let mut body = s.labels.wire_len() + samples;
    if !(s.exemplars.is_empty() && s.histograms.is_empty()) {
        body += extras_len_rw1(s);
    }
    ld_len(body)
}

/// Writes a series' RW 1.0 exemplars and histograms.
fn put_extras_rw1(o: &mut Out<'_>, s: &Series) {
    for e in &s.exemplars {
        o.key_varint(0x1a, exemplar_len_rw1(e) as u64);
        for (name, value) in &e.labels {
            let (name, value) = (name.as_bytes(), value.as_bytes());
            o.key_varint(0x0a, label_body_len(name, value) as u64);
            o.str_field(0x0a, name);
            o.str_field(0x12, value);
        }
        o.double(0x11, e.value);
        o.int(0x18, e.timestamp_ms);
    }
    for h in &s.histograms {
        put_histogram(o, 0x22, h, histogram_len(h, false), false);
    }
}

/// Writes an RW 1.0 series' labels.
#[inline]
fn put_labels_rw1(o: &mut Out<'_>, ids: &[u32], wire: &[u8], bounds: &[usize]) {
    for &id in ids {
        if let Some(&[a, b]) = bounds.get(id as usize..id as usize + 2) {
            o.copy(wire, a, b - a);
        }
    }
}

/// Writes an RW 1.0 series with several samples, or none, or exemplars or histograms.
#[inline(never)]
fn put_series_rw1(buf: &mut Vec<u8>, s: &Series, fields: &mut SampleFields) {
    let (wire, bounds) = s.labels.table().wire_parts();
    let ids = s.labels.ids();
    let body =
        labels_len_rw1(ids, bounds) + samples_len(&s.samples, fields, false) + extras_len_rw1(s);
    append(buf, HEAD + body, |o| {
        o.key_varint(0x0a, body as u64);
        put_labels_rw1(o, ids, wire, bounds);
        put_samples(o, &s.samples, fields, false);
        put_extras_rw1(o, s);
    });
}

/// Encodes a Remote Write 1.0 `WriteRequest`, appending to `buf`. The bytes are exactly
/// `prost::Message::encode_to_vec(&to_rw1(series, metadata))`, without building it.
pub fn encode_rw1(series: &[Series], metadata: &[Metadata], buf: &mut Vec<u8>) {
    let mut fields = SampleFields::new();
    for s in series {
        // The common series: one sample, nothing else. Its sample is sized and written once.
        let (Points::One(x), true, true) =
            (&s.samples, s.exemplars.is_empty(), s.histograms.is_empty())
        else {
            put_series_rw1(buf, s, &mut fields);
            continue;
        };
        let (wire, bounds) = s.labels.table().wire_parts();
        let ids = s.labels.ids();
        let [head, ts, _] = sample_words(x, &mut fields, false);
        let body = labels_len_rw1(ids, bounds) + head.1 + ts.1;
        append(buf, HEAD + body, |o| {
            o.key_varint(0x0a, body as u64);
            put_labels_rw1(o, ids, wire, bounds);
            o.word(head.0, head.1);
            o.word(ts.0, ts.1);
        });
    }
    for m in metadata {
        let t = m.kind.proto_value();
        let body = int_len(i64::from(t))
            + str_field_len(m.metric_family_name.as_bytes())
            + str_field_len(m.help.as_bytes())
            + str_field_len(m.unit.as_bytes());
        append(buf, HEAD + body, |o| {
            o.key_varint(0x1a, body as u64);
            o.int(0x08, i64::from(t));
            o.str_field(0x12, m.metric_family_name.as_bytes());
            o.str_field(0x22, m.help.as_bytes());
            o.str_field(0x2a, m.unit.as_bytes());
        });
    }
}

fn refs_body_len(refs: &[u32]) -> usize {
    refs.iter().map(|&r| varint_len(u64::from(r))).sum()
}

/// Bytes of an RW 2.0 exemplar's body.
fn exemplar_len_rw2(e: &Exemplar, refs: &[u32]) -> usize {
    (if refs.is_empty() { 0 } else { ld_len(refs_body_len(refs)) })
        + double_len(e.value)
        + int_len(e.timestamp_ms)
}

/// A series' RW 2.0 exemplars with their label refs (from `refs`, the request's exemplar refs
/// from this series' first on): the bytes of the entries, and of the refs they take.
fn exemplars_len_rw2(s: &Series, refs: &[u32]) -> (usize, usize) {
    let (mut len, mut at) = (0, 0);
    for e in &s.exemplars {
        let r = refs.get(at..at + e.labels.len() * 2).unwrap_or_default();
        at += r.len();
        len += ld_len(exemplar_len_rw2(e, r));
    }
    (len, at)
}

/// Writes a series' RW 2.0 histograms and exemplars.
fn put_extras_rw2(o: &mut Out<'_>, s: &Series, refs: &[u32]) {
    for h in &s.histograms {
        put_histogram(o, 0x1a, h, histogram_len(h, true), true);
    }
    let mut at = 0;
    for e in &s.exemplars {
        let r = refs.get(at..at + e.labels.len() * 2).unwrap_or_default();
        at += r.len();
        o.key_varint(0x22, exemplar_len_rw2(e, r) as u64);
        if !r.is_empty() {
            o.key_varint(0x0a, refs_body_len(r) as u64);
            for &x in r {
                o.varint(u64::from(x));
            }
        }
        o.double(0x11, e.value);
        o.int(0x18, e.timestamp_ms);
    }
}

/// A series' RW 2.0 labels: the bytes of its packed refs, and where their words are.
#[derive(Clone, Copy)]
struct Rw2Labels<'a> {
    len: usize,
    ids: &'a [u32],
    map: &'a [u128],
}

impl Rw2Labels<'_> {
    /// Bytes of the `labels_refs` field.
    #[inline]
    fn field_len(&self) -> usize {
        if self.len == 0 { 0 } else { ld_len(self.len) }
    }

    #[inline]
    fn put(&self, o: &mut Out<'_>) {
        if self.len != 0 {
            o.key_varint(0x0a, self.len as u64);
            for &id in self.ids {
                if let Some(&w) = self.map.get(id as usize) {
                    o.word(w, label_word_len(w));
                }
            }
        }
    }
}

/// Writes an RW 2.0 series with several samples, or none, or exemplars or histograms;
/// `ex_refs` are the refs of its exemplars' labels and those of the series after it.
/// Returns how many of them it used.
#[inline(never)]
fn put_series_rw2(
    buf: &mut Vec<u8>,
    s: &Series,
    labels: Rw2Labels<'_>,
    meta: (u128, usize),
    ex_refs: &[u32],
    fields: &mut SampleFields,
) -> usize {
    let (ex_len, used) = exemplars_len_rw2(s, ex_refs);
    let ex_refs = ex_refs.get(..used).unwrap_or_default();
    let body = labels.field_len()
        + samples_len(&s.samples, fields, true)
        + s.histograms.iter().map(|h| ld_len(histogram_len(h, true))).sum::<usize>()
        + ex_len
        + meta.1;
    append(buf, HEAD + body, |o| {
        o.key_varint(0x2a, body as u64);
        labels.put(o);
        put_samples(o, &s.samples, fields, true);
        put_extras_rw2(o, s, ex_refs);
        o.word(meta.0, meta.1);
    });
    used
}

/// Encodes a Remote Write 2.0 `Request`, appending to `buf`. The bytes are exactly
/// `prost::Message::encode_to_vec(&to_rw2(series))`, without building it.
pub fn encode_rw2(series: &[Series], buf: &mut Vec<u8>) {
    let plan = Rw2Plan::build(series);
    for s in &plan.symbols {
        append(buf, HEAD + s.len(), |o| {
            o.key_varint(0x22, s.len() as u64);
            o.bytes(s);
        });
    }
    let mut fields = SampleFields::new();
    let mut ex_at = 0usize;
    let none: &[u128] = &[];
    for (s, row) in series.iter().zip(&plan.rows) {
        let labels = Rw2Labels {
            len: row.labels_len as usize,
            ids: s.labels.ids(),
            map: plan.maps.get(row.map as usize).map_or(none, Vec::as_slice),
        };
        let meta = plan.metas.get(row.meta as usize).copied().unwrap_or((0, 0));
        // The common series: one sample, nothing else. Its sample is sized and written once.
        let (Points::One(x), true, true) =
            (&s.samples, s.exemplars.is_empty(), s.histograms.is_empty())
        else {
            let refs = plan.exemplar_refs.get(ex_at..).unwrap_or_default();
            ex_at += put_series_rw2(buf, s, labels, meta, refs, &mut fields);
            continue;
        };
        let [head, ts, st] = sample_words(x, &mut fields, true);
        let body = labels.field_len() + head.1 + ts.1 + st.1 + meta.1;
        append(buf, HEAD + body, |o| {
            o.key_varint(0x2a, body as u64);
            labels.put(o);
            o.word(head.0, head.1);
            o.word(ts.0, ts.1);
            o.word(st.0, st.1);
            o.word(meta.0, meta.1);
        });
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
