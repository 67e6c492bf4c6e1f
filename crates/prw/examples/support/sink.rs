//! A remote-write sink for throughput measurements: HTTP/1.1 on loopback, one thread per
//! connection, keep-alive, every POST answered `204` as soon as its body is read. Bodies are
//! kept (up to a cap) and decoded only when stats are asked for, so the sink costs the
//! senders being measured as little CPU as possible.

#![allow(dead_code, unreachable_pub)] // shared by an example and a bench, each using part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use prw::proto::prost::Message;

/// Bodies kept for decoding at most (beyond it, requests are only counted).
const KEEP_BYTES: usize = 512 << 20;

#[derive(Debug, Default)]
struct State {
    requests: u64,
    bytes: u64,
    bodies: Vec<(bool, Vec<u8>)>,
    kept: usize,
}

/// What arrived since the last reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub requests: u64,
    pub bytes: u64,
    /// Series in the kept bodies (RW 1.0 or 2.0, by Content-Type).
    pub series: u64,
}

/// A running sink.
#[derive(Debug, Clone)]
pub struct Sink {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl Sink {
    /// Listens on `addr` (`127.0.0.1:0` for any free port) and serves from background threads.
    pub fn start(addr: &str) -> std::io::Result<Sink> {
        let listener = TcpListener::bind(addr)?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        std::thread::Builder::new().name("sink-accept".into()).spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                let _ = std::thread::Builder::new()
                    .name("sink-conn".into())
                    .spawn(move || serve(stream, &s));
            }
        })?;
        Ok(Sink { port, state })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/api/v1/write", self.port)
    }

    /// Counts, decoding the kept bodies.
    pub fn stats(&self) -> Stats {
        stats(&self.state)
    }

    pub fn reset(&self) {
        reset(&self.state);
    }
}

fn stats(state: &Mutex<State>) -> Stats {
    let st = state.lock().unwrap_or_else(|p| p.into_inner());
    let mut series = 0u64;
    let mut decoder = snap::raw::Decoder::new();
    for (rw2, body) in &st.bodies {
        let Ok(raw) = decoder.decompress_vec(body) else { continue };
        series += if *rw2 {
            prw::proto::rw2::Request::decode(raw.as_slice())
                .map(|r| r.timeseries.len())
                .unwrap_or(0)
        } else {
            prw::proto::rw1::WriteRequest::decode(raw.as_slice())
                .map(|r| r.timeseries.len())
                .unwrap_or(0)
        } as u64;
    }
    Stats { requests: st.requests, bytes: st.bytes, series }
}

fn rw2_counts(body: &[u8]) -> (usize, usize, usize) {
    let Ok(raw) = snap::raw::Decoder::new().decompress_vec(body) else { return (0, 0, 0) };
    let Ok(r) = prw::proto::rw2::Request::decode(raw.as_slice()) else { return (0, 0, 0) };
    r.timeseries.iter().fold((0, 0, 0), |(s, h, e), t| {
        (s + t.samples.len(), h + t.histograms.len(), e + t.exemplars.len())
    })
}

fn reset(state: &Mutex<State>) {
    *state.lock().unwrap_or_else(|p| p.into_inner()) = State::default();
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::with_capacity(256 << 10, stream);
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut content_length = 0usize;
        let mut rw2 = false;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                if k == "content-length" {
                    content_length = v.trim().parse().unwrap_or(0);
                } else if k == "content-type" && v.contains("io.prometheus.write.v2.Request") {
                    rw2 = true;
                }
            }
        }
        let mut body = vec![0; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let response = if request_line.starts_with("GET") && path == "/stats" {
            let s = stats(state);
            let json = format!(
                r#"{{"requests":{},"bytes":{},"series":{}}}"#,
                s.requests, s.bytes, s.series
            );
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
                json.len()
            )
        } else if request_line.starts_with("GET") && path == "/reset" {
            reset(state);
            "HTTP/1.1 204 No Content\r\n\r\n".to_owned()
        } else {
            // An RW 2.0 receiver must say what it wrote (or the sender falls back to 1.0), so
            // those bodies are decoded here; RW 1.0 ones are only counted.
            let written = if rw2 { Some(rw2_counts(&body)) } else { None };
            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
            st.requests += 1;
            st.bytes += body.len() as u64;
            if st.kept + body.len() <= KEEP_BYTES {
                st.kept += body.len();
                st.bodies.push((rw2, body));
            }
            match written {
                Some((s, h, e)) => format!(
                    "HTTP/1.1 204 No Content\r\nX-Prometheus-Remote-Write-Samples-Written: {s}\r\n\
                     X-Prometheus-Remote-Write-Histograms-Written: {h}\r\nX-Prometheus-Remote-Write-Exemplars-Written: {e}\r\n\r\n"
                ),
                None => "HTTP/1.1 204 No Content\r\n\r\n".to_owned(),
            }
        };
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}
