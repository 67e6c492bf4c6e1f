//! `prw convert`: the series a backend would store, as lines or as the RW message in JSON.

use std::collections::HashSet;

use prw::convert::{self, Converter, to_rw1, to_rw2};
use prw::receiver::{MetricMetadata, Severity, WireMessage, inspect};

use crate::cli::{ConvertArgs, DumpProtocol};
use crate::error::CliError;
use crate::input;
use crate::json;
use crate::options::convert_options;
use crate::output::{Closed, Stdout, Verbosity, describe_problem, note};

pub(crate) fn run(args: &ConvertArgs, verbosity: Verbosity) -> Result<(), CliError> {
    let protocol = match args.protocol {
        DumpProtocol::V1 => convert::Protocol::Rw1,
        DumpProtocol::V2 => convert::Protocol::Rw2,
    };
    let converter = Converter::new(convert_options(&args.conversion, protocol))
        .map_err(|e| CliError::Usage(format!("conversion options: {e}")))?;
    let metrics = input::resource_metrics(
        input::read_all(&args.input.files, args.input.input_format)?,
        verbosity,
    );
    let conversion = converter.convert(&metrics);

    if verbosity.notes() {
        for dropped in &conversion.report.dropped {
            note(format!(
                "dropped {} point{} of {:?}: {}",
                dropped.points,
                if dropped.points == 1 { "" } else { "s" },
                dropped.metric,
                dropped.reason
            ));
        }
        if conversion.report.exemplars_dropped > 0 {
            note(format!(
                "dropped {} exemplars (kept only on counters and histograms, and only with a value)",
                conversion.report.exemplars_dropped
            ));
        }
    }

    let message = match args.protocol {
        DumpProtocol::V1 => {
            let metadata =
                if args.conversion.send_metadata { &conversion.metadata[..] } else { &[] };
            WireMessage::V1(to_rw1(&conversion.series, metadata))
        }
        DumpProtocol::V2 => WireMessage::V2(to_rw2(&conversion.series)),
    };
    let mut out = Stdout::new();
    let printed = if args.json {
        let value = match &message {
            WireMessage::V1(request) => json::rw1_json(request),
            WireMessage::V2(request) => json::rw2_json(request),
        };
        out.line(serde_json::to_string_pretty(&value).unwrap_or_default())
            .and_then(|()| out.flush())
    } else {
        print_series(&mut out, &message, args.conversion.send_metadata, verbosity)
    };
    if printed.is_err() {
        // The reader went away (`| head`): nothing left to do.
        return Ok(());
    }
    if verbosity.detail() {
        note(format!(
            "{} series, {} samples, {} histograms",
            conversion.series.len(),
            conversion.sample_count(),
            conversion.histogram_count()
        ));
    }
    Ok(())
}

/// Lines as `prw receive` prints them, from the very message that would be sent.
fn print_series(
    out: &mut Stdout,
    message: &WireMessage,
    with_metadata: bool,
    verbosity: Verbosity,
) -> Result<(), Closed> {
    let inspection = inspect(message);
    let mut announced: HashSet<String> = HashSet::new();
    for series in &inspection.series {
        if with_metadata {
            let family = series
                .metadata
                .as_ref()
                .or_else(|| rw1_family(&inspection.metadata, series.name()));
            if let Some(meta) = family {
                if announced.insert(meta.family.clone()) {
                    out.line(meta)?;
                }
            }
        }
        out.line(series)?;
    }
    out.flush()?;
    if verbosity.notes() {
        // Our own output should never break a MUST of the spec; if it does, say so. SHOULDs
        // (such as UTF-8 names, which the user asked for) only with -v.
        let shown = inspection
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error || verbosity.detail());
        for problem in shown {
            note(format!(
                "warning: the converted output breaks the Remote Write spec: {}",
                describe_problem(problem, &inspection.series)
            ));
        }
    }
    Ok(())
}

/// The RW 1.0 metadata entry of a series: its family is the name, or the name without the
/// `_bucket`, `_sum`, `_count` (histograms, summaries) suffix.
fn rw1_family<'a>(
    metadata: &'a [MetricMetadata],
    name: Option<&str>,
) -> Option<&'a MetricMetadata> {
    let name = name?;
    let candidates = std::iter::once(name).chain(
        ["_bucket", "_sum", "_count", "_created"].iter().filter_map(|s| name.strip_suffix(s)),
    );
    for candidate in candidates {
        if let Some(m) = metadata.iter().find(|m| m.family == candidate) {
            return Some(m);
        }
    }
    None
}
