//! Loading (Redis `aof.c`: `loadSingleAppendOnlyFile`, `loadAppendOnlyFiles`).
//!
//! [`AofReader`] reads one file's bytes incrementally and yields each command (argument vector)
//! with its start and end offsets, and each `#` annotation line, parsing exactly as Redis's
//! loader does (its `fgets`/`atoi`/`strtol`/`fread` steps, CRLF after a payload unchecked).
//! [`load_all`] replays BASE then every INCR in manifest order through a [`Replay`] target:
//! commands inside `MULTI` are held until `EXEC` (an unfinished transaction is never applied),
//! `SELECT` is interpreted here and given to the target as the `db` of each command.
//!
//! How a file may end: cleanly; truncated (the file stops inside a record, or inside a `MULTI`
//! with no `EXEC`: then everything from the `MULTI` on is dropped); or with a format error. A
//! truncated tail is accepted only in the last file and only with `aof-load-truncated yes`, and
//! is then cut on disk, with Redis's log lines. Everything else stops loading with a message
//! naming the file, the byte offset and the `aofd check-aof --fix` remedy.
//!
//! Deviations from Redis 7.0, all on inputs Redis mishandles: a negative bulk length is a format
//! error (Redis tries to allocate ~2^64 bytes and aborts); `SELECT` with a bad index stops loading
//! (Redis silently keeps the previous database); a truncated file that is not the last one is left
//! untouched on disk (Redis truncates it, then refuses to start anyway); a BASE in RDB format is
//! refused with a clear message (RDB loading comes with the rewrite work).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::time::Instant;

use super::cstr::{atoll, cstr};
use super::manifest::AofManifest;
use super::names::AofNames;
use super::{io_strerror, AofLogger, LogLevel};
use crate::protocol::parser::parse_i64;

/// Redis reads AOF lines with `fgets` into a buffer of `AOF_ANNOTATION_LINE_MAX_LEN` (1024)
/// bytes: at most 1023 characters per read.
const LINE_MAX: usize = 1023;

/// Commands between two progress reports (Redis serves clients every 1024 commands).
const PROGRESS_EVERY: u64 = 1024;

/// One command read from an AOF file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The arguments, command name first, exactly as stored.
    pub args: Vec<Vec<u8>>,
    /// Offset of the record's first byte (`*`).
    pub start: u64,
    /// Offset just after the record.
    pub end: u64,
}

/// What the reader yields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A complete command record.
    Command(Command),
    /// A line starting with `#` (e.g. `#TS:1795404892`), skipped by loading.
    Annotation {
        /// The line without its line ending.
        text: Vec<u8>,
        /// Offset of the `#`.
        start: u64,
    },
}

/// Why the reader cannot give another item.
#[derive(Debug)]
pub enum ReadError {
    /// The file ends inside the record starting at `record_start` (Redis's unexpected EOF).
    Truncated {
        /// Offset of the incomplete record's first byte.
        record_start: u64,
    },
    /// The bytes at `offset` are not an AOF record (Redis's "Bad file format").
    Format {
        /// Offset of the offending line.
        offset: u64,
    },
    /// Reading failed.
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// An incremental reader of AOF records over any buffered byte source (a file, or a slice).
#[derive(Debug)]
pub struct AofReader<R> {
    r: R,
    pos: u64,
    line: Vec<u8>,
}

impl<R: BufRead> AofReader<R> {
    /// A reader positioned at offset 0 of `r`.
    pub fn new(r: R) -> Self {
        Self::at_offset(r, 0)
    }

