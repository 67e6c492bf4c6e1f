//! One backend process: spawned with its output in a log file, polled until ready, stopped
//! gracefully or killed, and always reaped.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::HarnessError;
use crate::wait::POLL_INTERVAL;

/// How long a graceful stop may take before the process is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// Log lines shown in errors and on a failing test.
const TAIL_LINES: usize = 40;

#[derive(Debug)]
pub(crate) struct Process {
    name: &'static str,
    binary: PathBuf,
    args: Vec<OsString>,
    cwd: PathBuf,
    log_path: PathBuf,
    child: Option<Child>,
}

impl Process {
    pub(crate) fn new(name: &'static str, binary: PathBuf, cwd: &Path, log_path: PathBuf) -> Self {
        Process { name, binary, args: Vec::new(), cwd: cwd.to_owned(), log_path, child: None }
    }

    pub(crate) fn set_args(&mut self, args: Vec<OsString>) {
        self.args = args;
    }

    pub(crate) fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Starts the process; its stdout and stderr are appended to the log, after a marker line,
    /// so a restarted backend keeps the history of its earlier runs.
    pub(crate) fn spawn(&mut self) -> Result<(), HarnessError> {
        if self.child.is_some() {
            return Ok(());
        }
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| HarnessError::io("opening the log", &self.log_path, e))?;
        let args: Vec<_> = self.args.iter().map(|a| a.to_string_lossy()).collect();
        let _ = writeln!(
            log,
            "==== prw-integration: starting {} {}",
            self.binary.display(),
            args.join(" ")
        );
        let stderr =
            log.try_clone().map_err(|e| HarnessError::io("opening the log", &self.log_path, e))?;
        let child = Command::new(&self.binary)
            .args(&self.args)
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr))
            .spawn()
            .map_err(|source| HarnessError::Spawn { binary: self.binary.clone(), source })?;
        self.child = Some(child);
        Ok(())
    }

    pub(crate) fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Polls `ready` until it says yes; fails as soon as the process exits, or at `timeout`.
    pub(crate) fn wait_ready(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), HarnessError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status() {
                self.child = None;
                return Err(HarnessError::Exited {
                    name: self.name,
                    status: status.to_string(),
                    log_tail: self.log_tail(),
                });
            }
            if ready() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(HarnessError::NotReady {
                    name: self.name,
                    timeout,
                    log_tail: self.log_tail(),
                });
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGTERM, then SIGKILL if it has not exited within the grace period; returns how it ended.
    pub(crate) fn stop(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        // std can only send SIGKILL and the workspace forbids unsafe code, so SIGTERM goes
        // through kill(1), which every Debian has.
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if sent {
            let deadline = Instant::now() + STOP_GRACE;
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Some(status);
                }
                thread::sleep(POLL_INTERVAL);
            }
        }
        self.kill()
    }

    /// SIGKILL and reap; returns how it ended.
    pub(crate) fn kill(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = child.kill();
        child.wait().ok()
    }

    pub(crate) fn log(&self) -> String {
        fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    pub(crate) fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.kill().is_some() && thread::panicking() {
            eprintln!(
                "---- {} log ({}), last lines:\n{}\n----",
                self.name,
                self.log_path.display(),
                self.log_tail()
            );
        }
    }
}

/// Writes a config file, with the path in the error.
pub(crate) fn write_file(path: &Path, contents: &str) -> Result<(), HarnessError> {
    let mut file =
        File::create(path).map_err(|e| HarnessError::io("writing a config file", path, e))?;
    file.write_all(contents.as_bytes())
        .map_err(|e| HarnessError::io("writing a config file", path, e))
}

/// Runs `attempt` with fresh free ports until it succeeds, retrying only when the backend lost
/// the race for its port.
pub(crate) fn with_port_retries<T>(
    mut attempt: impl FnMut() -> Result<T, HarnessError>,
) -> Result<T, HarnessError> {
    let mut last = None;
    for _ in 0..crate::ports::START_ATTEMPTS {
        match attempt() {
            Err(e) if e.is_port_conflict() => last = Some(e),
            other => return other,
        }
    }
    Err(last.unwrap_or_else(|| HarnessError::Tool {
        program: "free_port",
        message: "no attempt made".into(),
    }))
}
