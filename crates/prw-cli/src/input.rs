//! Reading OTLP metrics from files and stdin: OTLP/JSON (one request per file or per line) or
//! OTLP/protobuf (one message, or the Collector file exporter's length-prefixed messages).

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use prw::proto::otlp::collector::ExportMetricsServiceRequest;
use prw::proto::otlp::json;
use prw::proto::otlp::metrics::ResourceMetrics;
use prw::proto::prost::Message;

use crate::cli::InputFormat;
use crate::error::CliError;
use crate::output::{Verbosity, note};

/// The requests read from one file (or stdin).
#[derive(Debug)]
pub(crate) struct Input {
    /// The file's name as given, or `<stdin>`.
    pub(crate) name: String,
    pub(crate) requests: Vec<ExportMetricsServiceRequest>,
}

/// Reads every input; no files means stdin.
pub(crate) fn read_all(files: &[PathBuf], format: InputFormat) -> Result<Vec<Input>, CliError> {
    let stdin_only = [PathBuf::from("-")];
    let files = if files.is_empty() { &stdin_only[..] } else { files };
    if files.iter().filter(|f| is_stdin(f)).count() > 1 {
        return Err(CliError::Usage("`-` (stdin) can be given only once".to_owned()));
    }
    files
        .iter()
        .map(|file| {
            let (name, bytes) = read_source(file)?;
            let requests = decode(&name, &bytes, format)?;
            Ok(Input { name, requests })
        })
        .collect()
}

/// All resource metrics of all inputs, in order; with `-v`, says what came from where.
pub(crate) fn resource_metrics(inputs: Vec<Input>, verbosity: Verbosity) -> Vec<ResourceMetrics> {
    if verbosity.detail() {
        for input in &inputs {
            let metrics: usize = input
                .requests
                .iter()
                .flat_map(|r| &r.resource_metrics)
                .flat_map(|rm| &rm.scope_metrics)
                .map(|sm| sm.metrics.len())
                .sum();
            note(format!("{}: {} requests, {metrics} metrics", input.name, input.requests.len()));
        }
    }
    inputs.into_iter().flat_map(|i| i.requests).flat_map(|r| r.resource_metrics).collect()
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn read_source(path: &Path) -> Result<(String, Vec<u8>), CliError> {
    let mut bytes = Vec::new();
    if is_stdin(path) {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Err(CliError::Usage(
                "no input: give OTLP files (or `-` and pipe them in)".to_owned(),
            ));
        }
        stdin
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::Input(format!("<stdin>: cannot read: {e}")))?;
        return Ok(("<stdin>".to_owned(), bytes));
    }
    let name = path.display().to_string();
    let mut file = std::fs::File::open(path).map_err(|e| {
        CliError::Input(match e.kind() {
            std::io::ErrorKind::NotFound => format!("{name}: no such file"),
            _ => format!("{name}: cannot open: {e}"),
        })
    })?;
    file.read_to_end(&mut bytes).map_err(|e| {
        CliError::Input(match e.raw_os_error() {
            // EISDIR
            Some(21) => format!("{name}: is a directory, not an OTLP file"),
            _ => format!("{name}: cannot read: {e}"),
        })
    })?;
    Ok((name, bytes))
}

const GZIP_MAGIC: &[u8] = b"\x1f\x8b";
const ZSTD_MAGIC: &[u8] = b"\x28\xb5\x2f\xfd";
const FRAMED_SNAPPY_MAGIC: &[u8] = b"\xff\x06\x00\x00sNaPpY";
const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Decodes one input in the given (or detected) format.
pub(crate) fn decode(
    name: &str,
    bytes: &[u8],
    format: InputFormat,
) -> Result<Vec<ExportMetricsServiceRequest>, CliError> {
    let fail = |message: String| CliError::Input(format!("{name}: {message}"));
    for (magic, what) in [
        (GZIP_MAGIC, "gzip-compressed: decompress it first (gunzip)"),
        (
            ZSTD_MAGIC,
            "zstd-compressed (the file exporter's `compression: zstd`): decompress it first (zstd -d)",
        ),
        (FRAMED_SNAPPY_MAGIC, "snappy-compressed: decompress it first"),
    ] {
        if bytes.starts_with(magic) {
            return Err(fail(format!("is {what}")));
        }
    }
    let text_start = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let first = text_start.iter().copied().find(|b| !b.is_ascii_whitespace());
    let format = match format {
        InputFormat::Auto => match first {
            None => return Ok(Vec::new()),
            Some(b'{' | b'[') => InputFormat::Json,
            Some(_) => InputFormat::Proto,
        },
        other => other,
    };
    match format {
        InputFormat::Json => decode_json(text_start).map_err(fail),
        _ => decode_proto(bytes).map_err(fail),
    }
}

