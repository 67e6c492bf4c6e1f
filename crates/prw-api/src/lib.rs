//! The prw metrics API: meters, instruments and attributes, with a no-op implementation.
//!
//! This crate has no dependencies. Libraries instrument themselves against it; the
//! application picks an implementation (the `prw-sdk` crate) and installs it, or not, in
//! which case every instrument records nothing at almost no cost.
//!
//! It mirrors the OpenTelemetry metrics API: a [`MeterProvider`] hands out [`Meter`]s, a
//! meter builds instruments ([`Counter`], [`UpDownCounter`], [`Histogram`], [`Gauge`] and
//! their observable forms), and measurements carry attributes as a slice of [`KeyValue`].
//!
//! # Example
//!
//! ```
//! use prw_api::{global, KeyValue};
//!
//! // In a library: no SDK chosen, the global provider is a no-op until the app sets one.
//! let meter = global::meter("my_library");
//! let requests = meter
//!     .u64_counter("http.server.requests")
//!     .with_description("Requests served")
//!     .with_unit("{request}")
//!     .build();
//! let duration = meter.f64_histogram("http.server.request.duration").with_unit("s").build();
//!
//! // Recording takes a slice: no allocation by the caller, attribute order does not matter.
//! let attrs = [KeyValue::new("method", "GET"), KeyValue::new("status", 200)];
//! requests.add(1, &attrs);
//! duration.record(0.003, &attrs);
//!
//! // A bound handle resolves the attribute set once.
//! let ok = requests.bind(&attrs);
//! ok.add(1);
//!
//! // Observable instruments report from a callback at each collection.
//! meter
//!     .u64_observable_gauge("queue.length")
//!     .with_callback(|observer| observer.observe(3, &[]))
//!     .build();
//! ```
//!
//! # Problems are reported, never raised
//!
//! An invalid instrument name gives a no-op instrument and one report through
//! [`diagnostics`] (standard error unless a handler is installed). Recording never panics.

#![warn(missing_docs)]

mod attributes;
pub mod diagnostics;
pub mod global;
mod instruments;
mod meter;
pub mod name;
pub mod noop;

pub use attributes::{Array, Key, KeyValue, StringValue, Value, hash_str};
pub use instruments::{
    BoundCounter, BoundGauge, BoundHistogram, BoundSyncInstrument, BoundUpDownCounter, Callback,
    CallbackError, Counter, Gauge, Histogram, InstrumentKind, Number, ObservableCounter,
    ObservableGauge, ObservableUpDownCounter, Observer, SyncInstrument, UpDownCounter,
};
pub use meter::{
    AsyncInstrumentBuilder, InstrumentBuilder, InstrumentDescriptor, InstrumentProvider,
    InstrumentationScope, InstrumentationScopeBuilder, Meter, MeterProvider, valid_boundaries,
};
pub use noop::NoopMeterProvider;
