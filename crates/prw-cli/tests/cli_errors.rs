//! Every documented exit code, and a clear message for each kind of bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use common::{fixture, run};
use prw::proto::prost::Message;

fn temp_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

/// A loopback port nobody listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn help_and_version_exit_0() {
    let root = run(["--help"]);
    assert_eq!(root.code, 0);
    assert!(root.stdout.contains("Exit codes:"), "{}", root.stdout);
    for command in ["send", "convert", "receive"] {
        assert!(root.stdout.contains(command));
        let help = run([command, "--help"]);
        assert_eq!(help.code, 0, "{command}");
        assert!(help.stdout.contains("Examples:"), "{command}: {}", help.stdout);
        assert!(help.stdout.contains(&format!("prw {command} ")), "{command}: {}", help.stdout);
    }
    let send = run(["send", "--help"]).stdout;
    for flag in [
        "--endpoint",
        "--protocol",
        "--header",
        "--basic-auth",
        "--basic-auth-user",
        "--basic-auth-password-file",
        "--bearer-token",
        "--bearer-token-file",
        "--tls-ca",
        "--tls-cert",
        "--tls-key",
        "--tls-server-name",
        "--insecure-skip-verify",
        "--proxy",
        "--timeout",
        "--max-retry-duration",
        "--translation-strategy",
        "--namespace",
        "--external-label",
        "--no-target-info",
        "--promote-resource-attribute",
        "--native-histograms",
        "--classic-histograms",
        "--send-metadata",
        "--input-format",
    ] {
        assert!(send.contains(flag), "send --help lacks {flag}");
    }
    let version = run(["--version"]);
    assert_eq!(version.code, 0);
    assert!(version.stdout.starts_with("prw "), "{}", version.stdout);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec![],
        vec!["frobnicate"],
        vec!["convert", "--no-such-flag"],
        vec!["send", "metrics.json"],
        vec!["send", "--endpoint", "http://x/", "--timeout", "30"],
        vec!["send", "--endpoint", "http://x/", "--native-histograms", "--classic-histograms"],
        vec!["convert", "--protocol", "3"],
        vec!["receive", "--listen", "not-an-address"],
    ] {
        let run = run(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(!run.stderr.is_empty(), "{args:?}");
    }
    let bad_duration = run(["send", "--endpoint", "http://x/", "--timeout", "30"]);
    assert!(
        bad_duration.stderr.contains("write it like 500ms, 30s, 2m"),
        "{}",
        bad_duration.stderr
    );
}

