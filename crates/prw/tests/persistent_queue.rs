//! The persistent queue on a real file system: order across restarts, damage of every kind,
//! bounds, the directory lock, and random operation sequences against a model.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use prw::persistent_queue::{
    DropCounts, DropReason, FsyncPolicy, OpenError, PersistentQueue, PersistentQueueConfig,
    ProtocolVersion, RequestMeta,
};

fn meta(samples: u64) -> RequestMeta {
    RequestMeta::new(ProtocolVersion::V1, samples, samples / 10, 1)
}

fn body(i: u64, len: usize) -> Vec<u8> {
    let mut b = format!("request-{i}-").into_bytes();
    b.resize(len.max(b.len()), b'a' + (i % 26) as u8);
    b
}

/// A 1 MiB bound keeps segment files small (64 KiB), so that the many opens below are cheap.
fn config(dir: &Path) -> PersistentQueueConfig {
    PersistentQueueConfig::new(dir).max_bytes(1 << 20)
}

/// No fsync: for the tests that open hundreds of damaged copies (fsync changes nothing there).
fn quick(dir: &Path) -> PersistentQueueConfig {
    config(dir).fsync(FsyncPolicy::Never)
}

/// One past the last non-zero byte: where the records of a zero-filled segment end.
fn data_end(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
}

/// Reads and acknowledges everything, returning the bodies in order.
fn drain(queue: &mut PersistentQueue) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(r) = queue.front().expect("front") {
        out.push(r.body.to_vec());
        queue.ack(r.seq).expect("ack");
    }
    out
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    files
}

fn dir_bytes(dir: &Path) -> u64 {
    segment_files(dir).iter().map(|p| fs::metadata(p).expect("stat").len()).sum()
}

#[test]
fn append_ack_and_restart_keep_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("q");
    {
        let mut q = PersistentQueue::open(config(&dir)).expect("open");
        for i in 0..10 {
            q.append(meta(i), &body(i, 100)).expect("append");
        }
        for i in 0..3 {
            let r = q.front().expect("front").expect("some");
            assert_eq!(r.body.to_vec(), body(i, 100));
            assert_eq!(r.meta.samples, i);
            q.ack(r.seq).expect("ack");
        }
        assert_eq!(q.len(), 7);
    }
    let mut q = PersistentQueue::open(config(&dir)).expect("reopen");
    assert_eq!(q.stats().recovered_requests, 7);
    assert_eq!(q.stats().pending_samples, (3..10).sum::<u64>());
    // New requests go behind the recovered ones.
    for i in 10..12 {
        q.append(meta(i), &body(i, 100)).expect("append");
    }
    let got = drain(&mut q);
    let want: Vec<Vec<u8>> = (3..12).map(|i| body(i, 100)).collect();
    assert_eq!(got, want);
    assert!(q.is_empty());
    drop(q);
    let mut q = PersistentQueue::open(config(&dir)).expect("reopen");
    assert!(drain(&mut q).is_empty(), "acknowledged requests never come back");
}

#[test]
fn the_front_is_stable_until_acknowledged_and_ack_is_idempotent() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut q = PersistentQueue::open(config(tmp.path())).expect("open");
    let a = q.append(meta(1), b"a").expect("append");
    let b = q.append(meta(2), b"b").expect("append");
    assert!(b > a);
    assert_eq!(q.front().expect("front").expect("some").seq, a);
    assert_eq!(q.front().expect("front").expect("some").seq, a);
    q.ack(a).expect("ack");
    q.ack(a).expect("ack again");
    assert_eq!(q.front().expect("front").expect("some").seq, b);
    // Acknowledging further than appended is harmless.
    q.ack(b + 100).expect("ack");
    assert!(q.front().expect("front").is_none());
    let c = q.append(meta(3), b"c").expect("append");
    assert_eq!(q.front().expect("front").expect("some").seq, c);
}

