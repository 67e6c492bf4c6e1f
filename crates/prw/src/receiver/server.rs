//! The HTTP server: accepts connections, reads bodies, runs the checks, answers and hands every
//! request to the caller.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::check::OrderTracker;
use super::decode::{self, Refusal};
use super::inspect;
use super::problem::{Problem, ProblemKind, Severity};
use super::request::{ReceivedRequest, RemoteWriteVersion, Response};

/// The largest body accepted by default, compressed and decoded (as Prometheus: 32 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 << 20;
/// How many received requests wait for the caller by default before the server slows down.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;
/// How long [`Receiver::shutdown`] waits for open connections to finish their requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The response headers carrying RW 2.0 write counts.
pub(crate) const SAMPLES_WRITTEN: &str = "x-prometheus-remote-write-samples-written";
pub(crate) const HISTOGRAMS_WRITTEN: &str = "x-prometheus-remote-write-histograms-written";
pub(crate) const EXEMPLARS_WRITTEN: &str = "x-prometheus-remote-write-exemplars-written";

/// Settings of a receiver; start one with [`bind`](ReceiverBuilder::bind) (async) or
/// [`bind_blocking`](ReceiverBuilder::bind_blocking) (its own thread).
#[derive(Debug, Clone)]
pub struct ReceiverBuilder {
    max_body_bytes: usize,
    queue_capacity: usize,
    reject_invalid: bool,
}

impl Default for ReceiverBuilder {
    fn default() -> Self {
        ReceiverBuilder {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            reject_invalid: false,
        }
    }
}

impl ReceiverBuilder {
    /// The largest body accepted, both as received and after snappy decoding. Larger bodies get
    /// 413 (as received) or 400 (decoded), as from Prometheus. Default 32 MiB.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// How many requests may wait to be taken with `recv` before the server holds back its
    /// answers (so a slow reader slows the sender down instead of growing memory). Default 1024;
    /// at least 1.
    pub fn queue_capacity(mut self, requests: usize) -> Self {
        self.queue_capacity = requests.max(1);
        self
    }

    /// Answer 400 to requests with any problem of [`Severity::Error`], as a strict backend
    /// would, instead of accepting them with a warning. Default off: a debug receiver shows
    /// everything and lets the sender carry on.
    pub fn reject_invalid(mut self, reject: bool) -> Self {
        self.reject_invalid = reject;
        self
    }

    /// Binds `addr` and starts serving on the current tokio runtime.
    ///
    /// # Errors
    /// When the address cannot be bound (in use, not local, no permission).
    pub async fn bind(self, addr: impl tokio::net::ToSocketAddrs) -> io::Result<Receiver> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(self.queue_capacity);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let state = Arc::new(State::new(&self, Sink::Async(tx)));
        let task = tokio::spawn(serve(listener, state, shutdown_rx));
        Ok(Receiver { local_addr, requests: rx, shutdown: shutdown_tx, task: Some(task) })
    }

    /// Binds `addr` and serves from a thread of its own, for callers without a tokio runtime.
    ///
    /// # Errors
    /// When the address cannot be bound, or the thread or its runtime cannot be started.
    pub fn bind_blocking(self, addr: impl std::net::ToSocketAddrs) -> io::Result<BlockingReceiver> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("prw-receiver")
            .enable_io()
            .enable_time()
            .build()?;
        let (tx, rx) = std::sync::mpsc::sync_channel(self.queue_capacity);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let state = Arc::new(State::new(&self, Sink::Blocking(tx)));
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener)?
        };
        runtime.spawn(async move {
            serve(listener, state, shutdown_rx).await;
            let _ = done_tx.send(());
        });
        Ok(BlockingReceiver {
            local_addr,
            requests: rx,
            shutdown: shutdown_tx,
            done: done_rx,
            runtime: Some(runtime),
        })
    }
}

