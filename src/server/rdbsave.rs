//! RDB snapshots (Redis `rdb.c` `rdbSave`, `rdbSaveBackground`, `backgroundSaveDoneHandlerDisk`,
//! the save points of `serverCron`): SAVE in the data thread, BGSAVE in a forked child (the same
//! child discipline as the AOF rewrite), `save <seconds> <changes>` points, the save at
//! shutdown, LASTSAVE and the `rdb_*` INFO fields, and BGSAVE and BGREWRITEAOF waiting for each
//! other as in Redis (one child at a time; the other is scheduled).
//!
//! The file is written to `temp-<pid>.rdb` in `dir`, made durable, and renamed over
//! `dbfilename`, so a crash never leaves a partial `dump.rdb`.

use std::path::{Path, PathBuf};

use crate::db::Value;
use crate::rdb::load::{LoadOptions, LoadTarget};

use super::background::{ActiveChild, ChildKind};
use super::fork::Exit;
use super::snapshot::{self, Format, Job};
use super::state::{unix_secs, ServerState};

/// Redis `CONFIG_BGSAVE_RETRY_DELAY`: after a failed BGSAVE, save points wait this long (s).
const RETRY_DELAY_SECS: i64 = 5;

/// RDB state for INFO persistence and the save points.
#[derive(Debug)]
pub struct RdbState {
    /// `rdb_bgsave_scheduled`: BGSAVE SCHEDULE (or BGSAVE in MULTI) waiting for the other child.
    pub scheduled: bool,
    /// `rdb_last_save_time` / LASTSAVE: the last successful save (the start time before any).
    pub last_save: i64,
    /// When a BGSAVE was last tried (for the retry delay).
    last_try: i64,
    /// `rdb_last_bgsave_status`.
    pub last_bgsave_ok: bool,
    /// `rdb_last_bgsave_time_sec` (-1 before the first).
    pub last_bgsave_time_sec: i64,
    /// `rdb_saves`.
    pub saves: u64,
    /// `rdb_last_cow_size`.
    pub last_cow: u64,
    /// The dirty counter when the running BGSAVE forked (subtracted when it succeeds).
    dirty_at_fork: u64,
    /// `rdb_last_load_keys_loaded` / `rdb_last_load_keys_expired`.
    pub last_load_keys_loaded: u64,
    /// Keys skipped at the last load because their TTL had passed.
    pub last_load_keys_expired: u64,
}

impl RdbState {
    /// The state at startup (`now`: the start time, which LASTSAVE reports until a save).
    pub fn new(now: i64) -> Self {
        RdbState {
            scheduled: false,
            last_save: now,
            last_try: 0,
            last_bgsave_ok: true,
            last_bgsave_time_sec: -1,
            saves: 0,
            last_cow: 0,
            dirty_at_fork: 0,
            last_load_keys_loaded: 0,
            last_load_keys_expired: 0,
        }
    }
}

/// The temp file a save by process `pid` writes before renaming it over `dbfilename`.
fn temp_path(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("temp-{pid}.rdb"))
}

/// A dump.rdb snapshot taken now.
fn job(srv: &ServerState) -> Job {
    Job::now(
        Format::Rdb { aof_base: false },
        srv.config.rdb_save_incremental_fsync,
        srv.config.rdb_key_save_delay,
    )
}

/// Redis `rdbSave`: writes the RDB file in this thread (SAVE, shutdown, DEBUG RELOAD,
/// FLUSHALL). Only SAVE counts in `rdb_saves` (the caller's job), as in Redis 7.0.
///
/// # Errors
/// Why it failed (logged).
pub fn save_here(srv: &mut ServerState) -> Result<(), String> {
    let temp = temp_path(Path::new(&srv.config.dir), std::process::id());
    let dest = PathBuf::from(&srv.config.dir).join(&srv.config.dbfilename);
    match snapshot::write_here(&job(srv), &temp, &dest, &srv.dbs, &mut |_| {}) {
        Ok(()) => {
            tracing::info!("DB saved on disk");
            srv.stats.dirty = 0;
            srv.rdb.last_save = unix_secs();
            srv.rdb.last_bgsave_ok = true;
            Ok(())
        }
        Err(e) => {
            let msg = format!(
                "Failed saving the DB in {}: {}",
                dest.display(),
                crate::aof::io_strerror(&e)
            );
            tracing::warn!("{msg}");
            Err(msg)
        }
    }
}

/// Redis `rdbSaveBackground`: forks a child writing the RDB file.
///
/// # Errors
/// Another child runs, or the fork failed (logged); the text says which.
pub fn start_background(srv: &mut ServerState) -> Result<(), String> {
    if srv.background.busy() {
        return Err("another child process is active".to_string());
    }
    srv.rdb.dirty_at_fork = srv.stats.dirty;
    srv.rdb.last_try = unix_secs();
    let job = job(srv);
    let dir = PathBuf::from(&srv.config.dir);
    let dest = dir.join(&srv.config.dbfilename);
    let forked = srv
        .background
        .start(ChildKind::RdbSave, &srv.dbs, |pipe, dbs| {
            // This runs in the child; see fork.rs for its rules.
            let temp = temp_path(&dir, std::process::id());
            snapshot::run(&job, &temp, &dest, dbs, pipe)
        });
    match forked {
        Ok(pid) => {
            srv.rdb.saves += 1;
            tracing::info!("Background saving started by pid {pid}");
            Ok(())
        }
        Err(e) => {
            srv.rdb.last_bgsave_ok = false;
            let msg = format!(
                "Can't save in background: fork: {}",
                crate::aof::io_strerror(&e)
            );
            tracing::warn!("{msg}");
            Err(msg)
        }
    }
}

