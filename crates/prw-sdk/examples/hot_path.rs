//! Times the hot path outside criterion (quick check while tuning).
#![allow(clippy::unwrap_used)] // tests and benches: a failure should stop them
use prw_api::{KeyValue, MeterProvider};
use std::time::Instant;

fn main() {
    let reader = prw_sdk::ManualReader::new();
    let p = prw_sdk::SdkMeterProvider::builder().with_reader(reader.clone()).build();
    let c = p.meter("m").u64_counter("c").build();
    let sets: Vec<[KeyValue; 3]> = (0..1000)
        .map(|i| {
            [
                KeyValue::new(
                    "method",
                    ["GET", "POST", "PUT", "DELETE", "A", "B", "C", "D", "E", "F"][i % 10],
                ),
                KeyValue::new(
                    "route",
                    ["/", "/a", "/b", "/c", "/d", "/e", "/f", "/g", "/h", "/i"][(i / 10) % 10],
                ),
                KeyValue::new("status", 200 + (i / 100) as i64),
            ]
        })
        .collect();
    for s in &sets {
        c.add(1, s);
    }
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000_000);
    let mut i = 0usize;
    let t = Instant::now();
    for _ in 0..n {
        i = (i + 7919) % 1000;
        c.add(1, &sets[i]);
    }
    let el = t.elapsed();
    println!("{:.1} ns/add", el.as_nanos() as f64 / n as f64);
    let t = Instant::now();
    for _ in 0..n {
        c.add(1, &sets[5]);
    }
    println!("same set: {:.1} ns/add", t.elapsed().as_nanos() as f64 / n as f64);
    let t = Instant::now();
    for _ in 0..n {
        c.add(1, &[]);
    }
    println!("no attrs: {:.1} ns/add", t.elapsed().as_nanos() as f64 / n as f64);
    let rm = reader.collect().unwrap();
    if let Some(prw_proto::otlp::metrics::metric::Data::Sum(s)) =
        &rm.scope_metrics[0].metrics[0].data
    {
        println!("series: {}", s.data_points.len());
    }
}
