//! Settings of a persistent queue, checked before anything touches the disk.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// When appended requests are forced to stable storage with `fsync` (`fdatasync` on Linux).
///
/// Every request is handed to the operating system (`write(2)`) before it is sent whatever
/// the policy, so a crash of the process alone (a panic, SIGKILL, OOM kill) loses nothing;
/// the policy decides how much a power loss or kernel crash can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// After every request, before it is sent (the default).
    #[default]
    EveryRequest,
    /// After every `n` requests (`n >= 1`), and when a segment file is closed.
    EveryRequests(u32),
    /// On the first append at least this long after the previous fsync, and when a segment
    /// file is closed.
    Interval(Duration),
    /// Never; the operating system writes back in its own time.
    Never,
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EveryRequest => f.write_str("always"),
            Self::EveryRequests(n) => write!(f, "every={n}"),
            Self::Interval(d) => write!(f, "interval={}ms", d.as_millis()),
            Self::Never => f.write_str("never"),
        }
    }
}

/// The text of an `FsyncPolicy` was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid fsync policy {0:?}: expected `always`, `never`, `every=N` (N requests, N >= 1) \
     or `interval=DURATION` (e.g. `interval=500ms`, `interval=2s`)"
)]
pub struct ParseFsyncPolicyError(String);

impl FromStr for FsyncPolicy {
    type Err = ParseFsyncPolicyError;

    /// `always`, `never`, `every=N` or `interval=DURATION` (`ms`, `s`, `m` or `h`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseFsyncPolicyError(s.to_owned());
        let text = s.trim();
        match text {
            "always" => return Ok(Self::EveryRequest),
            "never" => return Ok(Self::Never),
            _ => {}
        }
        if let Some(n) = text.strip_prefix("every=") {
            let n: u32 = n.trim().parse().map_err(|_| err())?;
            return if n == 0 { Err(err()) } else { Ok(Self::EveryRequests(n)) };
        }
        if let Some(d) = text.strip_prefix("interval=") {
            let d = parse_duration(d.trim()).ok_or_else(err)?;
            return if d.is_zero() { Err(err()) } else { Ok(Self::Interval(d)) };
        }
        Err(err())
    }
}

/// `250ms`, `2s`, `5m`, `1h`.
fn parse_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        "h" => n.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    }
}

/// The smallest accepted `max_bytes`: room for a few full-size requests and segments.
pub const MIN_MAX_BYTES: u64 = 1 << 20;
/// The default `max_bytes`: 512 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 512 << 20;
/// The default `max_age`: 2 hours, about as long as Prometheus keeps data for a down
/// remote-write endpoint in its WAL, and older than most receivers accept anyway.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(2 * 3600);

/// Where a persistent queue lives and how far it may grow.
///
/// ```
/// use std::time::Duration;
/// use prw::persistent_queue::{FsyncPolicy, PersistentQueueConfig};
///
/// let config = PersistentQueueConfig::new("/var/lib/myservice/prw-queue")
///     .max_bytes(256 << 20)
///     .max_age(Duration::from_secs(3600))
///     .fsync(FsyncPolicy::Interval(Duration::from_millis(500)));
/// config.validate().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistentQueueConfig {
    pub(crate) dir: PathBuf,
    pub(crate) max_bytes: u64,
    pub(crate) max_age: Option<Duration>,
    pub(crate) fsync: FsyncPolicy,
}

/// A `PersistentQueueConfig` that cannot work, with how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersistentQueueConfigError {
    /// The directory path is empty.
    #[error(
        "persistent queue directory is empty: give a directory path (it is created if missing)"
    )]
    EmptyDir,
    /// `max_bytes` is below `MIN_MAX_BYTES`.
    #[error(
        "persistent queue max_bytes is {0} bytes: it must be at least {MIN_MAX_BYTES} (1 MiB) \
         so that full-size requests fit"
    )]
    MaxBytesTooSmall(u64),
    /// `max_age` is zero.
    #[error("persistent queue max_age is zero: give a positive duration, or no age bound at all")]
    ZeroMaxAge,
    /// `FsyncPolicy::EveryRequests(0)`.
    #[error("persistent queue fsync policy every=0: N must be at least 1")]
    ZeroFsyncCount,
    /// `FsyncPolicy::Interval(0)`.
    #[error("persistent queue fsync interval is zero: use `always` to sync every request")]
    ZeroFsyncInterval,
}

