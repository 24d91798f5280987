//! The AOF manifest (Redis `aof.c`: `aofInfoFormat`, `getAofManifestAsString`,
//! `aofLoadManifestFromFile`, `writeAofManifestFile`, `persistAofManifest`,
//! `aofOpenIfNeededOnServerStart`, `openNewIncrAofForAppend`).
//!
//! One line per file: `file <name> seq <seq> type <b|h|i>\n`, BASE first, then HISTORY, then the
//! INCR files in ascending sequence. The parser is Redis's, message for message, so a directory
//! moves between redis-server and aofd in both directions. The manifest on disk only ever changes
//! atomically (temp file, fsync, rename, fsync of the directory), and callers mutate a copy that
//! replaces the in-memory manifest only once it is on disk, so memory and disk never diverge.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::cstr::{atoll, cstr};
use super::names::{AofNames, BaseFormat};
use super::{io_strerror, AofLogger, LogLevel};
use crate::protocol::splitargs::split_args;

/// Longest manifest line Redis reads in one piece (`MANIFEST_MAX_LINE`).
const MANIFEST_MAX_LINE: usize = 1024;

/// The role of a file in the manifest (`type` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `b`: the BASE, a snapshot of the dataset.
    Base,
    /// `h`: a file replaced by a rewrite, waiting to be deleted.
    History,
    /// `i`: an INCR, commands appended after the BASE.
    Incr,
}

impl FileKind {
    /// The manifest's type character.
    pub fn as_char(self) -> char {
        match self {
            FileKind::Base => 'b',
            FileKind::History => 'h',
            FileKind::Incr => 'i',
        }
    }
}

/// One manifest line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofInfo {
    /// File name inside the AOF directory (never a path).
    pub name: String,
    /// Sequence number (Redis parses it with `atoll`, so it is signed).
    pub seq: i64,
    /// BASE, HISTORY or INCR.
    pub kind: FileKind,
    /// Key/value pairs this version does not know (newer Redis versions add some, e.g.
    /// `startoffset`), kept and written back so a round trip through aofd loses nothing.
    pub extra: Vec<(Vec<u8>, Vec<u8>)>,
}

impl AofInfo {
    /// A line with no extra pairs.
    pub fn new(name: impl Into<String>, seq: i64, kind: FileKind) -> Self {
        AofInfo {
            name: name.into(),
            seq,
            kind,
            extra: Vec::new(),
        }
    }

    /// Appends this line, `\n` included, in Redis's format.
    fn format_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"file ");
        push_maybe_repr(out, self.name.as_bytes());
        out.extend_from_slice(format!(" seq {} type {}", self.seq, self.kind.as_char()).as_bytes());
        for (k, v) in &self.extra {
            out.push(b' ');
            push_maybe_repr(out, k);
            out.push(b' ');
            push_maybe_repr(out, v);
        }
        out.push(b'\n');
    }
}

/// The manifest: which files make up the dataset, and the sequence counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AofManifest {
    /// The BASE file, if any.
    pub base: Option<AofInfo>,
    /// HISTORY files, most recently retired first.
    pub history: Vec<AofInfo>,
    /// INCR files in ascending sequence; only the last one is appended to.
    pub incrs: Vec<AofInfo>,
    /// Sequence of the current BASE (0 when there is none).
    pub curr_base_seq: i64,
    /// Sequence of the last INCR (0 when there is none).
    pub curr_incr_seq: i64,
}

/// Why a manifest could not be read. `Display` gives the message alone; [`Self::log_lines`]
/// gives the exact lines Redis logs before exiting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestError {
    /// The content breaks a rule; `line` is the line number (comments counted) and the trimmed
    /// text, when Redis shows them.
    Format {
        /// Redis's message, e.g. `Found a non-monotonic sequence number`.
        msg: &'static str,
        /// Line number and trimmed line text, when the error concerns one line.
        line: Option<(usize, String)>,
    },
    /// The manifest exists but cannot be opened or read.
    Open {
        /// Path of the manifest.
        path: String,
        /// `strerror` text.
        reason: String,
    },
}

