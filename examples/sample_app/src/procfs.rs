//! Real process figures from /proc, for the observable instruments.

use std::fs;

/// User + system CPU time of this process, in seconds.
pub(crate) fn cpu_seconds() -> Option<f64> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // the command name (field 2) may hold spaces; the fields after its ')' are fixed
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // after ')': state is field 3, so utime (14) and stime (15) are at 11 and 12
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux architecture we run on
    Some((utime + stime) / 100.0)
}

/// A `kB` line of /proc/self/status, in bytes.
fn status_kb(key: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

/// Resident set size in bytes.
pub(crate) fn rss_bytes() -> Option<u64> {
    status_kb("VmRSS:")
}

/// Number of threads.
pub(crate) fn threads() -> Option<i64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|v| v.trim().parse().ok())
}

/// Open file descriptors.
pub(crate) fn open_fds() -> Option<i64> {
    Some(fs::read_dir("/proc/self/fd").ok()?.count() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        assert!(cpu_seconds().is_some_and(|s| s >= 0.0));
        assert!(rss_bytes().is_some_and(|b| b > 1024 * 1024));
        assert!(threads().is_some_and(|t| t >= 1));
        assert!(open_fds().is_some_and(|n| n >= 3));
    }
}
