//! Delta to cumulative temporality: an explicit, stateful helper (no I/O).

use std::collections::HashMap;

use prw_proto::otlp::common::KeyValue;
use prw_proto::otlp::metrics::exponential_histogram_data_point::Buckets;
use prw_proto::otlp::metrics::{
    AggregationTemporality, ExponentialHistogramDataPoint, HistogramDataPoint, NumberDataPoint,
    ResourceMetrics, metric::Data, number_data_point,
};
use prw_proto::prost::Message;

/// What one [`DeltaToCumulative::apply`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeltaStats {
    /// Delta points turned into cumulative ones.
    pub converted: u64,
    /// Points removed because they were not newer than the stream's last point (out of order
    /// or repeated).
    pub dropped_out_of_order: u64,
    /// Points removed because a new stream would exceed the stream limit.
    pub dropped_stream_limit: u64,
}

#[derive(Debug, Clone)]
enum Acc {
    Int(i64),
    Double(f64),
    Histogram {
        bounds: Vec<f64>,
        counts: Vec<u64>,
        count: u64,
        sum: Option<f64>,
        min: Option<f64>,
        max: Option<f64>,
    },
    Exp(Box<ExpAcc>),
}

#[derive(Debug, Clone)]
struct ExpAcc {
    scale: i32,
    count: u64,
    sum: Option<f64>,
    zero_count: u64,
    zero_threshold: f64,
    positive: (i32, Vec<u64>),
    negative: (i32, Vec<u64>),
    min: Option<f64>,
    max: Option<f64>,
}

#[derive(Debug, Clone)]
struct Stream {
    start: u64,
    last: u64,
    acc: Acc,
}

/// Turns delta sums, histograms and exponential histograms into cumulative ones by adding up
/// each stream's points, so they can be sent to Prometheus.
///
/// A stream is one metric (resource, scope, name, unit, type) with one attribute set. Its
/// cumulative start time is the start of its first delta point. Points not newer than the
/// stream's last point are removed (they would double count). A stale point
/// (`NoRecordedValue`) passes through and ends its stream. Cumulative data is left alone.
///
/// State grows with the number of streams: [`DeltaToCumulative::with_max_streams`] bounds it,
/// and [`DeltaToCumulative::forget_older_than`] drops streams that stopped.
///
/// ```
/// use prw_convert::DeltaToCumulative;
/// use prw_proto::otlp::metrics::{
///     AggregationTemporality, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
///     metric::Data, number_data_point::Value,
/// };
///
/// let batch = |start: u64, end: u64, v: i64| vec![ResourceMetrics {
///     scope_metrics: vec![ScopeMetrics {
///         metrics: vec![Metric {
///             name: "requests".into(),
///             data: Some(Data::Sum(Sum {
///                 data_points: vec![NumberDataPoint {
///                     start_time_unix_nano: start,
///                     time_unix_nano: end,
///                     value: Some(Value::AsInt(v)),
///                     ..Default::default()
///                 }],
///                 aggregation_temporality: AggregationTemporality::Delta as i32,
///                 is_monotonic: true,
///             })),
///             ..Default::default()
///         }],
///         ..Default::default()
///     }],
///     ..Default::default()
/// }];
/// let mut d2c = DeltaToCumulative::new();
/// let mut first = batch(10, 20, 5);
/// d2c.apply(&mut first);
/// let mut second = batch(20, 30, 3);
/// d2c.apply(&mut second);
/// let Some(Data::Sum(sum)) = &second[0].scope_metrics[0].metrics[0].data else { unreachable!() };
/// assert_eq!(sum.aggregation_temporality, AggregationTemporality::Cumulative as i32);
/// assert_eq!(sum.data_points[0].value, Some(Value::AsInt(8)));
/// assert_eq!(sum.data_points[0].start_time_unix_nano, 10);
/// ```
#[derive(Debug, Clone)]
pub struct DeltaToCumulative {
    streams: HashMap<Vec<u8>, Stream>,
    max_streams: usize,
}

impl Default for DeltaToCumulative {
    fn default() -> Self {
        Self::new()
    }
}

fn put_bytes(key: &mut Vec<u8>, b: &[u8]) {
    key.extend_from_slice(&(b.len() as u64).to_le_bytes());
    key.extend_from_slice(b);
}

fn put_attrs(key: &mut Vec<u8>, attrs: &[KeyValue]) {
    let mut sorted: Vec<&KeyValue> = attrs.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    key.extend_from_slice(&(sorted.len() as u64).to_le_bytes());
    for kv in sorted {
        put_bytes(key, kv.key.as_bytes());
        put_bytes(key, &kv.value.as_ref().map(Message::encode_to_vec).unwrap_or_default());
    }
}