#[test]
fn many_segments_are_read_in_order_and_deleted_when_consumed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // 1 MiB bound: 64 KiB segments, so 100 requests of 4 KiB take several.
    let cfg = config(dir).fsync(FsyncPolicy::EveryRequests(8));
    {
        let mut q = PersistentQueue::open(cfg.clone()).expect("open");
        for i in 0..100 {
            q.append(meta(i), &body(i, 4096)).expect("append");
        }
        assert!(segment_files(dir).len() >= 5);
        for _ in 0..50 {
            let r = q.front().expect("front").expect("some");
            q.ack(r.seq).expect("ack");
        }
    }
    let mut q = PersistentQueue::open(cfg).expect("reopen");
    assert_eq!(drain(&mut q), (50..100).map(|i| body(i, 4096)).collect::<Vec<_>>());
    assert_eq!(segment_files(dir).len(), 1, "only the segment being written is left");
}

#[test]
fn every_fsync_policy_delivers_the_same() {
    for policy in [
        FsyncPolicy::EveryRequest,
        FsyncPolicy::EveryRequests(3),
        FsyncPolicy::Interval(Duration::from_millis(1)),
        FsyncPolicy::Never,
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        {
            let mut q = PersistentQueue::open(config(tmp.path()).fsync(policy)).expect("open");
            for i in 0..20 {
                q.append(meta(i), &body(i, 50)).expect("append");
            }
            let r = q.front().expect("front").expect("some");
            q.ack(r.seq).expect("ack");
        }
        let mut q = PersistentQueue::open(config(tmp.path()).fsync(policy)).expect("reopen");
        assert_eq!(drain(&mut q), (1..20).map(|i| body(i, 50)).collect::<Vec<_>>(), "{policy}");
    }
}

/// Writes `n` requests into a fresh queue and closes it; returns the one segment file.
fn write_fixture(dir: &Path, n: u64, len: usize) -> PathBuf {
    let mut q = PersistentQueue::open(quick(dir)).expect("open");
    for i in 0..n {
        q.append(meta(i), &body(i, len)).expect("append");
    }
    drop(q);
    let files = segment_files(dir);
    assert_eq!(files.len(), 1);
    files[0].clone()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

/// A torn write of the last record, at every byte offset in it, two ways: the file cut short
/// there, and (as a torn write into the zero-filled segment leaves it) zeros from there on.
#[test]
fn a_torn_last_write_at_every_byte_offset_loses_only_that_request() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = tmp.path().join("fixture");
    let n = 5;
    let len = 40;
    let seg = write_fixture(&fixture, n, len);
    let bytes = fs::read(&seg).expect("read");
    let end = data_end(&bytes);
    // Every record has the same size here, so the last one starts at this offset.
    let record = (end - 8) / n as usize;
    let last_start = end - record;
    let name = seg.file_name().expect("name").to_owned();
    for (cut, zeroed) in (last_start..end).flat_map(|cut| [(cut, false), (cut, true)]) {
        let dir = tmp.path().join(format!("cut-{cut}-{zeroed}"));
        copy_dir(&fixture, &dir);
        let mut torn = bytes.clone();
        if zeroed {
            torn[cut..].fill(0);
        } else {
            torn.truncate(cut);
        }
        fs::write(dir.join(&name), &torn).expect("tear");
        let mut q = PersistentQueue::open(quick(&dir)).expect("open after a torn write");
        let stats = q.stats();
        // Zeros at the tear are not told apart from unused space, hence the range.
        let torn_len = (cut - last_start) as u64;
        assert!(stats.torn_tail_bytes <= torn_len, "cut {cut}");
        assert_eq!(stats.torn_tail_bytes > 0, cut > last_start, "cut {cut}");
        assert_eq!(stats.recovered_requests, n - 1, "cut {cut}");
        // The queue is not stuck: new data goes in and comes out behind the survivors.
        q.append(meta(99), &body(99, len)).expect("append after recovery");
        let mut want: Vec<Vec<u8>> = (0..n - 1).map(|i| body(i, len)).collect();
        want.push(body(99, len));
        drop(q);
        let mut q = PersistentQueue::open(quick(&dir)).expect("reopen");
        assert_eq!(drain(&mut q), want, "cut {cut}");
        drop(q);
        fs::remove_dir_all(&dir).expect("cleanup");
    }
}