fn decode_json(bytes: &[u8]) -> Result<Vec<ExportMetricsServiceRequest>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_and_column(bytes, e.valid_up_to());
        format!("line {line}, column {column}: not UTF-8 text (is this OTLP/protobuf? try --input-format proto)")
    })?;
    // One request per file, pretty-printed or not, or one per line (the Collector file exporter):
    // from_json_documents reads them all, and names the line and column of the first error.
    let requests =
        json::from_json_documents(text).map_err(|e| format!("malformed OTLP/JSON: {e}"))?;
    for (index, request) in requests.iter().enumerate() {
        check_plausible(request).map_err(|why| {
            format!("request {} is not an OTLP metrics request: {why}", index + 1)
        })?;
    }
    Ok(requests)
}

/// A bare `ExportMetricsServiceRequest`, or the file exporter's messages each preceded by its
/// length as a 4-byte big-endian integer.
fn decode_proto(bytes: &[u8]) -> Result<Vec<ExportMetricsServiceRequest>, String> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(requests) = length_prefixed(bytes) {
        return Ok(requests);
    }
    let not_otlp = |why: String| {
        format!(
            "not an OTLP/protobuf ExportMetricsServiceRequest ({why}); OTLP/JSON files must start \
             with `{{`"
        )
    };
    let request =
        ExportMetricsServiceRequest::decode(bytes).map_err(|e| not_otlp(e.to_string()))?;
    if request.resource_metrics.is_empty() {
        return Err(not_otlp(format!(
            "its {} bytes hold none of the message's fields",
            bytes.len()
        )));
    }
    check_plausible(&request).map_err(not_otlp)?;
    Ok(vec![request])
}

fn length_prefixed(bytes: &[u8]) -> Option<Vec<ExportMetricsServiceRequest>> {
    let mut rest = bytes;
    let mut requests = Vec::new();
    while !rest.is_empty() {
        let (len, after) = rest.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        if len > after.len() {
            return None;
        }
        let (message, after) = after.split_at(len);
        let request = ExportMetricsServiceRequest::decode(message).ok()?;
        check_plausible(&request).ok()?;
        requests.push(request);
        rest = after;
    }
    Some(requests)
}

/// Protobuf decodes many byte strings into *some* message; a metrics request whose metrics
/// have neither a name nor data is something else.
fn check_plausible(request: &ExportMetricsServiceRequest) -> Result<(), String> {
    for rm in &request.resource_metrics {
        for sm in &rm.scope_metrics {
            for metric in &sm.metrics {
                if metric.name.is_empty() && metric.data.is_none() {
                    return Err("a metric has neither a name nor data".to_owned());
                }
            }
        }
    }
    Ok(())
}