    /// A reader whose input starts at byte `offset` of its file (after an RDB preamble), so
    /// positions and error offsets are file offsets.
    pub fn at_offset(r: R, offset: u64) -> Self {
        AofReader {
            r,
            pos: offset,
            line: Vec::with_capacity(64),
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The next command or annotation; `Ok(None)` at a clean end of file.
    ///
    /// # Errors
    /// [`ReadError`]: the file ends inside a record, is not RESP, or cannot be read.
    pub fn next_item(&mut self) -> Result<Option<Item>, ReadError> {
        let start = self.pos;
        let mut line = std::mem::take(&mut self.line);
        let result = self.next_item_inner(start, &mut line);
        self.line = line;
        result
    }

    fn next_item_inner(
        &mut self,
        start: u64,
        line: &mut Vec<u8>,
    ) -> Result<Option<Item>, ReadError> {
        self.fgets(line)?;
        let Some(&first) = line.first() else {
            return Ok(None);
        };
        if first == b'#' {
            let text = strip_eol(line).to_vec();
            return Ok(Some(Item::Annotation { text, start }));
        }
        if first != b'*' {
            return Err(ReadError::Format { offset: start });
        }
        // `buf[1] == '\0'`: a lone `*` at the end of the file.
        if line.len() == 1 {
            return Err(ReadError::Truncated {
                record_start: start,
            });
        }
        // atoi = (int)strtol: saturate to 64 bits, then keep the low 32.
        let argc = atoll(cstr(&line[1..])) as i32;
        if argc < 1 {
            return Err(ReadError::Format { offset: start });
        }
        let argc = argc as usize;
        // Never trust a count from the file for an allocation.
        let mut args = Vec::with_capacity(argc.min(1024));
        for _ in 0..argc {
            let header_at = self.pos;
            self.fgets(line)?;
            match line.first() {
                None => {
                    return Err(ReadError::Truncated {
                        record_start: start,
                    })
                }
                Some(b'$') => {}
                Some(_) => return Err(ReadError::Format { offset: header_at }),
            }
            let len = atoll(cstr(&line[1..]));
            let Ok(len) = u64::try_from(len) else {
                return Err(ReadError::Format { offset: header_at });
            };
            let mut arg = Vec::new();
            let got = (&mut self.r).take(len).read_to_end(&mut arg)?;
            self.pos += got as u64;
            if (got as u64) < len {
                return Err(ReadError::Truncated {
                    record_start: start,
                });
            }
            // The two bytes after the payload are skipped, unchecked, as Redis does.
            let mut crlf = [0u8; 2];
            let got = read_up_to(&mut self.r, &mut crlf)?;
            self.pos += got as u64;
            if got < 2 {
                return Err(ReadError::Truncated {
                    record_start: start,
                });
            }
            args.push(arg);
        }
        Ok(Some(Item::Command(Command {
            args,
            start,
            end: self.pos,
        })))
    }

    /// C's `fgets(buf, 1024)`: up to 1023 bytes, through the first `\n`. Empty at EOF.
    fn fgets(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        out.clear();
        fgets_into(&mut self.r, LINE_MAX, out)?;
        self.pos += out.len() as u64;
        Ok(())
    }
}

/// Reads up to `max` bytes through the first `\n` into `out` (C `fgets` with a `max + 1` buffer).
pub(crate) fn fgets_into<R: BufRead + ?Sized>(
    r: &mut R,
    max: usize,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    while out.len() < max {
        let available = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        let room = max - out.len();
        let window = &available[..available.len().min(room)];
        match memchr::memchr(b'\n', window) {
            Some(i) => {
                out.extend_from_slice(&window[..=i]);
                r.consume(i + 1);
                break;
            }
            None => {
                let n = window.len();
                out.extend_from_slice(window);
                r.consume(n);
            }
        }
    }
    Ok(())
}

/// Fills as much of `buf` as the source has (a short count only at EOF).
pub(crate) fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// What loading replays commands into: the server's keyspace, through its command table.
pub trait Replay {
    /// Called for every command as it is read, before it is queued inside a `MULTI` or applied:
    /// return `Err("Unknown command 'FOO'")` for a command the server does not know, so an
    /// unknown command stops loading where it is, as in Redis. The default accepts everything
    /// (then unknown commands surface from [`Replay::apply`]).
    ///
    /// # Errors
    /// The reason loading must stop.
    fn lookup(&mut self, _args: &[Vec<u8>]) -> Result<(), String> {
        Ok(())
    }

    /// Executes one command in database `db`. `SELECT`, `MULTI` and `EXEC` never arrive here.
    /// Errors of known commands (WRONGTYPE...) must be ignored, as Redis's AOF client ignores
    /// its replies; return `Err` only for what must stop loading.
    ///
    /// # Errors
    /// The reason loading must stop (e.g. `Unknown command 'FOO'`).
    fn apply(&mut self, db: usize, args: Vec<Vec<u8>>) -> Result<(), String>;

    /// Stores one key read from an RDB BASE or preamble, with its expiry time (unix ms), even
    /// if that has passed (the key expires later, as in Redis). The default refuses RDB data.
    ///
    /// # Errors
    /// The reason loading must stop.
    fn load_key(
        &mut self,
        _db: usize,
        _key: Vec<u8>,
        _value: crate::db::Value,
        _expire_ms: Option<i64>,
    ) -> Result<(), String> {
        Err("this loader does not accept RDB data".to_string())
    }
}

impl<F: FnMut(usize, Vec<Vec<u8>>) -> Result<(), String>> Replay for F {
    fn apply(&mut self, db: usize, args: Vec<Vec<u8>>) -> Result<(), String> {
        self(db, args)
    }
}

/// Settings and hooks for [`load_all`].
pub struct LoadOptions<'a> {
    /// `aof-load-truncated`.
    pub aof_load_truncated: bool,
    /// `databases`: valid `SELECT` indexes are `0..databases`.
    pub databases: usize,
    /// Where log lines go.
    pub log: &'a dyn AofLogger,
    /// Called with (bytes loaded, total bytes) every 1024 commands and at the end of each file,
    /// for INFO's `loading_*` fields and progress logging.
    pub progress: Option<&'a mut dyn FnMut(u64, u64)>,
}

/// How loading ended, when it did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadStatus {
    /// The manifest lists no file (Redis `AOF_NOT_EXIST`): start empty, nothing logged.
    NotExist,
    /// Every listed file is empty (Redis `AOF_EMPTY`).
    Empty,
    /// Data was loaded (possibly with a truncated tail cut off, see [`LoadOutcome::truncated`]).
    Loaded,
}

/// The result of a successful [`load_all`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadOutcome {
    /// See [`LoadStatus`].
    pub status: LoadStatus,
    /// Sum of the sizes of BASE and INCR files before loading (Redis `aof_current_size`).
    pub total_size: u64,
    /// Size of the BASE file (Redis `aof_rewrite_base_size`).
    pub base_size: u64,
    /// Commands replayed (`SELECT`, `MULTI`, `EXEC` not counted).
    pub commands: u64,
    /// The file whose tail was cut, and the offset it was cut at.
    pub truncated: Option<(String, u64)>,
}

