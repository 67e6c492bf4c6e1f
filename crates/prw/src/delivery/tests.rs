use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use prw_transport::{RetryAfter, Transport, Written};
use tokio::runtime::Handle;
use tokio::time::Instant;

use super::*;
use crate::testing::{FakeTransport, Reply, TestPayload};

fn config(transport: Arc<dyn Transport>, protocol: Protocol) -> EndpointConfig {
    EndpointConfig {
        transport,
        uri: "http://user:pw@127.0.0.1:9/api/v1/write?x=1".parse().unwrap(),
        protocol,
        fallback: true,
        retry: RetryPolicy {
            min_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(60),
            max_retry_duration: None,
        },
        limits: QueueLimits { max_points: 1_000_000, max_bytes: 1 << 30 },
    }
}

fn start(cfg: EndpointConfig) -> Delivery {
    Delivery::start(cfg, &Handle::current())
}

async fn settle(ep: &Delivery) {
    tokio::time::timeout(Duration::from_secs(10), ep.flush()).await.expect("flush in time");
}

#[tokio::test]
async fn delivers_in_order_with_protocol_headers_and_no_credentials_in_the_url_label() {
    let fake = FakeTransport::scripted(vec![]);
    let ep = start(config(fake.clone(), Protocol::V1));
    ep.enqueue(TestPayload::series(0, 3, 1_000)).unwrap();
    ep.enqueue(TestPayload::series(0, 3, 2_000)).unwrap();
    settle(&ep).await;
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs.iter().all(|r| r.wire == Wire::V1 && !r.headers.contains_key("retry-attempt")));
    assert_eq!(reqs[0].series[0].samples, vec![(1_000, 0.0)]);
    assert_eq!(reqs[1].series[0].samples, vec![(2_000, 0.0)]);
    let stats = ep.stats();
    assert_eq!(stats.url, "http://127.0.0.1:9/api/v1/write");
    assert_eq!(stats.sent.samples, 6);
    assert_eq!(stats.requests_sent, 2);
    assert!(stats.bytes_sent > 0);
    assert_eq!(stats.pending_points, 0);
    assert_eq!(stats.dropped_total(), Counts::default());
}

#[tokio::test]
async fn a_500_is_retried_and_the_data_arrives() {
    let fake = FakeTransport::scripted(vec![Reply::status(500).body("try later")]);
    let ep = start(config(fake.clone(), Protocol::V1));
    ep.enqueue(TestPayload::series(0, 2, 1_000)).unwrap();
    settle(&ep).await;
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].series, reqs[1].series);
    assert_eq!(reqs[1].headers["retry-attempt"], "1");
    let stats = ep.stats();
    assert_eq!(stats.retried.samples, 2);
    assert_eq!(stats.sent.samples, 2);
    assert_eq!(stats.failed.samples, 0);
}

#[tokio::test]
async fn a_400_is_never_resent_and_is_counted() {
    let fake = FakeTransport::scripted(vec![Reply::status(400).body("out of order sample")]);
    let ep = start(config(fake.clone(), Protocol::V1));
    ep.enqueue(TestPayload::series(0, 2, 1_000)).unwrap();
    ep.enqueue(TestPayload::series(0, 2, 2_000)).unwrap();
    settle(&ep).await;
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2, "the rejected request is not resent; the next one goes");
    assert_eq!(reqs[1].series[0].samples, vec![(2_000, 0.0)]);
    let stats = ep.stats();
    assert_eq!(stats.dropped(DropReason::Rejected).samples, 2);
    assert_eq!(stats.failed.samples, 2);
    assert_eq!(stats.sent.samples, 2);
    assert_eq!(stats.retried.samples, 0);
}

