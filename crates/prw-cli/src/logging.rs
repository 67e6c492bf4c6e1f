//! Where the libraries' log lines go: stderr, filtered by `-q` / `-v`.

use tracing_subscriber::EnvFilter;

/// Installs the stderr logger. `RUST_LOG` wins over the flags.
pub(crate) fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    // The HTTP stack is chatty at debug; keep it one level quieter unless -vvv.
    let default = if verbose >= 3 {
        level.to_owned()
    } else {
        format!("{level},hyper=warn,hyper_util=warn,rustls=warn,h2=warn")
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose >= 2)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .try_init();
}
