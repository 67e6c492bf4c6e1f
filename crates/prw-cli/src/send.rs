//! `prw send`: converts OTLP files and pushes them with the exporter's batching and retries.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use prw::convert::{self, Converter};
use prw::sdk::export::MetricExporter;
use prw::{EndpointStats, PrometheusRemoteWriteExporter, Protocol, Secret};

use crate::cli::{SendArgs, SendProtocol};
use crate::error::CliError;
use crate::input;
use crate::options::convert_options;
use crate::output::Verbosity;
use crate::signals::Interrupt;

/// Points waiting for the network before `send` stops queueing more: well below the
/// exporter's queue limit, so that a large file is paced instead of shed.
const HIGH_WATER_POINTS: u64 = 100_000;
/// A send this large (in samples and histograms) gets a progress bar, when stderr is a terminal.
const PROGRESS_BAR_POINTS: u64 = 10_000;
const POLL: Duration = Duration::from_millis(20);
/// How long the final shutdown may take once everything was delivered or dropped.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// What the converted input holds: distinct series, and samples plus histograms.
#[derive(Debug, Default)]
struct Planned {
    series: u64,
    points: u64,
}

pub(crate) async fn run(args: &SendArgs, verbosity: Verbosity) -> Result<(), CliError> {
    let protocol = match args.protocol {
        SendProtocol::V1 => convert::Protocol::Rw1,
        SendProtocol::V2 | SendProtocol::Auto => convert::Protocol::Rw2,
    };
    let options = convert_options(&args.conversion, protocol);
    let metrics = input::resource_metrics(
        input::read_all(&args.input.files, args.input.input_format)?,
        verbosity,
    );
    let exporter = build_exporter(args, options.clone())?;

    // The exporter converts on its own; this pass only counts (and checks the options once more,
    // with the same message the exporter would give).
    let converter =
        Converter::new(options).map_err(|e| CliError::Usage(format!("conversion options: {e}")))?;
    let mut planned = Planned::default();
    // Series are counted once however many collections carry them; a hash per label set keeps
    // this small for large inputs.
    let mut distinct: HashSet<u64> = HashSet::new();
    for rm in &metrics {
        let conversion = converter.convert(std::slice::from_ref(rm));
        for series in &conversion.series {
            let mut hasher = DefaultHasher::new();
            for label in series.labels() {
                label.hash(&mut hasher);
            }
            distinct.insert(hasher.finish());
        }
        planned.points += (conversion.sample_count() + conversion.histogram_count()) as u64;
    }
    planned.series = distinct.len() as u64;

    let bar = (verbosity.notes()
        && std::io::stderr().is_terminal()
        && planned.points >= PROGRESS_BAR_POINTS)
        .then(|| progress_bar(planned.points));
    let mut interrupt = Interrupt::install()?;
    let mut interrupted = false;
    'feed: for rm in metrics {
        loop {
            let stats = exporter.stats();
            update(bar.as_ref(), &stats);
            if pending(&stats) < HIGH_WATER_POINTS {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = interrupt.recv() => { interrupted = true; break 'feed; }
            }
        }
        exporter
            .enqueue(rm)
            .map_err(|e| CliError::Failed(format!("the exporter refused the data: {e}")))?;
    }
    // Every request ends delivered or dropped (retries are bounded by --max-retry-duration).
    while !interrupted {
        let stats = exporter.stats();
        update(bar.as_ref(), &stats);
        if pending(&stats) == 0 {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            () = interrupt.recv() => interrupted = true,
        }
    }
    let shutdown =
        exporter.shutdown(if interrupted { Duration::ZERO } else { SHUTDOWN_DEADLINE }).await;
    let stats = exporter.stats();
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    report(&stats, &planned, args, verbosity, interrupted, shutdown.err())
}

fn pending(stats: &[EndpointStats]) -> u64 {
    stats.iter().map(|s| s.pending_points).sum()
}

fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} samples {per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn update(bar: Option<&ProgressBar>, stats: &[EndpointStats]) {
    if let Some(bar) = bar {
        let done: u64 = stats.iter().map(|s| s.sent.points() + s.dropped_total().points()).sum();
        bar.set_position(done);
        let retried: u64 = stats.iter().map(|s| s.retried.points()).sum();
        if retried > 0 {
            bar.set_message(format!("({retried} retried)"));
        }
    }
}

fn report(
    stats: &[EndpointStats],
    planned: &Planned,
    args: &SendArgs,
    verbosity: Verbosity,
    interrupted: bool,
    shutdown_error: Option<prw::sdk::export::ExportError>,
) -> Result<(), CliError> {
    let requests: u64 = stats.iter().map(|s| s.requests_sent).sum();
    let samples: u64 = stats.iter().map(|s| s.sent.samples).sum();
    let histograms: u64 = stats.iter().map(|s| s.sent.histograms).sum();
    let retried: u64 = stats.iter().map(|s| s.retried.points()).sum();
    let dropped: u64 = stats.iter().map(|s| s.dropped_total().points()).sum();
    let mut summary = format!(
        "sent {requests} request{}, {} series, {samples} sample{}",
        if requests == 1 { "" } else { "s" },
        planned.series,
        if samples == 1 { "" } else { "s" },
    );
    if histograms > 0 {
        summary.push_str(&format!(", {histograms} histograms"));
    }
    summary.push_str(&format!("; {retried} retried, {dropped} dropped"));
    if verbosity.notes() {
        println!("{summary}");
    }
    if dropped == 0 && !interrupted {
        if let Some(error) = shutdown_error {
            return Err(CliError::Failed(format!("shutting the exporter down: {error}")));
        }
        return Ok(());
    }
    let reasons: Vec<String> = stats
        .iter()
        .flat_map(|s| s.dropped.iter())
        .filter(|(_, counts)| !counts.is_empty())
        .map(|(reason, counts)| {
            let why = match reason {
                prw::DropReason::Rejected => {
                    "rejected by the endpoint (4xx; see the log above)".to_owned()
                }
                prw::DropReason::RetryTimeout => format!(
                    "retries ran out after --max-retry-duration {:?}",
                    args.max_retry_duration
                ),
                prw::DropReason::TooLarge => "too large for the endpoint (413)".to_owned(),
                prw::DropReason::NotWritten => "the endpoint did not confirm writing it".to_owned(),
                prw::DropReason::QueueFull => "the queue was full".to_owned(),
                prw::DropReason::Shutdown => "not delivered before the end".to_owned(),
                other => other.to_string(),
            };
            format!("{} points dropped: {why}", counts.points())
        })
        .collect();
    let mut message = if reasons.is_empty() {
        "not everything was delivered".to_owned()
    } else {
        reasons.join("; ")
    };
    if interrupted {
        message = format!("interrupted: {message}");
    }
    Err(CliError::Failed(message))
}

/// Reads a secret file once so that a missing or empty one is a usage error now, not a
/// failed request later. The exporter re-reads it as it changes.
fn secret_file(flag: &str, path: &Path) -> Result<Secret, CliError> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => {
            Err(CliError::Usage(format!("{flag} {}: the file is empty", path.display())))
        }
        Ok(_) => Ok(Secret::from_file(path)),
        Err(e) => Err(CliError::Usage(format!("{flag} {}: cannot read it: {e}", path.display()))),
    }
}

fn build_exporter(
    args: &SendArgs,
    options: convert::ConvertOptions,
) -> Result<PrometheusRemoteWriteExporter, CliError> {
    let usage = |e: prw::BuildError| CliError::Usage(e.to_string());
    let mut builder = PrometheusRemoteWriteExporter::builder()
        .endpoint(&args.endpoint)
        .map_err(usage)?
        .protocol(match args.protocol {
            SendProtocol::V1 => Protocol::V1,
            SendProtocol::V2 => Protocol::V2,
            SendProtocol::Auto => Protocol::Auto,
        })
        // `--protocol 2` means 2.0 and nothing else; `auto` is the one that falls back.
        .fallback_to_v1(args.protocol == SendProtocol::Auto)
        .convert_options(options)
        .send_metadata(args.conversion.send_metadata)
        .timeout(args.timeout)
        .max_retry_duration(Some(args.max_retry_duration))
        // Replaying files: the series do not end when prw does.
        .stale_markers_on_shutdown(false)
        .self_metrics(false)
        .runtime(tokio::runtime::Handle::current());
    for (name, value) in &args.headers {
        builder = builder.header(name, value).map_err(usage)?;
    }
    if let Some((user, password)) = &args.basic_auth {
        builder = builder.basic_auth(user.clone(), Secret::new(password.clone()));
    }
    if let (Some(user), Some(file)) = (&args.basic_auth_user, &args.basic_auth_password_file) {
        builder =
            builder.basic_auth(user.clone(), secret_file("--basic-auth-password-file", file)?);
    }
    if let Some(token) = &args.bearer_token {
        builder = builder.bearer_token(Secret::new(token.clone()));
    }
    if let Some(file) = &args.bearer_token_file {
        builder = builder.bearer_token(secret_file("--bearer-token-file", file)?);
    }
    if let Some(ca) = &args.tls_ca {
        builder = builder.tls_ca_file(ca.clone());
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        builder = builder.tls_client_cert_file(cert.clone()).tls_client_key_file(key.clone());
    }
    if let Some(name) = &args.tls_server_name {
        builder = builder.tls_server_name(name.clone());
    }
    if args.insecure_skip_verify {
        builder = builder.insecure_skip_verify(true);
    }
    if let Some(proxy) = &args.proxy {
        builder = builder.proxy(proxy.clone());
    }
    if let Some(n) = args.max_series_per_request {
        builder = builder.max_series_per_request(n as usize);
    }
    if let Some(dir) = &args.queue_dir {
        let mut queue = prw::persistent_queue::PersistentQueueConfig::new(dir);
        if let Some(bytes) = args.queue_max_bytes {
            queue = queue.max_bytes(bytes);
        }
        if let Some(policy) = args.queue_fsync {
            queue = queue.fsync(policy);
        }
        builder = builder.persistent_queue(queue);
    }
    builder.build().map_err(usage)
}
