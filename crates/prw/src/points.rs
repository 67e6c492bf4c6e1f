//! Walking the points of an OTLP collection: their times, for the collection time, for
//! keeping each series' timestamps strictly increasing across collections, and for the stale
//! markers at shutdown.

use prw_proto::otlp::metrics::{Exemplar, ResourceMetrics, metric};

const MS: u64 = 1_000_000;
/// OTLP's `FLAG_NO_RECORDED_VALUE`: the conversion turns such a point into a stale marker.
const NO_RECORDED_VALUE: u32 = 1;

/// One point's mutable parts.
struct Point<'a> {
    time: &'a mut u64,
    flags: &'a mut u32,
    exemplars: Option<&'a mut Vec<Exemplar>>,
}

fn for_each_point(metrics: &mut ResourceMetrics, mut f: impl FnMut(Point<'_>)) {
    for sm in &mut metrics.scope_metrics {
        for m in &mut sm.metrics {
            match &mut m.data {
                Some(metric::Data::Gauge(g)) => g.data_points.iter_mut().for_each(|p| {
                    f(Point {
                        time: &mut p.time_unix_nano,
                        flags: &mut p.flags,
                        exemplars: Some(&mut p.exemplars),
                    })
                }),
                Some(metric::Data::Sum(s)) => s.data_points.iter_mut().for_each(|p| {
                    f(Point {
                        time: &mut p.time_unix_nano,
                        flags: &mut p.flags,
                        exemplars: Some(&mut p.exemplars),
                    })
                }),
                Some(metric::Data::Histogram(h)) => h.data_points.iter_mut().for_each(|p| {
                    f(Point {
                        time: &mut p.time_unix_nano,
                        flags: &mut p.flags,
                        exemplars: Some(&mut p.exemplars),
                    })
                }),
                Some(metric::Data::ExponentialHistogram(h)) => {
                    h.data_points.iter_mut().for_each(|p| {
                        f(Point {
                            time: &mut p.time_unix_nano,
                            flags: &mut p.flags,
                            exemplars: Some(&mut p.exemplars),
                        })
                    })
                }
                Some(metric::Data::Summary(s)) => s.data_points.iter_mut().for_each(|p| {
                    f(Point { time: &mut p.time_unix_nano, flags: &mut p.flags, exemplars: None })
                }),
                None => {}
            }
        }
    }
}

/// Keeps collections that land in the same millisecond (a periodic collection right before a
/// `force_flush`) from sending one series two different values at one timestamp, which
/// Prometheus answers with a 400 that rolls back the whole request.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    /// The newest point time (ms) of the previous collections, as received.
    last_raw: u64,
    /// The same after moving, as sent.
    last_sent: u64,
}

impl Clock {
    /// Moves points at the previous collection's newest millisecond (or a millisecond it was
    /// moved over) to just after it; returns the collection's newest time in nanoseconds
    /// (0 when it has no points). Older points (backfill) are left alone.
    pub(crate) fn advance(&mut self, metrics: &mut ResourceMetrics) -> u64 {
        let (raw_floor, sent) = (self.last_raw, self.last_sent);
        let mut newest_raw = 0;
        let mut newest = 0;
        for_each_point(metrics, |p| {
            let ms = *p.time / MS;
            newest_raw = newest_raw.max(ms);
            if sent > 0 && ms >= raw_floor && ms <= sent {
                *p.time = (sent + 1) * MS;
            }
            newest = newest.max(*p.time);
        });
        if newest_raw > 0 {
            self.last_raw = self.last_raw.max(newest_raw);
            self.last_sent = self.last_sent.max(newest / MS);
        }
        newest
    }
}

/// The collection with every point marked "no recorded value" (the conversion turns those into
/// stale markers), at a time after both `now_ns` and the point itself, so that a marker never
/// shares a timestamp with the last real sample.
pub(crate) fn stale(mut metrics: ResourceMetrics, now_ns: u64) -> ResourceMetrics {
    for_each_point(&mut metrics, |p| {
        *p.flags |= NO_RECORDED_VALUE;
        *p.time = now_ns.max(p.time.saturating_add(MS));
        if let Some(e) = p.exemplars {
            e.clear();
        }
    });
    metrics
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::otlp::{T0, counter, gauge, point, resource};

    fn times(m: &mut ResourceMetrics) -> Vec<u64> {
        let mut out = Vec::new();
        for_each_point(m, |p| out.push(*p.time));
        out
    }

    #[test]
    fn collections_in_the_same_millisecond_move_apart() {
        let mut clock = Clock::default();
        let at = |ns: u64| {
            resource(
                "s",
                vec![
                    gauge("g", vec![point(&[], 1.0, ns)]),
                    counter("c", vec![point(&[], 2.0, ns)]),
                ],
            )
        };
        let mut a = at(T0 + 100);
        assert_eq!(clock.advance(&mut a), T0 + 100);
        assert_eq!(times(&mut a), vec![T0 + 100; 2], "the first collection is left alone");
        let mut b = at(T0 + 900); // the same millisecond
        clock.advance(&mut b);
        assert_eq!(times(&mut b), vec![T0 + MS; 2]);
        let mut c = at(T0 + 999); // and a third one
        clock.advance(&mut c);
        assert_eq!(times(&mut c), vec![T0 + 2 * MS; 2]);
        let mut d = at(T0 + 5 * MS); // later: untouched
        clock.advance(&mut d);
        assert_eq!(times(&mut d), vec![T0 + 5 * MS; 2]);
        let mut old = at(T0 - 60_000 * MS); // backfill: untouched
        clock.advance(&mut old);
        assert_eq!(times(&mut old), vec![T0 - 60_000 * MS; 2]);
        let mut empty = resource("s", vec![]);
        assert_eq!(clock.advance(&mut empty), 0);
    }

    #[test]
    fn stale_marks_every_point_after_its_time() {
        let m = resource(
            "s",
            vec![gauge("g", vec![point(&[], 1.0, T0), point(&[("a", "b")], 1.0, T0 + 10 * MS)])],
        );
        let mut s = stale(m, T0 + 5 * MS);
        let mut flags = Vec::new();
        for_each_point(&mut s, |p| flags.push((*p.time, *p.flags)));
        assert_eq!(flags, vec![(T0 + 5 * MS, 1), (T0 + 11 * MS, 1)]);
    }
}
