//! `aofd check-aof [--fix] [--yes] [--truncate-to-timestamp T] <manifest|file>`: Redis 7.0's
//! `redis-check-aof` (`src/redis-check-aof.c`) with the same checks, output lines and exit codes,
//! so scripts written for one work with the other.
//!
//! The input is a manifest (any non-comment line starting with `file`), an RDB-preamble AOF
//! (starts with `REDIS`) or a RESP AOF. Every file is parsed strictly (`*`/`$` prefixes, exact
//! CRLFs, balanced `MULTI`/`EXEC`); the verdict is the offset up to which the file is valid.
//! `--fix` truncates to that offset, asking first on standard input (`--yes` answers for
//! scripts), and only ever the last file of a manifest. `--truncate-to-timestamp T` cuts the last
//! file at the first `#TS:` annotation later than `T`.
//!
//! Everything goes to standard output, as redis-check-aof prints it; only the fatal manifest
//! block (a log message in Redis) goes to standard error. An RDB BASE or preamble is checked with
//! aofd's RDB reader, then the RESP tail after it; the verdict and exit code are Redis's, but the
//! lines in between are a short summary, not redis-check-rdb's full report (aux fields, checksum).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use super::cstr::strtol;
use super::loader::{fgets_into, read_up_to};
use super::manifest::AofManifest;
use super::strerror;

/// How one file's check ended (Redis `AOF_CHECK_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Ok,
    Empty,
    Truncated,
    TimestampTruncated,
}

/// `exit(code)` of redis-check-aof, carried up to [`check_aof_main`].
struct Exit(i32);

type Step<T> = Result<T, Exit>;

/// The checker's state; Redis keeps it in globals (the line counter is cumulative across the
/// files of a manifest, the error text and its position survive between reads).
struct Checker<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    stdin: &'a mut dyn BufRead,
    yes: bool,
    to_timestamp: i64,
    line: i64,
    error: String,
    epos: u64,
    /// `readLong`'s 128-byte stack buffer when reading `*` lines. `fgets` overwrites only what
    /// it reads plus a NUL, and redis-check-aof's CRLF error shows the two bytes after the
    /// number even past that NUL: uninitialised stack bytes, in practice what the previous `*`
    /// line left there (for `$` lines, the `fread` in between leaves zeros). Emulated so the
    /// error lines match byte for byte.
    long_buf: [u8; 128],
}

/// A buffered file with C stdio's position and end-of-file indicator.
struct Stream {
    r: BufReader<File>,
    pos: u64,
    eof: bool,
}

impl Stream {
    fn peek(&mut self) -> io::Result<Option<u8>> {
        let b = self.r.fill_buf()?;
        Ok(b.first().copied())
    }

    /// `fgets` with a buffer of `cap` bytes (reads at most `cap - 1`).
    fn fgets(&mut self, cap: usize, out: &mut Vec<u8>) -> io::Result<()> {
        out.clear();
        let max = cap.saturating_sub(1);
        fgets_into(&mut self.r, max, out)?;
        self.pos += out.len() as u64;
        if out.len() < max && out.last() != Some(&b'\n') {
            self.eof = true;
        }
        Ok(())
    }

    /// `fread` of `len` bytes: how many arrived (fewer only at the end of the file).
    fn fread(&mut self, len: u64, out: &mut Vec<u8>) -> io::Result<u64> {
        out.clear();
        let got = io::Read::read_to_end(&mut io::Read::take(&mut self.r, len), out)? as u64;
        self.pos += got;
        if got < len {
            self.eof = true;
        }
        Ok(got)
    }
}

/// Runs `aofd check-aof` with `args` (the arguments after `check-aof`), reading the `--fix`
/// confirmation from `stdin`; returns the exit code (0 valid or fixed, 1 otherwise).
pub fn check_aof_main(
    args: &[String],
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let yes = args.iter().any(|a| a == "--yes");
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--yes")
        .collect();
    let mut c = Checker {
        out,
        err,
        stdin,
        yes,
        to_timestamp: 0,
        line: 1,
        error: String::new(),
        epos: 0,
        long_buf: [0; 128],
    };
    match c.main(&args) {
        Ok(()) => 0,
        Err(Exit(code)) => code,
    }
}

