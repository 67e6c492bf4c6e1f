//! Instruments: the handles application code records measurements with.
//!
//! Every handle is cheap to clone (one `Arc`) and records through `&self`, so it can be stored
//! in a `static`, a struct field or passed to threads. Recording never allocates in the caller
//! and never fails: an SDK that cannot take a measurement counts or reports it instead.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::KeyValue;

mod sealed {
    pub trait Sealed {}
    impl Sealed for u64 {}
    impl Sealed for i64 {}
    impl Sealed for f64 {}
}

/// The number types instruments record: `u64`, `i64` and `f64`.
pub trait Number: sealed::Sealed + Copy + Send + Sync + fmt::Debug + PartialOrd + 'static {}
impl Number for u64 {}
impl Number for i64 {}
impl Number for f64 {}

/// The kind of an instrument, as views select it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstrumentKind {
    /// A monotonic sum recorded synchronously ([`Counter`]).
    Counter,
    /// A non-monotonic sum recorded synchronously ([`UpDownCounter`]).
    UpDownCounter,
    /// A distribution ([`Histogram`]).
    Histogram,
    /// The latest value recorded synchronously ([`Gauge`]).
    Gauge,
    /// A monotonic sum reported by a callback ([`ObservableCounter`]).
    ObservableCounter,
    /// A non-monotonic sum reported by a callback ([`ObservableUpDownCounter`]).
    ObservableUpDownCounter,
    /// A value reported by a callback ([`ObservableGauge`]).
    ObservableGauge,
}

impl InstrumentKind {
    /// Whether values come from callbacks at collection time.
    pub fn is_observable(self) -> bool {
        matches!(
            self,
            InstrumentKind::ObservableCounter
                | InstrumentKind::ObservableUpDownCounter
                | InstrumentKind::ObservableGauge
        )
    }
}

/// The implementation behind a synchronous instrument; what an SDK provides.
pub trait SyncInstrument<T>: Send + Sync {
    /// Records one measurement for the attribute set `attributes` (in any order).
    fn measure(&self, value: T, attributes: &[KeyValue]);

    /// Resolves `attributes` once and returns a handle that records without looking them up
    /// again. The default returns `None`, and the API falls back to a handle that records
    /// through [`SyncInstrument::measure`] with a copy of the attributes.
    fn bind(&self, attributes: &[KeyValue]) -> Option<Arc<dyn BoundSyncInstrument<T>>> {
        let _ = attributes;
        None
    }
}

/// The implementation behind a bound handle.
pub trait BoundSyncInstrument<T>: Send + Sync {
    /// Records one measurement for the attribute set the handle was bound to.
    fn measure(&self, value: T);
}

struct DynUnresolved<T> {
    inner: Arc<dyn SyncInstrument<T>>,
    attributes: Vec<KeyValue>,
}

impl<T> BoundSyncInstrument<T> for DynUnresolved<T> {
    fn measure(&self, value: T) {
        self.inner.measure(value, &self.attributes)
    }
}

/// Records nothing.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Noop;

impl<T: 'static> SyncInstrument<T> for Noop {
    #[inline]
    fn measure(&self, _value: T, _attributes: &[KeyValue]) {}
    fn bind(&self, _attributes: &[KeyValue]) -> Option<Arc<dyn BoundSyncInstrument<T>>> {
        Some(Arc::new(Noop))
    }
}

impl<T> BoundSyncInstrument<T> for Noop {
    #[inline]
    fn measure(&self, _value: T) {}
}

pub(crate) fn bind_any<T: 'static>(
    inner: &Arc<dyn SyncInstrument<T>>,
    attributes: &[KeyValue],
) -> Arc<dyn BoundSyncInstrument<T>> {
    match inner.bind(attributes) {
        Some(bound) => bound,
        None => Arc::new(DynUnresolved { inner: inner.clone(), attributes: attributes.to_vec() }),
    }
}

