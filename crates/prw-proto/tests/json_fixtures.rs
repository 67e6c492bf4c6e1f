//! Files as they are found in the wild, decoded and checked field by field:
//!
//! - `data/collector-file-exporter.json`: the OpenTelemetry Collector's file exporter output,
//!   one compact request per line (pdata's field order, 64-bit integers as strings, enums as
//!   integers, hex ids, `"NaN"` and Go's `"+Inf"`, empty messages written as `{}`);
//! - `data/otlp-json-pretty.json`: one pretty-printed request in the style of the OTLP
//!   specification's examples (64-bit integers as JSON numbers, some above 2^53).

#![cfg(feature = "json")]
// Helpers outside #[test] functions fail the test the same way.
#![allow(clippy::unwrap_used)]

mod common;

use prw_proto::otlp::collector::ExportMetricsServiceRequest;
use prw_proto::otlp::common::any_value::Value;
use prw_proto::otlp::common::{AnyValue, KeyValue};
use prw_proto::otlp::json;
use prw_proto::otlp::metrics::exponential_histogram_data_point::Buckets;
use prw_proto::otlp::metrics::{AggregationTemporality, metric, number_data_point};

const COLLECTOR: &str = include_str!("data/collector-file-exporter.json");
const PRETTY: &str = include_str!("data/otlp-json-pretty.json");

const T0: u64 = 1_764_064_740_000_000_000;
const T1: u64 = 1_764_064_800_123_456_789;
const T2: u64 = 1_764_064_860_123_456_789;

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }) }
}

