//! `prw`: send OTLP metrics to any Prometheus Remote Write backend, see what they look like in
//! Prometheus, and see what an application actually sends.
//!
//! ```console
//! $ prw convert metrics.json
//! $ prw send --endpoint http://localhost:9090/api/v1/write metrics.json
//! $ prw receive --listen 127.0.0.1:9201
//! ```

mod cli;
mod convert;
mod duration;
mod error;
mod input;
mod json;
mod logging;
mod options;
mod output;
mod receive;
mod send;
mod signals;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::CliError;
use crate::output::Verbosity;

fn main() -> ExitCode {
    // Usage errors exit with 2, --help and --version with 0 (clap's convention matches ours).
    let cli = Cli::parse();
    logging::init(cli.verbose, cli.quiet);
    let verbosity = Verbosity { quiet: cli.quiet, verbose: cli.verbose };
    let result = match &cli.command {
        Command::Convert(args) => convert::run(args, verbosity),
        Command::Send(args) => runtime().and_then(|rt| rt.block_on(send::run(args, verbosity))),
        Command::Receive(args) => {
            runtime().and_then(|rt| rt.block_on(receive::run(args, verbosity)))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::note(format!("prw: {error}"));
            error.exit_code()
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))
}
