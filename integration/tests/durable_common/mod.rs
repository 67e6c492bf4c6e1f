//! What the durable-delivery tests share: starting `durable_app` (src/bin/durable_app.rs),
//! following what it queued, killing it, and reading its memory and its queue directory.

#![allow(dead_code, unreachable_pub)] // each durable test file uses a different part

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use prw_integration::{Prometheus, wait_for};

/// A running `durable_app`; killed (SIGKILL) when dropped.
pub struct App {
    child: Child,
    /// The last `queued N` it printed (0 before the first).
    queued: Arc<AtomicI64>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl App {
    /// Starts it with these flags (`--endpoint` and `--run` at least) and waits for `ready`.
    pub fn start(args: &[&str]) -> App {
        let mut child = Command::new(env!("CARGO_BIN_EXE_durable_app"))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("durable_app starts");
        let queued = Arc::new(AtomicI64::new(0));
        let stderr = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let q = queued.clone();
        let out_reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Some(n) = line.strip_prefix("queued ").and_then(|n| n.parse().ok()) {
                    q.store(n, Ordering::SeqCst);
                }
            }
        });
        let e = stderr.clone();
        let err_reader = std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                let mut e = e.lock().expect("lock");
                // Keep the end: enough to diagnose, bounded however long it runs.
                if e.len() > 64 << 10 {
                    e.drain(..32 << 10);
                }
                e.push_str(&line);
                e.push('\n');
            }
        });
        let app = App { child, queued, stderr, readers: vec![out_reader, err_reader] };
        // `queued 1` comes with the first collection.
        assert!(
            wait_for(Duration::from_secs(20), || (app.queued() >= 1).then_some(())).is_some(),
            "durable_app queued nothing: {}",
            app.stderr()
        );
        app
    }

    /// The last collection whose export returned.
    pub fn queued(&self) -> i64 {
        self.queued.load(Ordering::SeqCst)
    }

    /// Waits until collection `n` is queued.
    pub fn wait_queued(&self, n: i64, timeout: Duration) {
        assert!(
            wait_for(timeout, || (self.queued() >= n).then_some(())).is_some(),
            "durable_app queued only {} of {n}: {}",
            self.queued(),
            self.stderr()
        );
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it logged (the end of it).
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    /// `VmHWM` (peak resident set) and `VmRSS` from /proc, in bytes.
    pub fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/<pid>/status");
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map_or(0, |kb| kb * 1024)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    /// SIGKILL, as a crash would; returns the last `queued N` it printed before dying.
    pub fn kill(mut self) -> i64 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The pipes close with the process: the readers have seen every line it wrote.
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        self.queued()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The values of `durable_seq{run="<run>"}` stored in Prometheus, in time order.
pub fn stored(p: &Prometheus, run: &str) -> Vec<(i64, f64)> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let series = p
        .samples(&format!(r#"durable_seq{{run="{run}"}}"#), now - 3_600_000, now + 60_000)
        .unwrap_or_else(|e| panic!("query: {e}\n{}", p.log()));
    assert!(series.len() <= 1, "one series per run: {series:?}");
    series.into_iter().next().map(|(_, s)| s).unwrap_or_default()
}

/// Checks that `samples` are exactly 1, 2, ..., n (every collection, once, in time order) and
/// returns n.
pub fn assert_complete(run: &str, samples: &[(i64, f64)]) -> i64 {
    let values: Vec<i64> = samples.iter().map(|s| s.1 as i64).collect();
    let want: Vec<i64> = (1..=values.len() as i64).collect();
    if values != want {
        let missing: Vec<i64> = (1..=values.iter().copied().max().unwrap_or(0))
            .filter(|v| !values.contains(v))
            .collect();
        panic!("run {run}: not every collection in order: missing {missing:?}; got {values:?}");
    }
    assert!(samples.windows(2).all(|w| w[0].0 < w[1].0), "run {run}: timestamps increase");
    values.len() as i64
}

/// The size of the files in `dir` (not recursive).
pub fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}
