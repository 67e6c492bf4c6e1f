//! The persistent queue's own costs, per fsync policy: the steady state (append, read back,
//! acknowledge) and draining a backlog after an outage.
//!
//! `cargo bench -p prw --bench persistent_queue`
//!
//! How it compares with embedded databases: `persistent_queue_storage.rs`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use prw::persistent_queue::{
    FsyncPolicy, PersistentQueue, PersistentQueueConfig, ProtocolVersion, RequestMeta,
};

fn body(len: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(7);
    (0..len).map(|_| rng.u8(..)).collect()
}

fn open(dir: &std::path::Path, fsync: FsyncPolicy) -> PersistentQueue {
    let config = PersistentQueueConfig::new(dir).max_bytes(64 << 20).fsync(fsync);
    PersistentQueue::open(config).expect("open")
}

fn meta() -> RequestMeta {
    RequestMeta::new(ProtocolVersion::V1, 2000, 0, 0)
}

fn steady(c: &mut Criterion) {
    let mut group = c.benchmark_group("persistent_queue/steady");
    group.sample_size(20).measurement_time(Duration::from_secs(6));
    let len = 16 << 10;
    let payload = body(len);
    group.throughput(Throughput::Bytes(len as u64));
    for policy in [FsyncPolicy::EveryRequest, FsyncPolicy::EveryRequests(16), FsyncPolicy::Never] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut queue = open(tmp.path(), policy);
        group.bench_function(BenchmarkId::new(policy.to_string(), len), |b| {
            b.iter(|| {
                queue.append(meta(), &payload).expect("append");
                let front = queue.front().expect("front").expect("an entry");
                queue.ack(black_box(front.seq)).expect("ack");
            });
        });
    }
    group.finish();
}

/// Reading back and acknowledging 1,000 queued requests (16 KiB each), after a restart.
fn drain(c: &mut Criterion) {
    const N: u64 = 1000;
    let mut group = c.benchmark_group("persistent_queue/drain_after_restart");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N));
    let payload = body(16 << 10);
    group.bench_function("1000x16KiB", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let tmp = tempfile::tempdir().expect("tempdir");
                let mut queue = open(tmp.path(), FsyncPolicy::Never);
                for _ in 0..N {
                    queue.append(meta(), &payload).expect("append");
                }
                drop(queue);
                let start = Instant::now();
                let mut queue = open(tmp.path(), FsyncPolicy::Never);
                while let Some(front) = queue.front().expect("front") {
                    queue.ack(front.seq).expect("ack");
                }
                total += start.elapsed();
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, steady, drain);
criterion_main!(benches);