/// Why loading stopped. [`LoadError::log_lines`] gives what to log (Redis's line first, with the
/// remedy naming `aofd check-aof`); the server then exits non-zero.
#[derive(Debug)]
pub enum LoadError {
    /// A listed file is missing or cannot be stat'ed.
    Missing {
        /// File name.
        file: String,
        /// `strerror` text.
        reason: String,
    },
    /// A file exists but cannot be opened.
    Open {
        /// File name.
        file: String,
        /// `strerror` text.
        reason: String,
    },
    /// Reading failed (not an end of file).
    Read {
        /// File name.
        file: String,
        /// `strerror` text.
        reason: String,
    },
    /// The RDB BASE or preamble (the file starts with `REDIS`) is corrupt, truncated or holds
    /// what aofd does not support.
    Rdb {
        /// File name.
        file: String,
        /// Offset of the problem.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Bytes that are not an AOF record.
    Format {
        /// File name.
        file: String,
        /// Offset of the offending line.
        offset: u64,
        /// Path of the manifest, for the remedy.
        manifest: String,
    },
    /// The last file ends inside a record and `aof-load-truncated` is no (or the cut failed).
    Truncated {
        /// File name.
        file: String,
        /// End of the last complete command (what `--fix` would keep).
        valid_up_to: u64,
        /// Path of the manifest, for the remedy.
        manifest: String,
    },
    /// A file other than the last ends inside a record.
    TruncatedNotLast {
        /// File name.
        file: String,
        /// End of the last complete command.
        valid_up_to: u64,
    },
    /// The target refused a command (unknown command).
    Command {
        /// File name.
        file: String,
        /// Offset of the command's record.
        offset: u64,
        /// The target's reason, e.g. `Unknown command 'FOOBAR1'`.
        reason: String,
    },
    /// `SELECT` without a valid database index.
    BadSelect {
        /// File name.
        file: String,
        /// Offset of the record.
        offset: u64,
    },
}

impl LoadError {
    /// The file the error is about.
    pub fn file(&self) -> &str {
        match self {
            LoadError::Missing { file, .. }
            | LoadError::Open { file, .. }
            | LoadError::Read { file, .. }
            | LoadError::Rdb { file, .. }
            | LoadError::Format { file, .. }
            | LoadError::Truncated { file, .. }
            | LoadError::TruncatedNotLast { file, .. }
            | LoadError::Command { file, .. }
            | LoadError::BadSelect { file, .. } => file,
        }
    }

    /// The byte offset the error is at, when it concerns a position in a file.
    pub fn offset(&self) -> Option<u64> {
        match self {
            LoadError::Format { offset, .. }
            | LoadError::Rdb { offset, .. }
            | LoadError::Command { offset, .. }
            | LoadError::BadSelect { offset, .. } => Some(*offset),
            LoadError::Truncated { valid_up_to, .. }
            | LoadError::TruncatedNotLast { valid_up_to, .. } => Some(*valid_up_to),
            _ => None,
        }
    }

    /// The lines to log, Redis's own line first.
    pub fn log_lines(&self) -> Vec<String> {
        match self {
            LoadError::Missing { file, reason } => vec![format!(
                "Unable to obtain the AOF file {file} length. stat: {reason}"
            )],
            LoadError::Open { file, reason } => vec![format!(
                "Fatal error: can't open the append log file {file} for reading: {reason}"
            )],
            LoadError::Read { file, reason } => vec![format!(
                "Unrecoverable error reading the append only file {file}: {reason}"
            )],
            LoadError::Rdb {
                file,
                offset,
                reason,
            } => vec![
                format!("Error reading the RDB base file {file}, AOF loading aborted"),
                format!(
                    "{file} at byte offset {offset}: {reason}. Check it with `aofd check-aof \
                     {file}`; a file this server wrote is damaged, restore it from a backup."
                ),
            ],
            LoadError::Format {
                file,
                offset,
                manifest,
            } => vec![
                format!(
                    "Bad file format reading the append only file {file}: make a backup of \
                     your AOF file, then use aofd check-aof --fix {manifest}"
                ),
                format!("The bad record in {file} starts at byte offset {offset}."),
            ],
            LoadError::Truncated {
                file,
                valid_up_to,
                manifest,
            } => vec![
                format!(
                    "Unexpected end of file reading the append only file {file}. You can: \
                     1) Make a backup of your AOF file, then use aofd check-aof --fix \
                     {manifest}. 2) Alternatively you can set the 'aof-load-truncated' \
                     configuration option to yes and restart the server."
                ),
                format!("The last complete command in {file} ends at byte offset {valid_up_to}."),
            ],
            LoadError::TruncatedNotLast { file, valid_up_to } => vec![
                "Fatal error: the truncated file is not the last file".to_string(),
                format!(
                    "{file} ends inside a command after byte offset {valid_up_to}, but only \
                     the last file of the manifest may be truncated. Make a backup of the AOF \
                     directory and inspect it with aofd check-aof <manifest>."
                ),
            ],
            LoadError::Command {
                file,
                offset,
                reason,
            } => vec![
                format!("{reason} reading the append only file {file}"),
                format!("The command in {file} starts at byte offset {offset}."),
            ],
            LoadError::BadSelect { file, offset } => vec![format!(
                "Invalid SELECT reading the append only file {file} at byte offset {offset}: \
                 the database index is missing or not below 'databases'."
            )],
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.log_lines().join(" "))
    }
}

impl std::error::Error for LoadError {}

/// How one file ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileEnd {
    Clean,
    /// The file must be cut at `valid_up_to` to end cleanly.
    Truncated {
        valid_up_to: u64,
    },
}

/// Per-load state shared across files.
struct Loader<'o, 'a, T: Replay> {
    opts: &'o mut LoadOptions<'a>,
    target: &'o mut T,
    total: u64,
    done_before: u64,
    commands: u64,
    /// Database of the commands being read (SELECT persists across files, as in Redis).
    db: usize,
}

impl<T: Replay> Loader<'_, '_, T> {
    fn report(&mut self, in_file: u64) {
        if let Some(p) = self.opts.progress.as_mut() {
            p(self.done_before.saturating_add(in_file), self.total);
        }
    }

