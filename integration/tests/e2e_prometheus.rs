//! The exporter against Debian's Prometheus 2.42 (remote-write receiver and native histograms
//! on), read back exactly through its query API.

mod e2e_common;

use std::time::Duration;

use e2e_common::{App, INSTANCE, LATENCY_BUCKETS, LATENCY_SUM, SERVICE, SIZES, Workload, workers};
use prw::{PrometheusRemoteWriteExporter, Protocol, Wire};
use prw_integration::{Labels, Prometheus, wait_for};

fn prometheus() -> Prometheus {
    Prometheus::builder()
        .lookback_delta(Duration::from_secs(60))
        .start()
        .expect("prometheus starts")
}

fn exporter(p: &Prometheus) -> prw::PrometheusRemoteWriteExporterBuilder {
    PrometheusRemoteWriteExporter::builder().endpoint(&p.write_url()).expect("endpoint")
}

/// The value of the single series `promql` selects.
fn one(p: &Prometheus, promql: &str) -> (Labels, f64) {
    let mut r = p.query(promql).unwrap_or_else(|e| panic!("{promql}: {e}\n{}", p.log()));
    assert_eq!(r.len(), 1, "{promql}: {r:?}");
    r.remove(0)
}

fn value(p: &Prometheus, promql: &str) -> f64 {
    one(p, promql).1
}

