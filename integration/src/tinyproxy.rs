//! A real HTTP proxy (Debian's `tinyproxy` 1.11), for proxy tests.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::process::{Process, with_port_retries, write_file};
use crate::{Backend, HarnessError, TestDir, free_port};

const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Options for a [`TinyProxy`]; see [`TinyProxy::builder`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct TinyProxyBuilder {
    credentials: Option<(String, String)>,
}

impl TinyProxyBuilder {
    /// Require `Proxy-Authorization: Basic` with this user and password.
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// Starts tinyproxy on a free loopback port, accepting only 127.0.0.1, and waits until it
    /// accepts connections.
    ///
    /// # Errors
    ///
    /// When the binary is missing or the proxy does not start.
    pub fn start(self) -> Result<TinyProxy, HarnessError> {
        let binary = TinyProxy::binary()?;
        let dir = TestDir::new("tinyproxy")?;
        // tinyproxy's own log and its stderr share one file, so the log shown on failure has both.
        let process = Process::new("tinyproxy", binary, dir.path(), dir.join("tinyproxy.log"));
        let mut proxy = TinyProxy { process, dir, port: 0 };
        with_port_retries(|| {
            proxy.port = free_port()
                .map_err(|e| HarnessError::io("finding a free port", "127.0.0.1:0", e))?;
            proxy.launch(&self)
        })?;
        Ok(proxy)
    }
}

/// A tinyproxy on 127.0.0.1, in its own temp dir, killed when dropped. Its log
/// ([`log`](Self::log)) names every request and `CONNECT` it handled.
#[derive(Debug)]
pub struct TinyProxy {
    process: Process,
    dir: TestDir,
    port: u16,
}

impl Backend for TinyProxy {
    const BINARY: &'static str = "tinyproxy";
    const APT_PACKAGE: &'static str = "tinyproxy";
}

impl TinyProxy {
    /// Options: proxy credentials.
    pub fn builder() -> TinyProxyBuilder {
        TinyProxyBuilder::default()
    }

    fn config(&self, options: &TinyProxyBuilder) -> String {
        let quote = |s: &str| Value::from(s).to_string();
        let mut conf = format!(
            "Port {port}\n\
             Listen 127.0.0.1\n\
             Allow 127.0.0.1\n\
             Timeout 60\n\
             MaxClients 64\n\
             LogLevel Info\n\
             LogFile {log}\n",
            port = self.port,
            log = quote(&self.dir.join("tinyproxy.log").to_string_lossy()),
        );
        // No ConnectPort line: tinyproxy then allows CONNECT to any port, which tests need for
        // TLS servers on random loopback ports.
        if let Some((user, password)) = &options.credentials {
            conf.push_str(&format!("BasicAuth {user} {password}\n"));
        }
        conf
    }

    fn launch(&mut self, options: &TinyProxyBuilder) -> Result<(), HarnessError> {
        let conf_path = self.dir.join("tinyproxy.conf");
        write_file(&conf_path, &self.config(options))?;
        let args: Vec<OsString> = vec!["-d".into(), "-c".into(), conf_path.into()];
        self.process.set_args(args);
        self.process.spawn()?;
        let addr = self.addr();
        self.process.wait_ready(DEFAULT_READY_TIMEOUT, || {
            TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The proxy URL, `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The instance's temp dir.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// tinyproxy's log: lines such as `Request (file descriptor 5): POST http://127.0.0.1:PORT/api/v1/write HTTP/1.1`
    /// and `Request (file descriptor 5): CONNECT 127.0.0.1:PORT HTTP/1.1`.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// The request lines it logged (method and target), in order.
    pub fn requests(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|line| {
                line.split_once("Request (file descriptor ")
                    .and_then(|(_, rest)| rest.split_once("): "))
            })
            .map(|(_, request)| request.trim().to_owned())
            .collect()
    }
}
