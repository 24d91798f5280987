//! The AOF rewrite's lifecycle (Redis `aof.c`: `rewriteAppendOnlyFileBackground`,
//! `backgroundRewriteDoneHandler`, `aofRewriteLimited`, `startAppendOnly`; reference
//! redis-aof.md §3.4 and §4): starting it (BGREWRITEAOF, the size trigger, a scheduled start,
//! `CONFIG SET appendonly yes`), finishing it, the back-off after repeated failures, and the
//! rewrite record operators watch (INFO fields, a recent history and a subscription).
//!
//! Sequence (Redis 7, no rewrite buffer): at fork time the parent writes and fsyncs what the
//! current INCR has, opens the next INCR and persists a manifest listing it, so every write
//! after the fork lands in a file the rewrite does not cover. The child writes the snapshot to
//! `temp-rewriteaof-<pid>.aof` in `dir` and renames it to `temp-rewriteaof-bg-<pid>.aof` when it
//! is durable. The parent then renames that to the next BASE, marks the old BASE and the
//! rewritten INCRs as history, persists the manifest, and removes the history files.
//!
//! Crash safety: until the manifest is persisted, the directory's manifest names the old BASE
//! and every INCR, all still present, so a crash at any step loads the complete dataset; after
//! it, the manifest names the new BASE (renamed and the directory fsynced before) and the INCR
//! opened at fork time. `failpoint` marks each step for the crash tests.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::watch;

use crate::aof::file::RealFile;
use crate::aof::manifest::open_new_incr;
use crate::aof::names::{AofNames, BaseFormat};
use crate::aof::writer::AofWriter;
use crate::aof::{io_strerror, TracingLog};

use super::background::{ActiveChild, ChildKind};
use super::failpoint;
use super::fork::Exit;
use super::snapshot::{self, Format, Job};
use super::state::{unix_secs, ServerState};

/// Redis `AOF_REWRITE_LIMITE_THRESHOLD`: consecutive failures after which automatic and
/// scheduled rewrites back off.
const LIMIT_THRESHOLD: u32 = 3;
/// Redis `AOF_REWRITE_LIMITE_MAX_MINUTES`: the longest back-off.
const LIMIT_MAX_MINUTES: i64 = 60;
/// Finished rewrites kept in the history.
const HISTORY_LEN: usize = 16;
/// How often a running rewrite's progress is logged.
const PROGRESS_LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a rewrite started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// BGREWRITEAOF started it at once.
    Manual,
    /// It had been scheduled (BGREWRITEAOF while another child ran, or inside MULTI).
    Scheduled,
    /// The AOF grew past `auto-aof-rewrite-percentage`.
    Automatic,
    /// `CONFIG SET appendonly yes`: the rewrite that writes the first BASE.
    AofEnabled,
    /// `POST /v1/rewrites` on the admin API.
    Api,
}

impl Trigger {
    /// Who asked, for the log, when no requester was recorded.
    fn requester(self) -> &'static str {
        match self {
            Trigger::Manual => "BGREWRITEAOF",
            Trigger::Scheduled => "a scheduled BGREWRITEAOF",
            Trigger::Automatic => "the automatic size trigger",
            Trigger::AofEnabled => "CONFIG SET appendonly yes",
            Trigger::Api => "the admin API",
        }
    }
}

/// Where a rewrite is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The child is writing the snapshot.
    Writing,
    /// It finished and the new BASE is in the manifest.
    Succeeded,
    /// It failed (see `error`).
    Failed,
    /// It was stopped (shutdown, `appendonly no`, or a restart of the rewrite).
    Killed,
    /// An operator cancelled it (`DELETE /v1/rewrites/{id}`).
    Cancelled,
}