    /// Replays one file; `Ok(FileEnd)` unless it is malformed, unreadable or refused.
    fn load_file(&mut self, file: &str, path: &Path, manifest: &str) -> Result<FileEnd, LoadError> {
        let f = File::open(path).map_err(|e| LoadError::Open {
            file: file.to_string(),
            reason: io_strerror(&e),
        })?;
        let read_err = |e: io::Error| LoadError::Read {
            file: file.to_string(),
            reason: io_strerror(&e),
        };
        let mut r = BufReader::with_capacity(256 * 1024, f);
        let mut start = 0;
        if r.fill_buf().map_err(read_err)?.starts_with(b"REDIS") {
            start = self.load_rdb(file, &mut r)?;
        }
        // After an RDB preamble, the file continues as RESP (Redis reads an old-style tail).
        let mut reader = AofReader::at_offset(r, start);
        let mut valid_up_to = 0u64;
        let mut valid_before_multi = 0u64;
        let mut queue: Option<Vec<(usize, Vec<Vec<u8>>)>> = None;
        let mut in_file_commands = 0u64;
        loop {
            let cmd = match reader.next_item() {
                Ok(None) => break,
                Ok(Some(Item::Annotation { .. })) => continue,
                Ok(Some(Item::Command(c))) => c,
                Err(ReadError::Truncated { .. }) => {
                    return Ok(FileEnd::Truncated { valid_up_to });
                }
                Err(ReadError::Format { offset }) => {
                    return Err(LoadError::Format {
                        file: file.to_string(),
                        offset,
                        manifest: manifest.to_string(),
                    })
                }
                Err(ReadError::Io(e)) => return Err(read_err(e)),
            };
            in_file_commands += 1;
            if in_file_commands.is_multiple_of(PROGRESS_EVERY) {
                self.report(reader.position());
            }
            let name = cmd.args.first().map(Vec::as_slice).unwrap_or_default();
            if name.eq_ignore_ascii_case(b"multi") {
                // A nested MULTI only moves the revert point, as in Redis.
                valid_before_multi = valid_up_to;
                queue.get_or_insert_with(Vec::new);
            } else if name.eq_ignore_ascii_case(b"exec") {
                // EXEC without MULTI is an error reply Redis's AOF client ignores.
                for (db, args) in queue.take().unwrap_or_default() {
                    self.apply(file, cmd.start, db, args)?;
                }
            } else if name.eq_ignore_ascii_case(b"select") {
                let index = match cmd.args.as_slice() {
                    [_, index] => parse_i64(index)
                        .and_then(|i| usize::try_from(i).ok())
                        .filter(|&i| i < self.opts.databases),
                    _ => None,
                };
                let Some(index) = index else {
                    return Err(LoadError::BadSelect {
                        file: file.to_string(),
                        offset: cmd.start,
                    });
                };
                self.db = index;
            } else {
                self.target
                    .lookup(&cmd.args)
                    .map_err(|reason| LoadError::Command {
                        file: file.to_string(),
                        offset: cmd.start,
                        reason,
                    })?;
                match queue.as_mut() {
                    Some(q) => q.push((self.db, cmd.args)),
                    None => self.apply(file, cmd.start, self.db, cmd.args)?,
                }
            }
            valid_up_to = cmd.end;
        }
        self.report(reader.position());
        if queue.is_some() {
            self.opts.log.log(
                LogLevel::Warning,
                &format!("Revert incomplete MULTI/EXEC transaction in AOF file {file}"),
            );
            return Ok(FileEnd::Truncated {
                valid_up_to: valid_before_multi,
            });
        }
        Ok(FileEnd::Clean)
    }

    /// Loads the RDB part of a file into the target (Redis `rdbLoadRio` with
    /// `RDBFLAGS_AOF_PREAMBLE`: keys whose TTL has passed are kept, to expire later). Returns
    /// the offset just past it.
    fn load_rdb(&mut self, file: &str, r: &mut BufReader<File>) -> Result<u64, LoadError> {
        self.opts
            .log
            .log(LogLevel::Notice, "Reading RDB base file on AOF loading...");
        let opts = crate::rdb::load::LoadOptions {
            databases: self.opts.databases,
        };
        let mut keys = RdbKeys { loader: self };
        let summary = crate::rdb::load::load(r, &opts, &mut keys).map_err(|e| LoadError::Rdb {
            file: file.to_string(),
            offset: e.offset,
            reason: e.message,
        })?;
        self.commands += summary.keys;
        Ok(summary.bytes)
    }

    fn apply(
        &mut self,
        file: &str,
        offset: u64,
        db: usize,
        args: Vec<Vec<u8>>,
    ) -> Result<(), LoadError> {
        self.commands += 1;
        self.target
            .apply(db, args)
            .map_err(|reason| LoadError::Command {
                file: file.to_string(),
                offset,
                reason,
            })
    }
}

/// The RDB reader's view of a [`Loader`]: keys go to [`Replay::load_key`], progress to the
/// loader's report.
struct RdbKeys<'l, 'o, 'a, T: Replay> {
    loader: &'l mut Loader<'o, 'a, T>,
}

impl<T: Replay> crate::rdb::load::LoadTarget for RdbKeys<'_, '_, '_, T> {
    fn key(
        &mut self,
        db: usize,
        key: Vec<u8>,
        value: crate::db::Value,
        expire_ms: Option<i64>,
    ) -> Result<(), String> {
        self.loader.target.load_key(db, key, value, expire_ms)
    }

    fn progress(&mut self, bytes: u64) {
        self.loader.report(bytes);
    }
}

