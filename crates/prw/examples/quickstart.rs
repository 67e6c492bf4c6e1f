//! The README's quick start, kept compiling (crates/prw/tests/readme.rs checks they match).

use prw::api::KeyValue;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let exporter = prw::PrometheusRemoteWriteExporter::builder()
        .endpoint("http://localhost:9090/api/v1/write")?
        .build()?;
    let provider = prw::pipeline()
        .with_service_name("checkout")
        .with_interval(Duration::from_secs(15))
        .with_exporter(exporter)
        .start()?; // with or without a tokio runtime
    let requests = provider.meter("checkout").u64_counter("http.server.requests").build();
    requests.add(1, &[KeyValue::new("http.route", "/cart")]);
    provider.shutdown()?; // flushes, and ends every series with a stale marker
    Ok(())
}
