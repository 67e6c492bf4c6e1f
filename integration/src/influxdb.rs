//! A real InfluxDB 1.x server (Debian's `influxdb` 1.6) with its Prometheus remote-write
//! endpoint and a database created for the test.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::http::{HttpRequest, HttpResponse, encode_form};
use crate::process::{Process, with_port_retries, write_file};
use crate::prom_api::{Labels, SeriesSamples, bad, response_json};
use crate::{Backend, HarnessError, TestDir, free_port};

const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Options for an [`InfluxDb`]; see [`InfluxDb::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct InfluxDbBuilder {
    database: String,
    ready_timeout: Duration,
}

impl Default for InfluxDbBuilder {
    fn default() -> Self {
        InfluxDbBuilder { database: "prw".into(), ready_timeout: DEFAULT_READY_TIMEOUT }
    }
}

impl InfluxDbBuilder {
    /// The database created at start and written to by [`InfluxDb::write_url`] (default `prw`).
    pub fn database(mut self, name: impl Into<String>) -> Self {
        self.database = name.into();
        self
    }

    /// How long to wait for readiness (default 60 s).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Starts `influxd` on two free loopback ports (HTTP, and the RPC port it always binds),
    /// waits for `/ping` and creates the database.
    ///
    /// # Errors
    ///
    /// When the binary is missing, the server does not become ready, or the database cannot
    /// be created.
    pub fn start(self) -> Result<InfluxDb, HarnessError> {
        let binary = InfluxDb::binary()?;
        let dir = TestDir::new("influxdb")?;
        let process = Process::new("influxdb", binary, dir.path(), dir.join("influxdb.log"));
        let mut influx = InfluxDb { process, dir, port: 0, database: self.database.clone() };
        with_port_retries(|| {
            let port_error = |e| HarnessError::io("finding a free port", "127.0.0.1:0", e);
            influx.port = free_port().map_err(port_error)?;
            let rpc_port = loop {
                let p = free_port().map_err(port_error)?;
                if p != influx.port {
                    break p;
                }
            };
            influx.launch(rpc_port, self.ready_timeout)
        })?;
        influx.create_database(&self.database)?;
        Ok(influx)
    }
}

/// An InfluxDB 1.x server on 127.0.0.1, in its own temp dir, killed when dropped.
#[derive(Debug)]
pub struct InfluxDb {
    process: Process,
    dir: TestDir,
    port: u16,
    database: String,
}

impl Backend for InfluxDb {
    const BINARY: &'static str = "influxd";
    const APT_PACKAGE: &'static str = "influxdb";
}

impl InfluxDb {
    /// Options: the database name.
    pub fn builder() -> InfluxDbBuilder {
        InfluxDbBuilder::default()
    }

    fn config(&self, rpc_port: u16) -> String {
        let path = |name: &str| Value::from(self.dir.join(name).to_string_lossy()).to_string();
        format!(
            "reporting-disabled = true\n\
             bind-address = \"127.0.0.1:{rpc_port}\"\n\
             [meta]\n  dir = {meta}\n\
             [data]\n  dir = {data}\n  wal-dir = {wal}\n  query-log-enabled = false\n\
             [monitor]\n  store-enabled = false\n\
             [subscriber]\n  enabled = false\n\
             [continuous_queries]\n  enabled = false\n\
             [http]\n  bind-address = \"127.0.0.1:{port}\"\n  log-enabled = false\n  pprof-enabled = false\n",
            meta = path("meta"),
            data = path("data"),
            wal = path("wal"),
            port = self.port,
        )
    }

    fn launch(&mut self, rpc_port: u16, ready_timeout: Duration) -> Result<(), HarnessError> {
        let config_path = self.dir.join("influxdb.conf");
        write_file(&config_path, &self.config(rpc_port))?;
        let args: Vec<OsString> = vec!["run".into(), "-config".into(), config_path.into()];
        self.process.set_args(args);
        self.process.spawn()?;
        let ping = format!("{}/ping", self.base_url());
        self.process.wait_ready(ready_timeout, || {
            HttpRequest::new("GET", &ping).send().is_ok_and(|r| r.status == 204)
        })
    }

    /// The HTTP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// `http://127.0.0.1:port`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The database created at start.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The Prometheus remote-write endpoint for the test's database,
    /// `.../api/v1/prom/write?db=NAME`.
    pub fn write_url(&self) -> String {
        format!("{}/api/v1/prom/write?{}", self.base_url(), encode_form(&[("db", &self.database)]))
    }

    /// The instance's temp dir.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Everything it logged.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// `GET path_and_query`.
    ///
    /// # Errors
    ///
    /// When the exchange fails; any status is returned as is.
    pub fn get(&self, path_and_query: &str) -> Result<HttpResponse, HarnessError> {
        Ok(HttpRequest::new("GET", format!("{}{path_and_query}", self.base_url())).send()?)
    }

    /// `CREATE DATABASE "name"`.
    ///
    /// # Errors
    ///
    /// When InfluxDB refuses.
    pub fn create_database(&self, name: &str) -> Result<(), HarnessError> {
        let statement = format!("CREATE DATABASE {}", quote_identifier(name));
        let response = HttpRequest::new("POST", format!("{}/query", self.base_url()))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(encode_form(&[("q", &statement)]))
            .send()?;
        check_results(&statement, &response_json(&statement, &response)?)?;
        Ok(())
    }

    /// Runs an InfluxQL query on the test's database (timestamps as epoch milliseconds) and
    /// returns the first statement's result object.
    ///
    /// # Errors
    ///
    /// When the request fails or InfluxDB reports an error.
    pub fn query(&self, influxql: &str) -> Result<Value, HarnessError> {
        let query = encode_form(&[("db", &self.database), ("q", influxql), ("epoch", "ms")]);
        let response = self.get(&format!("/query?{query}"))?;
        check_results(influxql, &response_json(influxql, &response)?)
    }

    /// Every point of `measurement` (a Prometheus metric name): per tag set (the series'
    /// labels; InfluxDB 1.6 keeps `__name__` among them), `(timestamp_ms, value)` in time
    /// order, sorted by tags.
    ///
    /// # Errors
    ///
    /// When the query fails or the result is not understood.
    pub fn points(&self, measurement: &str) -> Result<Vec<SeriesSamples>, HarnessError> {
        let influxql =
            format!("SELECT \"value\" FROM {} GROUP BY *", quote_identifier(measurement));
        let result = self.query(&influxql)?;
        let Some(series) = result.get("series").and_then(Value::as_array) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(series.len());
        for s in series {
            let tags: Labels = s
                .get("tags")
                .and_then(Value::as_object)
                .map(|t| {
                    t.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            let rows =
                s.get("values").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            let mut points = Vec::with_capacity(rows.len());
            for row in rows {
                let point = row
                    .as_array()
                    .filter(|r| r.len() == 2)
                    .and_then(|r| Some((r[0].as_i64()?, r[1].as_f64()?)))
                    .ok_or_else(|| bad(&influxql, format!("bad row {row}")))?;
                points.push(point);
            }
            out.push((tags, points));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

/// InfluxQL identifiers in double quotes, with `"` and `\` escaped.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Returns the first statement's result, or the error InfluxDB put in the body (it answers
/// 200 for failed statements).
fn check_results(what: &str, json: &Value) -> Result<Value, HarnessError> {
    if let Some(error) = json.get("error").and_then(Value::as_str) {
        return Err(bad(what, error.to_owned()));
    }
    let first = json
        .get("results")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .ok_or_else(|| bad(what, format!("no results in {json}")))?;
    if let Some(error) = first.get("error").and_then(Value::as_str) {
        return Err(bad(what, error.to_owned()));
    }
    Ok(first.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_identifier("up"), "\"up\"");
        assert_eq!(quote_identifier("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn statement_errors_are_errors() {
        let ok: Value = serde_json::from_str(r#"{"results":[{"statement_id":0}]}"#).unwrap();
        assert_eq!(check_results("q", &ok).unwrap()["statement_id"], 0);
        let failed: Value =
            serde_json::from_str(r#"{"results":[{"statement_id":0,"error":"boom"}]}"#).unwrap();
        assert!(check_results("q", &failed).unwrap_err().to_string().contains("boom"));
        let top: Value = serde_json::from_str(r#"{"error":"bad"}"#).unwrap();
        assert!(check_results("q", &top).is_err());
    }
}
