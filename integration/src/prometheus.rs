//! A real Prometheus server (Debian's `prometheus` 2.42) with its remote-write receiver on.

use std::ffi::OsString;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use prw_proto::{rw1, rw2};
use serde_json::Value;

use crate::http::HttpResponse;
use crate::process::{Process, with_port_retries, write_file};
use crate::prom_api::{Labels, PromApi, SeriesSamples};
use crate::{Backend, HarnessError, TestDir, free_port, wire};

/// How long Prometheus may take to start (WAL replay after a restart included).
const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a restart waits for its old port to become free again.
const REBIND_TIMEOUT: Duration = Duration::from_secs(15);

/// The `--web.config.file` contents: TLS and basic auth for Prometheus' HTTP server.
///
/// See <https://prometheus.io/docs/prometheus/latest/configuration/https/>.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebConfig {
    /// Serve HTTPS with these files.
    pub tls: Option<TlsServerConfig>,
    /// `(user, bcrypt hash)` pairs; see [`bcrypt_hash`].
    pub basic_auth_users: Vec<(String, String)>,
}

/// `tls_server_config` of a [`WebConfig`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsServerConfig {
    /// The server certificate (PEM).
    pub cert_file: PathBuf,
    /// The server's private key (PEM).
    pub key_file: PathBuf,
    /// CA that client certificates must chain to.
    pub client_ca_file: Option<PathBuf>,
    /// `NoClientCert` (default), `RequestClientCert`, `RequireAnyClientCert`,
    /// `VerifyClientCertIfGiven` or `RequireAndVerifyClientCert`.
    pub client_auth_type: Option<String>,
    /// `TLS10` .. `TLS13`.
    pub min_version: Option<String>,
}

impl WebConfig {
    /// The YAML file Prometheus reads.
    pub fn to_yaml(&self) -> String {
        // JSON strings are valid YAML double-quoted scalars, which keeps paths with any
        // character intact.
        let quote = |s: &str| Value::from(s).to_string();
        let path = |p: &Path| quote(&p.to_string_lossy());
        let mut yaml = String::new();
        if let Some(tls) = &self.tls {
            yaml.push_str("tls_server_config:\n");
            yaml.push_str(&format!(
                "  cert_file: {}\n  key_file: {}\n",
                path(&tls.cert_file),
                path(&tls.key_file)
            ));
            if let Some(ca) = &tls.client_ca_file {
                yaml.push_str(&format!("  client_ca_file: {}\n", path(ca)));
            }
            if let Some(kind) = &tls.client_auth_type {
                yaml.push_str(&format!("  client_auth_type: {}\n", quote(kind)));
            }
            if let Some(version) = &tls.min_version {
                yaml.push_str(&format!("  min_version: {}\n", quote(version)));
            }
        }
        if !self.basic_auth_users.is_empty() {
            yaml.push_str("basic_auth_users:\n");
            for (user, hash) in &self.basic_auth_users {
                yaml.push_str(&format!("  {}: {}\n", quote(user), quote(hash)));
            }
        }
        yaml
    }
}

