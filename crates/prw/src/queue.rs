//! The bounded queue in front of one endpoint: later collections wait here, in order, while an
//! earlier request is retried. When a limit is hit the oldest batches make room for the newest.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, oneshot};

use crate::payload::{Counts, Payload};
use crate::stats::{DropReason, StatsCells};

/// Limits on what may wait for one endpoint (the batch in flight included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueueLimits {
    /// Samples plus native histograms.
    pub(crate) max_points: u64,
    /// Uncompressed RW 1.0 bytes.
    pub(crate) max_bytes: u64,
}

/// A batch waiting to be sent.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) payload: Arc<dyn Payload>,
    pub(crate) counts: Counts,
    pub(crate) bytes: u64,
}

impl Queued {
    pub(crate) fn new(payload: Arc<dyn Payload>) -> Self {
        Queued { counts: payload.counts(), bytes: payload.size() as u64, payload }
    }
}

/// What the delivery task takes from the queue.
#[derive(Debug)]
pub(crate) enum Item {
    Batch(Queued),
    /// Answered when everything queued before it has been delivered or dropped.
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<Item>,
    points: u64,
    bytes: u64,
    in_flight: Option<(Counts, u64)>,
    closed: bool,
    /// Dropped since the queue last overflowed (for one log line per episode).
    overflow: Option<Counts>,
}

#[derive(Debug)]
pub(crate) struct Queue {
    state: Mutex<State>,
    notify: Notify,
    limits: QueueLimits,
    stats: Arc<StatsCells>,
}

/// The queue no longer takes data: the exporter is shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed;

impl Queue {
    pub(crate) fn new(limits: QueueLimits, stats: Arc<StatsCells>) -> Self {
        Queue { state: Mutex::new(State::default()), notify: Notify::new(), limits, stats }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state inconsistent in a way that
        // matters more than losing the exporter, so carry on with it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends a batch, dropping the oldest waiting batches while the limits are exceeded.
    /// The new batch itself is always kept, so the newest data survives an outage.
    pub(crate) fn push(&self, batch: Queued) -> Result<(), Closed> {
        let mut st = self.lock();
        if st.closed {
            return Err(Closed);
        }
        st.points += batch.counts.points();
        st.bytes += batch.bytes;
        st.items.push_back(Item::Batch(batch));
        let mut dropped = Counts::default();
        while self.over_limit(&st) {
            let Some(i) = st.items.iter().position(|it| matches!(it, Item::Batch(_))) else {
                break;
            };
            // never the batch just pushed: it is the last one
            if i + 1 == st.items.len() {
                break;
            }
            if let Some(Item::Batch(old)) = st.items.remove(i) {
                st.points -= old.counts.points();
                st.bytes -= old.bytes;
                dropped += old.counts;
            }
        }
        if !dropped.is_empty() {
            self.stats.drop_counts(DropReason::QueueFull, dropped);
            match &mut st.overflow {
                Some(total) => *total += dropped,
                None => {
                    tracing::warn!(
                        target: "prw",
                        endpoint = %self.stats.url,
                        "remote-write queue full ({} samples, {} bytes waiting): dropping the oldest data",
                        st.points,
                        st.bytes
                    );
                    st.overflow = Some(dropped);
                }
            }
        }
        self.publish(&st);
        drop(st);
        self.notify.notify_one();
        Ok(())
    }

    fn over_limit(&self, st: &State) -> bool {
        let (fp, fb) = st.in_flight.map(|(c, b)| (c.points(), b)).unwrap_or_default();
        st.points + fp > self.limits.max_points || st.bytes + fb > self.limits.max_bytes
    }

    /// Appends a flush marker; `None` when closed.
    pub(crate) fn push_flush(&self) -> Option<oneshot::Receiver<()>> {
        let (tx, rx) = oneshot::channel();
        let mut st = self.lock();
        if st.closed {
            return None;
        }
        st.items.push_back(Item::Flush(tx));
        drop(st);
        self.notify.notify_one();
        Some(rx)
    }

    /// The next item, waiting for one; `None` once closed and empty. A batch stays counted as
    /// pending (in flight) until [`Queue::done`].
    pub(crate) async fn pop(&self) -> Option<Item> {
        loop {
            {
                let mut st = self.lock();
                if let Some(item) = st.items.pop_front() {
                    if let Item::Batch(b) = &item {
                        st.points -= b.counts.points();
                        st.bytes -= b.bytes;
                        st.in_flight = Some((b.counts, b.bytes));
                    }
                    if st.items.is_empty() {
                        if let Some(total) = st.overflow.take() {
                            tracing::warn!(
                                target: "prw",
                                endpoint = %self.stats.url,
                                "remote-write queue has room again; {} samples, {} histograms and {} exemplars were dropped while it was full",
                                total.samples,
                                total.histograms,
                                total.exemplars
                            );
                        }
                    }
                    self.publish(&st);
                    return Some(item);
                }
                if st.closed {
                    return None;
                }
            }
            // Single consumer: notify_one stores a permit if nobody waits, so no wake-up is lost.
            self.notify.notified().await;
        }
    }

    /// The batch in flight has been delivered or dropped.
    pub(crate) fn done(&self) {
        let mut st = self.lock();
        st.in_flight = None;
        self.publish(&st);
    }

    /// No new data from now on; the delivery task finishes what is queued and stops.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.notify.notify_one();
    }

