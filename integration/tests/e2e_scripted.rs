//! The exporter, through its real HTTP transport, against the in-process scripted receiver:
//! what real backends cannot be told to do.

mod e2e_common;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2e_common::{App, Workload};
use prw::api::KeyValue;
use prw::{PrometheusRemoteWriteExporter, Protocol, Wire};
use prw_integration::{Labels, ReceivedRequest, Reply, ScriptedReceiver, wire};

const HOUR: Duration = Duration::from_secs(3600);

fn exporter(r: &ScriptedReceiver) -> prw::PrometheusRemoteWriteExporterBuilder {
    PrometheusRemoteWriteExporter::builder()
        .endpoint(&r.url())
        .expect("endpoint")
        .self_metrics(false)
}

/// Every series of a request (either protocol) with its samples.
fn decode(r: &ReceivedRequest) -> Vec<(Labels, Vec<(i64, f64)>)> {
    if r.is_rw2() {
        let req = r.decode_rw2().expect("an RW 2.0 body");
        req.timeseries
            .iter()
            .map(|ts| {
                let labels = wire::rw2_labels(&req, ts).expect("valid refs");
                (labels, ts.samples.iter().map(|s| (s.timestamp, s.value)).collect())
            })
            .collect()
    } else {
        let req = r.decode_rw1().expect("an RW 1.0 body");
        req.timeseries
            .iter()
            .map(|ts| {
                (wire::rw1_labels(ts), ts.samples.iter().map(|s| (s.timestamp, s.value)).collect())
            })
            .collect()
    }
}

fn value_of(series: &[(Labels, Vec<(i64, f64)>)], name: &str, route: &str) -> Option<f64> {
    series
        .iter()
        .find(|(l, _)| l["__name__"] == name && l.get("route").map(String::as_str) == Some(route))
        .map(|(_, s)| s[0].1)
}

fn gaps(requests: &[ReceivedRequest]) -> Vec<f64> {
    requests.windows(2).map(|w| (w[1].received_at - w[0].received_at).as_secs_f64()).collect()
}

#[test]
fn a_500_then_204_delivers_the_same_data_on_the_retry_with_the_protocol_headers() {
    let r = ScriptedReceiver::start(vec![Reply::status(500).body("try again")]).unwrap();
    let app = App::start(exporter(&r), HOUR);
    Workload::new(&app.meter).record_all();
    app.flush();
    let reqs = r.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].body, reqs[1].body, "the retry carries the same data");
    assert_eq!(value_of(&decode(&reqs[1]), "e2e_requests_total", "/a"), Some(7.0));
    for req in &reqs {
        assert_eq!(req.method, "POST");
        assert_eq!(req.header("Content-Encoding"), Some("snappy"));
        assert_eq!(req.header("Content-Type"), Some("application/x-protobuf"));
        assert_eq!(req.header("X-Prometheus-Remote-Write-Version"), Some("0.1.0"));
        assert!(req.header("User-Agent").is_some_and(|ua| ua.starts_with("prw/")), "{req:?}");
    }
    assert_eq!(reqs[1].header("Retry-Attempt"), Some("1"));
    let stats = &app.exporter.stats()[0];
    assert!(stats.retried.samples > 0 && stats.failed.samples == 0, "{stats:?}");
    app.provider.shutdown().unwrap();
}

#[test]
fn a_400_is_never_resent_and_the_next_collection_goes_through() {
    let r = ScriptedReceiver::start(vec![Reply::status(400).body("out of order sample")]).unwrap();
    let app = App::start(exporter(&r).stale_markers_on_shutdown(false), HOUR);
    let w = Workload::new(&app.meter);
    w.requests.add(1, &[KeyValue::new("route", "/a")]);
    app.flush();
    w.requests.add(1, &[KeyValue::new("route", "/a")]);
    app.flush();
    app.provider.shutdown().unwrap();
    let reqs = r.requests();
    let values: Vec<Option<f64>> =
        reqs.iter().map(|q| value_of(&decode(q), "e2e_requests_total", "/a")).collect();
    // collection 1 (rejected), collection 2, and the shutdown collection: none resent
    assert_eq!(values, vec![Some(1.0), Some(2.0), Some(2.0)]);
    assert!(reqs.windows(2).all(|w| w[0].body != w[1].body));
    let stats = &app.exporter.stats()[0];
    assert!(stats.dropped(prw::DropReason::Rejected).samples > 0, "{stats:?}");
    assert_eq!(stats.retried.samples, 0);
}

