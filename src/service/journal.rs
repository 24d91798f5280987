//! Logging to the systemd journal in its native protocol, so every `tracing` field becomes a
//! journal field an operator can query (`journalctl -u aofd AOFD_EVENT=rewrite_finished`).
//!
//! Used when standard error (or standard output, where aofd's lines go) *is* the journal:
//! systemd sets `JOURNAL_STREAM=<dev>:<ino>` for a service whose output it collects, and the
//! descriptor's own device and inode match it ([`stream_is_journal`]). Elsewhere (a terminal, a
//! pipe, a file, a stale variable inherited by a child) the Redis-shaped lines stay.
//!
//! Each event is one datagram to `/run/systemd/journal/socket` (the protocol at
//! <https://systemd.io/JOURNAL_NATIVE_PROTOCOL/>): `MESSAGE` (the sentence), `PRIORITY`
//! (syslog: error 3, warning 4, info 6, debug 7 — Redis's notice lines are `tracing` INFO, so 6),
//! `SYSLOG_IDENTIFIER=aofd`, `CODE_FILE`/`CODE_LINE`/`CODE_MODULE`, then the event's fields
//! with upper-case names (`aofd_event` → `AOFD_EVENT`, `rewrite_id` → `REWRITE_ID`). We write
//! the protocol ourselves rather than use tracing-journald, whose socket path is fixed: the
//! tests bind their own socket (debug builds read [`TEST_SOCKET_ENV`]). Values are capped at
//! [`MAX_VALUE`] bytes; an entry the socket refuses is written to standard error instead.

use std::fmt;
use std::io::Write as _;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// journald's socket for native-protocol entries.
pub const SOCKET: &str = "/run/systemd/journal/socket";

/// Debug builds only: a socket path used instead of [`SOCKET`] (the tests' stand-in journal).
pub const TEST_SOCKET_ENV: &str = "AOFD_TEST_JOURNAL_SOCKET";

/// Longest value written for one field; longer ones are cut (at a character boundary) and end
/// with `...`. journald itself cuts stream lines at 48 KiB.
pub const MAX_VALUE: usize = 48 * 1024;

/// Whether standard error or standard output is the journal (`JOURNAL_STREAM` names its
/// device and inode).
pub fn stream_is_journal() -> bool {
    let Some(expected) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let expected = expected.to_string_lossy();
    [libc::STDERR_FILENO, libc::STDOUT_FILENO]
        .into_iter()
        .filter_map(dev_ino)
        .any(|(dev, ino)| expected == format!("{dev}:{ino}"))
}

/// The device and inode of descriptor `fd`.
fn dev_ino(fd: i32) -> Option<(u64, u64)> {
    // SAFETY: an all-zero `stat` is a valid value for fstat to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid, writable stat buffer; fstat on a closed descriptor only fails.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return None;
    }
    #[allow(clippy::useless_conversion)] // dev_t and ino_t are u64 on some targets only.
    Some((u64::from(st.st_dev), u64::from(st.st_ino)))
}

/// The socket path to send to.
fn socket_path() -> PathBuf {
    if cfg!(debug_assertions) {
        if let Some(path) = std::env::var_os(TEST_SOCKET_ENV) {
            return PathBuf::from(path);
        }
    }
    PathBuf::from(SOCKET)
}

/// The syslog priority of a `tracing` level.
pub fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// A `tracing` field name as a journal field name: upper case, `[A-Z0-9_]` only, not starting
/// with `_` (reserved for trusted fields) or a digit; names this module writes itself get a
/// `FIELD_` prefix so an event cannot override them. `None` for a name with nothing left.
pub fn field_name(name: &str) -> Option<String> {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    let start = out
        .find(|c: char| c != '_' && !c.is_ascii_digit())
        .unwrap_or(out.len());
    out.drain(..start);
    out.truncate(64);
    if out.is_empty() {
        return None;
    }
    const OWN: [&str; 6] = [
        "MESSAGE",
        "PRIORITY",
        "SYSLOG_IDENTIFIER",
        "CODE_FILE",
        "CODE_LINE",
        "CODE_MODULE",
    ];
    if OWN.contains(&out.as_str()) {
        out.insert_str(0, "FIELD_");
        out.truncate(64);
    }
    Some(out)
}

