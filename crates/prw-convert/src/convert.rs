//! OTLP metrics to Prometheus series.

use std::sync::Arc;

use prw_proto::otlp::collector::ExportMetricsServiceRequest;
use prw_proto::otlp::common::{AnyValue, KeyValue, any_value};
use prw_proto::otlp::metrics::{
    AggregationTemporality, ExponentialHistogramDataPoint, HistogramDataPoint, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, SummaryDataPoint, exemplar, metric::Data,
    number_data_point,
};

use crate::STALE_NAN_BITS;
use crate::histogram::{SCHEMA_MAX, SCHEMA_MIN, buckets_layout, exp_upper_bound};
use crate::naming::{self, NameKind};
use crate::options::{ConvertOptions, ExpHistogramMode, OptionsError, PromoteResourceAttributes};
use crate::report::{DropReason, Report};
use crate::series::{
    Exemplar, LabelSet, LabelStore, Metadata, MetricKind, NativeHistogram, Points, Sample, Series,
};
use crate::symbols::{Interner, Ranks, same_bytes};
use crate::value::{any_value_string, write_any_value};

/// The zero threshold of a native histogram when the OTLP point has none (as Prometheus).
const DEFAULT_ZERO_THRESHOLD: f64 = 1e-128;
/// OpenMetrics' limit on the runes of an exemplar's label set.
const EXEMPLAR_MAX_RUNES: usize = 128;

const SERVICE_NAME: &str = "service.name";
const SERVICE_NAMESPACE: &str = "service.namespace";
const SERVICE_INSTANCE_ID: &str = "service.instance.id";

/// The result of a conversion: series sorted by labels, metadata per family, and what was
/// dropped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversion {
    /// Series sorted by their labels; each has its samples (or histograms) in time order.
    pub series: Vec<Series>,
    /// One entry per metric family, sorted by name (for RW 1.0 `metadata`).
    pub metadata: Vec<Metadata>,
    /// Points that were not converted, and why.
    pub report: Report,
}

impl Conversion {
    /// Total float samples over all series.
    pub fn sample_count(&self) -> usize {
        self.series.iter().map(Series::sample_count).sum()
    }

    /// Total native histogram samples over all series.
    pub fn histogram_count(&self) -> usize {
        self.series.iter().map(Series::histogram_count).sum()
    }
}

/// Converts OTLP metrics to Prometheus series with fixed, validated options. Cheap to share:
/// conversion takes `&self` and keeps no state between calls.
#[derive(Debug, Clone)]
pub struct Converter {
    opts: ConvertOptions,
    escape: bool,
    /// External labels sorted by name.
    external: Vec<(String, String)>,
    target_info_name: String,
}

impl Converter {
    /// Validates the options and builds a converter.
    pub fn new(opts: ConvertOptions) -> Result<Self, OptionsError> {
        opts.validate()?;
        let mut external = opts.external_labels.clone();
        external.sort();
        let target_info_name = match &opts.namespace {
            Some(ns) => format!("{ns}_target_info"),
            None => "target_info".to_string(),
        };
        Ok(Self { escape: opts.translation_strategy.escapes(), external, target_info_name, opts })
    }

    /// The options this converter was built with.
    pub fn options(&self) -> &ConvertOptions {
        &self.opts
    }

    /// Converts a whole OTLP export request.
    pub fn convert_request(&self, request: &ExportMetricsServiceRequest) -> Conversion {
        self.convert(&request.resource_metrics)
    }

    /// Converts OTLP resource metrics. Never fails: what cannot be converted is dropped and
    /// listed in [`Conversion::report`].
    pub fn convert(&self, metrics: &[ResourceMetrics]) -> Conversion {
        let mut run = Run::new(self);
        // Sized up front: growing the series by doubling copies them (and, for big ones, maps
        // fresh memory) several times over.
        let series = expected_series(metrics);
        run.series.reserve(series);
        run.refs.reserve(series.saturating_mul(8));
        for rm in metrics {
            run.resource(rm);
        }
        run.finish()
    }
}

/// About how many series `metrics` make (exact for gauges, sums and explicit histograms; at
/// least one per point for the rest), plus one `target_info` per resource.
fn expected_series(metrics: &[ResourceMetrics]) -> usize {
    let mut n = 0usize;
    for rm in metrics {
        n = n.saturating_add(1);
        for m in rm.scope_metrics.iter().flat_map(|sm| &sm.metrics) {
            let k = match &m.data {
                Some(Data::Gauge(g)) => g.data_points.len(),
                Some(Data::Sum(s)) => s.data_points.len(),
                Some(Data::Histogram(h)) => {
                    h.data_points.iter().map(|p| p.explicit_bounds.len() + 3).sum()
                }
                Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
                Some(Data::Summary(s)) => {
                    s.data_points.iter().map(|p| p.quantile_values.len() + 2).sum()
                }
                None => 0,
            };
            n = n.saturating_add(k);
        }
    }
    n
}

/// A string either borrowed from the input or held in the run's text arena.
#[derive(Debug, Clone, Copy)]
enum S<'a> {
    In(&'a str),
    /// In the text arena (cleared per resource, scope and point).
    T(u32, u32),
    /// In the names arena (kept for the whole conversion).
    N(u32, u32),
}

fn resolve<'x>(text: &'x str, names: &'x str, s: S<'x>) -> &'x str {
    match s {
        S::In(x) => x,
        S::T(a, b) => &text[a as usize..b as usize],
        S::N(a, b) => &names[a as usize..b as usize],
    }
}

/// How many attribute keys' label names are remembered.
const KEY_CACHE: usize = 32;

/// Whether two strings are the same stored string (not just equal text).
fn same(a: S<'_>, b: S<'_>) -> bool {
    match (a, b) {
        (S::In(x), S::In(y)) => std::ptr::eq(x, y),
        (S::T(a0, a1), S::T(b0, b1)) | (S::N(a0, a1), S::N(b0, b1)) => a0 == b0 && a1 == b1,
        _ => false,
    }
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Base(usize),
    Attr(usize),
}

/// How a point's labels were assembled from the scope base and its attributes.
struct Plan<'a> {
    /// The attributes' label names, in input order.
    names: Vec<S<'a>>,
    /// The point's labels in order.
    slots: Vec<Slot>,
    /// The label ids for this plan, made by the first point that uses it.
    template: Option<Template>,
    /// The attribute keys the plan was made from, when every attribute made a label of its
    /// own: a point with the same keys and non-empty string values takes the fast way.
    raw_keys: Option<Vec<&'a str>>,
}

/// A point's label ids for one plan: what does not change from point to point (the
/// scope-base labels, the attribute labels' names) is interned once, so a point looks up only
/// its attribute values.
struct Template {
    /// Label ids, with 0 for the attribute labels.
    ids: Vec<u32>,
    /// Per attribute label: its position, its index in the point, its attribute's index, and
    /// its name's ref.
    values: Vec<(u32, u32, u32, u32)>,
}

/// Most extra labels a series adds to its point's labels (`__name__`, `le`) on the fast path.
const MAX_EXTRAS: usize = 4;

/// Where a set of extra labels goes among a point's labels.
#[derive(Clone, Copy)]
struct Splice {
    /// The extras' names (string literals, compared by address).
    names: [&'static str; MAX_EXTRAS],
    len: usize,
    /// Per extra: the index of the point label it goes before, and whether it replaces it.
    plan: [(usize, bool); MAX_EXTRAS],

    /// Number of labels of the result.
    n: usize,
}

/// The label `le="+Inf"`, interned first so its id is a constant.
const INF_LABEL: u32 = 1;

/// A label from the resource or scope, merged with the point's attributes: `overrides` ones
/// (job, instance, scope labels) replace attributes of the same name, the others (promoted
/// resource attributes, external labels) are added only where the attributes lack the name.
#[derive(Debug, Clone, Copy)]
struct BaseLabel<'a> {
    name: S<'a>,
    value: S<'a>,
    overrides: bool,
    rank: u8,
}

struct Cand<'a> {
    name: S<'a>,
    raw_key: &'a str,
    value: S<'a>,
}

struct MetricCtx {
    /// The OTLP name, for the report.
    otlp_name: String,
    /// Label ids of the series names (`__name__`): the metric's, `_bucket`, `_sum`, `_count`.
    name: u32,
    bucket: u32,
    sum: u32,
    count: u32,
    /// The family's index in the run's (later the store's) metadata.
    meta: u32,
}