/// A running debug receiver on a tokio runtime.
///
/// Every request (also refused ones) is checked, answered and queued; take them with
/// [`recv`](Receiver::recv). A request is queued *before* its answer is sent, so once a sender
/// has its response the request is already waiting here.
///
/// Dropping the receiver stops the server; [`shutdown`](Receiver::shutdown) also waits for open
/// connections to finish.
#[derive(Debug)]
pub struct Receiver {
    local_addr: SocketAddr,
    requests: mpsc::Receiver<ReceivedRequest>,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// Binds `addr` with the default settings and starts serving.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind(addr: impl tokio::net::ToSocketAddrs) -> io::Result<Receiver> {
        ReceiverBuilder::default().bind(addr).await
    }

    /// Settings beyond the defaults.
    pub fn builder() -> ReceiverBuilder {
        ReceiverBuilder::default()
    }

    /// The address the receiver listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://<local_addr>/api/v1/write`, a URL senders can use (any path is accepted).
    pub fn endpoint(&self) -> String {
        format!("http://{}/api/v1/write", self.local_addr)
    }

    /// The next request; `None` once the server has stopped and the queue is empty.
    pub async fn recv(&mut self) -> Option<ReceivedRequest> {
        self.requests.recv().await
    }

    /// The next request if one is waiting.
    pub fn try_recv(&mut self) -> Option<ReceivedRequest> {
        self.requests.try_recv().ok()
    }

    /// Stops accepting connections, lets open ones finish their current request (for at most
    /// five seconds) and returns. Requests still queued are dropped.
    pub async fn shutdown(mut self) {
        self.requests.close();
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// A running debug receiver serving from a thread of its own (a one-worker tokio runtime), for
/// code that is not async: the sample app, plain `#[test]`s.
///
/// ```
/// use std::time::Duration;
/// let receiver = prw::receiver::BlockingReceiver::bind("127.0.0.1:0").unwrap();
/// println!("send to {}", receiver.endpoint());
/// assert!(receiver.recv_timeout(Duration::from_millis(10)).is_none());
/// receiver.shutdown();
/// ```
#[derive(Debug)]
pub struct BlockingReceiver {
    local_addr: SocketAddr,
    requests: std::sync::mpsc::Receiver<ReceivedRequest>,
    shutdown: watch::Sender<bool>,
    done: std::sync::mpsc::Receiver<()>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl BlockingReceiver {
    /// Binds `addr` with the default settings and starts serving on a thread of its own.
    ///
    /// # Errors
    /// When the address cannot be bound or the thread cannot be started.
    pub fn bind(addr: impl std::net::ToSocketAddrs) -> io::Result<BlockingReceiver> {
        ReceiverBuilder::default().bind_blocking(addr)
    }

    /// The address the receiver listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://<local_addr>/api/v1/write`, a URL senders can use (any path is accepted).
    pub fn endpoint(&self) -> String {
        format!("http://{}/api/v1/write", self.local_addr)
    }

    /// Waits for the next request; `None` once the server has stopped.
    pub fn recv(&self) -> Option<ReceivedRequest> {
        self.requests.recv().ok()
    }

    /// Waits at most `timeout` for the next request.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<ReceivedRequest> {
        self.requests.recv_timeout(timeout).ok()
    }

    /// The next request if one is waiting.
    pub fn try_recv(&self) -> Option<ReceivedRequest> {
        self.requests.try_recv().ok()
    }

    /// Stops the server, letting open connections finish their current request (for at most
    /// five seconds).
    pub fn shutdown(mut self) {
        self.stop(SHUTDOWN_GRACE + Duration::from_secs(1));
    }

    fn stop(&mut self, wait: Duration) {
        let _ = self.shutdown.send(true);
        if let Some(runtime) = self.runtime.take() {
            let _ = self.done.recv_timeout(wait);
            // Never blocks, so it is safe even when dropped inside another runtime.
            runtime.shutdown_background();
        }
    }
}

impl Drop for BlockingReceiver {
    fn drop(&mut self) {
        self.stop(Duration::ZERO);
    }
}

/// Where received requests go.
#[derive(Debug)]
enum Sink {
    Async(mpsc::Sender<ReceivedRequest>),
    Blocking(std::sync::mpsc::SyncSender<ReceivedRequest>),
}

impl Sink {
    async fn deliver(&self, request: ReceivedRequest) {
        match self {
            // A closed queue means nobody listens any more; the answer still goes out.
            Sink::Async(tx) => {
                let _ = tx.send(request).await;
            }
            Sink::Blocking(tx) => {
                let tx = tx.clone();
                let _ = tokio::task::spawn_blocking(move || tx.send(request).is_ok()).await;
            }
        }
    }
}

/// What every connection shares.
#[derive(Debug)]
struct State {
    options: Options,
    sequence: AtomicU64,
    tracker: Mutex<OrderTracker>,
    sink: Sink,
}

/// The settings [`process`] needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub(crate) max_body_bytes: usize,
    pub(crate) reject_invalid: bool,
}