#[test]
fn a_429_with_retry_after_waits_that_long() {
    let r = ScriptedReceiver::start(vec![Reply::status(429).retry_after(1)]).unwrap();
    let app = App::start(exporter(&r), HOUR);
    Workload::new(&app.meter).record_all();
    app.flush();
    let reqs = r.requests();
    assert_eq!(reqs.len(), 2);
    let gap = gaps(&reqs)[0];
    assert!((1.0..3.0).contains(&gap), "Retry-After: 1 honoured, not the 20 ms backoff: {gap}");
    app.provider.shutdown().unwrap();
}

#[test]
fn a_run_of_503s_backs_off_with_growing_gaps_each_at_least_0_8x_and_capped() {
    let r = ScriptedReceiver::start(vec![Reply::status(503); 9]).unwrap();
    let app = App::start(
        exporter(&r).min_backoff(Duration::from_millis(25)).max_backoff(Duration::from_millis(400)),
        HOUR,
    );
    Workload::new(&app.meter).record_all();
    app.flush();
    let reqs = r.requests();
    assert_eq!(reqs.len(), 10);
    let g = gaps(&reqs);
    for w in g.windows(2) {
        assert!(w[1] >= 0.8 * w[0], "gaps {g:?}");
    }
    assert!(g[0] < 0.1, "starts near min_backoff: {g:?}");
    assert!(g[3] > 1.5 * g[0], "grows: {g:?}");
    assert!(g.iter().all(|x| *x < 0.4 * 1.5), "capped at max_backoff: {g:?}");
    assert!(g[8] >= 0.4 * 0.8, "reaches the cap: {g:?}");
    // jitter: the capped gaps are not all identical
    let capped: HashSet<u64> = g[5..].iter().map(|x| (x * 1e4) as u64).collect();
    assert!(capped.len() > 1, "{g:?}");
    app.provider.shutdown().unwrap();
}

