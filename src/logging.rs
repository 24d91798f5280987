//! Log output through `tracing`, in Redis's line shape so operators' greps keep working:
//!
//! ```text
//! 4242:M 23 Nov 2026 04:30:00.123 * Ready to accept connections port=6379
//! ```
//!
//! pid, role (`C` while starting, `M` once the server is initialised, as Redis prints them),
//! local time with milliseconds, the level character (`.` debug, `-` verbose, `*` notice,
//! `#` warning), the message, then the event's fields as ` key=value`. Lines go to standard
//! output when `logfile` is empty, or are appended to `logfile` (opened for every line, as Redis
//! does, so logrotate can move it away). `loglevel` can change at runtime (CONFIG SET) through a
//! reload handle. Colour only when writing to a terminal.
//!
//! Under systemd, when standard output or error is the journal (`JOURNAL_STREAM`), events go
//! to the journal in its native protocol instead, every field a journal field
//! (`service::journal`). The `aofd_event` field (`AOFD_EVENT` there) is left out of the lines.
//!
//! Level mapping: Redis `debug` = tracing TRACE, `verbose` = DEBUG, `notice` = INFO,
//! `warning` = WARN and ERROR; `nothing` turns logging off.

use std::fmt::{self, Write as _};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{reload, Registry};

/// The handle that changes the level filter at runtime.
static RELOAD: OnceLock<reload::Handle<LevelFilter, Registry>> = OnceLock::new();

/// The role character of log lines: `C` before the server is initialised, then `M`.
static ROLE: AtomicU8 = AtomicU8::new(b'C');

/// The tracing level filter for a Redis `loglevel` name (unknown names mean `notice`).
pub fn level_filter(loglevel: &str) -> LevelFilter {
    match loglevel.to_ascii_lowercase().as_str() {
        "debug" => LevelFilter::TRACE,
        "verbose" => LevelFilter::DEBUG,
        "warning" => LevelFilter::WARN,
        "nothing" => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

/// Installs the global subscriber: level from `loglevel`, lines to `logfile` (empty = standard
/// output). Calling it again only changes the level.
///
/// # Errors
/// The log file cannot be opened for appending (Redis refuses to start then, too).
pub fn init(loglevel: &str, logfile: &str) -> Result<(), String> {
    if RELOAD.get().is_some() {
        set_level(loglevel);
        return Ok(());
    }
    let (filter, handle) = reload::Layer::new(level_filter(loglevel));
    let ansi = logfile.is_empty() && std::io::stdout().is_terminal();
    let writer = if logfile.is_empty() {
        LogWriter::Stdout
    } else {
        let path = PathBuf::from(logfile);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("Can't open the log file: {e}"))?;
        LogWriter::File(path)
    };
    let journal = if logfile.is_empty() && crate::service::journal::stream_is_journal() {
        match crate::service::journal::JournalLayer::new() {
            Ok(layer) => Some(layer),
            Err(e) => {
                eprintln!(
                    "The journal socket is unusable ({e}); logging lines to standard output."
                );
                None
            }
        }
    } else {
        None
    };
    let layer = journal.is_none().then(|| {
        tracing_subscriber::fmt::layer()
            .event_format(RedisFormat { ansi })
            .with_ansi(ansi)
            .with_writer(writer)
    });
    let subscriber = Registry::default().with(filter).with(layer).with(journal);
    if tracing::subscriber::set_global_default(subscriber).is_ok() {
        let _ = RELOAD.set(handle);
    }
    Ok(())
}

/// Changes the level at runtime (CONFIG SET loglevel).
pub fn set_level(loglevel: &str) {
    if let Some(handle) = RELOAD.get() {
        let _ = handle.modify(|f| *f = level_filter(loglevel));
    }
}

/// Sets the role character printed after the pid (`M` once the server is initialised).
pub fn set_role(role: char) {
    ROLE.store(u8::try_from(role).unwrap_or(b'M'), Ordering::Relaxed);
}

/// Where lines go.
#[derive(Clone, Debug)]
enum LogWriter {
    Stdout,
    File(PathBuf),
}

/// One line's writer: standard output, or the log file opened in append mode for this line.
enum LineWriter {
    Stdout(std::io::Stdout),
    File(std::fs::File),
    Lost,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            LineWriter::Stdout(out) => out.write(buf),
            LineWriter::File(file) => file.write(buf),
            // The log file vanished or became unwritable: like Redis, drop the line.
            LineWriter::Lost => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            LineWriter::Stdout(out) => out.flush(),
            LineWriter::File(file) => file.flush(),
            LineWriter::Lost => Ok(()),
        }
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        match self {
            LogWriter::Stdout => LineWriter::Stdout(std::io::stdout()),
            LogWriter::File(path) => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_or(LineWriter::Lost, LineWriter::File),
        }
    }
}

