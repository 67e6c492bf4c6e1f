//! [`MeterProvider`] → [`Meter`] → instrument builders.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::KeyValue;
use crate::diagnostics::{self, Severity};
use crate::instruments::{
    Callback, CallbackError, Counter, Gauge, Histogram, InstrumentKind, Noop, ObservableCounter,
    ObservableGauge, ObservableUpDownCounter, Observer, SyncInstrument, UpDownCounter,
};
use crate::name::{validate_name, validate_unit};

/// The library or component that records through a meter: name, version, schema URL and
/// attributes. Exported as the OTLP instrumentation scope.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstrumentationScope {
    name: Cow<'static, str>,
    version: Option<Cow<'static, str>>,
    schema_url: Option<Cow<'static, str>>,
    attributes: Vec<KeyValue>,
}

impl InstrumentationScope {
    /// Starts a scope named `name` (usually the crate name).
    pub fn builder(name: impl Into<Cow<'static, str>>) -> InstrumentationScopeBuilder {
        InstrumentationScopeBuilder {
            scope: InstrumentationScope { name: name.into(), ..Default::default() },
        }
    }
    /// The scope's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The scope's version, if set.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
    /// The scope's schema URL, if set.
    pub fn schema_url(&self) -> Option<&str> {
        self.schema_url.as_deref()
    }
    /// The scope's attributes.
    pub fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }
}

/// Builds an [`InstrumentationScope`].
#[derive(Debug)]
pub struct InstrumentationScopeBuilder {
    scope: InstrumentationScope,
}

impl InstrumentationScopeBuilder {
    /// Sets the version.
    pub fn with_version(mut self, version: impl Into<Cow<'static, str>>) -> Self {
        self.scope.version = Some(version.into());
        self
    }
    /// Sets the schema URL.
    pub fn with_schema_url(mut self, url: impl Into<Cow<'static, str>>) -> Self {
        self.scope.schema_url = Some(url.into());
        self
    }
    /// Sets the attributes.
    pub fn with_attributes(mut self, attributes: impl IntoIterator<Item = KeyValue>) -> Self {
        self.scope.attributes = attributes.into_iter().collect();
        self
    }
    /// Finishes the scope.
    pub fn build(self) -> InstrumentationScope {
        self.scope
    }
}

/// Hands out meters. Implemented by an SDK (`prw_sdk::SdkMeterProvider`) and by
/// [`NoopMeterProvider`](crate::noop::NoopMeterProvider).
pub trait MeterProvider {
    /// A meter for the library or component `name`.
    fn meter(&self, name: &'static str) -> Meter {
        self.meter_with_scope(InstrumentationScope::builder(name).build())
    }

    /// A meter for a fully described scope.
    fn meter_with_scope(&self, scope: InstrumentationScope) -> Meter;
}

/// What an instrument builder passes to the SDK. The name has been validated.
#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentDescriptor {
    /// The instrument's name (valid per the specification).
    pub name: Cow<'static, str>,
    /// Its description ("" if none).
    pub description: Cow<'static, str>,
    /// Its unit ("" if none).
    pub unit: Cow<'static, str>,
    /// Its kind.
    pub kind: InstrumentKind,
    /// Histogram bucket boundaries advised by the instrument author (validated: finite,
    /// strictly increasing).
    pub boundaries: Option<Vec<f64>>,
}

/// Creates instruments for one meter; implemented by an SDK. Every method defaults to a
/// no-op, so new instrument types can be added without breaking implementations.
pub trait InstrumentProvider: Send + Sync {
    /// A synchronous `u64` instrument, or `None` for a no-op one.
    fn u64_instrument(&self, d: InstrumentDescriptor) -> Option<Arc<dyn SyncInstrument<u64>>> {
        let _ = d;
        None
    }
    /// A synchronous `i64` instrument, or `None` for a no-op one.
    fn i64_instrument(&self, d: InstrumentDescriptor) -> Option<Arc<dyn SyncInstrument<i64>>> {
        let _ = d;
        None
    }
    /// A synchronous `f64` instrument, or `None` for a no-op one.
    fn f64_instrument(&self, d: InstrumentDescriptor) -> Option<Arc<dyn SyncInstrument<f64>>> {
        let _ = d;
        None
    }
    /// Registers an observable `u64` instrument and its callbacks.
    fn u64_observable(&self, d: InstrumentDescriptor, callbacks: Vec<Callback<u64>>) {
        let _ = (d, callbacks);
    }
    /// Registers an observable `i64` instrument and its callbacks.
    fn i64_observable(&self, d: InstrumentDescriptor, callbacks: Vec<Callback<i64>>) {
        let _ = (d, callbacks);
    }
    /// Registers an observable `f64` instrument and its callbacks.
    fn f64_observable(&self, d: InstrumentDescriptor, callbacks: Vec<Callback<f64>>) {
        let _ = (d, callbacks);
    }
}

