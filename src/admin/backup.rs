//! `GET /v1/backup`: a consistent, point-in-time copy of the AOF directory, streamed as a tar
//! (`SHA256SUMS` and `backup.json` included) or, with `?format=aof`, as one self-contained
//! AOF file that Redis 7.0 and aofd load as a legacy `appendonly.aof`.
//!
//! # The cut
//!
//! One job on the data thread, between two commands (so atomic with respect to every command),
//! takes the cut: it writes the AOF buffer, notes the stream offset and the last INCR's length,
//! clones the manifest and opens every file the manifest names. Everything a client was told
//! before the request is in those bytes (replies leave only after their records are written),
//! and nothing after the cut is. Open descriptors keep the files readable even when a rewrite
//! finishes meanwhile and deletes them as history, so no write is paused and nothing forks.
//! Before streaming, the admin side waits (asynchronously, off the data thread) until the fsync
//! worker reports the cut durable: a backup never contains bytes a crash could take back.
//!
//! # The tar
//!
//! ```text
//! backup.json                                 metadata (see [`BackupInfo`])
//! appendonlydir/                              named like the AOF directory
//! appendonlydir/appendonly.aof.manifest       the manifest at the cut, without HISTORY lines
//! appendonlydir/appendonly.aof.<n>.base.rdb   the BASE (or .base.aof)
//! appendonlydir/appendonly.aof.<m>.incr.aof   every INCR; the last one up to the cut
//! SHA256SUMS                                  `sha256sum -c` format, one line per member above
//! ```
//!
//! `SHA256SUMS` comes last because the sums are computed while the files stream (one pass over
//! the data); every size is known before the first byte, so the response has a Content-Length
//! and a download cut short is always detectable.
//!
//! Files are read in 64 KiB chunks on a thread of their own and handed to the response through
//! a small bounded channel, so memory stays bounded whatever the AOF's size and however slowly
//! the client reads. The response ends (with an error, so the client sees it as incomplete)
//! when the server shuts down.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};

use super::error::ApiError;
use super::tar::{self, Kind};
use super::{AppState, Requester};
use crate::aof::manifest::FileKind;
use crate::server::state::ServerState;

/// Bytes read from a file at a time, and the size of the chunks handed to the response.
const CHUNK: usize = 64 * 1024;

/// Chunks the reading thread may be ahead of the client.
const CHANNEL_DEPTH: usize = 4;

/// How long a backup waits for the cut to become durable before giving up with a 503.
const DURABLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The name of the metadata member.
pub const INFO_MEMBER: &str = "backup.json";

/// The name of the checksum member.
pub const SUMS_MEMBER: &str = "SHA256SUMS";

/// The value of `backup.json`'s `format` field.
pub const FORMAT_NAME: &str = "aofd-backup";

/// The version of the tar layout and of `backup.json`.
pub const FORMAT_VERSION: u32 = 1;

/// The routes of this module (behind the token).
pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/backup", get(backup))
}

/// `backup.json`: what the backup holds and where it was cut.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupInfo {
    /// Always `aofd-backup`.
    pub format: String,
    /// Layout version, 1.
    pub format_version: u32,
    /// When the cut was taken, unix seconds.
    pub created_unix: u64,
    /// The same time in RFC 3339 (UTC).
    pub created: String,
    /// The aofd version that took it.
    pub server_version: String,
    /// `appendfilename` of the server.
    pub appendfilename: String,
    /// `appenddirname`: the name of the AOF directory, and of the tar's top directory.
    pub appenddirname: String,
    /// The manifest's file name.
    pub manifest: String,
    /// Where the last INCR was cut.
    pub cut: CutInfo,
    /// Every file of the AOF directory in the backup (the manifest first, then BASE and
    /// INCRs in loading order) with the bytes the backup holds of it.
    pub files: Vec<FileInfo>,
}