impl ManifestError {
    /// The lines Redis logs for this error (each Redis message ends with an embedded newline,
    /// kept here).
    pub fn log_lines(&self) -> Vec<String> {
        match self {
            ManifestError::Format { msg, line } => {
                let mut lines = vec!["\n*** FATAL AOF MANIFEST FILE ERROR ***\n".to_string()];
                if let Some((n, text)) = line {
                    lines.push(format!("Reading the manifest file, at line {n}\n"));
                    lines.push(format!(">>> '{text}'\n"));
                }
                lines.push(format!("{msg}\n"));
                lines
            }
            ManifestError::Open { .. } => vec![self.to_string()],
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestError::Format { msg, .. } => f.write_str(msg),
            ManifestError::Open { path, reason } => write!(
                f,
                "Fatal error: can't open the AOF manifest file {path} for reading: {reason}"
            ),
        }
    }
}

impl std::error::Error for ManifestError {}

fn format_error(msg: &'static str, line: Option<(usize, String)>) -> ManifestError {
    ManifestError::Format { msg, line }
}

impl AofManifest {
    /// An empty manifest (no AOF yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the manifest lists neither a BASE nor an INCR (Redis's "no AOF").
    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.incrs.is_empty()
    }

    /// The INCR file that is appended to.
    pub fn last_incr(&self) -> Option<&AofInfo> {
        self.incrs.last()
    }

    /// BASE then INCR files: what loading replays, in order.
    pub fn files_to_load(&self) -> impl Iterator<Item = &AofInfo> {
        self.base.iter().chain(self.incrs.iter())
    }

    /// The manifest's bytes, exactly as Redis writes them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for info in self
            .base
            .iter()
            .chain(self.history.iter())
            .chain(self.incrs.iter())
        {
            info.format_into(&mut out);
        }
        out
    }

    /// Parses manifest bytes with Redis's rules and messages (see the module docs).
    ///
    /// # Errors
    /// A [`ManifestError::Format`] with Redis's exact message for every malformed case.
    pub fn parse(data: &[u8]) -> Result<AofManifest, ManifestError> {
        let mut am = AofManifest::new();
        let mut maxseq: i64 = 0;
        let mut linenum = 0usize;
        let mut pos = 0usize;
        loop {
            // fgets(buf, MANIFEST_MAX_LINE + 1): up to 1024 bytes, through the first '\n'.
            if pos >= data.len() {
                if linenum == 0 {
                    return Err(format_error("Found an empty AOF manifest", None));
                }
                break;
            }
            let window = &data[pos..data.len().min(pos + MANIFEST_MAX_LINE)];
            let chunk_len = memchr::memchr(b'\n', window).map_or(window.len(), |i| i + 1);
            let raw = &window[..chunk_len];
            pos += chunk_len;
            linenum += 1;
            // C string functions stop at a NUL byte.
            let chunk = match memchr::memchr(0, raw) {
                Some(i) => &raw[..i],
                None => raw,
            };
            if chunk.first() == Some(&b'#') {
                continue;
            }
            if memchr::memchr(b'\n', chunk).is_none() {
                return Err(format_error(
                    "The AOF manifest file contains too long line",
                    None,
                ));
            }
            let trimmed = trim(chunk);
            let line_text = String::from_utf8_lossy(trimmed).into_owned();
            let here = || Some((linenum, line_text.clone()));
            let invalid = || format_error("Invalid AOF manifest file format", here());
            if trimmed.is_empty() {
                return Err(invalid());
            }
            let Some(argv) = split_args(trimmed) else {
                return Err(invalid());
            };
            if argv.len() < 6 || argv.len() % 2 != 0 {
                return Err(invalid());
            }
            let mut name: Option<Vec<u8>> = None;
            let mut seq: i64 = 0;
            let mut kind: u8 = 0;
            let mut extra = Vec::new();
            for pair in argv.chunks_exact(2) {
                let (key, value) = (&pair[0], &pair[1]);
                if key.eq_ignore_ascii_case(b"file") {
                    let v = cstr(value);
                    if v.contains(&b'/') || v.contains(&b'\\') {
                        return Err(format_error(
                            "File can't be a path, just a filename",
                            here(),
                        ));
                    }
                    name = Some(v.to_vec());
                } else if key.eq_ignore_ascii_case(b"seq") {
                    seq = atoll(cstr(value));
                } else if key.eq_ignore_ascii_case(b"type") {
                    kind = cstr(value).first().copied().unwrap_or(0);
                } else {
                    extra.push((key.clone(), value.clone()));
                }
            }
            let Some(name) = name else {
                return Err(invalid());
            };
            if seq == 0 || kind == 0 {
                return Err(invalid());
            }
            // aofd keeps names as text; Redis would accept any bytes (see the module docs of
            // the loader for the one deviation this implies).
            let Ok(name) = String::from_utf8(name) else {
                return Err(invalid());
            };
            if name.is_empty() {
                return Err(invalid());
            }
            let kind = match kind {
                b'b' => FileKind::Base,
                b'h' => FileKind::History,
                b'i' => FileKind::Incr,
                _ => return Err(format_error("Unknown AOF file type", here())),
            };
            let info = AofInfo {
                name,
                seq,
                kind,
                extra,
            };
            match kind {
                FileKind::Base => {
                    if am.base.is_some() {
                        return Err(format_error(
                            "Found duplicate base file information",
                            here(),
                        ));
                    }
                    am.curr_base_seq = seq;
                    am.base = Some(info);
                }
                FileKind::History => am.history.push(info),
                FileKind::Incr => {
                    if seq <= maxseq {
                        return Err(format_error(
                            "Found a non-monotonic sequence number",
                            here(),
                        ));
                    }
                    am.curr_incr_seq = seq;
                    maxseq = seq;
                    am.incrs.push(info);
                }
            }
        }
        Ok(am)
    }

    /// Reads the manifest of `aof_dir` (Redis `aofLoadManifestFromDisk`): a missing directory
    /// or manifest is an empty manifest (first start), anything unreadable or malformed is an
    /// error.
    ///
    /// # Errors
    /// [`ManifestError`] with Redis's messages.
    pub fn load_from_dir(aof_dir: &Path, names: &AofNames) -> Result<AofManifest, ManifestError> {
        let path = aof_dir.join(names.manifest());
        if !aof_dir.is_dir() || !path.exists() {
            return Ok(AofManifest::new());
        }
        Self::load_file(&path)
    }

    /// Reads and parses one manifest file (the checker's entry point).
    ///
    /// # Errors
    /// [`ManifestError::Open`] if it cannot be read, else the parser's errors.
    pub fn load_file(path: &Path) -> Result<AofManifest, ManifestError> {
        let data = fs::read(path).map_err(|e| ManifestError::Open {
            path: path.display().to_string(),
            reason: io_strerror(&e),
        })?;
        Self::parse(&data)
    }

    /// A copy with a new INCR `F.<curr_incr_seq + 1>.incr.aof` appended (Redis
    /// `getNewIncrAofName`), and that file's name.
    pub fn with_new_incr(&self, names: &AofNames) -> (AofManifest, String) {
        let mut am = self.clone();
        am.curr_incr_seq = am.curr_incr_seq.saturating_add(1);
        let name = names.incr(am.curr_incr_seq);
        am.incrs
            .push(AofInfo::new(name.clone(), am.curr_incr_seq, FileKind::Incr));
        (am, name)
    }

    /// A copy whose BASE is the new `F.<curr_base_seq + 1>.base.<fmt>`, the previous BASE moved
    /// to the head of the history (Redis `getNewBaseFileNameAndMarkPreAsHistory`), and that name.
    pub fn with_new_base(&self, names: &AofNames, format: BaseFormat) -> (AofManifest, String) {
        let mut am = self.clone();
        if let Some(mut old) = am.base.take() {
            old.kind = FileKind::History;
            am.history.insert(0, old);
        }
        am.curr_base_seq = am.curr_base_seq.saturating_add(1);
        let name = names.base(am.curr_base_seq, format);
        am.base = Some(AofInfo::new(name.clone(), am.curr_base_seq, FileKind::Base));
        (am, name)
    }

    /// Moves the INCR files a successful rewrite covered to the history (Redis
    /// `markRewrittenIncrAofAsHistory`): all of them, or all but the last when AOF is on
    /// (`keep_last`, the file being appended to).
    pub fn mark_rewritten_incrs_as_history(&mut self, keep_last: bool) {
        let keep = usize::from(keep_last && !self.incrs.is_empty());
        let cut = self.incrs.len() - keep;
        let rewritten: Vec<AofInfo> = self.incrs.drain(..cut).collect();
        // Redis walks from the tail and adds each at the head, which keeps file order.
        for mut info in rewritten.into_iter().rev() {
            info.kind = FileKind::History;
            self.history.insert(0, info);
        }
    }

    /// Writes the manifest into `aof_dir` atomically (Redis `writeAofManifestFile`): temp file,
    /// fdatasync, rename over `F.manifest`, fdatasync of the directory. The directory sync also
    /// makes files renamed into the directory before it durable.
    ///
    /// # Errors
    /// The failing step's error, after logging Redis's message for it.
    pub fn persist(&self, aof_dir: &Path, names: &AofNames, log: &dyn AofLogger) -> io::Result<()> {
        let tmp_name = names.temp_manifest();
        let tmp_path = aof_dir.join(&tmp_name);
        let final_path = aof_dir.join(names.manifest());
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp_path)
            .inspect_err(|e| {
                log.log(
                    LogLevel::Warning,
                    &format!(
                        "Can't open the AOF manifest file {tmp_name}: {}",
                        io_strerror(e)
                    ),
                );
            })?;
        file.write_all(&self.to_bytes()).inspect_err(|e| {
            log.log(
                LogLevel::Warning,
                &format!(
                    "Error trying to write the temporary AOF manifest file {tmp_name}: {}",
                    io_strerror(e)
                ),
            );
        })?;
        file.sync_data().inspect_err(|e| {
            log.log(
                LogLevel::Warning,
                &format!(
                    "Fail to fsync the temp AOF file {tmp_name}: {}.",
                    io_strerror(e)
                ),
            );
        })?;
        drop(file);
        fs::rename(&tmp_path, &final_path).inspect_err(|e| {
            log.log(
                LogLevel::Warning,
                &format!(
                    "Error trying to rename the temporary AOF manifest file {tmp_name} into {}: {}",
                    names.manifest(),
                    io_strerror(e)
                ),
            );
        })?;
        fsync_dir(aof_dir).inspect_err(|e| {
            log.log(
                LogLevel::Warning,
                &format!(
                    "Fail to fsync AOF directory {}: {}.",
                    aof_dir.display(),
                    io_strerror(e)
                ),
            );
        })
    }
}