impl PersistentQueueConfig {
    /// A queue in `dir` (created when missing) with the defaults: 512 MiB, 2 hours, an
    /// fsync per request.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            max_bytes: DEFAULT_MAX_BYTES,
            max_age: Some(DEFAULT_MAX_AGE),
            fsync: FsyncPolicy::default(),
        }
    }

    /// The most the queue's files may take on disk, in bytes (at least `MIN_MAX_BYTES`).
    /// When a new request would not fit, the oldest requests are dropped and counted.
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Requests older than this (from their creation) are dropped and counted instead of sent.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// No age bound: requests wait as long as the byte bound allows.
    pub fn no_max_age(mut self) -> Self {
        self.max_age = None;
        self
    }

    /// When appends are fsynced.
    pub fn fsync(mut self, policy: FsyncPolicy) -> Self {
        self.fsync = policy;
        self
    }

    /// The queue directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The byte bound.
    pub fn get_max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The age bound, if any.
    pub fn get_max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// The fsync policy.
    pub fn get_fsync(&self) -> FsyncPolicy {
        self.fsync
    }

    /// Checks every setting.
    pub fn validate(&self) -> Result<(), PersistentQueueConfigError> {
        if self.dir.as_os_str().is_empty() {
            return Err(PersistentQueueConfigError::EmptyDir);
        }
        if self.max_bytes < MIN_MAX_BYTES {
            return Err(PersistentQueueConfigError::MaxBytesTooSmall(self.max_bytes));
        }
        if self.max_age.is_some_and(|age| age.is_zero()) {
            return Err(PersistentQueueConfigError::ZeroMaxAge);
        }
        match self.fsync {
            FsyncPolicy::EveryRequests(0) => Err(PersistentQueueConfigError::ZeroFsyncCount),
            FsyncPolicy::Interval(d) if d.is_zero() => {
                Err(PersistentQueueConfigError::ZeroFsyncInterval)
            }
            _ => Ok(()),
        }
    }

    /// The size at which a segment file is closed and a new one started: small enough that
    /// dropping or deleting one whole segment moves the queue by at most 1/16 of its bound.
    pub(crate) fn segment_target(&self) -> u64 {
        (self.max_bytes / 16).clamp(64 << 10, 8 << 20)
    }

    /// The largest request body accepted: a quarter of the bound, so that one request never
    /// pushes out most of the queue.
    pub(crate) fn max_record(&self) -> u64 {
        (self.max_bytes / 4).min(u64::from(super::record::MAX_PAYLOAD))
    }
}

impl From<PathBuf> for PersistentQueueConfig {
    /// A queue in this directory, with the default bounds and fsync policy.
    fn from(dir: PathBuf) -> Self {
        Self::new(dir)
    }
}

impl From<&Path> for PersistentQueueConfig {
    fn from(dir: &Path) -> Self {
        Self::new(dir)
    }
}

impl From<&str> for PersistentQueueConfig {
    fn from(dir: &str) -> Self {
        Self::new(dir)
    }
}

impl From<String> for PersistentQueueConfig {
    fn from(dir: String) -> Self {
        Self::new(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsync_policies_parse() {
        let table = [
            ("always", Some(FsyncPolicy::EveryRequest)),
            ("never", Some(FsyncPolicy::Never)),
            ("every=10", Some(FsyncPolicy::EveryRequests(10))),
            ("every=0", None),
            ("every=x", None),
            ("interval=500ms", Some(FsyncPolicy::Interval(Duration::from_millis(500)))),
            ("interval=2s", Some(FsyncPolicy::Interval(Duration::from_secs(2)))),
            ("interval=1m", Some(FsyncPolicy::Interval(Duration::from_secs(60)))),
            ("interval=0s", None),
            ("interval=5", None),
            ("sometimes", None),
            ("", None),
        ];
        for (text, want) in table {
            assert_eq!(text.parse::<FsyncPolicy>().ok(), want, "{text:?}");
        }
        for policy in [
            FsyncPolicy::EveryRequest,
            FsyncPolicy::Never,
            FsyncPolicy::EveryRequests(3),
            FsyncPolicy::Interval(Duration::from_millis(250)),
        ] {
            assert_eq!(policy.to_string().parse::<FsyncPolicy>(), Ok(policy));
        }
    }

    #[test]
    fn bad_settings_are_refused_with_a_fix() {
        let ok = PersistentQueueConfig::new("/q");
        assert_eq!(ok.validate(), Ok(()));
        let cases = [
            (PersistentQueueConfig::new(""), PersistentQueueConfigError::EmptyDir),
            (ok.clone().max_bytes(1000), PersistentQueueConfigError::MaxBytesTooSmall(1000)),
            (ok.clone().max_age(Duration::ZERO), PersistentQueueConfigError::ZeroMaxAge),
            (
                ok.clone().fsync(FsyncPolicy::EveryRequests(0)),
                PersistentQueueConfigError::ZeroFsyncCount,
            ),
            (
                ok.clone().fsync(FsyncPolicy::Interval(Duration::ZERO)),
                PersistentQueueConfigError::ZeroFsyncInterval,
            ),
        ];
        for (config, want) in cases {
            assert_eq!(config.validate(), Err(want));
        }
        assert!(
            PersistentQueueConfigError::MaxBytesTooSmall(1000)
                .to_string()
                .contains("at least 1048576")
        );
    }
}