fn line_and_column(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = &bytes[..at.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prw::proto::otlp::metrics::{
        Gauge, Metric, NumberDataPoint, ScopeMetrics, metric::Data, number_data_point,
    };

    fn request(name: &str) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: name.into(),
                        data: Some(Data::Gauge(Gauge {
                            data_points: vec![NumberDataPoint {
                                time_unix_nano: 1_700_000_000_000_000_000,
                                value: Some(number_data_point::Value::AsDouble(1.5)),
                                ..Default::default()
                            }],
                        })),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn names(requests: &[ExportMetricsServiceRequest]) -> Vec<String> {
        requests
            .iter()
            .flat_map(|r| &r.resource_metrics)
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .map(|m| m.name.clone())
            .collect()
    }

    #[test]
    fn json_in_every_layout() {
        let a = json::to_json_string(&request("a"));
        let b = json::to_json_string(&request("b"));
        let lines = format!("{a}\n{b}\n");
        let pretty = json::to_json_string_pretty(&request("a"));
        for (input, expected) in [
            (a.clone(), vec!["a"]),
            (lines.clone(), vec!["a", "b"]),
            (format!("\u{feff}{pretty}"), vec!["a"]),
            (format!("{lines}\n\n"), vec!["a", "b"]),
            ("   \n".to_owned(), vec![]),
        ] {
            for format in [InputFormat::Auto, InputFormat::Json] {
                let got = decode("f", input.as_bytes(), format).unwrap();
                assert_eq!(names(&got), expected, "{input:?}");
            }
        }
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let a = json::to_json_string(&request("a"));
        let input = format!("{a}\n{{\"resourceMetrics\": [}}\n");
        let err = decode("m.json", input.as_bytes(), InputFormat::Auto).unwrap_err().to_string();
        assert!(err.starts_with("m.json: malformed OTLP/JSON: line 2, column "), "{err}");
        let err = decode("m.json", b"{\"resourceMetrics\":[{\"schemaUrl\":7}]}", InputFormat::Auto)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "m.json: malformed OTLP/JSON: line 1, column 34: resourceMetrics[0].schemaUrl: expected a string, got 7"
        );
        let err = decode("x", b"{\"a\": \"\xff\"}", InputFormat::Json).unwrap_err().to_string();
        assert!(err.contains("line 1, column 8: not UTF-8"), "{err}");
    }

    #[test]
    fn protobuf_bare_and_length_prefixed() {
        let a = request("a").encode_to_vec();
        let b = request("b").encode_to_vec();
        assert_eq!(names(&decode("f", &a, InputFormat::Auto).unwrap()), vec!["a"]);
        assert_eq!(names(&decode("f", &a, InputFormat::Proto).unwrap()), vec!["a"]);
        let mut framed = Vec::new();
        for m in [&a, &b] {
            framed.extend_from_slice(&(m.len() as u32).to_be_bytes());
            framed.extend_from_slice(m);
        }
        assert_eq!(names(&decode("f", &framed, InputFormat::Auto).unwrap()), vec!["a", "b"]);
        // truncated framing is not silently half-read
        assert!(decode("f", &framed[..framed.len() - 1], InputFormat::Auto).is_err());
    }

    #[test]
    fn other_files_get_a_clear_error() {
        use prw::proto::rw1;
        let rw1 = rw1::WriteRequest {
            timeseries: vec![rw1::TimeSeries {
                labels: vec![rw1::Label { name: "__name__".into(), value: "up".into() }],
                samples: vec![rw1::Sample { value: 1.0, timestamp: 1 }],
                ..Default::default()
            }],
            metadata: vec![],
        }
        .encode_to_vec();
        let rw2 =
            prw::proto::rw2::Request { symbols: vec!["".into(), "up".into()], timeseries: vec![] }
                .encode_to_vec();
        for (bytes, expected) in [
            (rw1, "not an OTLP/protobuf ExportMetricsServiceRequest"),
            (rw2, "not an OTLP/protobuf ExportMetricsServiceRequest"),
            (b"hello world".to_vec(), "not an OTLP/protobuf ExportMetricsServiceRequest"),
            (b"\x1f\x8b\x08\x00".to_vec(), "gzip"),
            (b"\x28\xb5\x2f\xfd\x00".to_vec(), "zstd"),
            (b"\xff\x06\x00\x00sNaPpY\x00".to_vec(), "snappy"),
        ] {
            let err = decode("x.bin", &bytes, InputFormat::Auto).unwrap_err();
            assert!(matches!(err, CliError::Input(_)));
            assert!(err.to_string().starts_with("x.bin: "), "{err}");
            assert!(err.to_string().contains(expected), "{err}");
        }
        let err = decode("x", b"{}", InputFormat::Proto).unwrap_err().to_string();
        assert!(err.contains("not an OTLP/protobuf"), "{err}");
    }

    #[test]
    fn missing_files_and_directories() {
        let err =
            read_all(&[PathBuf::from("/nonexistent/metrics.json")], InputFormat::Auto).unwrap_err();
        assert_eq!(err.to_string(), "/nonexistent/metrics.json: no such file");
        let dir = tempfile::tempdir().unwrap();
        let err = read_all(&[dir.path().to_path_buf()], InputFormat::Auto).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
        let err =
            read_all(&[PathBuf::from("-"), PathBuf::from("-")], InputFormat::Auto).unwrap_err();
        assert!(matches!(err, CliError::Usage(_)));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            for format in [InputFormat::Auto, InputFormat::Json, InputFormat::Proto] {
                let _ = decode("fuzz", &bytes, format);
            }
        }
    }
}
