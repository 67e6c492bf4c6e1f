//! The exporter against Debian's InfluxDB 1.6 (`/api/v1/prom/write`, database created), read
//! back with InfluxQL.

mod e2e_common;

use std::time::Duration;

use e2e_common::{App, INSTANCE, LATENCY_BUCKETS, SERVICE, Workload};
use prw::PrometheusRemoteWriteExporter;
use prw_integration::InfluxDb;

#[test]
fn counters_buckets_gauges_and_target_info_are_stored_exactly() {
    prw_integration::require!(InfluxDb);
    let influx = InfluxDb::builder().start().expect("influxdb starts");
    let app = App::start(
        PrometheusRemoteWriteExporter::builder().endpoint(&influx.write_url()).unwrap(),
        Duration::from_millis(200),
    );
    let w = Workload::new(&app.meter);
    w.record_all();
    std::thread::sleep(Duration::from_millis(400));
    app.flush();

    let last = |measurement: &str, tag: Option<(&str, &str)>| -> f64 {
        let series = influx
            .points(measurement)
            .unwrap_or_else(|e| panic!("{measurement}: {e}\n{}", influx.log()));
        let matching: Vec<_> = series
            .iter()
            .filter(|(tags, _)| tag.is_none_or(|(k, v)| tags.get(k).map(String::as_str) == Some(v)))
            .collect();
        assert_eq!(matching.len(), 1, "{measurement} {tag:?}: {series:?}");
        let (tags, points) = matching[0];
        assert_eq!(tags["job"], SERVICE);
        assert_eq!(tags["instance"], INSTANCE);
        points.last().expect("points").1
    };
    assert_eq!(last("e2e_requests_total", Some(("route", "/a"))), 7.0);
    assert_eq!(last("e2e_requests_total", Some(("route", "/b"))), 3.0);
    for (le, want) in LATENCY_BUCKETS {
        assert_eq!(last("e2e_latency_seconds_bucket", Some(("le", le))), want, "le={le}");
    }
    assert_eq!(last("e2e_latency_seconds_count", None), 5.0);
    assert_eq!(last("e2e_temperature_celsius", None), 21.5);
    assert_eq!(last("target_info", Some(("deployment_environment_name", "test"))), 1.0);

    // a point per collection, in order
    let series = influx.points("e2e_requests_total").unwrap();
    let a = series.iter().find(|(t, _)| t.get("route").map(String::as_str) == Some("/a")).unwrap();
    assert!(a.1.len() >= 2, "{a:?}");
    assert!(a.1.windows(2).all(|p| p[1].0 > p[0].0));
    // InfluxDB drops NaN (stale markers) and still answers 204: a clean shutdown, nothing dropped
    app.provider.shutdown().unwrap();
    let stats = &app.exporter.stats()[0];
    assert_eq!(stats.dropped_total(), prw::Counts::default(), "{stats:?}");
}

#[test]
fn an_unknown_database_is_a_rejection_logged_and_counted_not_a_retry_loop() {
    prw_integration::require!(InfluxDb);
    let influx = InfluxDb::builder().start().expect("influxdb starts");
    let url = format!("{}/api/v1/prom/write?db=no_such_db", influx.base_url());
    let app = App::start(
        PrometheusRemoteWriteExporter::builder().endpoint(&url).unwrap(),
        Duration::from_secs(3600),
    );
    Workload::new(&app.meter).record_all();
    app.flush();
    let stats = &app.exporter.stats()[0];
    assert!(stats.dropped(prw::DropReason::Rejected).samples > 0, "{stats:?}");
    assert_eq!(stats.retried.samples, 0, "a 404 is never retried: {stats:?}");
    app.provider.shutdown().unwrap();
}
