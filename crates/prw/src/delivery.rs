//! Delivery to one endpoint: one request in flight at a time (so no sample ever overtakes an
//! older sample of its series), retries with backoff, 413 splitting, the RW 2.0 → 1.0 fallback,
//! and a bounded number of log lines however long the endpoint misbehaves.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use prw_transport::{Request, Response, RetryAfter, Transport};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::backoff::{Backoff, retry_after_delay};
use crate::payload::{Counts, Payload};
use crate::persistent_queue::{DeliveryQueue, DiskQueue, PersistentQueue};
use crate::protocol::{Protocol, RETRY_ATTEMPT_HEADER, Wire};
use crate::queue::{Closed, Item, Queue, QueueLimits, Queued};
use crate::stats::{DropReason, EndpointStats, StatsCells};

/// How an endpoint retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    pub(crate) min_backoff: Duration,
    pub(crate) max_backoff: Duration,
    /// The longest `Retry-After` honoured; longer requests are cut to this.
    pub(crate) max_retry_after: Duration,
    /// After this long retrying one request, its data is dropped; `None`: retry until shutdown.
    pub(crate) max_retry_duration: Option<Duration>,
}

/// Everything one endpoint needs.
#[derive(Debug, Clone)]
pub(crate) struct EndpointConfig {
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) uri: http::Uri,
    pub(crate) protocol: Protocol,
    pub(crate) fallback: bool,
    pub(crate) retry: RetryPolicy,
    pub(crate) limits: QueueLimits,
}