/// A bcrypt hash of `password` for [`WebConfig::basic_auth_users`], made with `htpasswd`
/// (Debian's `apache2-utils`) at the lowest cost Prometheus accepts, to keep tests fast.
///
/// # Errors
///
/// When `htpasswd` is missing or fails.
pub fn bcrypt_hash(password: &str) -> Result<String, HarnessError> {
    let tool = |message: String| HarnessError::Tool { program: "htpasswd", message };
    let htpasswd = crate::find_binary("htpasswd")
        .ok_or_else(|| tool("not installed: apt-get install -y apache2-utils".into()))?;
    // -i reads the password from stdin, so it never shows in a process listing.
    let mut child = Command::new(htpasswd)
        .args(["-niB", "-C", "4", "user"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| tool(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(password.as_bytes()).map_err(|e| tool(e.to_string()))?;
    }
    let output = child.wait_with_output().map_err(|e| tool(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.trim().split_once(':') {
        Some(("user", hash)) if output.status.success() && hash.starts_with("$2") => {
            Ok(hash.to_owned())
        }
        _ => Err(tool(format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
    }
}

/// Options for a [`Prometheus`]; see [`Prometheus::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct PrometheusBuilder {
    native_histograms: bool,
    data_dir: Option<PathBuf>,
    retention: Option<String>,
    lookback_delta: Option<Duration>,
    out_of_order_window: Option<Duration>,
    web: WebConfig,
    credentials: Option<(String, String)>,
    extra_args: Vec<String>,
    ready_timeout: Duration,
}

impl Default for PrometheusBuilder {
    fn default() -> Self {
        PrometheusBuilder {
            native_histograms: true,
            data_dir: None,
            retention: None,
            lookback_delta: None,
            out_of_order_window: None,
            web: WebConfig::default(),
            credentials: None,
            extra_args: Vec::new(),
            ready_timeout: DEFAULT_READY_TIMEOUT,
        }
    }
}

impl PrometheusBuilder {
    /// `--enable-feature=native-histograms` (on by default; without it Prometheus 2.42 answers
    /// 500 to native histograms).
    pub fn native_histograms(mut self, on: bool) -> Self {
        self.native_histograms = on;
        self
    }

    /// Keep the TSDB in this directory (created if missing) instead of the instance's temp dir,
    /// so a later instance can open the same data.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// `--storage.tsdb.retention.time` (such as `"15d"`).
    pub fn retention(mut self, retention: impl Into<String>) -> Self {
        self.retention = Some(retention.into());
        self
    }

    /// `--query.lookback-delta` (default 5 minutes).
    pub fn lookback_delta(mut self, delta: Duration) -> Self {
        self.lookback_delta = Some(delta);
        self
    }

    /// `storage.tsdb.out_of_order_time_window` in the config file (off by default, so
    /// out-of-order samples are rejected with 400).
    pub fn out_of_order_window(mut self, window: Duration) -> Self {
        self.out_of_order_window = Some(window);
        self
    }

    /// Serve HTTPS with this certificate and key.
    ///
    /// The harness's own client speaks plain HTTP only, so the query methods of a TLS server
    /// fail; query through the code under test, or [`Prometheus::set_web_config`] to plain
    /// HTTP and [`Prometheus::restart`] on the same data.
    pub fn tls(mut self, cert_file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        let tls = self.web.tls.get_or_insert_with(TlsServerConfig::default);
        tls.cert_file = cert_file.into();
        tls.key_file = key_file.into();
        self
    }

    /// Require client certificates from this CA (`client_auth_type`, such as
    /// `RequireAndVerifyClientCert`). Needs [`tls`](Self::tls).
    pub fn client_ca(
        mut self,
        ca_file: impl Into<PathBuf>,
        client_auth_type: impl Into<String>,
    ) -> Self {
        let tls = self.web.tls.get_or_insert_with(TlsServerConfig::default);
        tls.client_ca_file = Some(ca_file.into());
        tls.client_auth_type = Some(client_auth_type.into());
        self
    }

    /// Require basic auth with this user and password (hashed with [`bcrypt_hash`] when the
    /// server starts); the harness's queries send these credentials.
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// Use this web config as it is (merged with [`tls`](Self::tls) / [`basic_auth`](Self::basic_auth)
    /// when those are called afterwards).
    pub fn web_config(mut self, web: WebConfig) -> Self {
        self.web = web;
        self
    }

    /// One more command-line argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }

    /// How long to wait for readiness (default 60 s).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Starts Prometheus on a free loopback port and waits until it is ready.
    ///
    /// # Errors
    ///
    /// When the binary is missing, a file cannot be written, or the server does not become
    /// ready (the error holds the end of its log).
    pub fn start(mut self) -> Result<Prometheus, HarnessError> {
        let binary = Prometheus::binary()?;
        if let Some((user, password)) = &self.credentials {
            let hash = bcrypt_hash(password)?;
            self.web.basic_auth_users.push((user.clone(), hash));
        }
        let dir = TestDir::new("prometheus")?;
        let data_dir = self.data_dir.clone().unwrap_or_else(|| dir.join("data"));
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| HarnessError::io("creating the data dir", &data_dir, e))?;
        write_file(&dir.join("prometheus.yml"), &self.config_yaml())?;
        let process = Process::new("prometheus", binary, dir.path(), dir.join("prometheus.log"));
        let mut prometheus = Prometheus {
            api: PromApi {
                base_url: String::new(),
                auth: self.credentials.clone(),
                extra_params: &[],
            },
            dir,
            data_dir,
            port: 0,
            process,
            options: self,
        };
        with_port_retries(|| {
            prometheus.port = free_port()
                .map_err(|e| HarnessError::io("finding a free port", "127.0.0.1:0", e))?;
            prometheus.launch()
        })?;
        Ok(prometheus)
    }

    fn config_yaml(&self) -> String {
        // No scrape targets: the tests want to see exactly what was pushed, nothing else.
        let mut yaml = String::from(
            "global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\nscrape_configs: []\n",
        );
        if let Some(window) = self.out_of_order_window {
            yaml.push_str(&format!(
                "storage:\n  tsdb:\n    out_of_order_time_window: {}ms\n",
                window.as_millis()
            ));
        }
        yaml
    }
}

/// A Prometheus server on 127.0.0.1, in its own temp dir, killed when dropped.
///
/// ```no_run
/// use prw_integration::{Prometheus, wire};
///
/// let prometheus = Prometheus::builder().start()?;
/// let series = wire::rw1_series("demo_total", &[("job", "t")], &[(wire::now_ms(), 3.0)]);
/// let response = wire::push_rw1(&prometheus.write_url(), &prw_proto::rw1::WriteRequest {
///     timeseries: vec![series],
///     metadata: vec![],
/// })?;
/// assert_eq!(response.status, 204);
/// let result = prometheus.query("demo_total")?;
/// assert_eq!(result[0].1, 3.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Prometheus {
    // Field order matters: the process is killed before its directory is removed.
    process: Process,
    dir: TestDir,
    data_dir: PathBuf,
    port: u16,
    api: PromApi,
    options: PrometheusBuilder,
}

impl Backend for Prometheus {
    const BINARY: &'static str = "prometheus";
    const APT_PACKAGE: &'static str = "prometheus";
}

impl Prometheus {
    /// Options: native histograms (on by default), data dir, retention, lookback delta, TLS,
    /// client certificates, basic auth.
    pub fn builder() -> PrometheusBuilder {
        PrometheusBuilder::default()
    }

    fn scheme(&self) -> &'static str {
        if self.options.web.tls.is_some() { "https" } else { "http" }
    }

    fn args(&self) -> Vec<OsString> {
        let o = &self.options;
        let mut args: Vec<OsString> = vec![
            format!("--config.file={}", self.dir.join("prometheus.yml").display()).into(),
            format!("--storage.tsdb.path={}", self.data_dir.display()).into(),
            format!("--web.listen-address=127.0.0.1:{}", self.port).into(),
            "--web.enable-remote-write-receiver".into(),
        ];
        if o.native_histograms {
            args.push("--enable-feature=native-histograms".into());
        }
        if let Some(retention) = &o.retention {
            args.push(format!("--storage.tsdb.retention.time={retention}").into());
        }
        if let Some(delta) = o.lookback_delta {
            args.push(format!("--query.lookback-delta={}ms", delta.as_millis()).into());
        }
        if o.web != WebConfig::default() {
            args.push(format!("--web.config.file={}", self.dir.join("web.yml").display()).into());
        }
        args.extend(o.extra_args.iter().map(OsString::from));
        args
    }

    /// Spawns the process on `self.port` and waits for readiness.
    fn launch(&mut self) -> Result<(), HarnessError> {
        if self.options.web != WebConfig::default() {
            write_file(&self.dir.join("web.yml"), &self.options.web.to_yaml())?;
        }
        self.api.base_url = format!("{}://127.0.0.1:{}", self.scheme(), self.port);
        self.process.set_args(self.args());
        self.process.spawn()?;
        let tls = self.options.web.tls.is_some();
        let api = self.api.clone();
        let log_path = self.process.log_path().to_owned();
        let addr = self.addr();
        self.process.wait_ready(self.options.ready_timeout, || {
            if tls {
                // The harness cannot speak TLS: rely on Prometheus' own log line instead.
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                let current =
                    log.rsplit("==== prw-integration: starting").next().unwrap_or_default();
                current.contains("Server is ready to receive web requests")
                    && TcpStream::connect(addr).is_ok()
            } else {
                api.get("/-/ready").is_ok_and(|r| r.status == 200)
            }
        })
    }

    /// The port it listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// `http://127.0.0.1:port` (`https` with TLS).
    pub fn base_url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme(), self.port)
    }

    /// The remote-write endpoint, `.../api/v1/write`.
    pub fn write_url(&self) -> String {
        format!("{}/api/v1/write", self.base_url())
    }

    /// The TSDB directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The instance's temp dir (config, web config, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Everything Prometheus logged, across restarts.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// Stops it gracefully (SIGTERM, SIGKILL after 15 s), keeping port and data for
    /// [`start`](Self::start).
    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Kills it (SIGKILL), as a crash would; the data stays for [`start`](Self::start).
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Starts it again after [`stop`](Self::stop) or [`kill`](Self::kill), on the same port and
    /// data dir, and waits until it is ready. Does nothing if it is running.
    ///
    /// # Errors
    ///
    /// When it does not become ready (or its port stays taken for 15 s).
    pub fn start(&mut self) -> Result<(), HarnessError> {
        if self.process.is_running() {
            return Ok(());
        }
        let deadline = Instant::now() + REBIND_TIMEOUT;
        loop {
            match self.launch() {
                Err(e) if e.is_port_conflict() && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                other => return other,
            }
        }
    }

    /// [`stop`](Self::stop), then [`start`](Self::start).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.stop();
        self.start()
    }

    /// Replaces the web config (TLS, basic auth) from the next [`start`](Self::start) on; for
    /// example plain HTTP, to read back with the harness what a TLS test wrote.
    pub fn set_web_config(&mut self, web: WebConfig, credentials: Option<(String, String)>) {
        self.options.web = web;
        self.options.credentials = credentials.clone();
        self.api.auth = credentials;
    }

    /// `GET path_and_query` (with the basic-auth credentials, if any).
    ///
    /// # Errors
    ///
    /// When the exchange fails; any status is returned as is.
    pub fn get(&self, path_and_query: &str) -> Result<HttpResponse, HarnessError> {
        self.api.get(path_and_query)
    }

    /// POSTs a RW 1.0 request to [`write_url`](Self::write_url).
    ///
    /// # Errors
    ///
    /// When the exchange fails; any status is returned as is.
    pub fn push_rw1(&self, request: &rw1::WriteRequest) -> Result<HttpResponse, HarnessError> {
        let body = wire::encode_rw1(request);
        self.push(wire::CONTENT_TYPE_RW1, wire::VERSION_RW1, body)
    }

    /// POSTs a RW 2.0 request to [`write_url`](Self::write_url). Prometheus 2.42 predates
    /// RW 2.0: it decodes the body as 1.0, finds nothing, and answers 204 without the
    /// `...-Written` headers.
    ///
    /// # Errors
    ///
    /// When the exchange fails; any status is returned as is.
    pub fn push_rw2(&self, request: &rw2::Request) -> Result<HttpResponse, HarnessError> {
        let body = wire::encode_rw2(request);
        self.push(wire::CONTENT_TYPE_RW2, wire::VERSION_RW2, body)
    }

    fn push(
        &self,
        content_type: &str,
        version: &str,
        body: Vec<u8>,
    ) -> Result<HttpResponse, HarnessError> {
        Ok(self
            .api
            .request("POST", "/api/v1/write")
            .header("Content-Type", content_type)
            .header("Content-Encoding", "snappy")
            .header("X-Prometheus-Remote-Write-Version", version)
            .body(body)
            .send()?)
    }

    /// Instant query at the server's current time: `(labels, value)` sorted by labels.
    ///
    /// # Errors
    ///
    /// When the query fails or returns native histograms (query `histogram_count(...)`,
    /// `histogram_sum(...)`, or use [`query_json`](Self::query_json)).
    pub fn query(&self, promql: &str) -> Result<Vec<(Labels, f64)>, HarnessError> {
        self.api.query(promql, None)
    }

    /// Instant query at `time_ms` (milliseconds since the epoch).
    ///
    /// # Errors
    ///
    /// As [`query`](Self::query).
    pub fn query_at(&self, promql: &str, time_ms: i64) -> Result<Vec<(Labels, f64)>, HarnessError> {
        self.api.query(promql, Some(time_ms))
    }

    /// Instant query returning the API's `data` object as JSON (for native histograms).
    ///
    /// # Errors
    ///
    /// When the query fails.
    pub fn query_json(&self, promql: &str, time_ms: Option<i64>) -> Result<Value, HarnessError> {
        let time = time_ms.map(crate::prom_api::format_time);
        let mut params = vec![("query", promql)];
        if let Some(time) = &time {
            params.push(("time", time.as_str()));
        }
        self.api.data("/api/v1/query", &params)
    }

    /// Range query: per series, `(timestamp_ms, value)` at each step.
    ///
    /// # Errors
    ///
    /// When the query fails.
    pub fn query_range(
        &self,
        promql: &str,
        start_ms: i64,
        end_ms: i64,
        step: Duration,
    ) -> Result<Vec<SeriesSamples>, HarnessError> {
        self.api.query_range(promql, start_ms, end_ms, step)
    }

    /// The raw stored float samples of `selector` between `start_ms` and `end_ms` (both
    /// inclusive in Prometheus 2.x), through a range-vector query. Stale markers are not
    /// returned (Prometheus hides them); absence after the last sample shows a series ended.
    ///
    /// # Errors
    ///
    /// When the query fails.
    pub fn samples(
        &self,
        selector: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<SeriesSamples>, HarnessError> {
        self.api.samples(selector, start_ms, end_ms)
    }

    /// `/api/v1/series?match[]=matcher`: every series' labels, sorted.
    ///
    /// # Errors
    ///
    /// When the query fails.
    pub fn series(&self, matcher: &str) -> Result<Vec<Labels>, HarnessError> {
        self.api.series(matcher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_config_yaml() {
        let web = WebConfig {
            tls: Some(TlsServerConfig {
                cert_file: "/t/server.pem".into(),
                key_file: "/t/server key.pem".into(),
                client_ca_file: Some("/t/ca.pem".into()),
                client_auth_type: Some("RequireAndVerifyClientCert".into()),
                min_version: Some("TLS12".into()),
            }),
            basic_auth_users: vec![("alice".into(), "$2y$04$abc".into())],
        };
        assert_eq!(
            web.to_yaml(),
            "tls_server_config:\n  cert_file: \"/t/server.pem\"\n  key_file: \"/t/server key.pem\"\n  \
             client_ca_file: \"/t/ca.pem\"\n  client_auth_type: \"RequireAndVerifyClientCert\"\n  \
             min_version: \"TLS12\"\nbasic_auth_users:\n  \"alice\": \"$2y$04$abc\"\n"
        );
        assert_eq!(WebConfig::default().to_yaml(), "");
    }

    #[test]
    fn config_has_no_scrape_targets() {
        let yaml =
            Prometheus::builder().out_of_order_window(Duration::from_secs(600)).config_yaml();
        assert!(yaml.contains("scrape_configs: []"));
        assert!(yaml.contains("out_of_order_time_window: 600000ms"));
    }

    #[test]
    fn bcrypt_hashes_verify_format() {
        if crate::find_binary("htpasswd").is_none() {
            assert!(!crate::in_ci(), "htpasswd (apache2-utils) is missing under CI");
            return;
        }
        let hash = bcrypt_hash("s3cret").unwrap();
        assert!(hash.starts_with("$2y$04$"), "{hash}");
        assert_eq!(hash.len(), 60);
        assert_ne!(bcrypt_hash("s3cret").unwrap(), hash, "salted");
    }
}