/// Loads the dataset from the files `manifest` lists in `aof_dir` (Redis
/// `loadAppendOnlyFiles`): BASE, then every INCR in order, replayed into `target`. Logs Redis's
/// lines (`DB loaded from base file ...`, the truncation warnings, `DB loaded from append only
/// file: ...`). Legacy single-file upgrades are not handled here.
///
/// # Errors
/// [`LoadError`]: the server must log [`LoadError::log_lines`] and exit non-zero.
pub fn load_all<T: Replay>(
    aof_dir: &Path,
    names: &AofNames,
    manifest: &AofManifest,
    opts: &mut LoadOptions<'_>,
    target: &mut T,
) -> Result<LoadOutcome, LoadError> {
    let start = Instant::now();
    let mut outcome = LoadOutcome {
        status: LoadStatus::NotExist,
        total_size: 0,
        base_size: 0,
        commands: 0,
        truncated: None,
    };
    if manifest.is_empty() {
        return Ok(outcome);
    }
    let files: Vec<(&str, bool)> = manifest
        .base
        .iter()
        .map(|b| (b.name.as_str(), true))
        .chain(manifest.incrs.iter().map(|i| (i.name.as_str(), false)))
        .collect();
    let mut sizes = Vec::with_capacity(files.len());
    for (name, _) in &files {
        let size = std::fs::metadata(aof_dir.join(name))
            .map_err(|e| LoadError::Missing {
                file: name.to_string(),
                reason: io_strerror(&e),
            })?
            .len();
        sizes.push(size);
    }
    outcome.total_size = sizes.iter().sum();
    outcome.base_size = if manifest.base.is_some() { sizes[0] } else { 0 };
    let log = opts.log;
    if outcome.total_size == 0 {
        outcome.status = LoadStatus::Empty;
        log_loaded(log, start);
        return Ok(outcome);
    }
    let manifest_path = aof_dir.join(names.manifest()).display().to_string();
    let mut loader = Loader {
        total: outcome.total_size,
        opts,
        target,
        done_before: 0,
        commands: 0,
        db: 0,
    };
    let count = files.len();
    for (i, ((name, is_base), size)) in files.iter().zip(&sizes).enumerate() {
        let last_file = i + 1 == count;
        if *size == 0 {
            continue;
        }
        let file_start = Instant::now();
        let path = aof_dir.join(name);
        let end = loader.load_file(name, &path, &manifest_path)?;
        if let FileEnd::Truncated { valid_up_to } = end {
            if !loader.opts.aof_load_truncated {
                return Err(LoadError::Truncated {
                    file: name.to_string(),
                    valid_up_to,
                    manifest: manifest_path,
                });
            }
            log.log(
                LogLevel::Warning,
                &format!("!!! Warning: short read while loading the AOF file {name}!!!"),
            );
            if !last_file {
                return Err(LoadError::TruncatedNotLast {
                    file: name.to_string(),
                    valid_up_to,
                });
            }
            log.log(
                LogLevel::Warning,
                &format!("!!! Truncating the AOF {name} at offset {valid_up_to} !!!"),
            );
            if let Err(e) = truncate_file(&path, valid_up_to) {
                log.log(
                    LogLevel::Warning,
                    &format!("Error truncating the AOF file {name}: {}", io_strerror(&e)),
                );
                return Err(LoadError::Truncated {
                    file: name.to_string(),
                    valid_up_to,
                    manifest: manifest_path,
                });
            }
            log.log(
                LogLevel::Warning,
                &format!("AOF {name} loaded anyway because aof-load-truncated is enabled"),
            );
            outcome.truncated = Some((name.to_string(), valid_up_to));
        }
        log.log(
            LogLevel::Notice,
            &format!(
                "DB loaded from {} file {name}: {:.3} seconds",
                if *is_base { "base" } else { "incr" },
                file_start.elapsed().as_secs_f64()
            ),
        );
        loader.done_before = loader.done_before.saturating_add(*size);
    }
    outcome.commands = loader.commands;
    outcome.status = LoadStatus::Loaded;
    log_loaded(log, start);
    Ok(outcome)
}

fn log_loaded(log: &dyn AofLogger, start: Instant) {
    log.log(
        LogLevel::Notice,
        &format!(
            "DB loaded from append only file: {:.3} seconds",
            start.elapsed().as_secs_f64()
        ),
    );
}

