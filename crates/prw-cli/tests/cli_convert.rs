//! `prw convert` on checked-in OTLP files, compared with golden outputs; protobuf inputs give
//! exactly what their JSON twins give.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use common::{assert_golden, fixture, run, run_with_stdin};
use prw::proto::otlp::collector::ExportMetricsServiceRequest;
use prw::proto::otlp::json;
use prw::proto::prost::Message;

/// Converts and checks the run: exit 0, and no spec problem in the converter's own output.
fn convert(args: &[&str]) -> common::Run {
    let run = run(std::iter::once("convert").chain(args.iter().copied()));
    assert_eq!(run.code, 0, "prw convert {args:?} failed: {}", run.stderr);
    assert!(
        !run.stderr.contains("breaks the Remote Write spec"),
        "prw convert {args:?}: the converted output breaks the spec:\n{}",
        run.stderr
    );
    run
}

#[test]
fn collector_file_exporter_output() {
    let run = convert(&[fixture("collector-file-exporter.jsonl").to_str().unwrap()]);
    assert_golden("collector-file-exporter.txt", &run.stdout);
    assert_eq!(run.stderr, "", "nothing is dropped");
}

#[test]
fn collector_file_exporter_output_as_rw2_with_metadata() {
    let file = fixture("collector-file-exporter.jsonl");
    let run = convert(&["--protocol", "2", "--send-metadata", file.to_str().unwrap()]);
    assert_golden("collector-file-exporter.rw2.txt", &run.stdout);
}

#[test]
fn classic_histograms() {
    let file = fixture("collector-file-exporter.jsonl");
    let run = convert(&["--classic-histograms", file.to_str().unwrap()]);
    assert_golden("collector-file-exporter.classic.txt", &run.stdout);
}

#[test]
fn single_request_pretty_json() {
    let run = convert(&[fixture("single-request.json").to_str().unwrap()]);
    assert_golden("single-request.txt", &run.stdout);
}

#[test]
fn conversion_flags() {
    let file = fixture("single-request.json");
    let run = convert(&[
        "--namespace",
        "acme",
        "--external-label",
        "cluster=eu1",
        "--external-label",
        "replica=a",
        "--no-target-info",
        "--no-scope-labels",
        "--promote-resource-attribute",
        "host.name",
        "--send-metadata",
        file.to_str().unwrap(),
    ]);
    assert_golden("single-request.flags.txt", &run.stdout);
}

#[test]
fn utf8_names_with_rw2() {
    let file = fixture("single-request.json");
    let run = convert(&[
        "--protocol",
        "2",
        "--translation-strategy",
        "no-utf8-escaping-with-suffixes",
        file.to_str().unwrap(),
    ]);
    // Names keep their dots (quoted, the Prometheus 3 way) and still get their suffixes.
    for line in [
        r#"{"orders.placed_total",job="eu/shop",otel_scope_name="shop",otel_scope_version="2.0.0","payment.method"="card"} 17 1764064800123 # start 1764064700000"#,
        r#"{"disk.io_bytes_total",direction="read",job="eu/shop",otel_scope_name="shop",otel_scope_version="2.0.0"} 1.2345675e+06 1764064800123 # start 1764064700000"#,
        r#"target_info{"host.name"="web-7",job="eu/shop"} 1 1764064800123"#,
    ] {
        assert!(run.stdout.lines().any(|l| l == line), "missing {line}\nin\n{}", run.stdout);
    }
    assert!(!run.stdout.contains("orders_placed"), "{}", run.stdout);
    // UTF-8 names bend a SHOULD of RW 2.0: said only with -v
    assert_eq!(run.stderr, "");
    let verbose = run_args(&[
        "convert",
        "-v",
        "--protocol",
        "2",
        "--translation-strategy",
        "no-translation",
        file.to_str().unwrap(),
    ]);
    assert_eq!(verbose.code, 0);
    assert!(verbose.stderr.contains("warning [invalid-metric-name]"), "{}", verbose.stderr);
    // the same names over RW 1.0 are a usage error
    let refused =
        run_args(&["convert", "--translation-strategy", "no-translation", file.to_str().unwrap()]);
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("Remote Write 1.0"), "{}", refused.stderr);
}

fn run_args(args: &[&str]) -> common::Run {
    run(args.iter().copied())
}