#[tokio::test]
async fn every_4xx_but_429_and_413_is_final() {
    for code in [400u16, 401, 403, 404, 405, 409, 422] {
        let fake = FakeTransport::scripted(vec![Reply::status(code)]);
        let ep = start(config(fake.clone(), Protocol::V1));
        ep.enqueue(TestPayload::series(0, 1, 1_000)).unwrap();
        settle(&ep).await;
        assert_eq!(fake.requests().len(), 1, "{code}");
        assert_eq!(ep.stats().dropped(DropReason::Rejected).samples, 1, "{code}");
    }
    for code in [500u16, 502, 503, 504, 429] {
        let fake = FakeTransport::scripted(vec![Reply::status(code)]);
        let ep = start(config(fake.clone(), Protocol::V1));
        ep.enqueue(TestPayload::series(0, 1, 1_000)).unwrap();
        settle(&ep).await;
        assert_eq!(fake.requests().len(), 2, "{code}");
        assert_eq!(ep.stats().sent.samples, 1, "{code}");
    }
}

#[tokio::test]
async fn retry_after_is_honoured_and_capped() {
    let fake = FakeTransport::scripted(vec![
        Reply::status(429).retry_after(RetryAfter::Delay(Duration::from_millis(300))),
    ]);
    let ep = start(config(fake.clone(), Protocol::V1));
    ep.enqueue(TestPayload::series(0, 1, 1_000)).unwrap();
    settle(&ep).await;
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].at - reqs[0].at >= Duration::from_millis(300));

    let fake = FakeTransport::scripted(vec![
        Reply::status(503).retry_after(RetryAfter::Delay(Duration::from_secs(3600))),
    ]);
    let mut cfg = config(fake.clone(), Protocol::V1);
    cfg.retry.max_retry_after = Duration::from_millis(50);
    let ep = start(cfg);
    ep.enqueue(TestPayload::series(0, 1, 1_000)).unwrap();
    settle(&ep).await; // would time out if the hour were honoured
    assert_eq!(fake.requests().len(), 2);
}

// Paused time: the gaps are the backoff schedule itself, not stretched by a busy machine's
// scheduling, which made real-time gaps flaky under load.
#[tokio::test(start_paused = true)]
async fn a_run_of_503s_backs_off_with_growing_capped_gaps() {
    let fake = FakeTransport::scripted((0..12).map(|_| Reply::status(503)).collect());
    let mut cfg = config(fake.clone(), Protocol::V1);
    cfg.retry.min_backoff = Duration::from_millis(4);
    cfg.retry.max_backoff = Duration::from_millis(128);
    let ep = start(cfg);
    ep.enqueue(TestPayload::series(0, 1, 1_000)).unwrap();
    settle(&ep).await;
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 13);
    let gaps: Vec<f64> = reqs.windows(2).map(|w| (w[1].at - w[0].at).as_secs_f64()).collect();
    for w in gaps.windows(2) {
        assert!(w[1] >= 0.8 * w[0], "gaps {gaps:?}");
    }
    assert!(gaps[0] < 0.05, "starts near the minimum: {gaps:?}");
    // capped: the last gaps sit at the maximum, not double it
    assert!(gaps[11] < 0.128 * 1.8, "{gaps:?}");
    assert!(gaps[11] >= 0.128 * 0.8, "{gaps:?}");
    assert_eq!(ep.stats().retried.samples, 12);
}

#[tokio::test]
async fn backoff_restarts_after_a_success() {
    let fake = FakeTransport::scripted(
        (0..6).map(|_| Reply::status(503)).chain([Reply::ok(), Reply::status(503)]).collect(),
    );
    let mut cfg = config(fake.clone(), Protocol::V1);
    cfg.retry.min_backoff = Duration::from_millis(5);
    cfg.retry.max_backoff = Duration::from_secs(1);
    let ep = start(cfg);
    ep.enqueue(TestPayload::series(0, 1, 1_000)).unwrap();
    ep.enqueue(TestPayload::series(0, 1, 2_000)).unwrap();
    settle(&ep).await;
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 9);
    // the gap after the second batch's first failure is back at the minimum
    assert!(reqs[8].at - reqs[7].at < Duration::from_millis(100));
}

