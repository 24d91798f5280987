//! Wires the subsystems together for the binary: configuration, logging, the data thread.

use crate::config::Config;
use crate::server::{self, StartOptions};

/// Runs the daemon until it is shut down. Returns the process exit code.
pub fn run(config: Config) -> i32 {
    crate::logging::init(&config.loglevel);
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        pid = std::process::id(),
        "aofd is starting."
    );
    let running = match server::start(
        config,
        StartOptions {
            handle_signals: true,
            ephemeral_port: false,
        },
    ) {
        Ok(running) => running,
        Err(e) => {
            tracing::error!(error = %e, "Startup failed.");
            return 1;
        }
    };
    let _ = running.thread.join();
    0
}