impl fmt::Display for AofManifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

/// fdatasyncs a directory so renames and creations inside it survive a crash (Redis
/// `fsyncFileDir`; EBADF/EINVAL mean the filesystem cannot sync directories and are ignored).
///
/// # Errors
/// Opening or syncing the directory failed.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    let d = match File::open(dir) {
        Ok(d) => d,
        Err(e) if e.raw_os_error() == Some(libc::EISDIR) => return Ok(()),
        Err(e) => return Err(e),
    };
    match d.sync_data() {
        Err(e) if matches!(e.raw_os_error(), Some(libc::EBADF) | Some(libc::EINVAL)) => Ok(()),
        other => other,
    }
}

/// What [`open_on_server_start`] set up: the manifest now on disk and the INCR to append to.
#[derive(Clone, Debug)]
pub struct StartupFiles {
    /// The manifest as persisted (replace the in-memory one with it).
    pub manifest: AofManifest,
    /// Name of the INCR file to append to.
    pub incr_name: String,
    /// Its full path.
    pub incr_path: PathBuf,
    /// Its current length (Redis `aof_last_incr_size`).
    pub incr_size: u64,
    /// Whether the INCR was created now (`false`: an existing one was reopened).
    pub created_incr: bool,
}

/// Redis `aofOpenIfNeededOnServerStart`, run after loading when `appendonly yes`: creates the
/// AOF directory; when the manifest lists nothing, writes `F.1.base.aof` holding `base_contents`
/// (the RESP rewrite of the current, normally empty, dataset; aofd writes RESP BASE files only)
/// through a temp file, fsync and rename; reopens the last INCR, or creates the next one if there
/// is none; persists the manifest if it changed. The last INCR is never recreated. The BASE's
/// name says `base_format` (`.rdb` or `.aof`), which `base_contents` must match.
///
/// # Errors
/// Any failing step, after logging why; Redis exits in that case.
pub fn open_on_server_start(
    aof_dir: &Path,
    names: &AofNames,
    manifest: &AofManifest,
    base_format: BaseFormat,
    base_contents: &[u8],
    log: &dyn AofLogger,
) -> io::Result<StartupFiles> {
    if let Err(e) = fs::create_dir_all(aof_dir) {
        log.log(
            LogLevel::Warning,
            &format!(
                "Can't open or create append-only dir {}: {}",
                aof_dir.display(),
                io_strerror(&e)
            ),
        );
        return Err(e);
    }
    let mut am = manifest.clone();
    let mut dirty = false;
    if am.is_empty() {
        let (next, base_name) = am.with_new_base(names, base_format);
        write_file_atomically(aof_dir, &base_name, base_contents).inspect_err(|e| {
            log.log(
                LogLevel::Warning,
                &format!(
                    "Can't create the AOF base file {base_name}: {}",
                    io_strerror(e)
                ),
            );
        })?;
        log.log(
            LogLevel::Notice,
            &format!("Creating AOF base file {base_name} on server start"),
        );
        am = next;
        dirty = true;
    }
    let (incr_name, created_incr) = match am.last_incr() {
        Some(info) => (info.name.clone(), false),
        None => {
            let (next, name) = am.with_new_incr(names);
            am = next;
            dirty = true;
            (name, true)
        }
    };
    let incr_path = aof_dir.join(&incr_name);
    // A newly listed INCR starts empty: anything under that name is a leftover of a start that
    // died before its manifest was persisted, and is not part of the dataset.
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(&incr_path)
        .inspect_err(|e| {
            log.log(
                LogLevel::Warning,
                &format!(
                    "Can't open the append-only file {incr_name}: {}",
                    io_strerror(e)
                ),
            );
        })?;
    if created_incr {
        file.set_len(0)?;
        log.log(
            LogLevel::Notice,
            &format!("Creating AOF incr file {incr_name} on server start"),
        );
    } else {
        log.log(
            LogLevel::Notice,
            &format!("Opening AOF incr file {incr_name} on server start"),
        );
    }
    let incr_size = file.metadata()?.len();
    drop(file);
    if dirty {
        am.persist(aof_dir, names, log)?;
    }
    Ok(StartupFiles {
        manifest: am,
        incr_name,
        incr_path,
        incr_size,
        created_incr,
    })
}