    /// Removes everything still waiting or in flight (the delivery task was stopped), counting
    /// it as dropped at shutdown, and answers the flush markers.
    pub(crate) fn abandon(&self) -> Counts {
        let mut st = self.lock();
        st.closed = true;
        let mut lost = st.in_flight.take().map(|(c, _)| c).unwrap_or_default();
        for item in st.items.drain(..) {
            match item {
                Item::Batch(b) => lost += b.counts,
                Item::Flush(tx) => {
                    let _ = tx.send(());
                }
            }
        }
        st.points = 0;
        st.bytes = 0;
        self.publish(&st);
        if !lost.is_empty() {
            self.stats.drop_counts(DropReason::Shutdown, lost);
        }
        lost
    }

    fn publish(&self, st: &State) {
        let (fp, fb) = st.in_flight.map(|(c, b)| (c.points(), b)).unwrap_or_default();
        self.stats.pending_points.store(st.points + fp, Relaxed);
        self.stats.pending_bytes.store(st.bytes + fb, Relaxed);
    }

    /// Samples and histograms waiting, not counting the batch in flight.
    pub(crate) fn waiting_points(&self) -> u64 {
        self.lock().points
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Wire;

    #[derive(Debug)]
    struct Fake(u64);
    impl Payload for Fake {
        fn counts(&self) -> Counts {
            Counts { samples: self.0, histograms: 0, exemplars: 0 }
        }
        fn size(&self) -> usize {
            self.0 as usize * 10
        }
        fn encode(&self, _: Wire, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.0.to_le_bytes());
        }
        fn split(&self) -> Option<(Arc<dyn Payload>, Arc<dyn Payload>)> {
            None
        }
    }

    fn queue(max_points: u64, max_bytes: u64) -> (Queue, Arc<StatsCells>) {
        let stats = Arc::new(StatsCells::new("http://test/".into()));
        (Queue::new(QueueLimits { max_points, max_bytes }, stats.clone()), stats)
    }

    fn batch(n: u64) -> Queued {
        Queued::new(Arc::new(Fake(n)))
    }

