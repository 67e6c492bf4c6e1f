//! Issue 7, "What it must show" — bound: a 10-minute outage compressed in time (a collection
//! every 10 ms instead of 200 ms, 3,000 collections of 1,000 series) keeps the process's
//! memory and the queue directory under their configured bounds, with and without the
//! persistent queue. Peak RSS (VmHWM) is printed for the report.
//!
//! The endpoint is a closed port on loopback: to the exporter, a backend that is down.

mod durable_common;

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use durable_common::{App, dir_bytes};
use prw_integration::TestDir;

const MIB: u64 = 1 << 20;
/// 3,000 collections: 10 minutes at 200 ms.
const COLLECTIONS: i64 = 3_000;
const SERIES: &str = "200";

/// An endpoint nobody listens on.
fn dead_endpoint() -> String {
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    format!("http://127.0.0.1:{port}/api/v1/write")
}

/// Memory and disk seen during the compressed outage.
#[derive(Debug)]
struct Seen {
    /// RSS after the first 20 collections, the queue still nearly empty.
    rss_start: u64,
    /// RSS after a third of the collections, the queue full.
    rss_at_third: u64,
    /// RSS at the end.
    rss_end: u64,
    /// VmHWM at the end.
    peak: u64,
    /// The largest queue directory seen (sampled every 50 ms).
    largest_dir: u64,
}

/// Runs the app through the compressed outage.
fn compressed_outage(args: &[&str], queue_dir: Option<&Path>) -> Seen {
    let app = App::start(args);
    let started = Instant::now();
    app.wait_queued(20, Duration::from_secs(30));
    let rss_start = app.memory().1;
    let mut rss_at_third = 0;
    let mut largest_dir = 0;
    while app.queued() < COLLECTIONS {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "only {} collections in 4 minutes: {}",
            app.queued(),
            app.stderr()
        );
        if rss_at_third == 0 && app.queued() >= COLLECTIONS / 3 {
            rss_at_third = app.memory().1;
        }
        if let Some(dir) = queue_dir {
            largest_dir = largest_dir.max(dir_bytes(dir));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (peak, rss_end) = app.memory();
    let mib = |b: u64| b as f64 / MIB as f64;
    eprintln!(
        "{} collections in {:?}: peak RSS {:.1} MiB; RSS {:.1} MiB after 20 collections, {:.1} MiB after a third, {:.1} MiB at the end; largest queue dir {:.2} MiB",
        app.queued(),
        started.elapsed(),
        mib(peak),
        mib(rss_start),
        mib(rss_at_third),
        mib(rss_end),
        mib(largest_dir)
    );
    drop(app);
    Seen { rss_start, rss_at_third, rss_end, peak, largest_dir }
}

/// Once the queue is full, memory stops growing: the last two thirds of the outage add at
/// most a quarter (allocator noise), not a third of the data again.
fn assert_plateau(seen: &Seen) {
    assert!(
        seen.rss_end <= seen.rss_at_third + seen.rss_at_third / 4,
        "memory kept growing after the queue was full: {seen:?}"
    );
}

#[test]
fn a_long_outage_keeps_memory_within_the_in_memory_queue_limits() {
    let endpoint = dead_endpoint();
    // 100,000 samples or 4 MiB of encoded requests: reached after ~500 of the 3,000
    // collections (200 series each).
    let max_queue_bytes = 4 * MIB;
    let limit = max_queue_bytes.to_string();
    let seen = compressed_outage(
        &[
            "--endpoint",
            &endpoint,
            "--run",
            "bound-memory",
            "--interval-ms",
            "10",
            "--series",
            SERIES,
            "--max-queue-bytes",
            &limit,
            "--max-queue-samples",
            "100000",
        ],
        None,
    );
    eprintln!("BOUND_REPORT in-memory queue: peak RSS {:.1} MiB", seen.peak as f64 / MIB as f64);
    // Queued series take more room in memory than encoded (labels as strings, shared
    // collections): allow three times the byte limit over the RSS of an empty queue.
    let budget = seen.rss_start + 3 * max_queue_bytes;
    assert!(seen.peak <= budget, "peak RSS {} over {budget}: {seen:?}", seen.peak);
    assert_plateau(&seen);
}

#[test]
fn a_long_outage_keeps_the_queue_directory_and_memory_bounded_with_a_persistent_queue() {
    let endpoint = dead_endpoint();
    let dir = TestDir::new("durable-bound").expect("temp dir");
    let queue = dir.join("queue");
    let max_bytes = 4 * MIB;
    let bound = max_bytes.to_string();
    let seen = compressed_outage(
        &[
            "--endpoint",
            &endpoint,
            "--run",
            "bound-disk",
            "--interval-ms",
            "10",
            "--series",
            SERIES,
            "--queue-dir",
            queue.to_str().expect("utf-8 path"),
            "--queue-max-bytes",
            &bound,
        ],
        Some(&queue),
    );
    eprintln!("BOUND_REPORT persistent queue: peak RSS {:.1} MiB", seen.peak as f64 / MIB as f64);
    assert!(seen.largest_dir > max_bytes / 2, "the outage filled the queue: {seen:?}");
    // The lock file's few bytes are not counted by the bound.
    assert!(seen.largest_dir <= max_bytes + 64, "queue directory over {max_bytes}: {seen:?}");
    // The queue is on disk: memory holds one request of it, not the outage. A few MiB over
    // the start allow for the allocator and the exporter's buffers.
    let budget = seen.rss_start + 8 * MIB;
    assert!(seen.peak <= budget, "peak RSS {} over {budget}: {seen:?}", seen.peak);
    assert_plateau(&seen);
}
