//! The queue itself: append, read in order, acknowledge, bound, recover.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use super::config::{FsyncPolicy, PersistentQueueConfig};
use super::lock::DirLock;
use super::record::{self, Record};
use super::segment::{self, SEGMENT_MAGIC, Scanned, SegmentReader};
use super::{
    AppendError, DropCounts, DropReason, DroppedRequests, OpenError, PersistentQueueStats,
    QueueIoError, QueuedRequest, RequestMeta,
};

/// Counts of requests and what they carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Totals {
    requests: u64,
    samples: u64,
    histograms: u64,
    exemplars: u64,
}

impl Totals {
    fn of(meta: &RequestMeta) -> Self {
        Self {
            requests: 1,
            samples: meta.samples,
            histograms: meta.histograms,
            exemplars: meta.exemplars,
        }
    }

    fn add(&mut self, other: Self) {
        self.requests += other.requests;
        self.samples += other.samples;
        self.histograms += other.histograms;
        self.exemplars += other.exemplars;
    }

    fn sub(&mut self, other: Self) {
        self.requests = self.requests.saturating_sub(other.requests);
        self.samples = self.samples.saturating_sub(other.samples);
        self.histograms = self.histograms.saturating_sub(other.histograms);
        self.exemplars = self.exemplars.saturating_sub(other.exemplars);
    }
}

/// What the queue knows about one segment file without holding its contents.
#[derive(Debug)]
struct SegmentInfo {
    id: u64,
    /// The file's size (it is zero-filled to this size when created).
    capacity: u64,
    /// The end of the last good record.
    written: u64,
    /// The highest request sequence number in it; 0 when it holds none.
    last_seq: u64,
    /// Requests in it not yet consumed.
    pending: Totals,
    /// When its newest request was created.
    newest: SystemTime,
}

impl SegmentInfo {
    fn new(id: u64, capacity: u64) -> Self {
        Self {
            id,
            capacity,
            written: SEGMENT_MAGIC.len() as u64,
            last_seq: 0,
            pending: Totals::default(),
            newest: SystemTime::UNIX_EPOCH,
        }
    }
}

/// Reads the oldest unconsumed requests.
#[derive(Debug)]
struct Cursor {
    segment: u64,
    reader: SegmentReader,
}

/// The request at the front, read from disk and kept until consumed.
#[derive(Debug)]
struct Head {
    request: QueuedRequest,
    segment: u64,
    /// `front` returned it: the caller holds it and will acknowledge it.
    handed_out: bool,
}

/// A durable FIFO of encoded remote-write requests in one directory. See the module docs.
#[derive(Debug)]
pub struct PersistentQueue {
    config: PersistentQueueConfig,
    dir: PathBuf,
    _lock: DirLock,
    /// Oldest first; the last one is being written.
    segments: VecDeque<SegmentInfo>,
    writer: File,
    /// A write failed half-way: the next append starts a new segment.
    writer_poisoned: bool,
    disk_bytes: u64,
    next_seq: u64,
    /// Every request up to this sequence number is done.
    consumed: u64,
    cursor: Option<Cursor>,
    head: Option<Head>,
    unsynced: u32,
    last_sync: Instant,
    stats: PersistentQueueStats,
    drops: Vec<DroppedRequests>,
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> QueueIoError + 'a {
    move |source| QueueIoError { what, path: path.to_path_buf(), source }
}

impl PersistentQueue {
    /// Opens (or creates) the queue in `config.dir()`, locks the directory against other
    /// processes, and reads back what an earlier run left unsent. Damaged records are skipped
    /// and counted in `stats()`.
    pub fn open(config: PersistentQueueConfig) -> Result<Self, OpenError> {
        config.validate()?;
        let dir = config.dir.clone();
        fs::create_dir_all(&dir).map_err(io_err("create the queue directory", &dir))?;
        let lock = DirLock::acquire(&dir)?;

        let mut ids = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err("list the queue directory", &dir))? {
            let entry = entry.map_err(io_err("list the queue directory", &dir))?;
            if let Some(id) = entry.file_name().to_str().and_then(segment::parse_segment_name) {
                ids.push(id);
            }
        }
        ids.sort_unstable();

        let mut stats = PersistentQueueStats::default();
        let Recovered { mut segments, last_seq, mut consumed } = recover(&dir, &ids, &mut stats)?;

