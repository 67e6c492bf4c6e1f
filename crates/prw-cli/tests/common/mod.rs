//! Running the built `prw` binary, fixtures and golden files.
#![allow(dead_code, unreachable_pub)] // each test file uses a different part

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The binary under test.
pub fn prw() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_prw"));
    // Tests read exact output: no logs from the environment's RUST_LOG.
    command.env_remove("RUST_LOG");
    command
}

/// `integration/fixtures/cli/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../integration/fixtures/cli").join(name)
}

/// What a finished run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs `prw args...` to the end, with stdin closed.
pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    prw().args(args).stdin(Stdio::null()).output().expect("the prw binary runs").into()
}

/// Runs `prw args...` with `input` on stdin.
pub fn run_with_stdin<I, S>(args: I, input: &[u8]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    use std::io::Write;
    let mut child = prw()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the prw binary runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("prw finishes");
    writer.join().expect("stdin writer");
    output.into()
}

/// Compares `actual` with the golden file `integration/fixtures/cli/golden/<name>`; with
/// `PRW_BLESS=1` writes it instead (then review the diff before committing).
pub fn assert_golden(name: &str, actual: &str) {
    let path = fixture("golden").join(name);
    if std::env::var_os("PRW_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("golden dir");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with PRW_BLESS=1 to create it)", path.display()));
    if expected != actual {
        let mut diff = String::new();
        let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
        for i in 0..e.len().max(a.len()) {
            match (e.get(i), a.get(i)) {
                (Some(x), Some(y)) if x == y => {}
                (x, y) => {
                    diff.push_str(&format!("line {}:\n  expected {x:?}\n  actual   {y:?}\n", i + 1))
                }
            }
        }
        panic!("{name} differs from its golden file {}:\n{diff}", path.display());
    }
}

/// A `prw receive` process on a free port, killed when dropped.
pub struct Receive {
    child: Child,
    pub addr: String,
    stderr_lines: mpsc::Receiver<String>,
    stdout: Option<std::thread::JoinHandle<String>>,
}

impl Receive {
    /// Starts `prw receive --listen 127.0.0.1:0 <extra>` and waits for its address.
    pub fn start(extra: &[&str]) -> Receive {
        let mut child = prw()
            .args(["receive", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("prw receive starts");
        let mut out = child.stdout.take().expect("stdout");
        // Read all along, so that a full pipe never blocks the receiver.
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut out, &mut text);
            text
        });
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first =
            rx.recv_timeout(Duration::from_secs(20)).expect("prw receive says where it listens");
        let addr = first
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .to_owned();
        Receive { child, addr, stderr_lines: rx, stdout: Some(stdout) }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    /// Waits for the process to end by itself (`--count`), returning its output.
    pub fn wait(mut self) -> Run {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(std::time::Instant::now() < deadline, "prw receive did not stop");
            std::thread::sleep(Duration::from_millis(20));
        };
        self.collect(status.code().unwrap_or(-1))
    }

    /// Sends SIGINT (as Ctrl-C does) and waits for the process to end.
    pub fn interrupt(mut self) -> Run {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-INT", &pid]).status().expect("kill runs");
        assert!(killed.success());
        let status = self.child.wait().expect("wait");
        self.collect(status.code().unwrap_or(-1))
    }

    fn collect(&mut self, code: i32) -> Run {
        let stdout =
            self.stdout.take().map(|t| t.join().expect("stdout reader")).unwrap_or_default();
        let mut stderr = String::new();
        while let Ok(line) = self.stderr_lines.recv_timeout(Duration::from_secs(5)) {
            stderr.push_str(&line);
            stderr.push('\n');
        }
        Run { code, stdout, stderr }
    }
}

impl Drop for Receive {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
