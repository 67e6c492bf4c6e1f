//! Malformed OTLP/JSON: the error says where (line and character column, for JSON lines the
//! line in the whole file) and what, naming the field, and nothing panics.
//!
//! Expected positions are found in the input text itself (`position_of`), not typed in.

#![cfg(feature = "json")]
// Helpers outside #[test] functions fail the test the same way.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};

use prw_proto::otlp::json::{self, JsonError, JsonErrorKind, JsonLinesReader};

/// Line and character column (both 1-based) of the last character of the `nth` occurrence of
/// `needle` in `text`.
fn position_of(text: &str, needle: &str, nth: usize) -> (usize, usize) {
    let start = text.match_indices(needle).nth(nth).unwrap_or_else(|| panic!("{needle:?}")).0;
    let end = start + needle.len(); // just after the needle
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap().chars().count();
    (line, column)
}

fn at(error: &JsonError) -> (usize, usize) {
    (error.line(), error.column())
}

const BAD_INT: &str = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[]},{"metrics":[{"name":"a"},{"name":"b"},{"name":"c"},{"name":"d","sum":{"dataPoints":[{"asInt":"abc"}]}}]}]}]}"#;

#[test]
fn the_message_names_the_field_path() {
    let error = json::from_json_str(BAD_INT).unwrap_err();
    let (line, column) = position_of(BAD_INT, r#""asInt":"abc""#, 0);
    assert_eq!(at(&error), (line, column));
    assert_eq!(error.kind(), JsonErrorKind::Data);
    assert_eq!(
        error.path(),
        "resourceMetrics[0].scopeMetrics[1].metrics[3].sum.dataPoints[0].asInt"
    );
    assert_eq!(error.message(), r#"expected an integer, got "abc""#);
    assert_eq!(
        error.to_string(),
        format!(
            "line 1, column {column}: resourceMetrics[0].scopeMetrics[1].metrics[3].sum.dataPoints[0].asInt: \
             expected an integer, got \"abc\""
        )
    );
}

#[test]
fn position_in_a_pretty_printed_file() {
    let text = r#"{
  "resourceMetrics": [
    {
      "scopeMetrics": [
        {
          "metrics": [
            {
              "name": "ok",
              "gauge": { "dataPoints": [ { "asDouble": 1.5 } ] }
            },
            {
              "name": "bad",
              "histogram": {
                "dataPoints": [
                  {
                    "count": "3",
                    "explicitBounds": [1, 2, "three"],
                    "bucketCounts": ["1", "1", "1"]
                  }
                ]
              }
            }
          ]
        }
      ]
    }
  ]
}"#;
    let error = json::from_json_str(text).unwrap_err();
    assert_eq!(at(&error), position_of(text, r#""three""#, 0));
    assert_eq!(error.line(), 17);
    assert_eq!(
        error.path(),
        "resourceMetrics[0].scopeMetrics[0].metrics[1].histogram.dataPoints[0].explicitBounds[2]"
    );

    // A number in the wrong place: the position is its last digit, even when the object it
    // is in closes on a later line.
    let text = text.replace(r#""three""#, "3").replace(r#""count": "3""#, r#""count": 3.5"#);
    let error = json::from_json_str(&text).unwrap_err();
    assert_eq!(at(&error), position_of(&text, r#""count": 3.5"#, 0));
    assert_eq!(error.message(), "expected an integer, got 3.5");

    // An object where a scalar belongs: the position is its opening brace.
    let text = text.replace(r#""count": 3.5"#, r#""count": {"value": 3}"#);
    let error = json::from_json_str(&text).unwrap_err();
    assert_eq!(at(&error), position_of(&text, r#""count": {"#, 0));
    assert_eq!(error.message(), "expected an integer, got an object");
}

#[test]
fn syntax_errors_point_at_the_offending_character() {
    let text =
        "{\n  \"resourceMetrics\": [\n    {\"schemaUrl\": \"a\" \"scopeMetrics\": []}\n  ]\n}";
    let error = json::from_json_str(text).unwrap_err();
    assert_eq!(error.kind(), JsonErrorKind::Syntax);
    assert_eq!(error.message(), "expected `,` or `}`");
    // The opening quote of "scopeMetrics", where a comma should be.
    let (line, column) = position_of(text, "\"a\" \"", 0);
    assert_eq!(at(&error), (line, column));
    assert_eq!(error.path(), "resourceMetrics[0]");

    // Inside a field this decoder does not know, the path still says where.
    let text = r#"{"resourceMetrics":[{"futureThing":[1,2,}]}"#;
    let error = json::from_json_str(text).unwrap_err();
    assert_eq!(error.path(), "resourceMetrics[0].futureThing");
    assert_eq!(at(&error), position_of(text, "2,}", 0));
}

#[test]
fn truncated_input() {
    let request = json::from_json_str(BAD_INT.replace(r#""abc""#, "1").as_str()).unwrap();
    let pretty = json::to_json_string_pretty(&request);
    let cut = &pretty[..pretty.len() / 2];
    let error = json::from_json_str(cut).unwrap_err();
    assert_eq!(error.kind(), JsonErrorKind::Eof);
    assert_eq!(error.line(), cut.lines().count());

    let error = json::from_json_str("").unwrap_err();
    assert_eq!((error.kind(), at(&error)), (JsonErrorKind::Eof, (1, 1)));
}

#[test]
fn columns_count_characters_not_bytes() {
    let text = r#"{"resourceMetrics":[{"schemaUrl":"ü€😀","scopeMetrics":[{"schemaUrl":false}]}]}"#;
    let error = json::from_json_str(text).unwrap_err();
    assert_eq!(at(&error), position_of(text, "false", 0));
    // ü, € and 😀 take 2, 3 and 4 bytes: 6 bytes more than characters.
    let byte_column = text.find("false").unwrap() + "false".len();
    assert_eq!(error.column(), byte_column - 6);
}

#[test]
fn json_lines_errors_carry_the_line_of_the_file() {
    let good = r#"{"resourceMetrics":[]}"#;
    let bad = r#"{"resourceMetrics":[{"resource":{"droppedAttributesCount":-1}}]}"#;
    let text = format!("{good}\r\n\r\n{good}\n{bad}\n{good}\n");
    let error = json::from_json_lines(&text).unwrap_err();
    assert_eq!(at(&error), position_of(&text, "-1", 0));
    assert_eq!(error.line(), 4);
    assert_eq!(error.path(), "resourceMetrics[0].resource.droppedAttributesCount");
    assert_eq!(error.message(), "integer -1 is out of range for uint32 (0 to 4294967295)");

    // A line cut short (a writer killed mid-line) fails on its own line.
    let text = format!("{good}\n{}\n{good}\n", &good[..10]);
    let error = json::from_json_lines(&text).unwrap_err();
    assert_eq!((error.kind(), error.line()), (JsonErrorKind::Eof, 2));
}

#[test]
fn documents_errors_are_positioned_in_the_whole_text() {
    let good = "{\n  \"resourceMetrics\": []\n}";
    let bad = "{\n  \"resourceMetrics\": [\n    {\"schemaUrl\": 5}\n  ]\n}";
    let text = format!("{good}\n{good} {bad}\n");
    let error = json::from_json_documents(&text).unwrap_err();
    assert_eq!(at(&error), position_of(&text, "\"schemaUrl\": 5", 0));
    assert_eq!(error.line(), 8);
    assert_eq!(error.path(), "resourceMetrics[0].schemaUrl");

    // On the first line of a document that starts mid-line, columns count from the line start.
    let text = r#"{} {"resourceMetrics":7}"#;
    let error = json::from_json_documents(text).unwrap_err();
    assert_eq!(at(&error), position_of(text, ":7", 0));

    let text = format!("{good}\n{{\"resourceMetrics\": [}}");
    let error = json::from_json_documents(&text).unwrap_err();
    assert_eq!(error.kind(), JsonErrorKind::Syntax);
    assert_eq!(at(&error), position_of(&text, "[}", 0));
}

#[test]
fn duplicates_and_oneof_conflicts_point_at_the_second_value() {
    let text = r#"{"resourceMetrics":[{"schemaUrl":"a","schemaUrl":{"x":1}}]}"#;
    let error = json::from_json_str(text).unwrap_err();
    assert_eq!(error.message(), "field `schemaUrl` appears more than once");
    assert_eq!(error.path(), "resourceMetrics[0].schemaUrl");
    assert_eq!(at(&error), position_of(text, r#""schemaUrl":{"#, 0));

    let text = r#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"k","value":{"boolValue":true,"doubleValue":2}}]}}]}"#;
    let error = json::from_json_str(text).unwrap_err();
    assert_eq!(error.path(), "resourceMetrics[0].resource.attributes[0].value.doubleValue");
    assert_eq!(at(&error), position_of(text, "\"doubleValue\":2", 0));
}

#[test]
fn long_values_are_cut_in_messages() {
    let long = "x".repeat(10_000);
    let text = format!(r#"{{"resourceMetrics":[{{"scopeMetrics":"{long}"}}]}}"#);
    let error = json::from_json_str(&text).unwrap_err();
    assert_eq!(error.message(), format!("expected an array, got \"{}\"…", "x".repeat(40)));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let depth = 100_000;
    let text = format!(
        r#"{{"resourceMetrics":[{{"resource":{{"attributes":[{{"key":"k","value":{}{}}}]}}}}]}}"#,
        r#"{"arrayValue":{"values":["#.repeat(depth),
        "]}}".repeat(depth)
    );
    let error = json::from_json_str(&text).unwrap_err();
    assert_eq!(error.message(), "recursion limit exceeded");
    assert!(
        error
            .path()
            .starts_with("resourceMetrics[0].resource.attributes[0].value.arrayValue.values[0]")
    );
}

/// A reader that gives one good line, then fails.
struct FailingReader {
    given: bool,
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.given {
            return Err(std::io::Error::other("disk on fire"));
        }
        self.given = true;
        let line = b"{\"resourceMetrics\":[]}\n";
        buf[..line.len()].copy_from_slice(line);
        Ok(line.len())
    }
}

#[test]
fn reader_goes_on_after_a_bad_line_and_stops_after_a_read_error() {
    let text = "{}\n{\"resourceMetrics\":5}\n\n{}\n";
    let mut reader = JsonLinesReader::new(text.as_bytes());
    assert!(reader.next().unwrap().is_ok());
    let error = reader.next().unwrap().unwrap_err();
    assert_eq!((error.line(), error.kind()), (2, JsonErrorKind::Data));
    assert!(reader.next().unwrap().is_ok());
    assert_eq!(reader.line(), 4);
    assert!(reader.next().is_none());

    let mut reader =
        JsonLinesReader::new(BufReader::with_capacity(64, FailingReader { given: false }));
    assert!(reader.next().unwrap().is_ok());
    let error = reader.next().unwrap().unwrap_err();
    assert_eq!((error.kind(), error.line()), (JsonErrorKind::Io, 2));
    assert_eq!(error.to_string(), "line 2: reading the input failed: disk on fire");
    assert!(std::error::Error::source(&error).is_some());
    assert!(reader.next().is_none());
    let _inner: BufReader<FailingReader> = reader.into_inner();
}

#[test]
fn errors_can_cross_threads_and_box() {
    fn is_error<E: std::error::Error + Send + Sync + 'static>(_: &E) {}
    let error = json::from_json_str("[").unwrap_err();
    is_error(&error);
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(error);
    assert!(boxed.to_string().starts_with("line 1, column "));
    let _ = BufRead::fill_buf(&mut "".as_bytes());
}
