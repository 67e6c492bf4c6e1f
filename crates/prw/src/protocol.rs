//! Which Remote Write protocol an endpoint speaks, and the headers each one needs.

use http::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

/// The Remote Write protocol the exporter sends.
///
/// RW 1.0 is what every backend understands. RW 2.0 (2.0-rc.4, still experimental upstream)
/// sends a symbol table, inline metadata and start timestamps; few backends speak it yet, so
/// both [`Protocol::V2`] and [`Protocol::Auto`] fall back to RW 1.0 for an endpoint that answers
/// `415 Unsupported Media Type`, or a 2xx without the RW 2.0 `…-Written` headers (a 1.0
/// receiver that ignored the content type), and remember that choice for the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// Remote Write 1.0 (`prometheus.WriteRequest`). The default.
    #[default]
    V1,
    /// Remote Write 2.0 (`io.prometheus.write.v2.Request`); falls back to 1.0 unless
    /// fallback is turned off with
    /// [`fallback_to_v1(false)`](crate::PrometheusRemoteWriteExporterBuilder::fallback_to_v1).
    V2,
    /// Try Remote Write 2.0, fall back to 1.0 (always) where the endpoint does not speak it.
    Auto,
}

impl Protocol {
    /// The wire format the first request to an endpoint uses.
    pub(crate) fn first_wire(self) -> Wire {
        match self {
            Protocol::V1 => Wire::V1,
            Protocol::V2 | Protocol::Auto => Wire::V2,
        }
    }

    /// Whether a 415 (or an unconfirmed 2xx) to an RW 2.0 request may switch to RW 1.0.
    pub(crate) fn may_fall_back(self, fallback_enabled: bool) -> bool {
        match self {
            Protocol::V1 => false,
            Protocol::V2 => fallback_enabled,
            Protocol::Auto => true,
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::V1 => "1.0",
            Protocol::V2 => "2.0",
            Protocol::Auto => "auto",
        })
    }
}

impl std::str::FromStr for Protocol {
    type Err = ParseProtocolError;

    /// Accepts `1`, `1.0`, `v1`, `2`, `2.0`, `v2` and `auto` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "1" | "1.0" | "v1" => Ok(Protocol::V1),
            "2" | "2.0" | "v2" => Ok(Protocol::V2),
            "auto" => Ok(Protocol::Auto),
            _ => Err(ParseProtocolError(s.to_owned())),
        }
    }
}

/// A protocol name that is none of `1`, `2` or `auto`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown remote-write protocol {0:?}: use 1 (RW 1.0), 2 (RW 2.0) or auto")]
pub struct ParseProtocolError(String);

/// The encoding of one request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wire {
    /// `prometheus.WriteRequest`.
    V1,
    /// `io.prometheus.write.v2.Request`.
    V2,
}

/// `X-Prometheus-Remote-Write-Version`.
pub(crate) const VERSION_HEADER: HeaderName =
    HeaderName::from_static("x-prometheus-remote-write-version");
/// Sent with every retry, like Prometheus does, so receivers can tell retries apart.
pub(crate) const RETRY_ATTEMPT_HEADER: HeaderName = HeaderName::from_static("retry-attempt");

impl Wire {
    /// The `Content-Type` of a body in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Wire::V1 => "application/x-protobuf",
            Wire::V2 => "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        }
    }

    /// The `X-Prometheus-Remote-Write-Version` of a body in this encoding.
    pub fn version(self) -> &'static str {
        match self {
            Wire::V1 => "0.1.0",
            Wire::V2 => "2.0.0",
        }
    }

    /// The protocol headers every request in this encoding carries.
    pub(crate) fn headers(self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(3);
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("snappy"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type()));
        headers.insert(VERSION_HEADER, HeaderValue::from_static(self.version()));
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_follow_the_specs() {
        let v1 = Wire::V1.headers();
        assert_eq!(v1[CONTENT_ENCODING], "snappy");
        assert_eq!(v1[CONTENT_TYPE], "application/x-protobuf");
        assert_eq!(v1["x-prometheus-remote-write-version"], "0.1.0");
        let v2 = Wire::V2.headers();
        assert_eq!(v2[CONTENT_ENCODING], "snappy");
        assert_eq!(v2[CONTENT_TYPE], "application/x-protobuf;proto=io.prometheus.write.v2.Request");
        assert_eq!(v2["x-prometheus-remote-write-version"], "2.0.0");
    }

    #[test]
    fn protocol_parses_and_says_how_to_fix_a_typo() {
        for (text, want) in [
            ("1", Protocol::V1),
            ("1.0", Protocol::V1),
            ("V1", Protocol::V1),
            ("2", Protocol::V2),
            ("2.0", Protocol::V2),
            ("auto", Protocol::Auto),
            (" AUTO ", Protocol::Auto),
        ] {
            assert_eq!(text.parse::<Protocol>(), Ok(want), "{text}");
        }
        let err = "3".parse::<Protocol>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown remote-write protocol \"3\": use 1 (RW 1.0), 2 (RW 2.0) or auto"
        );
    }

    #[test]
    fn fallback_rules() {
        assert!(!Protocol::V1.may_fall_back(true));
        assert!(Protocol::V2.may_fall_back(true));
        assert!(!Protocol::V2.may_fall_back(false));
        assert!(Protocol::Auto.may_fall_back(false));
        assert_eq!(Protocol::V1.first_wire(), Wire::V1);
        assert_eq!(Protocol::Auto.first_wire(), Wire::V2);
    }
}