/// One rewrite, as operators see it (INFO shows the aggregate; the admin API shows these).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RewriteRecord {
    /// Sequential id since the server started, from 1.
    pub id: u64,
    /// Why it started.
    pub trigger: Trigger,
    /// Where it is.
    pub phase: Phase,
    /// The child's pid.
    pub pid: i32,
    /// Unix time (ms) it started.
    pub started_unix_ms: i64,
    /// Keys written so far and in the snapshot.
    pub keys_done: u64,
    /// Keys in the snapshot.
    pub keys_total: u64,
    /// Bytes written so far.
    pub bytes: u64,
    /// Copy-on-write bytes last reported by the child.
    pub cow_bytes: u64,
    /// How long the fork took (µs).
    pub fork_usec: u64,
    /// How long it took, once it ended (ms).
    pub duration_ms: Option<u64>,
    /// The new BASE, once it succeeded.
    pub base_file: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Why a rewrite did not start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartError {
    /// A rewrite child already runs.
    InProgress,
    /// Another child (BGSAVE) runs.
    OtherChild,
    /// Refused: the file system lacks room for the new BASE. The text says how much.
    NoSpace(String),
    /// Something failed (logged): creating the directory, the INCR, the fork.
    Failed,
}

/// The rewrite state the data thread keeps (INFO `aof_*` rewrite fields and more).
#[derive(Debug)]
pub struct RewriteState {
    /// `aof_rewrite_scheduled`: start as soon as no child runs.
    pub scheduled: bool,
    /// `aof_last_bgrewrite_status`.
    pub last_ok: bool,
    /// `aof_rewrites_consecutive_failures`.
    pub consecutive_failures: u32,
    /// `aof_rewrites`: attempts (counted just before each fork).
    pub attempts: u64,
    /// Rewrites that ended in [`Phase::Failed`] (the `aofd_aof_rewrite_failures_total` metric).
    pub failures: u64,
    /// `aof_last_rewrite_time_sec` (-1 before the first).
    pub last_time_sec: i64,
    /// `aof_last_cow_size`.
    pub last_cow: u64,
    /// Back-off (`aofRewriteLimited`): the current delay and when the next try is allowed.
    limit_delay_minutes: i64,
    limit_next: i64,
    /// The running rewrite, if any.
    running: Option<Running>,
    /// The most recent finished rewrites, newest last.
    pub history: VecDeque<RewriteRecord>,
    /// Publishes the running or last rewrite's record on every change.
    updates: watch::Sender<Option<RewriteRecord>>,
    next_id: u64,
}

/// What the parent remembers about the rewrite its child performs.
#[derive(Debug)]
struct Running {
    record: RewriteRecord,
    format: BaseFormat,
    /// `temp-<appendfilename>.incr` while turning the AOF on.
    temp_incr: Option<PathBuf>,
    /// When progress was last logged (every [`PROGRESS_LOG_EVERY`]).
    last_progress_log: std::time::Instant,
}

impl Default for RewriteState {
    fn default() -> Self {
        RewriteState {
            scheduled: false,
            last_ok: true,
            consecutive_failures: 0,
            attempts: 0,
            failures: 0,
            last_time_sec: -1,
            last_cow: 0,
            limit_delay_minutes: 0,
            limit_next: 0,
            running: None,
            history: VecDeque::new(),
            updates: watch::channel(None).0,
            next_id: 1,
        }
    }
}

impl RewriteState {
    /// The running rewrite's record.
    pub fn current(&self) -> Option<&RewriteRecord> {
        self.running.as_ref().map(|r| &r.record)
    }

    /// A receiver of every change to the running (or last) rewrite's record; usable from any
    /// thread (the admin API's).
    pub fn subscribe(&self) -> watch::Receiver<Option<RewriteRecord>> {
        self.updates.subscribe()
    }

    fn publish(&self, record: &RewriteRecord) {
        self.updates.send_replace(Some(record.clone()));
    }

