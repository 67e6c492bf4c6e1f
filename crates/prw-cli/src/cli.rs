//! The command line: commands, flags and their help.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::duration::parse_duration;

const EXIT_CODES: &str = "\
Exit codes:
  0  everything was accepted (send), printed (convert), or the receiver stopped cleanly
  1  the backend rejected something or retries ran out (send)
  2  usage or input error: a bad flag, a missing or malformed file";

/// Replay OTLP metrics into any Prometheus Remote Write backend, see what they look like in
/// Prometheus, and see what an application actually sends.
#[derive(Debug, Parser)]
#[command(name = "prw", version, after_help = EXIT_CODES, propagate_version = true)]
pub(crate) struct Cli {
    /// More detail on stderr: -v for what was read and done, -vv for debug logs (every
    /// request), -vvv for everything. RUST_LOG overrides it.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
    /// Only errors: no summary, no progress bar, no warnings.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Convert OTLP metrics and push them to a Remote Write endpoint
    #[command(after_help = SEND_EXAMPLES)]
    Send(Box<SendArgs>),
    /// Print the series a backend would store for OTLP metrics
    #[command(after_help = CONVERT_EXAMPLES)]
    Convert(ConvertArgs),
    /// Run a debug Remote Write receiver and print what arrives
    #[command(after_help = RECEIVE_EXAMPLES)]
    Receive(ReceiveArgs),
}

const SEND_EXAMPLES: &str = "\
Examples:
  prw send --endpoint http://localhost:9090/api/v1/write metrics.json
  cat exported.jsonl | prw send --endpoint http://localhost:8428/api/v1/write -
  prw send --endpoint https://mimir.example.com/api/v1/push --protocol 2 \\
      --basic-auth-user tenant-1 --basic-auth-password-file /run/secrets/mimir \\
      --header X-Scope-OrgID=tenant-1 --tls-ca ca.pem metrics.pb
  prw send --endpoint http://localhost:9201/ --max-retry-duration 30s --timeout 5s -v *.json

Prints one line when done, e.g.:
  sent 1 request, 12 series, 12 samples; 0 retried, 0 dropped

Exit codes:
  0  everything was accepted
  1  something was rejected or retries ran out (the summary says how much)
  2  usage or input error";

const CONVERT_EXAMPLES: &str = "\
Examples:
  prw convert metrics.json
  prw convert --protocol 2 --translation-strategy no-utf8-escaping-with-suffixes metrics.json
  prw convert --json --protocol 2 metrics.pb | jq '.symbols'
  prw convert --classic-histograms --external-label cluster=eu1 - < metrics.jsonl

Output: one line per sample, `name{label=\"v\",...} value timestamp_ms`, native histograms as
`{count:9, sum:12.5, [-2,-1):1, [-0.001,0.001]:2, (0.5,1]:1}`. Dropped points are listed on
stderr with their reason.

Exit codes:
  0  converted (dropped points, if any, are listed on stderr)
  2  usage or input error";

const RECEIVE_EXAMPLES: &str = "\
Examples:
  prw receive --listen 127.0.0.1:9201
  prw receive --listen 127.0.0.1:0 --json | jq '.problems'
  prw receive --listen 0.0.0.0:9201 --strict --count 10

Point a sender at http://ADDR/api/v1/write (any path works). Each request is printed with its
series and everything in it that breaks the Remote Write 1.0/2.0 specs. Stop with Ctrl-C.

Exit codes:
  0  stopped cleanly (Ctrl-C, or --count requests received)
  2  usage error, or the address cannot be listened on";

/// Where OTLP input comes from.
#[derive(Debug, Args)]
pub(crate) struct InputArgs {
    /// OTLP metrics files: OTLP/JSON (one ExportMetricsServiceRequest per file or per line, as
    /// the Collector's file exporter writes) or OTLP/protobuf (one message, or the file
    /// exporter's length-prefixed messages). `-` or nothing reads stdin.
    #[arg(value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// The input format; `auto` looks at the first byte.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub(crate) input_format: InputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum InputFormat {
    /// OTLP/JSON if the input starts with `{`, otherwise OTLP/protobuf
    Auto,
    /// OTLP/JSON
    Json,
    /// OTLP/protobuf
    Proto,
}