/// Where the backup was cut.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutInfo {
    /// The last INCR (the one being appended to); `null` if the manifest names none.
    pub file: Option<String>,
    /// Its length at the cut: the backup holds exactly these bytes of it.
    pub length: u64,
    /// The writer's stream offset at the cut (bytes appended since the server started; the
    /// same scale as the gates of replies), for correlating with logs and metrics.
    pub stream_offset: u64,
}

/// One file of the AOF directory in the backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// File name inside the AOF directory.
    pub name: String,
    /// `manifest`, `base` or `incr`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its manifest sequence number (`null` for the manifest).
    pub seq: Option<i64>,
    /// Bytes in the backup.
    pub size: u64,
}

/// One file opened by the cut job, with the bytes of it that belong to the backup.
struct CutFile {
    name: String,
    kind: FileKind,
    seq: i64,
    file: File,
    len: u64,
}

/// What the cut job on the data thread hands back.
struct Cut {
    aof_dir_name: String,
    appendfilename: String,
    manifest_name: String,
    /// The manifest at the cut without HISTORY lines (their files are not in the backup).
    manifest: Vec<u8>,
    files: Vec<CutFile>,
    last_incr: Option<String>,
    last_len: u64,
    stream_offset: u64,
    durable: u64,
    progress: watch::Receiver<u64>,
    created: SystemTime,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Tar,
    Aof,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Tar => "tar",
            Format::Aof => "aof",
        }
    }
}

fn parse_format(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Format, ApiError> {
    let Query(params) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    if let Some(name) = params.keys().find(|k| k.as_str() != "format") {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            format!("Unknown query parameter '{name}': the only one is format (tar or aof)."),
        ));
    }
    match params.get("format").map(String::as_str) {
        None | Some("tar") => Ok(Format::Tar),
        Some("aof") => Ok(Format::Aof),
        Some(other) => Err(ApiError::bad_request(
            "invalid_format",
            format!("Unknown backup format '{other}': use tar (the default) or aof."),
        )),
    }
}

fn internal(message: String) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "backup_failed", message)
}

