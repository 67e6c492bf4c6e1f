//! Properties that hold for ANY input: no panic; series sorted and unique; label names sorted,
//! unique, non-empty (and valid Prometheus names when escaping); no empty values; a `__name__`
//! on every series; samples in time order; the byte encoders equal prost and decode back.

mod common;

use common::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use prw_convert::{
    ConvertOptions, Converter, DeltaToCumulative, ExpHistogramMode, Metadata,
    PromoteResourceAttributes, Protocol, Sample, Series, TranslationStrategy,
};
use prw_proto::otlp::common::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value::Value,
};
use prw_proto::otlp::metrics::exponential_histogram_data_point::Buckets;
use prw_proto::otlp::metrics::summary_data_point::ValueAtQuantile;
use prw_proto::otlp::metrics::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, metric::Data, number_data_point,
};
use prw_proto::otlp::resource::Resource;

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,6}([._][a-z0-9]{1,5}){0,3}",
        2 => "[a-zA-Z0-9_.:/ {}-]{0,12}",
        1 => ".{0,10}",
        1 => Just(String::new()),
        1 => Just("__name__".to_string()),
        1 => Just("___".to_string()),
        1 => Just("service.name".to_string()),
        1 => Just("le".to_string()),
    ]
}

fn unit() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("1".to_string()),
        Just("s".to_string()),
        Just("By/s".to_string()),
        Just("{packets}".to_string()),
        Just("/".to_string()),
        ".{0,6}",
    ]
}

fn f64_any() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e6f64..1e6,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(-0.0),
        1 => any::<f64>(),
    ]
}

fn any_value() -> impl Strategy<Value = AnyValue> {
    let leaf = prop_oneof![
        4 => "[a-z0-9]{0,6}".prop_map(Value::StringValue),
        1 => ".{0,8}".prop_map(Value::StringValue),
        1 => any::<i64>().prop_map(Value::IntValue),
        1 => f64_any().prop_map(Value::DoubleValue),
        1 => any::<bool>().prop_map(Value::BoolValue),
        1 => proptest::collection::vec(any::<u8>(), 0..6).prop_map(Value::BytesValue),
    ]
    .prop_map(|v| AnyValue { value: Some(v) });
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(|values| AnyValue {
                value: Some(Value::ArrayValue(ArrayValue { values }))
            }),
            proptest::collection::vec(("[a-c]{0,2}", inner), 0..3).prop_map(|kvs| AnyValue {
                value: Some(Value::KvlistValue(KeyValueList {
                    values: kvs
                        .into_iter()
                        .map(|(key, v)| KeyValue { key, value: Some(v) })
                        .collect(),
                }))
            }),
            Just(AnyValue { value: None }),
        ]
    })
}

fn attrs(max: usize) -> impl Strategy<Value = Vec<KeyValue>> {
    proptest::collection::vec(
        (prop_oneof![3 => "[a-c][._-]?[a-c]?", 1 => name()], any_value())
            .prop_map(|(key, v)| KeyValue { key, value: Some(v) }),
        0..max,
    )
}

fn time() -> impl Strategy<Value = u64> {
    prop_oneof![
        12 => (1_700_000_000u64..1_700_000_010).prop_map(|s| s * 1_000_000_000),
        1 => Just(0u64),
        1 => any::<u64>(),
    ]
}

fn exemplars() -> impl Strategy<Value = Vec<Exemplar>> {
    proptest::collection::vec(
        (
            attrs(3),
            time(),
            proptest::collection::vec(any::<u8>(), 0..17),
            proptest::collection::vec(any::<u8>(), 0..9),
            prop::option::of(f64_any()),
        ),
        0..3,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(filtered_attributes, time_unix_nano, trace_id, span_id, value)| Exemplar {
                filtered_attributes,
                time_unix_nano,
                span_id,
                trace_id,
                value: value.map(exemplar::Value::AsDouble),
            })
            .collect()
    })
}

fn number_point() -> impl Strategy<Value = NumberDataPoint> {
    (
        attrs(4),
        time(),
        time(),
        prop_oneof![
            f64_any().prop_map(number_data_point::Value::AsDouble),
            any::<i64>().prop_map(number_data_point::Value::AsInt)
        ],
        0u32..3,
        prop::option::of(exemplars()),
    )
        .prop_map(|(attributes, start, t, v, flags, ex)| NumberDataPoint {
            attributes,
            start_time_unix_nano: start,
            time_unix_nano: t,
            exemplars: ex.unwrap_or_default(),
            flags,
            value: if flags == 2 { None } else { Some(v) },
        })
}