#[test]
fn random_delays_and_failures_with_a_short_interval_keep_every_series_in_order() {
    let failed = Arc::new(Mutex::new(HashSet::new()));
    let f = failed.clone();
    let r = ScriptedReceiver::start_with(move |req| {
        let delay = Duration::from_millis(fastrand::u64(0..120));
        if fastrand::u8(..100) < 20 {
            f.lock().unwrap().insert(req.index);
            Reply::status(503).delay(delay)
        } else {
            Reply::accept(req).delay(delay)
        }
    })
    .unwrap();
    let app = App::start(exporter(&r), Duration::from_millis(30));
    let counter = app.meter.u64_counter("e2e.ordered").build();
    let keys: Vec<String> = (0..200).map(|i| format!("k{i}")).collect();
    let until = std::time::Instant::now() + Duration::from_secs(2);
    while std::time::Instant::now() < until {
        for k in &keys {
            counter.add(1, &[KeyValue::new("key", k.clone())]);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    app.provider.shutdown().unwrap();
    let failed = failed.lock().unwrap().clone();
    let mut last: BTreeMap<Labels, i64> = BTreeMap::new();
    let mut accepted = 0;
    for req in r.requests().iter().filter(|q| !failed.contains(&q.index)) {
        accepted += 1;
        for (labels, samples) in decode(req) {
            for (ts, _) in samples {
                if let Some(prev) = last.insert(labels.clone(), ts) {
                    assert!(ts > prev, "{labels:?}: {ts} after {prev} (request {})", req.index);
                }
            }
        }
    }
    assert!(accepted >= 10, "enough collections to mean something: {accepted}");
    assert!(!failed.is_empty(), "some requests failed and were retried");
    assert!(last.keys().filter(|l| l["__name__"] == "e2e_ordered_total").count() == 200);
}

#[test]
fn a_413_splits_the_request_until_the_halves_fit_and_every_series_arrives_once() {
    let r = ScriptedReceiver::start_with(|req| match req.decode_rw1() {
        Ok(w) if w.timeseries.len() > 40 => Reply::status(413).body("request too large"),
        _ => Reply::accept(req),
    })
    .unwrap();
    let app = App::start(exporter(&r).stale_markers_on_shutdown(false).send_metadata(false), HOUR);
    let counter = app.meter.u64_counter("e2e.split").build();
    for i in 0..300 {
        counter.add(i, &[KeyValue::new("key", format!("k{i:03}"))]);
    }
    app.flush();
    app.provider.shutdown().unwrap();
    let mut seen = BTreeMap::new();
    for req in r.requests() {
        let series = decode(&req);
        if series.len() > 40 {
            continue; // refused with 413
        }
        for (labels, samples) in series {
            if labels["__name__"] == "e2e_split_total" && samples[0].1 >= 0.0 {
                *seen.entry(labels["key"].clone()).or_insert(0) += 1;
            }
        }
    }
    // two collections (the flush and the shutdown) of 300 series each
    assert_eq!(seen.len(), 300);
    assert!(seen.values().all(|n| *n == 2), "each series once per collection: {seen:?}");
    let stats = &app.exporter.stats()[0];
    assert_eq!(stats.dropped_total(), prw::Counts::default(), "{stats:?}");
}

#[test]
fn a_415_to_rw2_falls_back_to_rw1_and_remembers() {
    let r = ScriptedReceiver::start_with(|req| {
        if req.is_rw2() {
            Reply::status(415).body("unsupported content type")
        } else {
            Reply::accept(req)
        }
    })
    .unwrap();
    let app = App::start(exporter(&r).protocol(Protocol::V2), HOUR);
    let w = Workload::new(&app.meter);
    w.record_all();
    app.flush();
    w.record_all();
    app.flush();
    app.provider.shutdown().unwrap();
    let reqs = r.requests();
    let rw2: Vec<bool> = reqs.iter().map(ReceivedRequest::is_rw2).collect();
    assert!(rw2[0], "the first request is RW 2.0");
    assert!(rw2[1..].iter().all(|v| !v), "remembered: {rw2:?}");
    assert_eq!(reqs[1].header("X-Prometheus-Remote-Write-Version"), Some("0.1.0"));
    assert_eq!(decode(&reqs[0]).len(), decode(&reqs[1]).len(), "the same data, re-encoded");
    assert_eq!(value_of(&decode(&reqs[2]), "e2e_requests_total", "/a"), Some(14.0));
    assert_eq!(app.exporter.stats()[0].wire, Wire::V1);
}

#[test]
fn a_compliant_rw2_receiver_keeps_getting_rw2() {
    let r = ScriptedReceiver::start(vec![]).unwrap(); // accepts, with the Written headers
    let app = App::start(exporter(&r).protocol(Protocol::Auto), HOUR);
    let w = Workload::new(&app.meter);
    w.record_all();
    app.flush();
    app.flush();
    app.provider.shutdown().unwrap();
    let reqs = r.requests();
    assert!(reqs.len() >= 3);
    for req in &reqs {
        assert!(req.is_rw2(), "{req:?}");
        assert_eq!(
            req.header("Content-Type"),
            Some("application/x-protobuf;proto=io.prometheus.write.v2.Request")
        );
        assert_eq!(req.header("X-Prometheus-Remote-Write-Version"), Some("2.0.0"));
        let body = req.decode_rw2().unwrap();
        assert_eq!(body.symbols.first().map(String::as_str), Some(""));
    }
    let series = decode(&reqs[0]);
    assert_eq!(value_of(&series, "e2e_requests_total", "/a"), Some(7.0));
    let stats = &app.exporter.stats()[0];
    assert_eq!(stats.wire, Wire::V2);
    assert_eq!(stats.dropped_total(), prw::Counts::default(), "{stats:?}");
    assert!(stats.sent.histograms > 0, "native histograms travel as RW 2.0 histograms");
}