#[tokio::test]
async fn later_collections_wait_behind_a_retrying_one_and_keep_series_order() {
    // every third request fails, with random delays: per-series timestamps must still rise
    let n = AtomicUsize::new(0);
    let fake = FakeTransport::new(move |_| {
        let i = n.fetch_add(1, Ordering::Relaxed);
        let delay = Duration::from_millis(fastrand::u64(0..5));
        if i % 3 == 1 { Reply::status(503).delay(delay) } else { Reply::ok().delay(delay) }
    });
    let ep = start(config(fake.clone(), Protocol::V1));
    for t in 1..=30 {
        ep.enqueue(TestPayload::series(0, 5, t * 1_000)).unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    settle(&ep).await;
    let series = fake.samples_by_series();
    assert_eq!(series.len(), 5);
    for (labels, samples) in series {
        let ts: Vec<i64> = samples.iter().map(|s| s.0).collect();
        assert_eq!(ts, (1..=30).map(|t| t * 1_000).collect::<Vec<_>>(), "{labels:?}");
    }
}

#[tokio::test]
async fn a_413_splits_the_batch_until_the_halves_fit() {
    let fake =
        FakeTransport::new(|r| if r.series.len() > 2 { Reply::status(413) } else { Reply::ok() });
    let ep = start(config(fake.clone(), Protocol::V1));
    ep.enqueue(TestPayload::series(0, 7, 1_000)).unwrap();
    settle(&ep).await;
    let accepted: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.series.len() <= 2)
        .flat_map(|r| r.series.iter().map(|s| s.labels[1].1.clone()))
        .collect();
    assert_eq!(accepted, (0..7).map(|i| i.to_string()).collect::<Vec<_>>());
    let stats = ep.stats();
    assert_eq!(stats.sent.samples, 7);
    assert_eq!(stats.dropped_total(), Counts::default());
}

#[tokio::test]
async fn a_413_for_one_series_drops_it() {
    let fake = FakeTransport::scripted(vec![Reply::status(413)]);
    let ep = start(config(fake.clone(), Protocol::V1));
    ep.enqueue(TestPayload::series(0, 1, 1_000)).unwrap();
    settle(&ep).await;
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(ep.stats().dropped(DropReason::TooLarge).samples, 1);
}

#[tokio::test]
async fn rw2_415_falls_back_to_rw1_and_remembers() {
    let fake =
        FakeTransport::new(|r| if r.wire == Wire::V2 { Reply::status(415) } else { Reply::ok() });
    let ep = start(config(fake.clone(), Protocol::V2));
    ep.enqueue(TestPayload::series(0, 2, 1_000)).unwrap();
    ep.enqueue(TestPayload::series(0, 2, 2_000)).unwrap();
    settle(&ep).await;
    let reqs = fake.requests();
    let wires: Vec<Wire> = reqs.iter().map(|r| r.wire).collect();
    assert_eq!(wires, vec![Wire::V2, Wire::V1, Wire::V1]);
    assert_eq!(reqs[0].series, reqs[1].series);
    assert_ne!(reqs[0].headers["content-type"], reqs[1].headers["content-type"]);
    let stats = ep.stats();
    assert_eq!(stats.wire, Wire::V1);
    assert_eq!(stats.sent.samples, 4);
}

#[tokio::test]
async fn rw2_2xx_without_written_headers_falls_back() {
    let fake = FakeTransport::new(|r| {
        if r.wire == Wire::V2 { Reply::ok().written(Written::default()) } else { Reply::ok() }
    });
    let ep = start(config(fake.clone(), Protocol::Auto));
    ep.enqueue(TestPayload::series(0, 2, 1_000)).unwrap();
    settle(&ep).await;
    let wires: Vec<Wire> = fake.requests().iter().map(|r| r.wire).collect();
    assert_eq!(wires, vec![Wire::V2, Wire::V1]);
    assert_eq!(ep.stats().sent.samples, 2);
}