/// Redis `backgroundSaveDoneHandlerDisk`.
pub fn done(srv: &mut ServerState, child: ActiveChild, exit: Exit) {
    match exit {
        Exit::Code(0) => {
            tracing::info!("Background saving terminated with success");
            srv.stats.dirty = srv.stats.dirty.saturating_sub(srv.rdb.dirty_at_fork);
            srv.rdb.last_save = unix_secs();
            srv.rdb.last_bgsave_ok = true;
        }
        Exit::Code(_) => {
            tracing::warn!("Background saving error");
            srv.rdb.last_bgsave_ok = false;
        }
        Exit::Signal(sig) => {
            tracing::warn!("Background saving terminated by signal {sig}");
            // SIGUSR1 is how the server itself stops a save; that is not an error.
            if sig != libc::SIGUSR1 {
                srv.rdb.last_bgsave_ok = false;
            }
        }
        Exit::Reaped => {}
    }
    finish(srv, &child);
}

fn finish(srv: &mut ServerState, child: &ActiveChild) {
    let _ = std::fs::remove_file(temp_path(
        Path::new(&srv.config.dir),
        child.pid.unsigned_abs(),
    ));
    srv.rdb.last_bgsave_time_sec = i64::try_from(child.started.elapsed().as_secs()).unwrap_or(0);
    srv.rdb.last_cow = child.cow;
}

/// Stops a running BGSAVE child (shutdown) and removes its temp file.
pub fn kill(srv: &mut ServerState) {
    if let Some(child) = srv.background.kill(ChildKind::RdbSave) {
        tracing::info!("Killing running RDB child: {}", child.pid);
        finish(srv, &child);
    }
}

/// The RDB part of Redis's `serverCron`: a save point that is due starts a BGSAVE; a scheduled
/// BGSAVE starts once no child runs. A failed BGSAVE is retried only after
/// [`RETRY_DELAY_SECS`].
pub fn cron(srv: &mut ServerState) {
    if srv.background.busy() {
        return;
    }
    let now = unix_secs();
    let retry_ok = now - srv.rdb.last_try > RETRY_DELAY_SECS || srv.rdb.last_bgsave_ok;
    let dirty = srv.stats.dirty;
    let since = now - srv.rdb.last_save;
    let due = srv.config.save.iter().copied().find(|&(secs, changes)| {
        dirty >= changes && since > i64::try_from(secs).unwrap_or(i64::MAX)
    });
    if let Some((secs, changes)) = due {
        if retry_ok {
            tracing::info!("{changes} changes in {secs} seconds. Saving...");
            let _ = start_background(srv);
            return;
        }
    }
    if srv.rdb.scheduled && retry_ok && start_background(srv).is_ok() {
        srv.rdb.scheduled = false;
    }
}

/// The RDB reader's target when loading `dbfilename`: keys go straight into the keyspace, and
/// keys whose TTL has passed are skipped (Redis `rdbLoad` on a master).
struct DumpTarget<'a> {
    srv: &'a mut ServerState,
    now_ms: i64,
    loaded: u64,
    expired: u64,
}

impl LoadTarget for DumpTarget<'_> {
    fn key(
        &mut self,
        db: usize,
        key: Vec<u8>,
        value: Value,
        expire_ms: Option<i64>,
    ) -> Result<(), String> {
        if expire_ms.is_some_and(|at| at <= self.now_ms) {
            self.expired += 1;
            return Ok(());
        }
        super::persist::store_key(self.srv, db, &key, value, expire_ms);
        self.loaded += 1;
        Ok(())
    }
}

/// Loads `dbfilename` from `dir` into the dataset (startup without the AOF, DEBUG RELOAD).
/// Returns false when there is no such file (the server starts empty, as Redis does).
///
/// # Errors
/// The file cannot be read or is not a valid RDB file; the text names the file and the offset.
pub fn load_dump(srv: &mut ServerState) -> Result<bool, String> {
    let path = PathBuf::from(&srv.config.dir).join(&srv.config.dbfilename);
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(format!(
                "Fatal error loading the DB from {}: {}. Exiting.",
                path.display(),
                crate::aof::io_strerror(&e)
            ))
        }
    };
    let started = std::time::Instant::now();
    let opts = LoadOptions {
        databases: srv.dbs.len(),
    };
    let mut target = DumpTarget {
        srv,
        now_ms: super::state::now_ms(),
        loaded: 0,
        expired: 0,
    };
    let mut reader = std::io::BufReader::with_capacity(256 * 1024, file);
    let result = crate::rdb::load::load(&mut reader, &opts, &mut target);
    let (loaded, expired) = (target.loaded, target.expired);
    result.map_err(|e| {
        format!(
            "Fatal error loading the DB from {}: {e}. Check it with redis-check-rdb or restore \
             it from a backup.",
            path.display()
        )
    })?;
    srv.rdb.last_load_keys_loaded = loaded;
    srv.rdb.last_load_keys_expired = expired;
    if expired > 0 {
        tracing::info!("Done loading RDB, keys loaded: {loaded}, keys expired: {expired}.");
    }
    tracing::info!(
        "DB loaded from disk: {:.3} seconds",
        started.elapsed().as_secs_f64()
    );
    Ok(true)
}
