//! Writing to stdout and stderr: quiet and verbose levels, and a closed pipe that ends the
//! program quietly instead of panicking.

use std::io::{self, Write};

use prw::receiver::{Problem, Series, write_series_name};

/// How much goes to stderr.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Verbosity {
    pub(crate) quiet: bool,
    pub(crate) verbose: u8,
}

impl Verbosity {
    /// Warnings and the summary line: shown unless `-q`.
    pub(crate) fn notes(self) -> bool {
        !self.quiet
    }

    /// Extra detail: `-v` and more.
    pub(crate) fn detail(self) -> bool {
        !self.quiet && self.verbose >= 1
    }
}

/// Stdout, buffered; a closed pipe (`prw convert f | head`) is reported as [`Closed`].
#[derive(Debug)]
pub(crate) struct Stdout {
    out: io::BufWriter<io::Stdout>,
}

/// The reader of stdout went away.
#[derive(Debug)]
pub(crate) struct Closed;

impl Stdout {
    pub(crate) fn new() -> Self {
        Stdout { out: io::BufWriter::new(io::stdout()) }
    }

    pub(crate) fn line(&mut self, text: impl std::fmt::Display) -> Result<(), Closed> {
        writeln!(self.out, "{text}").map_err(|_| Closed)
    }

    pub(crate) fn flush(&mut self) -> Result<(), Closed> {
        self.out.flush().map_err(|_| Closed)
    }
}

/// `error [unsorted-labels] series 3 up{b="1",a="2"}: labels are not sorted ...`
pub(crate) fn describe_problem(problem: &Problem, series: &[Series]) -> String {
    let mut text = format!("{} [{}]", problem.severity, problem.kind);
    if let Some(index) = problem.series {
        text.push_str(&format!(" series {index}"));
        if let Some(s) = series.get(index) {
            text.push(' ');
            let _ = write_series_name(&mut text, &s.labels);
        }
    }
    text.push_str(": ");
    text.push_str(&problem.message);
    text
}

/// Writes to stderr; a failure to do so cannot be reported anywhere.
pub(crate) fn note(text: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}