#[test]
fn a_flipped_byte_anywhere_loses_at_most_the_record_it_is_in() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = tmp.path().join("fixture");
    let n = 5u64;
    let len = 30;
    let seg = write_fixture(&fixture, n, len);
    let bytes = fs::read(&seg).expect("read");
    let end = data_end(&bytes);
    let record = (end - 8) / n as usize;
    let name = seg.file_name().expect("name").to_owned();
    // Every byte of every record, and the start of the unused zero-filled space after them.
    for at in 0..end + 16 {
        for flip in [0x01u8, 0xFF] {
            let dir = tmp.path().join(format!("flip-{at}-{flip}"));
            copy_dir(&fixture, &dir);
            let mut damaged = bytes.clone();
            damaged[at] ^= flip;
            fs::write(dir.join(&name), &damaged).expect("write");
            let mut q = PersistentQueue::open(quick(&dir)).expect("open a damaged queue");
            let got = drain(&mut q);
            let hit = (8..end).contains(&at).then(|| ((at - 8) / record) as u64);
            let want: Vec<Vec<u8>> =
                (0..n).filter(|i| Some(*i) != hit).map(|i| body(i, len)).collect();
            assert_eq!(got, want, "byte {at} ^ {flip:#x}");
            let stats = q.stats();
            assert!(
                stats.damaged_regions + u64::from(stats.torn_tail_bytes > 0) >= 1,
                "byte {at}: damage counted"
            );
            if let Some(hit) = hit {
                if hit + 1 < n {
                    // A lost request in the middle shows as a gap in the sequence numbers.
                    assert_eq!(stats.lost_requests, 1, "byte {at}");
                    let dropped = q.take_dropped();
                    assert_eq!(dropped.len(), 1);
                    assert_eq!(dropped[0].reason, DropReason::Damaged);
                    assert_eq!(dropped[0].counts.requests, 1);
                }
            }
            drop(q);
            fs::remove_dir_all(&dir).expect("cleanup");
        }
    }
}

#[test]
fn garbage_and_odd_files_never_panic() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cases: Vec<Vec<u8>> = vec![
        vec![],
        b"PRWQ".to_vec(),
        b"PRWQSEG1".to_vec(),
        b"PRWQSEG1PRWR\xff\xff\xff\xff".to_vec(),
        b"PRWQSEG1PRWR\x10\x00\x00\x00\x00\x00\x00\x00".to_vec(),
        (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect(),
        [b"PRWQSEG1".as_slice(), &b"PRWR".repeat(1000)].concat(),
    ];
    for (i, content) in cases.into_iter().enumerate() {
        let dir = tmp.path().join(format!("case-{i}"));
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(dir.join("00000000000000000001.seg"), &content).expect("write");
        fs::write(dir.join("unrelated.txt"), b"not ours").expect("write");
        let mut q = PersistentQueue::open(config(&dir)).expect("open");
        assert!(drain(&mut q).is_empty(), "case {i}");
        q.append(meta(1), b"after").expect("append");
        assert_eq!(drain(&mut q), vec![b"after".to_vec()], "case {i}");
    }
}

#[test]
fn the_byte_bound_drops_the_oldest_and_counts_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let max = 1u64 << 20;
    let mut q = PersistentQueue::open(config(dir).fsync(FsyncPolicy::Never)).expect("open");
    let total = 1000u64;
    for i in 0..total {
        q.append(meta(10), &body(i, 4000)).expect("append");
        assert!(q.disk_bytes() <= max, "after {i}: {} bytes", q.disk_bytes());
        assert!(dir_bytes(dir) <= max, "after {i}: {} bytes on disk", dir_bytes(dir));
        assert_eq!(q.disk_bytes(), dir_bytes(dir));
    }
    let stats = q.stats();
    let dropped = stats.dropped_queue_full;
    assert!(dropped.requests > 0);
    assert_eq!(dropped.requests + stats.pending_requests, total);
    assert_eq!(dropped.samples, dropped.requests * 10);
    assert_eq!(dropped.exemplars, dropped.requests);
    let reported: u64 = q
        .take_dropped()
        .iter()
        .filter(|d| d.reason == DropReason::QueueFull)
        .map(|d| d.counts.requests)
        .sum();
    assert_eq!(reported, dropped.requests);
    assert!(q.take_dropped().is_empty(), "taken once");
    // What is left is the newest data, in order, with no hole.
    let first = dropped.requests;
    let got = drain(&mut q);
    assert_eq!(got, (first..total).map(|i| body(i, 4000)).collect::<Vec<_>>());
    // It keeps most of the bound: whole segments of at most 1/16 are dropped at a time.
    assert!(got.len() as u64 * 4000 > max * 3 / 4, "kept {} requests", got.len());
}