        // Make room for the segment this run writes: what is done goes, then, if the bound
        // was lowered since, the oldest.
        let mut over_bound = Totals::default();
        let mut disk_bytes: u64 = segments.iter().map(|s| s.capacity).sum();
        let target = config.segment_target();
        while let Some(front) = segments.front() {
            let done = front.pending.requests == 0;
            if !done && disk_bytes + target <= config.max_bytes {
                break;
            }
            let path = segment::segment_path(&dir, front.id);
            remove_segment_file(&path)?;
            disk_bytes -= front.capacity;
            consumed = consumed.max(front.last_seq);
            over_bound.add(front.pending);
            segments.pop_front();
        }

        let next_id = ids.last().map_or(1, |id| id + 1);
        let path = segment::segment_path(&dir, next_id);
        let durable = config.fsync != FsyncPolicy::Never;
        let writer = create_segment(&dir, &path, target, durable)?;
        segments.push_back(SegmentInfo::new(next_id, target));
        disk_bytes += target;
        let mut queue = Self {
            config,
            dir,
            _lock: lock,
            segments,
            writer,
            writer_poisoned: false,
            disk_bytes,
            next_seq: last_seq.max(consumed) + 1,
            consumed,
            cursor: None,
            head: None,
            unsynced: 0,
            last_sync: Instant::now(),
            stats,
            drops: Vec::new(),
        };
        queue.record_drop(DropReason::QueueFull, over_bound);
        if queue.stats.lost_requests > 0 {
            let lost = Totals { requests: queue.stats.lost_requests, ..Totals::default() };
            queue.record_drop(DropReason::Damaged, lost);
        }
        let pending = queue.pending_totals();
        queue.stats.recovered_requests = pending.requests;
        if pending.requests > 0 {
            tracing::info!(
                dir = %queue.dir.display(),
                requests = pending.requests,
                samples = pending.samples,
                histograms = pending.histograms,
                "persistent queue: requests left unsent by an earlier run will be sent first"
            );
        }
        Ok(queue)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The settings it was opened with.
    pub fn config(&self) -> &PersistentQueueConfig {
        &self.config
    }

    /// Appends a request and makes it as durable as the fsync policy says before returning
    /// its sequence number. If the byte bound would be exceeded, the oldest requests are
    /// dropped first (see `take_dropped`) — except that a request `front` returned and that
    /// was not acknowledged yet is not counted: the caller holds it and will deliver it or
    /// count it itself (acknowledging it then does nothing).
    pub fn append(&mut self, meta: RequestMeta, body: &[u8]) -> Result<u64, AppendError> {
        let len = record::request_record_len(body.len());
        let max = self.config.max_record();
        if len > max {
            return Err(AppendError::TooLarge { len, max });
        }
        self.drop_old_segments()?;
        if self.writer_poisoned || !self.fits(len) {
            let capacity = self.config.segment_target().max(SEGMENT_MAGIC.len() as u64 + len);
            self.make_room(capacity)?;
            self.rotate(capacity)?;
        }

        let seq = self.next_seq;
        let head = record::encode_request_head(seq, &meta, body);
        self.write_record(&[&head, body])?;
        self.next_seq += 1;
        let active = self.active_mut();
        active.last_seq = seq;
        active.pending.add(Totals::of(&meta));
        active.newest = active.newest.max(meta.created);

        self.unsynced += 1;
        let due = match self.config.fsync {
            FsyncPolicy::EveryRequest => true,
            FsyncPolicy::EveryRequests(n) => self.unsynced >= n,
            FsyncPolicy::Interval(d) => self.last_sync.elapsed() >= d,
            FsyncPolicy::Never => false,
        };
        if due {
            self.sync()?;
        }
        Ok(seq)
    }

    /// The oldest request not yet acknowledged, read from disk (and kept in memory until it
    /// is acknowledged, so calling again is cheap). Requests older than the age bound are
    /// dropped on the way; damaged ones are skipped. Both are counted.
    pub fn front(&mut self) -> Result<Option<QueuedRequest>, QueueIoError> {
        loop {
            if self.head.is_none() && !self.read_head()? {
                return Ok(None);
            }
            let Some(head) = &self.head else {
                return Ok(None);
            };
            let too_old = self.config.max_age.is_some_and(|age| {
                SystemTime::now()
                    .duration_since(head.request.meta.created)
                    .is_ok_and(|waited| waited > age)
            });
            if !too_old {
                let request = head.request.clone();
                if let Some(head) = &mut self.head {
                    head.handed_out = true;
                }
                return Ok(Some(request));
            }
            let seq = head.request.seq;
            self.consume_through(seq, Some(DropReason::TooOld))?;
        }
    }

