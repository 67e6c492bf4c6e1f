//! Many threads recording at once (while collections run) must give exact totals.
#![allow(clippy::unwrap_used)] // tests and benches: a failure should stop them

mod common;

use std::sync::Barrier;

use common::*;
use prw_api::KeyValue;
use prw_proto::otlp::metrics::metric::Data;
use prw_sdk::Temporality;

const THREADS: usize = 8;
const PER_THREAD: u64 = 20_000;

fn run(temporality: Temporality) {
    let (p, r) = provider_with(vec![], temporality);
    let m = p.meter("m");
    let cu = m.u64_counter("cu").build();
    let cf = m.f64_counter("cf").build();
    let ud = m.i64_up_down_counter("ud").build();
    let h = m.f64_histogram("h").build();
    let sets: Vec<[KeyValue; 2]> =
        (0..50i64).map(|i| [KeyValue::new("i", i % 10), KeyValue::new("j", i / 10)]).collect();
    let barrier = Barrier::new(THREADS + 1);
    let mut collected: Vec<prw_sdk::ResourceMetrics> = Vec::new();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (cu, cf, ud, h, sets, barrier) = (&cu, &cf, &ud, &h, &sets, &barrier);
            s.spawn(move || {
                let bound = cu.bind(&sets[t]);
                barrier.wait();
                for k in 0..PER_THREAD {
                    let set = &sets[(k as usize * 7 + t) % sets.len()];
                    cu.add(1, set);
                    bound.add(1);
                    cf.add(0.5, set);
                    ud.add(if k % 2 == 0 { 3 } else { -1 }, set);
                    h.record(k as f64, set);
                }
            });
        }
        barrier.wait();
        // Collect while the writers run.
        for _ in 0..20 {
            collected.push(r.collect().unwrap());
        }
    });
    collected.push(r.collect().unwrap());

    let total = |name: &str| -> f64 {
        match temporality {
            Temporality::Cumulative => {
                number_points(metric(collected.last().unwrap(), name)).iter().map(|p| p.1).sum()
            }
            Temporality::Delta => collected
                .iter()
                .filter_map(|rm| find(rm, name))
                .flat_map(|m| number_points(m).into_iter().map(|p| p.1))
                .sum(),
        }
    };
    let n = (THREADS as u64 * PER_THREAD) as f64;
    assert_eq!(total("cu"), 2.0 * n, "{temporality:?}");
    assert_eq!(total("cf"), 0.5 * n, "{temporality:?}");
    // Up-down counters stay cumulative: read the last collection.
    let ud: f64 = number_points(metric(collected.last().unwrap(), "ud")).iter().map(|p| p.1).sum();
    assert_eq!(ud, n, "{temporality:?}");
    let count: u64 = collected
        .iter()
        .filter(|_| temporality == Temporality::Delta)
        .chain(
            std::iter::once(collected.last().unwrap())
                .filter(|_| temporality == Temporality::Cumulative),
        )
        .filter_map(|rm| find(rm, "h"))
        .map(|m| match m.data.as_ref().unwrap() {
            Data::Histogram(h) => {
                for p in &h.data_points {
                    assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count, "consistent buckets");
                }
                h.data_points.iter().map(|p| p.count).sum::<u64>()
            }
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(count, THREADS as u64 * PER_THREAD, "{temporality:?}");
}

#[test]
fn exact_totals_cumulative() {
    run(Temporality::Cumulative);
}

#[test]
fn exact_totals_delta() {
    run(Temporality::Delta);
}

#[test]
fn racing_series_creation_gives_one_series_each() {
    let (p, r) = provider_with(vec![], Temporality::Cumulative);
    let c = p.meter("m").u64_counter("c").build();
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            let (c, barrier) = (&c, &barrier);
            s.spawn(move || {
                barrier.wait();
                for i in 0..1500i64 {
                    c.add(1, &[KeyValue::new("i", i)]);
                }
            });
        }
    });
    let pts = number_points(metric(&r.collect().unwrap(), "c"));
    assert_eq!(pts.len(), 1500);
    assert!(pts.iter().all(|p| p.1 == THREADS as f64));
}
