//! prw: push OpenTelemetry-style metrics straight to any Prometheus Remote Write backend.
//! (Being written.)
#![warn(missing_docs)]

pub use prw_api as api;
pub use prw_convert as convert;
pub use prw_proto as proto;
pub use prw_sdk as sdk;
pub use prw_transport as transport;

mod backoff;
mod delivery;
mod payload;
mod protocol;
mod queue;
mod stats;
#[cfg(test)]
mod testing;

pub mod receiver;

pub use payload::Counts;
pub use protocol::{ParseProtocolError, Protocol, Wire};
pub use stats::{DropReason, EndpointStats};