macro_rules! sync_instrument {
    (
        $(#[$doc:meta])* $name:ident, $bound:ident, $method:ident, $verb:literal,
        [$($t:ty),*], $example:literal
    ) => {
        $(#[$doc])*
        #[doc = ""]
        #[doc = "```"]
        #[doc = $example]
        #[doc = "```"]
        #[must_use = "instruments record nothing unless used"]
        pub struct $name<T> {
            inner: Arc<dyn SyncInstrument<T>>,
        }

        impl<T> Clone for $name<T> {
            fn clone(&self) -> Self {
                $name { inner: self.inner.clone() }
            }
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        impl<T: Number> $name<T> {
            /// Wraps an SDK's implementation.
            pub fn new(inner: Arc<dyn SyncInstrument<T>>) -> Self {
                $name { inner }
            }

            /// An instrument that records nothing.
            pub fn noop() -> Self {
                $name { inner: Arc::new(Noop) }
            }

            #[doc = concat!($verb, " `value` for the attribute set `attributes` (order does not matter).")]
            #[inline]
            pub fn $method(&self, value: T, attributes: &[KeyValue]) {
                self.inner.measure(value, attributes)
            }

            /// Resolves `attributes` once; the returned handle records without looking them up.
            pub fn bind(&self, attributes: &[KeyValue]) -> $bound<T> {
                $bound { inner: bind_any(&self.inner, attributes) }
            }
        }

        #[doc = concat!("A [`", stringify!($name), "`] bound to one attribute set; see [`", stringify!($name), "::bind`].")]
        #[must_use = "instruments record nothing unless used"]
        pub struct $bound<T> {
            inner: Arc<dyn BoundSyncInstrument<T>>,
        }

        impl<T> Clone for $bound<T> {
            fn clone(&self) -> Self {
                $bound { inner: self.inner.clone() }
            }
        }

        impl<T> fmt::Debug for $bound<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($bound)).finish_non_exhaustive()
            }
        }

        impl<T: Number> $bound<T> {
            #[doc = concat!($verb, " `value` for the bound attribute set.")]
            #[inline]
            pub fn $method(&self, value: T) {
                self.inner.measure(value)
            }
        }
    };
}

sync_instrument!(
    /// A monotonic sum: requests served, bytes sent. Values must not be negative.
    Counter, BoundCounter, add, "Adds", [u64, f64],
    "# let meter = prw_api::Meter::noop();\nlet requests = meter.u64_counter(\"http.server.requests\").build();\nrequests.add(1, &[prw_api::KeyValue::new(\"method\", \"GET\")]);"
);
sync_instrument!(
    /// A sum that goes up and down: items in a queue, open connections.
    UpDownCounter, BoundUpDownCounter, add, "Adds", [i64, f64],
    "# let meter = prw_api::Meter::noop();\nlet queued = meter.i64_up_down_counter(\"queue.items\").build();\nqueued.add(1, &[]);\nqueued.add(-1, &[]);"
);
sync_instrument!(
    /// A distribution of values: request durations, response sizes.
    Histogram, BoundHistogram, record, "Records", [u64, f64],
    "# let meter = prw_api::Meter::noop();\nlet duration = meter.f64_histogram(\"http.server.request.duration\").with_unit(\"s\").build();\nduration.record(0.012, &[]);"
);
sync_instrument!(
    /// The current value of something, set when it changes: a temperature, a pool size.
    Gauge, BoundGauge, record, "Records", [u64, i64, f64],
    "# let meter = prw_api::Meter::noop();\nlet temperature = meter.f64_gauge(\"room.temperature\").with_unit(\"Cel\").build();\ntemperature.record(21.5, &[]);"
);

/// Receives observations inside an observable instrument's callback.
pub trait Observer<T> {
    /// Reports the current `value` for the attribute set `attributes`.
    fn observe(&self, value: T, attributes: &[KeyValue]);
}

/// What a fallible callback returns when it could not observe.
pub type CallbackError = Box<dyn std::error::Error + Send + Sync>;

/// A callback of an observable instrument, run once per collection.
pub type Callback<T> =
    Box<dyn Fn(&dyn Observer<T>) -> Result<(), CallbackError> + Send + Sync + 'static>;

macro_rules! observable_instrument {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// The handle only identifies the instrument; its callbacks stay registered for the
        /// life of the meter provider.
        pub struct $name<T> {
            _t: PhantomData<fn() -> T>,
        }

        impl<T> $name<T> {
            pub(crate) fn new() -> Self {
                $name { _t: PhantomData }
            }
        }

        impl<T> Clone for $name<T> {
            fn clone(&self) -> Self {
                Self::new()
            }
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}

observable_instrument!(
    /// A monotonic sum read by a callback: CPU time used, bytes read since start.
    ObservableCounter
);
observable_instrument!(
    /// A sum that goes up and down, read by a callback: heap in use.
    ObservableUpDownCounter
);
observable_instrument!(
    /// A value read by a callback: a temperature, a queue length.
    ObservableGauge
);
