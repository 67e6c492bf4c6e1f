//! Protobuf types for Prometheus Remote Write and OpenTelemetry metrics.
//!
//! The `.proto` files live in the workspace's `proto/` directory; the Rust code is generated
//! with [prost](https://docs.rs/prost) and checked in, so building this crate needs neither
//! `protoc` nor a build script.
//!
//! | module | protobuf package | what it is |
//! |---|---|---|
//! | [`rw1`] | `prometheus` | Remote Write 1.0: [`rw1::WriteRequest`] |
//! | [`rw2`] | `io.prometheus.write.v2` | Remote Write 2.0 (rc.4): [`rw2::Request`] |
//! | [`otlp`] | `opentelemetry.proto.*` | OTLP metrics: [`otlp::collector::ExportMetricsServiceRequest`] |
//!
//! # Example
//!
//! ```
//! use prost::Message;
//! use prw_proto::rw1::{Label, Sample, TimeSeries, WriteRequest};
//!
//! let request = WriteRequest {
//!     timeseries: vec![TimeSeries {
//!         labels: vec![Label { name: "__name__".into(), value: "up".into() }],
//!         samples: vec![Sample { value: 1.0, timestamp: 1_700_000_000_000 }],
//!         ..Default::default()
//!     }],
//!     metadata: vec![],
//! };
//! let bytes = request.encode_to_vec();
//! assert_eq!(WriteRequest::decode(bytes.as_slice()).unwrap(), request);
//! ```
//!
//! With the `json` feature, OTLP/JSON files (such as the Collector's file exporter writes, one
//! request per line) load as they are:
//!
//! ```
//! # #[cfg(feature = "json")]
//! # fn main() -> Result<(), prw_proto::otlp::json::JsonError> {
//! use prw_proto::otlp::json;
//!
//! let file = concat!(
//!     r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"up","gauge":{"#,
//!     r#""dataPoints":[{"timeUnixNano":"1700000000000000000","asInt":"1"}]}}]}]}]}"#,
//!     "\n",
//! );
//! let requests = json::from_json_lines(file)?;
//! assert_eq!(requests[0].resource_metrics[0].scope_metrics[0].metrics[0].name, "up");
//!
//! let error = json::from_json_lines(r#"{"resourceMetrics":[{"schemaUrl":7}]}"#).unwrap_err();
//! assert_eq!(error.to_string(), "line 1, column 34: resourceMetrics[0].schemaUrl: expected a string, got 7");
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "json"))]
//! # fn main() {}
//! ```
//!
//! # Crate feature flags
//!
//! - `json`: `otlp::json`, OTLP/JSON decoding and encoding of `ExportMetricsServiceRequest`
//!   (one request, JSON lines, or several documents), with errors that give the line, column
//!   and field path.

#![warn(missing_docs)]

pub use prost;

/// Generated from `proto/prometheus/*.proto` (Remote Write 1.0).
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod prometheus {
    include!("generated/prometheus.rs");
}

/// Generated from `proto/io/prometheus/write/v2/types.proto` (Remote Write 2.0).
#[allow(missing_docs)]
pub mod io {
    /// The `io.prometheus` package tree.
    pub mod prometheus {
        /// The `io.prometheus.write` package tree.
        pub mod write {
            /// Remote Write 2.0 (rc.4).
            #[allow(missing_docs, unreachable_pub, clippy::all)]
            pub mod v2 {
                include!("generated/io.prometheus.write.v2.rs");
            }
        }
    }
}

/// Generated from `proto/opentelemetry/proto/**` (OTLP metrics).
#[allow(missing_docs)]
pub mod opentelemetry {
    /// The `opentelemetry.proto` package tree.
    pub mod proto {
        /// `opentelemetry.proto.common`.
        pub mod common {
            /// `opentelemetry.proto.common.v1`.
            #[allow(missing_docs, unreachable_pub, clippy::all)]
            pub mod v1 {
                include!("generated/opentelemetry.proto.common.v1.rs");
            }
        }
        /// `opentelemetry.proto.resource`.
        pub mod resource {
            /// `opentelemetry.proto.resource.v1`.
            #[allow(missing_docs, unreachable_pub, clippy::all)]
            pub mod v1 {
                include!("generated/opentelemetry.proto.resource.v1.rs");
            }
        }
        /// `opentelemetry.proto.metrics`.
        pub mod metrics {
            /// `opentelemetry.proto.metrics.v1`.
            #[allow(missing_docs, unreachable_pub, clippy::all)]
            pub mod v1 {
                include!("generated/opentelemetry.proto.metrics.v1.rs");
            }
        }
        /// `opentelemetry.proto.collector`.
        pub mod collector {
            /// `opentelemetry.proto.collector.metrics`.
            pub mod metrics {
                /// `opentelemetry.proto.collector.metrics.v1`.
                #[allow(missing_docs, unreachable_pub, clippy::all)]
                pub mod v1 {
                    include!("generated/opentelemetry.proto.collector.metrics.v1.rs");
                }
            }
        }
    }
}

mod histogram;

/// Remote Write 1.0 types (`prometheus` package).
pub mod rw1 {
    pub use crate::prometheus::*;
}

/// Remote Write 2.0 types (`io.prometheus.write.v2` package).
pub mod rw2 {
    pub use crate::io::prometheus::write::v2::*;
}

/// OTLP metrics types under short names.
pub mod otlp {
    pub use crate::opentelemetry::proto::collector::metrics::v1 as collector;
    pub use crate::opentelemetry::proto::common::v1 as common;
    pub use crate::opentelemetry::proto::metrics::v1 as metrics;
    pub use crate::opentelemetry::proto::resource::v1 as resource;

    #[cfg(feature = "json")]
    pub mod json;
}