/// The cut (see the module docs), on the data thread.
fn take_cut(st: &mut ServerState) -> Result<Cut, ApiError> {
    if st.loading || st.aof.loading.is_some() {
        return Err(ApiError::unavailable(
            "loading",
            "The dataset is still loading from disk; retry once it is loaded.",
        ));
    }
    if !st.config.appendonly {
        return Err(ApiError::unavailable(
            "aof_off",
            "The AOF is off (appendonly no), so there is nothing to back up; turn it on with \
             CONFIG SET appendonly yes.",
        ));
    }
    if st.aof.wait_rewrite {
        return Err(ApiError::unavailable(
            "aof_starting",
            "The AOF is being turned on and its first BASE is still being written; retry once \
             that rewrite has finished.",
        ));
    }
    let aof = &mut st.aof;
    let Some(writer) = aof.writer.as_mut() else {
        return Err(ApiError::unavailable(
            "aof_off",
            "The AOF is not open, so there is nothing to back up.",
        ));
    };
    let write_error = |reason: String| {
        ApiError::unavailable(
            "aof_write_error",
            format!("The AOF cannot be written, so no consistent backup can be taken: {reason}"),
        )
    };
    if let Some(reason) = writer.misconf() {
        return Err(write_error(reason));
    }
    // The flusher's own path: under `always` a failed write exits the process as every other
    // fatal AOF error does; otherwise the error shows in `misconf`.
    aof.flush();
    let Some(writer) = aof.writer.as_mut() else {
        return Err(ApiError::unavailable(
            "aof_off",
            "The AOF is not open, so there is nothing to back up.",
        ));
    };
    if let Some(reason) = writer.misconf() {
        return Err(write_error(reason));
    }
    let stream_offset = writer.appended_end();
    let last_len = writer.file_size();
    writer.request_sync();
    let progress = writer.subscribe();
    let durable = writer.durable();

    let last_incr = aof.manifest.last_incr().map(|i| i.name.clone());
    let mut files = Vec::new();
    for info in aof.manifest.files_to_load() {
        let path = aof.aof_dir.join(&info.name);
        let file = File::open(&path)
            .map_err(|e| internal(format!("Can't open {} for the backup: {e}", path.display())))?;
        let on_disk = file
            .metadata()
            .map_err(|e| internal(format!("Can't stat {} for the backup: {e}", path.display())))?
            .len();
        let is_last = info.kind == FileKind::Incr && last_incr.as_deref() == Some(&info.name);
        let len = if is_last { last_len } else { on_disk };
        if on_disk < len {
            return Err(internal(format!(
                "{} holds {on_disk} bytes, less than the {len} bytes written to it",
                path.display()
            )));
        }
        files.push(CutFile {
            name: info.name.clone(),
            kind: info.kind,
            seq: info.seq,
            file,
            len,
        });
    }
    let mut manifest = aof.manifest.clone();
    manifest.history.clear();
    let aof_dir_name = aof.aof_dir.file_name().map_or_else(
        || st.config.appenddirname.clone(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(Cut {
        aof_dir_name,
        appendfilename: aof.names.filename.clone(),
        manifest_name: aof.names.manifest(),
        manifest: manifest.to_bytes(),
        files,
        last_incr,
        last_len,
        stream_offset,
        durable,
        progress,
        created: SystemTime::now(),
    })
}

/// On the data thread: how far the AOF is durable now (asking for a sync if not far enough).
fn durable_now(st: &mut ServerState, target: u64) -> Result<u64, ApiError> {
    let Some(writer) = st.aof.writer.as_mut() else {
        // The AOF was turned off after the cut: stopping it wrote and synced everything.
        return Ok(u64::MAX);
    };
    if let Some(reason) = writer.misconf() {
        return Err(ApiError::unavailable(
            "aof_write_error",
            format!("The AOF could not be made durable up to the backup's cut: {reason}"),
        ));
    }
    let durable = writer.durable();
    if durable < target {
        writer.request_sync();
    }
    Ok(durable)
}

/// Waits, without blocking the data thread, until the cut is durable.
async fn wait_durable(app: &AppState, cut: &mut Cut) -> Result<(), ApiError> {
    let deadline = Instant::now() + DURABLE_TIMEOUT;
    let mut progress_open = true;
    while cut.durable < cut.stream_offset {
        if Instant::now() > deadline {
            return Err(ApiError::unavailable(
                "not_durable",
                format!(
                    "The AOF did not become durable up to the backup's cut within {} s.",
                    DURABLE_TIMEOUT.as_secs()
                ),
            ));
        }
        // The fsync worker signals after every sync; the short sleep also covers a writer
        // replaced meanwhile (its channel closes) and keeps the wait bounded.
        tokio::select! {
            () = app.shutdown.cancelled() => {
                return Err(ApiError::unavailable("shutting_down", "The server is shutting down."));
            }
            changed = cut.progress.changed(), if progress_open => {
                progress_open = changed.is_ok();
            }
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        let target = cut.stream_offset;
        cut.durable = app.data.run(move |st| durable_now(st, target)).await??;
    }
    Ok(())
}

/// A member of the tar with its content.
enum Source {
    Bytes(Vec<u8>),
    File(File, u64),
}

impl Source {
    fn len(&self) -> u64 {
        match self {
            Source::Bytes(b) => b.len() as u64,
            Source::File(_, len) => *len,
        }
    }
}

struct Member {
    path: String,
    source: Source,
}

/// Everything the reading thread streams, decided before the first byte.
struct Plan {
    format: Format,
    /// The AOF directory's member path, with its trailing `/` (tar only).
    dir: String,
    members: Vec<Member>,
    mtime: u64,
    /// Bytes of the response.
    total: u64,
}

/// `sha256sum`'s line for `path`: `<hex>  <path>`, or with a leading `\` and `\\`/`\n`
/// escapes when the path holds a backslash or a newline (as GNU coreutils writes it).
pub fn sums_line(hex: &str, path: &str) -> String {
    if path.contains(['\\', '\n']) {
        let escaped = path.replace('\\', "\\\\").replace('\n', "\\n");
        format!("\\{hex}  {escaped}\n")
    } else {
        format!("{hex}  {path}\n")
    }
}

/// Parses a `SHA256SUMS` file into (path, lower-case hex) pairs.
///
/// # Errors
/// The first malformed line, 1-based.
pub fn parse_sums(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let (escaped, line) = match line.strip_prefix('\\') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let bad = || format!("line {} of {SUMS_MEMBER} is malformed: {line:?}", n + 1);
        let (hex, path) = line.split_once("  ").ok_or_else(bad)?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let path = if escaped {
            let mut out = String::with_capacity(path.len());
            let mut chars = path.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    match chars.next() {
                        Some('\\') => out.push('\\'),
                        Some('n') => out.push('\n'),
                        _ => return Err(bad()),
                    }
                } else {
                    out.push(c);
                }
            }
            out
        } else {
            path.to_string()
        };
        out.push((path, hex.to_ascii_lowercase()));
    }
    Ok(out)
}

