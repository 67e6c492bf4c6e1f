//! Issue 7, "What it must show": a real Prometheus goes away for 30 seconds while an
//! application pushes every 200 ms; afterwards every collection's sample is there, in order,
//! with no gap. Once with the in-memory queue (outage), once with the persistent queue and the
//! application killed with SIGKILL during the outage and started again (crash).

mod durable_common;

use std::time::{Duration, Instant};

use durable_common::{App, assert_complete, stored};
use prw_integration::{Prometheus, TestDir, wait_for};

const OUTAGE: Duration = Duration::from_secs(30);

fn prometheus() -> Prometheus {
    Prometheus::builder().start().expect("prometheus starts")
}

/// Waits until Prometheus holds `durable_seq{run}` up to at least `n`.
fn wait_stored(p: &Prometheus, run: &str, n: i64, timeout: Duration) -> Vec<(i64, f64)> {
    wait_for(timeout, || {
        let s = stored(p, run);
        (s.iter().any(|x| x.1 as i64 >= n)).then_some(s)
    })
    .unwrap_or_else(|| {
        panic!("Prometheus never got {run} up to {n}: has {:?}\n{}", stored(p, run), p.log())
    })
}

#[test]
fn an_outage_of_30_seconds_loses_nothing() {
    prw_integration::require!(Prometheus);
    let mut p = prometheus();
    let url = p.write_url();
    let app = App::start(&["--endpoint", &url, "--run", "outage", "--interval-ms", "200"]);
    app.wait_queued(10, Duration::from_secs(20));
    wait_stored(&p, "outage", 5, Duration::from_secs(20));

    p.stop();
    let down = Instant::now();
    let before = app.queued();
    std::thread::sleep(OUTAGE);
    let during = app.queued() - before;
    assert!(during >= 100, "it kept collecting during the outage ({during} collections)");
    p.start().expect("prometheus starts again on the same data dir");
    eprintln!("outage: Prometheus down {:?}, {during} collections meanwhile", down.elapsed());

    // Everything queued by now arrives, then later collections too.
    let target = app.queued() + 10;
    app.wait_queued(target, Duration::from_secs(30));
    let samples = wait_stored(&p, "outage", target, Duration::from_secs(60));
    let n = assert_complete("outage", &samples);
    assert!(n >= target);

    // The exporter's own counters (pushed through the same pipeline) show the retries.
    let retried = wait_for(Duration::from_secs(20), || {
        let r = p.query("sum(prometheus_remote_storage_samples_retried_total)").ok()?;
        let v = r.first()?.1;
        (v > 0.0).then_some(v)
    });
    assert!(
        retried.is_some(),
        "no retries counted: {:?}",
        p.query("prometheus_remote_storage_samples_retried_total")
    );
    drop(app);
}

#[test]
fn a_crash_during_an_outage_loses_nothing_with_a_persistent_queue() {
    prw_integration::require!(Prometheus);
    let mut p = prometheus();
    let url = p.write_url();
    let dir = TestDir::new("durable-crash").expect("temp dir");
    let queue = dir.join("queue");
    let queue = queue.to_str().expect("utf-8 path");
    let args = |run: &'static str| {
        vec!["--endpoint", url.as_str(), "--run", run, "--interval-ms", "200", "--queue-dir", queue]
    };

    let first = App::start(&args("crash-1"));
    first.wait_queued(5, Duration::from_secs(20));
    wait_stored(&p, "crash-1", 3, Duration::from_secs(20));

    p.stop();
    let down = Instant::now();
    // Collections pile up on disk, then the application dies without any warning.
    first.wait_queued(first.queued() + 25, Duration::from_secs(20));
    let queued_before_kill = first.kill();
    eprintln!("crash: killed after queueing {queued_before_kill} collections");

    // A new run on the same queue directory (the kernel released the lock with the process)
    // collects during the rest of the outage.
    let second = App::start(&args("crash-2"));
    std::thread::sleep(OUTAGE.saturating_sub(down.elapsed()));
    let second_during_outage = second.queued();
    p.start().expect("prometheus starts again on the same data dir");

    // The first run's collections, queued before the kill, arrive in order with no gap; the
    // one being exported at the kill may arrive too (queued but not yet announced).
    let first_run = wait_stored(&p, "crash-1", queued_before_kill, Duration::from_secs(60));
    let n = assert_complete("crash-1", &first_run);
    assert!(
        n == queued_before_kill || n == queued_before_kill + 1,
        "crash-1 has {n} collections, {queued_before_kill} were queued before the kill"
    );
    // And the second run's, including those collected while Prometheus was down.
    let target = second_during_outage + 10;
    second.wait_queued(target, Duration::from_secs(30));
    let second_run = wait_stored(&p, "crash-2", target, Duration::from_secs(60));
    assert_complete("crash-2", &second_run);
    drop(second);
}