impl State {
    fn new(builder: &ReceiverBuilder, sink: Sink) -> Self {
        State {
            options: Options {
                max_body_bytes: builder.max_body_bytes,
                reject_invalid: builder.reject_invalid,
            },
            sequence: AtomicU64::new(0),
            tracker: Mutex::new(OrderTracker::default()),
            sink,
        }
    }
}

async fn serve(listener: TcpListener, state: Arc<State>, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let state = Arc::clone(&state);
                    let shutdown = shutdown.clone();
                    connections.spawn(serve_connection(stream, peer, state, shutdown));
                }
                Err(error) => {
                    // Usually out of file descriptors: wait instead of spinning.
                    tracing::warn!(%error, "prw receiver: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = stopped(&mut shutdown) => break,
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
}

/// Resolves once shutdown is signalled (or the signal's sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // The returned guard must not live across an await: drop it here.
    let _ = shutdown.wait_for(|stop| *stop).await.map(|_| ());
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) {
    let service = service_fn(move |request| handle(Arc::clone(&state), peer, request));
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "prw receiver: connection ended with an error");
            }
        }
        () = stopped(&mut shutdown) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

async fn handle(
    state: Arc<State>,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let sequence = state.sequence.fetch_add(1, Ordering::Relaxed) + 1;
    let body = match Limited::new(body, state.options.max_body_bytes).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) => Err(if error.is::<http_body_util::LengthLimitError>() {
            Refusal {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                problem: Problem::error(
                    ProblemKind::BodyTooLarge,
                    format!("the body is larger than {} bytes", state.options.max_body_bytes),
                ),
            }
        } else {
            Refusal {
                status: StatusCode::BAD_REQUEST,
                problem: Problem::error(
                    ProblemKind::Undecodable,
                    format!("the body could not be read: {error}"),
                ),
            }
        }),
    };
    let received = process(sequence, peer, &parts, body, state.options, &state.tracker);
    let response = to_http_response(&received);
    state.sink.deliver(received).await;
    Ok(response)
}

/// Decodes, checks and decides the answer for one request. No I/O: the unit tests call it.
pub(crate) fn process(
    sequence: u64,
    remote_addr: SocketAddr,
    parts: &http::request::Parts,
    body: Result<Bytes, Refusal>,
    options: Options,
    tracker: &Mutex<OrderTracker>,
) -> ReceivedRequest {
    let mut received = ReceivedRequest {
        sequence,
        remote_addr,
        received_at: SystemTime::now(),
        method: parts.method.clone(),
        path: parts.uri.path_and_query().map_or_else(|| "/".to_owned(), |p| p.to_string()),
        headers: guarded_headers(&parts.headers),
        version: None,
        body_len: body.as_ref().map_or(0, Bytes::len),
        decoded_len: None,
        message: None,
        series: Vec::new(),
        metadata: Vec::new(),
        problems: Vec::new(),
        response: Response {
            status: StatusCode::NO_CONTENT.as_u16(),
            samples_written: None,
            histograms_written: None,
            exemplars_written: None,
            body: String::new(),
        },
    };
    let problems = &mut received.problems;
    let outcome = decode::negotiate(&parts.method, &parts.headers, problems).and_then(|version| {
        received.version = Some(version);
        let body = body?;
        decode::decode_body(version, &body, options.max_body_bytes, problems).map(|m| (version, m))
    });
    let version = match outcome {
        Ok((version, (message, decoded_len))) => {
            received.decoded_len = Some(decoded_len);
            let (series, metadata) = {
                let mut tracker = tracker.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                inspect::examine(&message, sequence, &mut tracker, problems)
            };
            received.message = Some(message);
            received.series = series;
            received.metadata = metadata;
            version
        }
        Err(refusal) => {
            received.response.status = refusal.status.as_u16();
            received.response.body = refusal.problem.message.clone();
            received.problems.push(refusal.problem);
            if received.version == Some(RemoteWriteVersion::V2) {
                received.response.samples_written = Some(0);
                received.response.histograms_written = Some(0);
                received.response.exemplars_written = Some(0);
            }
            return received;
        }
    };
    decide(&mut received, version, options);
    received
}

