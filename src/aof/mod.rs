//! AOF persistence in Redis 7's multi-part format: the self-contained core (file naming, the
//! manifest, record encoding, loading, the checker, the file layer, the writer and its fsync
//! worker). It knows nothing about the keyspace, clients or the command table: the server feeds
//! it propagated commands and replays what it loads through callbacks.
//!
//! The files mirror the sections of Redis's `aof.c`:
//! - [`names`]: every file name (`<appendfilename>.<seq>.base.aof`, `.incr.aof`, `.manifest`,
//!   `temp-` names) in one place.
//! - [`manifest`]: the manifest's line format, its strict parser with Redis's messages, atomic
//!   persistence, and the startup / new-INCR sequence rules.
//! - [`record`]: propagated commands to AOF bytes (`SELECT`, `MULTI`/`EXEC`, `#TS:`).
//! - [`loader`]: reading a file back command by command, and loading a whole manifest.
//! - [`check`]: `aofd check-aof`, redis-check-aof's checks, output and exit codes.
//! - [`file`]: the file layer under the writer, real and fault-injecting.
//! - [`writer`] + [`fsync`]: the in-memory buffer, the once-per-iteration write, error handling,
//!   and the fsync worker thread (group commit). The reply-gating contract is in [`writer`].

pub mod check;
pub mod cstr;
pub mod file;
pub mod fsync;
pub mod loader;
pub mod manifest;
pub mod names;
pub mod record;
pub mod rewrite;
pub mod writer;

use std::sync::Mutex;

/// Severity of a persistence log line, in Redis's terms (`*` notice, `#` warning).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    /// Redis `LL_NOTICE` (`*`): normal but significant state changes.
    Notice,
    /// Redis `LL_WARNING` (`#`): errors and anything an operator must act on.
    Warning,
}

/// Where the persistence core sends its log lines. The texts are Redis's own wording wherever
/// Redis has one, because operators and their tooling grep for them.
///
/// Passed in rather than hard-wired so tests can assert the exact lines, and shared with the
/// fsync worker thread, hence `Send + Sync`.
pub trait AofLogger: Send + Sync {
    /// Records one line.
    fn log(&self, level: LogLevel, msg: &str);

    /// Records one line that marks an event operators query for (the journal's `AOFD_EVENT`
    /// and its fields). Loggers without structured fields record just the line.
    fn event(&self, level: LogLevel, event: &AofEvent<'_>, msg: &str) {
        let _ = event;
        self.log(level, msg);
    }
}

/// The structured part of an [`AofLogger::event`] line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AofEvent<'a> {
    /// `AOFD_EVENT`: `aof_write_error`, `aof_write_recovered`, `slow_fsync`.
    pub name: &'static str,
    /// `AOF_FILE`: the file concerned.
    pub file: Option<&'a str>,
    /// `OFFSET`: where in it (bytes).
    pub offset: Option<u64>,
    /// `DURATION_MS`: how long it took.
    pub duration_ms: Option<u64>,
}

/// The production logger: `tracing` events (notice → info, warning → warn).
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingLog;

impl AofLogger for TracingLog {
    fn log(&self, level: LogLevel, msg: &str) {
        match level {
            LogLevel::Notice => tracing::info!("{msg}"),
            LogLevel::Warning => tracing::warn!("{msg}"),
        }
    }

    fn event(&self, level: LogLevel, e: &AofEvent<'_>, msg: &str) {
        match level {
            LogLevel::Notice => tracing::info!(
                aof_file = e.file,
                offset = e.offset,
                duration_ms = e.duration_ms,
                aofd_event = e.name,
                "{msg}"
            ),
            LogLevel::Warning => tracing::warn!(
                aof_file = e.file,
                offset = e.offset,
                duration_ms = e.duration_ms,
                aofd_event = e.name,
                "{msg}"
            ),
        }
    }
}

/// A logger that keeps every line in memory, for tests and for callers that want to show the
/// lines somewhere else (the checker prints them).
#[derive(Debug, Default)]
pub struct MemoryLog {
    lines: Mutex<Vec<(LogLevel, String)>>,
}

impl MemoryLog {
    /// Creates an empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// The lines recorded so far.
    pub fn lines(&self) -> Vec<(LogLevel, String)> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Just the texts of the lines recorded so far.
    pub fn texts(&self) -> Vec<String> {
        self.lines().into_iter().map(|(_, t)| t).collect()
    }

    /// Whether some recorded line contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.lines().iter().any(|(_, t)| t.contains(needle))
    }
}

impl AofLogger for MemoryLog {
    fn log(&self, level: LogLevel, msg: &str) {
        if let Ok(mut lines) = self.lines.lock() {
            lines.push((level, msg.to_string()));
        }
    }
}

/// C's `strerror(errno)`: the system's text for an error number, without Rust's
/// " (os error N)" suffix, so messages read exactly like Redis's
/// (`No space left on device`).
pub fn strerror(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(pos) => text[..pos].to_string(),
        None => text,
    }
}

/// [`strerror`] of an `io::Error`: its errno's text when it has one, its own text otherwise.
pub fn io_strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(errno) => strerror(errno),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_has_no_rust_suffix() {
        assert_eq!(strerror(libc::ENOSPC), "No space left on device");
        assert_eq!(strerror(libc::ENOENT), "No such file or directory");
        assert_eq!(strerror(libc::EIO), "Input/output error");
    }
}
