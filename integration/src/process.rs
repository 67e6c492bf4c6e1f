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
        // through the shell's built-in kill (a kill binary is not on every minimal system).
        let sent = Command::new("sh")
            .args(["-c", "kill -TERM \"$1\"", "sh", &child.id().to_string()])
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
    let mut tries = 1;
    loop {
        match attempt() {
            Err(e) if e.is_port_conflict() && tries < crate::ports::START_ATTEMPTS => tries += 1,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict() -> HarnessError {
        HarnessError::Exited {
            name: "x",
            status: "exit status: 1".into(),
            log_tail: "listen tcp 127.0.0.1:1: bind: address already in use".into(),
        }
    }

    #[test]
    fn retries_only_port_conflicts_and_only_so_often() {
        let mut calls = 0;
        let result = with_port_retries(|| {
            calls += 1;
            if calls < 3 { Err(conflict()) } else { Ok(calls) }
        });
        assert_eq!(result.unwrap(), 3);

        let mut calls = 0;
        let result: Result<(), _> = with_port_retries(|| {
            calls += 1;
            Err(conflict())
        });
        assert!(result.unwrap_err().is_port_conflict());
        assert_eq!(calls, crate::ports::START_ATTEMPTS);

        let mut calls = 0;
        let result: Result<(), _> = with_port_retries(|| {
            calls += 1;
            Err(HarnessError::Tool { program: "p", message: "m".into() })
        });
        assert!(!result.unwrap_err().is_port_conflict());
        assert_eq!(calls, 1);
    }

    #[test]
    fn a_process_that_exits_reports_its_log() {
        let dir = crate::TestDir::new("process").unwrap();
        let sh = crate::find_binary("sh").unwrap();
        let mut process = Process::new("sh", sh, dir.path(), dir.join("log"));
        process.set_args(vec!["-c".into(), "echo bind: address already in use >&2; exit 3".into()]);
        process.spawn().unwrap();
        let error = process.wait_ready(Duration::from_secs(10), || false).unwrap_err();
        assert!(error.is_port_conflict(), "{error}");
        assert!(error.to_string().contains("exit status: 3"), "{error}");
        assert!(!process.is_running());
    }

    #[test]
    fn stop_ends_a_process_that_obeys_sigterm() {
        let dir = crate::TestDir::new("process").unwrap();
        let sh = crate::find_binary("sh").unwrap();
        let mut process = Process::new("sleeper", sh, dir.path(), dir.join("log"));
        process.set_args(vec!["-c".into(), "exec sleep 60".into()]);
        process.spawn().unwrap();
        assert!(process.is_running());
        let started = Instant::now();
        let status = process.stop().unwrap();
        assert!(started.elapsed() < STOP_GRACE, "SIGTERM should end it at once");
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(status.signal(), Some(15));
        assert!(!process.is_running());
        assert!(process.log().starts_with("==== prw-integration: starting"));
    }
}
