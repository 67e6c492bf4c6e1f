//! What the server answered: status, `Retry-After`, the RW 2.0 written counts, the error body.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::HeaderMap;

/// The most of a response body a [`Response`] keeps (for error messages).
pub const MAX_BODY: usize = 1024;

/// `X-Prometheus-Remote-Write-Samples-Written`.
pub const SAMPLES_WRITTEN: &str = "x-prometheus-remote-write-samples-written";
/// `X-Prometheus-Remote-Write-Histograms-Written`.
pub const HISTOGRAMS_WRITTEN: &str = "x-prometheus-remote-write-histograms-written";
/// `X-Prometheus-Remote-Write-Exemplars-Written`.
pub const EXEMPLARS_WRITTEN: &str = "x-prometheus-remote-write-exemplars-written";

/// When the server asked us to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Delay(Duration),
    /// `Retry-After: <HTTP date>`.
    At(SystemTime),
}

impl RetryAfter {
    /// Parses a `Retry-After` value: a non-negative number of seconds or an HTTP date in any of
    /// the three forms RFC 9110 §5.6.7 makes recipients accept. `None` when it is neither.
    pub fn parse(value: &str) -> Option<RetryAfter> {
        let value = value.trim();
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            // More digits than fit in a u64 are still "a very long time", not garbage.
            let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
            return Some(RetryAfter::Delay(Duration::from_secs(seconds)));
        }
        httpdate::parse_http_date(value).ok().map(RetryAfter::At)
    }

    /// How long to wait from `now`; a date in the past means "now" (zero).
    pub fn delay_from(self, now: SystemTime) -> Duration {
        match self {
            RetryAfter::Delay(delay) => delay,
            RetryAfter::At(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
        }
    }
}

/// The RW 2.0 `X-Prometheus-Remote-Write-*-Written` counts; `None` when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    /// `X-Prometheus-Remote-Write-Samples-Written`.
    pub samples: Option<i64>,
    /// `X-Prometheus-Remote-Write-Histograms-Written`.
    pub histograms: Option<i64>,
    /// `X-Prometheus-Remote-Write-Exemplars-Written`.
    pub exemplars: Option<i64>,
}

impl Written {
    /// Reads the three counts from response headers. A header that is missing, repeated with
    /// different values, or not an integer counts as absent.
    pub fn from_headers(headers: &HeaderMap) -> Written {
        Written {
            samples: header_i64(headers, SAMPLES_WRITTEN),
            histograms: header_i64(headers, HISTOGRAMS_WRITTEN),
            exemplars: header_i64(headers, EXEMPLARS_WRITTEN),
        }
    }

    /// True when none of the three headers was present.
    pub fn is_absent(&self) -> bool {
        self.samples.is_none() && self.histograms.is_none() && self.exemplars.is_none()
    }
}

fn header_i64(headers: &HeaderMap, name: &str) -> Option<i64> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?.to_str().ok()?.trim().parse::<i64>().ok()?;
    for other in values {
        if other.to_str().ok()?.trim().parse::<i64>().ok()? != first {
            return None;
        }
    }
    Some(first)
}

/// What the server answered.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: http::StatusCode,
    /// `Retry-After`, when present and valid.
    pub retry_after: Option<RetryAfter>,
    /// The RW 2.0 written counts.
    pub written: Written,
    /// At most the first [`MAX_BODY`] (1 KiB) bytes of the body (for error messages).
    pub body: Bytes,
}

impl Response {
    /// A response with this status, no `Retry-After`, no written counts and an empty body
    /// (handy for test doubles).
    pub fn new(status: http::StatusCode) -> Response {
        Response { status, retry_after: None, written: Written::default(), body: Bytes::new() }
    }

    /// Builds a response from the status, headers and (already truncated) body of an answer.
    pub fn from_parts(status: http::StatusCode, headers: &HeaderMap, body: Bytes) -> Response {
        let retry_after = headers
            .get(http::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(RetryAfter::parse);
        Response { status, retry_after, written: Written::from_headers(headers), body }
    }

    /// How long the server asked us to wait, counted from `now`; `None` without `Retry-After`.
    pub fn retry_after_delay(&self, now: SystemTime) -> Option<Duration> {
        self.retry_after.map(|retry| retry.delay_from(now))
    }

    /// The kept body as text (invalid UTF-8 replaced), for logs and error messages.
    pub fn body_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn retry_after_in_seconds() {
        let cases = [
            ("0", Some(0)),
            ("120", Some(120)),
            (" 7 ", Some(7)),
            ("99999999999999999999999", Some(u64::MAX)),
            ("-1", None),
            ("1.5", None),
            ("", None),
            ("soon", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                RetryAfter::parse(text),
                want.map(|s| RetryAfter::Delay(Duration::from_secs(s))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn retry_after_as_http_date_in_all_three_forms() {
        // 1994-11-06T08:49:37Z, the example of RFC 9110.
        let want = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(RetryAfter::parse(text), Some(RetryAfter::At(want)), "{text:?}");
        }
        assert_eq!(RetryAfter::parse("Sun, 06 Nov 1994 25:49:37 GMT"), None);
    }

    #[test]
    fn delay_from_now() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let later = RetryAfter::At(now + Duration::from_secs(30));
        let past = RetryAfter::At(now - Duration::from_secs(30));
        assert_eq!(later.delay_from(now), Duration::from_secs(30));
        assert_eq!(past.delay_from(now), Duration::ZERO);
        assert_eq!(
            RetryAfter::Delay(Duration::from_secs(5)).delay_from(now),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn response_reads_the_headers_that_matter() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3"));
        headers.insert(SAMPLES_WRITTEN, HeaderValue::from_static("10"));
        headers.insert(HISTOGRAMS_WRITTEN, HeaderValue::from_static("nope"));
        headers.append(EXEMPLARS_WRITTEN, HeaderValue::from_static("2"));
        headers.append(EXEMPLARS_WRITTEN, HeaderValue::from_static("3"));
        let response =
            Response::from_parts(http::StatusCode::TOO_MANY_REQUESTS, &headers, Bytes::new());
        assert_eq!(response.retry_after, Some(RetryAfter::Delay(Duration::from_secs(3))));
        assert_eq!(
            response.written,
            Written { samples: Some(10), histograms: None, exemplars: None }
        );
        assert_eq!(response.retry_after_delay(SystemTime::now()), Some(Duration::from_secs(3)));

        let empty =
            Response::from_parts(http::StatusCode::NO_CONTENT, &HeaderMap::new(), Bytes::new());
        assert!(empty.written.is_absent());
        assert_eq!(empty.retry_after, None);
    }

    proptest::proptest! {
        #[test]
        fn retry_after_never_panics(text in "\\PC*") {
            let _ = RetryAfter::parse(&text);
        }

        #[test]
        fn retry_after_seconds_round_trip(seconds in 0u64..=u64::MAX) {
            proptest::prop_assert_eq!(
                RetryAfter::parse(&seconds.to_string()),
                Some(RetryAfter::Delay(Duration::from_secs(seconds)))
            );
        }

        #[test]
        fn retry_after_dates_round_trip(seconds in 0u64..253_402_300_799) {
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs(seconds);
            proptest::prop_assert_eq!(
                RetryAfter::parse(&httpdate::fmt_http_date(at)),
                Some(RetryAfter::At(at))
            );
        }
    }
}