/// Creates instruments for one instrumentation scope.
///
/// ```
/// use prw_api::{KeyValue, Meter};
///
/// let meter = Meter::noop();
/// let counter = meter
///     .u64_counter("jobs.processed")
///     .with_description("Jobs taken off the queue")
///     .with_unit("{job}")
///     .build();
/// counter.add(1, &[KeyValue::new("queue", "default")]);
/// ```
#[derive(Clone)]
pub struct Meter {
    provider: Arc<dyn InstrumentProvider>,
}

impl fmt::Debug for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Meter").finish_non_exhaustive()
    }
}

struct NoopProvider;
impl InstrumentProvider for NoopProvider {}

macro_rules! sync_ctor {
    ($fn:ident, $inst:ident, $t:ty, $what:literal) => {
        #[doc = concat!("Starts a `", stringify!($t), "` ", $what, ".")]
        pub fn $fn(&self, name: impl Into<Cow<'static, str>>) -> InstrumentBuilder<'_, $inst<$t>> {
            InstrumentBuilder::new(self, name.into())
        }
    };
}

macro_rules! async_ctor {
    ($fn:ident, $inst:ident, $t:ty, $what:literal) => {
        #[doc = concat!("Starts a `", stringify!($t), "` ", $what, ".")]
        pub fn $fn(
            &self,
            name: impl Into<Cow<'static, str>>,
        ) -> AsyncInstrumentBuilder<'_, $inst<$t>, $t> {
            AsyncInstrumentBuilder::new(self, name.into())
        }
    };
}

impl Meter {
    /// Wraps an SDK's per-scope instrument provider.
    pub fn new(provider: Arc<dyn InstrumentProvider>) -> Self {
        Meter { provider }
    }

    /// A meter whose instruments record nothing.
    pub fn noop() -> Self {
        Meter { provider: Arc::new(NoopProvider) }
    }

    sync_ctor!(u64_counter, Counter, u64, "counter");
    sync_ctor!(f64_counter, Counter, f64, "counter");
    sync_ctor!(i64_up_down_counter, UpDownCounter, i64, "up-down counter");
    sync_ctor!(f64_up_down_counter, UpDownCounter, f64, "up-down counter");
    sync_ctor!(u64_histogram, Histogram, u64, "histogram");
    sync_ctor!(f64_histogram, Histogram, f64, "histogram");
    sync_ctor!(u64_gauge, Gauge, u64, "gauge");
    sync_ctor!(i64_gauge, Gauge, i64, "gauge");
    sync_ctor!(f64_gauge, Gauge, f64, "gauge");
    async_ctor!(u64_observable_counter, ObservableCounter, u64, "observable counter");
    async_ctor!(f64_observable_counter, ObservableCounter, f64, "observable counter");
    async_ctor!(
        i64_observable_up_down_counter,
        ObservableUpDownCounter,
        i64,
        "observable up-down counter"
    );
    async_ctor!(
        f64_observable_up_down_counter,
        ObservableUpDownCounter,
        f64,
        "observable up-down counter"
    );
    async_ctor!(u64_observable_gauge, ObservableGauge, u64, "observable gauge");
    async_ctor!(i64_observable_gauge, ObservableGauge, i64, "observable gauge");
    async_ctor!(f64_observable_gauge, ObservableGauge, f64, "observable gauge");
}

