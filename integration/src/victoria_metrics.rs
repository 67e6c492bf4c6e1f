//! A real VictoriaMetrics single-node server (Debian's `victoria-metrics` 1.79).

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::HttpResponse;
use crate::process::{Process, with_port_retries};
use crate::prom_api::{Labels, PromApi, SeriesSamples, bad, parse_value};
use crate::{Backend, HarnessError, TestDir, free_port};

const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);
const REBIND_TIMEOUT: Duration = Duration::from_secs(15);
/// VictoriaMetrics accepts samples up to two days ahead; export them too.
const EXPORT_END_MARGIN_SECS: i64 = 3 * 24 * 3600;

/// Options for a [`VictoriaMetrics`]; see [`VictoriaMetrics::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct VictoriaMetricsBuilder {
    data_dir: Option<PathBuf>,
    retention: Option<String>,
    extra_args: Vec<String>,
    ready_timeout: Duration,
}

impl Default for VictoriaMetricsBuilder {
    fn default() -> Self {
        VictoriaMetricsBuilder {
            data_dir: None,
            retention: None,
            extra_args: Vec::new(),
            ready_timeout: DEFAULT_READY_TIMEOUT,
        }
    }
}

impl VictoriaMetricsBuilder {
    /// Keep the data in this directory instead of the instance's temp dir.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// `-retentionPeriod` (such as `"1y"`; VictoriaMetrics' default is one month, and it drops
    /// samples older than that).
    pub fn retention(mut self, retention: impl Into<String>) -> Self {
        self.retention = Some(retention.into());
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

    /// Starts VictoriaMetrics on a free loopback port and waits until `/health` says OK.
    ///
    /// # Errors
    ///
    /// When the binary is missing or the server does not become ready.
    pub fn start(self) -> Result<VictoriaMetrics, HarnessError> {
        let binary = VictoriaMetrics::binary()?;
        let dir = TestDir::new("victoria-metrics")?;
        let data_dir = self.data_dir.clone().unwrap_or_else(|| dir.join("data"));
        let process =
            Process::new("victoria-metrics", binary, dir.path(), dir.join("victoria-metrics.log"));
        let mut vm = VictoriaMetrics {
            process,
            dir,
            data_dir,
            port: 0,
            // Without nocache, an instant query close to now is moved back by the latency offset.
            api: PromApi { base_url: String::new(), auth: None, extra_params: &[("nocache", "1")] },
            options: self,
        };
        with_port_retries(|| {
            vm.port = free_port()
                .map_err(|e| HarnessError::io("finding a free port", "127.0.0.1:0", e))?;
            vm.launch()
        })?;
        Ok(vm)
    }
}

/// A VictoriaMetrics server on 127.0.0.1, in its own temp dir, killed when dropped.
///
/// It runs with `-search.latencyOffset=0s`, `-search.maxStepForPointsAdjustment=0s` and
/// `-search.disableCache`, queries pass `nocache=1`, and the query methods call
/// [`flush`](Self::flush) first, so data is queryable exactly as soon as it was accepted.
#[derive(Debug)]
pub struct VictoriaMetrics {
    process: Process,
    dir: TestDir,
    data_dir: PathBuf,
    port: u16,
    api: PromApi,
    options: VictoriaMetricsBuilder,
}

impl Backend for VictoriaMetrics {
    const BINARY: &'static str = "victoria-metrics";
    const APT_PACKAGE: &'static str = "victoria-metrics";
}

impl VictoriaMetrics {
    /// Options: data dir, retention, extra flags.
    pub fn builder() -> VictoriaMetricsBuilder {
        VictoriaMetricsBuilder::default()
    }