/// Redis `openNewIncrAofForAppend` minus the file descriptor juggling: creates
/// `F.<curr_incr_seq + 1>.incr.aof` (empty), persists a manifest listing it, and only then
/// replaces `*manifest`. Returns the new file's name and path.
///
/// # Errors
/// Creating the file or persisting the manifest failed; `*manifest` is then unchanged and the
/// new file removed.
pub fn open_new_incr(
    aof_dir: &Path,
    names: &AofNames,
    manifest: &mut AofManifest,
    log: &dyn AofLogger,
) -> io::Result<(String, PathBuf)> {
    let (next, name) = manifest.with_new_incr(names);
    let path = aof_dir.join(&name);
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&path)
        .inspect_err(|e| {
            log.log(
                LogLevel::Warning,
                &format!("Can't open the append-only file {name}: {}", io_strerror(e)),
            );
        })?;
    if let Err(e) = next.persist(aof_dir, names, log) {
        let _ = fs::remove_file(&path);
        return Err(e);
    }
    log.log(
        LogLevel::Notice,
        &format!("Creating AOF incr file {name} on background rewrite"),
    );
    *manifest = next;
    Ok((name, path))
}

/// Writes `name` in `dir` through `temp-<name>`, fdatasync and rename. The caller syncs the
/// directory (the manifest persist does; so do the other small files written this way).
pub fn write_file_atomically(dir: &Path, name: &str, contents: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{}{name}", super::names::TEMP_PREFIX));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&tmp)?;
    f.write_all(contents)?;
    f.sync_data()?;
    drop(f);
    fs::rename(&tmp, dir.join(name))
}