struct Run<'a> {
    conv: &'a Converter,
    text: String,
    series: Vec<Series>,
    metadata: Vec<Arc<Metadata>>,
    report: Report,
    cands: Vec<Cand<'a>>,
    attrs: Vec<(S<'a>, S<'a>)>,
    point: Vec<(S<'a>, S<'a>)>,
    resource_base: Vec<BaseLabel<'a>>,
    scope_base: Vec<BaseLabel<'a>>,
    /// Every label of the conversion.
    interner: Interner,
    /// Every series' labels, as runs of label ids (see [`LabelSet`]).
    refs: Vec<u32>,
    /// Label ranks, for sorting series.
    ranks: Ranks,
    /// How the last point's labels were assembled (reset when the scope base changes).
    plan: Option<Plan<'a>>,
    /// Where each metric's series end in `series` (marked by `sort_chunk`), with their order
    /// when `sort_chunk` sorted them (then it is `0..n` with [`TIE`] and [`NORMALIZE`] marks).
    chunk_ends: Vec<(usize, Option<Vec<u32>>)>,
    /// The labels' ranks so far, for `sort_chunk`.
    running_ranks: crate::sort::RunningRanks,
    /// The `le` label id of each bucket position, with the bits of the bound it was made from.
    le_cache: Vec<(u64, u32)>,
    names: String,
    key_cache: Vec<(&'a str, S<'a>)>,
    /// The current point's label ids.
    flat: Vec<u32>,
    /// A histogram point's `(bound, cumulative count)` pairs (kept for its allocation).
    buckets: Vec<(f64, f64)>,
    /// Label ids being laid out in series order (kept for its allocation).
    ids_scratch: Vec<u32>,
    /// Whether `flat` holds the current plan's template ids (with some point's values), as
    /// [`Run::fast_flat`] leaves it.
    flat_is_template: bool,
    /// Where extra labels go among the point's labels, per set of extras names seen.
    splices: Vec<Splice>,
    /// Latest timestamp of anything emitted for the current resource (for `target_info`).
    resource_max_ts: i64,
}

/// Reads every attribute key and string value of `points` (their length and first and last
/// byte), so that their cache lines are loaded; returns a value made from what was read (and
/// from the second item of each point, what the caller read of the rest of the point).
fn warm<'a>(points: impl Iterator<Item = (&'a [KeyValue], u64)>) -> u64 {
    let mut acc = 0u64;
    for (attrs, rest) in points {
        acc ^= rest;
        for kv in attrs {
            let k = kv.key.as_bytes();
            acc = acc.wrapping_add(k.len() as u64 + u64::from(k.first().copied().unwrap_or(0)));
            if let Some(AnyValue { value: Some(any_value::Value::StringValue(v)) }) = &kv.value {
                let v = v.as_bytes();
                acc = acc.wrapping_add(u64::from(v.last().copied().unwrap_or(0)));
            }
        }
    }
    acc
}

fn ms(ns: u64) -> i64 {
    (ns / 1_000_000) as i64
}

/// RW 2.0 start timestamp: 0 when unknown or after the sample; epoch 0 is sent as 1 (the spec
/// reserves 0 for "unset").
fn start_ms(start_ns: u64, ts_ms: i64) -> i64 {
    if start_ns == 0 {
        return 0;
    }
    let s = ms(start_ns).max(1);
    if s > ts_ms { 0 } else { s }
}

fn is_identifying(key: &str) -> bool {
    matches!(key, SERVICE_NAME | SERVICE_NAMESPACE | SERVICE_INSTANCE_ID)
}

fn stale() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

fn is_stale_flag(flags: u32) -> bool {
    flags & 1 != 0
}

/// `le` and `quantile` values: shortest round-trip decimal without exponent (Go's
/// `FormatFloat(v, 'f', -1, 64)`), `+Inf`, `-Inf`, `NaN`.
pub(crate) fn format_bound(v: f64, out: &mut String) {
    use std::fmt::Write as _;
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
}

fn string_attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attrs.iter().rev().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref())
}

fn prometheus_type(metric: &Metric) -> Option<MetricKind> {
    let v = string_attr(&metric.metadata, "prometheus.type")?;
    match &v.value {
        Some(any_value::Value::StringValue(s)) => match s.as_str() {
            "unknown" => Some(MetricKind::Unknown),
            "info" => Some(MetricKind::Info),
            "stateset" => Some(MetricKind::StateSet),
            "gauge" => Some(MetricKind::Gauge),
            _ => None,
        },
        _ => None,
    }
}

impl<'a> Run<'a> {
    fn new(conv: &'a Converter) -> Self {
        let mut interner = Interner::new();
        interner.label_str("le", "+Inf");
        Self {
            conv,
            text: String::new(),
            series: Vec::new(),
            metadata: Vec::new(),
            report: Report::default(),
            cands: Vec::new(),
            attrs: Vec::new(),
            point: Vec::new(),
            resource_base: Vec::new(),
            scope_base: Vec::new(),
            resource_max_ts: 0,
            interner,
            refs: Vec::new(),
            ranks: Ranks::default(),
            plan: None,
            chunk_ends: Vec::new(),
            running_ranks: crate::sort::RunningRanks::default(),
            le_cache: Vec::new(),
            names: String::new(),
            key_cache: Vec::with_capacity(KEY_CACHE),
            flat: Vec::new(),
            buckets: Vec::new(),
            ids_scratch: Vec::new(),
            flat_is_template: false,
            splices: Vec::new(),
        }
    }

    fn s(&self, s: S<'a>) -> &str {
        resolve(&self.text, &self.names, s)
    }

