//! Measures the whole export path: collect → convert → encode → compress → send, for `n`
//! series, against a remote-write endpoint (see `benches/export-vs-python.sh`).
//!
//! ```console
//! $ cargo run --release -p prw --example export_throughput -- http://127.0.0.1:40123/api/v1/write 100000 5
//! ```

#[path = "support/workload.rs"]
mod workload;

use std::time::{Duration, Instant};

use prw::Protocol;
use prw::sdk::MetricExporter as _;

fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "http://127.0.0.1:9201/api/v1/write".to_owned());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let protocol: Protocol = args.next().and_then(|s| s.parse().ok()).unwrap_or(Protocol::V1);

    let w = workload::Workload::new(n);
    let exporter = workload::exporter(&url, protocol);
    let mut times = Vec::with_capacity(rounds);
    let mut cpu = Vec::with_capacity(rounds);
    for round in 0..=rounds {
        w.record();
        let c0 = process_cpu_seconds();
        let t0 = Instant::now();
        // as the periodic controller does: collect into the collection the exporter is done with
        let mut collected = exporter.reclaim().unwrap_or_default();
        w.reader.collect_into(&mut collected).expect("collect");
        exporter.enqueue(collected).expect("enqueue");
        prw::sdk::block_on_timeout(
            exporter.force_flush(),
            Instant::now() + Duration::from_secs(120),
        )
        .expect("flush in time")
        .expect("delivered");
        let dt = t0.elapsed();
        let dc = process_cpu_seconds() - c0;
        if round > 0 {
            // round 0 warms up connections and allocations
            times.push(dt);
            cpu.push(dc);
        }
    }
    let stats = &exporter.stats()[0];
    assert_eq!(stats.dropped_total(), prw::Counts::default(), "{stats:?}");
    times.sort();
    let best = times[0];
    let median = times[times.len() / 2];
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "prw ({protocol}): {n} series x {rounds} rounds; median {:.1} ms = {:.0} series/s; best {:.1} ms = {:.0} series/s; {} requests, {} bytes sent",
        median.as_secs_f64() * 1e3,
        rate(median),
        best.as_secs_f64() * 1e3,
        rate(best),
        stats.requests_sent,
        stats.bytes_sent
    );
    cpu.sort_by(f64::total_cmp);
    let cpu_median = cpu[cpu.len() / 2];
    println!(
        "  CPU (all threads, median per round): {:.0} ms = {:.0} series per CPU-second",
        cpu_median * 1e3,
        n as f64 / cpu_median
    );
    println!("series_per_second={:.0}", rate(median));
    println!("series_per_cpu_second={:.0}", n as f64 / cpu_median);
}

/// User + system CPU time of the whole process so far (all threads), from /proc.
fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |r| r.1).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime, in USER_HZ (100 on Linux)
    (ticks(11) + ticks(12)) / 100.0
}