/// Redis's `sdsneedsrepr`: whether a name must be quoted in the manifest.
fn needs_repr(s: &[u8]) -> bool {
    s.iter().any(|&c| {
        matches!(c, b'\\' | b'"' | b'\n' | b'\r' | b'\t' | 0x07 | 0x08)
            || !(0x20..=0x7e).contains(&c)
            || matches!(c, b' ' | 0x0b | 0x0c)
    })
}

/// Appends `s` raw, or quoted with Redis's `sdscatrepr` when it needs it.
fn push_maybe_repr(out: &mut Vec<u8>, s: &[u8]) {
    if !needs_repr(s) {
        out.extend_from_slice(s);
        return;
    }
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// `sdstrim(line, " \t\r\n")`.
fn trim(s: &[u8]) -> &[u8] {
    let is_trim = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = s.iter().position(|c| !is_trim(c)).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !is_trim(c)).map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aof::MemoryLog;

    fn err_of(text: &str) -> ManifestError {
        AofManifest::parse(text.as_bytes()).unwrap_err()
    }

    fn msg_of(text: &str) -> String {
        err_of(text).to_string()
    }

    #[test]
    fn formats_like_redis() {
        let mut am = AofManifest::new();
        am.base = Some(AofInfo::new("appendonly.aof.2.base.rdb", 2, FileKind::Base));
        am.history.push(AofInfo::new(
            "appendonly.aof.1.incr.aof",
            1,
            FileKind::History,
        ));
        am.history.push(AofInfo::new(
            "appendonly.aof.1.base.rdb",
            1,
            FileKind::History,
        ));
        am.incrs
            .push(AofInfo::new("appendonly.aof.2.incr.aof", 2, FileKind::Incr));
        assert_eq!(
            String::from_utf8(am.to_bytes()).unwrap(),
            "file appendonly.aof.2.base.rdb seq 2 type b\n\
             file appendonly.aof.1.incr.aof seq 1 type h\n\
             file appendonly.aof.1.base.rdb seq 1 type h\n\
             file appendonly.aof.2.incr.aof seq 2 type i\n"
        );
    }

    #[test]
    fn odd_names_are_repr_quoted_and_round_trip() {
        let mut am = AofManifest::new();
        let name = "my aof\t\"x\"\u{7}.1.base.aof";
        am.base = Some(AofInfo::new(name, 1, FileKind::Base));
        am.curr_base_seq = 1;
        let text = String::from_utf8(am.to_bytes()).unwrap();
        assert_eq!(
            text,
            "file \"my aof\\t\\\"x\\\"\\a.1.base.aof\" seq 1 type b\n"
        );
        assert_eq!(AofManifest::parse(text.as_bytes()).unwrap(), am);
        let mut quoted = Vec::new();
        push_maybe_repr(&mut quoted, "é".as_bytes());
        assert_eq!(quoted, b"\"\\xc3\\xa9\"");
    }

    #[test]
    fn parses_and_keeps_extra_pairs() {
        let text = "# comment\nfile a.1.base.aof seq 1 type b\n\
                    FILE a.1.incr.aof SEQ 1 TYPE i startoffset 5\n\
                    file a.3.incr.aof seq 3 type i\nfile a.0.aof seq 7 type h\n";
        let am = AofManifest::parse(text.as_bytes()).unwrap();
        assert_eq!(am.curr_base_seq, 1);
        assert_eq!(am.curr_incr_seq, 3);
        assert_eq!(am.history.len(), 1);
        assert_eq!(
            am.incrs[0].extra,
            vec![(b"startoffset".to_vec(), b"5".to_vec())]
        );
        // The comment is dropped, the extra pair kept.
        assert_eq!(
            String::from_utf8(am.to_bytes()).unwrap(),
            "file a.1.base.aof seq 1 type b\nfile a.0.aof seq 7 type h\n\
             file a.1.incr.aof seq 1 type i startoffset 5\nfile a.3.incr.aof seq 3 type i\n"
        );
    }

    #[test]
    fn every_redis_message() {
        assert_eq!(msg_of(""), "Found an empty AOF manifest");
        assert_eq!(
            msg_of("file a seq 1 type b"),
            "The AOF manifest file contains too long line"
        );
        let long = format!("file {} seq 1 type b\n", "x".repeat(1100));
        assert_eq!(
            msg_of(&long),
            "The AOF manifest file contains too long line"
        );
        assert_eq!(msg_of("\n"), "Invalid AOF manifest file format");
        assert_eq!(msg_of("  \t\n"), "Invalid AOF manifest file format");
        assert_eq!(msg_of("file a seq 1\n"), "Invalid AOF manifest file format");
        assert_eq!(
            msg_of("file a seq 1 type\n"),
            "Invalid AOF manifest file format"
        );
        assert_eq!(
            msg_of("file \"a seq 1 type b\n"),
            "Invalid AOF manifest file format"
        );
        assert_eq!(
            msg_of("file a seq 0 type b\n"),
            "Invalid AOF manifest file format"
        );
        assert_eq!(
            msg_of("file a seq x type b\n"),
            "Invalid AOF manifest file format"
        );
        assert_eq!(
            msg_of("file a seq 1 type \"\"\n"),
            "Invalid AOF manifest file format"
        );
        assert_eq!(
            msg_of("name a seq 1 type b\n"),
            "Invalid AOF manifest file format"
        );
        assert_eq!(
            msg_of("file d/a seq 1 type b\n"),
            "File can't be a path, just a filename"
        );
        assert_eq!(
            msg_of("file d\\\\a seq 1 type b\n"),
            "File can't be a path, just a filename"
        );
        assert_eq!(
            msg_of("file a seq 1 type b\nfile b seq 2 type b\n"),
            "Found duplicate base file information"
        );
        assert_eq!(
            msg_of("file a seq 2 type i\nfile b seq 2 type i\n"),
            "Found a non-monotonic sequence number"
        );
        assert_eq!(
            msg_of("file a seq -1 type i\n"),
            "Found a non-monotonic sequence number"
        );
        assert_eq!(msg_of("file a seq 1 type x\n"), "Unknown AOF file type");
        // Only the first character of the type counts, as in Redis.
        assert!(AofManifest::parse(b"file a seq 1 type base\n").is_ok());
        // A manifest of comments only is an empty manifest, not an error.
        assert!(AofManifest::parse(b"# hello\n").unwrap().is_empty());
    }

    #[test]
    fn error_log_lines_match_redis() {
        let e = err_of(
            "file appendonly.aof.1.base.aof seq 1 type b\n\
             file appendonly.aof.2.incr.aof seq 2 type i\n\
             file appendonly.aof.1.incr.aof seq 1 type i\n",
        );
        assert_eq!(
            e.log_lines(),
            vec![
                "\n*** FATAL AOF MANIFEST FILE ERROR ***\n",
                "Reading the manifest file, at line 3\n",
                ">>> 'file appendonly.aof.1.incr.aof seq 1 type i'\n",
                "Found a non-monotonic sequence number\n",
            ]
        );
        assert_eq!(
            err_of("").log_lines(),
            vec![
                "\n*** FATAL AOF MANIFEST FILE ERROR ***\n",
                "Found an empty AOF manifest\n"
            ]
        );
        // Comment lines count in the line number.
        match err_of("# c\n\n") {
            ManifestError::Format { line, .. } => assert_eq!(line, Some((2, String::new()))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn seq_rules() {
        let names = AofNames::new("appendonly.aof");
        let mut am = AofManifest::new();
        am.base = Some(AofInfo::new(
            names.base(2, BaseFormat::Resp),
            2,
            FileKind::Base,
        ));
        am.curr_base_seq = 2;
        am.incrs
            .push(AofInfo::new(names.incr(2), 2, FileKind::Incr));
        am.curr_incr_seq = 2;
        let (next, name) = am.with_new_incr(&names);
        assert_eq!(name, "appendonly.aof.3.incr.aof");
        assert_eq!(next.curr_incr_seq, 3);
        assert_eq!(am.incrs.len(), 1, "the original is untouched");
        let (mut done, base) = next.with_new_base(&names, BaseFormat::Resp);
        assert_eq!(base, "appendonly.aof.3.base.aof");
        done.mark_rewritten_incrs_as_history(true);
        assert_eq!(
            String::from_utf8(done.to_bytes()).unwrap(),
            "file appendonly.aof.3.base.aof seq 3 type b\n\
             file appendonly.aof.2.incr.aof seq 2 type h\n\
             file appendonly.aof.2.base.aof seq 2 type h\n\
             file appendonly.aof.3.incr.aof seq 3 type i\n"
        );
        let mut off = done.clone();
        off.mark_rewritten_incrs_as_history(false);
        assert!(off.incrs.is_empty());
        assert_eq!(off.history.len(), 3);
    }

    #[test]
    fn startup_creates_then_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let aof_dir = dir.path().join("appendonlydir");
        let names = AofNames::new("appendonly.aof");
        let log = MemoryLog::new();
        let am = AofManifest::load_from_dir(&aof_dir, &names).unwrap();
        assert!(am.is_empty());
        let first =
            open_on_server_start(&aof_dir, &names, &am, BaseFormat::Resp, b"", &log).unwrap();
        assert!(first.created_incr);
        assert_eq!(
            log.texts(),
            vec![
                "Creating AOF base file appendonly.aof.1.base.aof on server start",
                "Creating AOF incr file appendonly.aof.1.incr.aof on server start",
            ]
        );
        let on_disk = fs::read_to_string(aof_dir.join("appendonly.aof.manifest")).unwrap();
        assert_eq!(
            on_disk,
            "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        );
        assert!(!aof_dir.join("temp-appendonly.aof.manifest").exists());
        fs::write(&first.incr_path, b"*1\r\n$4\r\nPING\r\n").unwrap();

        let log = MemoryLog::new();
        let am = AofManifest::load_from_dir(&aof_dir, &names).unwrap();
        let again =
            open_on_server_start(&aof_dir, &names, &am, BaseFormat::Resp, b"", &log).unwrap();
        assert!(!again.created_incr);
        assert_eq!(again.incr_size, 14, "the INCR is reopened, not recreated");
        assert_eq!(
            log.texts(),
            vec!["Opening AOF incr file appendonly.aof.1.incr.aof on server start"]
        );

        // A base-only manifest gets INCR 1 again (counters come from the manifest).
        let mut base_only = again.manifest.clone();
        base_only.incrs.clear();
        base_only.curr_incr_seq = 0;
        base_only.persist(&aof_dir, &names, &log).unwrap();
        let am = AofManifest::load_from_dir(&aof_dir, &names).unwrap();
        let third =
            open_on_server_start(&aof_dir, &names, &am, BaseFormat::Resp, b"", &log).unwrap();
        assert_eq!(third.incr_name, "appendonly.aof.1.incr.aof");
        assert_eq!(third.incr_size, 0);

        let mut m = third.manifest.clone();
        let (name, path) = open_new_incr(&aof_dir, &names, &mut m, &log).unwrap();
        assert_eq!(name, "appendonly.aof.2.incr.aof");
        assert!(path.exists());
        assert_eq!(AofManifest::load_from_dir(&aof_dir, &names).unwrap(), m);
    }

    #[test]
    fn failed_persist_leaves_memory_and_disk_alone() {
        let dir = tempfile::tempdir().unwrap();
        let names = AofNames::new("appendonly.aof");
        let log = MemoryLog::new();
        let mut am = AofManifest::new();
        // The AOF directory does not exist: creating the new INCR fails.
        let missing = dir.path().join("nope");
        assert!(open_new_incr(&missing, &names, &mut am, &log).is_err());
        assert!(am.is_empty());
        assert!(log.contains("Can't open the append-only file appendonly.aof.1.incr.aof"));
        // The temp manifest cannot be created: Redis's message, nothing renamed.
        let err = am.persist(&missing, &names, &log).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(log.contains(
            "Can't open the AOF manifest file temp-appendonly.aof.manifest: No such file or directory"
        ));
    }
}
