//! Known cases, end to end: OTLP in, series out. Rows named N*, L*, S*, T*, E* are the worked
//! examples of the conversion reference (taken from the Collector's tests); where our
//! (otlptranslator / specification) semantics differ from the Collector's, the row says so.

mod common;

use common::*;
use prw_convert::{
    ConvertOptions, DropReason, Dropped, ExpHistogramMode, MetricKind, PromoteResourceAttributes,
    Protocol, STALE_NAN_BITS, TranslationStrategy,
};
use prw_proto::otlp::common::{ArrayValue, InstrumentationScope, KeyValueList, any_value::Value};
use prw_proto::otlp::metrics::exponential_histogram_data_point::Buckets;
use prw_proto::otlp::metrics::summary_data_point::ValueAtQuantile;
use prw_proto::otlp::metrics::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint,
    Histogram, HistogramDataPoint, Sum, Summary, SummaryDataPoint, metric::Data,
    number_data_point::Value as NV,
};

fn one(
    metrics: Vec<prw_proto::otlp::metrics::Metric>,
) -> Vec<prw_proto::otlp::metrics::ResourceMetrics> {
    vec![rm(vec![], metrics)]
}

fn no_extras() -> ConvertOptions {
    ConvertOptions { target_info: false, ..Default::default() }
}

// ---------------------------------------------------------------------------------------------
// Names through the whole converter.

#[test]
fn names_end_to_end() {
    let cases: Vec<(prw_proto::otlp::metrics::Metric, &str)> = vec![
        // N1
        (counter("system.io", "By", vec![point(vec![], NV::AsInt(1))]), "system_io_bytes_total"),
        // N3
        (
            gauge("system.filesystem.usage", "By", vec![point(vec![], NV::AsInt(1))]),
            "system_filesystem_usage_bytes",
        ),
        // N4
        (
            counter("system.network.dropped", "{packets}", vec![point(vec![], NV::AsInt(1))]),
            "system_network_dropped_total",
        ),
        // N6
        (
            gauge("hw.gpu.memory.utilization", "1", vec![point(vec![], NV::AsDouble(0.5))]),
            "hw_gpu_memory_utilization_ratio",
        ),
        // N12
        (gauge("3.14 digits", "", vec![point(vec![], NV::AsInt(1))]), "_3_14_digits"),
        // T1: int gauge "test" = 1.
        (gauge("test", "", vec![point(vec![], NV::AsInt(1))]), "test"),
    ];
    for (m, want) in cases {
        let out = convert(no_extras(), &one(vec![m]));
        assert_eq!(out.series.len(), 1);
        assert_eq!(out.series[0].name(), want);
        assert!(is_metric_name(want));
    }
}

#[test]
fn t1_int_gauge() {
    let out =
        convert(no_extras(), &one(vec![gauge("test", "", vec![point(vec![], NV::AsInt(1))])]));
    assert_eq!(text(&out), format!("test 1 {TS_MS}\n"));
    let s = &out.series[0];
    assert_eq!(s.samples()[0].start_timestamp_ms, 0, "gauges carry no start time");
    assert_eq!(s.metadata().kind, MetricKind::Gauge);
    assert_eq!(s.metadata().help, "test help");
}

#[test]
fn strategies_and_namespace_end_to_end() {
    let m = || counter("foo.bar", "By", vec![point(vec![s("http.method", "GET")], NV::AsInt(3))]);
    let cases = [
        (
            TranslationStrategy::UnderscoreEscapingWithSuffixes,
            "foo_bar_bytes_total{http_method=\"GET\"}",
        ),
        (TranslationStrategy::UnderscoreEscapingWithoutSuffixes, "foo_bar{http_method=\"GET\"}"),
        (
            TranslationStrategy::NoUtf8EscapingWithSuffixes,
            "{\"foo.bar_bytes_total\",\"http.method\"=\"GET\"}",
        ),
        (TranslationStrategy::NoTranslation, "{\"foo.bar\",\"http.method\"=\"GET\"}"),
    ];
    for (strategy, want) in cases {
        let opts = ConvertOptions {
            translation_strategy: strategy,
            protocol: Protocol::Rw2,
            ..no_extras()
        };
        let out = convert(opts, &one(vec![m()]));
        assert_eq!(text(&out), format!("{want} 3 {TS_MS}\n"), "{strategy:?}");
    }
    let opts = ConvertOptions { namespace: Some("shop".into()), ..no_extras() };
    let out = convert(opts, &one(vec![m()]));
    assert_eq!(out.series[0].name(), "shop_foo_bar_bytes_total");
    assert_eq!(out.metadata[0].metric_family_name, "shop_foo_bar_bytes_total");
    assert_eq!(out.metadata[0].unit, "bytes");
}

#[test]
fn invalid_metric_name_is_reported() {
    let out = convert_default(&one(vec![gauge("...", "", vec![point(vec![], NV::AsInt(1))])]));
    assert!(out.series.is_empty());
    assert_eq!(
        out.report.dropped,
        vec![Dropped { metric: "...".into(), reason: DropReason::InvalidMetricName, points: 1 }]
    );
}

// ---------------------------------------------------------------------------------------------
// Label keys and label sets.