/// The handle the exporter keeps for one endpoint; its delivery task runs on the runtime.
#[derive(Debug)]
pub(crate) struct Delivery {
    /// In memory, or on disk with a persistent queue (`crate::persistent_queue`).
    queue: Arc<dyn DeliveryQueue>,
    stats: Arc<StatsCells>,
    first_wire: Wire,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Delivery {
    /// With the in-memory queue (the exporter calls `start_with_queue`).
    #[cfg(test)]
    pub(crate) fn start(config: EndpointConfig, runtime: &Handle) -> Delivery {
        Delivery::start_with_queue(config, runtime, None)
    }

    /// With `disk`, requests wait in that persistent queue instead of in memory.
    pub(crate) fn start_with_queue(
        config: EndpointConfig,
        runtime: &Handle,
        disk: Option<PersistentQueue>,
    ) -> Delivery {
        let stats = Arc::new(StatsCells::new(display_url(&config.uri)));
        let queue: Arc<dyn DeliveryQueue> = match disk {
            Some(disk) => {
                Arc::new(DiskQueue::new(disk, stats.clone(), config.protocol.first_wire()))
            }
            None => Arc::new(Queue::new(config.limits, stats.clone())),
        };
        let first_wire = config.protocol.first_wire();
        let sender = Sender::new(config, queue.clone(), stats.clone());
        let task = runtime.spawn(sender.run());
        Delivery { queue, stats, first_wire, task: Mutex::new(Some(task)) }
    }

    /// Queues a batch behind everything before it. Never waits.
    pub(crate) fn enqueue(&self, payload: Arc<dyn Payload>) -> Result<(), Closed> {
        self.queue.push(Queued::new(payload))
    }

    /// Resolves when everything queued before this call was delivered or dropped.
    pub(crate) async fn flush(&self) {
        if let Some(rx) = self.queue.push_flush() {
            // An error means the task was stopped: nothing is left to wait for either.
            let _ = rx.await;
        }
    }

    /// Takes no more data; delivers what is queued until `deadline`, then stops and counts
    /// what is left as dropped. Returns what was lost.
    pub(crate) async fn shutdown(&self, deadline: Instant) -> Counts {
        self.queue.close();
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(mut task) = task else {
            return Counts::default();
        };
        match tokio::time::timeout_at(deadline, &mut task).await {
            Ok(_) => Counts::default(),
            Err(_) => {
                task.abort();
                let _ = task.await;
                let lost = self.queue.abandon();
                if !lost.is_empty() {
                    tracing::warn!(
                        target: "prw",
                        endpoint = %self.stats.url,
                        "shutdown deadline reached: {} samples, {} histograms and {} exemplars were not delivered",
                        lost.samples,
                        lost.histograms,
                        lost.exemplars
                    );
                }
                lost
            }
        }
    }

    pub(crate) fn stats(&self) -> EndpointStats {
        self.stats.snapshot(self.first_wire)
    }

    pub(crate) fn cells(&self) -> &Arc<StatsCells> {
        &self.stats
    }
}

/// The URL as logs and labels show it: no credentials, no query.
pub(crate) fn display_url(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let host = uri.host().unwrap_or("");
    match uri.port_u16() {
        Some(port) => format!("{scheme}://{host}:{port}{}", uri.path()),
        None => format!("{scheme}://{host}{}", uri.path()),
    }
}

/// What to do after one attempt.
#[derive(Debug)]
enum Outcome {
    /// Accepted; `written` is what the endpoint says it stored.
    Delivered { written: Counts },
    /// Worth trying again (5xx, 429, no answer).
    Retry { why: String, after: Option<RetryAfter> },
    /// 413: send the halves.
    TooLarge,
    /// RW 2.0 not understood (415, or a 2xx that does not say what it wrote).
    NotV2 { why: String },
    /// Will never succeed; `written` is what a partial RW 2.0 write stored anyway.
    Rejected { what: String, message: String, written: Counts },
}

/// The delivery task of one endpoint.
struct Sender {
    config: EndpointConfig,
    queue: Arc<dyn DeliveryQueue>,
    stats: Arc<StatsCells>,
    wire: Wire,
    may_fall_back: bool,
    backoff: Backoff,
    headers: [http::HeaderMap; 2],
    scratch: Vec<u8>,
    /// Snappy's output, before it is copied into the request body.
    compressed: Vec<u8>,
    encoder: snap::raw::Encoder,
    health: Health,
}

impl Sender {
    fn new(config: EndpointConfig, queue: Arc<dyn DeliveryQueue>, stats: Arc<StatsCells>) -> Self {
        let wire = config.protocol.first_wire();
        let may_fall_back = config.protocol.may_fall_back(config.fallback);
        let backoff = Backoff::new(config.retry.min_backoff, config.retry.max_backoff);
        let health = Health::new(stats.url.clone());
        Sender {
            config,
            queue,
            stats,
            wire,
            may_fall_back,
            backoff,
            headers: [Wire::V1.headers(), Wire::V2.headers()],
            scratch: Vec::new(),
            compressed: Vec::new(),
            encoder: snap::raw::Encoder::new(),
            health,
        }
    }

    async fn run(mut self) {
        while let Some(item) = self.queue.pop().await {
            match item {
                Item::Flush(done) => {
                    let _ = done.send(());
                }
                Item::Batch(batch) => {
                    self.deliver(batch.payload).await;
                    self.queue.done();
                    if self.queue.waiting_points() == 0 {
                        self.health.caught_up();
                    }
                }
            }
        }
    }

    async fn deliver(&mut self, payload: Arc<dyn Payload>) {
        let mut parts = vec![payload];
        while let Some(part) = parts.pop() {
            if let Some((first, second)) = self.deliver_one(part).await {
                parts.push(second);
                parts.push(first);
            }
        }
    }

    fn body(&mut self, payload: &dyn Payload, wire: Wire) -> Bytes {
        self.scratch.clear();
        payload.encode(wire, &mut self.scratch);
        // Compressing into a kept, already zeroed buffer and copying out the (smaller) result
        // is cheaper than zeroing a new buffer of the worst-case size for every request.
        let max = snap::raw::max_compress_len(self.scratch.len());
        if self.compressed.len() < max {
            self.compressed.resize(max, 0);
        }
        let body = match self.encoder.compress(&self.scratch, &mut self.compressed) {
            Ok(n) => Bytes::copy_from_slice(&self.compressed[..n]),
            // Only possible for inputs over ~4 GiB, which the batch limits rule out; an empty
            // body would be refused by the server and counted there, never a panic here.
            Err(e) => {
                tracing::error!(target: "prw", endpoint = %self.stats.url, "snappy compression failed: {e}");
                Bytes::new()
            }
        };
        // Keep the buffers from holding on to a rare huge allocation forever.
        if self.scratch.capacity() > 64 << 20 {
            self.scratch = Vec::new();
            self.compressed = Vec::new();
        }
        body
    }

