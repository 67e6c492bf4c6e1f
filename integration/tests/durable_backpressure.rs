//! Issue 7, "What it must show" — backpressure: a backend that never answers never blocks
//! recording. The receiver (scripted, in process: no real backend can be told to hold every
//! request forever) takes each request and never answers; meanwhile another thread records a
//! million measurements, which all complete while the sender is still waiting for its first
//! answer. With the in-memory queue and with the persistent queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use prw::PrometheusRemoteWriteExporter;
use prw::api::KeyValue;
use prw_integration::{Reply, ScriptedReceiver, TestDir};

const MEASUREMENTS: u64 = 1_000_000;

fn recording_never_waits_for_the_network(queue_dir: Option<&std::path::Path>) {
    let receiver = ScriptedReceiver::start_with(|_| Reply::hang()).expect("receiver");
    let mut builder = PrometheusRemoteWriteExporter::builder()
        .endpoint(&receiver.url())
        .expect("endpoint")
        // Longer than the test: the sender stays stuck on its first request.
        .timeout(Duration::from_secs(600))
        .stale_markers_on_shutdown(false);
    if let Some(dir) = queue_dir {
        builder = builder.persistent_queue(dir);
    }
    let exporter = builder.build().expect("exporter");
    let stats = exporter.clone();
    let provider = prw::pipeline()
        .with_service_name("backpressure")
        .with_interval(Duration::from_millis(50))
        .with_exporter(exporter)
        .start()
        .expect("pipeline");
    let meter = provider.meter("backpressure");
    let counter = meter.u64_counter("bp.events").build();
    let histogram = meter.f64_histogram("bp.latency").build();

    // The sender is now waiting on a request the receiver holds.
    counter.add(1, &[]);
    assert!(receiver.wait_for_requests(1, Duration::from_secs(10)), "the first push arrives");

    let recorded = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let worker = {
        let (recorded, done) = (recorded.clone(), done.clone());
        std::thread::spawn(move || {
            let routes = [KeyValue::new("route", "/a"), KeyValue::new("route", "/b")];
            for i in 0..MEASUREMENTS / 2 {
                let attrs = std::slice::from_ref(&routes[(i % 2) as usize]);
                counter.add(1, attrs);
                histogram.record((i % 1000) as f64 / 1000.0, attrs);
                recorded.fetch_add(2, Ordering::Relaxed);
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    // Speed is measured by the benches, not here: what is checked is that the recording
    // finishes at all while nothing gets answered (two minutes is only there so that a
    // blocked recorder fails the test with a message instead of hanging it).
    let finished = prw_integration::wait_for(Duration::from_secs(120), || {
        done.load(Ordering::SeqCst).then_some(())
    });
    assert!(
        finished.is_some(),
        "recording is blocked: {} of {MEASUREMENTS} measurements",
        recorded.load(Ordering::Relaxed)
    );
    worker.join().expect("the recording thread finishes");
    assert_eq!(recorded.load(Ordering::Relaxed), MEASUREMENTS);

    // ... and the sender is still waiting: nothing was answered, nothing delivered.
    let s = &stats.stats()[0];
    assert_eq!(s.requests_sent, 0, "nothing delivered: {s:?}");
    assert_eq!(s.sent.samples, 0, "{s:?}");
    assert!(receiver.request_count() >= 1);
    assert!(
        receiver.request_count() <= 2,
        "one request in flight at a time (a second only if the first timed out): {}",
        receiver.request_count()
    );
    eprintln!(
        "{MEASUREMENTS} measurements recorded while the receiver held {} request(s); {} samples waiting",
        receiver.request_count(),
        s.pending_points
    );
    // Not shut down gracefully: the receiver would hold the flush forever.
    drop(provider);
}

#[test]
fn a_backend_that_never_answers_never_blocks_recording() {
    recording_never_waits_for_the_network(None);
}

#[test]
fn a_backend_that_never_answers_never_blocks_recording_with_a_persistent_queue() {
    let dir = TestDir::new("durable-backpressure").expect("temp dir");
    recording_never_waits_for_the_network(Some(&dir.join("queue")));
}