    /// Redis `aofRewriteLimited`: after [`LIMIT_THRESHOLD`] consecutive failures, automatic and
    /// scheduled rewrites wait 1, 2, 4 ... 60 minutes between tries.
    fn limited(&mut self, now: i64) -> bool {
        if self.consecutive_failures < LIMIT_THRESHOLD {
            self.limit_delay_minutes = 0;
            self.limit_next = 0;
            return false;
        }
        if self.limit_next != 0 {
            if now < self.limit_next {
                return true;
            }
            self.limit_next = 0;
            return false;
        }
        self.limit_delay_minutes = if self.limit_delay_minutes == 0 {
            1
        } else {
            (self.limit_delay_minutes * 2).min(LIMIT_MAX_MINUTES)
        };
        self.limit_next = now + self.limit_delay_minutes * 60;
        tracing::warn!(
            "Background AOF rewrite has repeatedly failed and triggered the limit, will retry \
             in {} minutes",
            self.limit_delay_minutes
        );
        true
    }
}

/// The temp file names of a rewrite child (`dir`-relative in Redis; `dir`-joined here).
fn temp_files(dir: &Path, pid: u32) -> [PathBuf; 2] {
    [
        dir.join(AofNames::temp_rewrite(pid)),
        dir.join(AofNames::temp_rewrite_bg(pid)),
    ]
}

/// Redis `rewriteAppendOnlyFileBackground`: switches the AOF to a new INCR (or the temp INCR
/// while turning the AOF on), forks the child and parks it for the supervisor.
///
/// # Errors
/// See [`StartError`]; failures are logged.
pub fn start(srv: &mut ServerState, trigger: Trigger) -> Result<(), StartError> {
    if srv.background.running(ChildKind::AofRewrite) {
        return Err(StartError::InProgress);
    }
    if srv.background.busy() {
        return Err(StartError::OtherChild);
    }
    let aof_dir = srv.aof.aof_dir.clone();
    if let Err(e) = fs::create_dir_all(&aof_dir) {
        tracing::warn!(
            "Can't open or create append-only dir {}: {}",
            aof_dir.display(),
            io_strerror(&e)
        );
        srv.rewrite.last_ok = false;
        return Err(StartError::Failed);
    }
    check_space(srv, &aof_dir)?;
    let temp_incr = switch_incr(srv, &aof_dir)?;
    let job = Job::now(
        Format::aof_base(&srv.config),
        srv.config.aof_rewrite_incremental_fsync,
        srv.config.rdb_key_save_delay,
    );
    let dir = PathBuf::from(&srv.config.dir);
    srv.rewrite.attempts += 1;
    let forked = srv
        .background
        .start(ChildKind::AofRewrite, &srv.dbs, |pipe, dbs| {
            // This runs in the child; see fork.rs for its rules.
            let [temp, bg] = temp_files(&dir, std::process::id());
            snapshot::run(&job, &temp, &bg, dbs, pipe)
        });
    let pid = match forked {
        Ok(pid) => pid,
        Err(e) => {
            tracing::warn!(
                "Can't rewrite append only file in background: fork: {}",
                io_strerror(&e)
            );
            srv.rewrite.last_ok = false;
            if let Some(path) = temp_incr {
                drop_temp_incr(srv, &path);
            }
            return Err(StartError::Failed);
        }
    };
    let keys_total = srv.background.child.as_ref().map_or(0, |c| c.keys_total);
    let who = crate::service::requester().unwrap_or_else(|| trigger.requester().to_string());
    tracing::info!(
        rewrite_id = srv.rewrite.next_id,
        keys = keys_total,
        requested_by = %who,
        aofd_event = "rewrite_started",
        "Background append only file rewriting started by pid {pid}"
    );
    let rw = &mut srv.rewrite;
    rw.scheduled = false;
    let record = RewriteRecord {
        id: rw.next_id,
        trigger,
        phase: Phase::Writing,
        pid,
        started_unix_ms: super::state::now_ms(),
        keys_done: 0,
        keys_total,
        bytes: 0,
        cow_bytes: 0,
        fork_usec: srv.background.latest_fork_usec,
        duration_ms: None,
        base_file: None,
        error: None,
    };
    rw.next_id += 1;
    rw.publish(&record);
    rw.running = Some(Running {
        record,
        format: job.format.base_format(),
        temp_incr,
        last_progress_log: std::time::Instant::now(),
    });
    Ok(())
}