    /// Marks every request up to `seq` as done (delivered or permanently rejected), so that
    /// it is never sent again. Acknowledging is cheap: the mark is written without an fsync
    /// and becomes durable with the next one; losing it to a power cut only means those
    /// requests are sent again (at-least-once), which receivers take as duplicates.
    pub fn ack(&mut self, seq: u64) -> Result<(), QueueIoError> {
        self.consume_through(seq, None)
    }

    /// Forces what was written to stable storage now.
    pub fn sync(&mut self) -> Result<(), QueueIoError> {
        if self.unsynced > 0 {
            let path = self.active_path();
            self.writer.sync_data().map_err(io_err("fsync", &path))?;
        }
        self.unsynced = 0;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// The sequence number of the newest request appended (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// Requests appended and not yet acknowledged or dropped.
    pub fn len(&self) -> u64 {
        self.pending_totals().requests
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the queue's segment files take (the lock file, a few bytes, aside). Segment
    /// files are allocated whole when created, so this moves a segment at a time.
    pub fn disk_bytes(&self) -> u64 {
        self.disk_bytes
    }

    /// Counters since `open`, and what waits now.
    pub fn stats(&self) -> PersistentQueueStats {
        let pending = self.pending_totals();
        PersistentQueueStats {
            pending_requests: pending.requests,
            pending_samples: pending.samples,
            pending_histograms: pending.histograms,
            pending_exemplars: pending.exemplars,
            disk_bytes: self.disk_bytes,
            ..self.stats.clone()
        }
    }

    /// What was dropped since the last call, one entry per reason (bounds, damage), for the
    /// caller's own counters. Each drop is also logged.
    pub fn take_dropped(&mut self) -> Vec<DroppedRequests> {
        std::mem::take(&mut self.drops)
    }

    fn pending_totals(&self) -> Totals {
        let mut t = Totals::default();
        for s in &self.segments {
            t.add(s.pending);
        }
        t
    }

    fn active(&self) -> &SegmentInfo {
        // `segments` always holds the active segment.
        &self.segments[self.segments.len() - 1]
    }

    fn active_mut(&mut self) -> &mut SegmentInfo {
        let last = self.segments.len() - 1;
        &mut self.segments[last]
    }

    fn active_path(&self) -> PathBuf {
        segment::segment_path(&self.dir, self.active().id)
    }

    /// Whether a record of `len` bytes fits in what is left of the active segment.
    fn fits(&self, len: u64) -> bool {
        let active = self.active();
        active.written + len <= active.capacity
    }

    fn record_drop(&mut self, reason: DropReason, totals: Totals) {
        if totals.requests == 0 {
            return;
        }
        let counts = DropCounts {
            requests: totals.requests,
            samples: totals.samples,
            histograms: totals.histograms,
            exemplars: totals.exemplars,
        };
        self.stats.dropped_mut(reason).add(counts);
        match self.drops.iter_mut().find(|d| d.reason == reason) {
            Some(d) => d.counts.add(counts),
            None => self.drops.push(DroppedRequests { reason, counts }),
        }
        tracing::warn!(
            dir = %self.dir.display(),
            reason = reason.as_str(),
            requests = totals.requests,
            samples = totals.samples,
            histograms = totals.histograms,
            exemplars = totals.exemplars,
            "persistent queue dropped requests"
        );
    }

    /// Writes one record (in pieces) after the last one in the active segment. The caller
    /// made sure it fits.
    fn write_record(&mut self, parts: &[&[u8]]) -> Result<(), QueueIoError> {
        let mut result = Ok(());
        for part in parts {
            result = self.writer.write_all(part);
            if result.is_err() {
                break;
            }
        }
        match result {
            Ok(()) => {
                let written: u64 = parts.iter().map(|p| p.len() as u64).sum();
                self.active_mut().written += written;
                Ok(())
            }
            Err(source) => {
                // A half-written record is left to the reader's checks (it reads only up to
                // `written`); the next write starts a new segment rather than trust the
                // file position.
                self.writer_poisoned = true;
                Err(QueueIoError { what: "append to", path: self.active_path(), source })
            }
        }
    }

    /// What dropping the oldest segment drops: its pending requests, except one `front`
    /// handed out, which the caller holds and will deliver or count itself.
    fn dropped_with_front_segment(&self) -> Totals {
        let seg = &self.segments[0];
        let mut totals = seg.pending;
        if let Some(head) = self.head.as_ref().filter(|h| h.handed_out && h.segment == seg.id) {
            totals.sub(Totals::of(&head.request.meta));
        }
        totals
    }

    /// Deletes or drops the oldest segments until `capacity` more bytes fit in the bound.
    fn make_room(&mut self, capacity: u64) -> Result<(), QueueIoError> {
        self.delete_consumed_segments()?;
        // The active segment is never dropped here: with a record at most a quarter of the
        // bound and segments at most 1/16, the active one and a new one always fit.
        while self.disk_bytes + capacity > self.config.max_bytes && self.segments.len() > 1 {
            let pending = self.dropped_with_front_segment();
            self.record_drop(DropReason::QueueFull, pending);
            self.remove_front_segment()?;
        }
        Ok(())
    }

    /// Closes the active segment and starts a new one of `capacity` bytes.
    fn rotate(&mut self, capacity: u64) -> Result<(), QueueIoError> {
        let durable = self.config.fsync != FsyncPolicy::Never;
        if durable && !self.writer_poisoned {
            self.sync()?;
        }
        let id = self.active().id + 1;
        let path = segment::segment_path(&self.dir, id);
        self.writer = create_segment(&self.dir, &path, capacity, durable)?;
        self.writer_poisoned = false;
        self.unsynced = 0;
        self.segments.push_back(SegmentInfo::new(id, capacity));
        self.disk_bytes += capacity;
        self.delete_consumed_segments()
    }

    /// Deletes the oldest segments once nothing in them is pending. Only a prefix is ever
    /// deleted: the consumed marks in a later segment may cover requests in an earlier one.
    fn delete_consumed_segments(&mut self) -> Result<(), QueueIoError> {
        while self.segments.len() > 1 && self.segments[0].pending.requests == 0 {
            self.remove_front_segment()?;
        }
        Ok(())
    }

    fn remove_front_segment(&mut self) -> Result<(), QueueIoError> {
        let Some(seg) = self.segments.front() else {
            return Ok(());
        };
        remove_segment_file(&segment::segment_path(&self.dir, seg.id))?;
        let Some(seg) = self.segments.pop_front() else {
            return Ok(());
        };
        self.disk_bytes -= seg.capacity;
        self.consumed = self.consumed.max(seg.last_seq);
        if self.cursor.as_ref().is_some_and(|c| c.segment == seg.id) {
            self.cursor = None;
        }
        if self.head.as_ref().is_some_and(|h| h.segment == seg.id) {
            self.head = None;
        }
        Ok(())
    }

    /// Drops whole closed segments whose newest request is past the age bound.
    fn drop_old_segments(&mut self) -> Result<(), QueueIoError> {
        let Some(age) = self.config.max_age else {
            return Ok(());
        };
        let now = SystemTime::now();
        while self.segments.len() > 1 {
            let seg = &self.segments[0];
            let expired = seg.pending.requests > 0
                && now.duration_since(seg.newest).is_ok_and(|waited| waited > age);
            if !expired {
                break;
            }
            let pending = self.dropped_with_front_segment();
            self.record_drop(DropReason::TooOld, pending);
            self.remove_front_segment()?;
        }
        Ok(())
    }

    /// Consumes every pending request up to `seq`, counting them as dropped for `reason`
    /// when there is one, and writes the consumed mark.
    fn consume_through(
        &mut self,
        seq: u64,
        reason: Option<DropReason>,
    ) -> Result<(), QueueIoError> {
        let seq = seq.min(self.next_seq - 1);
        if seq <= self.consumed {
            return Ok(());
        }
        loop {
            if self.head.is_none() && !self.read_head()? {
                break;
            }
            let Some(head) = &self.head else { break };
            if head.request.seq > seq {
                break;
            }
            let totals = Totals::of(&head.request.meta);
            let segment = head.segment;
            if let Some(seg) = self.segments.iter_mut().find(|s| s.id == segment) {
                seg.pending.sub(totals);
            }
            if let Some(reason) = reason {
                self.record_drop(reason, totals);
            }
            self.head = None;
        }
        self.consumed = seq;
        self.delete_consumed_segments()?;
        self.write_consumed_mark(seq)
    }

    /// Records that everything up to `seq` is done. The mark is left out when there is no
    /// room for it within the bound: the only cost is that those requests would be sent again
    /// after a restart.
    fn write_consumed_mark(&mut self, seq: u64) -> Result<(), QueueIoError> {
        let len = record::CONSUMED_RECORD_LEN;
        if self.writer_poisoned || !self.fits(len) {
            let capacity = self.config.segment_target();
            if self.disk_bytes + capacity > self.config.max_bytes {
                return Ok(());
            }
            self.rotate(capacity)?;
        }
        let mark = record::encode_consumed(seq);
        self.write_record(&[&mark])?;
        if let FsyncPolicy::Interval(d) = self.config.fsync {
            if self.last_sync.elapsed() >= d {
                self.sync()?;
            }
        }
        Ok(())
    }

    /// Reads the next pending request into `head`; false when there is none.
    fn read_head(&mut self) -> Result<bool, QueueIoError> {
        loop {
            if self.cursor.is_none() {
                let Some(seg) = self.segments.iter().find(|s| s.pending.requests > 0) else {
                    return Ok(false);
                };
                let path = segment::segment_path(&self.dir, seg.id);
                let reader = SegmentReader::open(&path, seg.written)
                    .map_err(io_err("open for reading", &path))?;
                self.cursor = Some(Cursor { segment: seg.id, reader });
            }
            let Some(cursor) = self.cursor.as_mut() else {
                return Ok(false);
            };
            let segment_id = cursor.segment;
            let Some(index) = self.segments.iter().position(|s| s.id == segment_id) else {
                self.cursor = None;
                continue;
            };
            let is_active = index + 1 == self.segments.len();
            let path = segment::segment_path(&self.dir, segment_id);
            cursor.reader.set_len(self.segments[index].written).map_err(io_err("read", &path))?;
            let scanned = cursor.reader.next().map_err(io_err("read", &path))?;
            match scanned {
                Scanned::Record { record: Record::Request { seq, meta, body }, .. }
                    if seq > self.consumed =>
                {
                    self.head = Some(Head {
                        request: QueuedRequest { seq, meta, body },
                        segment: segment_id,
                        handed_out: false,
                    });
                    return Ok(true);
                }
                Scanned::Record { .. } => {}
                Scanned::Damaged { offset, len } => {
                    self.stats.damaged_regions += 1;
                    self.stats.damaged_bytes += len;
                    tracing::warn!(
                        segment = %path.display(),
                        offset,
                        bytes = len,
                        "persistent queue: skipped damaged bytes"
                    );
                }
                Scanned::End { .. } if is_active => return Ok(false),
                Scanned::End { trailing } => {
                    // A closed segment that still owes requests lost them to damage after it
                    // was opened (recovery counted what it had then).
                    let lost = self.segments[index].pending;
                    self.segments[index].pending = Totals::default();
                    if trailing > 0 {
                        self.stats.damaged_regions += 1;
                        self.stats.damaged_bytes += trailing;
                    }
                    if lost.requests > 0 {
                        self.stats.lost_requests += lost.requests;
                        self.record_drop(DropReason::Damaged, lost);
                    }
                    self.cursor = None;
                    self.delete_consumed_segments()?;
                }
            }
        }
    }
}

impl Drop for PersistentQueue {
    fn drop(&mut self) {
        if self.unsynced > 0 && self.config.fsync != FsyncPolicy::Never {
            let _ = self.writer.sync_data();
        }
    }
}

/// Creates a segment file of `capacity` bytes: the magic, then zeros. Writing the zeros
/// (rather than leaving a sparse file or using `fallocate`) is what lets later `fdatasync`s
/// skip the journal. Makes its directory entry durable unless fsync is off.
fn create_segment(
    dir: &Path,
    path: &Path,
    capacity: u64,
    durable: bool,
) -> Result<File, QueueIoError> {
    static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io_err("create", path))?;
    let fill = |file: &mut File| -> io::Result<()> {
        file.write_all(&SEGMENT_MAGIC)?;
        let mut left = capacity.saturating_sub(SEGMENT_MAGIC.len() as u64);
        while left > 0 {
            let n = usize::try_from(left).unwrap_or(usize::MAX).min(ZEROS.len());
            file.write_all(&ZEROS[..n])?;
            left -= n as u64;
        }
        if durable {
            file.sync_all()?;
        }
        file.seek(SeekFrom::Start(SEGMENT_MAGIC.len() as u64))?;
        Ok(())
    };
    if let Err(e) = fill(&mut file) {
        // Do not leave a half-made file to count against the bound.
        let _ = fs::remove_file(path);
        return Err(io_err("create", path)(e));
    }
    if durable {
        sync_dir(dir)?;
    }
    Ok(file)
}

fn remove_segment_file(path: &Path) -> Result<(), QueueIoError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("delete", path)(e)),
    }
}