impl Checker<'_> {
    fn say(&mut self, text: &str) {
        // A closed stdout must not turn a verdict into a panic; the exit code still tells.
        let _ = writeln!(self.out, "{text}");
    }

    fn fail<T>(&mut self, text: &str) -> Step<T> {
        self.say(text);
        Err(Exit(1))
    }

    /// Redis's `ERROR()` macro: remembers the message with the current error position.
    fn set_error(&mut self, msg: String) {
        self.error = format!("0x{:16x}: {msg}", self.epos);
    }

    fn main(&mut self, args: &[&str]) -> Step<()> {
        let (fix, path) = match args {
            [path] => (false, *path),
            ["--fix", path] => (true, *path),
            ["--truncate-to-timestamp", ts, path] => {
                match parse_strtol_exact(ts) {
                    Some(t) => self.to_timestamp = t,
                    None => return self.fail("Invalid timestamp, aborting..."),
                }
                (false, *path)
            }
            _ => {
                return self.fail(
                    "Usage: aofd check-aof [--fix|--truncate-to-timestamp $timestamp] \
                     <file.manifest|file.aof>",
                )
            }
        };
        let path_buf = PathBuf::from(path);
        let dir = match path_buf.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if self.file_is_manifest(&path_buf)? {
            self.check_multi_part(&dir, &path_buf, fix)
        } else {
            let preamble = self.file_is_rdb(&path_buf)?;
            self.say("Start checking Old-Style AOF");
            let verdict = self.check_single(path, &path_buf, true, fix, preamble)?;
            self.print_style(verdict, path, "AOF");
            Ok(())
        }
    }

    fn open_for_type_check(&mut self, path: &Path) -> Step<(File, u64)> {
        let f = match File::open(path) {
            Ok(f) => f,
            Err(e) => {
                let msg = format!("Cannot open file {}: {}", path.display(), io_errno_text(&e));
                return self.fail(&msg);
            }
        };
        match f.metadata() {
            Ok(m) => Ok((f, m.len())),
            Err(_) => {
                let msg = format!("Cannot stat file: {}", path.display());
                self.fail(&msg)
            }
        }
    }

    /// Redis 7.0's `fileIsManifest`: any non-comment line (read in 1024-byte pieces) starting
    /// with `file`.
    fn file_is_manifest(&mut self, path: &Path) -> Step<bool> {
        let (f, size) = self.open_for_type_check(path)?;
        if size == 0 {
            return Ok(false);
        }
        let mut r = BufReader::new(f);
        let mut buf = Vec::new();
        let mut found = false;
        loop {
            buf.clear();
            if fgets_into(&mut r, 1024, &mut buf).is_err() {
                let msg = format!("Cannot read file: {}", path.display());
                return self.fail(&msg);
            }
            if buf.is_empty() {
                return Ok(found);
            }
            if buf[0] != b'#' && buf.starts_with(b"file") {
                found = true;
            }
        }
    }

    /// Redis's `fileIsRDB`: at least 8 bytes starting with `REDIS`.
    fn file_is_rdb(&mut self, path: &Path) -> Step<bool> {
        let (mut f, size) = self.open_for_type_check(path)?;
        if size < 8 {
            return Ok(false);
        }
        let mut sig = [0u8; 5];
        Ok(matches!(read_up_to(&mut f, &mut sig), Ok(5)) && &sig == b"REDIS")
    }

    fn check_multi_part(&mut self, dir: &Path, manifest_path: &Path, fix: bool) -> Step<()> {
        self.say("Start checking Multi Part AOF");
        let am = match AofManifest::load_file(manifest_path) {
            Ok(am) => am,
            Err(e) => {
                for line in e.log_lines() {
                    let _ = writeln!(self.err, "{}", line.trim_end_matches('\n'));
                }
                return Err(Exit(1));
            }
        };
        let total = usize::from(am.base.is_some()) + am.incrs.len();
        let mut n = 0usize;
        if let Some(base) = &am.base {
            let path = dir.join(&base.name);
            n += 1;
            let preamble = self.file_is_rdb(&path)?;
            self.say(&format!(
                "Start to check BASE AOF ({} format).",
                if preamble { "RDB" } else { "RESP" }
            ));
            let verdict = self.check_single(&base.name, &path, n == total, fix, preamble)?;
            self.print_style(verdict, &base.name, "BASE AOF");
        }
        if !am.incrs.is_empty() {
            self.say("Start to check INCR files.");
            for incr in &am.incrs {
                let path = dir.join(&incr.name);
                n += 1;
                let verdict = self.check_single(&incr.name, &path, n == total, fix, false)?;
                self.print_style(verdict, &incr.name, "INCR AOF");
            }
        }
        self.say("All AOF files and manifest are valid");
        Ok(())
    }

    fn print_style(&mut self, verdict: Verdict, name: &str, kind: &str) {
        let text = match verdict {
            Verdict::Ok => format!("{kind} {name} is valid"),
            Verdict::Empty => format!("{kind} {name} is empty"),
            Verdict::TimestampTruncated => format!(
                "Successfully truncated AOF {name} to timestamp {}",
                self.to_timestamp
            ),
            Verdict::Truncated => format!("Successfully truncated AOF {name}"),
        };
        self.say(&text);
    }

    /// Redis's `checkSingleAof`.
    fn check_single(
        &mut self,
        name: &str,
        path: &Path,
        last_file: bool,
        fix: bool,
        preamble: bool,
    ) -> Step<Verdict> {
        let file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => f,
            Err(e) => {
                let msg = format!(
                    "Cannot open file {}: {}, aborting...",
                    path.display(),
                    io_errno_text(&e)
                );
                return self.fail(&msg);
            }
        };
        let size = match file.metadata() {
            Ok(m) => m.len(),
            Err(_) => return self.fail(&format!("Cannot stat file: {name}, aborting...")),
        };
        if size == 0 {
            return Ok(Verdict::Empty);
        }
        let writer = match file.try_clone() {
            Ok(w) => w,
            Err(e) => return self.fail(&format!("Failed to read from AOF {name}: {e}")),
        };
        let mut s = Stream {
            r: BufReader::with_capacity(256 * 1024, file),
            pos: 0,
            eof: false,
        };
        if preamble {
            // Redis runs redis-check-rdb on the preamble, then checks the RESP tail after it.
            self.say("The AOF appears to start with an RDB preamble.");
            self.say("Checking the RDB preamble to start:");
            let opts = crate::rdb::load::LoadOptions {
                databases: usize::MAX,
            };
            match crate::rdb::load::load(&mut s.r, &opts, &mut CountKeys) {
                Ok(summary) => {
                    self.say(&format!("[info] {} keys read", summary.keys));
                    self.say("RDB preamble is OK, proceeding with AOF tail...");
                    s.pos = summary.bytes;
                }
                Err(e) => {
                    self.say(&format!("--- RDB ERROR DETECTED --- {e}"));
                    return self.fail("RDB preamble of AOF file is not sane, aborting.");
                }
            }
        }
        let path_text = path.display().to_string();
        let mut pos = 0u64;
        let mut multi: i64 = 0;
        loop {
            if multi == 0 {
                pos = s.pos;
            }
            let first = match s.peek() {
                Ok(Some(b)) => b,
                Ok(None) => {
                    s.eof = true;
                    break;
                }
                Err(_) => {
                    return self.fail(&format!("Failed to read from AOF {name}, aborting..."))
                }
            };
            if first == b'#' {
                if self.process_annotation(&mut s, &writer, &path_text, last_file)? {
                    return Ok(Verdict::TimestampTruncated);
                }
            } else if first == b'*' {
                match self.process_resp(&mut s, &path_text, &mut multi) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(_) => {
                        return self.fail(&format!("Failed to read from AOF {name}, aborting..."))
                    }
                }
            } else {
                self.say(&format!("AOF {name} format error"));
                break;
            }
        }
        if s.eof && multi != 0 && self.error.is_empty() {
            self.set_error("Reached EOF before reading EXEC for MULTI".to_string());
        }
        if !self.error.is_empty() {
            let e = self.error.clone();
            self.say(&e);
        }
        let diff = size.saturating_sub(pos);
        if diff == 0 && self.to_timestamp != 0 {
            let ts = self.to_timestamp;
            self.say(&format!("Truncate nothing in AOF {name} to timestamp {ts}"));
            return Ok(Verdict::Ok);
        }
        let line = self.line;
        self.say(&format!(
            "AOF analyzed: filename={name}, size={size}, ok_up_to={pos}, ok_up_to_line={line}, \
             diff={diff}"
        ));
        if diff == 0 {
            return Ok(Verdict::Ok);
        }
        if !fix {
            return self.fail(&format!(
                "AOF {name} is not valid. Use the --fix option to try fixing it."
            ));
        }
        if !last_file {
            return self.fail(&format!(
                "Failed to truncate AOF {name} because it is not the last file"
            ));
        }
        self.say(&format!(
            "This will shrink the AOF {name} from {size} bytes, with {diff} bytes, to {pos} bytes"
        ));
        let _ = write!(self.out, "Continue? [y/N]: ");
        let _ = self.out.flush();
        if !self.confirmed() {
            return self.fail("Aborting...");
        }
        if writer
            .set_len(pos)
            .and_then(|()| writer.sync_data())
            .is_err()
        {
            return self.fail(&format!("Failed to truncate AOF {name}"));
        }
        Ok(Verdict::Truncated)
    }

    /// `fgets(buf, 2, stdin)` and a case-insensitive `y`, or `--yes`.
    fn confirmed(&mut self) -> bool {
        if self.yes {
            return true;
        }
        let mut answer = Vec::new();
        let _ = fgets_into(self.stdin, 1, &mut answer);
        answer
            .first()
            .is_some_and(|b| b.eq_ignore_ascii_case(&b'y'))
    }

    /// Redis's `processAnnotations`; `Ok(true)` when the file was cut at this annotation.
    fn process_annotation(
        &mut self,
        s: &mut Stream,
        writer: &File,
        path_text: &str,
        last_file: bool,
    ) -> Step<bool> {
        self.epos = s.pos;
        let mut buf = Vec::new();
        if s.fgets(1024, &mut buf).is_err() || buf.is_empty() {
            return self.fail(&format!(
                "Failed to read annotations from AOF {path_text}, aborting..."
            ));
        }
        if self.to_timestamp == 0 || !buf.starts_with(b"#TS:") {
            return Ok(false);
        }
        let (ts, used) = strtol(&buf[4..]);
        if buf.get(4 + used) != Some(&b'\r') {
            return self.fail("Invalid timestamp annotation");
        }
        if ts <= self.to_timestamp {
            return Ok(false);
        }
        let (epos, to) = (self.epos, self.to_timestamp);
        if epos == 0 {
            return self.fail(&format!(
                "AOF {path_text} has nothing before timestamp {to}, aborting..."
            ));
        }
        if !last_file {
            self.say(&format!(
                "Failed to truncate AOF {path_text} to timestamp {to} to offset {epos} because \
                 it is not the last file."
            ));
            return self.fail(
                "If you insist, please delete all files after this file according to the \
                 manifest file and delete the corresponding records in manifest file manually. \
                 Then re-run aofd check-aof.",
            );
        }
        if writer
            .set_len(epos)
            .and_then(|()| writer.sync_data())
            .is_err()
        {
            return self.fail(&format!(
                "Failed to truncate AOF {path_text} to timestamp {to}"
            ));
        }
        Ok(true)
    }

    /// Redis's `processRESP`: one record; `Ok(false)` when it is invalid or incomplete.
    fn process_resp(
        &mut self,
        s: &mut Stream,
        path_text: &str,
        multi: &mut i64,
    ) -> io::Result<bool> {
        let Some(argc) = self.read_long(s, b'*')? else {
            return Ok(false);
        };
        let mut buf = Vec::new();
        let mut i: i64 = 0;
        while i < argc {
            let Some(len) = self.read_long(s, b'$')? else {
                return Ok(false);
            };
            if !(0..=i64::MAX - 2).contains(&len) {
                self.set_error(format!(
                    "Expected to read string of {len} bytes, which is not in the suitable range"
                ));
                return Ok(false);
            }
            let want = len as u64 + 2;
            self.epos = s.pos;
            let got = s.fread(want, &mut buf)?;
            if got != want {
                self.set_error(format!("Expected to read {want} bytes, got {got} bytes"));
                return Ok(false);
            }
            let tail = &buf[buf.len() - 2..];
            if !self.consume_newline(tail) {
                return Ok(false);
            }
            if i == 0 {
                let payload = &buf[..buf.len() - 2];
                let name = match memchr::memchr(0, payload) {
                    Some(z) => &payload[..z],
                    None => payload,
                };
                if name.eq_ignore_ascii_case(b"multi") {
                    let before = *multi;
                    *multi += 1;
                    if before != 0 {
                        self.set_error(format!("Unexpected MULTI in AOF {path_text}"));
                        return Ok(false);
                    }
                } else if name.eq_ignore_ascii_case(b"exec") {
                    *multi -= 1;
                    if *multi != 0 {
                        self.set_error(format!("Unexpected EXEC in AOF {path_text}"));
                        return Ok(false);
                    }
                }
            }
            i += 1;
        }
        Ok(true)
    }

    /// Redis's `readLong`: a `<prefix><number>\r\n` line read with a 128-byte `fgets`.
    fn read_long(&mut self, s: &mut Stream, prefix: u8) -> io::Result<Option<i64>> {
        self.epos = s.pos;
        let mut buf = Vec::new();
        s.fgets(128, &mut buf)?;
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        if prefix != b'*' {
            self.long_buf = [0; 128];
        }
        self.long_buf[..buf.len()].copy_from_slice(&buf);
        if let Some(nul) = self.long_buf.get_mut(buf.len()) {
            *nul = 0;
        }
        let end = memchr::memchr(0, &self.long_buf).unwrap_or(self.long_buf.len());
        if first != prefix {
            self.set_error(format!(
                "Expected prefix '{}', got: '{}'",
                char::from(prefix),
                char::from(self.long_buf[0])
            ));
            return Ok(None);
        }
        let (value, used) = strtol(&self.long_buf[1..end]);
        let at = 1 + used;
        let rest = [
            self.long_buf.get(at).copied().unwrap_or(0),
            self.long_buf.get(at + 1).copied().unwrap_or(0),
        ];
        if !self.consume_newline(&rest) {
            return Ok(None);
        }
        Ok(Some(value))
    }

    /// Redis's `consumeNewline`: `\r\n` or an error showing the two bytes found.
    fn consume_newline(&mut self, bytes: &[u8]) -> bool {
        if bytes.starts_with(b"\r\n") {
            self.line += 1;
            return true;
        }
        let byte = |i: usize| bytes.get(i).copied().unwrap_or(0);
        self.set_error(format!(
            "Expected \\r\\n, got: {}{}",
            c_hex(byte(0)),
            c_hex(byte(1))
        ));
        false
    }
}

/// `printf("%02x", (char)b)`: a byte above 0x7f is a negative `char`, printed sign-extended.
fn c_hex(b: u8) -> String {
    format!("{:02x}", b as i8 as i32 as u32)
}

/// `strtol` of a whole argument (`*endptr == '\0'` and no overflow), as the timestamp option
/// is parsed.
fn parse_strtol_exact(s: &str) -> Option<i64> {
    let bytes = s.as_bytes();
    let (v, used) = strtol(bytes);
    if used != bytes.len() || v == i64::MAX || v == i64::MIN {
        return None;
    }
    Some(v)
}

fn io_errno_text(e: &io::Error) -> String {
    e.raw_os_error().map_or_else(|| e.to_string(), strerror)
}

#[cfg(test)]
mod tests;

/// The RDB check's target: keys are read, validated by the reader and dropped.
struct CountKeys;

impl crate::rdb::load::LoadTarget for CountKeys {
    fn key(
        &mut self,
        _db: usize,
        _key: Vec<u8>,
        _value: crate::db::Value,
        _expire_ms: Option<i64>,
    ) -> Result<(), String> {
        Ok(())
    }
}
