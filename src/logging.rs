//! Log output: readable sentences with fields, to standard output or the `logfile`.
//! Placeholder: the logging work owns this file.

/// Installs the global subscriber for `loglevel` (Redis's level names).
pub fn init(loglevel: &str) {
    let level = match loglevel {
        "debug" => "debug",
        "verbose" => "debug",
        "warning" => "warn",
        "nothing" => "off",
        _ => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stdout)
        .try_init();
}
