//! Collects a counter with many series repeatedly (for profiling collection).
//! `cargo run --release -p prw-sdk --example collect_profile -- [series] [rounds]`; with
//! `PERIODIC` set through a periodic controller's flush, with `REUSE` set each collection
//! is written into the previous one (`ManualReader::collect_into`).
#![allow(clippy::unwrap_used)] // an example: a failure should stop it
use prw_api::KeyValue;
use std::time::Instant;

fn main() {
    let n: i64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let reader = prw_sdk::ManualReader::new();
    let periodic = std::env::var("PERIODIC").is_ok();
    let mut b = prw_sdk::SdkMeterProvider::builder();
    b = if periodic {
        b.with_reader(
            prw_sdk::PeriodicController::builder(Null)
                .with_interval(std::time::Duration::from_secs(3600))
                .build(),
        )
    } else {
        b.with_reader(reader.clone())
    };
    let p = b.with_cardinality_limit(n as usize + 10).build();
    let c = p.meter("m").u64_counter("c").build();
    for k in 0..n {
        c.add(
            1,
            &[
                KeyValue::new("a", k % 100),
                KeyValue::new("b", (k / 100) % 100),
                KeyValue::new("c", k / 10_000),
            ],
        );
    }
    let cpu = || -> u64 {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
            .sum::<u64>()
    };
    let reuse = std::env::var("REUSE").is_ok();
    let mut kept = prw_sdk::ResourceMetrics::default();
    let mut all = Vec::new();
    let mut best = u64::MAX;
    let mut best_wall = std::time::Duration::MAX;
    let rounds: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    for _ in 0..rounds {
        let (t, c) = (Instant::now(), cpu());
        if periodic {
            p.force_flush().unwrap();
        } else if reuse {
            reader.collect_into(&mut kept).unwrap();
            std::hint::black_box(&kept);
        } else {
            drop(reader.collect().unwrap());
        }
        let used = cpu() - c;
        best = best.min(used);
        best_wall = best_wall.min(t.elapsed());
        all.push(used);
        if rounds <= 20 {
            println!("wall {:?} cpu {:.1} ms", t.elapsed(), used as f64 / 1e6);
        }
    }
    all.sort_unstable();
    println!(
        "best wall {:?}; best cpu {:.3} ms, median {:.3} ms (CPU time is counted in ticks)",
        best_wall,
        best as f64 / 1e6,
        all[all.len() / 2] as f64 / 1e6
    );
}

#[derive(Debug)]
struct Null;
impl prw_sdk::MetricExporter for Null {
    fn export(&self, metrics: prw_sdk::ResourceMetrics) -> prw_sdk::ExportFuture<'_> {
        std::hint::black_box(&metrics);
        Box::pin(async { Ok(()) })
    }
    fn force_flush(&self) -> prw_sdk::ExportFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    fn shutdown(&self, _deadline: std::time::Duration) -> prw_sdk::ExportFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}