/// Refuses a rewrite whose BASE would not fit: the estimate is the smaller of the AOF's
/// current size and the process's resident memory (a BASE is smaller than both in practice).
fn check_space(srv: &ServerState, aof_dir: &Path) -> Result<(), StartError> {
    let used = super::info::resident_memory();
    let estimate = if srv.aof.writer.is_some() {
        srv.aof.current_size().min(used)
    } else {
        used
    };
    let Some(free) = free_bytes(aof_dir) else {
        return Ok(());
    };
    if free >= estimate {
        return Ok(());
    }
    let msg = format!(
        "Not enough disk space for the AOF rewrite: {} has {free} bytes free and the new base \
         file needs about {estimate} bytes",
        aof_dir.display()
    );
    tracing::warn!("{msg}");
    Err(StartError::NoSpace(msg))
}

/// Free bytes for an unprivileged writer on the file system holding `path`.
fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero statvfs is a valid value for the kernel to overwrite.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a live local.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

/// Redis `openNewIncrAofForAppend` at a rewrite's start: with the AOF on, the writer continues
/// in a new INCR listed in a persisted manifest; while turning the AOF on, a new writer starts
/// on `temp-<appendfilename>.incr` (returned); with the AOF off, nothing.
fn switch_incr(srv: &mut ServerState, aof_dir: &Path) -> Result<Option<PathBuf>, StartError> {
    let names = srv.aof.names.clone();
    if srv.aof.wait_rewrite {
        let name = names.temp_incr();
        let path = aof_dir.join(&name);
        let opened = fs::File::create(&path)
            .and_then(|_| RealFile::open_append(&path))
            .and_then(|file| {
                let cfg = super::persist::writer_config(&srv.config);
                AofWriter::open_at(
                    Arc::new(file),
                    &cfg,
                    Arc::new(TracingLog),
                    srv.aof.next_stream,
                )
            });
        return match opened {
            Ok(w) => {
                tracing::info!("Creating AOF incr file {name} on background rewrite");
                srv.aof.static_size = 0;
                srv.aof.writer = Some(w);
                Ok(Some(path))
            }
            Err(e) => {
                tracing::warn!(
                    "Can't open the append-only file {name}: {}",
                    io_strerror(&e)
                );
                Err(StartError::Failed)
            }
        };
    }
    let Some(w) = srv.aof.writer.as_mut() else {
        return Ok(None);
    };
    let old_size = w.file_size();
    let mut manifest = srv.aof.manifest.clone();
    let (name, path) = open_new_incr(aof_dir, &names, &mut manifest, &TracingLog)
        .map_err(|_| StartError::Failed)?;
    let switched = RealFile::open_append(&path)
        .map_err(|e| io_strerror(&e))
        .and_then(|file| w.switch_file(Arc::new(file)));
    if let Err(e) = switched {
        // The manifest on disk lists the new, empty INCR; the writer stays on the old one,
        // which is therefore not the last INCR any more. Rather than leave that, keep the new
        // manifest only if the switch worked: restore the old one.
        tracing::warn!("Can't switch the AOF to {name}: {e}");
        let _ = srv.aof.manifest.persist(aof_dir, &names, &TracingLog);
        let _ = fs::remove_file(&path);
        return Err(StartError::Failed);
    }
    srv.aof.manifest = manifest;
    srv.aof.static_size = srv.aof.static_size.saturating_add(old_size);
    Ok(None)
}

/// Drops the writer of a failed attempt to turn the AOF on and removes its temp INCR.
fn drop_temp_incr(srv: &mut ServerState, path: &Path) {
    srv.aof.stop();
    tracing::info!(
        "Removing the temp incr aof file {} in the background",
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    );
    let _ = fs::remove_file(path);
}

