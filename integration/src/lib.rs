//! Test harness for prw's end-to-end tests: real backends started on loopback, a scripted
//! receiver for what real backends cannot be told to do, and Remote Write wire helpers.
//!
//! Every backend runs from its Debian package's binary, in a fresh temp dir, on a free
//! `127.0.0.1` port, and is killed (and reaped) when dropped; a failing test prints the end of
//! its log.
//!
//! | type | backend | write endpoint | read back with |
//! |---|---|---|---|
//! | [`Prometheus`] | `prometheus` 2.42, remote-write receiver and native histograms on | `/api/v1/write` | [`Prometheus::query`], [`Prometheus::samples`], [`Prometheus::series`] |
//! | [`VictoriaMetrics`] | `victoria-metrics` 1.79 | `/api/v1/write` | [`VictoriaMetrics::export`] (raw samples), [`VictoriaMetrics::query`] |
//! | [`InfluxDb`] | `influxd` 1.6, database created | `/api/v1/prom/write?db=NAME` | [`InfluxDb::points`], [`InfluxDb::query`] (InfluxQL) |
//! | [`TinyProxy`] | `tinyproxy` 1.11 | — (a proxy) | [`TinyProxy::requests`], [`TinyProxy::log`] |
//! | [`ScriptedReceiver`] | in process | any path | [`ScriptedReceiver::requests`] |
//!
//! A test that needs a backend starts with [`require!`]: when the binary is missing the test
//! is skipped with a note, except under `CI=true`, where it fails with the `apt-get install`
//! hint (`scripts/test` installs them all).
//!
//! ```no_run
//! use prw_integration::{Prometheus, wire};
//! use prw_proto::rw1::WriteRequest;
//!
//! # fn test() -> Result<(), Box<dyn std::error::Error>> {
//! prw_integration::require!(Prometheus);
//! let prometheus = Prometheus::builder().lookback_delta(std::time::Duration::from_secs(60)).start()?;
//! let now = wire::now_ms();
//! let request = WriteRequest {
//!     timeseries: vec![wire::rw1_series("jobs_total", &[("job", "demo")], &[(now, 42.0)])],
//!     metadata: vec![],
//! };
//! assert_eq!(wire::push_rw1(&prometheus.write_url(), &request)?.status, 204);
//! let result = prometheus.query_at("jobs_total", now)?;
//! assert_eq!(result[0].0["job"], "demo");
//! assert_eq!(result[0].1, 42.0);
//! # Ok(()) }
//! ```
//!
//! The harness's HTTP client ([`http`]) speaks plain HTTP to loopback only; TLS is the
//! transport crate's business and is tested there.

#![warn(missing_docs)]

mod error;
pub mod http;
mod influxdb;
mod ports;
mod process;
mod prom_api;
mod prometheus;
mod receiver;
mod require;
mod test_dir;
mod tinyproxy;
mod victoria_metrics;
mod wait;
pub mod wire;

pub use error::HarnessError;
pub use influxdb::{InfluxDb, InfluxDbBuilder};
pub use ports::free_port;
pub use prom_api::{Labels, Samples, SeriesSamples};
pub use prometheus::{Prometheus, PrometheusBuilder, TlsServerConfig, WebConfig, bcrypt_hash};
pub use receiver::{ReceivedRequest, Reply, ScriptedReceiver};
pub use require::{Backend, Skipped, find_binary, in_ci, require_binary};
pub use test_dir::{KEEP_DIRS_ENV, TestDir};
pub use tinyproxy::{TinyProxy, TinyProxyBuilder};
pub use victoria_metrics::{VictoriaMetrics, VictoriaMetricsBuilder};
pub use wait::{wait_for, wait_until};