/// Unix seconds as RFC 3339 UTC (`2026-05-21T10:15:00Z`).
pub fn rfc3339(secs: u64) -> String {
    let (y, m, d) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Base => "base",
        FileKind::Incr => "incr",
        FileKind::History => "history",
    }
}

/// Builds the plan (metadata, member list, exact length) from the cut.
fn plan(cut: Cut, format: Format) -> Result<(Plan, BackupInfo), ApiError> {
    let created_unix = cut
        .created
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut files = vec![FileInfo {
        name: cut.manifest_name.clone(),
        kind: "manifest".to_string(),
        seq: None,
        size: cut.manifest.len() as u64,
    }];
    files.extend(cut.files.iter().map(|f| FileInfo {
        name: f.name.clone(),
        kind: kind_name(f.kind).to_string(),
        seq: Some(f.seq),
        size: f.len,
    }));
    let info = BackupInfo {
        format: FORMAT_NAME.to_string(),
        format_version: FORMAT_VERSION,
        created_unix,
        created: rfc3339(created_unix),
        server_version: env!("CARGO_PKG_VERSION").to_string(),
        appendfilename: cut.appendfilename.clone(),
        appenddirname: cut.aof_dir_name.clone(),
        manifest: cut.manifest_name.clone(),
        cut: CutInfo {
            file: cut.last_incr.clone(),
            length: cut.last_len,
            stream_offset: cut.stream_offset,
        },
        files,
    };
    let dir = format!("{}/", cut.aof_dir_name);
    let mut members = Vec::new();
    if format == Format::Tar {
        let mut json = serde_json::to_vec_pretty(&info)
            .map_err(|e| internal(format!("Can't encode {INFO_MEMBER}: {e}")))?;
        json.push(b'\n');
        members.push(Member {
            path: INFO_MEMBER.to_string(),
            source: Source::Bytes(json),
        });
        members.push(Member {
            path: format!("{dir}{}", cut.manifest_name),
            source: Source::Bytes(cut.manifest),
        });
    }
    for f in cut.files {
        members.push(Member {
            path: format!("{dir}{}", f.name),
            source: Source::File(f.file, f.len),
        });
    }
    let total = match format {
        Format::Aof => members.iter().map(|m| m.source.len()).sum(),
        Format::Tar => {
            let hex = "0".repeat(64);
            let sums_len: u64 = members
                .iter()
                .map(|m| sums_line(&hex, &m.path).len() as u64)
                .sum();
            // Every header must be writable before the first byte is sent.
            for m in &members {
                tar::header(&m.path, Kind::File, m.source.len(), 0o644, 0)
                    .map_err(|e| internal(e.to_string()))?;
            }
            tar::header(&dir, Kind::Dir, 0, 0o755, 0).map_err(|e| internal(e.to_string()))?;
            tar::member_len(0)
                + members
                    .iter()
                    .map(|m| tar::member_len(m.source.len()))
                    .sum::<u64>()
                + tar::member_len(sums_len)
                + tar::END.len() as u64
        }
    };
    Ok((
        Plan {
            format,
            dir,
            members,
            mtime: created_unix,
            total,
        },
        info,
    ))
}