fn histogram_point() -> impl Strategy<Value = HistogramDataPoint> {
    (
        attrs(3),
        time(),
        time(),
        any::<u64>(),
        prop::option::of(f64_any()),
        prop_oneof![
            // Matching counts and (increasing) bounds...
            3 =>
            proptest::collection::vec(0u64..100, 0..6).prop_map(|c| {
                let bounds = (1..c.len()).map(|i| i as f64 * 0.5).collect::<Vec<_>>();
                (c, bounds)
            }),
            // ...or anything.
            1 => (
                proptest::collection::vec(any::<u64>(), 0..6),
                proptest::collection::vec(f64_any(), 0..6)
            ),
        ],
        0u32..2,
        prop::option::of(exemplars()),
    )
        .prop_map(
            |(attributes, start, t, count, sum, (bucket_counts, explicit_bounds), flags, ex)| {
                HistogramDataPoint {
                    attributes,
                    start_time_unix_nano: start,
                    time_unix_nano: t,
                    count,
                    sum,
                    bucket_counts,
                    explicit_bounds,
                    exemplars: ex.unwrap_or_default(),
                    flags,
                    min: None,
                    max: None,
                }
            },
        )
}

fn buckets() -> impl Strategy<Value = Option<Buckets>> {
    prop::option::of(
        (
            prop_oneof![4 => -20i32..20, 1 => any::<i32>()],
            proptest::collection::vec(prop_oneof![4 => 0u64..10, 1 => any::<u64>()], 0..12),
        )
            .prop_map(|(offset, bucket_counts)| Buckets { offset, bucket_counts }),
    )
}

fn exp_point() -> impl Strategy<Value = ExponentialHistogramDataPoint> {
    (
        (attrs(3), time(), time(), any::<u64>(), prop::option::of(f64_any())),
        (
            prop_oneof![6 => -6i32..14, 1 => any::<i32>()],
            any::<u64>(),
            buckets(),
            buckets(),
            0u32..2,
            f64_any(),
            prop::option::of(exemplars()),
        ),
    )
        .prop_map(
            |(
                (attributes, start, t, count, sum),
                (scale, zero_count, positive, negative, flags, zt, ex),
            )| {
                ExponentialHistogramDataPoint {
                    attributes,
                    start_time_unix_nano: start,
                    time_unix_nano: t,
                    count,
                    sum,
                    scale,
                    zero_count,
                    positive,
                    negative,
                    flags,
                    exemplars: ex.unwrap_or_default(),
                    min: None,
                    max: None,
                    zero_threshold: zt,
                }
            },
        )
}

fn summary_point() -> impl Strategy<Value = SummaryDataPoint> {
    (
        attrs(3),
        time(),
        any::<u64>(),
        f64_any(),
        proptest::collection::vec((f64_any(), f64_any()), 0..4),
        0u32..2,
    )
        .prop_map(|(attributes, t, count, sum, q, flags)| SummaryDataPoint {
            attributes,
            start_time_unix_nano: 0,
            time_unix_nano: t,
            count,
            sum,
            quantile_values: q
                .into_iter()
                .map(|(quantile, value)| ValueAtQuantile { quantile, value })
                .collect(),
            flags,
        })
}

/// Mostly cumulative, sometimes delta or unspecified (or out of range).
fn temporality() -> impl Strategy<Value = i32> {
    prop_oneof![6 => Just(2), 1 => 0i32..5]
}

fn data() -> impl Strategy<Value = Option<Data>> {
    fn pts<S: Strategy>(s: S) -> impl Strategy<Value = Vec<S::Value>> {
        proptest::collection::vec(s, 0..5)
    }
    prop_oneof![
        3 => pts(number_point()).prop_map(|data_points| Some(Data::Gauge(Gauge { data_points }))),
        3 => (pts(number_point()), temporality(), any::<bool>()).prop_map(|(data_points, t, m)| Some(Data::Sum(Sum {
            data_points,
            aggregation_temporality: t,
            is_monotonic: m,
        }))),
        2 => (pts(histogram_point()), temporality()).prop_map(|(data_points, t)| Some(Data::Histogram(Histogram { data_points, aggregation_temporality: t }))),
        2 => (pts(exp_point()), temporality()).prop_map(|(data_points, t)| Some(Data::ExponentialHistogram(ExponentialHistogram { data_points, aggregation_temporality: t }))),
        1 => pts(summary_point()).prop_map(|data_points| Some(Data::Summary(Summary { data_points }))),
        1 => Just(None),
    ]
}

