//! Durable delivery: an on-disk queue of encoded remote-write requests, one per endpoint.
//!
//! Every encoded request (its compressed body and what the exporter needs to send and count
//! it) is appended here before it is sent, and is removed only once the endpoint accepted it
//! (2xx) or rejected it for good. After a restart, whatever was not delivered is read back
//! first, in order.
//!
//! ```
//! use std::time::Duration;
//! use prw::persistent_queue::{PersistentQueue, PersistentQueueConfig, ProtocolVersion, RequestMeta};
//!
//! let dir = std::env::temp_dir().join(format!("prw-queue-doc-{}", std::process::id()));
//! let config = PersistentQueueConfig::new(&dir).max_age(Duration::from_secs(3600));
//! {
//!     let mut queue = PersistentQueue::open(config.clone())?;
//!     queue.append(RequestMeta::new(ProtocolVersion::V1, 10, 0, 0), b"first")?;
//!     queue.append(RequestMeta::new(ProtocolVersion::V1, 10, 0, 0), b"second")?;
//!     let front = queue.front()?.expect("a request waits");
//!     assert_eq!(&front.body[..], b"first");
//!     queue.ack(front.seq)?; // the endpoint answered 2xx
//! } // the process stops before "second" is delivered
//! let mut queue = PersistentQueue::open(config)?;
//! assert_eq!(&queue.front()?.expect("still there").body[..], b"second");
//! # drop(queue); std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # With the exporter
//! [`PrometheusRemoteWriteExporterBuilder::persistent_queue`](crate::PrometheusRemoteWriteExporterBuilder::persistent_queue)
//! (or [`Endpoint::persistent_queue`](crate::Endpoint::persistent_queue) for further
//! endpoints) puts one of these in front of an endpoint instead of the in-memory queue;
//! `sample_app --queue-dir` and `prw send --queue-dir` do the same. Each collection's requests
//! are then written here when queued (on the collecting thread, never on a recording one), read
//! back one at a time by the delivery task, and acknowledged after a 2xx or a permanent
//! rejection. A request is retried for at least `max_age`. At a shutdown deadline nothing is
//! counted as lost: what is left stays here and goes first at the next start.
//!
//! # Guarantees
//! - **Order.** Requests come back from `front` in the order they were appended, across
//!   restarts.
//! - **At least once.** A request is never lost while it is within the bounds, but one
//!   delivered just before a crash may be sent again: acknowledgements are written without
//!   their own fsync (they become durable with the next append's), because a resent request
//!   is harmless (Prometheus-compatible receivers take a repeated sample as a duplicate) while
//!   an fsync per acknowledgement would double the cost of the queue.
//! - **Durability** follows the [`FsyncPolicy`] (default: an fsync per request). Whatever the
//!   policy, every request is handed to the kernel before `append` returns, so killing the
//!   process (SIGKILL, OOM) loses nothing; the policy only matters for power loss.
//! - **Bounds.** The segment files never take more than `max_bytes`: when an append would
//!   exceed it, the oldest requests are dropped — a whole segment at a time, at most 1/16 of the
//!   bound (and at most 8 MiB) — and counted ([`DropReason::QueueFull`]). Requests older than
//!   `max_age` are dropped and counted ([`DropReason::TooOld`]). Memory does not grow with the
//!   queue: it holds a few counters per segment file and the one request at the front.
//! - **Damage.** Every record carries a CRC-32. A torn write at the end of a file (the process
//!   died mid-append) or a damaged record anywhere is skipped, counted in
//!   [`PersistentQueueStats`] and logged through `tracing`; reading resumes at the next good
//!   record. Nothing on disk can make `open` panic or the queue stick.
//! - **One process per directory.** `open` takes an advisory lock (`flock`) on `<dir>/LOCK`
//!   and writes its pid there; a second opener gets [`OpenError::Locked`] naming the
//!   directory and the holder's pid. The kernel releases the lock when the holder dies, so a
//!   crash never leaves a stale lock behind.
//!
//! # On disk
//! `<dir>/LOCK` and segment files `<dir>/<20-digit id>.seg`, each the magic `PRWQSEG1`
//! followed by records: `"PRWR" | payload length u32 | CRC-32 of length and payload | payload`.
//! A payload is either a request (sequence number, creation time, protocol, sample, histogram
//! and exemplar counts, compressed body) or a consumed mark ("everything up to sequence
//! number N is done"). A segment is closed at 1/16 of `max_bytes` (64 KiB to 8 MiB) and
//! deleted once everything in it is consumed; a reopened queue always starts a new segment,
//! so nothing is ever appended after a torn write.
//!
//! # Why a hand-made log and not an embedded database
//! The issue asked to prefer a proven embedded storage crate unless a hand-made log is clearly
//! better for this append/ack pattern. We measured the log against redb 2.6 (copy-on-write
//! B-tree) and fjall 2.11 (LSM tree), on ext4 on this machine's virtual disk, each request
//! appended with an fsync, read back and acknowledged (median of 15 interleaved rounds;
//! `cargo bench -p prw --features storage-comparison --bench persistent_queue_storage`;
//! details in `benches/README.md`):
//!
//! | per request                          | log     | redb    | fjall   |
//! |--------------------------------------|---------|---------|---------|
//! | append + fsync + read + ack, 4 KiB   | 3.9 ms  | 3.5 ms  | 4.2 ms  |
//! | append + fsync + read + ack, 64 KiB  | 3.9 ms  | 3.7 ms  | 3.7 ms  |
//! | outage: append + fsync, 16 KiB       | 1.1 ms  | 1.3 ms  | 1.6 ms  |
//! | recovery: read + ack, 16 KiB         | 14 µs   | 98 µs   | 45 µs   |
//! | CPU only (no fsync), 4 KiB           | 14 µs   | 133 µs  | 318 µs  |
//! | disk after 300 x 16 KiB drained      | 4 MiB   | 33 MiB  | 32 MiB  |
//!
//! With an fsync per request the disk decides and the three are equal within its noise
//! (an fsync here takes 0.2 to 5 ms) — but only because the log's segments are zero-filled
//! when created: appending to a growing file made every `fdatasync` commit the file-system
//! journal and cost 3 to 5 times more (4.5 ms instead of 0.8-1.5 ms). Everywhere else the log
//! is clearly better: 7 times faster to drain a backlog after an outage (acknowledging is an
//! unsynced 21-byte append, not a B-tree or LSM update), about 10 times less CPU per request,
//! and its disk use is exactly what it accounts for, which is what makes the byte bound a hard
//! bound: redb's file does not shrink when entries are deleted (33 MiB after draining, 129 MiB
//! after 2,000 unsynced commits of 4 KiB), fjall preallocates a 32 MiB journal and compacts in
//! the background. The pattern is a FIFO: it never needs a B-tree's random access or an LSM's
//! compaction. Memory stays independent of the queue's size (a few counters per segment file
//! and the request at the front), where both databases keep caches. The price is a format of
//! our own, kept small (see `record`) and checked by the corruption tests (every truncation
//! offset, every flipped byte) and property tests against a model.