    fn launch(&mut self) -> Result<(), HarnessError> {
        let o = &self.options;
        let mut args: Vec<OsString> = vec![
            format!("-storageDataPath={}", self.data_dir.display()).into(),
            format!("-httpListenAddr=127.0.0.1:{}", self.port).into(),
            // Without these, the newest 30 s are hidden from queries (1 s at the least, unless
            // queries say nocache), range queries repeat the previous point near now, and
            // results are cached.
            "-search.latencyOffset=0s".into(),
            "-search.maxStepForPointsAdjustment=0s".into(),
            "-search.disableCache".into(),
        ];
        if let Some(retention) = &o.retention {
            args.push(format!("-retentionPeriod={retention}").into());
        }
        args.extend(o.extra_args.iter().map(OsString::from));
        self.api.base_url = format!("http://127.0.0.1:{}", self.port);
        self.process.set_args(args);
        self.process.spawn()?;
        let api = self.api.clone();
        self.process.wait_ready(self.options.ready_timeout, || {
            api.get("/health").is_ok_and(|r| r.status == 200 && r.text().trim() == "OK")
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

    /// `http://127.0.0.1:port`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The remote-write endpoint, `.../api/v1/write`.
    pub fn write_url(&self) -> String {
        format!("{}/api/v1/write", self.base_url())
    }

    /// The storage directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The instance's temp dir.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Everything it logged, across restarts.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Stops it gracefully, keeping port and data for [`start`](Self::start).
    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Kills it (SIGKILL).
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Starts it again on the same port and data dir. Does nothing if it is running.
    ///
    /// # Errors
    ///
    /// When it does not become ready.
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

    /// `GET path_and_query`.
    ///
    /// # Errors
    ///
    /// When the exchange fails; any status is returned as is.
    pub fn get(&self, path_and_query: &str) -> Result<HttpResponse, HarnessError> {
        self.api.get(path_and_query)
    }

    /// Makes everything accepted so far searchable (`/internal/force_flush`).
    ///
    /// # Errors
    ///
    /// When the request fails.
    pub fn flush(&self) -> Result<(), HarnessError> {
        let response = self.api.get("/internal/force_flush")?;
        if response.is_success() {
            Ok(())
        } else {
            Err(HarnessError::Status {
                what: "force_flush".into(),
                status: response.status,
                body: response.text(),
            })
        }
    }

    /// Instant query at the server's current time: `(labels, value)` sorted by labels.
    ///
    /// # Errors
    ///
    /// When the query fails.
    pub fn query(&self, promql: &str) -> Result<Vec<(Labels, f64)>, HarnessError> {
        // VictoriaMetrics' own "now" is truncated to the second; the harness's is not.
        self.query_at(promql, crate::wire::now_ms())
    }

    /// Instant query at `time_ms`.
    ///
    /// # Errors
    ///
    /// When the query fails.
    pub fn query_at(&self, promql: &str, time_ms: i64) -> Result<Vec<(Labels, f64)>, HarnessError> {
        self.flush()?;
        self.api.query(promql, Some(time_ms))
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
        self.flush()?;
        self.api.query_range(promql, start_ms, end_ms, step)
    }

    /// `/api/v1/series?match[]=matcher`: every series' labels, sorted.
    ///
    /// # Errors
    ///
    /// When the query fails.
    pub fn series(&self, matcher: &str) -> Result<Vec<Labels>, HarnessError> {
        self.flush()?;
        self.api.series(matcher)
    }

    /// Every raw sample stored for the series matching `matcher` (`/api/v1/export`): per
    /// series, `(timestamp_ms, value)` in time order, sorted by labels. This is the exact
    /// stored data, without PromQL's lookback or step alignment.
    ///
    /// # Errors
    ///
    /// When the request fails or a line is not understood.
    pub fn export(&self, matcher: &str) -> Result<Vec<SeriesSamples>, HarnessError> {
        self.flush()?;
        let what = format!("export {matcher}");
        // The default end is the current second, truncated: it would hide the newest samples.
        let end = (crate::wire::now_ms() / 1000 + EXPORT_END_MARGIN_SECS).to_string();
        let query = crate::http::encode_form(&[("match[]", matcher), ("end", &end)]);
        let response = self.api.get(&format!("/api/v1/export?{query}"))?;
        if !response.is_success() {
            return Err(HarnessError::Status {
                what,
                status: response.status,
                body: response.text(),
            });
        }
        let mut out = Vec::new();
        for line in response.text().lines().filter(|l| !l.trim().is_empty()) {
            out.push(parse_export_line(&what, line)?);
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

/// One `/api/v1/export` line: `{"metric":{...},"values":[...],"timestamps":[...]}`.
fn parse_export_line(what: &str, line: &str) -> Result<SeriesSamples, HarnessError> {
    let json: Value = serde_json::from_str(line).map_err(|e| bad(what, format!("{e}: {line}")))?;
    let labels: Labels = json
        .get("metric")
        .and_then(Value::as_object)
        .ok_or_else(|| bad(what, format!("no metric in {line}")))?
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    let values = json
        .get("values")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(what, format!("no values in {line}")))?;
    let timestamps = json
        .get("timestamps")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(what, format!("no timestamps in {line}")))?;
    if values.len() != timestamps.len() {
        return Err(bad(what, format!("values and timestamps differ in length: {line}")));
    }
    let mut samples = Vec::with_capacity(values.len());
    for (value, timestamp) in values.iter().zip(timestamps) {
        let timestamp =
            timestamp.as_i64().ok_or_else(|| bad(what, format!("bad timestamp {timestamp}")))?;
        // Special values come as strings, or as null for NaN (stale markers included).
        let value = match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => parse_value(s),
            Value::Null => Some(f64::NAN),
            _ => None,
        }
        .ok_or_else(|| bad(what, format!("bad value {value}")))?;
        samples.push((timestamp, value));
    }
    Ok((labels, samples))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_export_lines() {
        let (labels, samples) = parse_export_line(
            "t",
            r#"{"metric":{"__name__":"m","job":"j"},"values":[1,2.5,"NaN",null],"timestamps":[10,20,30,40]}"#,
        )
        .unwrap();
        assert_eq!(labels["job"], "j");
        assert_eq!(&samples[..2], &[(10, 1.0), (20, 2.5)]);
        assert!(samples[2].1.is_nan() && samples[3].1.is_nan());
        assert!(parse_export_line("t", r#"{"metric":{},"values":[1],"timestamps":[]}"#).is_err());
        assert!(parse_export_line("t", "nope").is_err());
    }
}