/// Appends one field in the native protocol: `NAME=value\n`, or, when the value holds a
/// newline, `NAME\n` + its length as 64-bit little endian + the bytes + `\n`.
pub fn put_field(buf: &mut Vec<u8>, name: &str, value: &str) {
    let value = cap(value);
    buf.extend_from_slice(name.as_bytes());
    if value.contains('\n') {
        buf.push(b'\n');
        buf.extend_from_slice(&(value.len() as u64).to_le_bytes());
        buf.extend_from_slice(value.as_bytes());
    } else {
        buf.push(b'=');
        buf.extend_from_slice(value.as_bytes());
    }
    buf.push(b'\n');
}

/// `value` cut to [`MAX_VALUE`] bytes.
fn cap(value: &str) -> std::borrow::Cow<'_, str> {
    if value.len() <= MAX_VALUE {
        return value.into();
    }
    let mut end = MAX_VALUE - 3;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &value[..end]).into()
}

/// Collects an event's message and fields.
#[derive(Default)]
struct Collect {
    message: String,
    fields: Vec<(String, String)>,
}

impl Collect {
    fn push(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else if let Some(name) = field_name(field.name()) {
            self.fields.push((name, value));
        }
    }
}

impl Visit for Collect {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, format!("{value:?}"));
    }
}

/// The entry for one event.
fn entry(event: &Event<'_>) -> (Vec<u8>, String) {
    let meta = event.metadata();
    let mut fields = Collect::default();
    event.record(&mut fields);
    let mut buf = Vec::with_capacity(256);
    put_field(&mut buf, "MESSAGE", &fields.message);
    put_field(&mut buf, "PRIORITY", &priority(meta.level()).to_string());
    put_field(&mut buf, "SYSLOG_IDENTIFIER", "aofd");
    if let Some(file) = meta.file() {
        put_field(&mut buf, "CODE_FILE", file);
    }
    if let Some(line) = meta.line() {
        put_field(&mut buf, "CODE_LINE", &line.to_string());
    }
    if let Some(module) = meta.module_path() {
        put_field(&mut buf, "CODE_MODULE", module);
    }
    for (name, value) in &fields.fields {
        put_field(&mut buf, name, value);
    }
    (buf, fields.message)
}

/// The `tracing` layer that sends every event to the journal.
#[derive(Debug)]
pub struct JournalLayer {
    socket: UnixDatagram,
    path: PathBuf,
}

impl JournalLayer {
    /// A layer sending to journald's socket (or the tests' one).
    ///
    /// # Errors
    /// The socket could not be created, or the journal socket does not exist.
    pub fn new() -> std::io::Result<JournalLayer> {
        let path = socket_path();
        if !path.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} does not exist", path.display()),
            ));
        }
        Ok(JournalLayer {
            socket: UnixDatagram::unbound()?,
            path,
        })
    }
}

impl<S: Subscriber> Layer<S> for JournalLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let (buf, message) = entry(event);
        if self.socket.send_to(&buf, &self.path).is_err() {
            // journald is gone or the entry too big: the line still reaches the journal
            // through standard error, without its fields.
            let _ = writeln!(
                std::io::stderr(),
                "<{}>{message}",
                priority(event.metadata().level())
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_journal_names() {
        assert_eq!(field_name("aofd_event").as_deref(), Some("AOFD_EVENT"));
        assert_eq!(field_name("rewrite_id").as_deref(), Some("REWRITE_ID"));
        assert_eq!(field_name("r#type").as_deref(), Some("R_TYPE"));
        assert_eq!(field_name("_x").as_deref(), Some("X"));
        assert_eq!(field_name("1st").as_deref(), Some("ST"));
        assert_eq!(field_name("priority").as_deref(), Some("FIELD_PRIORITY"));
        assert_eq!(field_name("__"), None);
    }

    #[test]
    fn protocol_encoding() {
        let mut buf = Vec::new();
        put_field(&mut buf, "MESSAGE", "hello");
        put_field(&mut buf, "X", "a\nb");
        let mut want = b"MESSAGE=hello\nX\n".to_vec();
        want.extend_from_slice(&3u64.to_le_bytes());
        want.extend_from_slice(b"a\nb\n");
        assert_eq!(buf, want);
    }

    #[test]
    fn long_values_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_VALUE);
        let cut = cap(&long);
        assert!(cut.len() <= MAX_VALUE);
        assert!(cut.ends_with("..."));
    }

    #[test]
    fn priorities() {
        assert_eq!(priority(&Level::INFO), 6);
        assert_eq!(priority(&Level::WARN), 4);
        assert_eq!(priority(&Level::ERROR), 3);
        assert_eq!(priority(&Level::DEBUG), 7);
    }
}
