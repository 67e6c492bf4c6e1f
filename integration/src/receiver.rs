//! An in-process HTTP/1.1 receiver that answers by a script and records every request, for
//! what real backends cannot be told to do (500 then 204, 429 with `Retry-After`, a run of
//! 503s, slow answers, 413, 415 to RW 2.0, never answering).

use std::collections::HashMap;
use std::fmt;
use std::io::{BufReader, Write as _};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use prw_proto::{rw1, rw2};

use crate::HarnessError;
use crate::http::{ReadError, find_header, read_body, read_head, reason_phrase};
use crate::wire::{self, DecodeError};

/// How a [`ScriptedReceiver`] answers one request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Never answer; hold the connection open until the receiver is dropped.
    pub hang: bool,
    /// Close the connection after answering (otherwise it is kept alive).
    pub close: bool,
}

impl Reply {
    /// An answer with this status and nothing else.
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
            hang: false,
            close: false,
        }
    }

    /// `204 No Content`.
    pub fn no_content() -> Self {
        Reply::status(204)
    }

    /// Never answers (for timeout and backpressure tests); the request is still recorded.
    pub fn hang() -> Self {
        Reply { hang: true, ..Reply::status(204) }
    }

    /// 204, with the RW 2.0 `...-Written` headers counted from the request when it is a RW 2.0
    /// request, as a compliant receiver answers.
    pub fn accept(request: &ReceivedRequest) -> Self {
        match request.decode_rw2().ok().filter(|_| request.is_rw2()) {
            Some(decoded) => {
                let (samples, histograms, exemplars) = wire::rw2_counts(&decoded);
                Reply::no_content().written(samples, histograms, exemplars)
            }
            None => Reply::no_content(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `Retry-After: seconds`.
    pub fn retry_after(self, seconds: u64) -> Self {
        self.header("Retry-After", seconds.to_string())
    }

    /// Adds the three RW 2.0 `X-Prometheus-Remote-Write-*-Written` headers.
    pub fn written(self, samples: usize, histograms: usize, exemplars: usize) -> Self {
        self.header(wire::SAMPLES_WRITTEN, samples.to_string())
            .header(wire::HISTOGRAMS_WRITTEN, histograms.to_string())
            .header(wire::EXEMPLARS_WRITTEN, exemplars.to_string())
    }

    /// Sets the body (sent as `text/plain`).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Waits this long before answering.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Closes the connection after answering.
    pub fn close_connection(mut self) -> Self {
        self.close = true;
        self
    }
}

/// One request as the receiver got it.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceivedRequest {
    /// Its position among all requests (from 0), in order of arrival.
    pub index: usize,
    /// Which connection it came on (from 0), to check connection reuse.
    pub connection: usize,
    /// The method.
    pub method: String,
    /// The request target (path and query).
    pub target: String,
    /// Headers in the order received.
    pub headers: Vec<(String, String)>,
    /// The raw (still compressed) body.
    pub body: Vec<u8>,
    /// When it had fully arrived.
    pub received_at: Instant,
    /// The same moment by the wall clock.
    pub received_at_wall: SystemTime,
}

impl fmt::Debug for ReceivedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedRequest")
            .field("index", &self.index)
            .field("connection", &self.connection)
            .field("method", &self.method)
            .field("target", &self.target)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl ReceivedRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Whether `Content-Type` says RW 2.0 (`proto=io.prometheus.write.v2.Request`).
    pub fn is_rw2(&self) -> bool {
        self.header("Content-Type")
            .is_some_and(|ct| ct.replace(' ', "").contains("proto=io.prometheus.write.v2.Request"))
    }

    /// The body decoded as RW 1.0.
    ///
    /// # Errors
    ///
    /// When it is not a snappy-compressed `prometheus.WriteRequest`.
    pub fn decode_rw1(&self) -> Result<rw1::WriteRequest, DecodeError> {
        wire::decode_rw1(&self.body)
    }

    /// The body decoded as RW 2.0.
    ///
    /// # Errors
    ///
    /// When it is not a snappy-compressed `io.prometheus.write.v2.Request`.
    pub fn decode_rw2(&self) -> Result<rw2::Request, DecodeError> {
        wire::decode_rw2(&self.body)
    }
}

type Responder = dyn Fn(&ReceivedRequest) -> Reply + Send + Sync;

struct Shared {
    responder: Box<Responder>,
    shutdown: AtomicBool,
    state: Mutex<State>,
    arrived: Condvar,
}

#[derive(Default)]
struct State {
    requests: Vec<ReceivedRequest>,
    connections: usize,
    /// Clones of live connections by id, shut down on drop to unblock their threads.
    streams: HashMap<usize, TcpStream>,
    threads: Vec<JoinHandle<()>>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// Sleeps up to `duration`, waking early when the receiver shuts down.
    fn sleep(&self, duration: Duration) {
        let deadline = Instant::now() + duration;
        while !self.stopping() {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            thread::sleep((deadline - now).min(Duration::from_millis(10)));
        }
    }
}