/// Why streaming stopped early.
enum Stop {
    /// The response is gone (the client went away, or shutdown ended it).
    Closed,
    /// A file could not be read as the cut promised.
    Io(String),
}

/// Collects bytes into chunks and hands them to the response.
struct Sink {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
    sent: u64,
}

impl Sink {
    fn put(&mut self, data: &[u8]) -> Result<(), Stop> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<(), Stop> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(2 * CHUNK),
        ));
        let n = chunk.len() as u64;
        self.tx.blocking_send(Ok(chunk)).map_err(|_| Stop::Closed)?;
        self.sent += n;
        Ok(())
    }
}

/// Streams `len` bytes of `file` from its start into the sink (and the hasher).
fn copy_file(
    path: &str,
    file: &mut File,
    len: u64,
    sink: &mut Sink,
    mut hasher: Option<&mut Sha256>,
    buf: &mut [u8],
) -> Result<(), Stop> {
    let mut left = len;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = match file.read(&mut buf[..want]) {
            Ok(0) => {
                return Err(Stop::Io(format!(
                    "{path} ended after {} of its {len} bytes",
                    len - left
                )))
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Stop::Io(format!("reading {path}: {e}"))),
        };
        if let Some(h) = hasher.as_deref_mut() {
            h.update(&buf[..n]);
        }
        sink.put(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Streams the whole plan; runs on its own thread.
fn produce(plan: Plan, sink: &mut Sink) -> Result<(), Stop> {
    let mut buf = vec![0u8; CHUNK];
    let tar_error = |e: tar::TarError| Stop::Io(e.to_string());
    if plan.format == Format::Aof {
        for mut m in plan.members {
            if let Source::File(file, len) = &mut m.source {
                copy_file(&m.path, file, *len, sink, None, &mut buf)?;
            }
        }
        return sink.send();
    }
    let mut sums = String::new();
    let mut dir_written = false;
    for mut m in plan.members {
        if !dir_written && m.path.starts_with(&plan.dir) {
            sink.put(&tar::header(&plan.dir, Kind::Dir, 0, 0o755, plan.mtime).map_err(tar_error)?)?;
            dir_written = true;
        }
        let len = m.source.len();
        sink.put(&tar::header(&m.path, Kind::File, len, 0o644, plan.mtime).map_err(tar_error)?)?;
        let mut hasher = Sha256::new();
        match &mut m.source {
            Source::Bytes(bytes) => {
                hasher.update(&bytes[..]);
                sink.put(bytes)?;
            }
            Source::File(file, len) => {
                copy_file(&m.path, file, *len, sink, Some(&mut hasher), &mut buf)?;
            }
        }
        sink.put(&tar::END[..usize::try_from(tar::padding(len)).unwrap_or(0)])?;
        sums.push_str(&sums_line(&hex(&hasher.finalize()), &m.path));
    }
    let sums = sums.into_bytes();
    let len = sums.len() as u64;
    sink.put(&tar::header(SUMS_MEMBER, Kind::File, len, 0o644, plan.mtime).map_err(tar_error)?)?;
    sink.put(&sums)?;
    sink.put(&tar::END[..usize::try_from(tar::padding(len)).unwrap_or(0)])?;
    sink.put(&tar::END)?;
    sink.send()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

async fn backup(
    State(app): State<AppState>,
    Requester(who): Requester,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let format = parse_format(query)?;
    let mut cut = app.data.run(take_cut).await??;
    wait_durable(&app, &mut cut).await?;
    let stream_offset = cut.stream_offset;
    let (plan, info) = plan(cut, format)?;
    let total = plan.total;
    let cut_file = info.cut.file.clone().unwrap_or_else(|| "-".to_string());
    tracing::info!(
        requested_by = %who,
        format = format.name(),
        cut_file = %cut_file,
        cut_length = info.cut.length,
        stream_offset,
        size_bytes = total,
        "Backup ({}) for {who}: cut at {cut_file}:{} (stream offset {stream_offset}), {total} \
         bytes.",
        format.name(),
        info.cut.length,
    );

    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    let log_who = who.clone();
    let log_cut = (cut_file.clone(), info.cut.length);
    std::thread::Builder::new()
        .name("aofd-backup".to_string())
        .spawn(move || {
            let mut sink = Sink {
                tx,
                buf: Vec::with_capacity(2 * CHUNK),
                sent: 0,
            };
            match produce(plan, &mut sink) {
                Ok(()) => tracing::info!(
                    size_bytes = sink.sent,
                    bytes = sink.sent,
                    aof_file = %log_cut.0,
                    offset = log_cut.1,
                    requested_by = %log_who,
                    aofd_event = "backup_taken",
                    "Backup for {log_who} fully handed to the connection ({} bytes).",
                    sink.sent
                ),
                Err(Stop::Closed) => tracing::warn!(
                    sent_bytes = sink.sent,
                    "Backup for {log_who} ended early after {} bytes: the client went away or \
                     the server is shutting down.",
                    sink.sent
                ),
                Err(Stop::Io(reason)) => {
                    tracing::warn!(
                        sent_bytes = sink.sent,
                        "Backup for {log_who} failed after {} bytes: {reason}",
                        sink.sent
                    );
                    let _ = sink.tx.blocking_send(Err(io::Error::other(reason)));
                }
            }
        })
        .map_err(|e| internal(format!("Can't start the backup thread: {e}")))?;

    metrics::counter!("aofd_backups_total").increment(1);
    let shutdown = app.shutdown.clone();
    // On shutdown the body ends with an error rather than cleanly, so the connection is cut and
    // the client sees a short download instead of what looks like a complete one.
    let body = futures_util::stream::unfold(Some(rx), move |state| {
        let shutdown = shutdown.clone();
        async move {
            let mut rx = state?;
            tokio::select! {
                biased;
                () = shutdown.cancelled() => Some((
                    Err(io::Error::other("the server is shutting down")),
                    None,
                )),
                item = rx.recv() => {
                    let item = item?;
                    if let Ok(chunk) = &item {
                        metrics::counter!("aofd_backup_bytes_total").increment(chunk.len() as u64);
                    }
                    Some((item, Some(rx)))
                }
            }
        }
    });

    let stamp = info.created.replace(['-', ':'], "");
    let (content_type, filename) = match format {
        Format::Tar => ("application/x-tar", format!("aofd-backup-{stamp}.tar")),
        Format::Aof => (
            "application/octet-stream",
            format!("aofd-backup-{stamp}.aof"),
        ),
    };
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_779_358_500), "2026-05-21T10:15:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn sums_lines_round_trip() {
        let hex = "ab".repeat(32);
        let mut text = String::new();
        for path in ["a/b c", "we\\ird", "new\nline"] {
            text.push_str(&sums_line(&hex, path));
        }
        assert!(text.starts_with(&format!("{hex}  a/b c\n\\{hex}  we\\\\ird\n")));
        let parsed = parse_sums(&text).unwrap();
        let paths: Vec<_> = parsed.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["a/b c", "we\\ird", "new\nline"]);
        assert!(parse_sums("abc  x\n").is_err());
        assert!(parse_sums(&format!("{hex} x\n")).is_err());
    }

    #[test]
    fn formats() {
        let q = |pairs: &[(&str, &str)]| {
            Ok(Query(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<HashMap<_, _>>(),
            ))
        };
        assert_eq!(parse_format(q(&[])).unwrap(), Format::Tar);
        assert_eq!(parse_format(q(&[("format", "tar")])).unwrap(), Format::Tar);
        assert_eq!(parse_format(q(&[("format", "aof")])).unwrap(), Format::Aof);
        assert_eq!(
            parse_format(q(&[("format", "zip")])).unwrap_err().code,
            "invalid_format"
        );
        assert_eq!(
            parse_format(q(&[("fromat", "aof")])).unwrap_err().code,
            "invalid_parameter"
        );
    }

    #[test]
    fn the_planned_length_is_what_is_streamed() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for (name, content, len) in [
            ("appendonly.aof.1.base.rdb", &b"REDIS0010 base"[..], 14u64),
            (
                "appendonly.aof.1.incr.aof",
                &b"*1\r\n$4\r\nPING\r\nextra"[..],
                14,
            ),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            files.push(CutFile {
                name: name.to_string(),
                kind: if name.contains("base") {
                    FileKind::Base
                } else {
                    FileKind::Incr
                },
                seq: 1,
                file: File::open(&path).unwrap(),
                len,
            });
        }
        for format in [Format::Tar, Format::Aof] {
            let cut = Cut {
                aof_dir_name: "appendonlydir".into(),
                appendfilename: "appendonly.aof".into(),
                manifest_name: "appendonly.aof.manifest".into(),
                manifest: b"file appendonly.aof.1.base.rdb seq 1 type b\n".to_vec(),
                files: files
                    .iter()
                    .map(|f| CutFile {
                        name: f.name.clone(),
                        kind: f.kind,
                        seq: f.seq,
                        file: f.file.try_clone().unwrap(),
                        len: f.len,
                    })
                    .collect(),
                last_incr: Some("appendonly.aof.1.incr.aof".into()),
                last_len: 14,
                stream_offset: 14,
                durable: 14,
                progress: watch::channel(0).1,
                created: UNIX_EPOCH + Duration::from_secs(1_779_358_500),
            };
            let (plan, info) = plan(cut, format).unwrap();
            assert_eq!(info.created, "2026-05-21T10:15:00Z");
            let total = plan.total;
            let (tx, mut rx) = mpsc::channel(1024);
            let mut sink = Sink {
                tx,
                buf: Vec::new(),
                sent: 0,
            };
            assert!(produce(plan, &mut sink).is_ok());
            drop(sink);
            let mut out = Vec::new();
            while let Ok(Ok(chunk)) = rx.try_recv() {
                out.extend_from_slice(&chunk);
            }
            assert_eq!(out.len() as u64, total, "{format:?}");
            if format == Format::Aof {
                assert_eq!(out, b"REDIS0010 base*1\r\n$4\r\nPING\r\n");
                continue;
            }
            // Files rewind per plan: every fd was opened fresh at the cut.
            for f in &mut files {
                use std::io::Seek;
                f.file.rewind().unwrap();
            }
            let mut reader = tar::TarReader::new(&out[..]);
            let mut seen = Vec::new();
            let mut contents = HashMap::new();
            while let Some(e) = reader.next_entry().unwrap() {
                let mut data = Vec::new();
                reader.read_to_end(&mut data).unwrap();
                seen.push(e.path.clone());
                contents.insert(e.path, data);
            }
            assert_eq!(
                seen,
                [
                    "backup.json",
                    "appendonlydir",
                    "appendonlydir/appendonly.aof.manifest",
                    "appendonlydir/appendonly.aof.1.base.rdb",
                    "appendonlydir/appendonly.aof.1.incr.aof",
                    "SHA256SUMS",
                ]
            );
            assert_eq!(
                contents["appendonlydir/appendonly.aof.1.incr.aof"],
                b"*1\r\n$4\r\nPING\r\n"
            );
            let sums = parse_sums(std::str::from_utf8(&contents["SHA256SUMS"]).unwrap()).unwrap();
            assert_eq!(sums.len(), 4);
            for (path, sum) in sums {
                assert_eq!(hex(&Sha256::digest(&contents[&path])), sum, "{path}");
            }
            let json: BackupInfo = serde_json::from_slice(&contents["backup.json"]).unwrap();
            assert_eq!(json, info);
        }
    }
}
