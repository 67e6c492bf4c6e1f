//! Command-line flags.

use std::time::Duration;

use clap::Parser;

/// A service instrumented with every prw instrument and aggregation, pushing its metrics to a
/// Prometheus Remote Write endpoint. Without --endpoint it starts a debug receiver in the
/// same process and prints the series a backend would store, as they arrive.
#[derive(Debug, Parser)]
#[command(name = "sample_app", version)]
pub(crate) struct Args {
    /// Remote-write URL, e.g. http://localhost:9090/api/v1/write. Default: an embedded debug
    /// receiver that prints what arrives.
    #[arg(long)]
    pub(crate) endpoint: Option<String>,

    /// Collection interval (e.g. 500ms, 1s, 15s, 1m).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub(crate) interval: Duration,

    /// Run this long, then shut down gracefully and exit (e.g. 6s). Default: until Ctrl-C.
    #[arg(long, value_parser = parse_duration)]
    pub(crate) duration: Option<Duration>,

    /// Remote Write protocol: 1, 2 or auto.
    #[arg(long, default_value = "1")]
    pub(crate) protocol: prw::Protocol,

    /// An extra request header, NAME=VALUE (repeatable), e.g. X-Scope-OrgID=tenant-1.
    #[arg(long = "header", value_name = "NAME=VALUE", value_parser = parse_header)]
    pub(crate) headers: Vec<(String, String)>,

    /// HTTP basic authentication, USER:PASSWORD.
    #[arg(long, value_name = "USER:PASSWORD", value_parser = parse_basic_auth, conflicts_with_all = ["bearer_token", "bearer_token_file"])]
    pub(crate) basic_auth: Option<(String, String)>,

    /// HTTP basic authentication with the password read from a file: USER:PATH.
    #[arg(long, value_name = "USER:PATH", value_parser = parse_basic_auth, conflicts_with_all = ["basic_auth", "bearer_token", "bearer_token_file"])]
    pub(crate) basic_auth_file: Option<(String, String)>,

    /// Authorization: Bearer TOKEN.
    #[arg(long, value_name = "TOKEN", conflicts_with = "bearer_token_file")]
    pub(crate) bearer_token: Option<String>,

    /// Bearer token read from a file (re-read when it changes).
    #[arg(long, value_name = "PATH")]
    pub(crate) bearer_token_file: Option<String>,

    /// A CA certificate file (PEM) to trust instead of the system store.
    #[arg(long, value_name = "PATH")]
    pub(crate) ca_file: Option<String>,

    /// Skip TLS certificate verification (tests only).
    #[arg(long)]
    pub(crate) insecure_skip_verify: bool,

    /// Request timeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,

    /// Keep requests in a persistent queue in this directory until they are delivered, so
    /// that an outage, a crash or a restart loses nothing (what is left is sent first at the
    /// next start). One directory per running app.
    #[arg(long, value_name = "DIR")]
    pub(crate) queue_dir: Option<std::path::PathBuf>,

    /// The persistent queue's bound on disk, in bytes (default 512 MiB); the oldest requests
    /// are dropped and counted beyond it.
    #[arg(long, value_name = "BYTES", requires = "queue_dir")]
    pub(crate) queue_max_bytes: Option<u64>,

    /// When the persistent queue fsyncs: always (default), never, every=N or
    /// interval=DURATION (e.g. interval=1s).
    #[arg(long, value_name = "POLICY", requires = "queue_dir")]
    pub(crate) queue_fsync: Option<prw::persistent_queue::FsyncPolicy>,

    /// service.name, which becomes the job label.
    #[arg(long, default_value = "sample_app")]
    pub(crate) service_name: String,
}

/// `250ms`, `1s`, `1.5s`, `2m`, `1h`; a bare number is seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration: write it like 500ms, 1s or 2m"))?;
    let seconds = match unit {
        "ms" => n / 1_000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3_600.0,
        _ => return Err(format!("unknown unit {unit:?} in {s:?}: use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{s:?} is out of range"))
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(format!("{s:?} is not NAME=VALUE")),
    }
}

fn parse_basic_auth(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((u, p)) if !u.is_empty() && !p.is_empty() => Ok((u.to_owned(), p.to_owned())),
        // never echo the input: it holds a password
        _ => Err("expected USER:PASSWORD (or USER:PATH), both non-empty".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (s, want) in [
            ("500ms", Duration::from_millis(500)),
            ("1s", Duration::from_secs(1)),
            ("1.5s", Duration::from_millis(1_500)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3_600)),
            ("6", Duration::from_secs(6)),
        ] {
            assert_eq!(parse_duration(s), Ok(want), "{s}");
        }
        assert!(parse_duration("1d").unwrap_err().contains("use ms, s, m or h"));
        assert!(parse_duration("fast").unwrap_err().contains("like 500ms"));
    }

    #[test]
    fn headers_and_auth() {
        assert_eq!(parse_header("X-Scope-OrgID=t1"), Ok(("X-Scope-OrgID".into(), "t1".into())));
        assert_eq!(parse_header("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert!(parse_header("novalue").is_err());
        assert_eq!(parse_basic_auth("u:p:q"), Ok(("u".into(), "p:q".into())));
        let err = parse_basic_auth("secretonly").unwrap_err();
        assert!(!err.contains("secretonly"));
    }

    #[test]
    fn the_readme_command_line_parses() {
        let a = Args::try_parse_from([
            "sample_app",
            "--endpoint",
            "http://localhost:9090/api/v1/write",
            "--interval",
            "1s",
            "--duration",
            "6s",
            "--protocol",
            "auto",
            "--header",
            "X-Scope-OrgID=tenant-1",
            "--basic-auth",
            "user:pw",
        ])
        .unwrap();
        assert_eq!(a.duration, Some(Duration::from_secs(6)));
        assert_eq!(a.protocol, prw::Protocol::Auto);
        assert!(
            Args::try_parse_from(["sample_app", "--basic-auth", "u:p", "--bearer-token", "t"])
                .is_err()
        );
        let a = Args::try_parse_from([
            "sample_app",
            "--queue-dir",
            "/var/lib/sample_app/queue",
            "--queue-max-bytes",
            "67108864",
            "--queue-fsync",
            "every=10",
        ])
        .unwrap();
        assert_eq!(a.queue_dir, Some("/var/lib/sample_app/queue".into()));
        assert_eq!(a.queue_max_bytes, Some(64 << 20));
        assert_eq!(a.queue_fsync, Some(prw::persistent_queue::FsyncPolicy::EveryRequests(10)));
        assert!(Args::try_parse_from(["sample_app", "--queue-fsync", "always"]).is_err());
        assert!(
            Args::try_parse_from(["sample_app", "--queue-dir", "q", "--queue-fsync", "sometimes"])
                .is_err()
        );
    }
}