    /// Sends one batch until it is delivered or dropped. Returns two halves to send instead
    /// when the endpoint said the request was too large.
    async fn deliver_one(
        &mut self,
        payload: Arc<dyn Payload>,
    ) -> Option<(Arc<dyn Payload>, Arc<dyn Payload>)> {
        let counts = payload.counts();
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let mut body: Option<(Wire, Bytes)> = None;
        loop {
            let wire = self.wire;
            if payload.is_empty(wire) {
                return None;
            }
            let bytes = match &body {
                Some((w, b)) if *w == wire => b.clone(),
                _ => {
                    let b = self.body(payload.as_ref(), wire);
                    body = Some((wire, b.clone()));
                    b
                }
            };
            let mut headers = self.headers[wire as usize].clone();
            if attempt > 0 {
                headers.insert(RETRY_ATTEMPT_HEADER, HeaderValue::from(attempt));
            }
            let request = Request {
                method: Method::POST,
                uri: self.config.uri.clone(),
                headers,
                body: bytes.clone(),
            };
            let sent_at = Instant::now();
            let result = self.config.transport.send(request).await;
            self.stats.duration.record(sent_at.elapsed());
            let outcome = match result {
                Ok(response) => classify(&response, wire, counts),
                // A request the transport cannot send (its URI is not the transport's endpoint)
                // fails the same way every time.
                Err(e) if e.is_invalid_request() => Outcome::Rejected {
                    what: "the transport".into(),
                    message: e.to_string(),
                    written: Counts::default(),
                },
                Err(e) => Outcome::Retry { why: e.to_string(), after: None },
            };
            tracing::debug!(target: "prw", endpoint = %self.stats.url, ?wire, attempt, ?outcome, "remote-write attempt");
            match outcome {
                Outcome::Delivered { written } => {
                    self.delivered(written, bytes.len());
                    let short = counts.saturating_sub(written);
                    if !short.is_empty() {
                        self.stats.drop_counts(DropReason::NotWritten, short);
                        self.health.rejected(
                            "the endpoint (2xx)",
                            &format!(
                                "the endpoint wrote only {} of {} samples, {} of {} histograms and {} of {} exemplars",
                                written.samples,
                                counts.samples,
                                written.histograms,
                                counts.histograms,
                                written.exemplars,
                                counts.exemplars
                            ),
                            short,
                        );
                    }
                    return None;
                }
                Outcome::Retry { why, after } => {
                    self.stats.retried.add(counts);
                    self.health.failed(&why, self.queue.waiting_points() + counts.points());
                    if let Some(max) = self.config.retry.max_retry_duration {
                        if started.elapsed() >= max {
                            self.stats.drop_counts(DropReason::RetryTimeout, counts);
                            self.health.gave_up(max, counts);
                            return None;
                        }
                    }
                    let cap = self.config.retry.max_retry_after;
                    let delay = after
                        .and_then(|r| retry_after_delay(r, cap, SystemTime::now()))
                        .unwrap_or_else(|| self.backoff.next_delay());
                    tokio::time::sleep(delay).await;
                    attempt = attempt.saturating_add(1);
                }
                Outcome::TooLarge => {
                    self.answered();
                    return match payload.split() {
                        Some(halves) => {
                            tracing::debug!(target: "prw", endpoint = %self.stats.url, "413: splitting the request in two");
                            Some(halves)
                        }
                        None => {
                            self.stats.drop_counts(DropReason::TooLarge, counts);
                            self.health.rejected(
                                "413 Payload Too Large",
                                "a single series is larger than the endpoint accepts",
                                counts,
                            );
                            None
                        }
                    };
                }
                Outcome::NotV2 { why } => {
                    self.answered();
                    if self.may_fall_back {
                        self.wire = Wire::V1;
                        self.stats.fell_back.store(true, Relaxed);
                        tracing::warn!(
                            target: "prw",
                            endpoint = %self.stats.url,
                            "the endpoint does not speak Remote Write 2.0 ({why}); using Remote Write 1.0 for it from now on"
                        );
                        attempt = 0;
                    } else {
                        self.stats.drop_counts(DropReason::NotWritten, counts);
                        self.health.rejected(
                            "the endpoint (RW 2.0 not understood)",
                            &format!("{why}; fallback to Remote Write 1.0 is turned off"),
                            counts,
                        );
                        return None;
                    }
                }
                Outcome::Rejected { what, message, written } => {
                    self.answered();
                    if !written.is_empty() {
                        self.stats.sent.add(written);
                    }
                    let lost = counts.saturating_sub(written);
                    self.stats.drop_counts(DropReason::Rejected, lost);
                    self.health.rejected(&what, &message, lost);
                    return None;
                }
            }
        }
    }

