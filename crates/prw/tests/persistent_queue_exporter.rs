//! The persistent queue behind the exporter, through its public API, with a transport that
//! can be switched down and up: an outage followed by a restart of the exporter loses
//! nothing, keeps order, and the queue's bounds and lock show up as the exporter's own
//! counters and build errors.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prw::persistent_queue::PersistentQueueConfig;
use prw::proto::otlp::common::{AnyValue, KeyValue, any_value};
use prw::proto::otlp::metrics::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use prw::proto::otlp::resource::Resource;
use prw::proto::prost::Message;
use prw::proto::{rw1, rw2};
use prw::sdk::export::MetricExporter;
use prw::transport::{Error, ErrorKind, Request, Response, SendFuture, Transport};
use prw::{BuildError, DropReason, PrometheusRemoteWriteExporter, Protocol};

const T0: u64 = 1_700_000_000_000_000_000;
const SEC: u64 = 1_000_000_000;

/// Refuses connections while down; while up, keeps every body and answers 204 (RW 1.0) or,
/// when it speaks only RW 1.0, 415 to RW 2.0.
#[derive(Debug, Default)]
struct Switch {
    up: AtomicBool,
    v1_only: bool,
    received: Mutex<Vec<rw1::WriteRequest>>,
    attempts: Mutex<u64>,
}

impl Transport for Switch {
    fn send(&self, request: Request) -> SendFuture<'_> {
        *self.attempts.lock().expect("lock") += 1;
        let up = self.up.load(Ordering::SeqCst);
        let v2 = request
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("io.prometheus.write.v2"));
        let result = if !up {
            Err(Error::new(ErrorKind::Connect, "connection refused (test: the endpoint is down)"))
        } else if v2 && self.v1_only {
            Ok(Response::new(http::StatusCode::UNSUPPORTED_MEDIA_TYPE))
        } else {
            let raw = snap::raw::Decoder::new().decompress_vec(&request.body).expect("snappy");
            if v2 {
                // Not used with v1_only; keep the series count honest anyway.
                let r = rw2::Request::decode(raw.as_slice()).expect("rw2");
                assert!(!r.timeseries.is_empty());
            } else {
                let r = rw1::WriteRequest::decode(raw.as_slice()).expect("rw1");
                self.received.lock().expect("lock").push(r);
            }
            Ok(Response::new(http::StatusCode::NO_CONTENT))
        };
        Box::pin(async move { result })
    }
}

impl Switch {
    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }

    /// (timestamp ms, value) of every `tick` sample received, in arrival order.
    fn ticks(&self) -> Vec<(i64, f64)> {
        let mut out = Vec::new();
        for r in self.received.lock().expect("lock").iter() {
            for ts in &r.timeseries {
                if ts.labels.iter().any(|l| l.name == "__name__" && l.value == "tick") {
                    out.extend(ts.samples.iter().map(|s| (s.timestamp, s.value)));
                }
            }
        }
        out
    }
}

fn collection(i: u64) -> ResourceMetrics {
    let service = KeyValue {
        key: "service.name".into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue("durable".into())) }),
    };
    ResourceMetrics {
        resource: Some(Resource { attributes: vec![service], ..Resource::default() }),
        scope_metrics: vec![ScopeMetrics {
            metrics: vec![Metric {
                name: "tick".into(),
                data: Some(metric::Data::Gauge(Gauge {
                    data_points: vec![NumberDataPoint {
                        time_unix_nano: T0 + i * SEC,
                        value: Some(number_data_point::Value::AsDouble(i as f64)),
                        ..NumberDataPoint::default()
                    }],
                })),
                ..Metric::default()
            }],
            ..ScopeMetrics::default()
        }],
        ..ResourceMetrics::default()
    }
}

fn want(range: std::ops::RangeInclusive<u64>) -> Vec<(i64, f64)> {
    range.map(|i| (((T0 + i * SEC) / 1_000_000) as i64, i as f64)).collect()
}

fn exporter(
    switch: &Arc<Switch>,
    queue: impl Into<PersistentQueueConfig>,
    protocol: Protocol,
) -> Result<PrometheusRemoteWriteExporter, BuildError> {
    PrometheusRemoteWriteExporter::builder()
        .endpoint("http://127.0.0.1:9/api/v1/write")?
        .transport(switch.clone())
        .protocol(protocol)
        .persistent_queue(queue)
        .self_metrics(false)
        .stale_markers_on_shutdown(false)
        .target_info(false)
        .min_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(20))
        .build()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").metadata().expect("stat").len())
        .sum()
}