#[test]
fn send_configuration_errors_exit_2_and_say_what_to_fix() {
    let file = fixture("single-request.json");
    let file = file.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let not_pem = temp_file(&dir, "not.pem", b"this is not a certificate\n");
    let empty = temp_file(&dir, "empty", b"\n");
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let https = "https://127.0.0.1:1/api/v1/write";
    for (args, expected) in [
        (vec!["--endpoint", "not a url"], "not valid"),
        (vec!["--endpoint", "ftp://127.0.0.1/x"], "ftp"),
        (vec!["--endpoint", "http://u:secretpw@127.0.0.1/x"], "credentials"),
        (
            vec!["--endpoint", "http://127.0.0.1:1/", "--header", "Content-Encoding=gzip"],
            "Content-Encoding",
        ),
        (vec!["--endpoint", "http://127.0.0.1:1/", "--namespace", "1bad"], "namespace"),
        (vec!["--endpoint", "http://127.0.0.1:1/", "--external-label", "__x=1"], "external label"),
        (
            vec![
                "--endpoint",
                "http://127.0.0.1:1/",
                "--basic-auth-user",
                "u",
                "--basic-auth-password-file",
                missing,
            ],
            "--basic-auth-password-file",
        ),
        (vec!["--endpoint", "http://127.0.0.1:1/", "--bearer-token-file", &empty], "empty"),
        (vec!["--endpoint", https, "--tls-ca", missing], "missing.pem"),
        (vec!["--endpoint", https, "--tls-ca", &not_pem], "not.pem"),
        (vec!["--endpoint", https, "--tls-cert", &not_pem, "--tls-key", &not_pem], "not.pem"),
        (vec!["--endpoint", https, "--tls-cert", missing, "--tls-key", missing], "missing.pem"),
        (
            vec![
                "--endpoint",
                "http://127.0.0.1:1/",
                "--translation-strategy",
                "no-translation",
                "--protocol",
                "auto",
            ],
            "UTF-8",
        ),
    ] {
        let mut all = vec!["send"];
        all.extend(&args);
        all.push(file);
        let run = run(&all);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.starts_with("prw: "), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: expected {expected:?} in {}", run.stderr);
        assert!(!run.stderr.contains("secretpw"), "{args:?}: a secret leaked: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn input_errors_exit_2_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let run_convert = |file: &str| run(["convert", file]);

    let r = run_convert(missing.to_str().unwrap());
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, format!("prw: {}: no such file\n", missing.display()));

    // JSON lines with a broken second line
    let good = std::fs::read_to_string(fixture("collector-file-exporter.jsonl")).unwrap();
    let first = good.lines().next().unwrap();
    let broken = temp_file(
        &dir,
        "broken.jsonl",
        format!("{first}\n{{\"resourceMetrics\":[{{\"scopeMetrics\":[}}]}}\n").as_bytes(),
    );
    let r = run_convert(&broken);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!("prw: {broken}: malformed OTLP/JSON: line 2, column ")),
        "{}",
        r.stderr
    );

    // a value of the wrong type names its field
    let wrong = temp_file(
        &dir,
        "wrong.json",
        b"{\n  \"resourceMetrics\": [\n    {\"schemaUrl\": 7}\n  ]\n}\n",
    );
    let r = run_convert(&wrong);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        format!(
            "prw: {wrong}: malformed OTLP/JSON: line 3, column 19: resourceMetrics[0].schemaUrl: expected a string, got 7\n"
        )
    );

    // protobuf that is not an ExportMetricsServiceRequest
    let rw1 = prw::proto::rw1::WriteRequest {
        timeseries: vec![prw::proto::rw1::TimeSeries {
            labels: vec![prw::proto::rw1::Label { name: "__name__".into(), value: "up".into() }],
            samples: vec![prw::proto::rw1::Sample { value: 1.0, timestamp: 1_764_064_800_000 }],
            ..Default::default()
        }],
        metadata: vec![],
    };
    let pb = temp_file(&dir, "write-request.pb", &rw1.encode_to_vec());
    let r = run_convert(&pb);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not an OTLP/protobuf ExportMetricsServiceRequest"), "{}", r.stderr);
    // forcing JSON on it says it is not text
    let r = run(["convert", "--input-format", "json", &pb]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("malformed OTLP/JSON") || r.stderr.contains("not UTF-8"),
        "{}",
        r.stderr
    );

    // compressed files are named as such
    let gz = temp_file(&dir, "m.json.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00");
    let r = run_convert(&gz);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("gzip"), "{}", r.stderr);

    // `send` reads the input before touching the network: same errors, same exit code
    let r =
        run(["send", "--endpoint", "http://127.0.0.1:1/api/v1/write", missing.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no such file"), "{}", r.stderr);
}

#[test]
fn unreachable_endpoint_exits_1_with_a_summary() {
    let endpoint = format!("http://127.0.0.1:{}/api/v1/write", closed_port());
    let file = fixture("single-request.json");
    let r = run([
        "send",
        "--endpoint",
        &endpoint,
        "--max-retry-duration",
        "1s",
        "--timeout",
        "500ms",
        file.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let summary = r.stdout.lines().last().unwrap_or_default();
    assert!(summary.starts_with("sent 0 requests, 5 series, 0 samples; "), "{summary}");
    assert!(summary.ends_with(", 5 dropped"), "{summary}");
    assert!(r.stderr.contains("retries ran out after --max-retry-duration 1s"), "{}", r.stderr);
    // -q: no summary, still the reason and the exit code
    let quiet = run([
        "send",
        "-q",
        "--endpoint",
        &endpoint,
        "--max-retry-duration",
        "300ms",
        file.to_str().unwrap(),
    ]);
    assert_eq!(quiet.code, 1);
    assert_eq!(quiet.stdout, "");
    assert!(quiet.stderr.contains("prw: 5 points dropped: retries ran out"), "{}", quiet.stderr);
}

#[test]
fn listening_on_a_taken_address_exits_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let r = run(["receive", "--listen", &addr]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains(&format!("cannot listen on {addr}")), "{}", r.stderr);
}