#[test]
fn counters_histograms_gauges_and_target_info_arrive_exactly() {
    prw_integration::require!(Prometheus);
    let p = prometheus();
    let app = App::start(exporter(&p), Duration::from_millis(200));
    let w = Workload::new(&app.meter);
    w.record_all();
    std::thread::sleep(Duration::from_millis(500)); // a couple of periodic pushes too
    app.flush();

    // counters under their _total names, with job/instance and the scope label
    let (labels, v) = one(&p, r#"e2e_requests_total{route="/a"}"#);
    assert_eq!(v, 7.0);
    assert_eq!(labels["job"], SERVICE);
    assert_eq!(labels["instance"], INSTANCE);
    assert_eq!(labels["otel_scope_name"], "e2e");
    assert_eq!(value(&p, r#"e2e_requests_total{route="/b"}"#), 3.0);

    // the explicit histogram: cumulative buckets, +Inf = count, sum
    for (le, want) in LATENCY_BUCKETS {
        assert_eq!(
            value(&p, &format!(r#"e2e_latency_seconds_bucket{{le="{le}"}}"#)),
            want,
            "le={le}"
        );
    }
    assert_eq!(value(&p, "e2e_latency_seconds_count"), 5.0);
    assert!((value(&p, "e2e_latency_seconds_sum") - LATENCY_SUM).abs() < 1e-9);
    assert_eq!(p.query("e2e_latency_seconds_bucket").unwrap().len(), 4, "one series per bucket");

    // the exponential histogram as a native histogram
    assert_eq!(value(&p, "histogram_count(e2e_size_bytes)"), SIZES.len() as f64);
    assert_eq!(value(&p, "histogram_sum(e2e_size_bytes)"), SIZES.iter().sum::<f64>());
    // its buckets are right too: 1 and 2 below 3, 4 and 1000 above
    let below_3 = value(&p, "histogram_fraction(0, 3, e2e_size_bytes)");
    assert!((below_3 - 0.5).abs() < 1e-9, "{below_3}");

    // the gauge, with its unit suffix
    assert_eq!(value(&p, "e2e_temperature_celsius"), 21.5);

    // target_info carries the resource attributes that are not job/instance
    let (labels, v) = one(&p, "target_info");
    assert_eq!(v, 1.0);
    assert_eq!(labels["job"], SERVICE);
    assert_eq!(labels["instance"], INSTANCE);
    assert_eq!(labels["deployment_environment_name"], "test");
    assert_eq!(labels["telemetry_sdk_language"], "rust");

    // the exporter's own metrics arrive through the same pipeline
    let sent = value(
        &p,
        &format!(r#"prometheus_remote_storage_samples_total{{url="{}"}}"#, p.write_url()),
    );
    assert!(sent > 0.0);
    let stats = &app.exporter.stats()[0];
    assert_eq!(stats.dropped_total(), prw::Counts::default(), "{stats:?}");
    assert!(stats.sent.histograms >= 1);
    app.provider.shutdown().unwrap();
}

#[test]
fn several_intervals_arrive_in_order_and_counters_only_grow() {
    prw_integration::require!(Prometheus);
    let p = prometheus();
    let start = prw_integration::wire::now_ms();
    let app = App::start(exporter(&p), Duration::from_millis(100));
    let w = Workload::new(&app.meter);
    for _ in 0..8 {
        w.requests.add(1, &[prw::api::KeyValue::new("route", "/a")]);
        std::thread::sleep(Duration::from_millis(120));
    }
    app.flush();
    let end = prw_integration::wire::now_ms() + 1;
    let series = p.samples(r#"e2e_requests_total{route="/a"}"#, start, end).unwrap();
    assert_eq!(series.len(), 1);
    let samples = &series[0].1;
    assert!(samples.len() >= 5, "one sample per collection: {samples:?}");
    for pair in samples.windows(2) {
        assert!(pair[1].0 > pair[0].0, "timestamps strictly increase: {samples:?}");
        assert!(pair[1].1 >= pair[0].1, "a counter never goes down: {samples:?}");
    }
    assert_eq!(samples.last().unwrap().1, 8.0);
    app.provider.shutdown().unwrap();
}

#[test]
fn stale_markers_end_series_that_stop_and_every_series_at_shutdown() {
    prw_integration::require!(Prometheus);
    let p = prometheus();
    let app = App::start(exporter(&p), Duration::from_secs(3600));
    let w2 = workers(&app.meter);
    let w = Workload::new(&app.meter);
    w.record_all();
    app.flush();
    let before = prw_integration::wire::now_ms();
    assert_eq!(p.query("e2e_workers").unwrap().len(), 2);

    // the callback stops reporting w2: its series ends at the next collection
    w2.store(false, std::sync::atomic::Ordering::Relaxed);
    app.flush();
    let now = p.query("e2e_workers").unwrap();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(now[0].0["worker"], "w1");
    // it was there before: ended, not lost
    assert_eq!(p.query_at(r#"e2e_workers{worker="w2"}"#, before).unwrap()[0].1, 2.0);

    // graceful shutdown ends everything at once (instead of five minutes later)
    app.provider.shutdown().unwrap();
    for metric in [
        "e2e_workers",
        "e2e_requests_total",
        "e2e_latency_seconds_bucket",
        "e2e_temperature_celsius",
        "target_info",
    ] {
        let left = p.query(metric).unwrap();
        assert!(left.is_empty(), "{metric} still live after shutdown: {left:?}");
        assert!(!p.query_at(metric, before).unwrap().is_empty(), "{metric} was there before");
    }
    // native histograms end too
    let json = p.query_json("e2e_size_bytes", None).unwrap();
    assert_eq!(json["result"].as_array().map(Vec::len), Some(0), "{json}");
}

#[test]
fn rw2_to_prometheus_2_42_falls_back_to_rw1_and_the_data_arrives() {
    prw_integration::require!(Prometheus);
    for protocol in [Protocol::Auto, Protocol::V2] {
        let p = prometheus(); // a fresh one each time: the data read back is this run's
        let app = App::start(exporter(&p).protocol(protocol), Duration::from_secs(3600));
        let w = Workload::new(&app.meter);
        w.record_all();
        app.flush();
        let stats = &app.exporter.stats()[0];
        // 2.42 has no RW 2.0 receiver: it decodes the body as RW 1.0, finds nothing and answers
        // 204 without the Written headers, which must not count as delivered
        assert_eq!(stats.wire, Wire::V1, "{protocol:?}: {stats:?}");
        assert_eq!(stats.dropped_total(), prw::Counts::default(), "{protocol:?}: {stats:?}");
        let got = wait_for(Duration::from_secs(5), || {
            p.query(r#"e2e_requests_total{route="/a"}"#).ok().filter(|r| !r.is_empty())
        });
        assert_eq!(got.expect("data arrived")[0].1, 7.0, "{protocol:?}");
        assert_eq!(value(&p, "histogram_count(e2e_size_bytes)"), 4.0);
        app.provider.shutdown().unwrap();
    }
}

#[test]
fn a_prometheus_outage_is_ridden_out_and_nothing_is_lost() {
    prw_integration::require!(Prometheus);
    let mut p = prometheus();
    let start = prw_integration::wire::now_ms();
    let app = App::start(exporter(&p).max_retry_duration(None), Duration::from_millis(100));
    let w = Workload::new(&app.meter);
    w.requests.add(1, &[prw::api::KeyValue::new("route", "/a")]);
    app.flush();
    p.stop();
    for _ in 0..5 {
        w.requests.add(1, &[prw::api::KeyValue::new("route", "/a")]);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(app.exporter.stats()[0].retried.samples > 0);
    p.start().expect("prometheus restarts on its data");
    app.flush();
    let end = prw_integration::wire::now_ms() + 1;
    let series = p.samples(r#"e2e_requests_total{route="/a"}"#, start, end).unwrap();
    let samples = &series[0].1;
    assert_eq!(samples.last().unwrap().1, 6.0);
    for pair in samples.windows(2) {
        assert!(pair[1].0 > pair[0].0 && pair[1].1 >= pair[0].1, "{samples:?}");
    }
    // every collection made during the outage is there: none dropped
    let stats = &app.exporter.stats()[0];
    assert_eq!(stats.dropped_total(), prw::Counts::default(), "{stats:?}");
    assert!(samples.len() >= 6, "{samples:?}");
    app.provider.shutdown().unwrap();
}

#[test]
fn basic_auth_through_the_exporter_and_a_wrong_password_counted_as_rejected() {
    prw_integration::require!(Prometheus);
    let p = Prometheus::builder()
        .lookback_delta(Duration::from_secs(60))
        .basic_auth("pusher", "correct horse")
        .start()
        .expect("prometheus with basic auth starts");
    let app = App::start(
        exporter(&p).basic_auth("pusher", prw::Secret::new("correct horse")),
        Duration::from_secs(3600),
    );
    Workload::new(&app.meter).record_all();
    app.flush();
    assert_eq!(value(&p, r#"e2e_requests_total{route="/a"}"#), 7.0);
    app.provider.shutdown().unwrap();

    let wrong = App::start(
        exporter(&p).basic_auth("pusher", prw::Secret::new("wrong")),
        Duration::from_secs(3600),
    );
    Workload::new(&wrong.meter).record_all();
    wrong.flush();
    let stats = &wrong.exporter.stats()[0];
    assert!(stats.dropped(prw::DropReason::Rejected).samples > 0, "401 is final: {stats:?}");
    assert_eq!(stats.retried.samples, 0, "{stats:?}");
    assert_eq!(stats.sent.samples, 0, "{stats:?}");
    let _ = wrong.provider.shutdown();
}

#[test]
fn through_an_http_proxy() {
    prw_integration::require!(Prometheus, prw_integration::TinyProxy);
    let p = prometheus();
    let proxy = prw_integration::TinyProxy::builder().start().expect("tinyproxy starts");
    let app = App::start(exporter(&p).proxy(proxy.url()), Duration::from_secs(3600));
    Workload::new(&app.meter).record_all();
    app.flush();
    assert_eq!(value(&p, r#"e2e_requests_total{route="/a"}"#), 7.0);
    let through = proxy.requests();
    assert!(through.iter().any(|r| r.contains("/api/v1/write")), "{through:?}\n{}", proxy.log());
    app.provider.shutdown().unwrap();
}
