//! The exporter's own metrics, as one extra OTLP scope appended to every collection, so they
//! travel through the same conversion and delivery as the application's metrics.
//!
//! Names follow Prometheus' `prometheus_remote_storage_*` family; after conversion (with the
//! default naming) they arrive as, per endpoint (`url` label):
//!
//! | series | meaning |
//! |---|---|
//! | `prometheus_remote_storage_{samples,histograms,exemplars}_total` | delivered |
//! | `prometheus_remote_storage_{samples,histograms,exemplars}_failed_total` | lost to a failed request |
//! | `prometheus_remote_storage_{samples,histograms,exemplars}_retried_total` | in a request that was retried |
//! | `prometheus_remote_storage_{samples,histograms,exemplars}_dropped_total{reason}` | lost, by reason (from the first loss on) |
//! | `prometheus_remote_storage_bytes_total` | compressed bytes delivered |
//! | `prometheus_remote_storage_sent_batch_duration_seconds` | request durations (histogram) |
//! | `prometheus_remote_storage_samples_pending` | samples and histograms waiting or in flight |
//! | `prometheus_remote_storage_pending_bytes` | their uncompressed bytes |
//!
//! and, for the whole exporter, `prometheus_remote_storage_conversion_dropped_points_total{reason}`.

use prw_proto::otlp::common::{AnyValue, InstrumentationScope, KeyValue, any_value};
use prw_proto::otlp::metrics::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ScopeMetrics, Sum, metric, number_data_point,
};

use crate::payload::Counts;
use crate::stats::{DURATION_BOUNDS, DropReason, StatsCells};

/// The instrumentation scope of the self-metrics.
pub(crate) const SCOPE: &str = "prw";

/// Times of one rendering, in Unix nanoseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Times {
    pub(crate) start: u64,
    pub(crate) now: u64,
}

fn attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.to_owned())) }),
    }
}

fn point(attrs: Vec<KeyValue>, value: u64, t: Times) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs,
        start_time_unix_nano: t.start,
        time_unix_nano: t.now,
        value: Some(number_data_point::Value::AsInt(i64::try_from(value).unwrap_or(i64::MAX))),
        ..Default::default()
    }
}