/// How OTLP becomes Prometheus series; shared by `send` and `convert`.
#[derive(Debug, Args)]
pub(crate) struct ConversionArgs {
    /// How metric and attribute names become Prometheus names.
    #[arg(long, value_enum, default_value_t = TranslationStrategy::UnderscoreEscapingWithSuffixes)]
    pub(crate) translation_strategy: TranslationStrategy,
    /// A prefix for every metric name: `NS_name`.
    #[arg(long, value_name = "NS")]
    pub(crate) namespace: Option<String>,
    /// A label added to every series that does not have it (repeatable).
    #[arg(long = "external-label", value_name = "K=V", value_parser = parse_key_value)]
    pub(crate) external_labels: Vec<(String, String)>,
    /// Do not emit the `target_info` series with each resource's attributes.
    #[arg(long)]
    pub(crate) no_target_info: bool,
    /// Do not add the `otel_scope_name`, `otel_scope_version`, ... labels.
    #[arg(long)]
    pub(crate) no_scope_labels: bool,
    /// Copy this resource attribute onto every series as a label (repeatable).
    #[arg(long = "promote-resource-attribute", value_name = "K")]
    pub(crate) promote_resource_attributes: Vec<String>,
    /// Copy every resource attribute onto every series as a label.
    #[arg(long, conflicts_with = "promote_resource_attributes")]
    pub(crate) promote_all_resource_attributes: bool,
    /// Send exponential histograms as native histograms (the default).
    #[arg(long, conflicts_with = "classic_histograms")]
    pub(crate) native_histograms: bool,
    /// Send exponential histograms as classic `_bucket{le}`, `_sum` and `_count` series, for
    /// backends without native histograms.
    #[arg(long)]
    pub(crate) classic_histograms: bool,
    /// Send metric metadata (type, help, unit): the `metadata` field of RW 1.0 requests; RW 2.0
    /// always carries it per series.
    #[arg(long)]
    pub(crate) send_metadata: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TranslationStrategy {
    /// foo.bar (unit By, counter) → foo_bar_bytes_total
    #[value(alias = "UnderscoreEscapingWithSuffixes")]
    UnderscoreEscapingWithSuffixes,
    /// foo.bar → foo_bar
    #[value(alias = "UnderscoreEscapingWithoutSuffixes")]
    UnderscoreEscapingWithoutSuffixes,
    /// foo.bar → foo.bar_bytes_total (RW 2.0 only)
    #[value(alias = "NoUTF8EscapingWithSuffixes", alias = "NoUtf8EscapingWithSuffixes")]
    NoUtf8EscapingWithSuffixes,
    /// foo.bar → foo.bar (RW 2.0 only)
    #[value(alias = "NoTranslation")]
    NoTranslation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SendProtocol {
    /// Remote Write 1.0 (prometheus.WriteRequest)
    #[value(name = "1", alias = "1.0", alias = "v1")]
    V1,
    /// Remote Write 2.0 (io.prometheus.write.v2.Request)
    #[value(name = "2", alias = "2.0", alias = "v2")]
    V2,
    /// RW 2.0, falling back to 1.0 when the backend answers 415 or does not confirm 2.0
    #[value(name = "auto")]
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DumpProtocol {
    /// Remote Write 1.0 (prometheus.WriteRequest)
    #[value(name = "1", alias = "1.0", alias = "v1")]
    V1,
    /// Remote Write 2.0 (io.prometheus.write.v2.Request)
    #[value(name = "2", alias = "2.0", alias = "v2")]
    V2,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The Remote Write URL, e.g. http://localhost:9090/api/v1/write.
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint: String,
    /// The protocol to send.
    #[arg(long, value_enum, default_value_t = SendProtocol::V1)]
    pub(crate) protocol: SendProtocol,
    /// An extra HTTP header (repeatable). Reserved Remote Write headers cannot be overridden.
    #[arg(long = "header", value_name = "K=V", value_parser = parse_key_value)]
    pub(crate) headers: Vec<(String, String)>,
    /// HTTP basic auth as USER:PASS (visible in `ps`: prefer --basic-auth-password-file).
    #[arg(long, value_name = "USER:PASS", value_parser = parse_user_pass, conflicts_with = "basic_auth_user")]
    pub(crate) basic_auth: Option<(String, String)>,
    /// HTTP basic auth user; the password comes from --basic-auth-password-file.
    #[arg(long, value_name = "USER", requires = "basic_auth_password_file")]
    pub(crate) basic_auth_user: Option<String>,
    /// The file holding the basic auth password (trailing newline ignored).
    #[arg(long, value_name = "FILE", requires = "basic_auth_user")]
    pub(crate) basic_auth_password_file: Option<PathBuf>,
    /// A bearer token for `Authorization: Bearer` (visible in `ps`: prefer --bearer-token-file).
    #[arg(long, value_name = "TOKEN", conflicts_with_all = ["bearer_token_file", "basic_auth", "basic_auth_user"])]
    pub(crate) bearer_token: Option<String>,
    /// The file holding the bearer token (trailing newline ignored).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["basic_auth", "basic_auth_user"])]
    pub(crate) bearer_token_file: Option<PathBuf>,
    /// PEM file with the CA certificates to trust (instead of the system's).
    #[arg(long, value_name = "FILE")]
    pub(crate) tls_ca: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// PEM private key of the client certificate.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    /// The name to verify the server certificate against (default: the URL's host).
    #[arg(long, value_name = "NAME")]
    pub(crate) tls_server_name: Option<String>,
    /// Do not verify the server certificate (testing only).
    #[arg(long)]
    pub(crate) insecure_skip_verify: bool,
    /// An HTTP proxy URL, e.g. http://proxy:3128.
    #[arg(long, value_name = "URL")]
    pub(crate) proxy: Option<String>,
    /// How long one HTTP request may take, e.g. 500ms, 30s, 2m.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub(crate) timeout: Duration,
    /// How long a request is retried (5xx, 429, network errors) before its data is dropped.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    pub(crate) max_retry_duration: Duration,
    /// The most series in one request.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_series_per_request: Option<u32>,
    /// Keep the requests in a persistent queue in this directory until they are delivered:
    /// what an outage or an interruption leaves there is sent first by the next run with the
    /// same directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) queue_dir: Option<PathBuf>,
    /// The persistent queue's bound on disk, in bytes (default 512 MiB).
    #[arg(long, value_name = "BYTES", requires = "queue_dir")]
    pub(crate) queue_max_bytes: Option<u64>,
    /// When the persistent queue fsyncs: always (default), never, every=N or interval=DURATION.
    #[arg(long, value_name = "POLICY", requires = "queue_dir")]
    pub(crate) queue_fsync: Option<prw::persistent_queue::FsyncPolicy>,
    #[command(flatten)]
    pub(crate) conversion: ConversionArgs,
    #[command(flatten)]
    pub(crate) input: InputArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// Print the RW message as JSON (the protobuf JSON mapping) instead of series lines.
    #[arg(long)]
    pub(crate) json: bool,
    /// The protocol the output is for: which message --json prints, and which names are allowed.
    #[arg(long, value_enum, default_value_t = DumpProtocol::V1)]
    pub(crate) protocol: DumpProtocol,
    #[command(flatten)]
    pub(crate) conversion: ConversionArgs,
    #[command(flatten)]
    pub(crate) input: InputArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ReceiveArgs {
    /// The address to listen on (port 0 picks a free port; the address is printed on stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9201")]
    pub(crate) listen: SocketAddr,
    /// Print one JSON object per request (JSON lines) instead of series lines.
    #[arg(long)]
    pub(crate) json: bool,
    /// Answer 400 to requests that break the spec (as a strict backend would), instead of
    /// accepting them with the problems printed.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Stop after this many requests.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) count: Option<u64>,
}

/// `K=V` → (K, V); K must not be empty, V may be.
pub(crate) fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// `USER:PASS` → (USER, PASS); the password may contain `:`.
fn parse_user_pass(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((user, pass)) if !user.is_empty() => Ok((user.to_owned(), pass.to_owned())),
        // Never echo the input: it holds a password.
        _ => Err("expected USER:PASSWORD".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn queue_flags_parse() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["prw", "send", "--endpoint", "http://x/api/v1/write"];
            argv.extend_from_slice(extra);
            argv.push("a.json");
            Cli::try_parse_from(argv)
        };
        let cli = parse(&[
            "--queue-dir",
            "/q",
            "--queue-max-bytes",
            "1048576",
            "--queue-fsync",
            "every=4",
        ])
        .unwrap();
        let Command::Send(send) = cli.command else { panic!("send") };
        assert_eq!(send.queue_dir, Some(PathBuf::from("/q")));
        assert_eq!(send.queue_max_bytes, Some(1 << 20));
        assert_eq!(send.queue_fsync, Some(prw::persistent_queue::FsyncPolicy::EveryRequests(4)));
        assert!(parse(&["--queue-fsync", "always"]).is_err(), "needs --queue-dir");
        assert!(parse(&["--queue-dir", "/q", "--queue-fsync", "sometimes"]).is_err());
    }

    #[test]
    fn key_values() {
        for (input, expected) in [
            ("a=b", Some(("a", "b"))),
            ("a=", Some(("a", ""))),
            ("a=b=c", Some(("a", "b=c"))),
            (" a =b", Some(("a", "b"))),
            ("=b", None),
            ("ab", None),
            ("", None),
        ] {
            let got = parse_key_value(input).ok();
            assert_eq!(got, expected.map(|(k, v)| (k.to_owned(), v.to_owned())), "{input:?}");
        }
    }

    #[test]
    fn user_pass_never_echoes_the_password() {
        assert_eq!(parse_user_pass("u:p:q"), Ok(("u".into(), "p:q".into())));
        let err = parse_user_pass("secretsecret").unwrap_err();
        assert!(!err.contains("secret"));
        assert!(parse_user_pass(":p").is_err());
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::try_parse_from([
            "prw",
            "send",
            "--endpoint",
            "http://x/api/v1/write",
            "--protocol",
            "auto",
            "--header",
            "A=1",
            "--header",
            "B=2",
            "--timeout",
            "500ms",
            "--external-label",
            "c=d",
            "--classic-histograms",
            "-vv",
            "a.json",
            "-",
        ])
        .unwrap();
        assert_eq!(cli.verbose, 2);
        let Command::Send(send) = cli.command else { panic!("send") };
        let send = *send;
        assert_eq!(send.protocol, SendProtocol::Auto);
        assert_eq!(send.headers.len(), 2);
        assert_eq!(send.timeout, Duration::from_millis(500));
        assert!(send.conversion.classic_histograms);
        assert_eq!(send.input.files, vec![PathBuf::from("a.json"), PathBuf::from("-")]);
        for bad in [
            vec!["prw", "send", "f"],
            vec!["prw", "send", "--endpoint", "u", "--native-histograms", "--classic-histograms"],
            vec!["prw", "send", "--endpoint", "u", "--timeout", "soon"],
            vec!["prw", "send", "--endpoint", "u", "--tls-cert", "c.pem"],
            vec!["prw", "send", "--endpoint", "u", "--basic-auth", "a:b", "--bearer-token", "t"],
            vec!["prw", "send", "--endpoint", "u", "--basic-auth-user", "a"],
            vec!["prw", "convert", "--protocol", "auto"],
            vec!["prw", "receive", "--listen", "nowhere"],
            vec!["prw", "-q", "-v", "convert"],
        ] {
            assert!(Cli::try_parse_from(&bad).is_err(), "{bad:?}");
        }
        let cli = Cli::try_parse_from([
            "prw",
            "convert",
            "--translation-strategy",
            "NoUTF8EscapingWithSuffixes",
        ])
        .unwrap();
        let Command::Convert(convert) = cli.command else { panic!("convert") };
        assert_eq!(
            convert.conversion.translation_strategy,
            TranslationStrategy::NoUtf8EscapingWithSuffixes
        );
    }
}
