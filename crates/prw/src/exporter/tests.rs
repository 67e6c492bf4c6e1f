use std::sync::Arc;
use std::time::Duration;

use prw_proto::otlp::metrics::{AggregationTemporality, metric, number_data_point};
use prw_sdk::export::{ExportError, MetricExporter};

use super::*;
use crate::protocol::Wire;
use crate::testing::otlp::{T0, counter, gauge, point, resource, sum};
use crate::testing::{FakeTransport, Reply, block_on};

const SEC: u64 = 1_000_000_000;

fn builder(fake: &Arc<FakeTransport>) -> PrometheusRemoteWriteExporterBuilder {
    PrometheusRemoteWriteExporter::builder()
        .endpoint("http://127.0.0.1:9/api/v1/write")
        .unwrap()
        .transport(fake.clone())
        .min_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(10))
}

fn find<'a>(
    series: &'a [(crate::testing::Labels, Vec<(i64, f64)>)],
    name: &str,
    extra: &[(&str, &str)],
) -> &'a Vec<(i64, f64)> {
    &series
        .iter()
        .find(|(labels, _)| {
            labels.iter().any(|(k, v)| k == "__name__" && v == name)
                && extra.iter().all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .unwrap_or_else(|| panic!("no series {name} {extra:?}"))
        .1
}

#[test]
fn without_a_runtime_it_runs_its_own_and_delivers_prometheus_series() {
    let fake = FakeTransport::scripted(vec![]);
    let exporter = builder(&fake).build().unwrap();
    assert_eq!(exporter.temporality(), prw_sdk::export::Temporality::Cumulative);
    for i in 1..=2u64 {
        let rm = resource(
            "checkout",
            vec![
                counter(
                    "http.server.requests",
                    vec![point(&[("http.route", "/cart")], 10.0 * i as f64, T0 + i * SEC)],
                ),
                gauge("queue.depth", vec![point(&[], 3.0, T0 + i * SEC)]),
            ],
        );
        block_on(exporter.export(rm)).unwrap();
        block_on(exporter.force_flush()).unwrap();
    }
    let series = fake.samples_by_series();
    let t = |i: u64| ((T0 + i * SEC) / 1_000_000) as i64;
    assert_eq!(
        find(
            &series,
            "http_server_requests_total",
            &[("http_route", "/cart"), ("job", "checkout"), ("instance", "i-1")]
        ),
        &vec![(t(1), 10.0), (t(2), 20.0)]
    );
    assert_eq!(find(&series, "queue_depth", &[]), &vec![(t(1), 3.0), (t(2), 3.0)]);
    assert_eq!(find(&series, "target_info", &[("host_name", "h")]).len(), 2);
    // the exporter's own metrics ride along, at the collection's time
    let sent = find(
        &series,
        "prometheus_remote_storage_samples_total",
        &[("url", "http://127.0.0.1:9/api/v1/write")],
    );
    assert_eq!(sent[0].0, t(1));
    assert_eq!(sent[0].1, 0.0, "nothing was delivered before the first collection");
    assert!(sent[1].1 > 0.0);
    block_on(exporter.shutdown(Duration::from_secs(5))).unwrap();
}

#[test]
fn rw1_metadata_is_sent_and_can_be_turned_off() {
    let fake = FakeTransport::scripted(vec![]);
    let exporter = builder(&fake).self_metrics(false).build().unwrap();
    let mut c = counter("jobs", vec![point(&[], 1.0, T0 + SEC)]);
    c.description = "jobs done".into();
    block_on(exporter.export(resource("svc", vec![c.clone()]))).unwrap();
    block_on(exporter.force_flush()).unwrap();
    let reqs = fake.requests();
    let meta = &reqs[0].metadata;
    assert!(
        meta.iter().any(|m| m.metric_family_name == "jobs_total" && m.help == "jobs done"),
        "{meta:?}"
    );

    let fake = FakeTransport::scripted(vec![]);
    let exporter = builder(&fake).self_metrics(false).send_metadata(false).build().unwrap();
    block_on(exporter.export(resource("svc", vec![c]))).unwrap();
    block_on(exporter.force_flush()).unwrap();
    assert!(fake.requests()[0].metadata.is_empty());
}

#[test]
fn collections_are_cut_into_requests_of_at_most_max_series() {
    let fake = FakeTransport::scripted(vec![]);
    let exporter =
        builder(&fake).self_metrics(false).target_info(false).send_metadata(false).build().unwrap();
    let ids: Vec<String> = (0..4_500).map(|i| i.to_string()).collect();
    let points = ids.iter().map(|id| point(&[("id", id)], 1.0, T0 + SEC)).collect();
    block_on(exporter.export(resource("svc", vec![gauge("g", points)]))).unwrap();
    block_on(exporter.force_flush()).unwrap();
    let sizes: Vec<usize> = fake.requests().iter().map(|r| r.series.len()).collect();
    assert_eq!(sizes, vec![2_000, 2_000, 500]);
    assert_eq!(exporter.stats()[0].sent.samples, 4_500);
    assert_eq!(exporter.stats()[0].requests_sent, 3);
}

#[test]
fn shutdown_ends_every_series_with_one_stale_marker_after_its_last_sample() {
    let fake = FakeTransport::scripted(vec![]);
    let exporter = builder(&fake).self_metrics(false).build().unwrap();
    // a point from the future: the marker must still come after it
    let future = T0 + 10 * 365 * 24 * 3600 * SEC;
    block_on(exporter.export(resource(
        "svc",
        vec![
            counter(
                "c",
                vec![point(&[("k", "a")], 1.0, T0 + SEC), point(&[("k", "b")], 2.0, T0 + SEC)],
            ),
            gauge("g", vec![point(&[], 5.0, future)]),
        ],
    )))
    .unwrap();
    block_on(exporter.shutdown(Duration::from_secs(5))).unwrap();
    let series = fake.samples_by_series();
    assert!(!series.is_empty());
    for (labels, samples) in &series {
        assert_eq!(samples.len(), 2, "{labels:?}");
        assert_eq!(samples[1].1.to_bits(), prw_convert::STALE_NAN_BITS, "{labels:?}");
        assert!(samples[1].0 > samples[0].0, "{labels:?}");
    }
    let g = find(&series, "g", &[]);
    assert_eq!(g[1].0, g[0].0 + 1);
    // and after shutdown nothing more is taken
    let err = block_on(exporter.export(resource("svc", vec![]))).unwrap_err();
    assert_eq!(err, ExportError::AlreadyShutdown);
    assert_eq!(
        block_on(exporter.shutdown(Duration::from_secs(1))),
        Err(ExportError::AlreadyShutdown)
    );
}

#[test]
fn stale_markers_on_shutdown_can_be_turned_off() {
    let fake = FakeTransport::scripted(vec![]);
    let exporter =
        builder(&fake).self_metrics(false).stale_markers_on_shutdown(false).build().unwrap();
    block_on(exporter.export(resource("svc", vec![gauge("g", vec![point(&[], 5.0, T0 + SEC)])])))
        .unwrap();
    block_on(exporter.shutdown(Duration::from_secs(5))).unwrap();
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn shutdown_with_a_dead_endpoint_returns_at_the_deadline_and_counts_the_loss() {
    let fake = FakeTransport::new(|_| Reply::status(503));
    let exporter = builder(&fake).self_metrics(false).build().unwrap();
    block_on(exporter.export(resource("svc", vec![gauge("g", vec![point(&[], 5.0, T0 + SEC)])])))
        .unwrap();
    let started = std::time::Instant::now();
    let result = block_on(exporter.shutdown(Duration::from_millis(200)));
    assert_eq!(result, Err(ExportError::Timeout(Duration::from_millis(200))));
    assert!(started.elapsed() < Duration::from_secs(5));
    let stats = &exporter.stats()[0];
    assert!(stats.dropped(crate::DropReason::Shutdown).samples >= 2, "{stats:?}");
    assert_eq!(stats.pending_points, 0);
}

#[test]
fn force_flush_gives_up_after_the_flush_timeout() {
    let fake = FakeTransport::new(|_| Reply::status(503));
    let exporter = builder(&fake)
        .self_metrics(false)
        .flush_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    block_on(exporter.export(resource("svc", vec![gauge("g", vec![point(&[], 5.0, T0 + SEC)])])))
        .unwrap();
    assert_eq!(
        block_on(exporter.force_flush()),
        Err(ExportError::Timeout(Duration::from_millis(100)))
    );
}

#[test]
fn every_endpoint_gets_every_collection_and_a_dead_one_holds_nobody_back() {
    let dead = FakeTransport::new(|_| Reply::status(500));
    let alive = FakeTransport::scripted(vec![]);
    let exporter = builder(&dead)
        .self_metrics(false)
        .add_endpoint(
            Endpoint::with_transport("http://127.0.0.2:9/api/v1/write", alive.clone()).unwrap(),
        )
        .build()
        .unwrap();
    for i in 1..=3 {
        block_on(
            exporter.export(resource(
                "svc",
                vec![gauge("g", vec![point(&[], i as f64, T0 + i * SEC)])],
            )),
        )
        .unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while exporter.stats()[1].requests_sent < 3 {
        assert!(std::time::Instant::now() < deadline, "{:?}", exporter.stats());
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = exporter.stats();
    assert_eq!(stats[0].sent.samples, 0);
    assert!(stats[0].retried.samples > 0);
    assert_eq!(stats[1].url, "http://127.0.0.2:9/api/v1/write");
    assert_eq!(stats[1].sent.samples, 6);
}

#[test]
fn conversion_drops_are_counted_in_the_self_metrics() {
    let fake = FakeTransport::scripted(vec![]);
    let exporter = builder(&fake).build().unwrap();
    let delta = sum("d", vec![point(&[], 1.0, T0 + SEC)], AggregationTemporality::Delta);
    block_on(exporter.export(resource("svc", vec![delta.clone()]))).unwrap();
    block_on(exporter.export(resource("svc", vec![delta]))).unwrap();
    block_on(exporter.force_flush()).unwrap();
    let series = fake.samples_by_series();
    let drops = find(
        &series,
        "prometheus_remote_storage_conversion_dropped_points_total",
        &[("reason", "delta_temporality")],
    );
    assert_eq!(drops.last().unwrap().1, 1.0, "counted after the first collection");
}

#[test]
fn rw2_end_to_end_through_the_fake() {
    let fake = FakeTransport::scripted(vec![]);
    let exporter = builder(&fake).protocol(Protocol::V2).self_metrics(false).build().unwrap();
    block_on(exporter.export(resource("svc", vec![counter("c", vec![point(&[], 4.0, T0 + SEC)])])))
        .unwrap();
    block_on(exporter.force_flush()).unwrap();
    let reqs = fake.requests();
    assert!(reqs.iter().all(|r| r.wire == Wire::V2));
    assert_eq!(
        find(&fake.samples_by_series(), "c_total", &[]),
        &vec![(((T0 + SEC) / 1_000_000) as i64, 4.0)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_a_multi_thread_runtime_it_uses_that_runtime() {
    let fake = FakeTransport::scripted(vec![]);
    let exporter = builder(&fake).self_metrics(false).build().unwrap();
    assert!(!exporter.inner.runtime.is_own());
    exporter
        .export(resource("svc", vec![gauge("g", vec![point(&[], 1.0, T0 + SEC)])]))
        .await
        .unwrap();
    exporter.force_flush().await.unwrap();
    assert_eq!(fake.requests().len(), 1);
    exporter.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[test]
fn build_errors_name_the_setting_and_the_fix() {
    let ok = || {
        PrometheusRemoteWriteExporter::builder()
            .endpoint("http://localhost:9090/api/v1/write")
            .unwrap()
    };
    let cases: Vec<(PrometheusRemoteWriteExporterBuilder, &str)> = vec![
        (PrometheusRemoteWriteExporter::builder(), "no endpoint: call .endpoint("),
        (PrometheusRemoteWriteExporter::builder().basic_auth("u", "p"), "no endpoint"),
        (ok().max_series_per_request(0), "max_series_per_request is zero"),
        (ok().max_queue_samples(0), "max_queue_samples is zero"),
        (ok().max_queue_bytes(0), "max_queue_bytes is zero"),
        (ok().min_backoff(Duration::ZERO), "min_backoff is zero"),
        (ok().max_retry_duration(Some(Duration::ZERO)), "max_retry_duration is zero"),
        (ok().max_request_bytes(10), "max_request_bytes (10) is below 1 KiB"),
        (
            ok().min_backoff(Duration::from_secs(10)),
            "min_backoff (10s) is greater than max_backoff (5s)",
        ),
        (
            ok().protocol(Protocol::Auto).translation_strategy(TranslationStrategy::NoTranslation),
            "which Remote Write 1.0 cannot carry",
        ),
        (
            ok().translation_strategy(TranslationStrategy::NoUtf8EscapingWithSuffixes),
            "Remote Write 1.0",
        ),
        (ok().namespace("1bad"), "invalid namespace"),
        (ok().external_label("__x", "y"), "invalid external label name"),
        (
            ok().add_endpoint(Endpoint::new("http://localhost:9090/api/v1/write").unwrap()),
            "configured twice",
        ),
        (ok().tls_ca_file("/nonexistent/ca.pem"), "endpoint http://localhost:9090/api/v1/write: "),
        (ok().basic_auth("", "p"), "username is empty"),
    ];
    for (b, want) in cases {
        let err = b.build().unwrap_err().to_string();
        assert!(err.contains(want), "want {want:?} in {err:?}");
    }
    // V2 without fallback may use UTF-8 names
    ok().protocol(Protocol::V2)
        .fallback_to_v1(false)
        .translation_strategy(TranslationStrategy::NoTranslation)
        .build()
        .unwrap();
}

#[test]
fn secrets_never_show_in_debug_or_errors() {
    let b = PrometheusRemoteWriteExporter::builder()
        .endpoint("http://localhost:9090/api/v1/write")
        .unwrap()
        .basic_auth("user", "hunter2-password")
        .proxy_basic_auth("pu", "proxy-s3cret");
    assert!(!format!("{b:?}").contains("hunter2"));
    let err = b.build().unwrap_err().to_string();
    assert!(!err.contains("hunter2") && !err.contains("proxy-s3cret"), "{err}");
    let e = PrometheusRemoteWriteExporter::builder()
        .endpoint("http://localhost:9090/api/v1/write")
        .unwrap()
        .bearer_token("tok-123456")
        .build()
        .unwrap();
    assert!(!format!("{e:?}").contains("tok-123456"));
}

#[test]
fn every_series_arrives_with_sorted_unique_labels() {
    let fake = FakeTransport::scripted(vec![]);
    let exporter = builder(&fake).build().unwrap();
    block_on(exporter.export(resource(
        "svc",
        vec![counter("c", vec![point(&[("zone", "z"), ("app", "a")], 1.0, T0 + SEC)])],
    )))
    .unwrap();
    block_on(exporter.shutdown(Duration::from_secs(5))).unwrap();
    for r in fake.requests() {
        for s in &r.series {
            assert!(
                s.labels.windows(2).all(|w| w[0].0 < w[1].0),
                "labels not sorted and unique: {:?}",
                s.labels
            );
        }
    }
}

#[test]
fn connection_errors_through_the_real_transport_are_retried_not_dropped() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // closed again: connections are refused
    let exporter = PrometheusRemoteWriteExporter::builder()
        .endpoint(&format!("http://127.0.0.1:{port}/api/v1/write"))
        .unwrap()
        .timeout(Duration::from_secs(2))
        .min_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(10))
        .self_metrics(false)
        .build()
        .unwrap();
    block_on(exporter.export(resource("svc", vec![gauge("g", vec![point(&[], 5.0, T0 + SEC)])])))
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while exporter.stats()[0].retried.samples < 6 {
        assert!(std::time::Instant::now() < deadline, "{:?}", exporter.stats());
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = &exporter.stats()[0];
    assert_eq!(stats.sent.samples, 0);
    assert_eq!(stats.failed.samples, 0);
    assert_eq!(stats.pending_points, 2);
    assert!(block_on(exporter.shutdown(Duration::from_millis(100))).is_err());
    assert_eq!(
        exporter.stats()[0].dropped(crate::DropReason::Shutdown).samples,
        4,
        "the data and its stale markers"
    );
}

#[test]
fn a_large_collection_is_converted_in_chunks_and_every_series_arrives_once() {
    for threads in [1, 2, 4] {
        let fake = FakeTransport::scripted(vec![]);
        let exporter =
            builder(&fake).self_metrics(false).conversion_threads(threads).build().unwrap();
        let n = crate::parallel::CHUNK_POINTS * 3 + 123;
        let ids: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        let points = ids.iter().map(|id| point(&[("id", id)], 1.0, T0 + SEC)).collect();
        let mut described = counter("c", points);
        described.description = "described once".into();
        block_on(exporter.export(resource("svc", vec![described]))).unwrap();
        block_on(exporter.force_flush()).unwrap();
        let reqs = fake.requests();
        let mut seen = std::collections::HashSet::new();
        for r in &reqs {
            for s in &r.series {
                assert!(seen.insert(s.labels.clone()), "{:?} sent twice", s.labels);
            }
        }
        assert_eq!(seen.len(), n + 1, "every series and one target_info ({threads} threads)");
        let meta: Vec<_> = reqs
            .iter()
            .flat_map(|r| &r.metadata)
            .filter(|m| m.metric_family_name == "c_total")
            .collect();
        assert_eq!(meta.len(), 1, "{meta:?}");
        assert_eq!(exporter.stats()[0].sent.samples, n as u64 + 1);
        // the collection was put back together: the stale markers at shutdown cover it all
        block_on(exporter.shutdown(Duration::from_secs(10))).unwrap();
        assert_eq!(exporter.stats()[0].sent.samples, 2 * (n as u64 + 1));
    }
}

#[test]
fn a_borrowed_runtime_that_is_gone_gives_errors_not_panics() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let fake = FakeTransport::scripted(vec![]);
    let exporter = builder(&fake).runtime(rt.handle().clone()).build().unwrap();
    drop(rt);
    // queueing still works (and is dropped and counted when the queue fills); flushing and
    // shutting down report that delivery is gone
    block_on(exporter.export(resource("svc", vec![gauge("g", vec![point(&[], 1.0, T0 + SEC)])])))
        .unwrap();
    assert!(block_on(exporter.force_flush()).is_err());
    assert!(block_on(exporter.shutdown(Duration::from_secs(1))).is_err());
}

#[test]
fn reclaim_hands_back_each_spent_collection_once() {
    let fake = FakeTransport::scripted(vec![]);
    let exporter =
        builder(&fake).self_metrics(false).stale_markers_on_shutdown(false).build().unwrap();
    assert_eq!(exporter.reclaim(), None, "nothing exported yet");
    let collection =
        |v: f64| resource("svc", vec![counter("c", vec![point(&[("k", "a")], v, T0 + SEC)])]);
    block_on(exporter.export(collection(1.0))).unwrap();
    assert_eq!(exporter.reclaim(), Some(collection(1.0)));
    assert_eq!(exporter.reclaim(), None, "handed back once");
    // unclaimed ones are not hoarded: only the latest spent collection is kept
    for v in [2.0, 3.0] {
        block_on(exporter.export(collection(v))).unwrap();
    }
    let back = exporter.reclaim().expect("the latest");
    let Some(metric::Data::Sum(s)) = &back.scope_metrics[0].metrics[0].data else {
        panic!("{back:?}")
    };
    assert_eq!(s.data_points[0].value, Some(number_data_point::Value::AsDouble(3.0)));
    assert_eq!(exporter.reclaim(), None);
    block_on(exporter.force_flush()).unwrap();
    assert_eq!(exporter.stats()[0].sent.samples, 3 * 2, "each with its target_info");
    block_on(exporter.shutdown(Duration::from_secs(5))).unwrap();
}

#[test]
fn with_stale_markers_the_latest_collection_is_kept_for_them_and_not_reclaimed() {
    let fake = FakeTransport::scripted(vec![]);
    let exporter = builder(&fake).self_metrics(false).build().unwrap();
    let collection = |key: &str, t: u64| {
        resource("svc", vec![counter("c", vec![point(&[("k", key)], 1.0, T0 + t * SEC)])])
    };
    block_on(exporter.export(collection("a", 1))).unwrap();
    assert_eq!(exporter.reclaim(), None, "the only collection is kept for the stale markers");
    block_on(exporter.export(collection("b", 2))).unwrap();
    let mut first = exporter.reclaim().expect("the first collection is spent");
    assert_eq!(first, collection("a", 1));
    // what the SDK then does with it must not reach the markers
    first.scope_metrics[0].metrics[0].name = "scribbled".into();
    drop(first);
    block_on(exporter.shutdown(Duration::from_secs(5))).unwrap();
    let series = fake.samples_by_series();
    assert!(series.iter().all(|(l, _)| !l.iter().any(|(_, v)| v.starts_with("scribbled"))));
    let a = find(&series, "c_total", &[("k", "a")]);
    assert_eq!(a.len(), 1, "a ended before the latest collection: no marker {a:?}");
    let b = find(&series, "c_total", &[("k", "b")]);
    assert_eq!(b.len(), 2, "{b:?}");
    assert_eq!(b[1].1.to_bits(), prw_convert::STALE_NAN_BITS);
    assert!(b[1].0 > b[0].0);
}