#[tokio::test]
async fn rw2_that_answers_properly_never_falls_back() {
    let fake = FakeTransport::scripted(vec![]);
    let ep = start(config(fake.clone(), Protocol::V2));
    for t in 1..=3 {
        ep.enqueue(TestPayload::series(0, 2, t * 1_000)).unwrap();
    }
    settle(&ep).await;
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    assert!(reqs.iter().all(|r| r.wire == Wire::V2));
    assert_eq!(ep.stats().wire, Wire::V2);
}

#[tokio::test]
async fn rw2_without_fallback_drops_instead() {
    let fake = FakeTransport::scripted(vec![Reply::status(415)]);
    let mut cfg = config(fake.clone(), Protocol::V2);
    cfg.fallback = false;
    let ep = start(cfg);
    ep.enqueue(TestPayload::series(0, 2, 1_000)).unwrap();
    ep.enqueue(TestPayload::series(0, 2, 2_000)).unwrap();
    settle(&ep).await;
    let reqs = fake.requests();
    assert!(reqs.iter().all(|r| r.wire == Wire::V2));
    assert_eq!(reqs.len(), 2);
    assert_eq!(ep.stats().dropped(DropReason::NotWritten).samples, 2);
    assert_eq!(ep.stats().sent.samples, 2);
}

#[tokio::test]
async fn rw1_never_falls_back_or_treats_415_specially() {
    let fake = FakeTransport::scripted(vec![Reply::status(415)]);
    let ep = start(config(fake.clone(), Protocol::V1));
    ep.enqueue(TestPayload::series(0, 2, 1_000)).unwrap();
    settle(&ep).await;
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(ep.stats().dropped(DropReason::Rejected).samples, 2);
}

#[tokio::test]
async fn rw2_partial_writes_count_what_was_not_written() {
    let fake = FakeTransport::scripted(vec![
        Reply::ok().written(Written { samples: Some(1), histograms: Some(0), exemplars: Some(0) }),
        Reply::status(400).body("series 2 has no name").written(Written {
            samples: Some(2),
            histograms: None,
            exemplars: None,
        }),
    ]);
    let ep = start(config(fake.clone(), Protocol::V2));
    ep.enqueue(TestPayload::series(0, 3, 1_000)).unwrap();
    ep.enqueue(TestPayload::series(0, 3, 2_000)).unwrap();
    settle(&ep).await;
    let stats = ep.stats();
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(stats.sent.samples, 3);
    assert_eq!(stats.dropped(DropReason::NotWritten).samples, 2);
    assert_eq!(stats.dropped(DropReason::Rejected).samples, 1);
}

#[tokio::test]
async fn max_retry_duration_drops_and_moves_on() {
    let n = AtomicUsize::new(0);
    // the first batch fails forever; the second must still get through
    let fake = FakeTransport::new(move |r| {
        n.fetch_add(1, Ordering::Relaxed);
        if r.series[0].samples[0].0 == 1_000 { Reply::status(500) } else { Reply::ok() }
    });
    let mut cfg = config(fake.clone(), Protocol::V1);
    cfg.retry.max_retry_duration = Some(Duration::from_millis(60));
    let ep = start(cfg);
    ep.enqueue(TestPayload::series(0, 2, 1_000)).unwrap();
    ep.enqueue(TestPayload::series(0, 2, 2_000)).unwrap();
    settle(&ep).await;
    let stats = ep.stats();
    assert_eq!(stats.dropped(DropReason::RetryTimeout).samples, 2);
    assert_eq!(stats.sent.samples, 2);
    assert!(stats.retried.samples >= 2);
}