/// Checks what a builder was given. `None` means the name is invalid (already reported).
fn describe(
    name: Cow<'static, str>,
    description: Option<Cow<'static, str>>,
    unit: Option<Cow<'static, str>>,
    boundaries: Option<Vec<f64>>,
    kind: InstrumentKind,
) -> Option<InstrumentDescriptor> {
    if let Err(e) = validate_name(&name) {
        diagnostics::report_once(&format!("invalid-name:{name}"), Severity::Warning, || {
            format!("instrument {name:?} records nothing: {e}")
        });
        return None;
    }
    let unit = match unit {
        Some(u) => match validate_unit(&u) {
            Ok(()) => u,
            Err(e) => {
                diagnostics::report_once(
                    &format!("invalid-unit:{name}"),
                    Severity::Warning,
                    || format!("instrument {name:?}: unit {u:?} ignored: {e}"),
                );
                Cow::Borrowed("")
            }
        },
        None => Cow::Borrowed(""),
    };
    let boundaries = match boundaries {
        Some(b) if !valid_boundaries(&b) => {
            diagnostics::report_once(&format!("invalid-bounds:{name}"), Severity::Warning, || {
                format!(
                    "instrument {name:?}: bucket boundaries {b:?} ignored, they must be finite \
                     and strictly increasing; using the default boundaries"
                )
            });
            None
        }
        other => other,
    };
    Some(InstrumentDescriptor {
        name,
        description: description.unwrap_or(Cow::Borrowed("")),
        unit,
        kind,
        boundaries,
    })
}

/// Whether histogram boundaries are finite and strictly increasing.
pub fn valid_boundaries(b: &[f64]) -> bool {
    b.iter().all(|x| x.is_finite()) && b.windows(2).all(|w| w[0] < w[1])
}

/// Configures a synchronous instrument; finish with `build()`.
#[must_use = "call .build() to create the instrument"]
pub struct InstrumentBuilder<'a, I> {
    meter: &'a Meter,
    name: Cow<'static, str>,
    description: Option<Cow<'static, str>>,
    unit: Option<Cow<'static, str>>,
    boundaries: Option<Vec<f64>>,
    _i: PhantomData<I>,
}

impl<I> fmt::Debug for InstrumentBuilder<'_, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstrumentBuilder")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("unit", &self.unit)
            .field("boundaries", &self.boundaries)
            .finish()
    }
}

impl<'a, I> InstrumentBuilder<'a, I> {
    fn new(meter: &'a Meter, name: Cow<'static, str>) -> Self {
        InstrumentBuilder {
            meter,
            name,
            description: None,
            unit: None,
            boundaries: None,
            _i: PhantomData,
        }
    }
    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<Cow<'static, str>>) -> Self {
        self.description = Some(description.into());
        self
    }
    /// Sets the unit (UCUM, e.g. `s`, `By`, `{request}`).
    pub fn with_unit(mut self, unit: impl Into<Cow<'static, str>>) -> Self {
        self.unit = Some(unit.into());
        self
    }
}

impl<T> InstrumentBuilder<'_, Histogram<T>> {
    /// Advises bucket boundaries for the explicit-bucket histogram aggregation. Boundaries
    /// that are not finite and strictly increasing are reported and ignored.
    pub fn with_boundaries(mut self, boundaries: Vec<f64>) -> Self {
        self.boundaries = Some(boundaries);
        self
    }
}

macro_rules! sync_build {
    ($inst:ident, $t:ty, $make:ident, $kind:ident) => {
        impl InstrumentBuilder<'_, $inst<$t>> {
            /// Creates the instrument. An invalid name gives a no-op instrument (reported once).
            pub fn build(self) -> $inst<$t> {
                let d = describe(
                    self.name,
                    self.description,
                    self.unit,
                    self.boundaries,
                    InstrumentKind::$kind,
                );
                match d.and_then(|d| self.meter.provider.$make(d)) {
                    Some(inner) => $inst::new(inner),
                    None => $inst::new(Arc::new(Noop)),
                }
            }
        }
    };
}

sync_build!(Counter, u64, u64_instrument, Counter);
sync_build!(Counter, f64, f64_instrument, Counter);
sync_build!(UpDownCounter, i64, i64_instrument, UpDownCounter);
sync_build!(UpDownCounter, f64, f64_instrument, UpDownCounter);
sync_build!(Histogram, u64, u64_instrument, Histogram);
sync_build!(Histogram, f64, f64_instrument, Histogram);
sync_build!(Gauge, u64, u64_instrument, Gauge);
sync_build!(Gauge, i64, i64_instrument, Gauge);
sync_build!(Gauge, f64, f64_instrument, Gauge);

/// Configures an observable instrument; add callbacks, then `build()`.
#[must_use = "call .build() to register the instrument"]
pub struct AsyncInstrumentBuilder<'a, I, T> {
    meter: &'a Meter,
    name: Cow<'static, str>,
    description: Option<Cow<'static, str>>,
    unit: Option<Cow<'static, str>>,
    callbacks: Vec<Callback<T>>,
    _i: PhantomData<I>,
}

impl<I, T> fmt::Debug for AsyncInstrumentBuilder<'_, I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncInstrumentBuilder")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("unit", &self.unit)
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

