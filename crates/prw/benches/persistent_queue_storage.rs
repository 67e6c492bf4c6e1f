//! Which storage for the persistent queue: our segmented log against two embedded databases,
//! redb (a copy-on-write B-tree) and fjall (an LSM tree), on the queue's own pattern — append a
//! request durably (fsync) before sending it, read it back, acknowledge it after the 2xx (the
//! acknowledgement made durable by the next append's fsync, as the log does).
//!
//! `cargo bench -p prw --features storage-comparison --bench persistent_queue_storage`
//!
//! fsync latency on a virtual disk drifts by 2-3x over minutes, which makes one-after-the-other
//! benchmarks (criterion's groups) compare the disk's moods rather than the stores. So this is
//! a small harness of its own: every round runs every store on the same scenario, in a rotating
//! order, and it prints the median and spread of the rounds' per-request means.
//! The result and the choice are in `benches/README.md` and the `persistent_queue` docs.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use prw::persistent_queue::{
    FsyncPolicy, PersistentQueue, PersistentQueueConfig, ProtocolVersion, RequestMeta,
};
use redb::ReadableTable;

/// The queue's operations, as each storage does them.
trait Store {
    /// Appends (durably unless the store was opened without fsync).
    fn append(&mut self, body: &[u8]);
    /// Reads the oldest entry and acknowledges it; returns its length.
    fn pop(&mut self) -> usize;
}

struct Log(PersistentQueue);

impl Log {
    fn open(dir: &Path, durable: bool) -> Self {
        let policy = if durable { FsyncPolicy::EveryRequest } else { FsyncPolicy::Never };
        // 4 MiB segments: the measured loops below cross a few segment boundaries, so the
        // cost of creating (zero-filling) segments is in the numbers.
        let config = PersistentQueueConfig::new(dir).max_bytes(64 << 20).fsync(policy);
        Log(PersistentQueue::open(config).expect("open the log"))
    }
}

impl Store for Log {
    fn append(&mut self, body: &[u8]) {
        let meta = RequestMeta::new(ProtocolVersion::V1, 2000, 0, 0);
        self.0.append(meta, body).expect("append");
    }

    fn pop(&mut self) -> usize {
        let front = self.0.front().expect("front").expect("an entry");
        self.0.ack(front.seq).expect("ack");
        front.body.len()
    }
}

const TABLE: redb::TableDefinition<'_, u64, &[u8]> = redb::TableDefinition::new("queue");

struct Redb {
    db: redb::Database,
    next: u64,
    durable: bool,
}

impl Redb {
    fn open(dir: &Path, durable: bool) -> Self {
        let db = redb::Database::create(dir.join("queue.redb")).expect("create redb");
        Redb { db, next: 0, durable }
    }
}

impl Store for Redb {
    fn append(&mut self, body: &[u8]) {
        let mut tx = self.db.begin_write().expect("begin");
        tx.set_durability(if self.durable {
            redb::Durability::Immediate
        } else {
            redb::Durability::None
        });
        {
            let mut table = tx.open_table(TABLE).expect("table");
            table.insert(self.next, body).expect("insert");
        }
        tx.commit().expect("commit");
        self.next += 1;
    }

    fn pop(&mut self) -> usize {
        let (key, len) = {
            let tx = self.db.begin_read().expect("begin read");
            let table = tx.open_table(TABLE).expect("table");
            let (k, v) = table.first().expect("first").expect("an entry");
            (k.value(), black_box(v.value().to_vec()).len())
        };
        let mut tx = self.db.begin_write().expect("begin");
        // Durable with the next append's commit, like the log's acknowledgement.
        tx.set_durability(redb::Durability::None);
        {
            let mut table = tx.open_table(TABLE).expect("table");
            table.remove(key).expect("remove");
        }
        tx.commit().expect("commit");
        len
    }
}

struct Fjall {
    keyspace: fjall::Keyspace,
    items: fjall::PartitionHandle,
    next: u64,
    durable: bool,
}

impl Fjall {
    fn open(dir: &Path, durable: bool) -> Self {
        let keyspace = fjall::Config::new(dir.join("fjall"))
            .manual_journal_persist(true)
            .open()
            .expect("open fjall");
        let items = keyspace
            .open_partition("queue", fjall::PartitionCreateOptions::default())
            .expect("partition");
        Fjall { keyspace, items, next: 0, durable }
    }
}