    async fn pop_samples(q: &Queue) -> u64 {
        match q.pop().await {
            Some(Item::Batch(b)) => {
                q.done();
                b.counts.samples
            }
            other => panic!("expected a batch, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn keeps_order() {
        let (q, _) = queue(1_000, 1_000_000);
        for n in 1..=5 {
            q.push(batch(n)).unwrap();
        }
        for n in 1..=5 {
            assert_eq!(pop_samples(&q).await, n);
        }
    }

    #[tokio::test]
    async fn drops_oldest_when_points_exceed_the_limit_and_counts_them() {
        let (q, stats) = queue(10, 1_000_000);
        q.push(batch(4)).unwrap();
        q.push(batch(4)).unwrap();
        q.push(batch(4)).unwrap(); // 12 > 10: the first goes
        assert_eq!(stats.dropped(DropReason::QueueFull).samples, 4);
        assert_eq!(stats.pending_points.load(Relaxed), 8);
        assert_eq!(pop_samples(&q).await, 4);
        assert_eq!(pop_samples(&q).await, 4);
        assert_eq!(q.waiting_points(), 0);
        assert_eq!(stats.pending_points.load(Relaxed), 0);
    }

    #[tokio::test]
    async fn byte_limit_and_in_flight_count_too() {
        let (q, stats) = queue(1_000, 100);
        q.push(batch(5)).unwrap(); // 50 bytes
        let Some(Item::Batch(_)) = q.pop().await else { panic!() };
        // 50 in flight + 50 + 50 > 100: the oldest waiting one goes, not the one in flight
        q.push(batch(5)).unwrap();
        q.push(batch(5)).unwrap();
        assert_eq!(stats.dropped(DropReason::QueueFull).samples, 5);
        assert_eq!(stats.pending_bytes.load(Relaxed), 100);
    }

    #[tokio::test]
    async fn an_oversized_newest_batch_is_kept() {
        let (q, stats) = queue(10, 1_000_000);
        q.push(batch(3)).unwrap();
        q.push(batch(50)).unwrap();
        assert_eq!(stats.dropped(DropReason::QueueFull).samples, 3);
        assert_eq!(pop_samples(&q).await, 50);
    }

    #[tokio::test]
    async fn flush_markers_are_never_dropped_and_answer_in_order() {
        let (q, _) = queue(5, 1_000_000);
        q.push(batch(5)).unwrap();
        let mut rx = q.push_flush().unwrap();
        q.push(batch(5)).unwrap(); // drops the first batch but not the marker
        match q.pop().await {
            Some(Item::Flush(tx)) => tx.send(()).unwrap(),
            other => panic!("{other:?}"),
        }
        rx.try_recv().unwrap();
        assert_eq!(pop_samples(&q).await, 5);
    }

    #[tokio::test]
    async fn closed_queue_refuses_and_ends_the_consumer() {
        let (q, _) = queue(100, 1_000_000);
        q.push(batch(1)).unwrap();
        q.close();
        assert_eq!(q.push(batch(1)).unwrap_err(), Closed);
        assert!(q.push_flush().is_none());
        assert_eq!(pop_samples(&q).await, 1);
        assert!(q.pop().await.is_none());
    }

    #[tokio::test]
    async fn abandon_counts_everything_left_as_shutdown_drops() {
        let (q, stats) = queue(100, 1_000_000);
        q.push(batch(2)).unwrap();
        q.push(batch(3)).unwrap();
        let rx = q.push_flush().unwrap();
        let Some(Item::Batch(_)) = q.pop().await else { panic!() };
        let lost = q.abandon();
        assert_eq!(lost.samples, 5);
        assert_eq!(stats.dropped(DropReason::Shutdown).samples, 5);
        assert_eq!(stats.pending_points.load(Relaxed), 0);
        rx.await.unwrap();
    }

    #[tokio::test]
    async fn a_waiting_consumer_wakes_up() {
        let (q, _) = queue(100, 1_000_000);
        let q = Arc::new(q);
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { pop_samples(&q2).await });
        tokio::task::yield_now().await;
        q.push(batch(7)).unwrap();
        assert_eq!(waiter.await.unwrap(), 7);
    }
}