#[tokio::test]
async fn while_down_the_queue_keeps_the_newest_within_its_limits() {
    // down for the first 10 attempts, then up
    let fake = FakeTransport::scripted((0..10).map(|_| Reply::status(503)).collect());
    let mut cfg = config(fake.clone(), Protocol::V1);
    cfg.limits = QueueLimits { max_points: 10, max_bytes: 1 << 20 };
    let ep = start(cfg);
    for t in 1..=8 {
        ep.enqueue(TestPayload::series(0, 4, t * 1_000)).unwrap();
        if t == 1 {
            fake.wait_for(1).await;
        }
    }
    settle(&ep).await;
    let stats = ep.stats();
    // in flight (4) plus waiting never exceeds 10 points, so one 4-point collection can wait
    // behind the retrying one: the newest. The ones in between were dropped oldest first.
    let delivered: Vec<i64> = fake.samples_by_series()[0].1.iter().map(|s| s.0).collect();
    assert_eq!(delivered, vec![1_000, 8_000]);
    assert_eq!(stats.dropped(DropReason::QueueFull).samples, 24);
    assert_eq!(stats.sent.samples, 8);
}

#[tokio::test]
async fn endpoints_never_hold_each_other_back() {
    let stuck = FakeTransport::new(|_| Reply::status(503));
    let healthy = FakeTransport::scripted(vec![]);
    let a = start(config(stuck.clone(), Protocol::V1));
    let b = start(config(healthy.clone(), Protocol::V1));
    for t in 1..=5 {
        let p = TestPayload::series(0, 3, t * 1_000);
        a.enqueue(p.clone()).unwrap();
        b.enqueue(p).unwrap();
    }
    settle(&b).await;
    assert_eq!(healthy.requests().len(), 5);
    assert_eq!(b.stats().sent.samples, 15);
    assert_eq!(a.stats().sent.samples, 0);
    assert_eq!(a.stats().pending_points, 15);
    let lost = a.shutdown(Instant::now() + Duration::from_millis(50)).await;
    assert_eq!(lost.samples, 15);
    assert_eq!(a.stats().dropped(DropReason::Shutdown).samples, 15);
    assert_eq!(a.stats().pending_points, 0);
}

#[tokio::test]
async fn shutdown_delivers_what_is_queued_within_the_deadline() {
    let fake = FakeTransport::new(|_| Reply::ok().delay(Duration::from_millis(5)));
    let ep = start(config(fake.clone(), Protocol::V1));
    for t in 1..=10 {
        ep.enqueue(TestPayload::series(0, 2, t * 1_000)).unwrap();
    }
    let lost = ep.shutdown(Instant::now() + Duration::from_secs(10)).await;
    assert_eq!(lost, Counts::default());
    assert_eq!(fake.requests().len(), 10);
    assert!(ep.enqueue(TestPayload::series(0, 1, 99_000)).is_err());
    // a flush after shutdown returns at once
    settle(&ep).await;
}

