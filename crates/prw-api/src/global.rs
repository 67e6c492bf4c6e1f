//! The process-wide meter provider, so libraries can instrument without choosing an SDK.
//!
//! Until the application calls [`set_meter_provider`], [`meter`] returns meters whose
//! instruments record nothing. Instruments keep the provider that was global when they were
//! created, so set the provider early in `main`, before libraries create instruments.
//!
//! ```
//! let requests = prw_api::global::meter("my_library").u64_counter("requests").build();
//! requests.add(1, &[]);
//! ```

use std::sync::{Arc, OnceLock, RwLock};

use crate::meter::{InstrumentationScope, Meter, MeterProvider};
use crate::noop::NoopMeterProvider;

type GlobalProvider = Arc<dyn MeterProvider + Send + Sync>;

fn slot() -> &'static RwLock<GlobalProvider> {
    static GLOBAL: OnceLock<RwLock<GlobalProvider>> = OnceLock::new();
    GLOBAL.get_or_init(|| RwLock::new(Arc::new(NoopMeterProvider)))
}

/// Makes `provider` the process-wide provider.
pub fn set_meter_provider<P>(provider: P)
where
    P: MeterProvider + Send + Sync + 'static,
{
    *slot().write().unwrap_or_else(|e| e.into_inner()) = Arc::new(provider);
}

/// The process-wide provider (a no-op one if none was set).
pub fn meter_provider() -> GlobalProvider {
    slot().read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// A meter from the process-wide provider.
pub fn meter(name: &'static str) -> Meter {
    meter_provider().meter(name)
}

/// A meter with a full scope from the process-wide provider.
pub fn meter_with_scope(scope: InstrumentationScope) -> Meter {
    meter_provider().meter_with_scope(scope)
}
