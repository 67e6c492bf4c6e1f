//! `prw send` of OTLP/JSON and OTLP/protobuf files to a real Prometheus (2.42, started on
//! loopback), read back through its query API and compared exactly with what `prw convert`
//! says a backend stores.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use std::collections::BTreeMap;

use common::{fixture, run};
use prw_integration::{Labels, Prometheus, SeriesSamples};
use serde_json::Value;

const T1: i64 = 1_764_064_810_123;
const T2: i64 = 1_764_064_820_123;

/// The float series `prw convert --json` says the file becomes, as Prometheus returns them.
fn expected_float_series(file: &str) -> Vec<SeriesSamples> {
    let converted = run(["convert", "--json", fixture(file).to_str().unwrap()]);
    assert_eq!(converted.code, 0, "{}", converted.stderr);
    let message: Value = serde_json::from_str(&converted.stdout).unwrap();
    let mut series: Vec<SeriesSamples> = message["timeseries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|ts| ts["samples"].as_array().is_some_and(|s| !s.is_empty()))
        .map(|ts| {
            let labels: Labels = ts["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    (
                        l["name"].as_str().unwrap().to_owned(),
                        l["value"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            let samples = ts["samples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["timestamp"].as_str().unwrap().parse().unwrap(),
                        s["value"].as_f64().unwrap(),
                    )
                })
                .collect();
            (labels, samples)
        })
        .collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    series
}

fn stored_float_series(prometheus: &Prometheus) -> Vec<SeriesSamples> {
    let mut stored = prometheus.samples(r#"{job="checkout"}"#, T1 - 1_000, T2 + 1_000).unwrap();
    // the native histogram has no float samples; it is compared on its own
    stored.retain(|(_, samples)| !samples.is_empty());
    stored.sort_by(|a, b| a.0.cmp(&b.0));
    stored
}

/// The native histogram `request_size_bytes` at `time`: count, sum and buckets as the API
/// shows them.
fn stored_histogram(prometheus: &Prometheus, time: i64) -> Value {
    let data = prometheus.query_json("request_size_bytes", Some(time)).unwrap();
    let result = data["result"].as_array().unwrap();
    assert_eq!(result.len(), 1, "{data}");
    result[0]["histogram"][1].clone()
}

fn assert_collector_file_stored(prometheus: &Prometheus) {
    let expected = expected_float_series("collector-file-exporter.jsonl");
    assert_eq!(expected.len(), 20, "classic histogram, counters, gauges, summary, target_info");
    assert_eq!(stored_float_series(prometheus), expected);
    // the exponential histogram arrives as a native histogram, bucket for bucket
    let first = stored_histogram(prometheus, T1);
    assert_eq!(first["count"], "8");
    assert_eq!(first["sum"], "1234.5");
    let buckets: Vec<Value> = first["buckets"].as_array().unwrap().clone();
    assert_eq!(
        buckets,
        serde_json::json!([
            [3, "-1e-128", "1e-128", "1"],
            [0, "64", "128", "2"],
            [0, "128", "256", "1"],
            [0, "256", "512", "4"]
        ])
        .as_array()
        .unwrap()
        .clone()
    );
    let second = stored_histogram(prometheus, T2);
    assert_eq!((second["count"].as_str(), second["sum"].as_str()), (Some("16"), Some("2469")));
}

#[test]
fn otlp_json_over_rw1_arrives_exactly() {
    prw_integration::require!(Prometheus);
    let prometheus = Prometheus::builder().start().unwrap();
    let file = fixture("collector-file-exporter.jsonl");
    let sent = run(["send", "--endpoint", &prometheus.write_url(), file.to_str().unwrap()]);
    assert_eq!(sent.code, 0, "{}\n{}", sent.stderr, prometheus.log());
    // two collections in the file, each a request; 42 float samples and 2 native histograms
    assert_eq!(
        sent.stdout,
        "sent 2 requests, 21 series, 40 samples, 2 histograms; 0 retried, 0 dropped\n"
    );
    assert_collector_file_stored(&prometheus);

    // Sending the older collection again: out of order for every series, and Prometheus
    // refuses the request with 400, which is not retried: exit 1.
    let dir = tempfile::tempdir().unwrap();
    let older = dir.path().join("older.json");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&older, text.lines().next().unwrap()).unwrap();
    let refused = run(["send", "--endpoint", &prometheus.write_url(), older.to_str().unwrap()]);
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert_eq!(refused.stdout, "sent 0 requests, 21 series, 0 samples; 0 retried, 21 dropped\n");
    assert!(
        refused.stderr.contains("out of order"),
        "Prometheus' reason is shown: {}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("prw: 21 points dropped: rejected by the endpoint"),
        "{}",
        refused.stderr
    );
    // and nothing changed
    assert_collector_file_stored(&prometheus);
}

#[test]
fn otlp_protobuf_with_protocol_auto_falls_back_to_rw1() {
    prw_integration::require!(Prometheus);
    // Prometheus 2.42 knows only RW 1.0: it answers an RW 2.0 body with 204 and no Written
    // headers, which `auto` takes as "speak 1.0", and sends again.
    let prometheus = Prometheus::builder().start().unwrap();
    let file = fixture("collector-file-exporter.binpb");
    let sent = run([
        "send",
        "--protocol",
        "auto",
        "--endpoint",
        &prometheus.write_url(),
        file.to_str().unwrap(),
    ]);
    assert_eq!(sent.code, 0, "{}\n{}", sent.stderr, prometheus.log());
    assert!(sent.stdout.ends_with(", 0 dropped\n"), "{}", sent.stdout);
    assert_collector_file_stored(&prometheus);
}

#[test]
fn single_request_and_stdin() {
    prw_integration::require!(Prometheus);
    let prometheus = Prometheus::builder().start().unwrap();
    let body = std::fs::read(fixture("single-request.pb")).unwrap();
    let sent = common::run_with_stdin(["send", "--endpoint", &prometheus.write_url(), "-"], &body);
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    let stored = prometheus.query_at("orders_placed_total", 1_764_064_800_123).unwrap();
    assert_eq!(stored.len(), 1);
    let expected: BTreeMap<String, String> = [
        ("__name__", "orders_placed_total"),
        ("job", "eu/shop"),
        ("otel_scope_name", "shop"),
        ("otel_scope_version", "2.0.0"),
        ("payment_method", "card"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(stored[0], (expected, 17.0));
    let disk = prometheus.query_at("disk_io_bytes_total", 1_764_064_800_123).unwrap();
    assert_eq!(disk[0].1, 1_234_567.5);
}
