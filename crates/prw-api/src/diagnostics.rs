//! Where the API and the SDK report problems they cannot return as errors.
//!
//! Recording a metric never fails and never panics, so an invalid instrument name, a panicking
//! callback or a failing export is *reported* here instead. By default a report is printed to
//! standard error; an application that uses `tracing` or `log` installs its own handler with
//! [`set_handler`] (the `prw` facade forwards to `tracing`).
//!
//! ```
//! use prw_api::diagnostics::{self, Severity};
//!
//! diagnostics::set_handler(|d| {
//!     if d.severity() >= Severity::Warning {
//!         // forward to your logger
//!         let _ = d.message();
//!     }
//! });
//! # diagnostics::reset_handler();
//! ```

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing, nothing was lost.
    Info,
    /// Something was ignored or replaced by a default (invalid name, malformed environment).
    Warning,
    /// Data was lost (a failed export, a panicking callback).
    Error,
}

/// One report.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    severity: Severity,
    message: String,
}

impl Diagnostic {
    /// How serious it is.
    pub fn severity(&self) -> Severity {
        self.severity
    }
    /// What happened and, where it helps, how to fix it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "prw {level}: {}", self.message)
    }
}

type Handler = Arc<dyn Fn(&Diagnostic) + Send + Sync>;

fn handler() -> &'static RwLock<Option<Handler>> {
    static HANDLER: OnceLock<RwLock<Option<Handler>>> = OnceLock::new();
    HANDLER.get_or_init(|| RwLock::new(None))
}

/// Sends every later report to `f` instead of standard error.
pub fn set_handler(f: impl Fn(&Diagnostic) + Send + Sync + 'static) {
    let mut slot = handler().write().unwrap_or_else(|e| e.into_inner());
    *slot = Some(Arc::new(f));
}

/// Goes back to printing reports on standard error.
pub fn reset_handler() {
    let mut slot = handler().write().unwrap_or_else(|e| e.into_inner());
    *slot = None;
}

/// Reports a problem.
pub fn report(severity: Severity, message: impl Into<String>) {
    let d = Diagnostic { severity, message: message.into() };
    // Clone the handler out so a handler that itself reports does not deadlock.
    let h = handler().read().unwrap_or_else(|e| e.into_inner()).clone();
    match h {
        Some(h) => h(&d),
        None => eprintln!("{d}"),
    }
}

/// Reports a problem the first time `key` is seen in this process, and ignores it after that.
/// Returns whether it was reported.
pub fn report_once(key: &str, severity: Severity, message: impl FnOnce() -> String) -> bool {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let first = SEEN
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key.to_owned());
    if first {
        report(severity, message());
    }
    first
}
