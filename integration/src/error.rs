//! The harness's errors.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::http::HttpError;

/// Why a backend could not be started, stopped or queried.
///
/// Errors about a backend process carry the tail of its log, so a failing test shows why the
/// backend refused to start without anyone digging through temporary directories.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The backend's binary is not installed.
    #[error(
        "{binary} is not installed: install it with `apt-get install -y {apt_package}` \
         (scripts/test does this)"
    )]
    MissingBinary {
        /// The program that was looked for.
        binary: String,
        /// The Debian package that provides it.
        apt_package: String,
    },
    /// A file or directory operation failed.
    #[error("{what} ({path}): {source}")]
    Io {
        /// What the harness was doing.
        what: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The backend's process could not be spawned.
    #[error("cannot run {binary}: {source}")]
    Spawn {
        /// The program.
        binary: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The backend exited before it became ready.
    #[error("{name} exited before it became ready ({status}); last log lines:\n{log_tail}")]
    Exited {
        /// Which backend.
        name: &'static str,
        /// How it exited.
        status: String,
        /// The end of its log.
        log_tail: String,
    },
    /// The backend did not become ready in time.
    #[error("{name} was not ready within {timeout:?}; last log lines:\n{log_tail}")]
    NotReady {
        /// Which backend.
        name: &'static str,
        /// How long the harness waited.
        timeout: Duration,
        /// The end of its log.
        log_tail: String,
    },
    /// A helper program (such as `htpasswd`) failed.
    #[error("{program} failed: {message}")]
    Tool {
        /// The helper program.
        program: &'static str,
        /// What it said.
        message: String,
    },
    /// The HTTP exchange itself failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The backend answered with an unexpected status.
    #[error("{what}: HTTP {status}: {body}")]
    Status {
        /// The request, for the message.
        what: String,
        /// The status code.
        status: u16,
        /// The response body (lossy UTF-8, at most 2 KiB).
        body: String,
    },
    /// The backend's answer could not be understood.
    #[error("{what}: unexpected response: {reason}")]
    BadResponse {
        /// The request, for the message.
        what: String,
        /// What was wrong with it.
        reason: String,
    },
}

impl HarnessError {
    /// Whether the backend failed because its port was taken between the harness picking it
    /// and the backend binding it; the harness then retries on another port.
    pub fn is_port_conflict(&self) -> bool {
        match self {
            HarnessError::Exited { log_tail, .. } => {
                let log = log_tail.to_ascii_lowercase();
                log.contains("address already in use") || log.contains("could not create listening")
            }
            _ => false,
        }
    }

    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        HarnessError::Io { what, path: path.into(), source }
    }
}