/// Cuts `path` at `len` and makes the new length durable.
fn truncate_file(path: &Path, len: u64) -> io::Result<()> {
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(len)?;
    f.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aof::manifest::{AofInfo, FileKind};
    use crate::aof::MemoryLog;

    fn read_all(bytes: &[u8]) -> (Vec<Item>, Option<ReadError>) {
        let mut r = AofReader::new(bytes);
        let mut items = Vec::new();
        loop {
            match r.next_item() {
                Ok(Some(i)) => items.push(i),
                Ok(None) => return (items, None),
                Err(e) => return (items, Some(e)),
            }
        }
    }

    #[test]
    fn reader_yields_commands_with_offsets_and_annotations() {
        let data = b"#TS:5\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n";
        let (items, err) = read_all(data);
        assert!(err.is_none());
        assert_eq!(
            items,
            vec![
                Item::Annotation {
                    text: b"#TS:5".to_vec(),
                    start: 0
                },
                Item::Command(Command {
                    args: vec![b"SELECT".to_vec(), b"0".to_vec()],
                    start: 7,
                    end: 30
                }),
                Item::Command(Command {
                    args: vec![b"PING".to_vec()],
                    start: 30,
                    end: 44
                }),
            ]
        );
    }

    #[test]
    fn reader_classifies_ends_like_redis() {
        let truncated = |d: &[u8]| matches!(read_all(d).1, Some(ReadError::Truncated { .. }));
        let format = |d: &[u8]| match read_all(d).1 {
            Some(ReadError::Format { offset }) => Some(offset),
            _ => None,
        };
        let ok = b"*1\r\n$4\r\nPING\r\n";
        for cut in 1..ok.len() {
            assert!(truncated(&ok[..cut]), "cut at {cut}");
        }
        assert!(read_all(ok).1.is_none());
        assert_eq!(format(b"XYZ\r\n"), Some(0));
        assert_eq!(format(b"*1\r\n$4\r\nPING\r\nXYZ\r\n"), Some(14));
        assert_eq!(format(b"*\r\n"), Some(0));
        assert_eq!(format(b"*0\r\n"), Some(0));
        assert_eq!(format(b"*-1\r\n"), Some(0));
        assert_eq!(format(b"*1\r\n:4\r\n"), Some(4));
        assert_eq!(format(b"*1\r\n$-4\r\n"), Some(4));
        // The CRLF after a payload is not checked, as in Redis.
        assert_eq!(read_all(b"*1\r\n$4\r\nPINGxx").0.len(), 1);
        // A partial annotation at the end is still an annotation.
        assert!(read_all(b"#TS:1").1.is_none());
    }

    struct Fixture {
        dir: tempfile::TempDir,
        names: AofNames,
        manifest: AofManifest,
    }

    impl Fixture {
        /// A directory with BASE `base` and one INCR per entry of `incrs`.
        fn new(base: &[u8], incrs: &[&[u8]]) -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let names = AofNames::new("appendonly.aof");
            let mut manifest = AofManifest::new();
            let base_name = names.base(1, crate::aof::names::BaseFormat::Resp);
            std::fs::write(dir.path().join(&base_name), base).unwrap();
            manifest.base = Some(AofInfo::new(base_name, 1, FileKind::Base));
            manifest.curr_base_seq = 1;
            for (i, data) in incrs.iter().enumerate() {
                let seq = i as i64 + 1;
                std::fs::write(dir.path().join(names.incr(seq)), data).unwrap();
                manifest
                    .incrs
                    .push(AofInfo::new(names.incr(seq), seq, FileKind::Incr));
                manifest.curr_incr_seq = seq;
            }
            Fixture {
                dir,
                names,
                manifest,
            }
        }

        fn load(
            &self,
            truncated_ok: bool,
        ) -> (Result<LoadOutcome, LoadError>, Vec<String>, MemoryLog) {
            let log = MemoryLog::new();
            let mut applied = Vec::new();
            let mut target = |db: usize, args: Vec<Vec<u8>>| {
                if args[0].eq_ignore_ascii_case(b"foobar1") {
                    return Err("Unknown command 'FOOBAR1'".to_string());
                }
                let words: Vec<String> = args
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                applied.push(format!("{db}:{}", words.join(" ")));
                Ok(())
            };
            let mut opts = LoadOptions {
                aof_load_truncated: truncated_ok,
                databases: 16,
                log: &log,
                progress: None,
            };
            let r = load_all(
                self.dir.path(),
                &self.names,
                &self.manifest,
                &mut opts,
                &mut target,
            );
            (r, applied, log)
        }

        fn incr_len(&self, seq: i64) -> u64 {
            std::fs::metadata(self.dir.path().join(self.names.incr(seq)))
                .unwrap()
                .len()
        }
    }

    const SELECT0: &[u8] = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n";
    const SET_A: &[u8] = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";
    const PARTIAL: &[u8] = b"*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nba";

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn loads_base_then_incrs_in_order_with_select() {
        let base = cat(&[b"#TS:1\r\n", SELECT0, SET_A]);
        let incr1 = cat(&[
            SELECT0,
            b"*2\r\n$6\r\nselect\r\n$1\r\n3\r\n",
            b"*2\r\n$3\r\nDEL\r\n$1\r\nx\r\n",
        ]);
        let incr2: &[u8] = b"";
        let incr3 = cat(&[SELECT0, b"*2\r\n$4\r\nincr\r\n$1\r\nn\r\n"]);
        let f = Fixture::new(&base, &[&incr1, incr2, &incr3]);
        let (r, applied, log) = f.load(false);
        let outcome = r.unwrap();
        assert_eq!(outcome.status, LoadStatus::Loaded);
        assert_eq!(outcome.commands, 3);
        assert_eq!(applied, ["0:SET a 1", "3:DEL x", "0:incr n"]);
        let texts = log.texts();
        assert!(texts[0].starts_with("DB loaded from base file appendonly.aof.1.base.aof: "));
        assert!(texts[1].starts_with("DB loaded from incr file appendonly.aof.1.incr.aof: "));
        // The empty INCR loads silently.
        assert!(texts[2].starts_with("DB loaded from incr file appendonly.aof.3.incr.aof: "));
        assert!(texts[3].starts_with("DB loaded from append only file: "));
    }

    #[test]
    fn transactions_apply_at_exec_only() {
        let incr = cat(&[
            SELECT0,
            b"*1\r\n$5\r\nMULTI\r\n",
            SET_A,
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n4\r\n",
            b"*3\r\n$3\r\nSET\r\n$1\r\ny\r\n$1\r\n2\r\n",
            b"*1\r\n$4\r\nEXEC\r\n",
        ]);
        let f = Fixture::new(b"", &[&incr]);
        let (r, applied, _) = f.load(false);
        r.unwrap();
        assert_eq!(applied, ["0:SET a 1", "4:SET y 2"]);
    }

    #[test]
    fn truncated_last_file_is_cut_with_redis_lines() {
        let incr = cat(&[SELECT0, SET_A, PARTIAL]);
        let good = (SELECT0.len() + SET_A.len()) as u64;
        let f = Fixture::new(SET_A, &[&incr]);
        let (r, applied, log) = f.load(true);
        let outcome = r.unwrap();
        assert_eq!(
            outcome.truncated,
            Some(("appendonly.aof.1.incr.aof".to_string(), good))
        );
        assert_eq!(applied, ["0:SET a 1", "0:SET a 1"]);
        assert_eq!(f.incr_len(1), good);
        let texts = log.texts();
        assert_eq!(
            &texts[1..4],
            [
                "!!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!",
                &format!("!!! Truncating the AOF appendonly.aof.1.incr.aof at offset {good} !!!"),
                "AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled",
            ]
        );
        assert!(texts[4].starts_with("DB loaded from incr file appendonly.aof.1.incr.aof"));
    }

    #[test]
    fn truncated_with_load_truncated_no_is_fatal() {
        let incr = cat(&[SELECT0, SET_A, PARTIAL]);
        let f = Fixture::new(b"", &[&incr]);
        let (r, _, _) = f.load(false);
        let e = r.unwrap_err();
        let lines = e.log_lines();
        assert!(lines[0].starts_with(
            "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof. \
             You can: 1) Make a backup of your AOF file, then use aofd check-aof --fix "
        ));
        assert!(lines[0].ends_with(
            "appendonly.aof.manifest. 2) Alternatively you can set the 'aof-load-truncated' \
             configuration option to yes and restart the server."
        ));
        assert_eq!(e.offset(), Some((SELECT0.len() + SET_A.len()) as u64));
        assert_eq!(f.incr_len(1), incr.len() as u64, "nothing cut");
    }

    #[test]
    fn multi_without_exec_reverts_before_the_multi() {
        // Redis's observed case: offset 27 is the end of the SELECT, before the MULTI.
        let incr = cat(&[
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n",
            b"*1\r\n$5\r\nMULTI\r\n",
            SET_A,
        ]);
        let f = Fixture::new(b"", &[&incr]);
        let (r, applied, log) = f.load(true);
        assert_eq!(
            r.unwrap().truncated,
            Some(("appendonly.aof.1.incr.aof".to_string(), 23))
        );
        assert!(
            applied.is_empty(),
            "the unfinished transaction is not applied"
        );
        assert_eq!(
            log.texts()[..3],
            [
                "Revert incomplete MULTI/EXEC transaction in AOF file appendonly.aof.1.incr.aof",
                "!!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!",
                "!!! Truncating the AOF appendonly.aof.1.incr.aof at offset 23 !!!",
            ]
        );
        assert_eq!(f.incr_len(1), 23);
    }

    #[test]
    fn truncated_base_before_an_incr_is_fatal_and_untouched() {
        let base = cat(&[SELECT0, SET_A, PARTIAL]);
        let f = Fixture::new(&base, &[SET_A]);
        let (r, _, log) = f.load(true);
        let e = r.unwrap_err();
        assert!(matches!(e, LoadError::TruncatedNotLast { .. }));
        assert_eq!(
            e.log_lines()[0],
            "Fatal error: the truncated file is not the last file"
        );
        assert!(log.contains(
            "!!! Warning: short read while loading the AOF file appendonly.aof.1.base.aof!!!"
        ));
        let base_len = std::fs::metadata(f.dir.path().join("appendonly.aof.1.base.aof"))
            .unwrap()
            .len();
        assert_eq!(base_len, base.len() as u64);
    }

    #[test]
    fn unknown_command_and_bad_format_are_fatal() {
        let incr = cat(&[SELECT0, b"*1\r\n$7\r\nFOOBAR1\r\n"]);
        let f = Fixture::new(b"", &[&incr]);
        let e = f.load(true).0.unwrap_err();
        assert_eq!(
            e.log_lines()[0],
            "Unknown command 'FOOBAR1' reading the append only file appendonly.aof.1.incr.aof"
        );
        assert_eq!(e.offset(), Some(SELECT0.len() as u64));

        let incr = cat(&[SELECT0, b"XYZ\r\n", SET_A]);
        let f = Fixture::new(b"", &[&incr]);
        let e = f.load(true).0.unwrap_err();
        let lines = e.log_lines();
        assert!(lines[0].starts_with(
            "Bad file format reading the append only file appendonly.aof.1.incr.aof: make a \
             backup of your AOF file, then use aofd check-aof --fix "
        ));
        assert_eq!(e.offset(), Some(SELECT0.len() as u64));
        assert_eq!(
            f.incr_len(1),
            incr.len() as u64,
            "format errors are never cut"
        );
    }

    /// Collects commands and RDB keys as `db:...` lines.
    #[derive(Default)]
    struct Collect(Vec<String>);

    impl Replay for Collect {
        fn apply(&mut self, db: usize, args: Vec<Vec<u8>>) -> Result<(), String> {
            let words: Vec<String> = args
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            self.0.push(format!("{db}:{}", words.join(" ")));
            Ok(())
        }

        fn load_key(
            &mut self,
            db: usize,
            key: Vec<u8>,
            value: crate::db::Value,
            expire_ms: Option<i64>,
        ) -> Result<(), String> {
            let key = String::from_utf8_lossy(&key);
            self.0
                .push(format!("{db}:key {key} {value:?} {expire_ms:?}"));
            Ok(())
        }
    }

    #[test]
    fn an_rdb_base_with_a_resp_tail_then_incrs_loads_in_order() {
        let mut dbs = vec![crate::db::Db::default(), crate::db::Db::default()];
        dbs[1].set(b"k", crate::db::Value::Str(b"v".to_vec()));
        dbs[1].set_expire(b"k", 5);
        let mut base = Vec::new();
        let opts = crate::rdb::save::SaveOptions::default();
        crate::rdb::save::save(&mut base, &dbs, &opts, &mut |_| {}).unwrap();
        let rdb_len = base.len() as u64;
        // An old-style tail (Redis 6's preamble + RESP): it starts in database 0, as Redis's AOF
        // client does (the RDB part's SELECTDB does not move the client).
        base.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n1\r\n");
        let f = Fixture::new(
            &base,
            &[b"*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*2\r\n$3\r\nDEL\r\n$1\r\ny\r\n"],
        );
        let log = MemoryLog::new();
        let mut opts = LoadOptions {
            aof_load_truncated: false,
            databases: 16,
            log: &log,
            progress: None,
        };
        let mut target = Collect::default();
        let outcome =
            load_all(f.dir.path(), &f.names, &f.manifest, &mut opts, &mut target).unwrap();
        assert_eq!(
            target.0,
            ["1:key k Str([118]) Some(5)", "0:SET x 1", "2:DEL y"]
        );
        assert_eq!(outcome.commands, 3);
        assert!(log
            .texts()
            .iter()
            .any(|l| l == "Reading RDB base file on AOF loading..."));
        // A bad record in the tail is reported at its offset in the file, past the RDB part.
        let mut bad = base[..rdb_len as usize].to_vec();
        bad.extend_from_slice(b"XYZ\r\n");
        let f = Fixture::new(&bad, &[]);
        let e = load_all(
            f.dir.path(),
            &f.names,
            &f.manifest,
            &mut opts,
            &mut Collect::default(),
        )
        .unwrap_err();
        assert_eq!(e.offset(), Some(rdb_len), "{e:?}");
    }

    #[test]
    fn missing_file_empty_and_rdb() {
        let f = Fixture::new(b"", &[b""]);
        let (r, _, log) = f.load(true);
        assert_eq!(r.unwrap().status, LoadStatus::Empty);
        assert!(log.texts()[0].starts_with("DB loaded from append only file: "));

        std::fs::remove_file(f.dir.path().join("appendonly.aof.1.incr.aof")).unwrap();
        let e = f.load(true).0.unwrap_err();
        assert_eq!(
            e.log_lines()[0],
            "Unable to obtain the AOF file appendonly.aof.1.incr.aof length. stat: No such file \
             or directory"
        );

        // A truncated RDB BASE is an error naming the file and the offset, never truncated away.
        let f = Fixture::new(b"REDIS0009\xfa", &[]);
        let e = f.load(true).0.unwrap_err();
        assert!(matches!(e, LoadError::Rdb { offset: 10, .. }), "{e:?}");
        assert_eq!(
            e.log_lines()[0],
            "Error reading the RDB base file appendonly.aof.1.base.aof, AOF loading aborted"
        );

        let empty = AofManifest::new();
        let log = MemoryLog::new();
        let mut opts = LoadOptions {
            aof_load_truncated: true,
            databases: 16,
            log: &log,
            progress: None,
        };
        let mut target = |_: usize, _: Vec<Vec<u8>>| Ok(());
        let r = load_all(f.dir.path(), &f.names, &empty, &mut opts, &mut target).unwrap();
        assert_eq!(r.status, LoadStatus::NotExist);
        assert!(log.texts().is_empty());
    }

    #[test]
    fn bad_select_stops_loading() {
        let incr = b"*2\r\n$6\r\nSELECT\r\n$2\r\n99\r\n";
        let f = Fixture::new(b"", &[incr]);
        assert!(matches!(
            f.load(true).0.unwrap_err(),
            LoadError::BadSelect { offset: 0, .. }
        ));
    }

    #[test]
    fn progress_reaches_the_total() {
        let mut incr = SELECT0.to_vec();
        for _ in 0..3000 {
            incr.extend_from_slice(SET_A);
        }
        let f = Fixture::new(SET_A, &[&incr]);
        let log = MemoryLog::new();
        let mut seen = Vec::new();
        let mut progress = |done: u64, total: u64| seen.push((done, total));
        let mut opts = LoadOptions {
            aof_load_truncated: true,
            databases: 16,
            log: &log,
            progress: Some(&mut progress),
        };
        let mut n = 0u64;
        let mut target = |_: usize, _: Vec<Vec<u8>>| {
            n += 1;
            Ok(())
        };
        let r = load_all(f.dir.path(), &f.names, &f.manifest, &mut opts, &mut target).unwrap();
        assert_eq!(n, 3001);
        let total = r.total_size;
        assert_eq!(total, (SET_A.len() + incr.len()) as u64);
        assert!(seen.len() >= 3);
        assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(seen.last(), Some(&(total, total)));
    }

    #[test]
    fn lookup_stops_inside_an_unfinished_multi() {
        struct Strict(Vec<String>);
        impl Replay for Strict {
            fn lookup(&mut self, args: &[Vec<u8>]) -> Result<(), String> {
                if args[0] == b"FOOBAR1" {
                    return Err("Unknown command 'FOOBAR1'".into());
                }
                Ok(())
            }
            fn apply(&mut self, _: usize, args: Vec<Vec<u8>>) -> Result<(), String> {
                self.0.push(String::from_utf8_lossy(&args[0]).into_owned());
                Ok(())
            }
        }
        let incr = cat(&[b"*1\r\n$5\r\nMULTI\r\n", b"*1\r\n$7\r\nFOOBAR1\r\n"]);
        let f = Fixture::new(b"", &[&incr]);
        let log = MemoryLog::new();
        let mut opts = LoadOptions {
            aof_load_truncated: true,
            databases: 16,
            log: &log,
            progress: None,
        };
        let mut t = Strict(Vec::new());
        let e = load_all(f.dir.path(), &f.names, &f.manifest, &mut opts, &mut t).unwrap_err();
        assert!(matches!(e, LoadError::Command { offset: 15, .. }));
    }
}
