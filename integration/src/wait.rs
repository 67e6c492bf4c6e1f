//! Bounded polling.

use std::thread;
use std::time::{Duration, Instant};

/// How often the harness polls.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// Calls `condition` every 25 ms until it returns true or `timeout` has passed; returns whether
/// it became true. It is called at least once, and once more at the deadline.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    wait_for(timeout, || condition().then_some(())).is_some()
}

/// Like [`wait_until`], for a condition that produces a value: the first `Some` is returned,
/// or `None` when `timeout` passed without one.
pub fn wait_for<T>(timeout: Duration, mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = attempt() {
            return Some(value);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        thread::sleep(POLL_INTERVAL.min(deadline - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_the_first_success() {
        let mut calls = 0;
        assert!(wait_until(Duration::from_secs(5), || {
            calls += 1;
            calls == 3
        }));
        assert_eq!(calls, 3);
    }

    #[test]
    fn gives_up_after_the_timeout() {
        let start = Instant::now();
        let mut calls = 0;
        assert_eq!(
            wait_for(Duration::from_millis(100), || {
                calls += 1;
                None::<()>
            }),
            None
        );
        assert!(start.elapsed() >= Duration::from_millis(100));
        assert!(calls >= 2, "polled {calls} times");
    }
}