impl<'a, I, T> AsyncInstrumentBuilder<'a, I, T> {
    fn new(meter: &'a Meter, name: Cow<'static, str>) -> Self {
        AsyncInstrumentBuilder {
            meter,
            name,
            description: None,
            unit: None,
            callbacks: Vec::new(),
            _i: PhantomData,
        }
    }
    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<Cow<'static, str>>) -> Self {
        self.description = Some(description.into());
        self
    }
    /// Sets the unit.
    pub fn with_unit(mut self, unit: impl Into<Cow<'static, str>>) -> Self {
        self.unit = Some(unit.into());
        self
    }
    /// Adds a callback, run once per collection, that reports values through the observer.
    pub fn with_callback<F>(mut self, callback: F) -> Self
    where
        F: Fn(&dyn Observer<T>) + Send + Sync + 'static,
    {
        self.callbacks.push(Box::new(move |o| {
            callback(o);
            Ok(())
        }));
        self
    }
    /// Adds a callback that can fail. When it returns an error, what it observed in that
    /// collection is discarded and the error is reported; other instruments are unaffected.
    pub fn with_fallible_callback<F>(mut self, callback: F) -> Self
    where
        F: Fn(&dyn Observer<T>) -> Result<(), CallbackError> + Send + Sync + 'static,
    {
        self.callbacks.push(Box::new(callback));
        self
    }
}

macro_rules! async_build {
    ($inst:ident, $t:ty, $make:ident, $kind:ident) => {
        impl AsyncInstrumentBuilder<'_, $inst<$t>, $t> {
            /// Registers the instrument. An invalid name registers nothing (reported once).
            pub fn build(self) -> $inst<$t> {
                let d =
                    describe(self.name, self.description, self.unit, None, InstrumentKind::$kind);
                if let Some(d) = d {
                    self.meter.provider.$make(d, self.callbacks);
                }
                $inst::new()
            }
        }
    };
}

async_build!(ObservableCounter, u64, u64_observable, ObservableCounter);
async_build!(ObservableCounter, f64, f64_observable, ObservableCounter);
async_build!(ObservableUpDownCounter, i64, i64_observable, ObservableUpDownCounter);
async_build!(ObservableUpDownCounter, f64, f64_observable, ObservableUpDownCounter);
async_build!(ObservableGauge, u64, u64_observable, ObservableGauge);
async_build!(ObservableGauge, i64, i64_observable, ObservableGauge);
async_build!(ObservableGauge, f64, f64_observable, ObservableGauge);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recording {
        created: Mutex<Vec<InstrumentDescriptor>>,
    }
    impl InstrumentProvider for Recording {
        fn u64_instrument(&self, d: InstrumentDescriptor) -> Option<Arc<dyn SyncInstrument<u64>>> {
            self.created.lock().unwrap().push(d);
            None
        }
        fn f64_instrument(&self, d: InstrumentDescriptor) -> Option<Arc<dyn SyncInstrument<f64>>> {
            self.created.lock().unwrap().push(d);
            None
        }
    }

    #[test]
    fn invalid_names_never_reach_the_sdk() {
        let rec = Arc::new(Recording::default());
        let meter = Meter::new(rec.clone());
        meter.u64_counter("9lives").build().add(1, &[]);
        let _ = meter.u64_counter("ok.name").with_unit("ms").with_description("d").build();
        let created = rec.created.lock().unwrap();
        assert_eq!(created.len(), 1);
        assert_eq!(created[0].name, "ok.name");
        assert_eq!(created[0].unit, "ms");
        assert_eq!(created[0].description, "d");
        assert_eq!(created[0].kind, InstrumentKind::Counter);
    }

    #[test]
    fn bad_boundaries_and_units_are_dropped() {
        let rec = Arc::new(Recording::default());
        let meter = Meter::new(rec.clone());
        let _ = meter.f64_histogram("h1").with_boundaries(vec![1.0, 1.0]).build();
        let _ = meter.f64_histogram("h2").with_boundaries(vec![1.0, f64::NAN]).build();
        let _ = meter.f64_histogram("h3").with_boundaries(vec![0.5, 1.0]).with_unit("µs").build();
        let created = rec.created.lock().unwrap();
        assert_eq!(created[0].boundaries, None);
        assert_eq!(created[1].boundaries, None);
        assert_eq!(created[2].boundaries, Some(vec![0.5, 1.0]));
        assert_eq!(created[2].unit, "");
    }
}