/// The request headers, credentials marked sensitive so that `Debug` never shows them.
fn guarded_headers(headers: &http::HeaderMap) -> http::HeaderMap {
    let mut headers = headers.clone();
    for name in [http::header::AUTHORIZATION, http::header::PROXY_AUTHORIZATION] {
        if let http::header::Entry::Occupied(mut entry) = headers.entry(name) {
            for value in entry.iter_mut() {
                value.set_sensitive(true);
            }
        }
    }
    headers
}

/// Chooses status, body and the RW 2.0 written counts for a decoded request.
fn decide(received: &mut ReceivedRequest, version: RemoteWriteVersion, options: Options) {
    let framed = received.problems.iter().any(|p| p.kind == ProblemKind::FramedSnappy);
    let errors: Vec<&Problem> =
        received.problems.iter().filter(|p| p.severity == Severity::Error).collect();
    let refuse = framed || (options.reject_invalid && !errors.is_empty());
    if refuse {
        received.response.status = StatusCode::BAD_REQUEST.as_u16();
        received.response.body =
            errors.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n");
    }
    if version == RemoteWriteVersion::V2 {
        // A refused request is written partially: the series without errors, as Prometheus
        // does for 2.0; framed snappy is refused whole.
        let mut written = (0u64, 0u64, 0u64);
        for (index, series) in received.series.iter().enumerate() {
            let bad = framed
                || (refuse
                    && received
                        .problems
                        .iter()
                        .any(|p| p.severity == Severity::Error && p.series == Some(index)));
            if !bad {
                written.0 += series.samples.len() as u64;
                written.1 += series.histograms.len() as u64;
                written.2 += series.exemplars.len() as u64;
            }
        }
        received.response.samples_written = Some(written.0);
        received.response.histograms_written = Some(written.1);
        received.response.exemplars_written = Some(written.2);
    }
}