mod config;
mod delivery_queue;
mod lock;
mod queue;
mod record;
mod segment;
mod stored;

use std::path::PathBuf;
use std::time::SystemTime;

use bytes::Bytes;

pub use config::{
    DEFAULT_MAX_AGE, DEFAULT_MAX_BYTES, FsyncPolicy, MIN_MAX_BYTES, ParseFsyncPolicyError,
    PersistentQueueConfig, PersistentQueueConfigError,
};
pub(crate) use delivery_queue::{DeliveryQueue, DiskQueue};
pub use queue::PersistentQueue;

/// The remote-write protocol a request body is encoded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolVersion {
    /// `prometheus.WriteRequest` (RW 1.0).
    V1,
    /// `io.prometheus.write.v2.Request` (RW 2.0).
    V2,
}

impl ProtocolVersion {
    fn to_byte(self) -> u8 {
        match self {
            Self::V1 => 1,
            Self::V2 => 2,
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::V1),
            2 => Some(Self::V2),
            _ => None,
        }
    }
}

/// What is stored with a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestMeta {
    /// How the body is encoded.
    pub protocol: ProtocolVersion,
    /// Float samples in it.
    pub samples: u64,
    /// Native histogram samples in it.
    pub histograms: u64,
    /// Exemplars in it.
    pub exemplars: u64,
    /// When it was created (stored to the millisecond); the age bound counts from here.
    pub created: SystemTime,
}

impl RequestMeta {
    /// Metadata created now.
    pub fn new(protocol: ProtocolVersion, samples: u64, histograms: u64, exemplars: u64) -> Self {
        Self { protocol, samples, histograms, exemplars, created: SystemTime::now() }
    }
}