impl Store for Fjall {
    fn append(&mut self, body: &[u8]) {
        self.items.insert(self.next.to_be_bytes(), body).expect("insert");
        if self.durable {
            self.keyspace.persist(fjall::PersistMode::SyncData).expect("persist");
        }
        self.next += 1;
    }

    fn pop(&mut self) -> usize {
        let (key, value) = self.items.first_key_value().expect("first").expect("an entry");
        self.items.remove(key).expect("remove");
        value.len()
    }
}

type Opener = fn(&Path, bool) -> Box<dyn Store>;

const STORES: [(&str, Opener); 3] = [
    ("log", |d, durable| Box::new(Log::open(d, durable))),
    ("redb", |d, durable| Box::new(Redb::open(d, durable))),
    ("fjall", |d, durable| Box::new(Fjall::open(d, durable))),
];

fn body(len: usize) -> Vec<u8> {
    // Compressed bodies look random; make this incompressible too.
    let mut rng = fastrand::Rng::with_seed(7);
    (0..len).map(|_| rng.u8(..)).collect()
}

fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for e in entries.flatten() {
        let Ok(meta) = e.metadata() else { continue };
        total += if meta.is_dir() { dir_size(&e.path()) } else { meta.len() };
    }
    total
}

/// One scenario's per-request times over the rounds, and the disk use it ended with.
#[derive(Default)]
struct Samples {
    per_request: Vec<Duration>,
    disk_after: Vec<u64>,
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

fn report(scenario: &str, results: &[(&str, Samples)]) {
    for (name, s) in results {
        let mut v = s.per_request.clone();
        v.sort();
        let disk = s.disk_after.iter().max().copied().unwrap_or(0);
        println!(
            "{scenario:<34} {name:<6} median {:>9.1?}  p10 {:>9.1?}  p90 {:>9.1?}  disk after {:>6.2} MiB",
            quantile(&v, 0.5),
            quantile(&v, 0.1),
            quantile(&v, 0.9),
            disk as f64 / f64::from(1 << 20),
        );
    }
}

/// `rounds` rounds; in each, every store (in a rotating order) runs `scenario` in a fresh
/// directory, which returns its per-request time.
fn compare(
    label: &str,
    rounds: usize,
    durable: bool,
    scenario: impl Fn(&mut dyn Store) -> Duration,
) {
    let mut results: Vec<(&str, Samples)> =
        STORES.iter().map(|(n, _)| (*n, Samples::default())).collect();
    for round in 0..rounds {
        for k in 0..STORES.len() {
            let i = (round + k) % STORES.len();
            let tmp = tempfile::tempdir().expect("tempdir");
            let mut store = (STORES[i].1)(tmp.path(), durable);
            let t = scenario(store.as_mut());
            drop(store);
            results[i].1.per_request.push(t);
            results[i].1.disk_after.push(dir_size(tmp.path()));
        }
    }
    report(label, &results);
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported here.
    let rounds = 15;

    for len in [4usize << 10, 64 << 10] {
        let payload = body(len);
        compare(&format!("steady, fsync, {} KiB", len >> 10), rounds, true, |store| {
            // Warm up (file creation, first pages), then measure.
            for _ in 0..10 {
                store.append(&payload);
                black_box(store.pop());
            }
            let n = 200;
            let start = Instant::now();
            for _ in 0..n {
                store.append(&payload);
                black_box(store.pop());
            }
            start.elapsed() / n
        });
    }

    let len = 16 << 10;
    let payload = body(len);
    let n = 300u32;
    compare("outage: append 300, fsync, 16 KiB", rounds, true, |store| {
        let start = Instant::now();
        for _ in 0..n {
            store.append(&payload);
        }
        start.elapsed() / n
    });
    compare("recovery: drain 300 (16 KiB)", rounds, true, |store| {
        for _ in 0..n {
            store.append(&payload);
        }
        let start = Instant::now();
        for _ in 0..n {
            black_box(store.pop());
        }
        start.elapsed() / n
    });

    let len = 4 << 10;
    let payload = body(len);
    compare("steady, no fsync (CPU), 4 KiB", rounds, false, |store| {
        let n = 2000;
        let start = Instant::now();
        for _ in 0..n {
            store.append(&payload);
            black_box(store.pop());
        }
        start.elapsed() / n
    });
}