/// `counts` at index offset `off`, scaled down by `by` (2^by buckets merged).
fn downscale(off: i32, counts: &[u64], by: i32) -> (i32, Vec<u64>) {
    if by <= 0 || counts.is_empty() {
        return (off, counts.to_vec());
    }
    let shift = |i: i64| if by >= 63 { if i < 0 { -1 } else { 0 } } else { i >> by };
    let first = shift(i64::from(off));
    let mut out: Vec<u64> = Vec::new();
    for (k, &c) in counts.iter().enumerate() {
        let idx = (shift(i64::from(off) + k as i64) - first) as usize;
        if out.len() <= idx {
            out.resize(idx + 1, 0);
        }
        out[idx] = out[idx].wrapping_add(c);
    }
    (i32::try_from(first).unwrap_or(i32::MIN), out)
}

/// Adds two dense bucket ranges at the same scale.
fn add_buckets(a: &(i32, Vec<u64>), b: &(i32, Vec<u64>)) -> (i32, Vec<u64>) {
    if a.1.is_empty() {
        return b.clone();
    }
    if b.1.is_empty() {
        return a.clone();
    }
    let start = a.0.min(b.0);
    let end = (i64::from(a.0) + a.1.len() as i64).max(i64::from(b.0) + b.1.len() as i64);
    let mut out = vec![0u64; (end - i64::from(start)) as usize];
    for (off, counts) in [a, b] {
        let base = (i64::from(*off) - i64::from(start)) as usize;
        for (k, &c) in counts.iter().enumerate() {
            out[base + k] = out[base + k].wrapping_add(c);
        }
    }
    (start, out)
}

fn opt_min(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) | (None, x) => x,
    }
}

fn opt_max(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) | (None, x) => x,
    }
}

/// How far apart two exponential bucket ranges may be before merging them would allocate
/// absurdly; beyond this the stream restarts instead.
const MAX_EXP_BUCKETS: i64 = 1 << 16;

impl DeltaToCumulative {
    /// A converter with the default limit of 100,000 streams.
    pub fn new() -> Self {
        Self { streams: HashMap::new(), max_streams: 100_000 }
    }

    /// Sets the stream limit; points of new streams beyond it are removed and counted.
    pub fn with_max_streams(mut self, max_streams: usize) -> Self {
        self.max_streams = max_streams;
        self
    }

    /// Number of streams held.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Whether no stream is held.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Forgets streams whose last point is older than `time_unix_nano`; returns how many.
    /// A forgotten stream that comes back starts a new cumulative series.
    pub fn forget_older_than(&mut self, time_unix_nano: u64) -> usize {
        let before = self.streams.len();
        self.streams.retain(|_, s| s.last >= time_unix_nano);
        before - self.streams.len()
    }

    /// Rewrites every delta sum, histogram and exponential histogram in `metrics` as
    /// cumulative, in place.
    pub fn apply(&mut self, metrics: &mut [ResourceMetrics]) -> DeltaStats {
        let mut stats = DeltaStats::default();
        let mut key = Vec::with_capacity(256);
        for rm in metrics {
            let mut resource_key = Vec::new();
            put_attrs(&mut resource_key, rm.resource.as_ref().map_or(&[][..], |r| &r.attributes));
            for sm in &mut rm.scope_metrics {
                let mut scope_key = resource_key.clone();
                if let Some(scope) = &sm.scope {
                    put_bytes(&mut scope_key, scope.name.as_bytes());
                    put_bytes(&mut scope_key, scope.version.as_bytes());
                    put_attrs(&mut scope_key, &scope.attributes);
                } else {
                    put_bytes(&mut scope_key, b"");
                }
                for m in &mut sm.metrics {
                    let mut metric_key = scope_key.clone();
                    put_bytes(&mut metric_key, m.name.as_bytes());
                    put_bytes(&mut metric_key, m.unit.as_bytes());
                    let delta = AggregationTemporality::Delta as i32;
                    match &mut m.data {
                        Some(Data::Sum(s)) if s.aggregation_temporality == delta => {
                            metric_key.push(if s.is_monotonic { 1 } else { 2 });
                            s.data_points.retain_mut(|p| {
                                key.clear();
                                key.extend_from_slice(&metric_key);
                                put_attrs(&mut key, &p.attributes);
                                self.sum_point(&key, p, &mut stats)
                            });
                            s.aggregation_temporality = AggregationTemporality::Cumulative as i32;
                        }
                        Some(Data::Histogram(h)) if h.aggregation_temporality == delta => {
                            metric_key.push(3);
                            h.data_points.retain_mut(|p| {
                                key.clear();
                                key.extend_from_slice(&metric_key);
                                put_attrs(&mut key, &p.attributes);
                                self.histogram_point(&key, p, &mut stats)
                            });
                            h.aggregation_temporality = AggregationTemporality::Cumulative as i32;
                        }
                        Some(Data::ExponentialHistogram(h))
                            if h.aggregation_temporality == delta =>
                        {
                            metric_key.push(4);
                            h.data_points.retain_mut(|p| {
                                key.clear();
                                key.extend_from_slice(&metric_key);
                                put_attrs(&mut key, &p.attributes);
                                self.exp_point(&key, p, &mut stats)
                            });
                            h.aggregation_temporality = AggregationTemporality::Cumulative as i32;
                        }
                        _ => {}
                    }
                }
            }
        }
        stats
    }

