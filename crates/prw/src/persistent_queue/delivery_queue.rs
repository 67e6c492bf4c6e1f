//! The persistent queue behind the delivery engine.
//!
//! The delivery engine (`crate::delivery`) takes requests from a [`DeliveryQueue`]: the
//! in-memory `crate::queue::Queue` by default, or [`DiskQueue`] when the endpoint has a
//! persistent queue. Both keep one endpoint's requests in order, with one in flight; the disk
//! one writes each request to the queue directory when it is queued and removes it when the
//! engine is `done` with it (delivered, or dropped for good), so that what is left after a
//! crash or a shutdown deadline is sent first by the next run.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use tokio::sync::{Notify, oneshot};

use super::stored::StoredPayload;
use super::{
    AppendError, DropReason as DiskDropReason, PersistentQueue, ProtocolVersion, RequestMeta,
};
use crate::payload::Counts;
use crate::protocol::Wire;
use crate::queue::{Closed, Item, Queue, Queued};
use crate::stats::{DropReason, StatsCells};

/// What the delivery engine needs from the queue in front of an endpoint.
pub(crate) trait DeliveryQueue: fmt::Debug + Send + Sync {
    /// Queues a batch behind everything before it; never waits for the network.
    fn push(&self, batch: Queued) -> Result<(), Closed>;
    /// A marker answered once everything queued before it is delivered or dropped; `None`
    /// when closed.
    fn push_flush(&self) -> Option<oneshot::Receiver<()>>;
    /// The next item, waiting for one; `None` once closed and empty.
    fn pop(&self) -> Pin<Box<dyn Future<Output = Option<Item>> + Send + '_>>;
    /// The batch from the last `pop` was delivered or dropped.
    fn done(&self);
    /// No new data; the engine finishes what is queued.
    fn close(&self);
    /// The engine was stopped (shutdown deadline): returns what is lost.
    fn abandon(&self) -> Counts;
    /// Samples and histograms waiting, not counting the batch in flight.
    fn waiting_points(&self) -> u64;
}

impl DeliveryQueue for Queue {
    fn push(&self, batch: Queued) -> Result<(), Closed> {
        Queue::push(self, batch)
    }

    fn push_flush(&self) -> Option<oneshot::Receiver<()>> {
        Queue::push_flush(self)
    }

    fn pop(&self) -> Pin<Box<dyn Future<Output = Option<Item>> + Send + '_>> {
        Box::pin(Queue::pop(self))
    }

    fn done(&self) {
        Queue::done(self);
    }

    fn close(&self) {
        Queue::close(self);
    }

    fn abandon(&self) -> Counts {
        Queue::abandon(self)
    }

    fn waiting_points(&self) -> u64 {
        Queue::waiting_points(self)
    }
}

/// An endpoint's queue on disk.
#[derive(Debug)]
pub(crate) struct DiskQueue {
    state: Arc<Mutex<DiskState>>,
    notify: Notify,
    stats: Arc<StatsCells>,
    first_wire: Wire,
}

#[derive(Debug)]
struct DiskState {
    queue: PersistentQueue,
    /// The request handed to the engine: (seq, counts).
    in_flight: Option<(u64, Counts)>,
    /// The engine is done with everything up to here; written to disk before the next read.
    done_upto: u64,
    /// What those requests hold (still counted by the queue until written).
    done_counts: Counts,
    /// Flush markers: answered when no request up to `.0` is left.
    flushes: VecDeque<(u64, oneshot::Sender<()>)>,
    closed: bool,
    /// A disk error is logged once until the disk works again.
    failing: bool,
}

