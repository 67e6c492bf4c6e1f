//! A remote-write sink for throughput comparisons (see `benches/export-vs-python.sh`).
//!
//! ```console
//! $ cargo run --release -p prw --example rw_sink -- 127.0.0.1:0
//! listening on 127.0.0.1:40123
//! ```
//! Every POST gets `204`; `GET /stats` returns `{"requests":…,"bytes":…,"series":…}` since the
//! last `GET /reset`.

#[path = "support/sink.rs"]
mod sink;

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let sink = sink::Sink::start(&addr)?;
    println!("listening on 127.0.0.1:{}", sink.port);
    // serve until killed
    loop {
        std::thread::park();
    }
}