    /// Looks up the stream; `None` (point removed) if it is out of order or over the limit.
    /// `fresh` is called for a new stream, `add` to accumulate; both return the new state.
    fn step(
        &mut self,
        key: &[u8],
        start: u64,
        time: u64,
        stale: bool,
        stats: &mut DeltaStats,
        add: impl Fn(Option<&Acc>) -> Option<Acc>,
    ) -> Option<(u64, Acc)> {
        let existing = self.streams.get(key);
        if let Some(s) = existing {
            if time <= s.last {
                stats.dropped_out_of_order += 1;
                return None;
            }
        } else if self.streams.len() >= self.max_streams {
            stats.dropped_stream_limit += 1;
            return None;
        }
        let prev = existing.map(|s| (s.start, &s.acc));
        let (stream_start, acc) = match prev.and_then(|(st, acc)| add(Some(acc)).map(|a| (st, a))) {
            Some(x) => x,
            // New stream, or one that cannot continue (bounds changed): start over.
            None => (if start == 0 { time } else { start }, add(None)?),
        };
        if stale {
            self.streams.remove(key);
        } else {
            self.streams
                .insert(key.to_vec(), Stream { start: stream_start, last: time, acc: acc.clone() });
        }
        stats.converted += 1;
        Some((stream_start, acc))
    }

    fn sum_point(&mut self, key: &[u8], p: &mut NumberDataPoint, stats: &mut DeltaStats) -> bool {
        let stale = p.flags & 1 != 0;
        let value = p.value;
        let Some((start, acc)) =
            self.step(key, p.start_time_unix_nano, p.time_unix_nano, stale, stats, |prev| {
                Some(match (prev, value) {
                    (Some(Acc::Int(a)), Some(number_data_point::Value::AsInt(b))) => {
                        Acc::Int(a.wrapping_add(b))
                    }
                    (Some(Acc::Int(a)), Some(number_data_point::Value::AsDouble(b))) => {
                        Acc::Double(*a as f64 + b)
                    }
                    (Some(Acc::Double(a)), Some(number_data_point::Value::AsInt(b))) => {
                        Acc::Double(a + b as f64)
                    }
                    (Some(Acc::Double(a)), Some(number_data_point::Value::AsDouble(b))) => {
                        Acc::Double(a + b)
                    }
                    (Some(a @ (Acc::Int(_) | Acc::Double(_))), None) => a.clone(),
                    (Some(_), _) => return None,
                    (None, Some(number_data_point::Value::AsInt(b))) => Acc::Int(b),
                    (None, Some(number_data_point::Value::AsDouble(b))) => Acc::Double(b),
                    (None, None) => Acc::Int(0),
                })
            })
        else {
            return false;
        };
        p.start_time_unix_nano = start;
        if !stale {
            p.value = match acc {
                Acc::Int(v) => Some(number_data_point::Value::AsInt(v)),
                Acc::Double(v) => Some(number_data_point::Value::AsDouble(v)),
                _ => p.value,
            };
        }
        true
    }

    fn histogram_point(
        &mut self,
        key: &[u8],
        p: &mut HistogramDataPoint,
        stats: &mut DeltaStats,
    ) -> bool {
        let stale = p.flags & 1 != 0;
        let incoming = Acc::Histogram {
            bounds: p.explicit_bounds.clone(),
            counts: p.bucket_counts.clone(),
            count: p.count,
            sum: p.sum,
            min: p.min,
            max: p.max,
        };
        let Some((start, acc)) =
            self.step(key, p.start_time_unix_nano, p.time_unix_nano, stale, stats, |prev| {
                match (prev, &incoming) {
                    (None, _) => Some(incoming.clone()),
                    (
                        Some(Acc::Histogram { bounds, counts, count, sum, min, max }),
                        Acc::Histogram {
                            bounds: b2,
                            counts: c2,
                            count: n2,
                            sum: s2,
                            min: mi2,
                            max: ma2,
                        },
                    ) if bounds == b2 && counts.len() == c2.len() => Some(Acc::Histogram {
                        bounds: bounds.clone(),
                        counts: counts.iter().zip(c2).map(|(a, b)| a.wrapping_add(*b)).collect(),
                        count: count.wrapping_add(*n2),
                        sum: match (sum, s2) {
                            (Some(a), Some(b)) => Some(a + b),
                            _ => None,
                        },
                        min: opt_min(*min, *mi2),
                        max: opt_max(*max, *ma2),
                    }),
                    _ => None,
                }
            })
        else {
            return false;
        };
        p.start_time_unix_nano = start;
        if let (false, Acc::Histogram { bounds, counts, count, sum, min, max }) = (stale, acc) {
            p.explicit_bounds = bounds;
            p.bucket_counts = counts;
            p.count = count;
            p.sum = sum;
            p.min = min;
            p.max = max;
        }
        true
    }

