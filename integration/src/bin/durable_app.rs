//! The application the durable-delivery tests run (integration/tests/durable_*.rs): it pushes
//! the number of each collection as the gauge `durable_seq{run=...}` (1, 2, 3, ...) every
//! interval, with optional load series, through the real exporter — with a persistent queue
//! when given `--queue-dir`. After collection N's export returned (so N is queued, on disk
//! with a queue), it prints `queued N` on stdout; the tests kill it with SIGKILL at any time.
//!
//! ```text
//! durable_app --endpoint URL --run NAME [--interval-ms 200] [--queue-dir DIR]
//!             [--queue-max-bytes N] [--max-queue-bytes N] [--max-queue-samples N]
//!             [--series N] [--duration-ms N]
//! ```

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prw::PrometheusRemoteWriteExporter;
use prw::api::KeyValue;
use prw::persistent_queue::{FsyncPolicy, PersistentQueueConfig};
use prw::proto::otlp::metrics::{ResourceMetrics, metric, number_data_point};
use prw::sdk::export::{ExportFuture, MetricExporter, Temporality};
use prw::sdk::{PeriodicController, Resource, SdkMeterProvider};

#[derive(Debug)]
struct Args {
    endpoint: String,
    run: String,
    interval: Duration,
    queue_dir: Option<String>,
    queue_max_bytes: Option<u64>,
    max_queue_bytes: Option<u64>,
    max_queue_samples: Option<u64>,
    series: u64,
    duration: Option<Duration>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        endpoint: String::new(),
        run: "1".to_owned(),
        interval: Duration::from_millis(200),
        queue_dir: None,
        queue_max_bytes: None,
        max_queue_bytes: None,
        max_queue_samples: None,
        series: 0,
        duration: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<u64>().map_err(|e| format!("{flag} {value}: {e}"));
        match flag.as_str() {
            "--endpoint" => args.endpoint = value.clone(),
            "--run" => args.run = value.clone(),
            "--interval-ms" => args.interval = Duration::from_millis(number()?),
            "--queue-dir" => args.queue_dir = Some(value.clone()),
            "--queue-max-bytes" => args.queue_max_bytes = Some(number()?),
            "--max-queue-bytes" => args.max_queue_bytes = Some(number()?),
            "--max-queue-samples" => args.max_queue_samples = Some(number()?),
            "--series" => args.series = number()?,
            "--duration-ms" => args.duration = Some(Duration::from_millis(number()?)),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.endpoint.is_empty() {
        return Err("--endpoint is required".to_owned());
    }
    Ok(args)
}

/// Prints `queued N` once the export of the collection holding `durable_seq` = N returned.
#[derive(Debug)]
struct Announce(PrometheusRemoteWriteExporter);

fn seq_of(metrics: &ResourceMetrics) -> Option<i64> {
    let m =
        metrics.scope_metrics.iter().flat_map(|s| &s.metrics).find(|m| m.name == "durable_seq")?;
    let Some(metric::Data::Gauge(g)) = &m.data else { return None };
    match g.data_points.first()?.value? {
        number_data_point::Value::AsInt(n) => Some(n),
        number_data_point::Value::AsDouble(v) => Some(v as i64),
    }
}

impl MetricExporter for Announce {
    fn export(&self, metrics: ResourceMetrics) -> ExportFuture<'_> {
        let seq = seq_of(&metrics);
        // The exporter queues synchronously (on disk, with a queue) before returning.
        let done = self.0.export(metrics);
        Box::pin(async move {
            let result = done.await;
            if let (Ok(()), Some(n)) = (&result, seq) {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "queued {n}");
                let _ = out.flush();
            }
            result
        })
    }

    fn force_flush(&self) -> ExportFuture<'_> {
        self.0.force_flush()
    }

    fn shutdown(&self, deadline: Duration) -> ExportFuture<'_> {
        self.0.shutdown(deadline)
    }

    fn temporality(&self) -> Temporality {
        self.0.temporality()
    }
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("durable_app: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse()?;
    let mut builder = PrometheusRemoteWriteExporter::builder()
        .endpoint(&args.endpoint)?
        .min_backoff(Duration::from_millis(20))
        .max_backoff(Duration::from_millis(500))
        .stale_markers_on_shutdown(false);
    if let Some(dir) = &args.queue_dir {
        let mut queue = PersistentQueueConfig::new(dir).fsync(FsyncPolicy::EveryRequest);
        if let Some(n) = args.queue_max_bytes {
            queue = queue.max_bytes(n);
        }
        builder = builder.persistent_queue(queue);
    }
    if let Some(n) = args.max_queue_bytes {
        builder = builder.max_queue_bytes(n);
    }
    if let Some(n) = args.max_queue_samples {
        builder = builder.max_queue_samples(n);
    }
    let exporter = builder.build()?;
    let controller =
        PeriodicController::builder(Announce(exporter)).with_interval(args.interval).build();
    let resource = Resource::builder().with_service_name("durable_app").build();
    let provider =
        SdkMeterProvider::builder().with_resource(resource).with_reader(controller).build();
    let meter = provider.meter("durable");

    let seq = Arc::new(AtomicU64::new(0));
    let run = args.run.clone();
    let counter = seq.clone();
    let _seq_gauge = meter
        .u64_observable_gauge("durable_seq")
        .with_callback(move |o| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            o.observe(n, &[KeyValue::new("run", run.clone())]);
        })
        .build();
    let load = seq.clone();
    let series = args.series;
    let _load_gauge = meter
        .u64_observable_gauge("durable_load")
        .with_callback(move |o| {
            let n = load.load(Ordering::SeqCst);
            for i in 0..series {
                o.observe(
                    n,
                    &[KeyValue::new("series", i as i64), KeyValue::new("pad", "x".repeat(32))],
                );
            }
        })
        .build();

    println!("ready {}", std::process::id());
    let _ = std::io::stdout().flush();
    match args.duration {
        Some(d) => {
            std::thread::sleep(d);
            provider.shutdown()?;
        }
        None => loop {
            std::thread::park();
        },
    }
    Ok(())
}
