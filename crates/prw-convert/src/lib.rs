//! The pure core of prw: OpenTelemetry (OTLP) metrics in, Prometheus Remote Write series out.
//!
//! Synchronous, no I/O, no global state. A [`Converter`] built from validated
//! [`ConvertOptions`] turns OTLP [`ResourceMetrics`](prw_proto::otlp::metrics::ResourceMetrics)
//! into a [`Conversion`]: [`Series`] sorted by labels (each self-contained, with its samples or
//! native histograms in time order, exemplars and metadata), the metric [`Metadata`], and a
//! [`Report`] of everything dropped and why. [`encode_rw1`] and [`encode_rw2`] write any slice of
//! series as a Remote Write 1.0 `WriteRequest` or 2.0 `Request`, byte for byte what prost would
//! write for [`to_rw1`] / [`to_rw2`], without building those structs.
//!
//! Names and labels follow the OpenTelemetry "Prometheus and OpenMetrics compatibility"
//! specification and, where it leaves room, Prometheus' own OTLP translator (`otlptranslator`),
//! so a metric gets the same name through us as straight into Prometheus:
//!
//! - metric names: invalid characters to `_`, unit words (`s` → `seconds`, `By/s` →
//!   `bytes_per_second`, `{…}` dropped), `_total` for monotonic counters, `_ratio` for unit-`1`
//!   gauges, a `_` before a leading digit; four [`TranslationStrategy`]s and a namespace;
//! - labels: attribute keys escaped, colliding keys merged with `;`, empty values dropped, `job`
//!   and `instance` from `service.*`, `target_info`, `otel_scope_*` labels, promoted resource
//!   attributes and external labels;
//! - every point type: gauges, sums (cumulative monotonic → counter), explicit histograms
//!   (`_bucket{le}`, `_sum`, `_count`), exponential histograms (native, or classic as an option),
//!   summaries; `NoRecordedValue` → the stale NaN [`STALE_NAN_BITS`].
//!
//! Delta temporality is never sent as if it were cumulative: it is dropped and reported, unless
//! the caller first runs it through the explicit, stateful [`DeltaToCumulative`].
//!
//! # Example
//!
//! ```
//! use prost::Message;
//! use prw_convert::{ConvertOptions, Converter, encode_rw1};
//! use prw_proto::otlp::common::{AnyValue, KeyValue, any_value::Value};
//! use prw_proto::otlp::metrics::{
//!     AggregationTemporality, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
//!     metric::Data, number_data_point,
//! };
//! use prw_proto::otlp::resource::Resource;
//!
//! let attr = |k: &str, v: &str| KeyValue {
//!     key: k.into(),
//!     value: Some(AnyValue { value: Some(Value::StringValue(v.into())) }),
//! };
//! // One cumulative counter "http.server.requests" (unit "{request}") from service "shop".
//! let otlp = vec![ResourceMetrics {
//!     resource: Some(Resource {
//!         attributes: vec![attr("service.name", "shop"), attr("service.instance.id", "host-1")],
//!         dropped_attributes_count: 0,
//!     }),
//!     scope_metrics: vec![ScopeMetrics {
//!         metrics: vec![Metric {
//!             name: "http.server.requests".into(),
//!             unit: "{request}".into(),
//!             description: "Requests served".into(),
//!             data: Some(Data::Sum(Sum {
//!                 data_points: vec![NumberDataPoint {
//!                     attributes: vec![attr("http.method", "GET")],
//!                     start_time_unix_nano: 1_700_000_000_000_000_000,
//!                     time_unix_nano: 1_700_000_060_000_000_000,
//!                     value: Some(number_data_point::Value::AsInt(42)),
//!                     ..Default::default()
//!                 }],
//!                 aggregation_temporality: AggregationTemporality::Cumulative as i32,
//!                 is_monotonic: true,
//!             })),
//!             ..Default::default()
//!         }],
//!         ..Default::default()
//!     }],
//!     schema_url: String::new(),
//! }];
//!
//! let converter = Converter::new(ConvertOptions::default()).unwrap();
//! let out = converter.convert(&otlp);
//! assert!(out.report.is_empty());
//!
//! let text: String = out.series.iter().map(|s| s.exposition()).collect();
//! assert_eq!(
//!     text,
//!     "http_server_requests_total{http_method=\"GET\",instance=\"host-1\",job=\"shop\"} 42 1700000060000\n"
//! );
//! assert_eq!(out.series[0].samples()[0].start_timestamp_ms, 1_700_000_000_000);
//!
//! // Encode a batch of series as a Remote Write 1.0 body (before snappy compression).
//! let mut body = Vec::new();
//! encode_rw1(&out.series, &out.metadata, &mut body);
//! assert_eq!(body, prw_convert::to_rw1(&out.series, &out.metadata).encode_to_vec());
//! ```
//!
//! # Choices where the specification leaves room
//!
//! - Names and units as `otlptranslator` builds them, including its unit map (`KBy` →
//!   `kilobytes`, `TiBy` → `tibibytes`), so names match Prometheus' OTLP endpoint.
//! - A single leading `_` in an attribute key is kept (`_test` stays `_test`), `__x__` keeps
//!   its wrapping underscores, `_` runs collapse: `otlptranslator`'s defaults (the legacy
//!   Collector made `_test` into `key_test`).
//! - Label precedence, highest first: `__name__`/`le`/`quantile`; `job`/`instance`; scope
//!   labels; point attributes (colliding keys joined with `;`, equal values once); promoted
//!   resource attributes; external labels. Empty values never make a label and never hide a
//!   lower-precedence one. An attribute key that gives no valid label name drops the point
//!   (as Prometheus does) and is reported.
//! - `target_info` is a gauge (help "Target metadata") at the latest timestamp of its
//!   resource's series; [`PromoteResourceAttributes::All`] leaves out the `service.*` triple.
//! - Start timestamps (RW 2.0) for counters, histograms and summaries' `_sum`/`_count`; none for
//!   gauges; dropped when after the sample; epoch 0 sent as 1 (0 means unset).
//! - An exponential-histogram point without a sum is dropped (the specification says MUST;
//!   Prometheus and the Collector send sum 0), and a stale one has count 0.
//! - An explicit-histogram point whose counts do not match its bounds (or whose bounds do not
//!   increase) is dropped, not converted as far as it goes; a stale one marks every bucket of
//!   its bounds stale, not only `+Inf`, `_sum` and `_count`.
//! - Points without a timestamp are dropped: Prometheus would reject the whole request.
//! - Two points of one series at one timestamp: the later (in input order) is kept, and the
//!   drop is reported if their values differ.
//! - Exemplar attribute keys are escaped like labels so RW 1.0 receivers accept them; an
//!   exemplar without a timestamp takes its point's.
//! - Attribute doubles that are NaN or infinite become `NaN`, `+Inf`, `-Inf` (the Collector
//!   writes an error message there).

#![warn(missing_docs)]

mod convert;
mod delta;
mod encode;
mod histogram;
pub mod naming;
mod options;
mod report;
mod series;
mod sort;
mod symbols;
mod value;
mod wire;

pub use convert::{Conversion, Converter};
pub use delta::{DeltaStats, DeltaToCumulative};
pub use encode::{encode_rw1, encode_rw2, to_rw1, to_rw2};
pub use options::{
    ConvertOptions, ExpHistogramMode, OptionsError, PromoteResourceAttributes, Protocol,
    TranslationStrategy,
};
pub use report::{DropReason, Dropped, Report};
pub use series::{
    BucketSpan, Exemplar, InvalidSeries, Labels, Metadata, MetricKind, NativeHistogram, Sample,
    Series,
};

/// The Prometheus stale marker: a NaN with these bits, and no other NaN, means "this series
/// ended".
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;