/// Mirrors the child's latest report into the rewrite record (called by the supervisor).
pub fn progress(srv: &mut ServerState) {
    let Some(c) = srv.background.child.as_ref() else {
        return;
    };
    let Some(running) = srv.rewrite.running.as_mut() else {
        return;
    };
    let r = &mut running.record;
    r.keys_done = c.keys_done;
    r.keys_total = c.keys_total;
    r.bytes = c.bytes;
    r.cow_bytes = c.cow;
    let record = r.clone();
    if running.last_progress_log.elapsed() >= PROGRESS_LOG_EVERY {
        running.last_progress_log = std::time::Instant::now();
        tracing::info!(
            rewrite_id = record.id,
            keys = record.keys_done,
            bytes = record.bytes,
            aofd_event = "rewrite_progress",
            "AOF rewrite {}: {} of {} keys written so far ({} bytes).",
            record.id,
            record.keys_done,
            record.keys_total,
            record.bytes
        );
    }
    srv.rewrite.publish(&record);
}

/// Redis `backgroundRewriteDoneHandler`: installs the new BASE on success; on failure counts it
/// and leaves the files as they were. Either way removes the temp files.
pub fn done(srv: &mut ServerState, child: ActiveChild, exit: Exit) {
    let Some(mut running) = srv.rewrite.running.take() else {
        return;
    };
    let pid = child.pid;
    let outcome = match exit {
        Exit::Code(0) => {
            tracing::info!("Background AOF rewrite terminated with success");
            install(srv, pid, &running)
        }
        Exit::Code(code) => {
            tracing::warn!("Background AOF rewrite terminated with error");
            Err(format!("the rewrite child exited with status {code}"))
        }
        Exit::Signal(sig) if sig == libc::SIGUSR1 => Err(String::new()),
        Exit::Signal(sig) => {
            tracing::warn!("Background AOF rewrite terminated by signal {sig}");
            Err(format!("the rewrite child was killed by signal {sig}"))
        }
        Exit::Reaped => Err(String::new()),
    };
    let killed = matches!(outcome, Err(ref e) if e.is_empty());
    match &outcome {
        Ok(base) => {
            srv.rewrite.last_ok = true;
            srv.rewrite.consecutive_failures = 0;
            running.record.base_file = Some(base.clone());
            running.record.phase = Phase::Succeeded;
            tracing::info!(
                rewrite_id = running.record.id,
                aof_file = %base,
                keys = child.keys_done,
                bytes = child.bytes,
                duration_ms = elapsed_ms(&child),
                aofd_event = "rewrite_finished",
                "Background AOF rewrite finished successfully"
            );
        }
        Err(_) if killed => running.record.phase = Phase::Killed,
        Err(e) => {
            srv.rewrite.last_ok = false;
            srv.rewrite.consecutive_failures += 1;
            srv.rewrite.failures += 1;
            running.record.phase = Phase::Failed;
            running.record.error = Some(e.clone());
            tracing::warn!(
                rewrite_id = running.record.id,
                duration_ms = elapsed_ms(&child),
                aofd_event = "rewrite_failed",
                "AOF rewrite {} failed: {e}. The AOF files are unchanged; the next rewrite \
                 tries again.",
                running.record.id
            );
        }
    }
    finish(srv, &child, running);
}