/// A request read back from the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRequest {
    /// Its position; pass it to `PersistentQueue::ack`.
    pub seq: u64,
    /// Its metadata.
    pub meta: RequestMeta,
    /// The compressed body, as appended.
    pub body: Bytes,
}

/// Why requests were dropped by the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The byte bound was reached; the oldest requests made room.
    QueueFull,
    /// Older than the age bound.
    TooOld,
    /// Damaged on disk (sample counts unknown for records that could not be read).
    Damaged,
}

impl DropReason {
    /// A short label: `queue_full`, `too_old`, `damaged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::QueueFull => "queue_full",
            Self::TooOld => "too_old",
            Self::Damaged => "damaged",
        }
    }
}

/// How much was dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounts {
    /// Requests.
    pub requests: u64,
    /// Float samples in them.
    pub samples: u64,
    /// Histogram samples in them.
    pub histograms: u64,
    /// Exemplars in them.
    pub exemplars: u64,
}

impl DropCounts {
    fn add(&mut self, other: Self) {
        self.requests += other.requests;
        self.samples += other.samples;
        self.histograms += other.histograms;
        self.exemplars += other.exemplars;
    }
}

/// Requests dropped for one reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DroppedRequests {
    /// Why.
    pub reason: DropReason,
    /// How much.
    pub counts: DropCounts,
}

/// Counters since `open`, and what waits now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PersistentQueueStats {
    /// Requests waiting.
    pub pending_requests: u64,
    /// Float samples in them.
    pub pending_samples: u64,
    /// Histogram samples in them.
    pub pending_histograms: u64,
    /// Exemplars in them.
    pub pending_exemplars: u64,
    /// Bytes the segment files take.
    pub disk_bytes: u64,
    /// Requests an earlier run left unsent, found by `open`.
    pub recovered_requests: u64,
    /// Damaged stretches skipped (a damaged record, or a damaged segment header).
    pub damaged_regions: u64,
    /// Bytes in them.
    pub damaged_bytes: u64,
    /// Bytes of incomplete writes found at the end of segments by `open`.
    pub torn_tail_bytes: u64,
    /// Requests known to be lost to damage (gaps in the sequence numbers after damage).
    pub lost_requests: u64,
    /// Dropped because the byte bound was reached.
    pub dropped_queue_full: DropCounts,
    /// Dropped because older than the age bound.
    pub dropped_too_old: DropCounts,
    /// Dropped because damaged.
    pub dropped_damaged: DropCounts,
}

impl PersistentQueueStats {
    fn dropped_mut(&mut self, reason: DropReason) -> &mut DropCounts {
        match reason {
            DropReason::QueueFull => &mut self.dropped_queue_full,
            DropReason::TooOld => &mut self.dropped_too_old,
            DropReason::Damaged => &mut self.dropped_damaged,
        }
    }
}

/// A queue operation failed on the file system.
#[derive(Debug, thiserror::Error)]
#[error("persistent queue: cannot {what} {}: {source}", path.display())]
pub struct QueueIoError {
    what: &'static str,
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

impl QueueIoError {
    /// The file or directory involved.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

/// `PersistentQueue::open` failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] PersistentQueueConfigError),
    /// Another process (or another queue in this one) has the directory.
    #[error(
        "persistent queue directory {} is in use by {}: each process (and each endpoint) needs \
         its own queue directory; stop the other process or choose another directory",
        dir.display(),
        holder.map_or_else(|| "another process".to_owned(), |pid| format!("process {pid}"))
    )]
    Locked {
        /// The directory.
        dir: PathBuf,
        /// The pid the holder wrote into the lock file, when readable.
        holder: Option<u32>,
    },
    /// The file system refused.
    #[error(transparent)]
    Io(#[from] QueueIoError),
}

/// `PersistentQueue::append` failed; nothing was appended.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The request is larger than a quarter of `max_bytes`.
    #[error(
        "request of {len} bytes is too large for the persistent queue (at most {max} bytes, a \
         quarter of max_bytes): raise max_bytes or lower the batch size"
    )]
    TooLarge {
        /// The record's size on disk.
        len: u64,
        /// The largest accepted.
        max: u64,
    },
    /// The file system refused.
    #[error(transparent)]
    Io(#[from] QueueIoError),
}