/// The Redis-shaped event formatter.
struct RedisFormat {
    ansi: bool,
}

/// The level character Redis prints.
pub fn level_char(level: &Level) -> char {
    match *level {
        Level::TRACE => '.',
        Level::DEBUG => '-',
        Level::INFO => '*',
        _ => '#',
    }
}

impl<S, N> FormatEvent<S, N> for RedisFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = event.metadata().level();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let (start, end) = match (self.ansi, *level) {
            (true, Level::ERROR) => ("\x1b[1;31m", "\x1b[0m"),
            (true, Level::WARN) => ("\x1b[1;33m", "\x1b[0m"),
            _ => ("", ""),
        };
        writeln!(
            writer,
            "{}:{} {} {start}{} {}{}{end}",
            std::process::id(),
            char::from(ROLE.load(Ordering::Relaxed)),
            timestamp(),
            level_char(level),
            fields.message,
            fields.rest
        )
    }
}

/// Collects the message and the ` key=value` tail of an event.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Fields {
    fn push(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
            return;
        }
        // For the journal's index; the sentence already says what happened.
        if field.name() == "aofd_event" {
            return;
        }
        let _ = write!(self.rest, " {}=", field.name());
        // Quote values a grep for `key=value` could not find as one word.
        if value.is_empty() || value.contains(char::is_whitespace) || value.contains('"') {
            let _ = write!(self.rest, "{value:?}");
        } else {
            self.rest.push_str(value);
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, &format!("{value:?}"));
    }
}

/// `23 Nov 2026 04:30:00.123` in local time, as Redis prints it.
pub fn timestamp() -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = libc::time_t::try_from(now.as_secs()).unwrap_or(0);
    // SAFETY: `tm` is plain old data for which all-zero bytes are a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is the thread-safe variant and
    // writes only into `tm`.
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if !ok {
        return format!("{}.{:03}", now.as_secs(), now.subsec_millis());
    }
    let month = usize::try_from(tm.tm_mon)
        .ok()
        .and_then(|m| MONTHS.get(m))
        .unwrap_or(&"???");
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        tm.tm_mday,
        month,
        i64::from(tm.tm_year) + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_redis_names() {
        assert_eq!(level_filter("debug"), LevelFilter::TRACE);
        assert_eq!(level_filter("verbose"), LevelFilter::DEBUG);
        assert_eq!(level_filter("notice"), LevelFilter::INFO);
        assert_eq!(level_filter("WARNING"), LevelFilter::WARN);
        assert_eq!(level_filter("nothing"), LevelFilter::OFF);
        assert_eq!(level_char(&Level::INFO), '*');
        assert_eq!(level_char(&Level::ERROR), '#');
    }

    #[test]
    fn timestamp_has_redis_shape() {
        let t = timestamp();
        let parts: Vec<&str> = t.split(' ').collect();
        assert_eq!(parts.len(), 4, "{t}");
        assert_eq!(parts[0].len(), 2);
        assert_eq!(parts[1].len(), 3);
        assert_eq!(parts[3].len(), "04:30:00.123".len());
    }
}