fn sync_dir(dir: &Path) -> Result<(), QueueIoError> {
    // Directories can be opened and fsynced on Unix; elsewhere this is not possible or needed.
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io_err("fsync the directory", dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// What recovery found.
struct Recovered {
    segments: VecDeque<SegmentInfo>,
    last_seq: u64,
    consumed: u64,
}

/// Scans every segment: counts pending requests per segment, finds the consumed mark, and
/// counts damage. Memory stays at one record at a time whatever the queue holds.
fn recover(
    dir: &Path,
    ids: &[u64],
    stats: &mut PersistentQueueStats,
) -> Result<Recovered, QueueIoError> {
    let mut segments = VecDeque::new();
    let mut last_seq = 0u64;
    let mut consumed = 0u64;
    let mut damage_since_last_request = false;
    // Sequence numbers missing right after damage: (last good before, first good after).
    let mut gaps = Vec::new();
    // (segment index, first seq) of every segment, to correct the one the mark falls in.
    let mut first_seqs = Vec::new();
    for &id in ids {
        let path = segment::segment_path(dir, id);
        let len = fs::metadata(&path).map_err(io_err("stat", &path))?.len();
        let mut reader =
            SegmentReader::open(&path, len).map_err(io_err("open for reading", &path))?;
        if reader.take_bad_magic() {
            stats.damaged_regions += 1;
            stats.damaged_bytes += SEGMENT_MAGIC.len() as u64;
            damage_since_last_request = true;
            tracing::warn!(segment = %path.display(), "persistent queue: damaged segment header");
        }
        let mut info = SegmentInfo::new(id, len);
        let mut first_seq = 0;
        loop {
            match reader.next().map_err(io_err("read", &path))? {
                Scanned::Record { record: Record::Request { seq, meta, .. }, offset } => {
                    if seq <= last_seq {
                        tracing::warn!(
                            segment = %path.display(),
                            offset,
                            seq,
                            "persistent queue: skipped a request out of sequence"
                        );
                        continue;
                    }
                    if damage_since_last_request {
                        gaps.push((last_seq, seq));
                    }
                    damage_since_last_request = false;
                    last_seq = seq;
                    if first_seq == 0 {
                        first_seq = seq;
                    }
                    info.last_seq = seq;
                    info.pending.add(Totals::of(&meta));
                    info.newest = info.newest.max(meta.created);
                }
                Scanned::Record { record: Record::Consumed { seq }, .. } => {
                    consumed = consumed.max(seq)
                }
                Scanned::Damaged { offset, len } => {
                    stats.damaged_regions += 1;
                    stats.damaged_bytes += len;
                    damage_since_last_request = true;
                    tracing::warn!(
                        segment = %path.display(),
                        offset,
                        bytes = len,
                        "persistent queue: skipped damaged bytes"
                    );
                }
                Scanned::End { trailing } => {
                    if trailing > 0 {
                        stats.torn_tail_bytes += trailing;
                        damage_since_last_request = true;
                        tracing::warn!(
                            segment = %path.display(),
                            offset = reader.pos(),
                            bytes = trailing,
                            "persistent queue: skipped an incomplete write at the end of a segment"
                        );
                    }
                    break;
                }
            }
        }
        info.written = reader.pos();
        first_seqs.push(first_seq);
        segments.push_back(info);
    }

    // Requests up to the consumed mark were done before the damage hit them.
    for (before, after) in gaps {
        stats.lost_requests += after.saturating_sub(before.max(consumed) + 1);
    }
    // Requests up to the consumed mark are done.
    for (index, info) in segments.iter_mut().enumerate() {
        if info.last_seq == 0 {
            continue;
        }
        if info.last_seq <= consumed {
            info.pending = Totals::default();
        } else if first_seqs[index] <= consumed {
            let path = segment::segment_path(dir, info.id);
            let mut reader = SegmentReader::open(&path, info.written)
                .map_err(io_err("open for reading", &path))?;
            loop {
                match reader.next().map_err(io_err("read", &path))? {
                    Scanned::Record { record: Record::Request { seq, meta, .. }, .. }
                        if seq <= consumed =>
                    {
                        info.pending.sub(Totals::of(&meta))
                    }
                    Scanned::Record { .. } | Scanned::Damaged { .. } => {}
                    Scanned::End { .. } => break,
                }
            }
        }
    }
    Ok(Recovered { segments, last_seq, consumed })
}
