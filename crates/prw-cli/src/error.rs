//! Errors that end the program, and the exit code each one gets.

use std::fmt;
use std::process::ExitCode;

/// Why `prw` stops with a non-zero exit code.
#[derive(Debug)]
pub(crate) enum CliError {
    /// A flag combination or value that cannot work (exit 2).
    Usage(String),
    /// Input that cannot be read or decoded (exit 2).
    Input(String),
    /// The backend rejected data, retries ran out, or the receiver failed (exit 1).
    Failed(String),
}

impl CliError {
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) | CliError::Input(_) => ExitCode::from(2),
            CliError::Failed(_) => ExitCode::from(1),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(message) | CliError::Input(message) | CliError::Failed(message) => {
                f.write_str(message)
            }
        }
    }
}
