//! The exporter against Debian's VictoriaMetrics 1.79, read back as raw stored samples
//! (`/api/v1/export`); and replication to VictoriaMetrics and Prometheus at once.

mod e2e_common;

use std::time::Duration;

use e2e_common::{App, INSTANCE, LATENCY_BUCKETS, LATENCY_SUM, SERVICE, Workload};
use prw::{Endpoint, PrometheusRemoteWriteExporter, Protocol, Wire};
use prw_integration::{Labels, Prometheus, SeriesSamples, VictoriaMetrics};

fn vm() -> VictoriaMetrics {
    VictoriaMetrics::builder().start().expect("victoria-metrics starts")
}

/// The last stored value of the single series `matcher` selects, and its labels.
fn last(vm: &VictoriaMetrics, matcher: &str) -> (Labels, f64) {
    let series: Vec<SeriesSamples> =
        vm.export(matcher).unwrap_or_else(|e| panic!("{matcher}: {e}"));
    assert_eq!(series.len(), 1, "{matcher}: {series:?}");
    let (labels, samples) = series.into_iter().next().unwrap_or_default();
    let v = samples.last().unwrap_or_else(|| panic!("{matcher}: no samples")).1;
    (labels, v)
}

#[test]
fn counters_buckets_gauges_and_target_info_are_stored_exactly() {
    prw_integration::require!(VictoriaMetrics);
    let vm = vm();
    let app = App::start(
        PrometheusRemoteWriteExporter::builder().endpoint(&vm.write_url()).unwrap(),
        Duration::from_millis(200),
    );
    let w = Workload::new(&app.meter);
    w.record_all();
    std::thread::sleep(Duration::from_millis(500));
    app.flush();

    let (labels, v) = last(&vm, r#"e2e_requests_total{route="/a"}"#);
    assert_eq!(v, 7.0);
    assert_eq!(labels["job"], SERVICE);
    assert_eq!(labels["instance"], INSTANCE);
    assert_eq!(last(&vm, r#"e2e_requests_total{route="/b"}"#).1, 3.0);
    for (le, want) in LATENCY_BUCKETS {
        assert_eq!(
            last(&vm, &format!(r#"e2e_latency_seconds_bucket{{le="{le}"}}"#)).1,
            want,
            "le={le}"
        );
    }
    assert_eq!(last(&vm, "e2e_latency_seconds_count").1, 5.0);
    assert!((last(&vm, "e2e_latency_seconds_sum").1 - LATENCY_SUM).abs() < 1e-9);
    assert_eq!(last(&vm, "e2e_temperature_celsius").1, 21.5);
    let (labels, v) = last(&vm, "target_info");
    assert_eq!(v, 1.0);
    assert_eq!(labels["deployment_environment_name"], "test");

    // every collection's sample is stored, in order
    let series = vm.export(r#"e2e_requests_total{route="/a"}"#).unwrap();
    let samples = &series[0].1;
    assert!(samples.len() >= 3, "{samples:?}");
    assert!(samples.windows(2).all(|p| p[1].0 > p[0].0), "{samples:?}");
    app.provider.shutdown().unwrap();
}

#[test]
fn rw2_to_victoria_metrics_falls_back_to_rw1() {
    prw_integration::require!(VictoriaMetrics);
    let vm = vm();
    let app = App::start(
        PrometheusRemoteWriteExporter::builder()
            .endpoint(&vm.write_url())
            .unwrap()
            .protocol(Protocol::Auto),
        Duration::from_secs(3600),
    );
    Workload::new(&app.meter).record_all();
    app.flush();
    let stats = &app.exporter.stats()[0];
    assert_eq!(
        stats.wire,
        Wire::V1,
        "VictoriaMetrics 1.79 answers RW 2.0 with a bare 204: {stats:?}"
    );
    assert_eq!(last(&vm, r#"e2e_requests_total{route="/a"}"#).1, 7.0);
    app.provider.shutdown().unwrap();
}

#[test]
fn replicating_to_victoria_metrics_and_prometheus_gives_both_the_same_data() {
    prw_integration::require!(VictoriaMetrics, Prometheus);
    let vm = vm();
    let prom = Prometheus::builder().lookback_delta(Duration::from_secs(60)).start().unwrap();
    let app = App::start(
        PrometheusRemoteWriteExporter::builder()
            .endpoint(&vm.write_url())
            .unwrap()
            .add_endpoint(Endpoint::new(&prom.write_url()).unwrap()),
        Duration::from_secs(3600), // collections only when flushed: both get exactly these
    );
    let w = Workload::new(&app.meter);
    w.record_all();
    app.flush();
    std::thread::sleep(Duration::from_millis(20));
    app.flush();
    let selector = r#"e2e_requests_total{route="/a"}"#;
    let from_vm = vm.export(selector).unwrap();
    let from_prom = prom.samples(selector, 0, prw_integration::wire::now_ms() + 1).unwrap();
    assert_eq!(from_vm.len(), 1);
    assert_eq!(from_vm[0].1, from_prom[0].1, "the same samples, timestamps included");
    assert_eq!(from_vm[0].1.last().map(|s| s.1), Some(7.0));
    let stats = app.exporter.stats();
    assert_eq!(stats.len(), 2);
    assert_eq!(stats[0].sent, stats[1].sent);
    app.provider.shutdown().unwrap();
}

#[test]
fn a_dead_replica_does_not_hold_the_live_one_back() {
    prw_integration::require!(VictoriaMetrics);
    let vm = vm();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/api/v1/write", l.local_addr().unwrap())
    };
    let app = App::start(
        PrometheusRemoteWriteExporter::builder()
            .endpoint(&dead)
            .unwrap()
            .add_endpoint(Endpoint::new(&vm.write_url()).unwrap())
            .flush_timeout(Duration::from_millis(500)),
        Duration::from_millis(100),
    );
    let w = Workload::new(&app.meter);
    for _ in 0..5 {
        w.requests.add(1, &[prw::api::KeyValue::new("route", "/a")]);
        std::thread::sleep(Duration::from_millis(100));
    }
    // the flush gives up on the dead one; the live one has everything meanwhile
    let _ = app.provider.force_flush();
    let got = prw_integration::wait_for(Duration::from_secs(5), || {
        let s = vm.export(r#"e2e_requests_total{route="/a"}"#).ok()?;
        s.first().and_then(|s| s.1.last()).filter(|v| v.1 == 5.0).map(|_| ())
    });
    assert!(got.is_some(), "{:?}", vm.export(r#"e2e_requests_total{route="/a"}"#));
    let stats = app.exporter.stats();
    assert_eq!(stats[0].sent.samples, 0);
    assert!(stats[0].retried.samples > 0);
    assert!(stats[1].sent.samples > 0);
    assert!(
        app.provider.shutdown_with_timeout(Duration::from_millis(500)).is_err(),
        "the dead one loses its data"
    );
}

#[test]
fn a_large_collection_arrives_whole_and_exact() {
    // 25,000 series: converted in chunks on two threads and sent in ~13 requests
    prw_integration::require!(VictoriaMetrics);
    let vm = vm();
    let app = App::start(
        PrometheusRemoteWriteExporter::builder().endpoint(&vm.write_url()).unwrap(),
        Duration::from_secs(3600),
    );
    let counter = app.meter.u64_counter("e2e.large").build();
    for i in 0..25_000u64 {
        counter.add(i % 7 + 1, &[prw::api::KeyValue::new("id", i.to_string())]);
    }
    app.flush();
    let series = vm.export("e2e_large_total").unwrap();
    assert_eq!(series.len(), 25_000);
    for (labels, samples) in &series {
        let i: u64 = labels["id"].parse().unwrap();
        assert_eq!(samples.len(), 1, "{labels:?}");
        assert_eq!(samples[0].1, (i % 7 + 1) as f64, "{labels:?}");
    }
    let stats = &app.exporter.stats()[0];
    assert_eq!(stats.dropped_total(), prw::Counts::default(), "{stats:?}");
    assert!(stats.requests_sent >= 13, "{stats:?}");
    app.provider.shutdown().unwrap();
}