/// An HTTP/1.1 server on `127.0.0.1:0` (std threads, one per connection, keep-alive) that
/// answers each request with the next [`Reply`] of its script, and records every request.
///
/// ```
/// use prw_integration::{Reply, ScriptedReceiver, http};
///
/// let receiver = ScriptedReceiver::start(vec![Reply::status(500), Reply::no_content()])?;
/// assert_eq!(http::post(&receiver.url(), &[], "a")?.status, 500);
/// assert_eq!(http::post(&receiver.url(), &[], "b")?.status, 204);
/// assert_eq!(receiver.requests()[1].body, b"b");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ScriptedReceiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl fmt::Debug for ScriptedReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptedReceiver").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl ScriptedReceiver {
    /// Answers request `i` with `script[i]`; once the script is used up, with
    /// [`Reply::accept`].
    ///
    /// # Errors
    ///
    /// When it cannot listen.
    pub fn start(script: Vec<Reply>) -> Result<Self, HarnessError> {
        Self::start_with(move |request| {
            script.get(request.index).cloned().unwrap_or_else(|| Reply::accept(request))
        })
    }

    /// Answers every request with what `responder` returns for it (it sees the request's
    /// index, headers and body: answer 415 to RW 2.0, or choose a random delay).
    ///
    /// # Errors
    ///
    /// When it cannot listen.
    pub fn start_with(
        responder: impl Fn(&ReceivedRequest) -> Reply + Send + Sync + 'static,
    ) -> Result<Self, HarnessError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| HarnessError::io("listening", "127.0.0.1:0", e))?;
        let addr =
            listener.local_addr().map_err(|e| HarnessError::io("listening", "127.0.0.1:0", e))?;
        let shared = Arc::new(Shared {
            responder: Box::new(responder),
            shutdown: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            arrived: Condvar::new(),
        });
        let accept_shared = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name("scripted-receiver".into())
            .spawn(move || accept_loop(&listener, &accept_shared))
            .map_err(|e| HarnessError::io("starting the receiver thread", "127.0.0.1:0", e))?;
        Ok(ScriptedReceiver { addr, shared, acceptor: Some(acceptor) })
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:port` (it answers on any path).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:port/api/v1/write`.
    pub fn url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    /// Every request so far, in order of arrival.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.shared.state().requests.clone()
    }

    /// How many requests arrived so far.
    pub fn request_count(&self) -> usize {
        self.shared.state().requests.len()
    }

    /// How many connections were accepted so far.
    pub fn connection_count(&self) -> usize {
        self.shared.state().connections
    }

    /// Waits until at least `count` requests arrived; returns whether they did in time.
    pub fn wait_for_requests(&self, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state();
        while state.requests.len() < count {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .shared
                .arrived
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

impl Drop for ScriptedReceiver {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // Wake the accept loop, then cut every connection so blocked reads return.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let (streams, threads) = {
            let mut state = self.shared.state();
            (std::mem::take(&mut state.streams), std::mem::take(&mut state.threads))
        };
        for stream in streams.values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        for thread in threads {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping() {
            return;
        }
        let Ok(stream) = stream else { continue };
        let mut state = shared.state();
        let connection = state.connections;
        state.connections += 1;
        if let Ok(clone) = stream.try_clone() {
            state.streams.insert(connection, clone);
        }
        let conn_shared = Arc::clone(shared);
        if let Ok(handle) = thread::Builder::new()
            .name(format!("scripted-receiver-{connection}"))
            .spawn(move || {
                serve_connection(&stream, connection, &conn_shared);
                // Release the clone too, so finished connections hold no file descriptor.
                conn_shared.state().streams.remove(&connection);
            })
        {
            state.threads.push(handle);
        }
    }
}

fn serve_connection(stream: &TcpStream, connection: usize, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream);
    while !shared.stopping() {
        let head = match read_head(&mut reader) {
            Ok(Some(head)) => head,
            Ok(None) | Err(ReadError::Io(_)) => return,
            Err(ReadError::Malformed(reason)) => {
                let _ = write_reply(stream, &Reply::status(400).body(reason).close_connection());
                return;
            }
        };
        if find_header(&head.headers, "Expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
        {
            let mut writer = stream;
            let _ = writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        let body = match read_body(&mut reader, &head.headers, false) {
            Ok(body) => body,
            Err(ReadError::Io(_)) => return,
            Err(ReadError::Malformed(reason)) => {
                let _ = write_reply(stream, &Reply::status(400).body(reason).close_connection());
                return;
            }
        };
        let mut parts = head.start_line.split(' ');
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let client_closes = find_header(&head.headers, "Connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));

        let request = {
            let mut state = shared.state();
            let request = ReceivedRequest {
                index: state.requests.len(),
                connection,
                method,
                target,
                headers: head.headers,
                body,
                received_at: Instant::now(),
                received_at_wall: SystemTime::now(),
            };
            state.requests.push(request.clone());
            request
        };
        shared.arrived.notify_all();

        let reply = (shared.responder)(&request);
        if reply.hang {
            while !shared.stopping() {
                shared.sleep(Duration::from_millis(50));
            }
            return;
        }
        shared.sleep(reply.delay);
        if shared.stopping() || write_reply(stream, &reply).is_err() || reply.close || client_closes
        {
            return;
        }
    }
}

fn write_reply(mut stream: &TcpStream, reply: &Reply) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason_phrase(reply.status));
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    // 1xx, 204 and 304 carry no body and no Content-Length.
    if !matches!(reply.status, 100..=199 | 204 | 304) {
        if !reply.body.is_empty()
            && !reply.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("Content-Type"))
        {
            head.push_str("Content-Type: text/plain; charset=utf-8\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    if reply.close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if !matches!(reply.status, 100..=199 | 204 | 304) {
        stream.write_all(&reply.body)?;
    }
    stream.flush()
}