fn to_http_response(received: &ReceivedRequest) -> http::Response<Full<Bytes>> {
    let r = &received.response;
    let mut response = http::Response::new(Full::new(Bytes::from(if r.body.is_empty() {
        String::new()
    } else {
        format!("{}\n", r.body)
    })));
    *response.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    if !r.body.is_empty() {
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    if r.status == StatusCode::METHOD_NOT_ALLOWED.as_u16() {
        headers.insert(http::header::ALLOW, HeaderValue::from_static("POST"));
    }
    for (name, value) in [
        (SAMPLES_WRITTEN, r.samples_written),
        (HISTOGRAMS_WRITTEN, r.histograms_written),
        (EXEMPLARS_WRITTEN, r.exemplars_written),
    ] {
        if let Some(value) = value {
            headers.insert(name, HeaderValue::from(value));
        }
    }
    response
}

#[cfg(test)]
#[allow(clippy::type_complexity)] // tables of cases
mod tests {
    use super::*;
    use prw_proto::prost::Message;
    use prw_proto::rw1::Label;
    use prw_proto::{rw1, rw2};

    const T: i64 = 1_700_000_000_000;
    const V1_TYPE: &str = "application/x-protobuf";
    const V2_TYPE: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 4000))
    }

    fn parts(content_type: &str, version: &str) -> http::request::Parts {
        let (parts, ()) = Request::post("/api/v1/write")
            .header("content-type", content_type)
            .header("content-encoding", "snappy")
            .header("x-prometheus-remote-write-version", version)
            .header("user-agent", "test/1")
            .body(())
            .unwrap()
            .into_parts();
        parts
    }

    fn snappy(message: &impl Message) -> Bytes {
        Bytes::from(snap::raw::Encoder::new().compress_vec(&message.encode_to_vec()).unwrap())
    }

    fn options(reject_invalid: bool) -> Options {
        Options { max_body_bytes: DEFAULT_MAX_BODY_BYTES, reject_invalid }
    }

    /// symbols: "", __name__, a, b, job, x
    fn v2(series: Vec<(Vec<u32>, Vec<(i64, f64)>)>) -> rw2::Request {
        rw2::Request {
            symbols: ["", "__name__", "a", "b", "job", "x"].map(String::from).to_vec(),
            timeseries: series
                .into_iter()
                .map(|(labels_refs, samples)| rw2::TimeSeries {
                    labels_refs,
                    samples: samples
                        .into_iter()
                        .map(|(timestamp, value)| rw2::Sample {
                            value,
                            timestamp,
                            start_timestamp: 0,
                        })
                        .collect(),
                    exemplars: vec![rw2::Exemplar {
                        labels_refs: vec![4, 5],
                        value: 1.0,
                        timestamp: T,
                    }],
                    metadata: Some(rw2::Metadata { r#type: 2, help_ref: 0, unit_ref: 0 }),
                    ..Default::default()
                })
                .collect(),
        }
    }

    #[test]
    fn rw2_is_answered_with_written_counts() {
        let tracker = Mutex::new(OrderTracker::default());
        let body = snappy(&v2(vec![
            (vec![1, 2, 4, 5], vec![(T, 1.0), (T + 1, 2.0)]),
            (vec![1, 3], vec![(T, 3.0)]),
        ]));
        let r = process(
            1,
            peer(),
            &parts(V2_TYPE, "2.0.0"),
            Ok(body.clone()),
            options(false),
            &tracker,
        );
        assert_eq!(r.problems, vec![]);
        assert_eq!(r.version, Some(RemoteWriteVersion::V2));
        assert_eq!(
            (
                r.response.status,
                r.response.samples_written,
                r.response.histograms_written,
                r.response.exemplars_written
            ),
            (204, Some(3), Some(0), Some(2))
        );
        assert_eq!(
            r.series[0].to_string(),
            format!(
                "a{{job=\"x\"}} 1 {T}\na{{job=\"x\"}} 2 {}\n# exemplar a{{job=\"x\"}} {{job=\"x\"}} 1 {T}",
                T + 1
            )
        );
        assert_eq!((r.body_len, r.sample_count(), r.exemplar_count()), (body.len(), 3, 2));
        assert_eq!(r.header("user-agent"), Some("test/1"));
        assert_eq!(r.path, "/api/v1/write");

        // A retry of the whole body: its older sample conflicts with the newest one already
        // stored, as in Prometheus' TSDB; the newest sample alone would be fine.
        let again =
            process(2, peer(), &parts(V2_TYPE, "2.0.0"), Ok(body), options(false), &tracker);
        assert_eq!(
            again.problems.iter().map(|p| p.kind).collect::<Vec<_>>(),
            vec![ProblemKind::OutOfOrder]
        );
        let newest =
            snappy(&v2(vec![(vec![1, 2, 4, 5], vec![(T + 1, 2.0)]), (vec![1, 3], vec![(T, 3.0)])]));
        let r = process(3, peer(), &parts(V2_TYPE, "2.0.0"), Ok(newest), options(false), &tracker);
        assert_eq!(r.problems, vec![]);
    }

    #[test]
    fn invalid_series_are_accepted_with_problems_or_rejected_when_strict() {
        // series 0 unsorted (job before __name__), series 1 fine
        let request = v2(vec![(vec![4, 5, 1, 2], vec![(T, 1.0)]), (vec![1, 3], vec![(T, 3.0)])]);
        for strict in [false, true] {
            let tracker = Mutex::new(OrderTracker::default());
            let r = process(
                1,
                peer(),
                &parts(V2_TYPE, "2.0.0"),
                Ok(snappy(&request)),
                options(strict),
                &tracker,
            );
            assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
            assert_eq!(
                (r.problems[0].kind, r.problems[0].series),
                (ProblemKind::UnsortedLabels, Some(0))
            );
            assert!(r.has_errors());
            if strict {
                assert_eq!(r.response.status, 400);
                assert_eq!(
                    (r.response.samples_written, r.response.exemplars_written),
                    (Some(1), Some(1))
                );
                assert!(r.response.body.contains("unsorted-labels"), "{}", r.response.body);
            } else {
                assert_eq!(r.response.status, 204);
                assert_eq!(r.response.samples_written, Some(2));
            }
        }
    }

    #[test]
    fn rw1_is_answered_without_written_headers() {
        let tracker = Mutex::new(OrderTracker::default());
        let request = rw1::WriteRequest {
            timeseries: vec![rw1::TimeSeries {
                labels: vec![Label { name: "__name__".into(), value: "up".into() }],
                samples: vec![rw1::Sample { value: 1.0, timestamp: T }],
                ..Default::default()
            }],
            metadata: vec![],
        };
        let r = process(
            1,
            peer(),
            &parts(V1_TYPE, "0.1.0"),
            Ok(snappy(&request)),
            options(true),
            &tracker,
        );
        assert_eq!(r.problems, vec![]);
        assert_eq!((r.response.status, r.response.samples_written), (204, None));
        assert_eq!(r.message, Some(crate::receiver::WireMessage::V1(request)));
        // an empty 1.0 request (a probe) is fine too
        let empty = snappy(&rw1::WriteRequest::default());
        let r = process(2, peer(), &parts(V1_TYPE, "0.1.0"), Ok(empty), options(true), &tracker);
        assert_eq!((r.response.status, r.problems.len(), r.series.len()), (204, 0, 0));
        // but a body that is not even snappy is not
        let r =
            process(3, peer(), &parts(V1_TYPE, "0.1.0"), Ok(Bytes::new()), options(true), &tracker);
        assert_eq!((r.response.status, r.problems[0].kind), (400, ProblemKind::Undecodable));
    }

    #[test]
    fn refusals() {
        let tracker = Mutex::new(OrderTracker::default());
        let body = snappy(&v2(vec![(vec![1, 2], vec![(T, 1.0)])]));
        let cases: Vec<(http::request::Parts, Result<Bytes, Refusal>, u16, ProblemKind)> = vec![
            (parts("application/json", "2.0.0"), Ok(body.clone()), 415, ProblemKind::ContentType),
            (
                parts(V2_TYPE, "2.0.0"),
                Ok(Bytes::from_static(b"\x05garbage")),
                400,
                ProblemKind::Undecodable,
            ),
            (
                {
                    let mut p = parts(V2_TYPE, "2.0.0");
                    p.method = http::Method::PUT;
                    p
                },
                Ok(body.clone()),
                405,
                ProblemKind::Method,
            ),
            (
                {
                    let mut p = parts(V2_TYPE, "2.0.0");
                    p.headers.insert("content-encoding", HeaderValue::from_static("gzip"));
                    p
                },
                Ok(body.clone()),
                415,
                ProblemKind::ContentEncoding,
            ),
            (
                parts(V2_TYPE, "2.0.0"),
                Err(Refusal {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    problem: Problem::error(ProblemKind::BodyTooLarge, "too large"),
                }),
                413,
                ProblemKind::BodyTooLarge,
            ),
        ];
        for (parts, body, status, kind) in cases {
            let r = process(1, peer(), &parts, body, options(false), &tracker);
            assert_eq!(r.response.status, status, "{:?}", r.problems);
            assert_eq!(r.problems.last().map(|p| p.kind), Some(kind));
            assert!(!r.response.body.is_empty());
            assert!(r.series.is_empty());
        }
    }

    #[test]
    fn credentials_never_show_in_debug() {
        let tracker = Mutex::new(OrderTracker::default());
        let mut p = parts(V1_TYPE, "0.1.0");
        p.headers.insert("authorization", HeaderValue::from_static("Bearer s3cr3t-token"));
        let r = process(
            1,
            peer(),
            &p,
            Ok(snappy(&rw1::WriteRequest::default())),
            options(false),
            &tracker,
        );
        assert!(!format!("{r:?}").contains("s3cr3t"));
        // the value is still there for who asks for it
        assert_eq!(r.header("authorization"), Some("Bearer s3cr3t-token"));
        assert!(r.headers["authorization"].is_sensitive());
    }

    #[test]
    fn framed_snappy_is_refused_whole() {
        use std::io::Write;
        let tracker = Mutex::new(OrderTracker::default());
        let request = v2(vec![(vec![1, 2], vec![(T, 1.0)])]);
        let mut framed = Vec::new();
        snap::write::FrameEncoder::new(&mut framed).write_all(&request.encode_to_vec()).unwrap();
        let r = process(
            1,
            peer(),
            &parts(V2_TYPE, "2.0.0"),
            Ok(Bytes::from(framed)),
            options(false),
            &tracker,
        );
        assert_eq!(r.response.status, 400);
        assert_eq!(r.response.samples_written, Some(0));
        assert_eq!(r.series.len(), 1, "the content is still shown");
        assert_eq!(r.problems[0].kind, ProblemKind::FramedSnappy);
    }

    #[test]
    fn out_of_order_across_requests_is_found() {
        let tracker = Mutex::new(OrderTracker::default());
        let first = snappy(&v2(vec![(vec![1, 2], vec![(T + 10, 1.0)])]));
        let second = snappy(&v2(vec![(vec![1, 2], vec![(T, 1.0)])]));
        process(1, peer(), &parts(V2_TYPE, "2.0.0"), Ok(first), options(false), &tracker);
        let r = process(2, peer(), &parts(V2_TYPE, "2.0.0"), Ok(second), options(true), &tracker);
        assert_eq!(
            r.problems.iter().map(|p| p.kind).collect::<Vec<_>>(),
            vec![ProblemKind::OutOfOrder]
        );
        assert!(r.problems[0].message.contains("in request 1"), "{}", r.problems[0].message);
        assert_eq!((r.response.status, r.response.samples_written), (400, Some(0)));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        #[test]
        fn any_body_gets_an_answer(body in proptest::collection::vec(proptest::num::u8::ANY, 0..256), v2_type: bool) {
            let tracker = Mutex::new(OrderTracker::default());
            let content_type = if v2_type { V2_TYPE } else { V1_TYPE };
            // raw bytes, and the same bytes snappy-compressed (so that protobuf decoding runs)
            for body in [Bytes::from(body.clone()), Bytes::from(snap::raw::Encoder::new().compress_vec(&body).unwrap())] {
                let r = process(1, peer(), &parts(content_type, "2.0.0"), Ok(body), options(true), &tracker);
                proptest::prop_assert!([204u16, 400].contains(&r.response.status));
            }
        }

        #[test]
        fn any_rw2_message_is_resolved(
            symbols in proptest::collection::vec("[a-z_]{0,3}", 0..6),
            refs in proptest::collection::vec(0u32..8, 0..9),
            timestamps in proptest::collection::vec(proptest::num::i64::ANY, 0..4),
            histogram_spans in proptest::collection::vec((-3i32..3, 0u32..4), 0..3),
            deltas in proptest::collection::vec(-5i64..5, 0..6),
            schema in -60i32..10,
        ) {
            let tracker = Mutex::new(OrderTracker::default());
            let request = rw2::Request {
                symbols,
                timeseries: vec![rw2::TimeSeries {
                    labels_refs: refs.clone(),
                    samples: timestamps.iter().map(|t| rw2::Sample { value: 1.0, timestamp: *t, start_timestamp: 0 }).collect(),
                    histograms: vec![rw2::Histogram {
                        count: Some(rw2::histogram::Count::CountInt(3)),
                        schema,
                        positive_spans: histogram_spans.iter().map(|(offset, length)| rw2::BucketSpan { offset: *offset, length: *length }).collect(),
                        positive_deltas: deltas,
                        custom_values: vec![1.0],
                        timestamp: T,
                        ..Default::default()
                    }],
                    exemplars: vec![rw2::Exemplar { labels_refs: refs, value: 1.0, timestamp: 0 }],
                    metadata: Some(rw2::Metadata { r#type: 9, help_ref: 7, unit_ref: 1 }),
                }],
            };
            let r = process(1, peer(), &parts(V2_TYPE, "2.0.0"), Ok(snappy(&request)), options(false), &tracker);
            proptest::prop_assert_eq!(r.series.len(), 1);
            proptest::prop_assert!(r.has_errors(), "samples and histograms together are always an error");
            let _ = r.series[0].to_string();
        }
    }

    async fn post(endpoint: &str, content_type: &str, body: Bytes) -> http::Response<Incoming> {
        let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .build_http::<Full<Bytes>>();
        let request = Request::post(endpoint)
            .header("content-type", content_type)
            .header("content-encoding", "snappy")
            .header("x-prometheus-remote-write-version", "2.0.0")
            .header("user-agent", "test/1")
            .body(Full::new(body))
            .unwrap();
        client.request(request).await.unwrap()
    }

    #[tokio::test]
    async fn serves_over_http_and_queues_before_answering() {
        let mut receiver = Receiver::builder().queue_capacity(4).bind("127.0.0.1:0").await.unwrap();
        let body = snappy(&v2(vec![(vec![1, 2], vec![(T, 1.0)])]));
        let response = post(&receiver.endpoint(), V2_TYPE, body).await;
        assert_eq!(response.status(), 204);
        assert_eq!(response.headers()[SAMPLES_WRITTEN], "1");
        assert_eq!(response.headers()[HISTOGRAMS_WRITTEN], "0");
        assert_eq!(response.headers()[EXEMPLARS_WRITTEN], "1");
        let got = receiver.try_recv().expect("queued before the answer was sent");
        assert_eq!((got.sequence, got.series.len()), (1, 1));
        assert_eq!(got.remote_addr.ip(), receiver.local_addr().ip());

        let response = post(&receiver.endpoint(), "text/plain", Bytes::new()).await;
        assert_eq!(response.status(), 415);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("unsupported Content-Type"));
        let got = receiver.recv().await.unwrap();
        assert_eq!((got.sequence, got.response.status), (2, 415));
        receiver.shutdown().await;
    }

    #[tokio::test]
    async fn too_large_bodies_get_413() {
        let mut receiver =
            Receiver::builder().max_body_bytes(16).bind("127.0.0.1:0").await.unwrap();
        let response = post(&receiver.endpoint(), V2_TYPE, Bytes::from(vec![0u8; 64])).await;
        assert_eq!(response.status(), 413);
        assert_eq!(receiver.recv().await.unwrap().problems[0].kind, ProblemKind::BodyTooLarge);
        receiver.shutdown().await;
    }

    #[test]
    fn blocking_receiver_serves_from_its_own_thread() {
        let receiver = ReceiverBuilder::default().bind_blocking("127.0.0.1:0").unwrap();
        let endpoint = receiver.endpoint();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let status = runtime.block_on(async {
            post(&endpoint, V2_TYPE, snappy(&v2(vec![(vec![1, 2], vec![(T, 1.0)])]))).await.status()
        });
        assert_eq!(status, 204);
        let got = receiver.recv_timeout(Duration::from_secs(5)).expect("a request");
        assert_eq!(got.series[0].name(), Some("a"));
        assert!(receiver.try_recv().is_none());
        let addr = receiver.local_addr();
        receiver.shutdown();
        assert!(std::net::TcpStream::connect(addr).is_err(), "the port is closed after shutdown");
    }
}