    /// Pushes `f`'s output to the text arena as one string.
    fn push_text(&mut self, f: impl FnOnce(&mut String)) -> S<'a> {
        let start = self.text.len();
        f(&mut self.text);
        S::T(start as u32, self.text.len() as u32)
    }

    fn value_of(&mut self, v: Option<&'a AnyValue>) -> S<'a> {
        match v {
            Some(AnyValue { value: Some(any_value::Value::StringValue(s)) }) => S::In(s),
            Some(v @ AnyValue { value: Some(_) }) => self.push_text(|t| write_any_value(v, t)),
            _ => S::In(""),
        }
    }

    fn is_empty(&self, s: S<'a>) -> bool {
        match s {
            S::In(x) => x.is_empty(),
            S::T(a, b) | S::N(a, b) => a == b,
        }
    }

    /// The label name of an attribute key, remembered across points (keys repeat from point
    /// to point, and escaping them each time is a measurable cost).
    fn key_name(&mut self, key: &'a str) -> Result<S<'a>, ()> {
        if let Some(&(_, name)) =
            self.key_cache.iter().find(|(k, _)| same_bytes(k.as_bytes(), key.as_bytes()))
        {
            return Ok(name);
        }
        let start = self.names.len();
        let name = match naming::label_name_into(key, self.conv.escape, &mut self.names)? {
            false => S::In(key),
            true => S::N(start as u32, self.names.len() as u32),
        };
        if self.key_cache.len() >= KEY_CACHE {
            self.key_cache.clear();
        }
        self.key_cache.push((key, name));
        Ok(name)
    }

    /// Adds one attribute as a label candidate; `Err` with the key if it gives no label name.
    fn add_cand(&mut self, kv: &'a KeyValue, prefix: Option<&str>) -> Result<(), &'a str> {
        let value = self.value_of(kv.value.as_ref());
        if self.is_empty(value) {
            return Ok(());
        }
        let escape = self.conv.escape;
        let start = self.text.len();
        let name = match prefix {
            None => match self.key_name(&kv.key) {
                Ok(name) => name,
                Err(()) => return Err(&kv.key),
            },
            Some(p) => {
                let full = format!("{p}{}", kv.key);
                match naming::label_name_into(&full, escape, &mut self.text) {
                    Ok(false) => {
                        self.text.push_str(&full);
                        S::T(start as u32, self.text.len() as u32)
                    }
                    Ok(true) => S::T(start as u32, self.text.len() as u32),
                    Err(()) => return Err(&kv.key),
                }
            }
        };
        self.cands.push(Cand { name, raw_key: &kv.key, value });
        Ok(())
    }

    /// Sorts the candidates into `self.attrs`: sorted by name, colliding keys joined with `;`
    /// in raw-key order, equal values once.
    fn merge_cands(&mut self) {
        self.attrs.clear();
        let mut cands = std::mem::take(&mut self.cands);
        {
            let (text, names) = (&self.text, &self.names);
            let get = |s: S<'a>| resolve(text, names, s);
            cands.sort_by(|x, y| {
                get(x.name).cmp(get(y.name)).then_with(|| x.raw_key.cmp(y.raw_key))
            });
        }
        let mut i = 0;
        while i < cands.len() {
            let mut j = i + 1;
            while j < cands.len() && self.s(cands[j].name) == self.s(cands[i].name) {
                j += 1;
            }
            if j == i + 1 {
                self.attrs.push((cands[i].name, cands[i].value));
            } else {
                let mut parts: Vec<String> = Vec::with_capacity(j - i);
                for c in &cands[i..j] {
                    let v = self.s(c.value).to_string();
                    if !parts.contains(&v) {
                        parts.push(v);
                    }
                }
                let joined = parts.join(";");
                let value = self.push_text(|t| t.push_str(&joined));
                self.attrs.push((cands[i].name, value));
            }
            i = j;
        }
        cands.clear();
        self.cands = cands;
    }

    /// Sanitizes and merges attributes into `self.attrs`. With `lenient`, attributes whose key
    /// gives no label name are skipped; otherwise the first such key is returned.
    fn collect_attrs(
        &mut self,
        attrs: &'a [KeyValue],
        prefix: Option<&str>,
        lenient: bool,
        skip: impl Fn(&str) -> bool,
    ) -> Result<(), &'a str> {
        self.cands.clear();
        for kv in attrs {
            if skip(&kv.key) {
                continue;
            }
            if let Err(key) = self.add_cand(kv, prefix) {
                if !lenient {
                    return Err(key);
                }
            }
        }
        self.merge_cands();
        Ok(())
    }

    /// Builds the resource-level base labels (job, instance, promoted, external).
    fn build_resource_base(&mut self, attrs: &'a [KeyValue]) {
        self.resource_base.clear();
        let conv = self.conv;
        let name = string_attr(attrs, SERVICE_NAME).map(any_value_string).filter(|s| !s.is_empty());
        if let Some(name) = name {
            let ns = string_attr(attrs, SERVICE_NAMESPACE)
                .map(any_value_string)
                .filter(|s| !s.is_empty());
            let job = match ns {
                Some(ns) => format!("{ns}/{name}"),
                None => name,
            };
            let value = self.push_text(|t| t.push_str(&job));
            self.resource_base.push(BaseLabel {
                name: S::In("job"),
                value,
                overrides: true,
                rank: 0,
            });
        }
        if let Some(v) = string_attr(attrs, SERVICE_INSTANCE_ID) {
            let value = self.push_text(|t| write_any_value(v, t));
            if !self.is_empty(value) {
                self.resource_base.push(BaseLabel {
                    name: S::In("instance"),
                    value,
                    overrides: true,
                    rank: 0,
                });
            }
        }
        let promoted = match &conv.opts.promote_resource_attributes {
            PromoteResourceAttributes::None => false,
            PromoteResourceAttributes::All => {
                // Promoted keys that give no label name are skipped: there is no point to drop.
                let _ = self.collect_attrs(attrs, None, true, is_identifying);
                true
            }
            PromoteResourceAttributes::Keys(keys) => {
                let _ = self.collect_attrs(attrs, None, true, |k| !keys.iter().any(|x| x == k));
                true
            }
        };
        if promoted {
            for i in 0..self.attrs.len() {
                let (name, value) = self.attrs[i];
                self.resource_base.push(BaseLabel { name, value, overrides: false, rank: 2 });
            }
        }
        for (k, v) in &conv.external {
            self.resource_base.push(BaseLabel {
                name: S::In(k),
                value: S::In(v),
                overrides: false,
                rank: 3,
            });
        }
    }

    /// Builds the scope base: resource base plus scope labels, one entry per name, sorted.
    fn build_scope_base(&mut self, sm: &'a ScopeMetrics) {
        self.scope_base.clear();
        self.scope_base.extend(self.resource_base.iter().copied());
        if self.conv.opts.scope_labels {
            if let Some(scope) = &sm.scope {
                for (name, value) in
                    [("otel_scope_name", &scope.name), ("otel_scope_version", &scope.version)]
                {
                    if !value.is_empty() {
                        self.scope_base.push(BaseLabel {
                            name: S::In(name),
                            value: S::In(value),
                            overrides: true,
                            rank: 1,
                        });
                    }
                }
                // Scope attributes that would collide with the three scope labels are dropped.
                let reserved = |k: &str| matches!(k, "name" | "version" | "schema_url");
                let _ = self.collect_attrs(&scope.attributes, Some("otel_scope_"), true, reserved);
                for i in 0..self.attrs.len() {
                    let (name, value) = self.attrs[i];
                    self.scope_base.push(BaseLabel { name, value, overrides: true, rank: 1 });
                }
            }
            if !sm.schema_url.is_empty() {
                self.scope_base.push(BaseLabel {
                    name: S::In("otel_scope_schema_url"),
                    value: S::In(&sm.schema_url),
                    overrides: true,
                    rank: 1,
                });
            }
        }
        self.sort_scope_base();
    }

    /// Sorts `scope_base` by name, keeping the highest-precedence (lowest rank) label of each
    /// name.
    fn sort_scope_base(&mut self) {
        self.plan = None;
        let mut base = std::mem::take(&mut self.scope_base);
        {
            let (text, names) = (&self.text, &self.names);
            let get = |s: S<'a>| resolve(text, names, s);
            base.sort_by(|x, y| get(x.name).cmp(get(y.name)).then(x.rank.cmp(&y.rank)));
            base.dedup_by(|later, earlier| get(later.name) == get(earlier.name));
        }
        self.scope_base = base;
    }

    /// Merges `self.attrs` with the scope base into `self.point`.
    fn merge_point(&mut self) {
        self.point.clear();
        let (mut i, mut j) = (0, 0);
        while i < self.attrs.len() || j < self.scope_base.len() {
            let ord = match (self.attrs.get(i), self.scope_base.get(j)) {
                (Some(a), Some(b)) => self.s(a.0).cmp(self.s(b.name)),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match ord {
                std::cmp::Ordering::Less => {
                    self.point.push(self.attrs[i]);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    let b = self.scope_base[j];
                    self.point.push((b.name, b.value));
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    let b = self.scope_base[j];
                    if b.overrides {
                        self.point.push((b.name, b.value));
                    } else {
                        self.point.push(self.attrs[i]);
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
    }

    /// The id of the label `name`=`value`.
    fn label_id(&mut self, name: S<'a>, value: S<'a>) -> u32 {
        let Self { text, names, interner, .. } = self;
        interner.label_str(resolve(text, names, name), resolve(text, names, value))
    }

    /// Puts the point's label ids into `self.flat`.
    fn build_flat(&mut self) {
        self.splices.clear();
        self.flat_is_template = false;
        let Some(mut plan) = self.plan.take() else { return self.build_flat_generic() };
        if plan.slots.len() != self.point.len() {
            self.plan = Some(plan);
            return self.build_flat_generic();
        }
        let t = plan.template.get_or_insert_with(|| self.template(&plan.slots));
        self.flat.clear();
        self.flat.extend_from_slice(&t.ids);
        for &(at, idx, _, name) in &t.values {
            let v = resolve(&self.text, &self.names, self.point[idx as usize].1);
            self.flat[at as usize] = self.interner.label(name, v);
        }
        self.plan = Some(plan);
        #[cfg(debug_assertions)]
        {
            // Debug builds (the tests) check the template against the label-by-label way.
            let fast = self.flat.clone();
            self.build_flat_generic();
            assert!(fast == self.flat);
        }
    }

    /// The [`Template`] of the current point's plan, from its `slots`.
    fn template(&mut self, slots: &[Slot]) -> Template {
        let mut t = Template { ids: Vec::with_capacity(slots.len()), values: Vec::new() };
        for (idx, &slot) in slots.iter().enumerate() {
            match slot {
                Slot::Base(j) => {
                    let b = self.scope_base[j];
                    let id = self.label_id(b.name, b.value);
                    t.ids.push(id);
                }
                Slot::Attr(i) => {
                    let name = resolve(&self.text, &self.names, self.point[idx].0);
                    let name = self.interner.symbol(name);
                    t.values.push((t.ids.len() as u32, idx as u32, i as u32, name));
                    t.ids.push(0);
                }
            }
        }
        t
    }

    /// [`Self::build_flat`] for a point without a plan.
    fn build_flat_generic(&mut self) {
        let mut flat = std::mem::take(&mut self.flat);
        flat.clear();
        for i in 0..self.point.len() {
            let (k, v) = self.point[i];
            flat.push(self.label_id(k, v));
        }
        self.flat = flat;
    }

    /// The name of the point's label `j`.
    fn flat_name(&self, j: usize) -> &[u8] {
        let t = self.interner.table();
        t.symbols.bytes(t.pair(self.flat[j])[0])
    }

    /// The label set of one series: the point's labels with `extras` (name, label id; sorted
    /// by name) replacing labels of the same name.
    fn label_set(&mut self, extras: &[(&'static str, u32)]) -> LabelSet {
        let start = self.refs.len();
        let n_point = self.flat.len();
        if extras.len() > MAX_EXTRAS {
            // Label by label: a rare case (no caller passes this many).
            let mut j = 0usize;
            for &(k, id) in extras {
                while j < n_point && self.flat_name(j) < k.as_bytes() {
                    self.refs.push(self.flat[j]);
                    j += 1;
                }
                if j < n_point && self.flat_name(j) == k.as_bytes() {
                    j += 1;
                }
                self.refs.push(id);
            }
            self.refs.extend_from_slice(&self.flat[j..]);
            return LabelSet { store: None, start, n: (self.refs.len() - start) as u32, meta: 0 };
        }
        // Where the extras go among the point's labels depends only on their names: worked out
        // once per point for each set of names (a histogram point's 13 series use two).
        let cached = self.splices.iter().find(|sp| {
            sp.len == extras.len()
                && extras.iter().zip(&sp.names).all(|((k, _), m)| std::ptr::eq(*k, *m))
        });
        let (plan, n) = match cached {
            Some(sp) => (sp.plan, sp.n),
            None => {
                let mut sp = Splice {
                    names: [""; MAX_EXTRAS],
                    len: extras.len(),
                    plan: [(0, false); MAX_EXTRAS],
                    n: n_point,
                };
                let mut j = 0usize;
                for (i, (k, _)) in extras.iter().enumerate() {
                    while j < n_point && self.flat_name(j) < k.as_bytes() {
                        j += 1;
                    }
                    let replaces = j < n_point && self.flat_name(j) == k.as_bytes();
                    sp.names[i] = k;
                    sp.plan[i] = (j, replaces);
                    if replaces {
                        sp.n -= 1;
                        j += 1;
                    }
                    sp.n += 1;
                }
                self.splices.push(sp);
                (sp.plan, sp.n)
            }
        };
        let (flat, out) = (&self.flat, &mut self.refs);
        out.reserve(n);
        // Element by element: a label set is a handful of ids, and a `memcpy` call per run
        // costs more than the copy.
        let mut pos = 0usize;
        for (i, &(_, id)) in extras.iter().enumerate() {
            let (j, replaces) = plan[i];
            for &x in &flat[pos..j] {
                out.push(x);
            }
            pos = if replaces { j + 1 } else { j };
            out.push(id);
        }
        for &x in &flat[pos..] {
            out.push(x);
        }
        LabelSet { store: None, start, n: n as u32, meta: 0 }
    }

    fn push_series(
        &mut self,
        mut labels: LabelSet,
        meta: u32,
        sample: Sample,
        exemplars: Vec<Exemplar>,
    ) {
        self.resource_max_ts = self.resource_max_ts.max(sample.timestamp_ms);
        labels.meta = meta;
        self.series.push(Series {
            labels,
            samples: Points::One(sample),
            histograms: Vec::new(),
            exemplars,
        });
    }

    fn resource(&mut self, rm: &'a ResourceMetrics) {
        self.text.clear();
        self.resource_max_ts = 0;
        let empty: &'a [KeyValue] = &[];
        let rattrs: &'a [KeyValue] =
            rm.resource.as_ref().map_or(empty, |r| r.attributes.as_slice());
        self.build_resource_base(rattrs);
        let resource_mark = self.text.len();
        for sm in &rm.scope_metrics {
            self.text.truncate(resource_mark);
            self.build_scope_base(sm);
            let scope_mark = self.text.len();
            for metric in &sm.metrics {
                self.text.truncate(scope_mark);
                let start = self.series.len();
                self.metric(metric, scope_mark);
                self.sort_chunk(start);
            }
        }
        self.text.truncate(resource_mark);
        if self.conv.opts.target_info && self.resource_max_ts > 0 {
            let start = self.series.len();
            self.target_info(rattrs);
            self.sort_chunk(start);
        }
    }

    fn target_info(&mut self, rattrs: &'a [KeyValue]) {
        if !self.resource_base.iter().any(|b| b.rank == 0) {
            return; // neither job nor instance
        }
        // Keys that give no label name are skipped: the rest still describes the target.
        let _ = self.collect_attrs(rattrs, None, true, is_identifying);
        if self.attrs.is_empty() {
            return;
        }
        // job, instance and external labels only (no promoted attributes, no scope labels).
        self.scope_base.clear();
        let base: Vec<BaseLabel<'a>> =
            self.resource_base.iter().copied().filter(|b| b.rank != 2).collect();
        self.scope_base = base;
        self.sort_scope_base();
        self.merge_point();
        self.build_flat();
        let name = self.conv.target_info_name.clone();
        let name_id = self.interner.label_str("__name__", &name);
        let labels = self.label_set(&[("__name__", name_id)]);
        let meta = self.add_metadata(Metadata {
            metric_family_name: name,
            kind: MetricKind::Gauge,
            help: "Target metadata".to_string(),
            unit: String::new(),
        });
        let ts = self.resource_max_ts;
        self.push_series(
            labels,
            meta,
            Sample { value: 1.0, timestamp_ms: ts, start_timestamp_ms: 0 },
            Vec::new(),
        );
    }

    /// Adds a metric family; returns its index.
    fn add_metadata(&mut self, m: Metadata) -> u32 {
        self.metadata.push(Arc::new(m));
        (self.metadata.len() - 1) as u32
    }

    /// Marks the series made since `start` (one metric's) as a chunk and, unless its labels
    /// are too many to rank now, sorts it while its series are in cache (`finish` puts the
    /// chunks in order).
    fn sort_chunk(&mut self, start: usize) {
        let end = self.series.len();
        if end <= start {
            return;
        }
        let order = if self.running_ranks.update(self.interner.table(), 4 * (end - start) + 4096) {
            let chunk = self.series.get_mut(start..end).unwrap_or_default();
            let refs = &self.refs;
            let sets: Vec<&[u32]> = chunk.iter().map(|s| s.labels.ids_in(refs)).collect();
            let order = flagged_order(&self.running_ranks.rank, &sets, chunk);
            drop(sets);
            crate::sort::permute(chunk, order.iter().map(|&k| k & !(TIE | NORMALIZE)));
            lay_out_ids(chunk, &mut self.refs, &mut self.ids_scratch);
            Some(
                order
                    .iter()
                    .enumerate()
                    .map(|(i, &k)| i as u32 | (k & (TIE | NORMALIZE)))
                    .collect(),
            )
        } else {
            None
        };
        self.chunk_ends.push((end, order));
    }

    fn metric_ctx(
        &mut self,
        metric: &Metric,
        kind: NameKind,
        mkind: MetricKind,
    ) -> Option<MetricCtx> {
        let conv = self.conv;
        let name = naming::metric_name(
            &metric.name,
            &metric.unit,
            kind,
            conv.opts.namespace.as_deref(),
            conv.opts.translation_strategy,
        )?;
        let meta = self.add_metadata(Metadata {
            metric_family_name: name.clone(),
            kind: mkind,
            help: metric.description.clone(),
            unit: naming::unit_name(&metric.unit, conv.escape),
        });
        let mut named =
            |suffix: &str| self.interner.label_str("__name__", &format!("{name}{suffix}"));
        Some(MetricCtx {
            otlp_name: metric.name.clone(),
            bucket: named("_bucket"),
            sum: named("_sum"),
            count: named("_count"),
            name: named(""),
            meta,
        })
    }

    fn metric(&mut self, metric: &'a Metric, point_mark: usize) {
        let Some(data) = &metric.data else {
            self.report.add(&metric.name, DropReason::NoData, 0);
            return;
        };
        let (n, temporality) = match data {
            Data::Gauge(g) => (g.data_points.len(), None),
            Data::Sum(s) => (s.data_points.len(), Some(s.aggregation_temporality)),
            Data::Histogram(h) => (h.data_points.len(), Some(h.aggregation_temporality)),
            Data::ExponentialHistogram(h) => (h.data_points.len(), Some(h.aggregation_temporality)),
            Data::Summary(s) => (s.data_points.len(), None),
        };
        if n == 0 {
            self.report.add(&metric.name, DropReason::NoDataPoints, 0);
            return;
        }
        if let Some(t) = temporality {
            if t == AggregationTemporality::Delta as i32 {
                self.report.add(&metric.name, DropReason::DeltaTemporality, n as u64);
                return;
            }
            if t != AggregationTemporality::Cumulative as i32 {
                self.report.add(&metric.name, DropReason::UnspecifiedTemporality, n as u64);
                return;
            }
        }
        let (kind, mkind) = match data {
            Data::Gauge(_) => {
                (NameKind::Gauge, prometheus_type(metric).unwrap_or(MetricKind::Gauge))
            }
            Data::Sum(s) if s.is_monotonic => (NameKind::MonotonicCounter, MetricKind::Counter),
            Data::Sum(_) => (
                NameKind::NonMonotonicCounter,
                prometheus_type(metric).unwrap_or(MetricKind::Gauge),
            ),
            Data::Histogram(_) => (NameKind::Histogram, MetricKind::Histogram),
            Data::ExponentialHistogram(_) => {
                (NameKind::ExponentialHistogram, MetricKind::Histogram)
            }
            Data::Summary(_) => (NameKind::Summary, MetricKind::Summary),
        };
        let Some(ctx) = self.metric_ctx(metric, kind, mkind) else {
            self.report.add(&metric.name, DropReason::InvalidMetricName, n as u64);
            return;
        };
        // The points' attributes are small heap blocks all over memory. Converting a point
        // is long enough that the CPU cannot run ahead to the next point's loads, so each of
        // those misses would stall it in turn; a first pass that only reads them overlaps the
        // misses and leaves the metric's attributes in cache for the real pass.
        // A histogram point's bounds and counts are two more such blocks.
        let ends = |v: &[u64], b: &[f64]| {
            v.first().copied().unwrap_or(0)
                ^ v.last().copied().unwrap_or(0)
                ^ b.first().map_or(0, |x| x.to_bits())
                ^ b.last().map_or(0, |x| x.to_bits())
        };
        let warmed = match data {
            Data::Gauge(g) => warm(g.data_points.iter().map(|p| (&p.attributes[..], 0))),
            Data::Sum(s) => warm(s.data_points.iter().map(|p| (&p.attributes[..], 0))),
            Data::Histogram(h) => warm(
                h.data_points
                    .iter()
                    .map(|p| (&p.attributes[..], ends(&p.bucket_counts, &p.explicit_bounds))),
            ),
            Data::ExponentialHistogram(h) => {
                warm(h.data_points.iter().map(|p| (&p.attributes[..], 0)))
            }
            Data::Summary(s) => warm(s.data_points.iter().map(|p| (&p.attributes[..], 0))),
        };
        std::hint::black_box(warmed);
        match data {
            Data::Gauge(g) => {
                for p in &g.data_points {
                    self.number_point(&ctx, p, false, point_mark);
                }
            }
            Data::Sum(s) => {
                for p in &s.data_points {
                    self.number_point(&ctx, p, s.is_monotonic, point_mark);
                }
            }
            Data::Histogram(h) => {
                for p in &h.data_points {
                    self.histogram_point(&ctx, p, point_mark);
                }
            }
            Data::ExponentialHistogram(h) => {
                for p in &h.data_points {
                    match self.conv.opts.exponential_histograms {
                        ExpHistogramMode::Native => self.exp_native_point(&ctx, p, point_mark),
                        ExpHistogramMode::Classic => self.exp_classic_point(&ctx, p, point_mark),
                    }
                }
            }
            Data::Summary(s) => {
                for p in &s.data_points {
                    self.summary_point(&ctx, p, point_mark);
                }
            }
        }
    }

    /// Common start of every point: timestamp check and labels. Returns the timestamp.
    fn begin_point(
        &mut self,
        ctx: &MetricCtx,
        attrs: &'a [KeyValue],
        time_ns: u64,
        mark: usize,
    ) -> Option<i64> {
        self.text.truncate(mark);
        if time_ns == 0 {
            self.report.add(&ctx.otlp_name, DropReason::MissingTimestamp, 1);
            return None;
        }
        if self.fast_flat(attrs) {
            #[cfg(debug_assertions)]
            {
                // Debug builds (the tests) check the fast way against the full one.
                let fast = self.flat.clone();
                self.slow_flat(attrs).expect("the fast way takes only valid attributes");
                assert!(fast == self.flat);
            }
            return Some(ms(time_ns));
        }
        if let Err(key) = self.slow_flat(attrs) {
            self.report.add(&ctx.otlp_name, DropReason::InvalidLabelName(key.to_string()), 1);
            return None;
        }
        Some(ms(time_ns))
    }

    /// The point's label ids straight from its attributes, when they have the keys of the
    /// current plan, in the same order, all with non-empty string values (the usual case
    /// within a metric): no label-name lookup, no merge, one lookup per attribute value.
    /// False, with `self.flat` undefined, when the point needs [`Self::slow_flat`].
    fn fast_flat(&mut self, attrs: &'a [KeyValue]) -> bool {
        let Some(Plan { raw_keys: Some(keys), template: Some(t), .. }) = &self.plan else {
            return false;
        };
        if keys.len() != attrs.len()
            || !attrs.iter().zip(keys).all(|(kv, k)| same_bytes(kv.key.as_bytes(), k.as_bytes()))
        {
            return false;
        }
        // The template's ids (and where the extra labels go among them) stay from point to
        // point while the plan does: only the values change.
        if !self.flat_is_template {
            self.flat.clear();
            self.flat.extend_from_slice(&t.ids);
            self.splices.clear();
            self.flat_is_template = true;
        }
        for &(at, _, i, name) in &t.values {
            let value = match &attrs[i as usize].value {
                Some(AnyValue { value: Some(any_value::Value::StringValue(v)) })
                    if !v.is_empty() =>
                {
                    v
                }
                _ => {
                    self.flat_is_template = false;
                    return false;
                }
            };
            self.flat[at as usize] = self.interner.label(name, value);
        }
        true
    }

    /// The point's label ids the full way: each attribute's label name, collisions merged,
    /// the scope base merged in. `Err` with the first key that gives no label name.
    fn slow_flat(&mut self, attrs: &'a [KeyValue]) -> Result<(), &'a str> {
        self.cands.clear();
        for kv in attrs {
            self.add_cand(kv, None)?;
        }
        if !self.apply_plan() {
            let cands: Vec<S<'a>> = self.cands.iter().map(|c| c.name).collect();
            let values: Vec<S<'a>> = self.cands.iter().map(|c| c.value).collect();
            let raw_keys = (self.cands.len() == attrs.len())
                .then(|| attrs.iter().map(|kv| kv.key.as_str()).collect());
            self.merge_cands();
            self.merge_point();
            self.record_plan(cands, &values, raw_keys);
        }
        self.build_flat();
        Ok(())
    }

    /// Builds `self.point` from the cached plan if this point's attribute names are the
    /// previous point's (the usual case within a metric); false if there is no such plan.
    fn apply_plan(&mut self) -> bool {
        let Some(plan) = &self.plan else { return false };
        if plan.names.len() != self.cands.len()
            || !plan.names.iter().zip(&self.cands).all(|(a, c)| same(*a, c.name))
        {
            return false;
        }
        self.point.clear();
        for slot in &plan.slots {
            self.point.push(match *slot {
                Slot::Base(j) => (self.scope_base[j].name, self.scope_base[j].value),
                Slot::Attr(i) => (self.cands[i].name, self.cands[i].value),
            });
        }
        true
    }

    /// Notes where each of `self.point`'s labels came from, so the next point with the same
    /// attribute names can skip sorting and merging. No plan when attribute names collided
    /// (their values were joined).
    fn record_plan(&mut self, names: Vec<S<'a>>, values: &[S<'a>], raw_keys: Option<Vec<&'a str>>) {
        let mut slots = Vec::with_capacity(self.point.len());
        for &(name, value) in &self.point {
            let slot = if let Some(j) =
                self.scope_base.iter().position(|b| same(b.name, name) && same(b.value, value))
            {
                Slot::Base(j)
            } else if let Some(i) =
                (0..names.len()).find(|&i| same(names[i], name) && same(values[i], value))
            {
                Slot::Attr(i)
            } else {
                self.plan = None;
                return;
            };
            slots.push(slot);
        }
        self.plan = Some(Plan { names, slots, template: None, raw_keys });
    }

    fn number_point(
        &mut self,
        ctx: &MetricCtx,
        p: &'a NumberDataPoint,
        counter: bool,
        mark: usize,
    ) {
        let Some(ts) = self.begin_point(ctx, &p.attributes, p.time_unix_nano, mark) else { return };
        let value = if is_stale_flag(p.flags) {
            stale()
        } else {
            match p.value {
                Some(number_data_point::Value::AsDouble(d)) => d,
                Some(number_data_point::Value::AsInt(i)) => i as f64,
                None => {
                    self.report.add(&ctx.otlp_name, DropReason::MissingValue, 1);
                    return;
                }
            }
        };
        let exemplars = if counter && !is_stale_flag(p.flags) {
            self.exemplars(&p.exemplars, ts)
        } else {
            self.report.exemplars_dropped += p.exemplars.len() as u64;
            Vec::new()
        };
        let st = if counter { start_ms(p.start_time_unix_nano, ts) } else { 0 };
        let labels = self.label_set(&[("__name__", ctx.name)]);
        self.push_series(
            labels,
            ctx.meta,
            Sample { value, timestamp_ms: ts, start_timestamp_ms: st },
            exemplars,
        );
    }

    /// Emits `_bucket{le}` series for `(le, cumulative count)` pairs plus `+Inf`, `_sum` and
    /// `_count`; exemplars go to the first bucket whose bound is at least their value.
    #[allow(clippy::too_many_arguments)]
    fn classic_series(
        &mut self,
        ctx: &MetricCtx,
        buckets: &[(f64, f64)],
        count: f64,
        sum: Option<f64>,
        ts: i64,
        st: i64,
        mut exemplars: Vec<Exemplar>,
    ) {
        let bucket_name = ctx.bucket;
        // No allocation per point when it has no exemplars (the usual case).
        let mut per_bucket: Vec<Vec<Exemplar>> = Vec::new();
        if !exemplars.is_empty() {
            per_bucket.resize_with(buckets.len() + 1, Vec::new);
            for e in exemplars.drain(..) {
                let i = buckets.iter().position(|(b, _)| e.value <= *b).unwrap_or(buckets.len());
                per_bucket[i].push(e);
            }
        }
        let mut per_bucket = per_bucket.into_iter();
        // The bounds are usually the same from point to point: format each once.
        let mut le_cache = std::mem::take(&mut self.le_cache);
        let mut le = String::new();
        for (i, &(bound, cumulative)) in buckets.iter().enumerate() {
            if le_cache.len() <= i {
                le_cache.push((!bound.to_bits(), 0));
            }
            let (bits, le_ref) = &mut le_cache[i];
            if *bits != bound.to_bits() {
                le.clear();
                format_bound(bound, &mut le);
                *le_ref = self.interner.label_str("le", &le);
                *bits = bound.to_bits();
            }
            let le_ref = *le_ref;
            let labels = self.label_set(&[("__name__", bucket_name), ("le", le_ref)]);
            let ex = per_bucket.next().unwrap_or_default();
            self.push_series(
                labels,
                ctx.meta,
                Sample { value: cumulative, timestamp_ms: ts, start_timestamp_ms: st },
                ex,
            );
        }
        self.le_cache = le_cache;
        let labels = self.label_set(&[("__name__", bucket_name), ("le", INF_LABEL)]);
        let ex = per_bucket.next().unwrap_or_default();
        self.push_series(
            labels,
            ctx.meta,
            Sample { value: count, timestamp_ms: ts, start_timestamp_ms: st },
            ex,
        );
        if let Some(sum) = sum {
            let labels = self.label_set(&[("__name__", ctx.sum)]);
            self.push_series(
                labels,
                ctx.meta,
                Sample { value: sum, timestamp_ms: ts, start_timestamp_ms: st },
                Vec::new(),
            );
        }
        let labels = self.label_set(&[("__name__", ctx.count)]);
        self.push_series(
            labels,
            ctx.meta,
            Sample { value: count, timestamp_ms: ts, start_timestamp_ms: st },
            Vec::new(),
        );
    }

    fn histogram_point(&mut self, ctx: &MetricCtx, p: &'a HistogramDataPoint, mark: usize) {
        let bounds = &p.explicit_bounds;
        let stale_point = is_stale_flag(p.flags);
        let valid_bounds =
            bounds.windows(2).all(|w| w[0] < w[1]) && !bounds.iter().any(|b| b.is_nan());
        let valid_counts = (p.bucket_counts.is_empty() && bounds.is_empty())
            || p.bucket_counts.len() == bounds.len() + 1;
        if !valid_bounds || (!stale_point && !valid_counts) {
            self.report.add(&ctx.otlp_name, DropReason::InvalidBuckets, 1);
            return;
        }
        let Some(ts) = self.begin_point(ctx, &p.attributes, p.time_unix_nano, mark) else { return };
        let st = start_ms(p.start_time_unix_nano, ts);
        let mut buckets = std::mem::take(&mut self.buckets);
        buckets.clear();
        if stale_point {
            // Every bucket series gets the marker, even when a stale point carries no counts.
            buckets.extend(bounds.iter().filter(|b| **b != f64::INFINITY).map(|&b| (b, stale())));
            self.report.exemplars_dropped += p.exemplars.len() as u64;
            self.classic_series(ctx, &buckets, stale(), p.sum.map(|_| stale()), ts, st, Vec::new());
        } else {
            let mut cumulative: u64 = 0;
            for (&b, &c) in bounds.iter().zip(&p.bucket_counts) {
                cumulative = cumulative.wrapping_add(c);
                if b != f64::INFINITY {
                    buckets.push((b, cumulative as f64));
                }
            }
            let exemplars = self.exemplars(&p.exemplars, ts);
            self.classic_series(ctx, &buckets, p.count as f64, p.sum, ts, st, exemplars);
        }
        self.buckets = buckets;
    }

    fn summary_point(&mut self, ctx: &MetricCtx, p: &'a SummaryDataPoint, mark: usize) {
        let Some(ts) = self.begin_point(ctx, &p.attributes, p.time_unix_nano, mark) else { return };
        let stale_point = is_stale_flag(p.flags);
        let v = |x: f64| if stale_point { stale() } else { x };
        let st = start_ms(p.start_time_unix_nano, ts);
        let mut q = String::new();
        for qv in &p.quantile_values {
            q.clear();
            format_bound(qv.quantile, &mut q);
            let q_ref = self.interner.label_str("quantile", &q);
            let labels = self.label_set(&[("__name__", ctx.name), ("quantile", q_ref)]);
            self.push_series(
                labels,
                ctx.meta,
                Sample { value: v(qv.value), timestamp_ms: ts, start_timestamp_ms: 0 },
                Vec::new(),
            );
        }
        let labels = self.label_set(&[("__name__", ctx.sum)]);
        self.push_series(
            labels,
            ctx.meta,
            Sample { value: v(p.sum), timestamp_ms: ts, start_timestamp_ms: st },
            Vec::new(),
        );
        let labels = self.label_set(&[("__name__", ctx.count)]);
        self.push_series(
            labels,
            ctx.meta,
            Sample { value: v(p.count as f64), timestamp_ms: ts, start_timestamp_ms: st },
            Vec::new(),
        );
    }

    fn exp_native_point(
        &mut self,
        ctx: &MetricCtx,
        p: &'a ExponentialHistogramDataPoint,
        mark: usize,
    ) {
        if p.scale < SCHEMA_MIN {
            self.report.add(&ctx.otlp_name, DropReason::ScaleTooSmall(p.scale), 1);
            return;
        }
        let (schema, scale_down) =
            if p.scale > SCHEMA_MAX { (SCHEMA_MAX, p.scale - SCHEMA_MAX) } else { (p.scale, 0) };
        let zero_threshold = if p.zero_threshold > 0.0 && p.zero_threshold.is_finite() {
            p.zero_threshold
        } else {
            DEFAULT_ZERO_THRESHOLD
        };
        let stale_point = is_stale_flag(p.flags);
        let mut h = NativeHistogram { schema, zero_threshold, ..Default::default() };
        if stale_point {
            // The specification's stale native histogram: sum = stale NaN, count 0, no buckets.
            h.sum = stale();
        } else {
            let Some(sum) = p.sum else {
                self.report.add(&ctx.otlp_name, DropReason::MissingSum, 1);
                return;
            };
            let layout = |b: &Option<
                prw_proto::otlp::metrics::exponential_histogram_data_point::Buckets,
            >| match b {
                Some(b) => buckets_layout(&b.bucket_counts, b.offset, scale_down),
                None => Some((Vec::new(), Vec::new())),
            };
            let (Some((ps, pd)), Some((ns, nd))) = (layout(&p.positive), layout(&p.negative))
            else {
                self.report.add(&ctx.otlp_name, DropReason::BucketIndexOutOfRange, 1);
                return;
            };
            h.sum = sum;
            h.count = p.count;
            h.zero_count = p.zero_count;
            h.positive_spans = ps;
            h.positive_deltas = pd;
            h.negative_spans = ns;
            h.negative_deltas = nd;
        }
        let Some(ts) = self.begin_point(ctx, &p.attributes, p.time_unix_nano, mark) else { return };
        h.timestamp_ms = ts;
        h.start_timestamp_ms = start_ms(p.start_time_unix_nano, ts);
        let exemplars = if stale_point {
            self.report.exemplars_dropped += p.exemplars.len() as u64;
            Vec::new()
        } else {
            self.exemplars(&p.exemplars, ts)
        };
        let mut labels = self.label_set(&[("__name__", ctx.name)]);
        labels.meta = ctx.meta;
        self.resource_max_ts = self.resource_max_ts.max(ts);
        self.series.push(Series { labels, samples: Points::Empty, histograms: vec![h], exemplars });
    }

    fn exp_classic_point(
        &mut self,
        ctx: &MetricCtx,
        p: &'a ExponentialHistogramDataPoint,
        mark: usize,
    ) {
        let Some(ts) = self.begin_point(ctx, &p.attributes, p.time_unix_nano, mark) else { return };
        let stale_point = is_stale_flag(p.flags);
        let st = start_ms(p.start_time_unix_nano, ts);
        let mut buckets: Vec<(f64, f64)> = Vec::new();
        let mut cumulative: u64 = 0;
        let mut push = |le: f64, add: u64, buckets: &mut Vec<(f64, f64)>| {
            cumulative = cumulative.wrapping_add(add);
            let value = if stale_point { stale() } else { cumulative as f64 };
            match buckets.last_mut() {
                // Bounds that are not above the previous one (underflow, overflow) merge into it.
                Some(last) if le <= last.0 => last.1 = value,
                _ if !le.is_finite() => {}
                _ => buckets.push((le, value)),
            }
        };
        if let Some(neg) = &p.negative {
            // Most negative first: bucket i covers [-base^(i+1), -base^i).
            for (k, &c) in neg.bucket_counts.iter().enumerate().rev() {
                let index = i64::from(neg.offset) + k as i64;
                push(-exp_upper_bound(index - 1, p.scale), c, &mut buckets);
            }
        }
        push(p.zero_threshold.max(0.0), p.zero_count, &mut buckets);
        if let Some(pos) = &p.positive {
            for (k, &c) in pos.bucket_counts.iter().enumerate() {
                let index = i64::from(pos.offset) + k as i64;
                push(exp_upper_bound(index, p.scale), c, &mut buckets);
            }
        }
        let count = if stale_point { stale() } else { p.count as f64 };
        let sum = p.sum.map(|s| if stale_point { stale() } else { s });
        let exemplars = if stale_point {
            self.report.exemplars_dropped += p.exemplars.len() as u64;
            Vec::new()
        } else {
            self.exemplars(&p.exemplars, ts)
        };
        self.classic_series(ctx, &buckets, count, sum, ts, st, exemplars);
    }

    fn exemplars(
        &mut self,
        exs: &[prw_proto::otlp::metrics::Exemplar],
        point_ts: i64,
    ) -> Vec<Exemplar> {
        let mut out = Vec::with_capacity(exs.len());
        for e in exs {
            let value = match e.value {
                Some(exemplar::Value::AsDouble(d)) => d,
                Some(exemplar::Value::AsInt(i)) => i as f64,
                None => {
                    self.report.exemplars_dropped += 1;
                    continue;
                }
            };
            let mut ids: Vec<(String, String)> = Vec::with_capacity(2);
            let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
            if e.span_id.len() == 8 && e.span_id.iter().any(|&b| b != 0) {
                ids.push(("span_id".into(), hex(&e.span_id)));
            }
            if e.trace_id.len() == 16 && e.trace_id.iter().any(|&b| b != 0) {
                ids.push(("trace_id".into(), hex(&e.trace_id)));
            }
            let mut attrs: Vec<(String, String, &str)> = Vec::new();
            for kv in &e.filtered_attributes {
                let Some(name) = naming::label_name(&kv.key, self.conv.escape) else { continue };
                let value = kv.value.as_ref().map(any_value_string).unwrap_or_default();
                if value.is_empty() || name == "trace_id" || name == "span_id" {
                    continue;
                }
                attrs.push((name.into_owned(), value, &kv.key));
            }
            attrs.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.2.cmp(b.2)));
            let mut merged: Vec<(String, String)> = Vec::with_capacity(attrs.len());
            for (name, value, _) in attrs {
                match merged.last_mut() {
                    Some(last) if last.0 == name => {
                        if !last.1.split(';').any(|p| p == value) {
                            last.1.push(';');
                            last.1.push_str(&value);
                        }
                    }
                    _ => merged.push((name, value)),
                }
            }
            let runes = |v: &[(String, String)]| {
                v.iter().map(|(k, v)| k.chars().count() + v.chars().count()).sum::<usize>()
            };
            let mut labels = ids;
            if runes(&labels) + runes(&merged) <= EXEMPLAR_MAX_RUNES {
                labels.extend(merged);
                labels.sort();
            }
            let timestamp_ms = if e.time_unix_nano == 0 { point_ts } else { ms(e.time_unix_nano) };
            out.push(Exemplar { labels, value, timestamp_ms });
        }
        out
    }

    fn finish(mut self) -> Conversion {
        // Every label is ranked once, then each metric's series are sorted by their labels'
        // ranks (while the chunk's label ids are in cache), the metrics put in order, the
        // series moved into place in one pass, and equal ones merged in another.
        let table = std::mem::take(&mut self.interner).into_table();
        let refs = std::mem::take(&mut self.refs);
        // The ranks kept up to date while converting cover every label unless some metric
        // had too many to rank then.
        let rank: &[u32] = if self.running_ranks.rank.len() == table.len() {
            &self.running_ranks.rank
        } else {
            self.ranks.rank_all(&table);
            &self.ranks.rank
        };
        let store = Arc::new(LabelStore { table, refs, metadata: self.metadata.clone() });
        let mut out = std::mem::take(&mut self.series);
        let set = |l: &LabelSet| l.ids_in(&store.refs);
        let mut chunks: Vec<(usize, Vec<u32>)> = Vec::with_capacity(self.chunk_ends.len() + 1);
        let mut start = 0;
        let len = out.len();
        let marks = std::mem::take(&mut self.chunk_ends);
        for (end, sorted) in marks.into_iter().chain(std::iter::once((len, None))) {
            // Clamped, so that the chunks cover every series once whatever the marks say.
            let end = end.clamp(start, len);
            let Some(chunk) = out.get_mut(start..end).filter(|c| !c.is_empty()) else { continue };
            let order = match sorted.filter(|o| o.len() == chunk.len()) {
                Some(order) => {
                    for s in chunk.iter_mut() {
                        s.labels.store = Some(Arc::clone(&store));
                    }
                    order
                }
                None => sorted_with_ties(rank, chunk, &store),
            };
            chunks.push((start, order));
            start = end;
        }
        // Each chunk's first and last label set (one entry per chunk: `chunk_order` gives
        // indices into `chunks`).
        let ends: Vec<(&[u32], &[u32])> = chunks
            .iter()
            .map(|(at, o)| {
                let set_at = |k: Option<&u32>| {
                    k.and_then(|k| out.get(at + (k & !(TIE | NORMALIZE)) as usize))
                        .map_or(&[][..], |s| set(&s.labels))
                };
                (set_at(o.first()), set_at(o.last()))
            })
            .collect();
        let order: Vec<u32> = match crate::sort::chunk_order(rank, &ends) {
            Some(chunk_order) => {
                drop(ends);
                let mut order = Vec::with_capacity(out.len());
                for c in chunk_order {
                    if let Some((at, o)) = chunks.get(c) {
                        order.extend(o.iter().map(|&k| k + *at as u32));
                    }
                }
                order
            }
            None => {
                // Chunks overlap: all series at once (they are in input order, so equal label
                // sets stay in input order).
                drop(ends);
                sorted_with_ties(rank, &mut out, &store)
            }
        };
        drop(chunks);
        debug_assert_eq!(order.len(), out.len());
        crate::sort::permute(&mut out, order.iter().map(|&k| k & !(TIE | NORMALIZE)));
        // Merge each marked series into the one before, and finish the series that hold more
        // than one point; the others (most) are not read again.
        let mut kept = 0;
        let mut unfinished = false;
        for (i, &k) in order.iter().enumerate() {
            if k & TIE != 0 && kept > 0 {
                let (done, rest) = out.split_at_mut(i);
                if let (Some(earlier), Some(later)) = (done.get_mut(kept - 1), rest.first_mut()) {
                    merge_into(earlier, later, &mut self.report);
                    unfinished = true;
                    continue;
                }
            }
            if unfinished {
                if let Some(earlier) = out.get_mut(kept - 1) {
                    finish_series(earlier, &mut self.report);
                }
            }
            unfinished = k & NORMALIZE != 0;
            if kept != i {
                out.swap(kept, i);
            }
            kept += 1;
        }
        out.truncate(kept);
        if unfinished {
            if let Some(last) = out.last_mut() {
                finish_series(last, &mut self.report);
            }
        }
        #[cfg(debug_assertions)]
        {
            // Debug builds (the tests) check the order against the comparison of the strings.
            fn text(s: &Series) -> Vec<(&[u8], &[u8])> {
                s.labels().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect()
            }
            assert!(out.windows(2).all(|w| text(&w[0]) < text(&w[1])));
        }
        let mut metadata: Vec<Metadata> = self.metadata.iter().map(|m| (**m).clone()).collect();
        metadata.sort();
        metadata.dedup_by(|later, earlier| later.metric_family_name == earlier.metric_family_name);
        self.report.finish();
        Conversion { series: out, metadata, report: self.report }
    }
}

/// Rewrites the label ids of `chunk` (one metric's series, just sorted) in `refs` in the
/// series' order, when they are the last ids in `refs` (as the converter writes them): the
/// encoders then read each metric's ids front to back instead of from all over. `scratch` is
/// a buffer kept for its allocation.
fn lay_out_ids(chunk: &mut [Series], refs: &mut [u32], scratch: &mut Vec<u32>) {
    let Some(from) = chunk.iter().map(|s| s.labels.start).min() else { return };
    let total: usize = chunk.iter().map(|s| s.labels.n as usize).sum();
    if from.checked_add(total) != Some(refs.len()) {
        return;
    }
    scratch.clear();
    for s in chunk.iter() {
        scratch.extend_from_slice(s.labels.ids_in(refs));
    }
    // A set not in `refs` came out empty: then the lengths differ and nothing moves.
    let Some(region) = refs.get_mut(from..).filter(|r| r.len() == scratch.len()) else { return };
    region.copy_from_slice(scratch);
    let mut at = from;
    for s in chunk.iter_mut() {
        s.labels.start = at;
        at += s.labels.n as usize;
    }
}

/// Marks an entry of [`sorted_with_ties`]' order whose series has the labels of the one before.
/// (Indices stay far below the two flag bits: a series takes over 100 bytes.)
const TIE: u32 = 1 << 31;
/// Marks an entry of [`sorted_with_ties`]' order whose series holds more than one point.
const NORMALIZE: u32 = 1 << 30;

/// The order of `series` by labels, as indices into it, equal label sets in input order; an
/// index has [`TIE`] set when its series has the labels of the previous one (to be merged),
/// and [`NORMALIZE`] when its series holds more than one point (to be put in time order).
/// Also gives each series the store: that takes an atomic increment, cheapest while the
/// series are in cache.
fn sorted_with_ties(rank: &[u32], series: &mut [Series], store: &Arc<LabelStore>) -> Vec<u32> {
    let mut sets: Vec<&[u32]> = Vec::with_capacity(series.len());
    for s in series.iter_mut() {
        let l = &mut s.labels;
        sets.push(l.ids_in(&store.refs));
        l.store = Some(Arc::clone(store));
    }
    flagged_order(rank, &sets, series)
}

/// The order of `sets` (the label sets of `series`) with the marks of [`sorted_with_ties`].
fn flagged_order(rank: &[u32], sets: &[&[u32]], series: &[Series]) -> Vec<u32> {
    let mut order = crate::sort::order_by_ranks(rank, sets);
    for k in 1..order.len() {
        let (a, b) = (sets[(order[k - 1] & !TIE) as usize], sets[order[k] as usize]);
        // From the end: neighbours mostly differ in their last labels.
        if a.len() == b.len() && a.iter().rev().zip(b.iter().rev()).all(|(x, y)| x == y) {
            order[k] |= TIE;
        }
    }
    let several =
        |s: &Series| s.samples.len() > 1 || s.histograms.len() > 1 || s.exemplars.len() > 1;
    if series.iter().any(several) {
        for k in order.iter_mut() {
            if series.get((*k & !TIE) as usize).is_some_and(several) {
                *k |= NORMALIZE;
            }
        }
    }
    order
}

/// Merges `later` into `earlier` (the same labels; `later` came later in the input): samples,
/// histograms and exemplars appended in order. A series whose kind (samples or histograms)
/// conflicts with the earlier one is dropped.
fn merge_into(earlier: &mut Series, later: &mut Series, report: &mut Report) {
    if (earlier.samples.is_empty() && !later.samples.is_empty())
        || (earlier.histograms.is_empty() && !later.histograms.is_empty())
    {
        let n = later.samples.len() + later.histograms.len();
        report.add(earlier.name(), DropReason::ConflictingSeriesType, n as u64);
        return;
    }
    earlier.samples.append(std::mem::take(&mut later.samples));
    earlier.histograms.append(&mut later.histograms);
    earlier.exemplars.append(&mut later.exemplars);
}

/// Puts a series' points in time order ([`normalize_series`]) and reports what that drops.
#[inline]
fn finish_series(s: &mut Series, report: &mut Report) {
    // Most series have one point.
    if s.samples.len() < 2 && s.histograms.len() < 2 && s.exemplars.len() < 2 {
        return;
    }
    let dups = normalize_series(s);
    if dups > 0 {
        report.add(s.name(), DropReason::DuplicateTimestamp, dups);
    }
}

/// Sorts samples, histograms and exemplars by time; of points with the same timestamp keeps
/// the last. Returns how many points with a different value were dropped that way.
fn normalize_series(s: &mut Series) -> u64 {
    let mut dropped = 0;
    if s.samples.len() > 1 {
        let mut samples = std::mem::take(&mut s.samples).into_vec();
        samples.sort_by_key(|x| x.timestamp_ms);
        let mut kept: Vec<Sample> = Vec::with_capacity(samples.len());
        for x in samples.drain(..) {
            match kept.last_mut() {
                Some(last) if last.timestamp_ms == x.timestamp_ms => {
                    if last.value.to_bits() != x.value.to_bits() {
                        dropped += 1;
                    }
                    *last = x;
                }
                _ => kept.push(x),
            }
        }
        s.samples = kept.into();
    }
    if s.histograms.len() > 1 {
        s.histograms.sort_by_key(|x| x.timestamp_ms);
        let mut kept: Vec<NativeHistogram> = Vec::with_capacity(s.histograms.len());
        for x in s.histograms.drain(..) {
            match kept.last_mut() {
                Some(last) if last.timestamp_ms == x.timestamp_ms => {
                    let same = last.sum.to_bits() == x.sum.to_bits()
                        && NativeHistogram { sum: 0.0, ..last.clone() }
                            == NativeHistogram { sum: 0.0, ..x.clone() };
                    if !same {
                        dropped += 1;
                    }
                    *last = x;
                }
                _ => kept.push(x),
            }
        }
        s.histograms = kept;
    }
    if s.exemplars.len() > 1 {
        s.exemplars.sort_by(|a, b| {
            a.timestamp_ms
                .cmp(&b.timestamp_ms)
                .then_with(|| a.labels.cmp(&b.labels))
                .then_with(|| a.value.total_cmp(&b.value))
        });
        s.exemplars.dedup_by(|a, b| {
            a.timestamp_ms == b.timestamp_ms
                && a.labels == b.labels
                && a.value.to_bits() == b.value.to_bits()
        });
    }
    dropped
}
