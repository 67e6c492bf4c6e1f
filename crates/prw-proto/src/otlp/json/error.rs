//! [`JsonError`]: what went wrong, where, and in which field.

use std::fmt;

use super::decode::{Segment, render_path};

/// What kind of problem a [`JsonError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JsonErrorKind {
    /// The text is not JSON (a stray character, a bad escape, a number out of range...).
    Syntax,
    /// The text ends in the middle of a JSON value: a truncated file or line.
    Eof,
    /// Valid JSON, but not an OTLP/JSON request: a value of the wrong type or out of range,
    /// a field given twice, two members of a oneof set.
    Data,
    /// Reading the input failed ([`JsonLinesReader`](super::JsonLinesReader) only).
    Io,
}

/// An input that could not be decoded as OTLP/JSON.
///
/// Displays as `line 3, column 17: resourceMetrics[0].scopeMetrics[0].metrics[2].name:
/// expected a string, got 7`.
#[derive(Debug)]
pub struct JsonError {
    kind: JsonErrorKind,
    line: usize,
    column: usize,
    path: String,
    message: String,
    source: Option<std::io::Error>,
}

impl JsonError {
    /// What kind of problem this is.
    pub fn kind(&self) -> JsonErrorKind {
        self.kind
    }

    /// The line (1-based) of the input where the problem was found. For JSON lines, the number
    /// of the offending line in the whole input.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The column (1-based, in characters, not bytes) where the problem was found: the last
    /// character of the offending value (its opening bracket if it is an object or array),
    /// or, for a syntax error, the character that cannot be there. 0 for an I/O error.
    pub fn column(&self) -> usize {
        self.column
    }

    /// The path to the offending value, such as
    /// `resourceMetrics[0].scopeMetrics[1].metrics[3].sum.dataPoints[0].asInt`; empty when
    /// the problem is not inside a field (such as a syntax error between two fields).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong, without the position and the path.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(super) fn io(error: std::io::Error, line: usize) -> Self {
        Self {
            kind: JsonErrorKind::Io,
            line,
            column: 0,
            path: String::new(),
            message: format!("reading the input failed: {error}"),
            source: Some(error),
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == JsonErrorKind::Io {
            return write!(f, "line {}: {}", self.line, self.message);
        }
        write!(f, "line {}, column {}: ", self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for JsonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

/// Builds the error for a serde_json failure while decoding the document that starts at byte
/// `offset` of `text`, with the position converted to lines and character columns of `text`.
pub(super) fn from_serde(
    error: &serde_json::Error,
    path: &[Segment],
    text: &[u8],
    offset: usize,
) -> JsonError {
    let document = text.get(offset..).unwrap_or_default();
    let at = offset + byte_index(document, error.line(), error.column());
    let (line, column) = line_and_column(text, at);
    build(error, path, line, column)
}

/// The same for one line of JSON lines, `text` being that line and `line` its number.
pub(super) fn from_serde_on_line(
    error: &serde_json::Error,
    path: &[Segment],
    text: &[u8],
    line: usize,
) -> JsonError {
    let at = byte_index(text, error.line(), error.column());
    let (within, column) = line_and_column(text, at);
    build(error, path, line + within - 1, column)
}

fn build(error: &serde_json::Error, path: &[Segment], line: usize, column: usize) -> JsonError {
    let kind = match error.classify() {
        serde_json::error::Category::Syntax => JsonErrorKind::Syntax,
        serde_json::error::Category::Eof => JsonErrorKind::Eof,
        serde_json::error::Category::Data => JsonErrorKind::Data,
        serde_json::error::Category::Io => JsonErrorKind::Io,
    };
    // serde_json appends its own position; ours is in characters and may be shifted.
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    JsonError { kind, line, column, path: render_path(path), message, source: None }
}

/// serde_json counts lines from 1 and columns as bytes read on that line; this gives the byte
/// index just after the last byte read.
fn byte_index(text: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text.get(start..).and_then(|rest| rest.iter().position(|&b| b == b'\n')) {
            Some(newline) => start += newline + 1,
            None => break,
        }
    }
    (start + column).min(text.len())
}

/// The 1-based line and character column of the character that ends just before byte `at`
/// (column 1 when nothing of that line has been read).
fn line_and_column(text: &[u8], at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let this_line = before.get(line_start..).unwrap_or_default();
    // Count characters by their first byte (anything but a UTF-8 continuation byte).
    let column = this_line.iter().filter(|&&b| b & 0xC0 != 0x80).count();
    (line, column.max(1))
}