    /// The endpoint answered (it is up), whatever it said.
    fn answered(&mut self) {
        self.backoff.reset();
        self.health.up(self.queue.waiting_points());
    }

    fn delivered(&mut self, written: Counts, bytes: usize) {
        self.stats.sent.add(written);
        self.stats.bytes_sent.fetch_add(bytes as u64, Relaxed);
        self.stats.requests_sent.fetch_add(1, Relaxed);
        // first "recovered", so that this batch counts toward the backlog delivered
        self.answered();
        self.health.delivered(written);
    }
}

fn classify(response: &Response, wire: Wire, sent: Counts) -> Outcome {
    let status = response.status;
    let message = || String::from_utf8_lossy(&response.body).into_owned();
    if status.is_success() {
        if wire == Wire::V1 {
            return Outcome::Delivered { written: sent };
        }
        let w = response.written;
        if w.samples.is_none() && w.histograms.is_none() && w.exemplars.is_none() {
            return Outcome::NotV2 {
                why: format!(
                    "it answered {status} without the X-Prometheus-Remote-Write-*-Written headers"
                ),
            };
        }
        return Outcome::Delivered { written: written_counts(response, sent, true) };
    }
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Outcome::TooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE if wire == Wire::V2 => {
            Outcome::NotV2 { why: format!("it answered {status}") }
        }
        s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
            Outcome::Retry { why: describe(status, &message()), after: response.retry_after }
        }
        _ => Outcome::Rejected {
            what: status.to_string(),
            message: message(),
            written: if wire == Wire::V2 {
                written_counts(response, sent, false)
            } else {
                Counts::default()
            },
        },
    }
}

/// What an RW 2.0 endpoint says it wrote. A missing header means "all of them" on success
/// (another header was there, so the endpoint does report) and "none" on failure.
fn written_counts(response: &Response, sent: Counts, success: bool) -> Counts {
    let w = response.written;
    let pick = |v: Option<i64>, sent: u64| match v {
        Some(n) => u64::try_from(n).unwrap_or(0).min(sent),
        None if success => sent,
        None => 0,
    };
    Counts {
        samples: pick(w.samples, sent.samples),
        histograms: pick(w.histograms, sent.histograms),
        exemplars: pick(w.exemplars, sent.exemplars),
    }
}

fn describe(status: StatusCode, message: &str) -> String {
    let message = message.trim();
    if message.is_empty() { status.to_string() } else { format!("{status}: {message}") }
}

/// Turns a stream of attempts into a bounded number of log lines: one when the endpoint goes
/// down, a "still down" line at doubling intervals, one when it recovers and one when the
/// backlog is delivered; rejections verbatim, at most one a minute plus a count of the rest.
struct Health {
    url: String,
    down: Option<Down>,
    /// Counting since a recovery, until the queue is empty again.
    backlog: Option<Counts>,
    last_rejection_log: Option<Instant>,
    rejections_unlogged: u64,
}

