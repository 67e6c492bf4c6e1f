//! Capped exponential backoff with jitter between retries of one endpoint.

use std::time::{Duration, SystemTime};

use prw_transport::RetryAfter;

/// How long to wait between attempts.
///
/// The nominal delay doubles from `min` up to `max`; the actual sleep is the nominal delay scaled
/// by a random factor in `[1 - JITTER, 1]`. So consecutive sleeps never shrink below
/// `1 - JITTER` (0.85) of the previous one, even at the cap, while clients that failed together
/// drift apart instead of retrying in lockstep.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    nominal: Option<Duration>,
}

/// The fraction of the nominal delay that jitter may remove.
pub(crate) const JITTER: f64 = 0.15;

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        Backoff { min, max: max.max(min), nominal: None }
    }

    /// The next sleep, advancing the nominal delay.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let nominal = match self.nominal {
            None => self.min,
            Some(prev) => prev.saturating_mul(2).min(self.max),
        };
        self.nominal = Some(nominal);
        nominal.mul_f64(1.0 - JITTER * fastrand::f64())
    }

    /// Back to the start after a success.
    pub(crate) fn reset(&mut self) {
        self.nominal = None;
    }
}

/// The delay a `Retry-After` asks for, capped; `None` when it asks for no delay at all.
pub(crate) fn retry_after_delay(
    retry_after: RetryAfter,
    cap: Duration,
    now: SystemTime,
) -> Option<Duration> {
    let wanted = match retry_after {
        RetryAfter::Delay(d) => d,
        RetryAfter::At(when) => when.duration_since(now).unwrap_or(Duration::ZERO),
    };
    (!wanted.is_zero()).then(|| wanted.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_min_to_max_and_never_shrinks_below_jitter() {
        for _ in 0..200 {
            let mut b = Backoff::new(Duration::from_millis(30), Duration::from_secs(5));
            let delays: Vec<Duration> = (0..20).map(|_| b.next_delay()).collect();
            assert!(delays[0] <= Duration::from_millis(30));
            assert!(delays[0] >= Duration::from_millis(30).mul_f64(1.0 - JITTER));
            for pair in delays.windows(2) {
                assert!(pair[1].as_secs_f64() >= 0.8 * pair[0].as_secs_f64(), "{delays:?}");
            }
            assert!(delays.iter().all(|d| *d <= Duration::from_secs(5)));
            // the cap is reached: 30ms * 2^8 > 5s
            assert!(delays[19] >= Duration::from_secs(5).mul_f64(1.0 - JITTER));
        }
    }

    #[test]
    fn reset_starts_over() {
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_secs(1));
        for _ in 0..5 {
            b.next_delay();
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(10));
    }

    #[test]
    fn jitter_varies_the_delays() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20 {
            let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
            seen.insert(b.next_delay());
        }
        assert!(seen.len() > 1);
    }

    #[test]
    fn max_below_min_is_min() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(10));
        b.next_delay();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn retry_after_is_capped_and_dates_are_relative() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let cap = Duration::from_secs(60);
        assert_eq!(
            retry_after_delay(RetryAfter::Delay(Duration::from_secs(2)), cap, now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after_delay(RetryAfter::Delay(Duration::from_secs(600)), cap, now),
            Some(cap)
        );
        assert_eq!(
            retry_after_delay(RetryAfter::At(now + Duration::from_secs(5)), cap, now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(retry_after_delay(RetryAfter::At(now - Duration::from_secs(5)), cap, now), None);
        assert_eq!(retry_after_delay(RetryAfter::Delay(Duration::ZERO), cap, now), None);
    }
}