#[test]
fn dropped_points_are_listed_with_their_reason() {
    let run = convert(&[fixture("edge-cases.json").to_str().unwrap()]);
    assert_golden("edge-cases.txt", &run.stdout);
    assert_golden("edge-cases.stderr", &run.stderr);
    // -q keeps stderr quiet, the output is the same
    let quiet = convert(&["-q", fixture("edge-cases.json").to_str().unwrap()]);
    assert_eq!((quiet.stdout.as_str(), quiet.stderr.as_str()), (run.stdout.as_str(), ""));
}

#[test]
fn json_dump_of_the_rw_messages() {
    let file = fixture("single-request.json");
    for (protocol, golden) in [("1", "single-request.rw1.json"), ("2", "single-request.rw2.json")] {
        let run =
            convert(&["--json", "--protocol", protocol, "--send-metadata", file.to_str().unwrap()]);
        let value: serde_json::Value =
            serde_json::from_str(&run.stdout).expect("--json prints JSON");
        assert!(value["timeseries"].is_array());
        assert_golden(golden, &run.stdout);
    }
}

fn read_requests(name: &str) -> Vec<ExportMetricsServiceRequest> {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    json::from_json_documents(&text).unwrap()
}

/// The protobuf fixtures are the JSON fixtures re-encoded: a bare message (an OTLP/HTTP body)
/// and the Collector file exporter's `format: proto` (each message after its 4-byte
/// big-endian length). `PRW_BLESS=1` writes them.
#[test]
fn protobuf_fixtures_match_their_json_twins() {
    let single = read_requests("single-request.json");
    assert_eq!(single.len(), 1);
    let bare = single[0].encode_to_vec();
    let collector = read_requests("collector-file-exporter.jsonl");
    assert_eq!(collector.len(), 2);
    let mut framed = Vec::new();
    for request in &collector {
        let bytes = request.encode_to_vec();
        framed.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        framed.extend_from_slice(&bytes);
    }
    for (name, bytes) in [("single-request.pb", &bare), ("collector-file-exporter.binpb", &framed)]
    {
        if std::env::var_os("PRW_BLESS").is_some() {
            std::fs::write(fixture(name), bytes).unwrap();
        }
        assert_eq!(
            &std::fs::read(fixture(name)).unwrap(),
            bytes,
            "{name} is stale: run with PRW_BLESS=1"
        );
    }
}

#[test]
fn protobuf_input_converts_like_json() {
    for (json_file, proto_file) in [
        ("single-request.json", "single-request.pb"),
        ("collector-file-exporter.jsonl", "collector-file-exporter.binpb"),
    ] {
        let from_json = convert(&[fixture(json_file).to_str().unwrap()]);
        let detected = convert(&[fixture(proto_file).to_str().unwrap()]);
        let explicit = convert(&["--input-format", "proto", fixture(proto_file).to_str().unwrap()]);
        assert!(!from_json.stdout.is_empty());
        assert_eq!(detected.stdout, from_json.stdout, "{proto_file}");
        assert_eq!(explicit.stdout, from_json.stdout, "{proto_file}");
    }
}

#[test]
fn stdin_and_several_files() {
    let single = std::fs::read(fixture("single-request.json")).unwrap();
    let from_stdin = run_with_stdin(["convert", "-"], &single);
    let from_file = convert(&[fixture("single-request.json").to_str().unwrap()]);
    assert_eq!(from_stdin.code, 0, "{}", from_stdin.stderr);
    assert_eq!(from_stdin.stdout, from_file.stdout);
    // no FILE at all reads stdin too
    let implicit = run_with_stdin(["convert"], &single);
    assert_eq!(implicit.stdout, from_file.stdout);

    // Two files are one conversion: series of both, sorted together.
    let both = convert(&[
        fixture("single-request.json").to_str().unwrap(),
        fixture("edge-cases.json").to_str().unwrap(),
    ]);
    let mut expected: Vec<&str> = from_file.stdout.lines().collect();
    let edge = convert(&[fixture("edge-cases.json").to_str().unwrap()]);
    expected.extend(edge.stdout.lines());
    let mut got: Vec<&str> = both.stdout.lines().collect();
    expected.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, expected);
}

#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = common::prw()
        .args(["convert", fixture("collector-file-exporter.jsonl").to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(0));
}
