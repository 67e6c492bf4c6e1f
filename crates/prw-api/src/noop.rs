//! A meter provider whose instruments record nothing: the default for libraries.

use crate::meter::{InstrumentationScope, Meter, MeterProvider};

/// Hands out meters whose instruments record nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopMeterProvider;

impl NoopMeterProvider {
    /// A no-op provider.
    pub fn new() -> Self {
        NoopMeterProvider
    }
}

impl MeterProvider for NoopMeterProvider {
    fn meter_with_scope(&self, _scope: InstrumentationScope) -> Meter {
        Meter::noop()
    }
}