fn lock(m: &Mutex<DiskState>) -> MutexGuard<'_, DiskState> {
    // The state stays consistent across a panic elsewhere (every change is one step).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl DiskState {
    /// Writes the acknowledgements the engine made since the last call.
    fn apply_done(&mut self, url: &str) {
        if self.done_upto == 0 {
            return;
        }
        let upto = std::mem::take(&mut self.done_upto);
        self.done_counts = Counts::default();
        if let Err(e) = self.queue.ack(upto) {
            // The mark is lost, not the order: those requests are sent again after a restart.
            self.disk_error(url, &e.to_string());
        }
    }

    fn disk_error(&mut self, url: &str, message: &str) {
        if !self.failing {
            tracing::error!(target: "prw", endpoint = %url, "persistent queue: {message}");
            self.failing = true;
        }
    }

    /// Answers the flush markers no waiting request precedes.
    fn answer_flushes(&mut self, first_waiting: Option<u64>) {
        while let Some((target, _)) = self.flushes.front() {
            if first_waiting.is_some_and(|seq| seq <= *target) {
                break;
            }
            if let Some((_, tx)) = self.flushes.pop_front() {
                let _ = tx.send(());
            }
        }
    }

    fn publish(&mut self, stats: &StatsCells) {
        for d in self.queue.take_dropped() {
            let counts = Counts {
                samples: d.counts.samples,
                histograms: d.counts.histograms,
                exemplars: d.counts.exemplars,
            };
            let reason = match d.reason {
                DiskDropReason::QueueFull => DropReason::QueueFull,
                // With a persistent queue, a request is retried as long as it may wait on
                // disk: being too old there is the same limit as a retry timeout.
                DiskDropReason::TooOld => DropReason::RetryTimeout,
                // Requests lost to damage on disk: their contents are unknown (the queue
                // counts and logs them).
                DiskDropReason::Damaged => continue,
            };
            stats.drop_counts(reason, counts);
        }
        let s = self.queue.stats();
        stats.pending_points.store(s.pending_samples + s.pending_histograms, Relaxed);
        stats.pending_bytes.store(s.disk_bytes, Relaxed);
    }

    /// The next request to hand out, after writing what is done.
    fn next(&mut self, stats: &StatsCells) -> Option<Item> {
        self.apply_done(&stats.url);
        let front = match self.queue.front() {
            Ok(front) => front,
            Err(e) => {
                self.disk_error(&stats.url, &e.to_string());
                None
            }
        };
        self.answer_flushes(front.as_ref().map(|r| r.seq));
        self.publish(stats);
        let request = front?;
        let counts = Counts {
            samples: request.meta.samples,
            histograms: request.meta.histograms,
            exemplars: request.meta.exemplars,
        };
        let wire = match request.meta.protocol {
            ProtocolVersion::V1 => Wire::V1,
            ProtocolVersion::V2 => Wire::V2,
        };
        self.in_flight = Some((request.seq, counts));
        let payload = StoredPayload::new(wire, request.body.clone(), counts);
        Some(Item::Batch(Queued::new(Arc::new(payload))))
    }
}

impl DiskQueue {
    pub(crate) fn new(queue: PersistentQueue, stats: Arc<StatsCells>, first_wire: Wire) -> Self {
        let mut state = DiskState {
            queue,
            in_flight: None,
            done_upto: 0,
            done_counts: Counts::default(),
            flushes: VecDeque::new(),
            closed: false,
            failing: false,
        };
        state.publish(&stats);
        Self { state: Arc::new(Mutex::new(state)), notify: Notify::new(), stats, first_wire }
    }

    /// The wire format new requests are stored in: the one the engine uses now.
    fn wire(&self) -> Wire {
        if self.stats.fell_back.load(Relaxed) { Wire::V1 } else { self.first_wire }
    }
}