#[test]
fn a_request_in_flight_is_not_counted_when_its_segment_is_dropped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut q = PersistentQueue::open(quick(tmp.path())).expect("open");
    q.append(meta(10), &body(0, 4000)).expect("append");
    let in_flight = q.front().expect("front").expect("some");
    let total = 600u64;
    for i in 1..total {
        q.append(meta(10), &body(i, 4000)).expect("append");
    }
    let stats = q.stats();
    assert!(stats.dropped_queue_full.requests > 0);
    // The caller still holds request 0 and will deliver it: it is not counted as dropped.
    assert_eq!(stats.dropped_queue_full.requests + stats.pending_requests, total - 1);
    q.ack(in_flight.seq).expect("ack after its segment went");
    let next = q.front().expect("front").expect("some");
    assert_eq!(next.body.to_vec(), body(stats.dropped_queue_full.requests + 1, 4000));
}

#[test]
fn a_request_larger_than_a_quarter_of_the_bound_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut q = PersistentQueue::open(config(tmp.path())).expect("open");
    let err = q.append(meta(1), &vec![0u8; 300_000]).expect_err("too large");
    assert!(err.to_string().contains("raise max_bytes"), "{err}");
    assert!(q.is_empty());
}

#[test]
fn requests_past_the_age_bound_are_dropped_and_counted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let hour = Duration::from_secs(3600);
    let old = |samples| RequestMeta { created: SystemTime::now() - 2 * hour, ..meta(samples) };
    {
        let mut q = PersistentQueue::open(config(dir).max_age(hour)).expect("open");
        q.append(old(5), b"old-1").expect("append");
        q.append(old(7), b"old-2").expect("append");
        q.append(meta(9), b"fresh").expect("append");
        let r = q.front().expect("front").expect("some");
        assert_eq!(&r.body[..], b"fresh");
        assert_eq!(
            q.stats().dropped_too_old,
            DropCounts { requests: 2, samples: 12, histograms: 0, exemplars: 2 }
        );
    }
    // Dropping was recorded on disk too.
    let mut q = PersistentQueue::open(config(dir).max_age(hour)).expect("reopen");
    assert_eq!(drain(&mut q), vec![b"fresh".to_vec()]);

    // A whole closed segment of old requests goes at the next append.
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = config(tmp.path()).max_age(hour);
    let mut q = PersistentQueue::open(cfg).expect("open");
    for i in 0..40 {
        q.append(old(1), &body(i, 4000)).expect("append");
    }
    q.append(meta(1), b"fresh").expect("append");
    assert!(q.stats().dropped_too_old.requests > 0);
    assert_eq!(drain(&mut q), vec![b"fresh".to_vec()]);
    assert_eq!(q.stats().dropped_too_old.requests, 40);
}

#[test]
fn a_second_opener_is_refused_with_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("queue");
    let first = PersistentQueue::open(config(&dir)).expect("open");
    let err = PersistentQueue::open(config(&dir)).expect_err("locked");
    match &err {
        OpenError::Locked { dir: d, holder } => {
            assert_eq!(d, &dir);
            assert_eq!(*holder, Some(std::process::id()));
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains(&dir.display().to_string()), "{message}");
    assert!(message.contains(&format!("process {}", std::process::id())), "{message}");
    assert!(message.contains("its own queue directory"), "{message}");
    drop(first);
    PersistentQueue::open(config(&dir)).expect("free again once the holder is gone");
}

#[test]
fn bad_settings_are_refused_before_touching_the_disk() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("never-created");
    let err = PersistentQueue::open(config(&dir).max_bytes(10)).expect_err("invalid");
    assert!(matches!(err, OpenError::Config(_)), "{err:?}");
    assert!(!dir.exists());
}

