//! Ctrl-C (and SIGTERM): registered up front, so that a signal arriving right after start-up
//! stops the program cleanly instead of killing it.

use crate::error::CliError;

/// Resolves when the user (or a supervisor) asks the program to stop.
#[derive(Debug)]
pub(crate) struct Interrupt {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Interrupt {
    /// Installs the handlers now; call inside the runtime, before announcing readiness.
    pub(crate) fn install() -> Result<Interrupt, CliError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let failed =
                |e: std::io::Error| CliError::Failed(format!("cannot handle signals: {e}"));
            Ok(Interrupt {
                interrupt: signal(SignalKind::interrupt()).map_err(failed)?,
                terminate: signal(SignalKind::terminate()).map_err(failed)?,
            })
        }
        #[cfg(not(unix))]
        Ok(Interrupt {})
    }

    /// Waits for Ctrl-C or SIGTERM.
    pub(crate) async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