fn labels_of(attrs: Vec<prw_proto::otlp::common::KeyValue>) -> Vec<(String, String)> {
    let out = convert(no_extras(), &one(vec![gauge("m", "", vec![point(attrs, NV::AsInt(1))])]));
    label_sets(&out).remove(0)
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn label_keys() {
    // L1: otlptranslator keeps "_test" (the Collector made it "key_test").
    assert_eq!(labels_of(vec![s("_test", "v")]), pairs(&[("__name__", "m"), ("_test", "v")]));
    // L2
    assert_eq!(labels_of(vec![s("0test", "v")]), pairs(&[("__name__", "m"), ("key_0test", "v")]));
    // L6
    assert_eq!(
        labels_of(vec![s("label:with:colons", "v")]),
        pairs(&[("__name__", "m"), ("label_with_colons", "v")])
    );
    assert_eq!(
        labels_of(vec![s("label!with&special$chars)", "v")]),
        pairs(&[("__name__", "m"), ("label_with_special_chars_", "v")])
    );
    // S3: "test_label11%" → "test_label11_"; "?test_label12" → "_test_label12" (Collector:
    // "key_test_label12").
    assert_eq!(
        labels_of(vec![s("test_label11%", "a"), s("?test_label12", "b")]),
        pairs(&[("__name__", "m"), ("_test_label12", "b"), ("test_label11_", "a")])
    );
}

#[test]
fn label_collisions_merge_in_raw_key_order() {
    // "a.b" < "a/b" < "a_b" as raw keys; all become "a_b". Equal values appear once.
    assert_eq!(
        labels_of(vec![s("a_b", "3"), s("a.b", "1"), s("a/b", "2"), s("a-b", "1")]),
        pairs(&[("__name__", "m"), ("a_b", "1;2;3")])
    );
    assert_eq!(
        labels_of(vec![s("x.y", "same"), s("x_y", "same")]),
        pairs(&[("__name__", "m"), ("x_y", "same")])
    );
}

#[test]
fn empty_values_are_dropped_and_any_values_stringified() {
    let got = labels_of(vec![
        s("empty", ""),
        kv("int", Value::IntValue(-7)),
        kv("bool", Value::BoolValue(true)),
        kv("double", Value::DoubleValue(0.25)),
        kv("bytes", Value::BytesValue(b"hi".to_vec())),
        kv(
            "arr",
            Value::ArrayValue(ArrayValue {
                values: vec![prw_proto::otlp::common::AnyValue { value: Some(Value::IntValue(1)) }],
            }),
        ),
        kv("map", Value::KvlistValue(KeyValueList { values: vec![s("k", "v")] })),
        prw_proto::otlp::common::KeyValue { key: "unset".into(), value: None },
    ]);
    assert_eq!(
        got,
        pairs(&[
            ("__name__", "m"),
            ("arr", "[1]"),
            ("bool", "true"),
            ("bytes", "aGk="),
            ("double", "0.25"),
            ("int", "-7"),
            ("map", "{\"k\":\"v\"}"),
        ])
    );
}

#[test]
fn invalid_label_key_drops_the_point() {
    let out = convert(
        no_extras(),
        &one(vec![gauge(
            "m",
            "",
            vec![point(vec![s("...", "v")], NV::AsInt(1)), {
                let mut p = point(vec![s("ok", "v")], NV::AsInt(2));
                p.time_unix_nano += 1_000_000;
                p
            }],
        )]),
    );
    assert_eq!(out.series.len(), 1);
    assert_eq!(out.report.dropped[0].reason, DropReason::InvalidLabelName("...".into()));
}

#[test]
fn s1_job_and_instance() {
    let res = vec![s("service.name", "prometheus"), s("service.instance.id", "127.0.0.1:8080")];
    let out =
        convert(no_extras(), &[rm(res, vec![gauge("m", "", vec![point(vec![], NV::AsInt(1))])])]);
    assert_eq!(
        label_sets(&out)[0],
        pairs(&[("__name__", "m"), ("instance", "127.0.0.1:8080"), ("job", "prometheus")])
    );
    // With a namespace; and job/instance win over attributes of the same name.
    let res = vec![s("service.name", "api"), s("service.namespace", "shop")];
    let out = convert(
        no_extras(),
        &[rm(res, vec![gauge("m", "", vec![point(vec![s("job", "mine")], NV::AsInt(1))])])],
    );
    assert_eq!(label_sets(&out)[0], pairs(&[("__name__", "m"), ("job", "shop/api")]));
    // Only a namespace: no job.
    let out = convert(
        no_extras(),
        &[rm(
            vec![s("service.namespace", "shop")],
            vec![gauge("m", "", vec![point(vec![], NV::AsInt(1))])],
        )],
    );
    assert_eq!(label_sets(&out)[0], pairs(&[("__name__", "m")]));
}

#[test]
fn external_labels_only_where_absent() {
    let opts = ConvertOptions {
        external_labels: vec![("region".into(), "eu".into()), ("cluster".into(), "c1".into())],
        ..no_extras()
    };
    let out = convert(
        opts,
        &one(vec![gauge("m", "", vec![point(vec![s("region", "us")], NV::AsInt(1))])]),
    );
    assert_eq!(
        label_sets(&out)[0],
        pairs(&[("__name__", "m"), ("cluster", "c1"), ("region", "us")])
    );
}

#[test]
fn scope_labels() {
    let scope = InstrumentationScope {
        name: "io.lib".into(),
        version: "1.2".into(),
        attributes: vec![s("tier", "db"), s("name", "dropped: collides with otel_scope_name")],
        dropped_attributes_count: 0,
    };
    let input = vec![rm_scope(
        vec![],
        scope,
        "https://opentelemetry.io/schemas/1.21.0",
        vec![gauge("m", "", vec![point(vec![], NV::AsInt(1))])],
    )];
    let out = convert(no_extras(), &input);
    assert_eq!(
        label_sets(&out)[0],
        pairs(&[
            ("__name__", "m"),
            ("otel_scope_name", "io.lib"),
            ("otel_scope_schema_url", "https://opentelemetry.io/schemas/1.21.0"),
            ("otel_scope_tier", "db"),
            ("otel_scope_version", "1.2"),
        ])
    );
    let out = convert(ConvertOptions { scope_labels: false, ..no_extras() }, &input);
    assert_eq!(label_sets(&out)[0], pairs(&[("__name__", "m")]));
}

#[test]
fn promoted_resource_attributes() {
    let res = vec![s("service.name", "api"), s("k8s.pod.name", "pod-1"), s("cloud.region", "eu")];
    let input = vec![rm(
        res,
        vec![gauge("m", "", vec![point(vec![s("cloud.region", "point wins")], NV::AsInt(1))])],
    )];
    let opts = ConvertOptions {
        promote_resource_attributes: PromoteResourceAttributes::Keys(vec![
            "k8s.pod.name".into(),
            "cloud.region".into(),
        ]),
        ..no_extras()
    };
    assert_eq!(
        label_sets(&convert(opts, &input))[0],
        pairs(&[
            ("__name__", "m"),
            ("cloud_region", "point wins"),
            ("job", "api"),
            ("k8s_pod_name", "pod-1")
        ])
    );
    let opts = ConvertOptions {
        promote_resource_attributes: PromoteResourceAttributes::All,
        ..no_extras()
    };
    assert_eq!(
        label_sets(&convert(opts, &input))[0],
        pairs(&[
            ("__name__", "m"),
            ("cloud_region", "point wins"),
            ("job", "api"),
            ("k8s_pod_name", "pod-1")
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// Every point type.

#[test]
fn sums() {
    let input = one(vec![
        counter("requests", "", vec![point(vec![], NV::AsInt(7))]),
        metric(
            "queue.size",
            "",
            Data::Sum(Sum {
                data_points: vec![point(vec![], NV::AsDouble(-2.5))],
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: false,
            }),
        ),
    ]);
    let out = convert(no_extras(), &input);
    assert_eq!(text(&out), format!("queue_size -2.5 {TS_MS}\nrequests_total 7 {TS_MS}\n"));
    assert_eq!(out.series[0].metadata().kind, MetricKind::Gauge);
    assert_eq!(out.series[0].samples()[0].start_timestamp_ms, 0);
    assert_eq!(out.series[1].metadata().kind, MetricKind::Counter);
    assert_eq!(out.series[1].samples()[0].start_timestamp_ms, START_MS);
    let kinds: Vec<_> =
        out.metadata.iter().map(|m| (m.metric_family_name.as_str(), m.kind)).collect();
    assert_eq!(
        kinds,
        vec![("queue_size", MetricKind::Gauge), ("requests_total", MetricKind::Counter)]
    );
}

fn hist_point(bounds: Vec<f64>, counts: Vec<u64>, sum: Option<f64>) -> HistogramDataPoint {
    HistogramDataPoint {
        start_time_unix_nano: START_NS,
        time_unix_nano: TS_NS,
        count: counts.iter().sum(),
        sum,
        bucket_counts: counts,
        explicit_bounds: bounds,
        ..Default::default()
    }
}

fn histogram(
    name: &str,
    unit: &str,
    points: Vec<HistogramDataPoint>,
) -> prw_proto::otlp::metrics::Metric {
    metric(
        name,
        unit,
        Data::Histogram(Histogram {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        }),
    )
}

#[test]
fn explicit_histogram() {
    let p = hist_point(vec![0.005, 1.0, 1e6, 2.5e-7], vec![1, 2, 3, 4, 5], Some(12.5));
    // Bounds must increase: the last one does not, so this point is dropped...
    let out = convert(no_extras(), &one(vec![histogram("lat", "s", vec![p])]));
    assert!(out.series.is_empty());
    assert_eq!(out.report.dropped[0].reason, DropReason::InvalidBuckets);
    // ...and a good one gives cumulative buckets, +Inf = count, _sum, _count.
    let p = hist_point(vec![0.005, 1.0, 1e6], vec![1, 2, 3, 4], Some(12.5));
    let out = convert(no_extras(), &one(vec![histogram("lat", "s", vec![p])]));
    assert_eq!(
        text(&out),
        [
            "lat_seconds_bucket{le=\"+Inf\"} 10",
            "lat_seconds_bucket{le=\"0.005\"} 1",
            "lat_seconds_bucket{le=\"1\"} 3",
            "lat_seconds_bucket{le=\"1000000\"} 6",
            "lat_seconds_count 10",
            "lat_seconds_sum 12.5",
        ]
        .iter()
        .map(|l| format!("{l} {TS_MS}\n"))
        .collect::<String>()
    );
    assert!(out.series.iter().all(|s| s.metadata().kind == MetricKind::Histogram));
    assert!(out.series.iter().all(|s| s.metadata().metric_family_name == "lat_seconds"));
    assert!(out.series.iter().all(|s| s.samples()[0].start_timestamp_ms == START_MS));
}

#[test]
fn t4_histogram_without_buckets_or_sum() {
    // T4: no buckets, no sum → _count 0, +Inf 0, no _sum. (The Collector's C112 also emitted
    // test_hist_created; `_created` is gone since v0.118 and RW 2.0 carries start_timestamp.)
    let p = hist_point(vec![], vec![], None);
    let out = convert(no_extras(), &one(vec![histogram("test_hist", "", vec![p])]));
    assert_eq!(
        text(&out),
        format!("test_hist_bucket{{le=\"+Inf\"}} 0 {TS_MS}\ntest_hist_count 0 {TS_MS}\n")
    );
    assert_eq!(out.series[0].samples()[0].start_timestamp_ms, START_MS);
}

#[test]
fn histogram_counts_not_matching_bounds_are_dropped() {
    for (bounds, counts) in [
        (vec![1.0, 2.0], vec![1, 2]),
        (vec![1.0], vec![1, 2, 3]),
        (vec![], vec![5, 1]),
        (vec![f64::NAN], vec![1, 1]),
    ] {
        let out = convert(
            no_extras(),
            &one(vec![histogram("h", "", vec![hist_point(bounds, counts, None)])]),
        );
        assert!(out.series.is_empty());
        assert_eq!(out.report.dropped[0].reason, DropReason::InvalidBuckets);
        assert!(out.report.to_string().contains("bucket counts do not match"));
    }
    // An explicit +Inf bound folds into the implicit +Inf bucket (no duplicate series).
    let out = convert(
        no_extras(),
        &one(vec![histogram(
            "h",
            "",
            vec![hist_point(vec![1.0, f64::INFINITY], vec![1, 2, 0], None)],
        )]),
    );
    let les: Vec<_> = out.series.iter().filter_map(|s| s.label("le").map(str::to_string)).collect();
    assert_eq!(les, vec!["+Inf", "1"]);
}

#[test]
fn summary() {
    let p = SummaryDataPoint {
        start_time_unix_nano: START_NS,
        time_unix_nano: TS_NS,
        count: 3,
        sum: 6.0,
        quantile_values: vec![
            ValueAtQuantile { quantile: 0.5, value: 2.0 },
            ValueAtQuantile { quantile: 0.99, value: 3.0 },
        ],
        ..Default::default()
    };
    let out = convert(
        no_extras(),
        &one(vec![metric("rpc.duration", "ms", Data::Summary(Summary { data_points: vec![p] }))]),
    );
    assert_eq!(
        text(&out),
        format!(
            "rpc_duration_milliseconds{{quantile=\"0.5\"}} 2 {TS_MS}\nrpc_duration_milliseconds{{quantile=\"0.99\"}} 3 {TS_MS}\n\
             rpc_duration_milliseconds_count 3 {TS_MS}\nrpc_duration_milliseconds_sum 6 {TS_MS}\n"
        )
    );
    assert_eq!(out.metadata[0].kind, MetricKind::Summary);
}

fn exp_point(
    scale: i32,
    count: u64,
    sum: Option<f64>,
    zero: u64,
    pos: (i32, Vec<u64>),
    neg: (i32, Vec<u64>),
) -> ExponentialHistogramDataPoint {
    ExponentialHistogramDataPoint {
        start_time_unix_nano: START_NS,
        time_unix_nano: 500_000_000,
        count,
        sum,
        scale,
        zero_count: zero,
        positive: Some(Buckets { offset: pos.0, bucket_counts: pos.1 }),
        negative: Some(Buckets { offset: neg.0, bucket_counts: neg.1 }),
        ..Default::default()
    }
}

fn exp_hist(points: Vec<ExponentialHistogramDataPoint>) -> prw_proto::otlp::metrics::Metric {
    metric(
        "x",
        "",
        Data::ExponentialHistogram(ExponentialHistogram {
            data_points: points,
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        }),
    )
}

#[test]
fn e1_to_e4_exponential_histograms() {
    // E1
    let out = convert(
        no_extras(),
        &one(vec![exp_hist(vec![exp_point(
            1,
            4,
            Some(10.1),
            1,
            (1, vec![1, 1]),
            (1, vec![1, 1]),
        )])]),
    );
    assert_eq!(
        text(&out),
        "x {count:4,sum:10.1,schema:1,zero_threshold:1e-128,zero_count:1,positive:[{2,2}] deltas [1,0],negative:[{2,2}] deltas [1,0]} 500\n"
    );
    let h = &out.series[0].histograms()[0];
    assert_eq!(h.start_timestamp_ms, 0, "start after the sample is dropped");
    // E1 without a sum: the Collector sends sum 0; the specification (HEAD) says such a point
    // MUST be dropped, and we do.
    let out = convert(
        no_extras(),
        &one(vec![exp_hist(vec![exp_point(1, 4, None, 1, (1, vec![1, 1]), (1, vec![1, 1]))])]),
    );
    assert!(out.series.is_empty());
    assert_eq!(out.report.dropped[0].reason, DropReason::MissingSum);
    // E2
    let out = convert(
        no_extras(),
        &one(vec![exp_hist(vec![exp_point(
            8,
            6,
            Some(1.0),
            0,
            (1, vec![1, 1, 1]),
            (2, vec![1, 1, 1]),
        )])]),
    );
    let h = &out.series[0].histograms()[0];
    assert_eq!(
        (h.schema, h.positive_deltas.clone(), h.negative_deltas.clone()),
        (8, vec![1, 0, 0], vec![1, 0, 0])
    );
    assert_eq!((h.positive_spans[0].offset, h.positive_spans[0].length), (2, 3));
    assert_eq!((h.negative_spans[0].offset, h.negative_spans[0].length), (3, 3));
    // E3: scale 9 → schema 8.
    let out = convert(
        no_extras(),
        &one(vec![exp_hist(vec![exp_point(
            9,
            6,
            Some(1.0),
            0,
            (1, vec![1, 1, 1]),
            (2, vec![1, 1, 1]),
        )])]),
    );
    let h = &out.series[0].histograms()[0];
    assert_eq!(
        (h.schema, h.positive_deltas.clone(), h.negative_deltas.clone()),
        (8, vec![1, 1], vec![2, -1])
    );
    assert_eq!((h.positive_spans[0].offset, h.positive_spans[0].length), (1, 2));
    assert_eq!((h.negative_spans[0].offset, h.negative_spans[0].length), (2, 2));
    // E4
    let out = convert(
        no_extras(),
        &one(vec![exp_hist(vec![exp_point(-10, 1, Some(1.0), 0, (0, vec![1]), (0, vec![]))])]),
    );
    assert!(out.series.is_empty());
    assert_eq!(
        out.report.dropped,
        vec![Dropped { metric: "x".into(), reason: DropReason::ScaleTooSmall(-10), points: 1 }]
    );
    assert!(
        out.report.to_string().contains("Scale must be >= -4, was -10".to_lowercase().as_str())
            || out.report.to_string().contains("scale must be >= -4, was -10")
    );
}

#[test]
fn exponential_layouts_at_every_downscale() {
    // The same 16 buckets at scales 8..=12 (scale-down 0..=4), and the zero threshold kept.
    for (scale, spans, deltas) in [
        (8, vec![(-7, 16)], [vec![1], vec![0; 15]].concat()),
        (9, vec![(-3, 8)], [vec![2], vec![0; 7]].concat()),
        (10, vec![(-1, 4)], vec![4, 0, 0, 0]),
        (11, vec![(0, 2)], vec![8, 0]),
        (12, vec![(0, 2)], vec![8, 0]),
    ] {
        let mut p = exp_point(scale, 16, Some(1.0), 0, (-8, vec![1; 16]), (0, vec![]));
        p.zero_threshold = 0.001;
        let out = convert(no_extras(), &one(vec![exp_hist(vec![p])]));
        let h = &out.series[0].histograms()[0];
        assert_eq!(h.schema, scale.min(8));
        assert_eq!(h.zero_threshold, 0.001);
        assert_eq!(
            h.positive_spans.iter().map(|s| (s.offset, s.length)).collect::<Vec<_>>(),
            spans,
            "scale {scale}"
        );
        assert_eq!(h.positive_deltas, deltas, "scale {scale}");
        assert!(h.negative_spans.is_empty());
    }
    // Scales -4..=8 are kept as they are.
    for scale in -4..=8 {
        let out = convert(
            no_extras(),
            &one(vec![exp_hist(vec![exp_point(
                scale,
                2,
                Some(1.0),
                0,
                (3, vec![1, 1]),
                (0, vec![]),
            )])]),
        );
        assert_eq!(out.series[0].histograms()[0].schema, scale);
        assert_eq!(out.series[0].histograms()[0].positive_deltas, vec![1, 0]);
    }
}

#[test]
fn exponential_as_classic() {
    let opts = ConvertOptions { exponential_histograms: ExpHistogramMode::Classic, ..no_extras() };
    // Scale 0 (base 2): negative bucket index 0 covers [-2,-1), zero bucket, positive buckets
    // index 0 (1,2] and 1 (2,4].
    let mut p = exp_point(0, 7, Some(3.0), 1, (0, vec![2, 3]), (0, vec![1]));
    p.time_unix_nano = TS_NS;
    let out = convert(opts, &one(vec![exp_hist(vec![p])]));
    let got: Vec<(String, f64)> = out
        .series
        .iter()
        .map(|s| (format!("{}{{{}}}", s.name(), s.label("le").unwrap_or("")), s.samples()[0].value))
        .collect();
    let want: Vec<(String, f64)> = vec![
        ("x_bucket{+Inf}".into(), 7.0),
        ("x_bucket{-1}".into(), 1.0),
        ("x_bucket{0}".into(), 2.0),
        ("x_bucket{2}".into(), 4.0),
        ("x_bucket{4}".into(), 7.0),
        ("x_count{}".into(), 7.0),
        ("x_sum{}".into(), 3.0),
    ];
    assert_eq!(got, want);
    // Classic mode has no schema limit.
    let mut p = exp_point(-10, 1, Some(1.0), 0, (0, vec![1]), (0, vec![]));
    p.time_unix_nano = TS_NS;
    let out = convert(
        ConvertOptions { exponential_histograms: ExpHistogramMode::Classic, ..no_extras() },
        &one(vec![exp_hist(vec![p])]),
    );
    assert!(out.report.is_empty());
    assert!(out.series.iter().any(|s| s.label("le") == Some("+Inf")));
}

// ---------------------------------------------------------------------------------------------
// target_info.

#[test]
fn t6_target_info() {
    let res = || {
        vec![
            s("service.name", "service-name"),
            s("service.namespace", "service-namespace"),
            s("service.instance.id", "service-instance-id"),
            s("resource_attr", "resource-attr-val-1"),
        ]
    };
    let m = || vec![gauge("m", "", vec![point(vec![], NV::AsInt(1))])];
    let out = convert_default(&[rm(res(), m())]);
    let ti: Vec<_> = out.series.iter().filter(|s| s.name() == "target_info").collect();
    assert_eq!(ti.len(), 1);
    assert_eq!(
        ti[0].exposition(),
        "target_info{instance=\"service-instance-id\",job=\"service-namespace/service-name\",resource_attr=\"resource-attr-val-1\"} 1 1581452772000\n"
    );
    assert_eq!(ti[0].metadata().kind, MetricKind::Gauge);
    // Namespace.
    let out = convert(
        ConvertOptions { namespace: Some("foo".into()), ..Default::default() },
        &[rm(res(), m())],
    );
    assert!(out.series.iter().any(|s| s.name() == "foo_target_info"));
    // Only service.name and one attribute.
    let out = convert_default(&[rm(vec![s("service.name", "a"), s("resource_attr", "v")], m())]);
    let ti = out.series.iter().find(|s| s.name() == "target_info").expect("target_info");
    assert_eq!(
        ti.labels().collect::<Vec<_>>(),
        vec![("__name__", "target_info"), ("job", "a"), ("resource_attr", "v")]
    );
    // No target_info: only the service triple; no job or instance; disabled; no points.
    let none = [
        (
            ConvertOptions::default(),
            vec![
                s("service.name", "a"),
                s("service.namespace", "n"),
                s("service.instance.id", "i"),
            ],
            m(),
        ),
        (ConvertOptions::default(), vec![s("resource_attr", "v")], m()),
        (no_extras(), res(), m()),
        (ConvertOptions::default(), res(), vec![]),
    ];
    for (opts, r, ms) in none {
        let out = convert(opts, &[rm(r, ms)]);
        assert!(out.series.iter().all(|s| s.name() != "target_info"));
    }
    // The latest point's timestamp; external labels too.
    let mut later = point(vec![], NV::AsInt(2));
    later.time_unix_nano = TS_NS + 5_000_000_000;
    let opts =
        ConvertOptions { external_labels: vec![("dc".into(), "x".into())], ..Default::default() };
    let out = convert(
        opts,
        &[rm(
            res(),
            vec![gauge("m", "", vec![point(vec![], NV::AsInt(1))]), gauge("n", "", vec![later])],
        )],
    );
    let ti = out.series.iter().find(|s| s.name() == "target_info").expect("target_info");
    assert_eq!(ti.samples()[0].timestamp_ms, TS_MS + 5000);
    assert_eq!(ti.label("dc"), Some("x"));
}

// ---------------------------------------------------------------------------------------------
// Exemplars.

fn exemplar(value: f64, attrs: Vec<prw_proto::otlp::common::KeyValue>) -> Exemplar {
    Exemplar {
        filtered_attributes: attrs,
        time_unix_nano: TS_NS - 1_000_000,
        span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
        trace_id: vec![0xab; 16],
        value: Some(prw_proto::otlp::metrics::exemplar::Value::AsDouble(value)),
    }
}

#[test]
fn exemplars() {
    let mut p = point(vec![], NV::AsInt(5));
    p.exemplars = vec![exemplar(1.5, vec![s("user.id", "42")])];
    let out = convert(no_extras(), &one(vec![counter("c", "", vec![p])]));
    let e = &out.series[0].exemplars()[0];
    assert_eq!(
        e.labels,
        pairs(&[
            ("span_id", "0102030405060708"),
            ("trace_id", "abababababababababababababababab"),
            ("user_id", "42")
        ])
    );
    assert_eq!((e.value, e.timestamp_ms), (1.5, TS_MS - 1));
    // Over 128 runes: the filtered attributes go, the ids stay.
    let mut p = point(vec![], NV::AsInt(5));
    p.exemplars = vec![exemplar(1.0, vec![s("big", &"x".repeat(100))])];
    let out = convert(no_extras(), &one(vec![counter("c", "", vec![p])]));
    assert_eq!(out.series[0].exemplars()[0].labels.len(), 2);
    // Gauge exemplars are dropped (and counted).
    let mut p = point(vec![], NV::AsInt(5));
    p.exemplars = vec![exemplar(1.0, vec![])];
    let out = convert(no_extras(), &one(vec![gauge("g", "", vec![p])]));
    assert!(out.series[0].exemplars().is_empty());
    assert_eq!(out.report.exemplars_dropped, 1);
    // Histogram exemplars go to the first bucket whose bound is at least their value.
    let mut p = hist_point(vec![1.0, 10.0], vec![1, 1, 1], Some(20.0));
    p.exemplars = vec![exemplar(0.5, vec![]), exemplar(5.0, vec![]), exemplar(50.0, vec![])];
    let out = convert(no_extras(), &one(vec![histogram("h", "", vec![p])]));
    let by_le: Vec<(String, usize)> = out
        .series
        .iter()
        .filter_map(|s| s.label("le").map(|le| (le.to_string(), s.exemplar_count())))
        .collect();
    assert_eq!(by_le, vec![("+Inf".to_string(), 1), ("1".to_string(), 1), ("10".to_string(), 1)]);
}

// ---------------------------------------------------------------------------------------------
// Stale markers.

#[test]
fn stale_markers() {
    let is_stale = |v: f64| v.to_bits() == STALE_NAN_BITS;
    let mut g = point(vec![], NV::AsInt(5));
    g.flags = 1;
    let mut h = hist_point(vec![1.0, 2.0], vec![], Some(1.0));
    h.flags = 1;
    let mut sm = SummaryDataPoint {
        time_unix_nano: TS_NS,
        quantile_values: vec![ValueAtQuantile { quantile: 0.5, value: 1.0 }],
        ..Default::default()
    };
    sm.flags = 1;
    let mut e = exp_point(3, 5, Some(1.0), 1, (0, vec![5]), (0, vec![]));
    e.flags = 1;
    let out = convert(
        no_extras(),
        &one(vec![
            gauge("g", "", vec![g]),
            histogram("h", "", vec![h]),
            metric("s", "", Data::Summary(Summary { data_points: vec![sm] })),
            exp_hist(vec![e]),
        ]),
    );
    let names: Vec<_> = out
        .series
        .iter()
        .map(|s| format!("{}{:?}", s.name(), s.label("le").or(s.label("quantile"))))
        .collect();
    assert_eq!(
        names,
        vec![
            "gNone",
            "h_bucketSome(\"+Inf\")",
            "h_bucketSome(\"1\")",
            "h_bucketSome(\"2\")",
            "h_countNone",
            "h_sumNone",
            "sSome(\"0.5\")",
            "s_countNone",
            "s_sumNone",
            "xNone",
        ]
    );
    for s in &out.series {
        if let Some(x) = s.samples().first() {
            assert!(is_stale(x.value), "{} stale", s.name());
            assert!(x.is_stale());
        }
    }
    let nh = &out.series.last().unwrap().histograms()[0];
    assert!(nh.is_stale() && is_stale(nh.sum));
    assert_eq!(
        (nh.count, nh.zero_count, nh.positive_spans.len()),
        (0, 0, 0),
        "spec: stale count 0, no buckets"
    );
    assert!(out.report.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Delta, reports, determinism, merging.

#[test]
fn delta_is_dropped_and_reported() {
    let delta = metric(
        "d",
        "",
        Data::Sum(Sum {
            data_points: vec![point(vec![], NV::AsInt(1)), point(vec![s("a", "b")], NV::AsInt(1))],
            aggregation_temporality: AggregationTemporality::Delta as i32,
            is_monotonic: true,
        }),
    );
    let out = convert(
        no_extras(),
        &one(vec![delta, metric("none", "", Data::Gauge(Default::default()))]),
    );
    assert!(out.series.is_empty());
    assert_eq!(
        out.report.dropped,
        vec![
            Dropped { metric: "d".into(), reason: DropReason::DeltaTemporality, points: 2 },
            Dropped { metric: "none".into(), reason: DropReason::NoDataPoints, points: 0 },
        ]
    );
    assert!(out.report.to_string().contains("DeltaToCumulative"));
}

#[test]
fn delta_to_cumulative_then_convert() {
    let batch = |start: u64, end: u64, v: i64| {
        one(vec![metric(
            "d",
            "",
            Data::Sum(Sum {
                data_points: vec![prw_proto::otlp::metrics::NumberDataPoint {
                    start_time_unix_nano: start,
                    time_unix_nano: end,
                    value: Some(NV::AsInt(v)),
                    ..Default::default()
                }],
                aggregation_temporality: AggregationTemporality::Delta as i32,
                is_monotonic: true,
            }),
        )])
    };
    let mut d2c = prw_convert::DeltaToCumulative::new();
    let mut totals = Vec::new();
    for (i, v) in [3, 4, 5].into_iter().enumerate() {
        let t = TS_NS + i as u64 * 10_000_000_000;
        let mut b = batch(t, t + 10_000_000_000, v);
        let stats = d2c.apply(&mut b);
        assert_eq!(stats.converted, 1);
        let out = convert(no_extras(), &b);
        assert!(out.report.is_empty());
        totals.push((
            out.series[0].samples()[0].value,
            out.series[0].samples()[0].start_timestamp_ms,
        ));
    }
    assert_eq!(totals, vec![(3.0, TS_MS), (7.0, TS_MS), (12.0, TS_MS)]);
    // A repeated point would double count: removed.
    let mut again = batch(TS_NS, TS_NS + 10_000_000_000, 3);
    assert_eq!(d2c.apply(&mut again).dropped_out_of_order, 1);
    assert_eq!(d2c.len(), 1);
    assert_eq!(d2c.forget_older_than(u64::MAX), 1);
    assert!(d2c.is_empty());
}

#[test]
fn delta_histograms_accumulate() {
    let mk = |t: u64, counts: Vec<u64>| {
        let mut p = hist_point(vec![1.0], counts, Some(1.0));
        p.start_time_unix_nano = t;
        p.time_unix_nano = t + 1_000_000_000;
        one(vec![metric(
            "h",
            "",
            Data::Histogram(Histogram {
                data_points: vec![p],
                aggregation_temporality: AggregationTemporality::Delta as i32,
            }),
        )])
    };
    let mut d2c = prw_convert::DeltaToCumulative::new();
    let mut a = mk(TS_NS, vec![1, 2]);
    d2c.apply(&mut a);
    let mut b = mk(TS_NS + 1_000_000_000, vec![3, 4]);
    d2c.apply(&mut b);
    let out = convert(no_extras(), &b);
    let vals: Vec<(Option<&str>, &str, f64)> =
        out.series.iter().map(|s| (s.label("le"), s.name(), s.samples()[0].value)).collect();
    assert_eq!(
        vals,
        vec![
            (Some("+Inf"), "h_bucket", 10.0),
            (Some("1"), "h_bucket", 4.0),
            (None, "h_count", 10.0),
            (None, "h_sum", 2.0)
        ]
    );
    // Exponential: different scales are merged at the smaller one.
    let mk_exp = |t: u64, scale: i32, pos: Vec<u64>| {
        let mut p = exp_point(scale, pos.iter().sum(), Some(1.0), 0, (0, pos), (0, vec![]));
        p.start_time_unix_nano = t;
        p.time_unix_nano = t + 1_000_000_000;
        one(vec![metric(
            "e",
            "",
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![p],
                aggregation_temporality: AggregationTemporality::Delta as i32,
            }),
        )])
    };
    let mut a = mk_exp(TS_NS, 1, vec![1, 1, 1, 1]);
    d2c.apply(&mut a);
    let mut b = mk_exp(TS_NS + 1_000_000_000, 0, vec![5]);
    d2c.apply(&mut b);
    let Some(Data::ExponentialHistogram(h)) = &b[0].scope_metrics[0].metrics[0].data else {
        panic!()
    };
    let p = &h.data_points[0];
    assert_eq!((p.scale, p.count, p.sum), (0, 9, Some(2.0)));
    assert_eq!(
        p.positive.as_ref().map(|b| (b.offset, b.bucket_counts.clone())),
        Some((0, vec![7, 2]))
    );
}

#[test]
fn missing_timestamp_and_value_are_reported() {
    let mut no_ts = point(vec![], NV::AsInt(1));
    no_ts.time_unix_nano = 0;
    let mut no_value = point(vec![], NV::AsInt(1));
    no_value.value = None;
    let out = convert(
        no_extras(),
        &one(vec![gauge("a", "", vec![no_ts]), gauge("b", "", vec![no_value])]),
    );
    assert!(out.series.is_empty());
    let reasons: Vec<_> = out.report.dropped.iter().map(|d| d.reason.clone()).collect();
    assert_eq!(reasons, vec![DropReason::MissingTimestamp, DropReason::MissingValue]);
}

#[test]
fn same_series_from_two_points_is_merged_and_deduplicated() {
    let at = |ms: u64, v: i64| {
        let mut p = point(vec![s("k", "v")], NV::AsInt(v));
        p.time_unix_nano = ms * 1_000_000;
        p
    };
    // Two resources without service attributes give the same series; samples merge, sorted.
    let input = vec![
        rm(vec![], vec![gauge("m", "", vec![at(3000, 3), at(1000, 1)])]),
        rm(vec![], vec![gauge("m", "", vec![at(2000, 2), at(3000, 4)])]),
    ];
    let out = convert(no_extras(), &input);
    assert_eq!(out.series.len(), 1);
    let samples: Vec<(i64, f64)> =
        out.series[0].samples().iter().map(|s| (s.timestamp_ms, s.value)).collect();
    assert_eq!(samples, vec![(1000, 1.0), (2000, 2.0), (3000, 4.0)], "the later point wins a tie");
    assert_eq!(
        out.report.dropped,
        vec![Dropped { metric: "m".into(), reason: DropReason::DuplicateTimestamp, points: 1 }]
    );
}

#[test]
fn output_is_deterministic() {
    let points: Vec<_> = (0..50)
        .map(|i| {
            point(
                vec![
                    s("i", &format!("{i:03}")),
                    s("parity", if i % 2 == 0 { "even" } else { "odd" }),
                ],
                NV::AsInt(i),
            )
        })
        .collect();
    let mut reversed = points.clone();
    reversed.reverse();
    let a = convert_default(&[rm(
        vec![s("service.name", "x")],
        vec![gauge("z", "", points), counter("a", "", vec![point(vec![], NV::AsInt(1))])],
    )]);
    let b = convert_default(&[rm(
        vec![s("service.name", "x")],
        vec![counter("a", "", vec![point(vec![], NV::AsInt(1))]), gauge("z", "", reversed)],
    )]);
    assert_eq!(a, b);
    assert_eq!(a.series[0].name(), "a_total");
}

#[test]
fn rw2_symbols() {
    let input = vec![rm(
        vec![s("service.name", "svc")],
        vec![
            counter(
                "c",
                "s",
                vec![
                    point(vec![s("k", "v1")], NV::AsInt(1)),
                    point(vec![s("k", "v2")], NV::AsInt(2)),
                ],
            ),
            gauge("g", "", vec![point(vec![s("k", "v1")], NV::AsInt(1))]),
        ],
    )];
    let out = convert(no_extras(), &input);
    let req = prw_convert::to_rw2(&out.series);
    assert_eq!(
        req.symbols,
        vec![
            "",
            "__name__",
            "c_seconds_total",
            "job",
            "svc",
            "k",
            "v1",
            "c help",
            "seconds",
            "v2",
            "g",
            "g help"
        ]
    );
    assert_eq!(req.timeseries[0].labels_refs, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(req.timeseries[2].labels_refs, vec![1, 10, 3, 4, 5, 6]);
    let m = req.timeseries[2].metadata.unwrap();
    assert_eq!((m.help_ref, m.unit_ref), (11, 0), "empty unit is symbol 0");
    assert_eq!(req.timeseries[0].samples[0].start_timestamp, START_MS);
    // Any slice of series is a request of its own.
    check_encodings(&out.series[1..2], &[]);
    check_encodings(&[], &[]);
}

#[test]
fn nul_inside_values_never_merges_different_series() {
    // Both label sets lay out as the same bytes when NUL separates strings; they must stay
    // two series, and the repeated one must still merge.
    let at = |attrs, ms: u64| {
        let mut p = point(attrs, NV::AsInt(ms as i64));
        p.time_unix_nano = ms * 1_000_000;
        p
    };
    let mut points =
        vec![at(vec![s("a", "x\0b\0y")], 1000), at(vec![s("a", "x"), s("b", "y")], 1000)];
    // Enough points for the sort's non-trivial path too.
    points.extend((0..20).map(|i| at(vec![s("a", "x\0b\0y")], 2000 + i)));
    points.extend((0..20).map(|i| at(vec![s("a", "x"), s("b", "y")], 2000 + i)));
    let out = convert(no_extras(), &one(vec![gauge("m", "", points)]));
    assert_eq!(
        label_sets(&out),
        vec![
            pairs(&[("__name__", "m"), ("a", "x"), ("b", "y")]),
            pairs(&[("__name__", "m"), ("a", "x\0b\0y")])
        ]
    );
    assert_eq!(out.series[0].sample_count(), 21);
    assert_eq!(out.series[1].sample_count(), 21);
}

// ---------------------------------------------------------------------------------------------
// Series identity across conversions.

#[test]
fn label_hash_and_same_labels_agree_across_conversions_and_hand_built_series() {
    let attrs = |m: &str| vec![s("method", m), s("path", "/a")];
    let input = one(vec![counter(
        "requests",
        "",
        vec![point(attrs("GET"), NV::AsInt(1)), point(attrs("PUT"), NV::AsInt(2))],
    )]);
    let a = convert(no_extras(), &input);
    let b = convert(no_extras(), &input);
    assert_eq!(a.series.len(), 2);
    for (x, y) in a.series.iter().zip(&b.series) {
        // Two conversions: separate label tables, the same labels.
        assert!(x.same_labels(y));
        assert_eq!(x.label_hash(), y.label_hash());
        let labels: Vec<(&str, &str)> = x.labels().collect();
        let hand = prw_convert::Series::new(
            &labels,
            x.metadata().clone(),
            x.samples().to_vec(),
            vec![],
            vec![],
        )
        .expect("valid labels");
        assert!(hand.same_labels(x));
        assert_eq!(hand.label_hash(), x.label_hash());
    }
    let (get, put) = (&a.series[0], &a.series[1]);
    assert!(!get.same_labels(put));
    assert_ne!(get.label_hash(), put.label_hash());
}

#[test]
fn same_series_of_another_kind_is_dropped_and_reported_by_name() {
    // A native histogram and a gauge both give the series `x`: the first in input order stays,
    // the other is dropped and reported under the series' name.
    let mut g = point(vec![], NV::AsInt(7));
    g.time_unix_nano = 500_000_000;
    let hist = exp_hist(vec![exp_point(0, 1, Some(1.0), 0, (0, vec![1]), (0, vec![]))]);
    let out = convert(no_extras(), &one(vec![hist.clone(), gauge("x", "", vec![g.clone()])]));
    assert_eq!(label_sets(&out), vec![pairs(&[("__name__", "x")])]);
    assert_eq!((out.series[0].histogram_count(), out.series[0].sample_count()), (1, 0));
    let dropped =
        vec![Dropped { metric: "x".into(), reason: DropReason::ConflictingSeriesType, points: 1 }];
    assert_eq!(out.report.dropped, dropped);
    let out = convert(no_extras(), &one(vec![gauge("x", "", vec![g]), hist]));
    assert_eq!((out.series[0].histogram_count(), out.series[0].sample_count()), (0, 1));
    assert_eq!(out.report.dropped, dropped);
}

#[test]
fn overlapping_metrics_sort_and_merge_as_one() {
    // Two resources with the same histogram and a gauge named like its `_count`: the chunks
    // overlap, so all series are sorted at once; equal series merge in input order.
    let hist = |ms: u64, count: u64| {
        let points = ["a", "b\0", "b", ""]
            .iter()
            .map(|v| {
                let mut p = hist_point(vec![1.0], vec![count, 0], Some(1.0));
                p.attributes = vec![s("k", v)];
                p.time_unix_nano = ms * 1_000_000;
                p
            })
            .collect();
        histogram("h", "", points)
    };
    let count_gauge = |ms: u64| {
        let mut p = point(vec![s("k", "a")], NV::AsInt(99));
        p.time_unix_nano = ms * 1_000_000;
        gauge("h_count", "", vec![p])
    };
    let input = vec![
        rm(vec![], vec![hist(2000, 1), count_gauge(3000)]),
        rm(vec![], vec![count_gauge(1000), hist(1000, 2)]),
    ];
    let out = convert(no_extras(), &input);
    let got: Vec<String> = out
        .series
        .iter()
        .map(|s| s.labels().map(|(k, v)| format!("{k}={v:?} ")).collect())
        .collect();
    // A set that is a prefix of another comes first (`h_count` without `k`); `k` sorts before
    // `le`, so the buckets without `k` come last; `b` before `b\0`.
    let mut want = Vec::new();
    for k in ["a", "b", "b\0"] {
        for le in ["+Inf", "1"] {
            want.push(format!("__name__=\"h_bucket\" k={k:?} le={le:?} "));
        }
    }
    for le in ["+Inf", "1"] {
        want.push(format!("__name__=\"h_bucket\" le={le:?} "));
    }
    for n in ["h_count", "h_sum"] {
        want.push(format!("__name__={n:?} "));
        for k in ["a", "b", "b\0"] {
            want.push(format!("__name__={n:?} k={k:?} "));
        }
    }
    assert_eq!(got, want);
    assert!(out.series.iter().all(|s| s.sample_count() == 2 || s.name() == "h_count"));
    let count_a = out.series.iter().find(|s| s.name() == "h_count" && s.label("k") == Some("a"));
    let samples: Vec<(i64, f64)> = count_a
        .map(|s| s.samples().iter().map(|x| (x.timestamp_ms, x.value)).collect())
        .unwrap_or_default();
    assert_eq!(samples, vec![(1000, 2.0), (2000, 1.0), (3000, 99.0)], "the later point wins");
    assert_eq!(
        out.report.dropped,
        vec![Dropped {
            metric: "h_count".into(),
            reason: DropReason::DuplicateTimestamp,
            points: 1
        }]
    );
}

#[test]
fn one_points_exemplars_are_put_in_time_order_and_deduplicated() {
    // A single point (no merge) with exemplars out of time order and one given twice.
    let at = |ms: u64, v: f64| {
        let mut e = exemplar(v, vec![]);
        e.time_unix_nano = ms * 1_000_000;
        e
    };
    let mut p = point(vec![], NV::AsInt(5));
    p.exemplars = vec![at(3000, 3.0), at(1000, 1.0), at(2000, 2.0), at(1000, 1.0)];
    let out = convert(no_extras(), &one(vec![counter("c", "", vec![p])]));
    let got: Vec<(i64, f64)> =
        out.series[0].exemplars().iter().map(|e| (e.timestamp_ms, e.value)).collect();
    assert_eq!(got, vec![(1000, 1.0), (2000, 2.0), (3000, 3.0)]);
}

#[test]
fn metrics_with_more_labels_than_series_sort_like_the_others() {
    // A point with thousands of attributes has too many labels to rank per metric: such
    // chunks are sorted at the end, next to chunks sorted as they were made.
    let wide: Vec<_> =
        (0..5000).map(|i| s(&format!("k{i:04}"), &format!("v{}", 5000 - i))).collect();
    let small = |name: &str, n: i64| {
        let points = (0..n).rev().map(|i| point(vec![s("k0001", &format!("{i}"))], NV::AsInt(i)));
        gauge(name, "", points.collect())
    };
    let input = one(vec![
        small("b", 20),
        gauge("a", "", vec![point(wide.clone(), NV::AsInt(1))]),
        small("c", 30),
        gauge("a", "", vec![point(wide, NV::AsInt(2))]),
        small("b", 5),
    ]);
    let out = convert(no_extras(), &input);
    let names: Vec<(&str, Option<&str>)> =
        out.series.iter().map(|s| (s.name(), s.label("k0001"))).collect();
    assert_eq!(names.len(), 1 + 20 + 30);
    assert_eq!(names[0], ("a", Some("v4999")));
    // The wide series came twice: merged, in input order.
    assert_eq!(out.series[0].samples().iter().map(|x| x.value).collect::<Vec<_>>(), vec![2.0]);
    assert_eq!(out.series[0].labels().count(), 5001);
    // `b` came twice too: its 5 repeated series keep the later value.
    let b0 = out.series.iter().find(|s| s.name() == "b" && s.label("k0001") == Some("0"));
    assert_eq!(b0.map(|s| s.samples()[0].value), Some(0.0));
    let dropped: Vec<(&str, u64)> =
        out.report.dropped.iter().map(|d| (d.metric.as_str(), d.points)).collect();
    assert_eq!(dropped, vec![("a", 1)]);
}