fn counter(name: &str, unit: &str, help: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.to_owned(),
        description: help.to_owned(),
        unit: unit.to_owned(),
        data: Some(metric::Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

fn gauge(name: &str, unit: &str, help: &str, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.to_owned(),
        description: help.to_owned(),
        unit: unit.to_owned(),
        data: Some(metric::Data::Gauge(Gauge { data_points: points })),
        ..Default::default()
    }
}

const KINDS: [(&str, &str); 3] =
    [("samples", "{sample}"), ("histograms", "{histogram}"), ("exemplars", "{exemplar}")];

fn pick(c: Counts, kind: usize) -> u64 {
    match kind {
        0 => c.samples,
        1 => c.histograms,
        _ => c.exemplars,
    }
}

/// Renders the counters of every endpoint, plus conversion drops by reason.
pub(crate) fn render(
    endpoints: &[&StatsCells],
    conversion_drops: &[(String, u64)],
    t: Times,
) -> ScopeMetrics {
    let mut metrics = Vec::new();
    let url = |s: &StatsCells| vec![attr("url", &s.url)];
    for (k, (kind, unit)) in KINDS.iter().enumerate() {
        let per = |f: &dyn Fn(&StatsCells) -> Counts| -> Vec<NumberDataPoint> {
            endpoints.iter().map(|s| point(url(s), pick(f(s), k), t)).collect()
        };
        metrics.push(counter(
            &format!("prometheus_remote_storage_{kind}"),
            unit,
            &format!("{kind} delivered to the endpoint (2xx)"),
            per(&|s| s.sent.get()),
        ));
        metrics.push(counter(
            &format!("prometheus_remote_storage_{kind}_failed"),
            unit,
            &format!("{kind} lost because a request failed for good"),
            per(&|s| s.failed.get()),
        ));
        metrics.push(counter(
            &format!("prometheus_remote_storage_{kind}_retried"),
            unit,
            &format!("{kind} in requests that were retried, once per retry"),
            per(&|s| s.retried.get()),
        ));
        // Only the reasons that happened: six reasons times three kinds of zero series per
        // endpoint would drown the useful ones.
        let dropped: Vec<NumberDataPoint> = endpoints
            .iter()
            .flat_map(|s| {
                DropReason::ALL.iter().filter_map(move |r| {
                    let n = pick(s.dropped(*r), k);
                    (n > 0).then(|| {
                        let mut a = url(s);
                        a.push(attr("reason", r.as_str()));
                        point(a, n, t)
                    })
                })
            })
            .collect();
        if !dropped.is_empty() {
            metrics.push(counter(
                &format!("prometheus_remote_storage_{kind}_dropped"),
                unit,
                &format!("{kind} that never reached the endpoint, by reason (once it happened)"),
                dropped,
            ));
        }
    }
    metrics.push(counter(
        "prometheus_remote_storage_bytes",
        "By",
        "compressed bytes of the requests the endpoint accepted",
        endpoints
            .iter()
            .map(|s| point(url(s), s.bytes_sent.load(std::sync::atomic::Ordering::Relaxed), t))
            .collect(),
    ));
    metrics.push(gauge(
        "prometheus_remote_storage_samples_pending",
        "{sample}",
        "samples and native histograms waiting or in flight",
        endpoints
            .iter()
            .map(|s| point(url(s), s.pending_points.load(std::sync::atomic::Ordering::Relaxed), t))
            .collect(),
    ));
    metrics.push(gauge(
        "prometheus_remote_storage_pending_bytes",
        "By",
        "uncompressed bytes waiting or in flight",
        endpoints
            .iter()
            .map(|s| point(url(s), s.pending_bytes.load(std::sync::atomic::Ordering::Relaxed), t))
            .collect(),
    ));
    metrics.push(Metric {
        name: "prometheus_remote_storage_sent_batch_duration".to_owned(),
        description: "duration of every remote-write request attempt".to_owned(),
        unit: "s".to_owned(),
        data: Some(metric::Data::Histogram(Histogram {
            data_points: endpoints
                .iter()
                .map(|s| {
                    let snap = s.duration.snapshot();
                    HistogramDataPoint {
                        attributes: url(s),
                        start_time_unix_nano: t.start,
                        time_unix_nano: t.now,
                        count: snap.count,
                        sum: Some(snap.sum_seconds),
                        bucket_counts: snap.buckets,
                        explicit_bounds: DURATION_BOUNDS.to_vec(),
                        ..Default::default()
                    }
                })
                .collect(),
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        })),
        ..Default::default()
    });
    if !conversion_drops.is_empty() {
        metrics.push(counter(
            "prometheus_remote_storage_conversion_dropped_points",
            "{point}",
            "data points the conversion to Prometheus series dropped, by reason",
            conversion_drops.iter().map(|(r, n)| point(vec![attr("reason", r)], *n, t)).collect(),
        ));
    }
    ScopeMetrics {
        scope: Some(InstrumentationScope {
            name: SCOPE.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            ..Default::default()
        }),
        metrics,
        schema_url: String::new(),
    }
}

/// `DeltaTemporality` → `delta_temporality`; `InvalidLabelName("x")` → `invalid_label_name`.
pub(crate) fn reason_label(debug: &str) -> String {
    let name = debug.split(['(', ' ', '{']).next().unwrap_or(debug);
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use prw_convert::{ConvertOptions, Converter};
    use prw_proto::otlp::metrics::ResourceMetrics;

    #[test]
    fn reason_labels_are_snake_case() {
        assert_eq!(reason_label("DeltaTemporality"), "delta_temporality");
        assert_eq!(reason_label("InvalidLabelName(\"a.b\")"), "invalid_label_name");
        assert_eq!(reason_label("ScaleTooSmall(-9)"), "scale_too_small");
    }

    #[test]
    fn renders_prometheus_names_after_conversion() {
        let s = StatsCells::new("http://127.0.0.1:9090/api/v1/write".into());
        s.sent.add(Counts { samples: 7, histograms: 2, exemplars: 1 });
        s.drop_counts(DropReason::QueueFull, Counts { samples: 3, histograms: 0, exemplars: 0 });
        s.duration.record(std::time::Duration::from_millis(20));
        let scope = render(
            &[&s],
            &[("delta_temporality".into(), 4)],
            Times { start: 1_700_000_000_000_000_000, now: 1_700_000_010_000_000_000 },
        );
        let rm = ResourceMetrics { scope_metrics: vec![scope], ..Default::default() };
        let out = Converter::new(ConvertOptions::default()).unwrap().convert(&[rm]);
        assert!(out.report.is_empty(), "{:?}", out.report);
        let find = |name: &str, extra: &[(&str, &str)]| -> f64 {
            let s = out
                .series
                .iter()
                .find(|s| s.name() == name && extra.iter().all(|(k, v)| s.label(k) == Some(*v)))
                .unwrap_or_else(|| panic!("no {name} {extra:?}"));
            s.samples()[0].value
        };
        let url = ("url", "http://127.0.0.1:9090/api/v1/write");
        assert_eq!(find("prometheus_remote_storage_samples_total", &[url]), 7.0);
        assert_eq!(find("prometheus_remote_storage_histograms_total", &[url]), 2.0);
        assert_eq!(find("prometheus_remote_storage_exemplars_total", &[url]), 1.0);
        assert_eq!(
            find(
                "prometheus_remote_storage_samples_dropped_total",
                &[url, ("reason", "queue_full")]
            ),
            3.0
        );
        assert!(
            !out.series.iter().any(|s| s.label("reason") == Some("rejected")),
            "reasons that never happened are not exported"
        );
        assert_eq!(find("prometheus_remote_storage_samples_failed_total", &[url]), 0.0);
        assert_eq!(find("prometheus_remote_storage_bytes_total", &[url]), 0.0);
        assert_eq!(find("prometheus_remote_storage_samples_pending", &[url]), 0.0);
        assert_eq!(find("prometheus_remote_storage_pending_bytes", &[url]), 0.0);
        assert_eq!(
            find("prometheus_remote_storage_sent_batch_duration_seconds_count", &[url]),
            1.0
        );
        assert_eq!(
            find(
                "prometheus_remote_storage_sent_batch_duration_seconds_bucket",
                &[url, ("le", "0.025")]
            ),
            1.0
        );
        assert_eq!(
            find(
                "prometheus_remote_storage_conversion_dropped_points_total",
                &[("reason", "delta_temporality")]
            ),
            4.0
        );
    }
}
