//! Helpers for the tests against real servers: a test PKI, Prometheus and tinyproxy started on
//! loopback in temp dirs (stopped on Drop), remote-write bodies and Prometheus queries.
#![allow(dead_code, unreachable_pub)]

pub mod pki;
pub mod server;

use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use prw_proto::prost::Message as _;
use prw_transport::{HttpTransport, HttpTransportBuilder, Request, Transport};

/// How long a backend may take to become ready.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// The binary, or `None` (test skipped, with a note) when it is missing outside CI. Under
/// `CI=true` a missing binary fails the test with the command that installs it.
pub fn require(binary: &str, package: &str) -> Option<PathBuf> {
    let path = Path::new("/usr/bin").join(binary);
    if path.is_file() {
        return Some(path);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(binary))
            .find(|candidate| candidate.is_file())
    });
    if let Some(found) = found {
        return Some(found);
    }
    let hint = format!("`{binary}` is not installed: apt-get install {package}");
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("{hint} (CI=true: missing backends fail the run)");
    }
    eprintln!("SKIPPED: {hint}");
    None
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// A child process killed and reaped on Drop.
pub struct Guard(Option<Child>);

impl Guard {
    fn exited(&mut self) -> bool {
        match &mut self.0 {
            Some(child) => child.try_wait().ok().flatten().is_some(),
            None => true,
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What Prometheus' `--web.config.file` holds.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// Serve TLS with this certificate and key.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Require client certificates signed by this CA.
    pub client_ca: Option<PathBuf>,
    /// `basic_auth_users`: user and plain password (hashed with bcrypt here).
    pub basic_auth: Option<(String, String)>,
}

/// A Prometheus with the remote-write receiver, on a free port, in a temp dir.
pub struct Prometheus {
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// Talks to it with the right credentials (for readiness and queries).
    pub admin: HttpTransport,
    pub scheme: &'static str,
    process: Guard,
}

impl Prometheus {
    /// Starts Prometheus; `None` when it is not installed (outside CI). `admin` configures a
    /// transport that passes the server's checks (CA, client cert, credentials).
    pub async fn start(
        web: WebConfig,
        admin: impl Fn(HttpTransportBuilder) -> HttpTransportBuilder,
    ) -> Option<Prometheus> {
        let binary = require("prometheus", "prometheus")?;
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("prometheus.yml"), "global:\n  scrape_interval: 1m\n")
            .expect("write prometheus.yml");
        std::fs::write(dir.path().join("web.yml"), web_yaml(&web)).expect("write web.yml");
        let scheme = if web.tls.is_some() { "https" } else { "http" };

        for attempt in 0.. {
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
            let child = Command::new(&binary)
                .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
                .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg(format!("--web.config.file={}", dir.path().join("web.yml").display()))
                .arg("--web.enable-remote-write-receiver")
                .arg("--log.level=warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn prometheus");
            let mut process = Guard(Some(child));
            let admin = admin(
                HttpTransport::builder()
                    .endpoint(format!("{scheme}://127.0.0.1:{port}/api/v1/write"))
                    .timeout(Duration::from_secs(5)),
            )
            .build()
            .expect("admin transport");

            let started = Instant::now();
            loop {
                if process.exited() {
                    let log = read(&dir.path().join("prometheus.log"));
                    if log.contains("address already in use") && attempt < 3 {
                        break;
                    }
                    panic!("prometheus exited early:\n{log}");
                }
                let ready = admin.send(get("/-/ready")).await;
                if matches!(&ready, Ok(response) if response.status == 200) {
                    return Some(Prometheus { port, dir, admin, scheme, process });
                }
                assert!(
                    started.elapsed() < READY_WITHIN,
                    "prometheus not ready within {READY_WITHIN:?} (last: {ready:?}):\n{}",
                    read(&dir.path().join("prometheus.log"))
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// The remote-write URL.
    pub fn write_url(&self) -> String {
        format!("{}://127.0.0.1:{}/api/v1/write", self.scheme, self.port)
    }

    /// The value of `query` at `at`, with its labels; panics when the answer is not a success.
    pub async fn query(&self, query: &str, at: SystemTime) -> Vec<(serde_json::Value, String)> {
        let seconds = at.duration_since(SystemTime::UNIX_EPOCH).expect("after 1970").as_secs_f64();
        let path = format!("/api/v1/query?query={}&time={seconds:.3}", encode(query));
        let response = self.admin.send(get(&path)).await.expect("query sent");
        assert_eq!(response.status, 200, "query failed: {}", response.body_text());
        let answer: serde_json::Value =
            serde_json::from_slice(&response.body).expect("query answer is JSON (and under 1 KiB)");
        assert_eq!(answer["status"], "success", "{answer}");
        answer["data"]["result"]
            .as_array()
            .expect("a vector")
            .iter()
            .map(|sample| {
                (sample["metric"].clone(), sample["value"][1].as_str().expect("value").to_owned())
            })
            .collect()
    }

    pub fn log(&self) -> String {
        read(&self.dir.path().join("prometheus.log"))
    }
}

fn web_yaml(web: &WebConfig) -> String {
    let mut yaml = String::new();
    if let Some((cert, key)) = &web.tls {
        yaml.push_str("tls_server_config:\n");
        yaml.push_str(&format!("  cert_file: {}\n  key_file: {}\n", cert.display(), key.display()));
        if let Some(ca) = &web.client_ca {
            yaml.push_str("  client_auth_type: RequireAndVerifyClientCert\n");
            yaml.push_str(&format!("  client_ca_file: {}\n", ca.display()));
        }
    }
    if let Some((user, password)) = &web.basic_auth {
        yaml.push_str(&format!("basic_auth_users:\n  {user}: '{}'\n", bcrypt(user, password)));
    }
    yaml
}

/// A bcrypt hash of `password`, made by `htpasswd` (apache2-utils).
fn bcrypt(user: &str, password: &str) -> String {
    let htpasswd = require("htpasswd", "apache2-utils")
        .expect("htpasswd is needed to hash the test password (apt-get install apache2-utils)");
    // Cost 4, the lowest: the hash is still bcrypt, and Prometheus checks it on every request.
    let output = Command::new(htpasswd)
        .args(["-n", "-b", "-B", "-C", "4", user, password])
        .output()
        .expect("run htpasswd");
    assert!(output.status.success(), "htpasswd failed");
    let line = String::from_utf8(output.stdout).expect("utf-8");
    let (_, hash) = line.trim().split_once(':').expect("user:hash");
    hash.to_owned()
}

/// tinyproxy on a free port in a temp dir, logging every connection.
pub struct Tinyproxy {
    pub port: u16,
    pub dir: tempfile::TempDir,
    process: Guard,
}

impl Tinyproxy {
    /// Starts tinyproxy allowing CONNECT to `connect_ports`; `None` when it is not installed.
    pub async fn start(
        connect_ports: &[u16],
        basic_auth: Option<(&str, &str)>,
    ) -> Option<Tinyproxy> {
        let binary = require("tinyproxy", "tinyproxy")?;
        let dir = tempfile::tempdir().expect("temp dir");
        for attempt in 0.. {
            let port = free_port();
            let mut conf = format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{}\"\nLogLevel Connect\n\
                 MaxClients 20\nAllow 127.0.0.1\nDisableViaHeader Yes\n",
                dir.path().join("tinyproxy.log").display()
            );
            for connect in connect_ports {
                conf.push_str(&format!("ConnectPort {connect}\n"));
            }
            if let Some((user, password)) = basic_auth {
                conf.push_str(&format!("BasicAuth {user} {password}\n"));
            }
            std::fs::write(dir.path().join("tinyproxy.conf"), conf).expect("write conf");
            let out = std::fs::File::create(dir.path().join("stderr.log")).expect("stderr log");
            let child = Command::new(&binary)
                .arg("-d")
                .arg("-c")
                .arg(dir.path().join("tinyproxy.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(out)
                .spawn()
                .expect("spawn tinyproxy");
            let mut process = Guard(Some(child));
            let started = Instant::now();
            loop {
                if process.exited() {
                    let log = read(&dir.path().join("tinyproxy.log"))
                        + &read(&dir.path().join("stderr.log"));
                    if attempt < 3 {
                        eprintln!("tinyproxy exited early, retrying on another port:\n{log}");
                        break;
                    }
                    panic!("tinyproxy exited early:\n{log}");
                }
                if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                    return Some(Tinyproxy { port, dir, process });
                }
                assert!(
                    started.elapsed() < READY_WITHIN,
                    "tinyproxy not listening within {READY_WITHIN:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        unreachable!("the loop returns or panics")
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The proxy's log so far.
    pub fn log(&self) -> String {
        read(&self.dir.path().join("tinyproxy.log"))
    }
}

fn read(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    text
}

/// Percent-encodes a query parameter.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A GET of `path` on the transport's endpoint.
pub fn get(path: &str) -> Request {
    Request {
        method: http::Method::GET,
        uri: path.parse().expect("path"),
        headers: HeaderMap::new(),
        body: Bytes::new(),
    }
}

/// A remote-write 1.0 request for one sample of `name{run=<run>}`, at `at`.
pub fn write_request(
    transport: &HttpTransport,
    name: &str,
    run: &str,
    value: f64,
    at: SystemTime,
) -> Request {
    use prw_proto::rw1::{Label, Sample, TimeSeries, WriteRequest};
    let millis = at.duration_since(SystemTime::UNIX_EPOCH).expect("after 1970").as_millis() as i64;
    let body = WriteRequest {
        timeseries: vec![TimeSeries {
            labels: vec![
                Label { name: "__name__".into(), value: name.into() },
                Label { name: "run".into(), value: run.into() },
            ],
            samples: vec![Sample { value, timestamp: millis }],
            ..Default::default()
        }],
        metadata: vec![],
    }
    .encode_to_vec();
    let compressed = snap::raw::Encoder::new().compress_vec(&body).expect("snappy");
    let mut headers = HeaderMap::new();
    headers.insert("content-encoding", HeaderValue::from_static("snappy"));
    headers.insert("content-type", HeaderValue::from_static("application/x-protobuf"));
    headers.insert("x-prometheus-remote-write-version", HeaderValue::from_static("0.1.0"));
    transport.post(headers, Bytes::from(compressed))
}

/// A label value no other run of the tests uses.
pub fn unique_run(what: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .subsec_nanos();
    format!("{what}-{}-{nanos}", std::process::id())
}

/// Milliseconds precision, as Prometheus stores it.
pub fn now_ms() -> SystemTime {
    let millis =
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("after 1970").as_millis();
    SystemTime::UNIX_EPOCH + Duration::from_millis(millis as u64)
}