    fn exp_point(
        &mut self,
        key: &[u8],
        p: &mut ExponentialHistogramDataPoint,
        stats: &mut DeltaStats,
    ) -> bool {
        let stale = p.flags & 1 != 0;
        let buckets = |b: &Option<Buckets>| {
            b.as_ref().map_or((0, Vec::new()), |b| (b.offset, b.bucket_counts.clone()))
        };
        let incoming = ExpAcc {
            scale: p.scale,
            count: p.count,
            sum: p.sum,
            zero_count: p.zero_count,
            zero_threshold: p.zero_threshold,
            positive: buckets(&p.positive),
            negative: buckets(&p.negative),
            min: p.min,
            max: p.max,
        };
        let Some((start, acc)) =
            self.step(key, p.start_time_unix_nano, p.time_unix_nano, stale, stats, |prev| {
                let a = match prev {
                    None => return Some(Acc::Exp(Box::new(incoming.clone()))),
                    Some(Acc::Exp(a)) => a,
                    Some(_) => return None,
                };
                let b = &incoming;
                let scale = a.scale.min(b.scale);
                let down = |x: &(i32, Vec<u64>), from: i32| {
                    downscale(x.0, &x.1, from.saturating_sub(scale))
                };
                let merge = |x: &(i32, Vec<u64>), y: &(i32, Vec<u64>)| {
                    let (x, y) = (down(x, a.scale), down(y, b.scale));
                    let lo = i64::from(x.0.min(y.0));
                    let hi =
                        (i64::from(x.0) + x.1.len() as i64).max(i64::from(y.0) + y.1.len() as i64);
                    (hi - lo <= MAX_EXP_BUCKETS).then(|| add_buckets(&x, &y))
                };
                let positive = merge(&a.positive, &b.positive)?;
                let negative = merge(&a.negative, &b.negative)?;
                Some(Acc::Exp(Box::new(ExpAcc {
                    scale,
                    count: a.count.wrapping_add(b.count),
                    sum: match (a.sum, b.sum) {
                        (Some(x), Some(y)) => Some(x + y),
                        _ => None,
                    },
                    zero_count: a.zero_count.wrapping_add(b.zero_count),
                    zero_threshold: a.zero_threshold.max(b.zero_threshold),
                    positive,
                    negative,
                    min: opt_min(a.min, b.min),
                    max: opt_max(a.max, b.max),
                })))
            })
        else {
            return false;
        };
        p.start_time_unix_nano = start;
        if let (false, Acc::Exp(a)) = (stale, acc) {
            p.scale = a.scale;
            p.count = a.count;
            p.sum = a.sum;
            p.zero_count = a.zero_count;
            p.zero_threshold = a.zero_threshold;
            p.positive = Some(Buckets { offset: a.positive.0, bucket_counts: a.positive.1 });
            p.negative = Some(Buckets { offset: a.negative.0, bucket_counts: a.negative.1 });
            p.min = a.min;
            p.max = a.max;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downscale_merges_buckets() {
        assert_eq!(downscale(0, &[1, 2, 3, 4], 1), (0, vec![3, 7]));
        assert_eq!(downscale(-3, &[1, 2, 3, 4], 1), (-2, vec![1, 5, 4]));
        assert_eq!(downscale(5, &[1, 2], 0), (5, vec![1, 2]));
        assert_eq!(downscale(5, &[1, 2], 100), (0, vec![3]));
    }

    #[test]
    fn add_buckets_aligns_offsets() {
        assert_eq!(add_buckets(&(1, vec![1, 1]), &(2, vec![5, 5, 5])), (1, vec![1, 6, 5, 5]));
        assert_eq!(add_buckets(&(0, vec![]), &(2, vec![5])), (2, vec![5]));
        assert_eq!(add_buckets(&(-2, vec![1]), &(2, vec![5])), (-2, vec![1, 0, 0, 0, 5]));
    }
}
