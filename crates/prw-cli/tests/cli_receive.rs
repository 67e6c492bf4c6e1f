//! `prw send` to `prw receive`: what arrives is exactly what `prw convert` shows, over RW 1.0
//! and 2.0, from JSON and protobuf; `receive` flags spec violations, answers like a backend,
//! and stops cleanly on Ctrl-C.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

mod common;

use common::{Receive, fixture, run};
use prw::proto::rw1;
use prw_integration::wire;

/// The data lines of `receive`/`convert` output: series and exemplars, without request
/// headers, metadata and problems; sorted, because `send` may split the data into several
/// requests.
fn data_lines(output: &str) -> Vec<String> {
    let mut lines: Vec<String> = output
        .lines()
        .filter(|l| !l.starts_with('#') || l.starts_with("# exemplar "))
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

fn problem_lines(output: &str) -> Vec<&str> {
    output.lines().filter(|l| l.starts_with("# error") || l.starts_with("# warning")).collect()
}

fn send_and_receive(protocol: &str, file: &str) -> (common::Run, common::Run) {
    let receive = Receive::start(&[]);
    let sent = run([
        "send",
        "--protocol",
        protocol,
        "--endpoint",
        &receive.endpoint(),
        fixture(file).to_str().unwrap(),
    ]);
    // The receiver queues a request before answering it, so it has printed everything by now
    // (up to its stdout buffer, which Ctrl-C flushes).
    (sent, receive.interrupt())
}

#[test]
fn what_arrives_is_what_convert_shows() {
    for (protocol, file) in [
        ("1", "collector-file-exporter.jsonl"),
        ("2", "collector-file-exporter.jsonl"),
        ("1", "single-request.pb"),
        ("2", "collector-file-exporter.binpb"),
        ("1", "edge-cases.json"),
    ] {
        let (sent, received) = send_and_receive(protocol, file);
        assert_eq!(sent.code, 0, "send {file} over {protocol}: {}", sent.stderr);
        assert_eq!(received.code, 0, "{}", received.stderr);
        let converted = run(["convert", "--protocol", protocol, fixture(file).to_str().unwrap()]);
        let expected = data_lines(&converted.stdout);
        assert!(!expected.is_empty());
        assert_eq!(data_lines(&received.stdout), expected, "{file} over RW {protocol}");
        assert_eq!(
            problem_lines(&received.stdout),
            Vec::<&str>::new(),
            "prw send {file} over RW {protocol} breaks the spec:\n{}",
            received.stdout
        );
        let version = if protocol == "1" { "RW 1.0" } else { "RW 2.0" };
        assert!(
            received.stdout.contains(&format!("POST /api/v1/write {version}")),
            "{}",
            received.stdout
        );
        assert!(received.stdout.contains("(prw/"), "the User-Agent is prw's: {}", received.stdout);
        assert!(received.stderr.contains(" with spec errors, 0 refused"), "{}", received.stderr);
    }
}

#[test]
fn send_reports_what_it_sent() {
    let (sent, received) = send_and_receive("2", "single-request.json");
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    assert_eq!(sent.stdout, "sent 1 request, 5 series, 5 samples; 0 retried, 0 dropped\n");
    assert!(
        received.stdout.contains("-> 204 (written: 5 samples, 0 histograms, 0 exemplars)"),
        "{}",
        received.stdout
    );
    assert!(
        received
            .stderr
            .contains("received 1 request: 5 series, 5 samples, 0 histograms, 0 exemplars"),
        "{}",
        received.stderr
    );
}

#[test]
fn json_lines_one_object_per_request() {
    let receive = Receive::start(&["--json", "--count", "1"]);
    let sent = run([
        "send",
        "--protocol",
        "2",
        "--endpoint",
        &receive.endpoint(),
        fixture("single-request.json").to_str().unwrap(),
    ]);
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    let received = receive.wait();
    assert_eq!(received.code, 0, "--count 1 ends the receiver: {}", received.stderr);
    let lines: Vec<&str> = received.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", received.stdout);
    let request: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(request["protocol"], "2.0");
    assert_eq!(request["method"], "POST");
    assert_eq!(request["response"]["status"], 204);
    assert_eq!(request["response"]["samplesWritten"], 5);
    assert_eq!(request["headers"]["content-encoding"], "snappy");
    assert_eq!(request["headers"]["x-prometheus-remote-write-version"], "2.0.0");
    assert_eq!(request["problems"], serde_json::json!([]));
    let series = request["series"].as_array().unwrap();
    assert_eq!(series.len(), 5);
    let orders = series
        .iter()
        .find(|s| s["labels"][0]["value"] == "orders_placed_total")
        .expect("orders_placed_total arrived");
    assert_eq!(
        orders["samples"],
        serde_json::json!([{"value": "17", "timestamp": 1_764_064_800_123_i64, "startTimestamp": 1_764_064_700_000_i64}])
    );
    assert_eq!(orders["metadata"]["type"], "counter");
}

fn unsorted_request() -> rw1::WriteRequest {
    let mut series = wire::rw1_series("up", &[("job", "a")], &[(wire::now_ms(), 1.0)]);
    series.labels.reverse(); // job before __name__
    rw1::WriteRequest { timeseries: vec![series], metadata: vec![] }
}

#[test]
fn spec_violations_are_flagged_and_strict_mode_refuses_them() {
    let lenient = Receive::start(&["--count", "1"]);
    let response = wire::push_rw1(&lenient.endpoint(), &unsorted_request()).unwrap();
    assert_eq!(response.status, 204);
    let out = lenient.wait();
    assert!(
        out.stdout.contains(
            "# error [unsorted-labels] series 0 up{job=\"a\"}: labels are not sorted by name"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("1 with spec errors, 0 refused"), "{}", out.stderr);

    let strict = Receive::start(&["--strict", "--count", "1"]);
    let response = wire::push_rw1(&strict.endpoint(), &unsorted_request()).unwrap();
    assert_eq!(response.status, 400);
    assert!(response.text().contains("unsorted-labels"), "{}", response.text());
    let out = strict.wait();
    assert!(out.stdout.contains("-> 400"), "{}", out.stdout);
    assert!(out.stderr.contains("1 with spec errors, 1 refused"), "{}", out.stderr);
}

#[test]
fn ctrl_c_stops_cleanly() {
    let receive = Receive::start(&[]);
    let out = receive.interrupt();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("received 0 requests"), "{}", out.stderr);
}

#[test]
fn a_rejected_send_exits_1() {
    // --strict turns a spec error into a 400; a receiver that demands a header no sender sends
    // is not possible, so this uses the out-of-order check: the newest sample first, then an
    // older one for the same series.
    let receive = Receive::start(&["--strict"]);
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("collector-file-exporter.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let newer = dir.path().join("newer.json");
    let older = dir.path().join("older.json");
    std::fs::write(&newer, lines[1]).unwrap();
    std::fs::write(&older, lines[0]).unwrap();
    let first = run([
        "send",
        "--endpoint",
        &receive.endpoint(),
        "--no-target-info",
        newer.to_str().unwrap(),
    ]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let second = run([
        "send",
        "--endpoint",
        &receive.endpoint(),
        "--no-target-info",
        older.to_str().unwrap(),
    ]);
    assert_eq!(second.code, 1, "{}\n{}", second.stdout, second.stderr);
    assert!(second.stdout.starts_with("sent 0 requests, "), "{}", second.stdout);
    assert!(
        second.stderr.contains("points dropped: rejected by the endpoint"),
        "{}",
        second.stderr
    );
    let out = receive.interrupt();
    assert!(out.stdout.contains("# error [out-of-order]"), "{}", out.stdout);
}

#[test]
fn headers_tokens_and_proxies_reach_the_receiver() {
    prw_integration::require!(prw_integration::TinyProxy);
    let proxy = prw_integration::TinyProxy::builder().start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cr3t-token\n").unwrap();
    let receive = Receive::start(&["--json", "--count", "1"]);
    let sent = run([
        "send",
        "--endpoint",
        &receive.endpoint(),
        "--proxy",
        &proxy.url(),
        "--header",
        "X-Scope-OrgID=tenant-1",
        "--bearer-token-file",
        token.to_str().unwrap(),
        fixture("single-request.json").to_str().unwrap(),
    ]);
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    let received = receive.wait();
    let request: serde_json::Value = serde_json::from_str(received.stdout.trim()).unwrap();
    assert_eq!(request["headers"]["x-scope-orgid"], "tenant-1");
    // the receiver shows that a token came, never the token
    assert_eq!(request["headers"]["authorization"], "Bearer <redacted>");
    assert!(!received.stdout.contains("s3cr3t"), "{}", received.stdout);
    assert!(
        proxy.requests().iter().any(|r| r.starts_with(&format!("POST http://{}/api/v1/write", receive_addr(&request)))),
        "the request went through the proxy: {:?}",
        proxy.requests()
    );
}

/// The receiver's address as the request's `Host` header names it.
fn receive_addr(request: &serde_json::Value) -> String {
    request["headers"]["host"].as_str().unwrap().to_owned()
}