struct Down {
    since: Instant,
    next_report: Instant,
    report_every: Duration,
    failures: u64,
}

const FIRST_STILL_DOWN: Duration = Duration::from_secs(60);
const MAX_STILL_DOWN: Duration = Duration::from_secs(600);
const REJECTION_LOG_EVERY: Duration = Duration::from_secs(60);

impl Health {
    fn new(url: String) -> Self {
        Health { url, down: None, backlog: None, last_rejection_log: None, rejections_unlogged: 0 }
    }

    fn failed(&mut self, why: &str, pending_points: u64) {
        self.failed_at(Instant::now(), why, pending_points);
    }

    /// [`failed`](Self::failed) at a given time (tests drive the clock).
    fn failed_at(&mut self, now: Instant, why: &str, pending_points: u64) {
        match &mut self.down {
            None => {
                tracing::warn!(
                    target: "prw",
                    endpoint = %self.url,
                    "remote write failed ({why}); retrying with backoff, {pending_points} samples waiting"
                );
                self.down = Some(Down {
                    since: now,
                    next_report: now + FIRST_STILL_DOWN,
                    report_every: FIRST_STILL_DOWN,
                    failures: 1,
                });
            }
            Some(down) => {
                down.failures += 1;
                if now >= down.next_report {
                    tracing::warn!(
                        target: "prw",
                        endpoint = %self.url,
                        "remote write still failing after {} and {} attempts ({why}); {pending_points} samples waiting",
                        round(now - down.since),
                        down.failures
                    );
                    down.report_every = (down.report_every * 2).min(MAX_STILL_DOWN);
                    down.next_report = now + down.report_every;
                }
            }
        }
    }

    fn up(&mut self, waiting_points: u64) {
        if let Some(down) = self.down.take() {
            tracing::info!(
                target: "prw",
                endpoint = %self.url,
                "remote write recovered after {} ({} failed attempts); {waiting_points} samples still waiting",
                round(down.since.elapsed()),
                down.failures
            );
            self.backlog = Some(Counts::default());
        }
    }

    fn delivered(&mut self, c: Counts) {
        if let Some(b) = &mut self.backlog {
            *b += c;
        }
    }

    fn caught_up(&mut self) {
        if self.down.is_none() {
            if let Some(b) = self.backlog.take() {
                tracing::info!(
                    target: "prw",
                    endpoint = %self.url,
                    "remote write caught up: {} samples, {} histograms and {} exemplars delivered since recovering",
                    b.samples,
                    b.histograms,
                    b.exemplars
                );
            }
        }
    }

    fn rejected(&mut self, what: &str, message: &str, lost: Counts) {
        let now = Instant::now();
        if self.last_rejection_log.is_some_and(|t| now - t < REJECTION_LOG_EVERY) {
            self.rejections_unlogged += 1;
            return;
        }
        let earlier = std::mem::take(&mut self.rejections_unlogged);
        let earlier = if earlier > 0 {
            format!(" ({earlier} more rejected requests not logged in the last minute)")
        } else {
            String::new()
        };
        // The server's own words, verbatim: they say what to fix.
        tracing::error!(
            target: "prw",
            endpoint = %self.url,
            "remote write rejected by {what}, dropping {} samples, {} histograms and {} exemplars (never retried){earlier}: {message}",
            lost.samples,
            lost.histograms,
            lost.exemplars
        );
        self.last_rejection_log = Some(now);
    }

    fn gave_up(&mut self, after: Duration, lost: Counts) {
        tracing::error!(
            target: "prw",
            endpoint = %self.url,
            "gave up on a request after retrying for {:?}: dropping {} samples, {} histograms and {} exemplars",
            after,
            lost.samples,
            lost.histograms,
            lost.exemplars
        );
    }
}

/// `850ms`, `12.3s`, `95s`: enough precision for a log line.
fn round(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_secs(60) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}s", d.as_secs())
    }
}

#[cfg(test)]
mod tests;