#[test]
fn an_outage_and_a_restart_lose_nothing_and_keep_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let switch = Arc::new(Switch::default());
    let first = exporter(&switch, tmp.path(), Protocol::V1).expect("build");
    for i in 1..=20 {
        first.enqueue(collection(i)).expect("enqueue");
    }
    // The endpoint is down: the shutdown deadline passes with everything still queued, and
    // the exporter says nothing was lost (it is on disk).
    std::thread::sleep(Duration::from_millis(100));
    block_on(first.shutdown(Duration::from_millis(200))).expect("nothing lost");
    assert!(*switch.attempts.lock().expect("lock") > 0, "it tried");
    assert!(first.stats()[0].retried.samples > 0, "the retries are counted");
    drop(first);

    switch.set_up(true);
    let second = exporter(&switch, tmp.path(), Protocol::V1).expect("build again");
    for i in 21..=25 {
        second.enqueue(collection(i)).expect("enqueue");
    }
    block_on(second.force_flush()).expect("flush");
    assert_eq!(switch.ticks(), want(1..=25), "every collection, once, in order");
    block_on(second.shutdown(Duration::from_secs(5))).expect("shutdown");
}

#[test]
fn requests_stored_as_rw2_go_out_as_rw1_when_the_endpoint_falls_back() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let switch = Arc::new(Switch { v1_only: true, ..Switch::default() });
    let first = exporter(&switch, tmp.path(), Protocol::V2).expect("build");
    for i in 1..=10 {
        first.enqueue(collection(i)).expect("enqueue");
    }
    block_on(first.shutdown(Duration::from_millis(100))).expect("kept on disk");
    drop(first);

    switch.set_up(true);
    let second = exporter(&switch, tmp.path(), Protocol::V2).expect("build again");
    for i in 11..=12 {
        second.enqueue(collection(i)).expect("enqueue");
    }
    block_on(second.force_flush()).expect("flush");
    assert_eq!(switch.ticks(), want(1..=12));
    assert!(second.stats()[0].wire == prw::Wire::V1, "fell back");
    block_on(second.shutdown(Duration::from_secs(5))).expect("shutdown");
}

#[test]
fn the_disk_bound_drops_the_oldest_and_the_exporter_counts_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let switch = Arc::new(Switch::default());
    let config = PersistentQueueConfig::new(tmp.path()).max_bytes(1 << 20);
    let exporter = exporter(&switch, config, Protocol::V1).expect("build");
    // Big collections: 200 series each with random label values, ~8 KiB compressed, all
    // with the collection's number as their value.
    let mut rng = fastrand::Rng::with_seed(1);
    for i in 1..=400u64 {
        let mut rm = collection(i);
        if let Some(metric::Data::Gauge(g)) = &mut rm.scope_metrics[0].metrics[0].data {
            let p = g.data_points[0].clone();
            g.data_points = (0..200)
                .map(|_| NumberDataPoint {
                    attributes: vec![KeyValue {
                        key: "k".into(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(format!(
                                "{:016x}{:016x}",
                                rng.u64(..),
                                rng.u64(..)
                            ))),
                        }),
                    }],
                    ..p.clone()
                })
                .collect();
        }
        exporter.enqueue(rm).expect("enqueue");
        assert!(dir_bytes(tmp.path()) <= (1 << 20) + 64, "the queue directory stays bounded");
    }
    let dropped = exporter.stats()[0].dropped(DropReason::QueueFull).samples;
    assert!(dropped > 0, "{:?}", exporter.stats());
    // What is left is the newest data, whole collections, delivered in order once the
    // endpoint is up.
    switch.set_up(true);
    block_on(exporter.force_flush()).expect("flush");
    let values: Vec<u64> = switch.ticks().iter().map(|t| t.1 as u64).collect();
    assert!(values.windows(2).all(|w| w[0] <= w[1]), "in order");
    // Collection 1 was in flight (in memory, retried) when its segment was dropped: it is
    // delivered, not counted as dropped. After it, a gap, then the newest, with no hole.
    let mut collections: Vec<u64> = values.clone();
    collections.dedup();
    assert!(values.iter().filter(|v| **v == 1).count() == 200, "the request in flight");
    let resumed = collections[1];
    assert!(resumed > 2, "the oldest were dropped: {collections:?}");
    assert_eq!(collections[1..], (resumed..=400).collect::<Vec<_>>()[..], "no hole");
    assert_eq!(values.len() as u64, (1 + 400 - resumed + 1) * 200, "whole collections");
    assert_eq!(values.last().copied(), Some(400), "the newest arrived");
    let dropped = exporter.stats()[0].dropped(DropReason::QueueFull).samples;
    assert_eq!(values.len() as u64 + dropped, 400 * 200, "delivered or counted as dropped");
    block_on(exporter.shutdown(Duration::from_secs(5))).expect("shutdown");
}

#[test]
fn two_exporters_cannot_share_a_queue_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let switch = Arc::new(Switch::default());
    let first = exporter(&switch, tmp.path(), Protocol::V1).expect("build");
    let err = exporter(&switch, tmp.path(), Protocol::V1).expect_err("locked");
    let message = err.to_string();
    assert!(matches!(err, BuildError::PersistentQueue { .. }), "{err:?}");
    assert!(message.contains(&tmp.path().display().to_string()), "{message}");
    assert!(message.contains("is in use by process"), "{message}");
    block_on(first.shutdown(Duration::from_millis(50))).expect("shutdown");
}