fn any_metric() -> impl Strategy<Value = Metric> {
    (
        name(),
        unit(),
        ".{0,8}",
        data(),
        prop::option::of(prop_oneof![Just("unknown"), Just("info"), Just("gauge"), Just("x")]),
    )
        .prop_map(|(name, unit, description, data, ptype)| Metric {
            name,
            description,
            unit,
            metadata: ptype.map(|t| vec![s("prometheus.type", t)]).unwrap_or_default(),
            data,
        })
}

fn resource_metrics() -> impl Strategy<Value = Vec<ResourceMetrics>> {
    let resource = (
        attrs(4),
        prop::option::of("[a-z]{0,4}"),
        prop::option::of("[a-z]{0,4}"),
        prop::option::of("[a-z0-9:]{0,4}"),
    )
        .prop_map(|(mut attributes, name, ns, inst)| {
            for (k, v) in
                [("service.name", name), ("service.namespace", ns), ("service.instance.id", inst)]
            {
                if let Some(v) = v {
                    attributes.push(s(k, &v));
                }
            }
            attributes
        });
    let scope = prop::option::of((".{0,6}", "[0-9.]{0,4}", attrs(3)).prop_map(
        |(name, version, attributes)| InstrumentationScope {
            name,
            version,
            attributes,
            dropped_attributes_count: 0,
        },
    ));
    let scope_metrics = (scope, proptest::collection::vec(any_metric(), 0..4), "[a-z:/.]{0,8}")
        .prop_map(|(scope, metrics, schema_url)| ScopeMetrics { scope, metrics, schema_url });
    proptest::collection::vec(
        (prop::option::of(resource), proptest::collection::vec(scope_metrics, 0..3)).prop_map(
            |(r, scope_metrics)| ResourceMetrics {
                resource: r.map(|attributes| Resource { attributes, dropped_attributes_count: 0 }),
                scope_metrics,
                schema_url: String::new(),
            },
        ),
        0..3,
    )
}

