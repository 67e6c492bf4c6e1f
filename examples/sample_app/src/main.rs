//! The sample app: a simulated service using every prw instrument and aggregation.
//!
//! ```console
//! $ cargo run -p sample_app                       # prints what a backend would store
//! $ cargo run -p sample_app -- --endpoint http://localhost:9090/api/v1/write --interval 1s --duration 6s
//! ```

mod args;
mod instruments;
mod procfs;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use clap::Parser;
use prw::receiver::BlockingReceiver;
use prw::{PrometheusRemoteWriteExporter, Secret};

use args::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sample_app: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    // Without an endpoint: a debug receiver in this process, printing what arrives.
    let printer = match &args.endpoint {
        Some(_) => None,
        None => Some(Printer::start()?),
    };
    let endpoint = match (&args.endpoint, &printer) {
        (Some(e), _) => e.clone(),
        (None, Some(p)) => p.endpoint.clone(),
        (None, None) => unreachable!("a printer is started when there is no endpoint"),
    };

    let mut builder = PrometheusRemoteWriteExporter::builder()
        .endpoint(&endpoint)?
        .protocol(args.protocol)
        .timeout(args.timeout)
        .headers(args.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    if let Some((user, password)) = args.basic_auth {
        builder = builder.basic_auth(user, Secret::new(password));
    }
    if let Some((user, path)) = args.basic_auth_file {
        builder = builder.basic_auth(user, Secret::from_file(path));
    }
    if let Some(token) = args.bearer_token {
        builder = builder.bearer_token(Secret::new(token));
    }
    if let Some(path) = args.bearer_token_file {
        builder = builder.bearer_token(Secret::from_file(path));
    }
    if let Some(ca) = args.ca_file {
        builder = builder.tls_ca_file(ca);
    }
    if args.insecure_skip_verify {
        builder = builder.insecure_skip_verify(true);
    }
    if let Some(dir) = args.queue_dir {
        let mut queue = prw::persistent_queue::PersistentQueueConfig::new(dir);
        if let Some(bytes) = args.queue_max_bytes {
            queue = queue.max_bytes(bytes);
        }
        if let Some(policy) = args.queue_fsync {
            queue = queue.fsync(policy);
        }
        builder = builder.persistent_queue(queue);
    }
    let exporter = builder.build()?;
    let stats_view = exporter.clone();

    let mut pipeline = prw::pipeline()
        .with_service_name(args.service_name.clone())
        .with_interval(args.interval)
        .with_exporter(exporter);
    for view in instruments::views() {
        pipeline = pipeline.with_view(view);
    }
    let provider = pipeline.start()?;
    let started = Instant::now();
    let meter = provider.meter("sample_app");
    instruments::observe(&meter, started, args.interval);
    let stop = Arc::new(AtomicBool::new(false));
    let workload = instruments::start_workload(&meter, stop.clone())?;

    eprintln!(
        "sample_app: pushing to {endpoint} every {:?} with Remote Write {}{}",
        args.interval,
        args.protocol,
        match args.duration {
            Some(d) => format!(" for {d:?}"),
            None => "; Ctrl-C to stop".to_owned(),
        }
    );
    wait_for_end(args.duration)?;

    stop.store(true, Ordering::Relaxed);
    let recorded = workload.join().unwrap_or(0);
    let result = provider.shutdown();
    let stats = stats_view.stats();
    if let Some(p) = printer {
        p.finish();
    }
    for s in &stats {
        let dropped = s.dropped_total();
        eprintln!(
            "sample_app: {} simulated requests; {}: sent {} requests, {} samples, {} histograms; retried {} samples; dropped {} samples, {} histograms",
            recorded,
            s.url,
            s.requests_sent,
            s.sent.samples,
            s.sent.histograms,
            s.retried.samples,
            dropped.samples,
            dropped.histograms
        );
    }
    result.map_err(|e| format!("shutdown did not deliver everything: {e}").into())
}

/// Waits for the duration, or for Ctrl-C / SIGTERM.
fn wait_for_end(duration: Option<Duration>) -> Result<(), Box<dyn std::error::Error>> {
    let (tx, rx) = mpsc::channel::<&'static str>();
    let signals = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let sig_tx = tx.clone();
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        signals.block_on(async move {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => return,
                };
            let name = tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
            let _ = sig_tx.send(name);
        });
    })?;
    let why = match duration {
        Some(d) => rx.recv_timeout(d).unwrap_or("duration elapsed"),
        None => rx.recv().unwrap_or("signal thread ended"),
    };
    eprintln!("sample_app: {why}, shutting down");
    Ok(())
}

/// The embedded debug receiver and the thread that prints what it gets.
struct Printer {
    endpoint: String,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Printer {
    fn start() -> std::io::Result<Printer> {
        let receiver = BlockingReceiver::bind("127.0.0.1:0")?;
        let endpoint = receiver.endpoint();
        eprintln!(
            "sample_app: no --endpoint given; a debug receiver listens on {endpoint} and prints what a backend would store"
        );
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new().name("printer".into()).spawn(move || {
            loop {
                match receiver.recv_timeout(Duration::from_millis(100)) {
                    Some(request) => print_request(&request),
                    None if stop2.load(Ordering::Relaxed) => break,
                    None => {}
                }
            }
            receiver.shutdown();
        })?;
        Ok(Printer { endpoint, stop, thread })
    }

    /// Prints what is still arriving, then stops the receiver.
    fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

fn print_request(r: &prw::receiver::ReceivedRequest) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let version = r.version.map(|v| format!("{v:?}")).unwrap_or_else(|| "unknown".to_owned());
    let _ = writeln!(
        out,
        "# request {} ({version}, {} series, {} samples, {} histograms) -> {}",
        r.sequence,
        r.series.len(),
        r.sample_count(),
        r.histogram_count(),
        r.response.status
    );
    for s in &r.series {
        let _ = writeln!(out, "{s}");
    }
    for p in &r.problems {
        let _ = writeln!(out, "# problem: {p}");
    }
}