impl DeliveryQueue for DiskQueue {
    fn push(&self, batch: Queued) -> Result<(), Closed> {
        if lock(&self.state).closed {
            return Err(Closed);
        }
        let wire = self.wire();
        if batch.payload.is_empty(wire) {
            return Ok(());
        }
        // Encode and compress before taking the lock: the engine may be reading meanwhile.
        let mut raw = Vec::with_capacity(batch.payload.size());
        batch.payload.encode(wire, &mut raw);
        let body = match snap::raw::Encoder::new().compress_vec(&raw) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(target: "prw", endpoint = %self.stats.url, "snappy compression failed: {e}");
                self.stats.drop_counts(DropReason::QueueFull, batch.counts);
                return Ok(());
            }
        };
        drop(raw);
        let meta = RequestMeta {
            protocol: match wire {
                Wire::V1 => ProtocolVersion::V1,
                Wire::V2 => ProtocolVersion::V2,
            },
            samples: batch.counts.samples,
            histograms: batch.counts.histograms,
            exemplars: batch.counts.exemplars,
            created: SystemTime::now(),
        };
        let mut st = lock(&self.state);
        if st.closed {
            return Err(Closed);
        }
        st.apply_done(&self.stats.url);
        match st.queue.append(meta, &body) {
            Ok(_) => st.failing = false,
            Err(e) => {
                // Not written, so not kept: counted as a full queue (the disk is full, or
                // the request is larger than a quarter of the bound).
                let message = match &e {
                    AppendError::TooLarge { .. } => e.to_string(),
                    AppendError::Io(io) => format!("{io}; dropping requests until it works"),
                };
                st.disk_error(&self.stats.url, &message);
                self.stats.drop_counts(DropReason::QueueFull, batch.counts);
            }
        }
        st.publish(&self.stats);
        drop(st);
        self.notify.notify_one();
        Ok(())
    }

    fn push_flush(&self) -> Option<oneshot::Receiver<()>> {
        let (tx, rx) = oneshot::channel();
        let mut st = lock(&self.state);
        if st.closed {
            return None;
        }
        let newest = st.queue.last_seq();
        st.flushes.push_back((newest, tx));
        drop(st);
        self.notify.notify_one();
        Some(rx)
    }

    fn pop(&self) -> Pin<Box<dyn Future<Output = Option<Item>> + Send + '_>> {
        Box::pin(async move {
            loop {
                let state = self.state.clone();
                let stats = self.stats.clone();
                // Reading (and writing the acknowledgements) is file I/O: keep it off the
                // runtime's threads.
                let read = tokio::task::spawn_blocking(move || {
                    let mut st = lock(&state);
                    let item = st.next(&stats);
                    let closed = st.closed;
                    (item, closed)
                })
                .await;
                match read {
                    Ok((Some(item), _)) => return Some(item),
                    Ok((None, true)) => {
                        let mut st = lock(&self.state);
                        st.answer_flushes(None);
                        return None;
                    }
                    Ok((None, false)) => {}
                    // The blocking pool is gone: the runtime is shutting down.
                    Err(_) => return None,
                }
                // Single consumer: notify_one stores a permit if nobody waits, so no wake-up
                // between the read and here is lost.
                self.notify.notified().await;
            }
        })
    }

    fn done(&self) {
        let mut st = lock(&self.state);
        if let Some((seq, counts)) = st.in_flight.take() {
            st.done_upto = st.done_upto.max(seq);
            st.done_counts += counts;
        }
        let done = st.done_upto;
        // Markers up to here need nothing more from the disk.
        while st.flushes.front().is_some_and(|(target, _)| *target <= done) {
            if let Some((_, tx)) = st.flushes.pop_front() {
                let _ = tx.send(());
            }
        }
    }

    fn close(&self) {
        lock(&self.state).closed = true;
        self.notify.notify_one();
    }

    fn abandon(&self) -> Counts {
        let mut st = lock(&self.state);
        st.closed = true;
        st.in_flight = None;
        st.apply_done(&self.stats.url);
        if let Err(e) = st.queue.sync() {
            st.disk_error(&self.stats.url, &e.to_string());
        }
        st.answer_flushes(None);
        let left = st.queue.stats();
        if left.pending_requests > 0 {
            tracing::info!(
                target: "prw",
                endpoint = %self.stats.url,
                "{} requests ({} samples, {} histograms) stay in the persistent queue {} and are sent first at the next start",
                left.pending_requests,
                left.pending_samples,
                left.pending_histograms,
                st.queue.dir().display()
            );
        }
        st.publish(&self.stats);
        // Kept on disk, so nothing is lost.
        Counts::default()
    }

    fn waiting_points(&self) -> u64 {
        let st = lock(&self.state);
        let s = st.queue.stats();
        let in_flight = st.in_flight.map_or(0, |(_, c)| c.points());
        (s.pending_samples + s.pending_histograms)
            .saturating_sub(in_flight)
            .saturating_sub(st.done_counts.points())
    }
}

impl Drop for DiskState {
    fn drop(&mut self) {
        if self.done_upto > 0 {
            let _ = self.queue.ack(self.done_upto);
        }
    }
}