fn options() -> impl Strategy<Value = ConvertOptions> {
    (
        prop_oneof![
            Just(TranslationStrategy::UnderscoreEscapingWithSuffixes),
            Just(TranslationStrategy::UnderscoreEscapingWithoutSuffixes),
            Just(TranslationStrategy::NoUtf8EscapingWithSuffixes),
            Just(TranslationStrategy::NoTranslation),
        ],
        any::<bool>(),
        any::<bool>(),
        prop_oneof![
            Just(PromoteResourceAttributes::None),
            Just(PromoteResourceAttributes::All),
            Just(PromoteResourceAttributes::Keys(vec![
                "a".into(),
                "service.name".into(),
                "b.c".into()
            ])),
        ],
        any::<bool>(),
        prop::option::of(Just("ns".to_string())),
        any::<bool>(),
    )
        .prop_map(
            |(
                translation_strategy,
                target_info,
                scope_labels,
                promote,
                classic,
                namespace,
                external,
            )| ConvertOptions {
                translation_strategy,
                protocol: Protocol::Rw2,
                namespace,
                target_info,
                scope_labels,
                promote_resource_attributes: promote,
                external_labels: if external {
                    vec![("a".into(), "ext".into()), ("zone".into(), "z1".into())]
                } else {
                    vec![]
                },
                exponential_histograms: if classic {
                    ExpHistogramMode::Classic
                } else {
                    ExpHistogramMode::Native
                },
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    /// The invariants of `check_output` (sorted unique series and labels, no empty names or
    /// values, `__name__`, time order, encoders == prost, RW 2.0 symbols) for any input and
    /// options; with escaping, every name is a valid Prometheus name.
    #[test]
    fn any_input_gives_valid_series(input in resource_metrics(), opts in options()) {
        let escapes = opts.translation_strategy.escapes();
        let out = convert(opts, &input);
        if escapes {
            for s in &out.series {
                prop_assert!(is_metric_name(s.name()), "metric name {:?}", s.name());
                for (k, _) in s.labels() {
                    prop_assert!(is_label_name(k), "label name {:?}", k);
                }
            }
        }
        // Every dropped entry names a reason, and displays.
        for d in &out.report.dropped {
            prop_assert!(!d.reason.to_string().is_empty());
        }
    }

    /// Delta streams through DeltaToCumulative, then conversion: no panic, valid output, and
    /// no delta point is ever reported as converted-but-delta afterwards.
    #[test]
    fn delta_to_cumulative_never_panics(mut batches in proptest::collection::vec(resource_metrics(), 1..3)) {
        let mut d2c = DeltaToCumulative::new().with_max_streams(8);
        for batch in &mut batches {
            d2c.apply(batch);
            let out = convert(ConvertOptions::default(), batch);
            prop_assert!(out.report.dropped.iter().all(|d| d.reason != prw_convert::DropReason::DeltaTemporality));
        }
        prop_assert!(d2c.len() <= 8);
    }

    /// Absurd values: extreme scales, offsets and counts, huge attributes.
    #[test]
    fn absurd_input_never_panics(
        scale in any::<i32>(),
        offset in any::<i32>(),
        counts in proptest::collection::vec(any::<u64>(), 0..40),
        big in 0usize..70_000,
        classic in any::<bool>(),
    ) {
        let huge = "é".repeat(big);
        let p = ExponentialHistogramDataPoint {
            attributes: vec![s(&huge, &huge), s("k", &huge)],
            time_unix_nano: 1_700_000_000_000_000_000,
            count: counts.iter().fold(0u64, |a, b| a.wrapping_add(*b)),
            sum: Some(f64::NAN),
            scale,
            zero_count: u64::MAX,
            positive: Some(Buckets { offset, bucket_counts: counts.clone() }),
            negative: Some(Buckets { offset: offset.wrapping_neg(), bucket_counts: counts }),
            zero_threshold: f64::MAX,
            ..Default::default()
        };
        let input = vec![rm(vec![s("service.name", &huge), s(&huge, "x")], vec![metric(&huge, &huge, Data::ExponentialHistogram(ExponentialHistogram {
            data_points: vec![p],
            aggregation_temporality: 2,
        }))])];
        let opts = ConvertOptions {
            exponential_histograms: if classic { ExpHistogramMode::Classic } else { ExpHistogramMode::Native },
            ..Default::default()
        };
        let out = convert(opts, &input);
        prop_assert!(out.series.len() + out.report.dropped.len() > 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// A batch may mix, in any order, series of several conversions and series built one by
    /// one (the exporter's batches and its persistent queue do), each source with a label store
    /// of its own, more stores than the RW 2.0 encoder keeps maps for at once: the encoders
    /// still give what prost gives.
    #[test]
    fn batches_mixing_label_stores_encode_as_prost(
        inputs in proptest::collection::vec(resource_metrics(), 1..4),
        singles in 0usize..12,
        picks in proptest::collection::vec((0usize..16, any::<proptest::sample::Index>()), 0..80),
    ) {
        let converted: Vec<Vec<Series>> =
            inputs.iter().map(|i| convert(ConvertOptions::default(), i).series).collect();
        let own: Vec<Series> = (0..singles)
            .map(|i| {
                let v = i.to_string();
                let labels = [("__name__", "single"), ("i", v.as_str()), ("job", "j")];
                let meta = Metadata { help: format!("help {}", i % 3), ..Metadata::default() };
                let sample = Sample { value: i as f64, timestamp_ms: 1 + i as i64, start_timestamp_ms: 0 };
                Series::new(&labels, meta, vec![sample], vec![], vec![]).expect("valid series")
            })
            .collect();
        let mut sources: Vec<&[Series]> = converted.iter().map(Vec::as_slice).collect();
        sources.extend(own.chunks(1));
        sources.retain(|s| !s.is_empty());
        let batch: Vec<Series> = if sources.is_empty() {
            Vec::new()
        } else {
            picks
                .iter()
                .map(|(src, ix)| {
                    let from = sources[src % sources.len()];
                    from[ix.index(from.len())].clone()
                })
                .collect()
        };
        check_encodings(&batch, &[]);
    }
}

#[test]
fn conversion_is_deterministic_for_generated_input() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut series = 0;
    for _ in 0..64 {
        let input = resource_metrics().new_tree(&mut runner).expect("generate").current();
        let c = Converter::new(ConvertOptions::default()).expect("valid");
        let a = c.convert(&input);
        let b = c.convert(&input);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        prw_convert::encode_rw1(&a.series, &a.metadata, &mut x);
        prw_convert::encode_rw1(&b.series, &b.metadata, &mut y);
        assert_eq!(x, y);
        assert_eq!(a.report, b.report);
        series += a.series.len();
    }
    // The generator is not vacuous: its inputs do produce series.
    assert!(series > 64, "only {series} series from 64 inputs");
}
