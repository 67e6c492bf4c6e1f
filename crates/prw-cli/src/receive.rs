//! `prw receive`: a debug receiver that prints every request and what breaks the spec in it.

use std::collections::HashSet;

use prw::receiver::{ReceivedRequest, Receiver, Severity};

use crate::cli::ReceiveArgs;
use crate::error::CliError;
use crate::json;
use crate::output::{Closed, Stdout, Verbosity, describe_problem, note};
use crate::signals::Interrupt;

/// What all requests added up to, for the line printed when the receiver stops.
#[derive(Debug, Default)]
struct Totals {
    requests: u64,
    series: usize,
    samples: usize,
    histograms: usize,
    exemplars: usize,
    with_errors: u64,
    refused: u64,
}

impl Totals {
    fn add(&mut self, request: &ReceivedRequest) {
        self.requests += 1;
        self.series += request.series.len();
        self.samples += request.sample_count();
        self.histograms += request.histogram_count();
        self.exemplars += request.exemplar_count();
        if request.has_errors() {
            self.with_errors += 1;
        }
        if !(200..300).contains(&request.response.status) {
            self.refused += 1;
        }
    }
}

pub(crate) async fn run(args: &ReceiveArgs, verbosity: Verbosity) -> Result<(), CliError> {
    let mut interrupt = Interrupt::install()?;
    let mut receiver = Receiver::builder()
        .reject_invalid(args.strict)
        .bind(args.listen)
        .await
        .map_err(|e| CliError::Usage(format!("cannot listen on {}: {e}", args.listen)))?;
    // Even with -q: with port 0 this is the only way to learn where to send.
    note(format!(
        "listening on http://{}/api/v1/write (any path works); Ctrl-C stops",
        receiver.local_addr()
    ));
    let mut out = Stdout::new();
    let mut totals = Totals::default();
    let mut show = |request: ReceivedRequest, totals: &mut Totals| -> bool {
        totals.add(&request);
        let printed = if args.json {
            out.line(json::received_json(&request)).and_then(|()| out.flush())
        } else {
            print_request(&mut out, &request, verbosity)
        };
        printed.is_ok() && args.count.is_none_or(|n| totals.requests < n)
    };
    loop {
        let request = tokio::select! {
            // A request that has arrived is shown before a stop is obeyed.
            biased;
            request = receiver.recv() => request,
            () = interrupt.recv() => None,
        };
        let Some(request) = request else { break };
        if !show(request, &mut totals) {
            break;
        }
    }
    // Requests answered while stopping were accepted: show them too.
    if args.count.is_none_or(|n| totals.requests < n) {
        while let Some(request) = receiver.try_recv() {
            if !show(request, &mut totals) {
                break;
            }
        }
    }
    receiver.shutdown().await;
    if verbosity.notes() {
        note(format!(
            "received {} request{}: {} series, {} samples, {} histograms, {} exemplars; {} with spec errors, {} refused",
            totals.requests,
            if totals.requests == 1 { "" } else { "s" },
            totals.series,
            totals.samples,
            totals.histograms,
            totals.exemplars,
            totals.with_errors,
            totals.refused
        ));
    }
    Ok(())
}

fn print_request(
    out: &mut Stdout,
    request: &ReceivedRequest,
    verbosity: Verbosity,
) -> Result<(), Closed> {
    let response = &request.response;
    let protocol =
        request.version.map_or_else(|| "not Remote Write".to_owned(), |v| format!("RW {v}"));
    let agent = request.header("user-agent").unwrap_or("no User-Agent");
    let mut head = format!(
        "# request {} from {} ({agent}): {} {} {protocol}, {} series, {} samples, {} histograms, {} exemplars -> {}",
        request.sequence,
        request.remote_addr,
        request.method,
        request.path,
        request.series.len(),
        request.sample_count(),
        request.histogram_count(),
        request.exemplar_count(),
        response.status
    );
    if let Some(samples) = response.samples_written {
        head.push_str(&format!(
            " (written: {samples} samples, {} histograms, {} exemplars)",
            response.histograms_written.unwrap_or(0),
            response.exemplars_written.unwrap_or(0)
        ));
    }
    out.line(head)?;
    // -q prints the request lines and problems only, not every series.
    if !verbosity.quiet {
        for meta in &request.metadata {
            out.line(meta)?;
        }
        let mut announced: HashSet<&str> = HashSet::new();
        for series in &request.series {
            if let Some(meta) = &series.metadata {
                if announced.insert(meta.family.as_str()) {
                    out.line(meta)?;
                }
            }
            out.line(series)?;
        }
    }
    for problem in &request.problems {
        if problem.severity == Severity::Warning && verbosity.quiet {
            continue;
        }
        out.line(format!("# {}", describe_problem(problem, &request.series)))?;
    }
    out.flush()
}