/// How long the child has run, in milliseconds.
fn elapsed_ms(child: &ActiveChild) -> u64 {
    u64::try_from(child.started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// What every end of a rewrite does: temp files, a failed start of the AOF, timings, history.
fn finish(srv: &mut ServerState, child: &ActiveChild, mut running: Running) {
    let dir = PathBuf::from(&srv.config.dir);
    for path in temp_files(&dir, child.pid.unsigned_abs()) {
        let _ = fs::remove_file(path);
    }
    if srv.aof.wait_rewrite {
        // Turning the AOF on failed: its temp INCR goes, and the rewrite is tried again.
        if let Some(path) = running.temp_incr.take() {
            drop_temp_incr(srv, &path);
        }
        srv.rewrite.scheduled = true;
    }
    let elapsed = child.started.elapsed();
    srv.rewrite.last_time_sec = i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX);
    srv.rewrite.last_cow = child.cow;
    if running.record.phase == Phase::Succeeded {
        metrics::histogram!(crate::admin::metrics::REWRITE_DURATION).record(elapsed.as_secs_f64());
    }
    let r = &mut running.record;
    r.duration_ms = Some(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
    r.keys_done = child.keys_done;
    r.bytes = child.bytes;
    r.cow_bytes = child.cow;
    srv.rewrite.publish(&running.record);
    srv.rewrite.history.push_back(running.record);
    while srv.rewrite.history.len() > HISTORY_LEN {
        srv.rewrite.history.pop_front();
    }
}

/// The success path: new BASE in place, manifest persisted, history deleted. Returns the new
/// BASE's name, or why it failed (logged).
fn install(srv: &mut ServerState, pid: i32, running: &Running) -> Result<String, String> {
    let names = srv.aof.names.clone();
    let aof_dir = srv.aof.aof_dir.clone();
    let [_, temp] = temp_files(Path::new(&srv.config.dir), pid.unsigned_abs());
    failpoint::hit("rewrite-temp-written");
    let (mut am, base_name) = srv.aof.manifest.with_new_base(&names, running.format);
    let base_path = aof_dir.join(&base_name);
    let temp_name = temp
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    if let Err(e) = fs::rename(&temp, &base_path) {
        let msg = format!(
            "Error trying to rename the temporary AOF base file {temp_name} into {base_name}: {}",
            io_strerror(&e)
        );
        tracing::warn!("{msg}");
        return Err(msg);
    }
    tracing::info!("Successfully renamed the temporary AOF base file {temp_name} into {base_name}");
    failpoint::hit("rewrite-renamed");
    let mut renamed_incr = None;
    if let Some(temp_incr) = &running.temp_incr {
        let (next, incr_name) = am.with_new_incr(&names);
        let incr_path = aof_dir.join(&incr_name);
        if let Err(e) = fs::rename(temp_incr, &incr_path) {
            let msg = format!(
                "Error trying to rename the temporary AOF incr file {} into {incr_name}: {}",
                names.temp_incr(),
                io_strerror(&e)
            );
            tracing::warn!("{msg}");
            let _ = fs::remove_file(&base_path);
            return Err(msg);
        }
        tracing::info!(
            "Successfully renamed the temporary AOF incr file {} into {incr_name}",
            names.temp_incr()
        );
        am = next;
        renamed_incr = Some(incr_path);
    }
    am.mark_rewritten_incrs_as_history(srv.aof.writer.is_some());
    if let Err(e) = am.persist(&aof_dir, &names, &TracingLog) {
        let _ = fs::remove_file(&base_path);
        if let (Some(path), Some(temp_incr)) = (renamed_incr, &running.temp_incr) {
            // The writer still appends to it: give it back its temp name.
            let _ = fs::rename(path, temp_incr);
        }
        return Err(format!(
            "Can't persist the AOF manifest: {}",
            io_strerror(&e)
        ));
    }
    failpoint::hit("rewrite-manifest-persisted");
    srv.aof.manifest = am;
    srv.aof.wait_rewrite = false;
    let base_size = fs::metadata(&base_path).map_or(0, |m| m.len());
    srv.aof.static_size = base_size;
    srv.aof.base_size = srv.aof.current_size();
    if !srv.config.aof_disable_auto_gc {
        delete_history(srv);
    }
    Ok(base_name)
}

/// Redis `aofDelHistoryFiles`: removes the history files (unlinked on a background thread, so
/// freeing a big file's blocks never stalls the data thread) and drops them from the manifest.
pub fn delete_history(srv: &mut ServerState) {
    if srv.aof.manifest.history.is_empty() {
        return;
    }
    let aof_dir = srv.aof.aof_dir.clone();
    let history = std::mem::take(&mut srv.aof.manifest.history);
    let mut paths = Vec::with_capacity(history.len());
    for info in &history {
        tracing::info!("Removing the history file {} in the background", info.name);
        paths.push(aof_dir.join(&info.name));
    }
    // Open first so the unlink below, on this thread, is cheap; the last close, which frees the
    // blocks, happens on the helper thread (Redis's bg_unlink).
    let handles: Vec<fs::File> = paths
        .iter()
        .filter_map(|p| fs::File::open(p).ok())
        .collect();
    for path in &paths {
        let _ = fs::remove_file(path);
    }
    let _ = std::thread::Builder::new()
        .name("aofd-unlink".to_string())
        .spawn(move || drop(handles));
    failpoint::hit("rewrite-history-deleted");
    let names = srv.aof.names.clone();
    if srv
        .aof
        .manifest
        .persist(&aof_dir, &names, &TracingLog)
        .is_err()
    {
        // The files are gone; a manifest still naming them as history loads fine (history is
        // never read) and the next persist drops them.
        tracing::warn!("Can't persist the AOF manifest after removing history files.");
    }
}

/// The rewrite part of Redis's `serverCron`: a scheduled rewrite starts once no child runs; the
/// size trigger fires when the AOF grew by `auto-aof-rewrite-percentage` over the size after
/// the last rewrite (or load) and is above `auto-aof-rewrite-min-size`.
pub fn cron(srv: &mut ServerState) {
    let now = unix_secs();
    if !srv.background.busy() && srv.rewrite.scheduled && !srv.rewrite.limited(now) {
        let _ = start(srv, Trigger::Scheduled);
    }
    let perc = u64::from(srv.config.auto_aof_rewrite_percentage);
    if srv.aof.writer.is_none() || srv.aof.wait_rewrite || srv.background.busy() || perc == 0 {
        return;
    }
    let current = srv.aof.current_size();
    if current <= srv.config.auto_aof_rewrite_min_size {
        return;
    }
    let base = srv.aof.base_size.max(1);
    let growth = i128::from(current) * 100 / i128::from(base) - 100;
    if growth >= i128::from(perc) && !srv.rewrite.limited(now) {
        tracing::info!("Starting automatic rewriting of AOF on {growth}% growth");
        let _ = start(srv, Trigger::Automatic);
    }
}

/// Stops a running rewrite child (shutdown, `appendonly no`) and cleans up after it.
pub fn kill(srv: &mut ServerState) {
    let Some(child) = srv.background.kill(ChildKind::AofRewrite) else {
        return;
    };
    tracing::info!("Killing running AOF rewrite child: {}", child.pid);
    if let Some(mut running) = srv.rewrite.running.take() {
        running.record.phase = Phase::Killed;
        finish(srv, &child, running);
    }
}

/// Why [`cancel`] did nothing.
#[derive(Clone, Debug, PartialEq)]
pub enum CancelError {
    /// No rewrite with that id ever ran (or it left the history).
    Unknown,
    /// It already ended; its record.
    Finished(Box<RewriteRecord>),
}

impl RewriteState {
    /// The record of rewrite `id`: the running one or one in the history.
    pub fn find(&self, id: u64) -> Option<RewriteRecord> {
        self.current()
            .filter(|r| r.id == id)
            .or_else(|| self.history.iter().find(|r| r.id == id))
            .cloned()
    }
}

/// Stops rewrite `id` at an operator's request: the child is killed and its temp files
/// removed, exactly as when the AOF is turned off, and the record ends as
/// [`Phase::Cancelled`]. The manifest stays as the start left it (the old BASE and every INCR,
/// the new INCR included), so it loads completely; the next rewrite folds them in.
///
/// # Errors
/// [`CancelError`]: no such rewrite, or it is not running any more.
pub fn cancel(srv: &mut ServerState, id: u64) -> Result<RewriteRecord, CancelError> {
    if srv.rewrite.current().is_none_or(|r| r.id != id) {
        return Err(match srv.rewrite.find(id) {
            Some(record) => CancelError::Finished(Box::new(record)),
            None => CancelError::Unknown,
        });
    }
    let Some(child) = srv.background.kill(ChildKind::AofRewrite) else {
        return Err(CancelError::Unknown);
    };
    let who = crate::service::requester().unwrap_or_else(|| "an operator".to_string());
    tracing::warn!(
        rewrite_id = id,
        requested_by = %who,
        "Cancelling the AOF rewrite {id} (child {}) at the request of {who}.",
        child.pid
    );
    let Some(mut running) = srv.rewrite.running.take() else {
        return Err(CancelError::Unknown);
    };
    running.record.phase = Phase::Cancelled;
    let record = running.record.clone();
    finish(srv, &child, running);
    Ok(srv.rewrite.find(id).unwrap_or(record))
}

/// `CONFIG SET appendonly yes` (Redis `startAppendOnly`): the AOF waits for a rewrite that
/// writes its first BASE; it is on once that succeeds.
///
/// # Errors
/// The rewrite could not start (logged); the AOF stays off.
pub fn start_appendonly(srv: &mut ServerState, in_exec: bool) -> Result<(), StartError> {
    srv.aof.wait_rewrite = true;
    if srv.background.busy() && !srv.background.running(ChildKind::AofRewrite) {
        srv.rewrite.scheduled = true;
        tracing::info!(
            "AOF was enabled but there is already another background operation. An AOF \
             background was scheduled to start when possible."
        );
        return Ok(());
    }
    if in_exec {
        srv.rewrite.scheduled = true;
        tracing::info!(
            "AOF was enabled during a transaction. An AOF background was scheduled to start \
             when possible."
        );
        return Ok(());
    }
    if srv.background.running(ChildKind::AofRewrite) {
        tracing::info!(
            "AOF was enabled but there is already an AOF rewriting in background. Stopping \
             background AOF and starting a rewrite now."
        );
        kill(srv);
    }
    start(srv, Trigger::AofEnabled).inspect_err(|_| {
        srv.aof.wait_rewrite = false;
        tracing::warn!(
            "Redis needs to enable the AOF but can't trigger a background AOF rewrite \
             operation. Check the above logs for more info about the error."
        );
    })
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    use super::*;
    use crate::config::Config;
    use crate::db::Value;

    #[test]
    fn a_rewrite_publishes_its_record_and_keeps_it_in_the_history() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            dir: dir.path().to_str().unwrap().to_string(),
            appendonly: false,
            ..Config::default()
        };
        let mut srv = ServerState::new(config);
        srv.dbs[0].set(b"k", Value::Str(b"v".to_vec()));
        let mut updates = srv.rewrite.subscribe();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let state = Rc::new(RefCell::new(srv));
            tokio::task::spawn_local(super::super::background::supervisor(state.clone()));
            start(&mut state.borrow_mut(), Trigger::Manual).unwrap();
            let started = updates.borrow_and_update().clone().unwrap();
            assert_eq!((started.id, started.phase), (1, Phase::Writing));
            assert_eq!((started.trigger, started.keys_total), (Trigger::Manual, 1));
            assert!(started.pid > 0);
            assert_eq!(state.borrow().rewrite.current(), Some(&started));
            let ended = tokio::time::timeout(Duration::from_secs(30), async {
                loop {
                    updates.changed().await.unwrap();
                    let r = updates.borrow_and_update().clone().unwrap();
                    if r.phase != Phase::Writing {
                        return r;
                    }
                }
            })
            .await
            .expect("the rewrite ends");
            assert_eq!(ended.phase, Phase::Succeeded, "{ended:?}");
            assert_eq!(
                ended.base_file.as_deref(),
                Some("appendonly.aof.1.base.rdb")
            );
            assert_eq!((ended.keys_done, ended.error.clone()), (1, None));
            assert!(ended.duration_ms.is_some());
            let st = state.borrow();
            assert_eq!(st.rewrite.current(), None);
            assert_eq!(st.rewrite.history.iter().collect::<Vec<_>>(), [&ended]);
        });
    }
}