fn s(key: &str, value: &str) -> KeyValue {
    kv(key, Value::StringValue(value.into()))
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn collector_file_exporter_output_decodes_field_by_field() {
    let requests = json::from_json_lines(COLLECTOR).unwrap();
    assert_eq!(requests.len(), 2);

    // ---- line 1
    let rm = &requests[0].resource_metrics[0];
    let resource = rm.resource.as_ref().unwrap();
    assert_eq!(
        resource.attributes,
        [
            s("service.name", "checkout"),
            s("service.namespace", "shop"),
            s("service.instance.id", "627cc493-f310-47de-96bd-71410b7dec09"),
            s("host.name", "node-7"),
            kv("process.pid", Value::IntValue(4242)),
            kv("container.cpu.limit", Value::DoubleValue(1.5)),
        ]
    );
    assert_eq!(resource.dropped_attributes_count, 0);
    assert_eq!(rm.schema_url, "https://opentelemetry.io/schemas/1.26.0");
    assert_eq!(rm.scope_metrics.len(), 2);

    let http = &rm.scope_metrics[0];
    let scope = http.scope.as_ref().unwrap();
    assert_eq!(scope.name, "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp");
    assert_eq!(scope.version, "0.53.0");
    assert_eq!(scope.attributes, [s("scope.owner", "team-payments")]);
    assert_eq!(http.schema_url, "https://opentelemetry.io/schemas/1.26.0");
    assert_eq!(http.metrics.len(), 3);

    let goroutines = &http.metrics[0];
    assert_eq!(goroutines.name, "process.runtime.go.goroutines");
    assert_eq!(goroutines.description, "Number of goroutines that currently exist");
    assert_eq!(goroutines.unit, "{goroutine}");
    let Some(metric::Data::Gauge(gauge)) = &goroutines.data else { panic!("gauge") };
    assert_eq!(gauge.data_points.len(), 1);
    let point = &gauge.data_points[0];
    assert_eq!((point.start_time_unix_nano, point.time_unix_nano), (0, T1));
    assert_eq!(point.value, Some(number_data_point::Value::AsInt(42)));
    assert!(point.attributes.is_empty() && point.exemplars.is_empty() && point.flags == 0);

    let requests_metric = &http.metrics[1];
    assert_eq!(
        (requests_metric.name.as_str(), requests_metric.unit.as_str()),
        ("http.server.requests", "{request}")
    );
    let Some(metric::Data::Sum(sum)) = &requests_metric.data else { panic!("sum") };
    assert_eq!(sum.aggregation_temporality, AggregationTemporality::Cumulative as i32);
    assert!(sum.is_monotonic);
    assert_eq!(sum.data_points.len(), 2);
    let cart = &sum.data_points[0];
    assert_eq!(
        cart.attributes,
        [s("http.route", "/cart"), kv("http.response.status_code", Value::IntValue(200))]
    );
    assert_eq!((cart.start_time_unix_nano, cart.time_unix_nano), (T0, T1));
    assert_eq!(cart.value, Some(number_data_point::Value::AsInt(1027)));
    assert_eq!(cart.exemplars.len(), 1);
    let exemplar = &cart.exemplars[0];
    assert_eq!(exemplar.filtered_attributes, [s("user.tier", "gold")]);
    assert_eq!(exemplar.time_unix_nano, 1_764_064_799_000_000_000);
    assert_eq!(exemplar.value, Some(prw_proto::otlp::metrics::exemplar::Value::AsInt(1)));
    assert_eq!(exemplar.span_id, hex("00f067aa0ba902b7"));
    assert_eq!(exemplar.trace_id, hex("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert_eq!((exemplar.span_id.len(), exemplar.trace_id.len()), (8, 16));
    let checkout = &sum.data_points[1];
    assert_eq!(checkout.attributes[1], kv("http.response.status_code", Value::IntValue(503)));
    assert_eq!(checkout.value, Some(number_data_point::Value::AsInt(3)));

    let duration = &http.metrics[2];
    assert_eq!(
        (duration.name.as_str(), duration.unit.as_str()),
        ("http.server.request.duration", "s")
    );
    let Some(metric::Data::Histogram(histogram)) = &duration.data else { panic!("histogram") };
    assert_eq!(histogram.aggregation_temporality, 2);
    let point = &histogram.data_points[0];
    assert_eq!(point.attributes, [s("http.route", "/cart")]);
    assert_eq!((point.start_time_unix_nano, point.time_unix_nano, point.count), (T0, T1, 7));
    assert_eq!(point.sum, Some(2.35));
    assert_eq!(point.bucket_counts, [0, 3, 2, 1, 1]);
    assert_eq!(point.explicit_bounds, [0.005, 0.05, 0.5, 1.0]);
    assert_eq!((point.min, point.max), (Some(0.004), Some(1.2)));
    let exemplar = &point.exemplars[0];
    assert_eq!(exemplar.value, Some(prw_proto::otlp::metrics::exemplar::Value::AsDouble(1.2)));
    assert_eq!(exemplar.time_unix_nano, 1_764_064_798_500_000_000);
    assert_eq!(exemplar.span_id, hex("b7ad6b7169203331"));
    assert_eq!(exemplar.trace_id, hex("0af7651916cd43dd8448eb211c80319c"));

    let rpc = &rm.scope_metrics[1];
    let scope = rpc.scope.as_ref().unwrap();
    assert_eq!((scope.name.as_str(), scope.version.as_str()), ("github.com/example/rpc", "1.2.3"));
    assert!(rpc.schema_url.is_empty());

    let Some(metric::Data::ExponentialHistogram(exp)) = &rpc.metrics[0].data else { panic!("exp") };
    assert_eq!(rpc.metrics[0].name, "rpc.server.duration");
    assert!(rpc.metrics[0].description.is_empty());
    assert_eq!(exp.aggregation_temporality, AggregationTemporality::Delta as i32);
    let point = &exp.data_points[0];
    assert_eq!(point.attributes, [s("rpc.method", "GetCart")]);
    assert_eq!((point.start_time_unix_nano, point.time_unix_nano), (1_764_064_790_000_000_000, T1));
    assert_eq!((point.count, point.sum, point.scale, point.zero_count), (12, Some(88.5), 3, 1));
    assert_eq!(point.positive, Some(Buckets { offset: -2, bucket_counts: vec![1, 0, 4, 6] }));
    assert_eq!(point.negative, Some(Buckets::default()));
    assert_eq!((point.min, point.max, point.zero_threshold), (Some(0.0), Some(30.25), 1e-9));

    let Some(metric::Data::Summary(summary)) = &rpc.metrics[1].data else { panic!("summary") };
    assert_eq!(rpc.metrics[1].name, "db.query.latency");
    let point = &summary.data_points[0];
    assert_eq!(
        (point.start_time_unix_nano, point.time_unix_nano, point.count, point.sum),
        (T0, T1, 100, 2500.5)
    );
    let quantiles: Vec<(f64, f64)> =
        point.quantile_values.iter().map(|q| (q.quantile, q.value)).collect();
    assert_eq!(quantiles, [(0.0, 1.5), (0.5, 20.0), (0.99, 180.25), (1.0, f64::INFINITY)]);

    // ---- line 2
    let rm = &requests[1].resource_metrics[0];
    assert_eq!(rm.resource, requests[0].resource_metrics[0].resource);
    assert!(rm.schema_url.is_empty());
    let sm = &rm.scope_metrics[0];
    assert_eq!(sm.scope, Some(Default::default()));
    let Some(metric::Data::Sum(depth)) = &sm.metrics[0].data else { panic!("sum") };
    assert!(!depth.is_monotonic);
    let orders = &depth.data_points[0];
    assert_eq!(orders.value, Some(number_data_point::Value::AsDouble(-3.5)));
    assert_eq!(orders.time_unix_nano, T2);
    assert_eq!(orders.attributes[0], s("queue", "orders"));
    let Some(Value::ArrayValue(tags)) = &orders.attributes[1].value.as_ref().unwrap().value else {
        panic!("array")
    };
    let tags: Vec<_> = tags.values.iter().map(|v| v.value.clone().unwrap()).collect();
    assert_eq!(
        tags,
        [Value::StringValue("fifo".into()), Value::IntValue(3), Value::BoolValue(true)]
    );
    let Some(Value::KvlistValue(owner)) = &orders.attributes[2].value.as_ref().unwrap().value
    else {
        panic!("kvlist")
    };
    assert_eq!(owner.values, [s("team", "infra"), kv("oncall", Value::BoolValue(false))]);
    assert_eq!(orders.attributes[3], kv("queue.key", Value::BytesValue(vec![1, 2, 3, 255])));
    assert_eq!(orders.attributes[4].key, "queue.empty");
    assert_eq!(orders.attributes[4].value, Some(AnyValue { value: None }));
    let refunds = &depth.data_points[1];
    assert_eq!((refunds.value, refunds.flags), (None, 1)); // NoRecordedValue
    let Some(metric::Data::Gauge(temperature)) = &sm.metrics[1].data else { panic!("gauge") };
    assert!(matches!(
        temperature.data_points[0].value,
        Some(number_data_point::Value::AsDouble(x)) if x.is_nan()
    ));
}

#[test]
fn collector_output_loads_the_same_every_way() {
    let lines = json::from_json_lines(COLLECTOR).unwrap();
    let documents = json::from_json_documents(COLLECTOR).unwrap();
    let streamed: Vec<ExportMetricsServiceRequest> =
        json::JsonLinesReader::new(COLLECTOR.as_bytes()).collect::<Result<_, _>>().unwrap();
    let one_by_one: Vec<ExportMetricsServiceRequest> =
        COLLECTOR.lines().map(|line| json::from_json_str(line).unwrap()).collect();
    for other in [&documents, &streamed, &one_by_one] {
        assert!(common::same(&lines, other));
    }
}

#[test]
fn encoder_writes_the_collector_layout() {
    let requests = json::from_json_lines(COLLECTOR).unwrap();
    // The same bytes, but for the two spellings proto3 JSON and Go differ on.
    let expected = COLLECTOR.replace("1e-09", "1e-9").replace("\"+Inf\"", "\"Infinity\"");
    assert_eq!(json::to_json_lines(&requests), expected);
}

#[test]
fn pretty_specification_style_request() {
    let request = json::from_json_str(PRETTY).unwrap();
    assert_eq!(json::from_json_documents(PRETTY).unwrap(), std::slice::from_ref(&request));
    let rm = &request.resource_metrics[0];
    assert_eq!(rm.resource.as_ref().unwrap().attributes, [s("service.name", "inventory")]);
    let sm = &rm.scope_metrics[0];
    assert_eq!(sm.scope.as_ref().unwrap().version, "2.0.1");

    let Some(metric::Data::Sum(sum)) = &sm.metrics[0].data else { panic!("sum") };
    assert_eq!(sm.metrics[0].description, "Items reserved in carts");
    assert_eq!((sum.aggregation_temporality, sum.is_monotonic), (1, true));
    let point = &sum.data_points[0];
    // Numbers above 2^53, exact.
    assert_eq!(point.start_time_unix_nano, 1_544_712_660_300_000_000);
    assert_eq!(point.time_unix_nano, 1_544_712_660_300_000_001);
    assert_eq!(point.value, Some(number_data_point::Value::AsDouble(5.0)));
    assert_eq!(point.attributes, [s("warehouse", "north")]);

    let Some(metric::Data::Gauge(gauge)) = &sm.metrics[1].data else { panic!("gauge") };
    assert_eq!(gauge.data_points[0].value, Some(number_data_point::Value::AsInt(17)));

    let Some(metric::Data::Histogram(histogram)) = &sm.metrics[2].data else { panic!("histogram") };
    let point = &histogram.data_points[0];
    assert_eq!(
        (point.count, point.sum, point.min, point.max),
        (3, Some(3.0), Some(0.5), Some(2.5))
    );
    assert_eq!(point.bucket_counts, [1, 1, 1]);
    assert_eq!(point.explicit_bounds, [1.0, 2.0]);

    // Re-encoded as the Collector would write it, it still decodes to the same request.
    let compact = json::to_json_string(&request);
    assert!(compact.contains(r#""timeUnixNano":"1544712660300000001""#), "{compact}");
    assert_eq!(json::from_json_str(&compact).unwrap(), request);
}
