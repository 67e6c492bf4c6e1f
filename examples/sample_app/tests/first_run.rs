//! The README's first-run command: no endpoint, a few seconds, exit 0, and the series a
//! backend would store printed as they arrive.

use std::process::Command;

#[test]
fn with_no_endpoint_it_prints_what_a_backend_would_store_and_exits_0() {
    let out = Command::new(env!("CARGO_BIN_EXE_sample_app"))
        .args(["--interval", "500ms", "--duration", "2s"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("the sample app runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    assert!(stderr.contains("a debug receiver listens on http://127.0.0.1:"), "{stderr}");
    for series in [
        "http_server_requests_total{",
        "http_server_request_duration_seconds_bucket{",
        "le=\"+Inf\"",
        "http_server_active_requests{",
        "sample_db_query_duration_seconds{", // native histogram
        "sample_payload_size_bytes{",        // MinMaxSumCount summary
        "quantile=\"1\"",
        "sample_temperature_celsius{",
        "process_cpu_time_seconds_total{",
        "process_memory_rss_bytes{",
        "process_open_file_descriptor_count{",
        "prometheus_remote_storage_samples_total{",
        "target_info{",
        "job=\"sample_app\"",
    ] {
        assert!(stdout.contains(series), "{series} missing from:\n{stdout}");
    }
    assert!(!stdout.contains("sample_debug_noise"), "the Drop view exports nothing");
    // the graceful shutdown ends every series
    assert!(stdout.contains("StaleNaN"), "{stdout}");
    assert!(stderr.contains("dropped 0 samples, 0 histograms"), "{stderr}");
}

#[test]
fn a_bad_endpoint_is_a_clear_error_not_a_panic() {
    let out = Command::new(env!("CARGO_BIN_EXE_sample_app"))
        .args(["--endpoint", "localhost:9090/api/v1/write", "--duration", "1s"])
        .output()
        .expect("the sample app runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("start it with http:// or https://"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