mod model {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Append(usize),
        AckFront,
        AckSeveral(usize),
        Reopen,
        Sync,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            5 => (0usize..3000).prop_map(Op::Append),
            3 => Just(Op::AckFront),
            1 => (1usize..6).prop_map(Op::AckSeveral),
            1 => Just(Op::Reopen),
            1 => Just(Op::Sync),
        ]
    }

    fn open(dir: &Path, policy: FsyncPolicy) -> PersistentQueue {
        // Large enough that this model has no drops (the bound test covers those).
        PersistentQueue::open(config(dir).max_bytes(4 << 20).fsync(policy)).expect("open")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn random_operations_match_a_fifo(
            ops in proptest::collection::vec(op(), 1..120),
            policy in prop_oneof![
                Just(FsyncPolicy::EveryRequest),
                Just(FsyncPolicy::EveryRequests(4)),
                Just(FsyncPolicy::Never),
            ],
        ) {
            let tmp = tempfile::tempdir().expect("tempdir");
            let dir = tmp.path();
            let mut q = open(dir, policy);
            let mut model: VecDeque<(u64, Vec<u8>, u64)> = VecDeque::new();
            let mut counter = 0u64;
            for op in ops {
                match op {
                    Op::Append(len) => {
                        counter += 1;
                        let b = body(counter, len);
                        let seq = q.append(meta(counter), &b).expect("append");
                        if let Some(last) = model.back() {
                            prop_assert!(seq > last.0);
                        }
                        model.push_back((seq, b, counter));
                    }
                    Op::AckFront => {
                        let front = q.front().expect("front");
                        let want = model.pop_front();
                        prop_assert_eq!(front.as_ref().map(|r| r.seq), want.as_ref().map(|w| w.0));
                        if let (Some(r), Some(w)) = (front, want) {
                            prop_assert_eq!(r.body.to_vec(), w.1);
                            prop_assert_eq!(r.meta.samples, w.2);
                            q.ack(r.seq).expect("ack");
                        }
                    }
                    Op::AckSeveral(k) => {
                        let k = k.min(model.len());
                        if k > 0 {
                            let seq = model[k - 1].0;
                            model.drain(..k);
                            q.ack(seq).expect("ack");
                        }
                    }
                    Op::Reopen => {
                        drop(q);
                        q = open(dir, policy);
                        prop_assert_eq!(q.stats().recovered_requests, model.len() as u64);
                    }
                    Op::Sync => q.sync().expect("sync"),
                }
                prop_assert_eq!(q.len(), model.len() as u64);
                prop_assert_eq!(q.disk_bytes(), dir_bytes(dir));
            }
            drop(q);
            let mut q = open(dir, policy);
            let want: Vec<Vec<u8>> = model.into_iter().map(|w| w.1).collect();
            prop_assert_eq!(drain(&mut q), want);
        }

        #[test]
        fn random_operations_under_a_tight_bound_keep_the_newest_in_order(
            ops in proptest::collection::vec(op(), 1..200),
        ) {
            let tmp = tempfile::tempdir().expect("tempdir");
            let dir = tmp.path();
            let max = 1u64 << 20;
            let cfg = config(dir).max_bytes(max).fsync(FsyncPolicy::Never);
            let mut q = PersistentQueue::open(cfg.clone()).expect("open");
            let mut appended: Vec<Vec<u8>> = Vec::new();
            let mut last_seen: Option<usize> = None;
            for op in ops {
                match op {
                    Op::Append(len) => {
                        appended.push(body(appended.len() as u64, len * 40));
                        q.append(meta(1), appended.last().expect("just pushed")).expect("append");
                    }
                    Op::AckFront | Op::AckSeveral(_) => {
                        if let Some(r) = q.front().expect("front") {
                            // Always a later request than the last one seen, with its own body.
                            let index = appended.iter().position(|b| *b == r.body.to_vec());
                            prop_assert!(index.is_some());
                            prop_assert!(index > last_seen);
                            last_seen = index;
                            q.ack(r.seq).expect("ack");
                        }
                    }
                    Op::Reopen => {
                        drop(q);
                        q = PersistentQueue::open(cfg.clone()).expect("reopen");
                    }
                    Op::Sync => q.sync().expect("sync"),
                }
                prop_assert!(dir_bytes(dir) <= max);
            }
        }
    }
}