#[tokio::test]
async fn flush_waits_for_delivery() {
    let fake = FakeTransport::scripted(vec![Reply::status(503), Reply::status(503)]);
    let ep = start(config(fake.clone(), Protocol::V1));
    ep.enqueue(TestPayload::series(0, 2, 1_000)).unwrap();
    settle(&ep).await;
    assert_eq!(ep.stats().sent.samples, 2);
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn an_empty_batch_is_never_sent() {
    let fake = FakeTransport::scripted(vec![]);
    let ep = start(config(fake.clone(), Protocol::V1));
    ep.enqueue(TestPayload::series(0, 0, 1_000)).unwrap();
    settle(&ep).await;
    assert!(fake.requests().is_empty());
}

#[test]
fn display_url_drops_credentials_and_query() {
    for (uri, want) in [
        ("https://u:p@mimir.example.com/api/v1/push?x=1", "https://mimir.example.com/api/v1/push"),
        ("http://127.0.0.1:9090/api/v1/write", "http://127.0.0.1:9090/api/v1/write"),
        ("http://[::1]:8428/api/v1/write", "http://[::1]:8428/api/v1/write"),
    ] {
        assert_eq!(display_url(&uri.parse().unwrap()), want);
    }
}

#[tokio::test]
async fn a_long_outage_logs_a_handful_of_lines_not_one_per_attempt() {
    let logs = crate::testing::CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(logs.clone());
    let fake =
        FakeTransport::scripted((0..150).map(|_| Reply::status(503).body("overloaded")).collect());
    let mut cfg = config(fake.clone(), Protocol::V1);
    cfg.retry.max_backoff = Duration::from_millis(2);
    let ep = start(cfg);
    for t in 1..=5 {
        ep.enqueue(TestPayload::series(0, 2, t * 1_000)).unwrap();
    }
    settle(&ep).await;
    assert_eq!(fake.requests().len(), 155);
    let lines = logs.lines();
    let texts: Vec<&str> = lines.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(lines.len(), 3, "{texts:#?}");
    assert!(
        texts[0].starts_with("remote write failed (503 Service Unavailable: overloaded)"),
        "{texts:?}"
    );
    assert!(texts[1].starts_with("remote write recovered after"), "{texts:?}");
    assert!(texts[1].contains("(150 failed attempts); 8 samples still waiting"), "{texts:?}");
    assert!(texts[2].contains("caught up: 10 samples"), "{texts:?}");
}

#[tokio::test]
async fn a_rejection_is_logged_once_with_the_servers_words() {
    let logs = crate::testing::CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(logs.clone());
    let msg = "out of order sample: series {__name__=\"x\"} at 1000";
    let fake = FakeTransport::new(move |_| Reply::status(400).body(msg));
    let ep = start(config(fake.clone(), Protocol::V1));
    for t in 1..=5 {
        ep.enqueue(TestPayload::series(0, 2, t * 1_000)).unwrap();
    }
    settle(&ep).await;
    assert_eq!(fake.requests().len(), 5);
    let lines = logs.lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(lines[0].0, tracing::Level::ERROR);
    assert!(lines[0].1.ends_with(msg), "verbatim: {}", lines[0].1);
    assert!(lines[0].1.contains("400 Bad Request, dropping 2 samples"), "{}", lines[0].1);
    assert_eq!(ep.stats().dropped(DropReason::Rejected).samples, 10);
}

#[test]
fn a_long_outage_says_it_is_still_down_at_doubling_intervals_up_to_ten_minutes() {
    let logs = crate::testing::CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(logs.clone());
    let mut health = Health::new("http://127.0.0.1:9/api/v1/write".into());
    let t0 = Instant::now();
    // one failed attempt every 10 s for an hour
    for i in 0..=360u64 {
        health.failed_at(t0 + Duration::from_secs(i * 10), "503 Service Unavailable", 100 + i);
    }
    let lines = logs.lines();
    assert!(lines.iter().all(|(level, _)| *level == tracing::Level::WARN), "{lines:#?}");
    let texts: Vec<&str> = lines.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(
        texts[0],
        "remote write failed (503 Service Unavailable); retrying with backoff, 100 samples waiting"
    );
    // after 1, 2, 4, 8 minutes, then every 10 minutes
    let expected: Vec<String> = [60u64, 180, 420, 900, 1500, 2100, 2700, 3300]
        .iter()
        .map(|&s| {
            format!(
                "remote write still failing after {s}s and {} attempts (503 Service Unavailable); {} samples waiting",
                s / 10 + 1,
                100 + s / 10
            )
        })
        .collect();
    assert_eq!(texts[1..], expected.iter().map(String::as_str).collect::<Vec<_>>()[..]);
    health.up(7);
    let lines = logs.lines();
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[9].0, tracing::Level::INFO);
    assert!(lines[9].1.contains("(361 failed attempts); 7 samples still waiting"), "{lines:?}");
}
