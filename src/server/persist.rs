//! The server side of AOF persistence: the glue between the data thread and the persistence
//! core in `crate::aof`.
//!
//! It owns:
//! - **Startup loading** ([`startup`]): the manifest, then every file replayed through the
//!   normal command path (`cmd::resolve` + `cmd::call`) by a pseudo-client that exists only while
//!   a chunk of commands executes (so CLIENT LIST never shows it). Reading and parsing run on a
//!   helper thread that feeds the data thread in batches through a bounded channel; the data
//!   thread applies one batch, then yields to the runtime, so clients connected meanwhile are
//!   served (`-LOADING` for most commands, INFO and the other `loading`-flagged ones work).
//!   Log lines and progress travel in the same channel, so they appear after the commands
//!   before them were applied.
//! - **The writer's life**: opening it after loading (BASE 1 + INCR 1 on a fresh start, the last
//!   INCR reopened otherwise), `CONFIG SET appendonly no` / `appendfsync` /
//!   `aof-timestamp-enabled`, the final flush + fsync at shutdown.
//! - **Flushing**: one `write(2)` per event-loop iteration, done by the flusher task
//!   ([`flusher`]), which connections wake after executing a batch (see `connection.rs` for the
//!   reply gating that waits for it).
//! - **DEBUG LOADAOF** ([`reload`]) and the INFO fields ([`info_persistence`]).
//!
//! Fatal conditions (a write or fsync error under `appendfsync always`) log Redis's line and
//! exit the process with status 1 at once, so no held reply is ever sent.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, watch, Notify};

use crate::aof::file::RealFile;
use crate::aof::fsync::FsyncPolicy;
use crate::aof::loader::{load_all, LoadError, LoadOptions, LoadOutcome, LoadStatus, Replay};
use crate::aof::manifest::{open_on_server_start, AofManifest};
use crate::aof::names::{AofNames, BaseFormat};
use crate::aof::writer::{AofFatal, AofWriter, Gate, WriterConfig};
use crate::aof::{AofLogger, LogLevel, TracingLog};
use crate::cmd::{self, CallMode};
use crate::config::{AppendFsync, Config};
use crate::db::Value;
use crate::protocol::{Reply, Resp};

use super::client::{Client, ClientId, Peer};
use super::snapshot::{serialize, Format, Job};
use super::state::ServerState;

/// The id of the pseudo-client that replays the AOF (Redis's `CLIENT_ID_AOF`).
pub const AOF_CLIENT_ID: ClientId = u64::MAX;

/// Commands per batch sent from the reading thread; the data thread yields between batches.
const BATCH: usize = 1024;

/// Batches the reading thread may be ahead of the data thread.
const CHANNEL_DEPTH: usize = 8;

/// How often loading progress is logged.
const PROGRESS_LOG_EVERY: Duration = Duration::from_secs(1);

/// INFO `loading_*` state while a load runs.
#[derive(Clone, Debug)]
pub struct LoadingInfo {
    /// Unix time loading began (`loading_start_time`).
    pub start_unix: i64,
    /// When loading began.
    pub started: Instant,
    /// Sum of the sizes of the files to load (`loading_total_bytes`).
    pub total_bytes: u64,
    /// Bytes applied so far (`loading_loaded_bytes`).
    pub loaded_bytes: u64,
    /// When progress was last logged.
    last_log: Instant,
}

/// Everything the data thread keeps about the AOF.
#[derive(Debug)]
pub struct Persistence {
    /// File names derived from `appendfilename`.
    pub names: AofNames,
    /// `<dir>/<appenddirname>`, fixed at startup: a later `CONFIG SET dir` moves the working
    /// directory, not the AOF.
    pub aof_dir: PathBuf,
    /// The manifest as on disk.
    pub manifest: AofManifest,
    /// The open writer, while `appendonly` is on and loading is over.
    pub writer: Option<AofWriter>,
    /// Set while the dataset is being loaded.
    pub loading: Option<LoadingInfo>,
    /// Bytes of the BASE and every INCR but the open one (`aof_current_size` minus the open
    /// INCR's length).
    pub static_size: u64,
    /// Redis's `AOF_WAIT_REWRITE`: `appendonly yes` was set at runtime and the AOF is on once
    /// the rewrite writing its first BASE succeeds (meanwhile the writer, if any, appends to
    /// `temp-<appendfilename>.incr`).
    pub wait_rewrite: bool,
    /// Where the next writer's stream offsets start (the last writer's end): offsets are
    /// monotonic over the server's life, so a gate taken from one writer stays valid.
    pub next_stream: u64,
    /// `aof_base_size`: the BASE's size at load (0 on a fresh start, as in Redis).
    pub base_size: u64,
    /// Bumped after every flush on the data thread, so replies waiting for "written" wake.
    pub flushed: watch::Sender<u64>,
    /// Wakes the flusher task.
    pub flush_wake: Rc<Notify>,
}

impl Persistence {
    /// The state for `config`, with nothing open.
    pub fn new(config: &Config) -> Self {
        Persistence {
            names: AofNames::new(&config.appendfilename),
            aof_dir: PathBuf::from(&config.dir).join(&config.appenddirname),
            manifest: AofManifest::new(),
            writer: None,
            loading: None,
            static_size: 0,
            wait_rewrite: false,
            next_stream: 0,
            base_size: 0,
            flushed: watch::channel(0).0,
            flush_wake: Rc::new(Notify::new()),
        }
    }

    /// Asks the flusher task to write the buffer (at the end of the current iteration).
    pub fn request_flush(&self) {
        self.flush_wake.notify_one();
    }

    /// Bytes appended and not yet written.
    pub fn buffered(&self) -> u64 {
        self.writer.as_ref().map_or(0, AofWriter::buffered)
    }

    /// `aof_current_size`: every listed file, the open INCR at its current length.
    pub fn current_size(&self) -> u64 {
        self.static_size + self.writer.as_ref().map_or(0, AofWriter::file_size)
    }

    /// The gate for a batch that started when the writer's appended end was `before`; `None`
    /// when there is no writer (nothing to wait for).
    pub fn gate(&self, before: u64) -> Option<Gate> {
        self.writer.as_ref().map(|w| w.gate(before))
    }

    /// The writer's appended end now (0 without a writer).
    pub fn appended_end(&self) -> u64 {
        self.writer.as_ref().map_or(0, AofWriter::appended_end)
    }

    /// Whether replies gated by `gate` may leave; picks up the fsync worker's results first.
    /// Exits the process on a fatal AOF error.
    pub fn released(&mut self, gate: &Gate) -> bool {
        let Some(w) = self.writer.as_mut() else {
            return true;
        };
        if w.is_released(gate) {
            return true;
        }
        if let Err(e) = w.poll() {
            die(&e);
        }
        w.is_released(gate)
    }

    /// Writes the buffer now (the flusher's job, and the once-a-second retry). Exits the process
    /// on a fatal AOF error.
    pub fn flush(&mut self) {
        if let Some(w) = self.writer.as_mut() {
            if let Err(e) = w.flush() {
                die(&e);
            }
            self.flushed.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// The once-a-second duty: fsync results, retries after write errors.
    pub fn tick(&mut self) {
        if let Some(w) = self.writer.as_mut() {
            if let Err(e) = w.tick() {
                die(&e);
            }
            self.flushed.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// The MISCONF error for writes and PING while a write or fsync error is unresolved.
    pub fn misconf(&self) -> Option<String> {
        self.writer.as_ref().and_then(AofWriter::misconf)
    }

    /// Stops logging (`CONFIG SET appendonly no`, shutdown): flush, fsync, stop the worker.
    /// Everything appended before is then durable, so replies waiting on it may all leave.
    pub fn stop(&mut self) {
        if let Some(mut w) = self.writer.take() {
            self.next_stream = w.appended_end();
            if let Err(e) = w.shutdown() {
                tracing::warn!("{e}");
            }
            self.flushed.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// Logs a fatal AOF error and exits with status 1, sending nothing that was held.
fn die(e: &AofFatal) -> ! {
    // The writer already logged Redis's line; this one says what happens next.
    tracing::warn!("Exiting because of a fatal AOF error: {e}");
    std::process::exit(1)
}

/// The writer settings `config` asks for.
pub fn writer_config(config: &Config) -> WriterConfig {
    WriterConfig {
        policy: policy(config.appendfsync),
        timestamps: config.aof_timestamp_enabled,
        ..WriterConfig::default()
    }
}

/// The writer policy for a configuration value.
pub fn policy(fsync: AppendFsync) -> FsyncPolicy {
    match fsync {
        AppendFsync::Always => FsyncPolicy::Always,
        AppendFsync::Everysec => FsyncPolicy::EverySec,
        AppendFsync::No => FsyncPolicy::No,
    }
}

/// Applies the effects of a CONFIG SET of the persistence parameters, after the new values
/// replaced the old ones: `appendonly` (Redis `stopAppendOnly` / `startAppendOnly`),
/// `appendfsync`, `aof-timestamp-enabled`, `aof-disable-auto-gc`.
///
/// # Errors
/// The parameter and message for `CONFIG SET failed (...) - <message>` when the AOF could not
/// be turned on (`appendonly` is then back to `no`).
pub fn apply_config_change(
    srv: &mut ServerState,
    old: &Config,
    in_exec: bool,
) -> Result<(), (&'static str, String)> {
    // Redis `updateAofAutoGCEnabled`: turning the automatic removal back on removes the history
    // files kept meanwhile.
    if old.aof_disable_auto_gc && !srv.config.aof_disable_auto_gc {
        super::rewrite::delete_history(srv);
    }
    let new = &srv.config;
    let (appendonly, fsync, ts) = (new.appendonly, new.appendfsync, new.aof_timestamp_enabled);
    if old.appendonly && !appendonly {
        srv.aof.stop();
        let was_waiting = std::mem::replace(&mut srv.aof.wait_rewrite, false);
        super::rewrite::kill(srv);
        srv.rewrite.scheduled = false;
        if was_waiting {
            let _ = std::fs::remove_file(srv.aof.aof_dir.join(srv.aof.names.temp_incr()));
        }
        tracing::info!("AOF turned off by CONFIG SET appendonly no.");
        return Ok(());
    }
    if !old.appendonly && appendonly {
        if super::rewrite::start_appendonly(srv, in_exec).is_err() {
            srv.config.appendonly = false;
            return Err((
                "appendonly",
                "Unable to turn on AOF. Check server logs.".to_string(),
            ));
        }
        return Ok(());
    }
    if let Some(w) = srv.aof.writer.as_mut() {
        if old.appendfsync != fsync {
            w.set_policy(policy(fsync));
            let who = crate::service::requester().unwrap_or_else(|| "CONFIG SET".to_string());
            tracing::warn!(
                old_policy = old.appendfsync.name(),
                fsync_policy = fsync.name(),
                requested_by = %who,
                aofd_event = "fsync_policy_changed",
                "The fsync policy was changed from {} to {} by {who}.",
                old.appendfsync.name(),
                fsync.name()
            );
        }
        if old.aof_timestamp_enabled != ts {
            w.set_timestamps(ts);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Replaying

/// Runs `f` with the AOF pseudo-client registered and the statistics set aside: commands
/// replayed from the AOF are not client commands (Redis calls their procedures directly), so
/// they count in no statistic.
fn with_aof_client<R>(srv: &mut ServerState, f: impl FnOnce(&mut ServerState) -> R) -> R {
    let (tx, _rx) = mpsc::unbounded_channel();
    let peer = Peer::Unix {
        path: String::new(),
    };
    let mut client = Client::new(AOF_CLIENT_ID, peer, -1, true, tx);
    client.name = Some(b"aof-loader".to_vec());
    srv.clients.insert(AOF_CLIENT_ID, client);
    let stats = std::mem::take(&mut srv.stats);
    let r = f(srv);
    srv.stats = stats;
    srv.remove_client(AOF_CLIENT_ID);
    r
}

/// Executes one command read from the AOF in database `db`. Errors of known commands are
/// ignored, as Redis ignores the replies of its AOF client; a command with the wrong number of
/// arguments is skipped (Redis would call it anyway, with undefined results).
fn replay_one(srv: &mut ServerState, out: &mut Reply, db: usize, args: Vec<Vec<u8>>) {
    if args.is_empty() {
        return;
    }
    let args: Vec<Bytes> = args.into_iter().map(Bytes::from).collect();
    let Ok(spec) = cmd::resolve(&args) else {
        return;
    };
    if !spec.arity_ok(args.len()) {
        return;
    }
    if let Some(c) = srv.clients.get_mut(&AOF_CLIENT_ID) {
        c.db = db;
    }
    // InExec: a blocking command never blocks (Redis's AOF client has CLIENT_DENY_BLOCKING).
    cmd::call(srv, AOF_CLIENT_ID, out, spec, &args, CallMode::InExec);
    out.buf.clear();
}

/// The unknown-command check the loader runs on every command as it is read (also inside a
/// MULTI), with Redis's message.
fn check_known(args: &[Vec<u8>]) -> Result<(), String> {
    let Some(name) = args.first() else {
        return Ok(());
    };
    let known = match cmd::lookup_command(name) {
        None => false,
        Some(spec) if spec.subcommands.is_empty() || args.len() < 2 => true,
        Some(spec) => {
            let sub = args[1].to_ascii_lowercase();
            spec.subcommands.iter().any(|s| s.name.as_bytes() == sub)
        }
    };
    if known {
        Ok(())
    } else {
        let end = memchr::memchr(0, name).unwrap_or(name.len());
        Err(format!(
            "Unknown command '{}'",
            String::from_utf8_lossy(&name[..end])
        ))
    }
}

/// A [`Replay`] applying commands straight to the server (DEBUG LOADAOF, which blocks the
/// server as in Redis).
struct Direct<'a> {
    srv: &'a mut ServerState,
    out: Reply,
}

impl Replay for Direct<'_> {
    fn lookup(&mut self, args: &[Vec<u8>]) -> Result<(), String> {
        check_known(args)
    }

    fn apply(&mut self, db: usize, args: Vec<Vec<u8>>) -> Result<(), String> {
        replay_one(self.srv, &mut self.out, db, args);
        Ok(())
    }

    fn load_key(
        &mut self,
        db: usize,
        key: Vec<u8>,
        value: Value,
        expire_ms: Option<i64>,
    ) -> Result<(), String> {
        store_key(self.srv, db, &key, value, expire_ms);
        Ok(())
    }
}

/// Stores a key read from an RDB file. A key that is already there (only a damaged file can
/// repeat one) is replaced, with a warning.
pub fn store_key(
    srv: &mut ServerState,
    db: usize,
    key: &[u8],
    value: Value,
    expire_ms: Option<i64>,
) {
    let Some(d) = srv.dbs.get_mut(db) else {
        return;
    };
    if d.get(key).is_some() {
        tracing::warn!(
            "RDB has duplicated key '{}' in DB {db}; the later value is kept",
            String::from_utf8_lossy(key)
        );
    }
    d.set(key, value);
    if let Some(at) = expire_ms {
        d.set_expire(key, at);
    }
}

/// Empties every database, as Redis's `emptyData` (WATCHers of existing keys see a change).
pub fn empty_data(srv: &mut ServerState) {
    for db in 0..srv.dbs.len() {
        if !srv.dbs[db].is_empty() {
            srv.watches
                .touch_existing_in_db(&mut srv.clients, &srv.dbs, db);
            srv.dbs[db].clear();
        }
    }
}

/// Sum of the sizes of the files `manifest` lists (what loading will read).
fn listed_size(aof_dir: &std::path::Path, manifest: &AofManifest) -> u64 {
    manifest
        .files_to_load()
        .filter_map(|f| std::fs::metadata(aof_dir.join(&f.name)).ok())
        .map(|m| m.len())
        .sum()
}

/// Loads the files `manifest` lists in `aof_dir` into `srv` on this thread, in one go (no
/// batching, nobody served meanwhile): DEBUG LOADAOF, and the offline tools (`aofd import`, the
/// data-directory migrations) that build a dataset outside a running server.
///
/// # Errors
/// The loader's [`LoadError`].
pub fn load_direct(
    srv: &mut ServerState,
    aof_dir: &std::path::Path,
    names: &AofNames,
    manifest: &AofManifest,
    opts: &mut LoadOptions<'_>,
) -> Result<LoadOutcome, LoadError> {
    srv.loading = true;
    let result = with_aof_client(srv, |srv| {
        let mut target = Direct {
            srv,
            out: Reply::new(Resp::V2),
        };
        load_all(aof_dir, names, manifest, opts, &mut target)
    });
    srv.loading = false;
    result
}

/// DEBUG LOADAOF (Redis `debug.c`): flushes the buffer, empties the dataset and loads it again
/// from the files on disk, blocking the server meanwhile. A failed load exits the process, as in
/// Redis (the dataset is gone and the files are not loadable).
pub fn reload(srv: &mut ServerState) {
    if let Some(w) = srv.aof.writer.as_mut() {
        if let Err(e) = w.flush() {
            die(&e);
        }
    }
    empty_data(srv);
    let aof_dir = srv.aof.aof_dir.clone();
    let names = srv.aof.names.clone();
    let manifest = match AofManifest::load_from_dir(&aof_dir, &names) {
        Ok(m) => m,
        Err(e) => {
            for line in e.log_lines() {
                tracing::warn!("{line}");
            }
            std::process::exit(1);
        }
    };
    let mut opts = LoadOptions {
        aof_load_truncated: srv.config.aof_load_truncated,
        databases: srv.dbs.len(),
        log: &TracingLog,
        progress: None,
    };
    let result = load_direct(srv, &aof_dir, &names, &manifest, &mut opts);
    match result {
        Ok(outcome) if outcome.status != LoadStatus::NotExist => {
            srv.aof.manifest = manifest;
            srv.aof.base_size = outcome.base_size;
            srv.stats.dirty = 0;
            tracing::warn!("Append Only File loaded by DEBUG LOADAOF");
        }
        Ok(_) => {
            tracing::warn!("DEBUG LOADAOF found no AOF file to load. Exiting...");
            std::process::exit(1);
        }
        Err(e) => {
            for line in e.log_lines() {
                tracing::warn!("{line}");
            }
            std::process::exit(1);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Startup loading

/// What the reading thread sends to the data thread, in file order.
enum LoadMsg {
    /// Commands and keys to apply, in file order.
    Batch(Vec<Op>),
    /// A log line from the loader.
    Log(LogLevel, String),
    /// Bytes read so far and in total.
    Progress(u64, u64),
    /// Loading ended.
    Done(Box<Result<LoadOutcome, LoadError>>),
}

/// One thing to apply to the dataset.
enum Op {
    /// A command from the RESP part, with its database.
    Command(usize, Vec<Vec<u8>>),
    /// A key from an RDB BASE: database, key, value, expiry time.
    Key(usize, Vec<u8>, Value, Option<i64>),
}

/// The reading thread's side of the channel: commands are batched; a log line or a progress
/// report first sends the batch before it, so everything arrives in order.
struct Feed {
    tx: mpsc::Sender<LoadMsg>,
    batch: Mutex<Vec<Op>>,
}

impl Feed {
    /// Sends what is batched. Returns false if the data thread stopped listening (shutdown).
    fn send_batch(&self) -> bool {
        let batch = match self.batch.lock() {
            Ok(mut b) if !b.is_empty() => std::mem::take(&mut *b),
            _ => return true,
        };
        self.tx.blocking_send(LoadMsg::Batch(batch)).is_ok()
    }

    fn send(&self, msg: LoadMsg) -> bool {
        self.send_batch() && self.tx.blocking_send(msg).is_ok()
    }
}

impl AofLogger for Feed {
    fn log(&self, level: LogLevel, msg: &str) {
        let _ = self.send(LoadMsg::Log(level, msg.to_string()));
    }
}

/// The reading thread's [`Replay`]: checks command names, batches the commands.
struct Forward<'a>(&'a Feed);

impl Replay for Forward<'_> {
    fn lookup(&mut self, args: &[Vec<u8>]) -> Result<(), String> {
        check_known(args)
    }

    fn apply(&mut self, db: usize, args: Vec<Vec<u8>>) -> Result<(), String> {
        self.push(Op::Command(db, args))
    }

    fn load_key(
        &mut self,
        db: usize,
        key: Vec<u8>,
        value: Value,
        expire_ms: Option<i64>,
    ) -> Result<(), String> {
        self.push(Op::Key(db, key, value, expire_ms))
    }
}

impl Forward<'_> {
    fn push(&mut self, op: Op) -> Result<(), String> {
        let full = match self.0.batch.lock() {
            Ok(mut b) => {
                b.push(op);
                b.len() >= BATCH
            }
            Err(_) => false,
        };
        if full && !self.0.send_batch() {
            return Err("loading was interrupted by a shutdown".to_string());
        }
        Ok(())
    }
}

/// Loads the AOF (when `appendonly yes`) and opens the writer: Redis's
/// `aofLoadManifestFromDisk`, `loadDataFromDisk`, `aofOpenIfNeededOnServerStart`. Clients are
/// served between batches while it runs.
///
/// # Errors
/// Loading failed or the files could not be opened; the reasons were logged and the server must
/// exit with status 1.
pub async fn startup(state: &Rc<RefCell<ServerState>>) -> Result<(), ()> {
    let (aof_dir, names, truncated_ok, databases) = {
        let st = state.borrow();
        (
            st.aof.aof_dir.clone(),
            st.aof.names.clone(),
            st.config.aof_load_truncated,
            st.dbs.len(),
        )
    };
    let manifest = match AofManifest::load_from_dir(&aof_dir, &names) {
        Ok(m) => m,
        Err(e) => {
            for line in e.log_lines() {
                tracing::warn!("{line}");
            }
            return Err(());
        }
    };
    let outcome = if manifest.is_empty() {
        None
    } else {
        Some(load_in_background(state, &aof_dir, &names, &manifest, truncated_ok, databases).await?)
    };
    let log = TracingLog;
    let (base_format, base) = startup_base(&state.borrow());
    let files = match open_on_server_start(&aof_dir, &names, &manifest, base_format, &base, &log) {
        Ok(files) => files,
        Err(e) => {
            tracing::warn!(
                "Can't open the append-only file: {}",
                crate::aof::io_strerror(&e)
            );
            return Err(());
        }
    };
    let file = match RealFile::open_append(&files.incr_path) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(
                "Can't open the append-only file {}: {}",
                files.incr_name,
                crate::aof::io_strerror(&e)
            );
            return Err(());
        }
    };
    let mut st = state.borrow_mut();
    let cfg = writer_config(&st.config);
    let writer = match AofWriter::open(Arc::new(file), &cfg, Arc::new(TracingLog)) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(
                "Can't open the append-only file {}: {}",
                files.incr_name,
                crate::aof::io_strerror(&e)
            );
            return Err(());
        }
    };
    // A BASE created now is not counted (Redis sets `aof_current_size` only from loading), so
    // the first automatic rewrite on a fresh start comes as soon as the INCR passes min-size.
    let total = if manifest.is_empty() {
        files.incr_size
    } else {
        listed_size(&aof_dir, &files.manifest)
    };
    st.aof.static_size = total.saturating_sub(files.incr_size);
    st.aof.base_size = outcome.map_or(0, |o| o.base_size);
    st.aof.manifest = files.manifest;
    st.aof.writer = Some(writer);
    // Redis `aofDelHistoryFiles` at startup: history left by a crash after a rewrite's manifest
    // was persisted goes now, not at the next rewrite.
    if !st.config.aof_disable_auto_gc {
        super::rewrite::delete_history(&mut st);
    }
    Ok(())
}

/// The BASE a fresh start writes (Redis `aofOpenIfNeededOnServerStart` rewrites the dataset,
/// normally empty): RDB with `aof-use-rdb-preamble yes`, RESP otherwise.
fn startup_base(srv: &ServerState) -> (BaseFormat, Vec<u8>) {
    let job = Job::now(Format::aof_base(&srv.config), false, 0);
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = serialize(&mut out, &srv.dbs, &job, &mut |_| {});
    (job.format.base_format(), out)
}

/// Runs [`load_all`] on a reading thread and applies what it sends, one batch at a time.
async fn load_in_background(
    state: &Rc<RefCell<ServerState>>,
    aof_dir: &std::path::Path,
    names: &AofNames,
    manifest: &AofManifest,
    truncated_ok: bool,
    databases: usize,
) -> Result<LoadOutcome, ()> {
    let total = listed_size(aof_dir, manifest);
    {
        let mut st = state.borrow_mut();
        st.loading = true;
        let now = Instant::now();
        st.aof.loading = Some(LoadingInfo {
            start_unix: super::info::unix_micros() / 1_000_000,
            started: now,
            total_bytes: total,
            loaded_bytes: 0,
            last_log: now,
        });
    }
    crate::service::notify::loading_started(total);
    let (tx, mut rx) = mpsc::channel(CHANNEL_DEPTH);
    let (dir, names, manifest) = (aof_dir.to_path_buf(), names.clone(), manifest.clone());
    let spawned = std::thread::Builder::new()
        .name("aofd-aof-load".to_string())
        .spawn(move || {
            let feed = Feed {
                tx,
                batch: Mutex::new(Vec::with_capacity(BATCH)),
            };
            let mut progress = |done: u64, total: u64| {
                let _ = feed.send(LoadMsg::Progress(done, total));
            };
            let mut opts = LoadOptions {
                aof_load_truncated: truncated_ok,
                databases,
                log: &feed,
                progress: Some(&mut progress),
            };
            let result = load_all(&dir, &names, &manifest, &mut opts, &mut Forward(&feed));
            let _ = feed.send(LoadMsg::Done(Box::new(result)));
        });
    if let Err(e) = spawned {
        tracing::warn!("Can't start the AOF loading thread: {e}");
        return Err(());
    }
    let mut out = Reply::new(Resp::V2);
    let result = loop {
        let Some(msg) = rx.recv().await else {
            tracing::warn!("The AOF loading thread stopped unexpectedly.");
            break Err(());
        };
        match msg {
            LoadMsg::Batch(batch) => {
                with_aof_client(&mut state.borrow_mut(), |srv| {
                    for op in batch {
                        match op {
                            Op::Command(db, args) => replay_one(srv, &mut out, db, args),
                            Op::Key(db, key, value, at) => store_key(srv, db, &key, value, at),
                        }
                    }
                });
                // Let the clients connected meanwhile be served (Redis's
                // processEventsWhileBlocked every 1024 commands).
                tokio::task::yield_now().await;
            }
            LoadMsg::Log(level, text) => match level {
                LogLevel::Notice => tracing::info!("{text}"),
                LogLevel::Warning => tracing::warn!("{text}"),
            },
            LoadMsg::Progress(done, total) => {
                let mut st = state.borrow_mut();
                let keys = key_count(&st);
                crate::service::notify::loading_progress(done, total, keys);
                if let Some(info) = st.aof.loading.as_mut() {
                    info.loaded_bytes = done;
                    info.total_bytes = total;
                    if info.last_log.elapsed() >= PROGRESS_LOG_EVERY && done < total {
                        info.last_log = Instant::now();
                        tracing::info!(
                            aofd_event = "load_progress",
                            bytes = done,
                            keys,
                            "Loading the AOF: {done} of {total} bytes ({:.2}%)",
                            perc(done, total)
                        );
                    }
                }
            }
            LoadMsg::Done(result) => match *result {
                Ok(outcome) => {
                    let st = state.borrow();
                    let keys = key_count(&st);
                    let ms = st.aof.loading.as_ref().map_or(0, |i| {
                        u64::try_from(i.started.elapsed().as_millis()).unwrap_or(u64::MAX)
                    });
                    tracing::info!(
                        aofd_event = "loaded",
                        keys,
                        bytes = total,
                        duration_ms = ms,
                        "The AOF is loaded: {keys} keys from {total} bytes in {ms} ms."
                    );
                    break Ok(outcome);
                }
                Err(e) => {
                    for line in e.log_lines() {
                        tracing::warn!("{line}");
                    }
                    break Err(());
                }
            },
        }
    };
    let mut st = state.borrow_mut();
    st.loading = false;
    st.aof.loading = None;
    result
}

/// Keys in every database.
fn key_count(srv: &ServerState) -> u64 {
    srv.dbs.iter().map(|d| d.len() as u64).sum()
}

fn perc(done: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        done as f64 * 100.0 / total as f64
    }
}

// ---------------------------------------------------------------------------------------------
// The flusher

/// Writes the AOF buffer once per event-loop iteration: connections wake it after executing a
/// batch; since woken tasks run after those already runnable, every batch executed in the same
/// iteration shares one `write(2)` (Redis's `flushAppendOnlyFile` in `beforeSleep`).
pub async fn flusher(state: Rc<RefCell<ServerState>>) {
    let wake = state.borrow().aof.flush_wake.clone();
    loop {
        wake.notified().await;
        state.borrow_mut().aof.flush();
    }
}

// ---------------------------------------------------------------------------------------------
// INFO

/// INFO persistence's `loading` flag and the AOF block, with Redis's names and semantics; see
/// docs/durability.md for aofd's own `aof_*` fields after Redis's.
pub fn info_loading_fields(srv: &ServerState, out: &mut String) {
    use std::fmt::Write as _;
    let Some(info) = &srv.aof.loading else {
        return;
    };
    let elapsed = info.started.elapsed().as_secs();
    let eta = if elapsed == 0 {
        1
    } else {
        elapsed.saturating_mul(info.total_bytes.saturating_sub(info.loaded_bytes))
            / info.loaded_bytes.saturating_add(1)
    };
    let _ = write!(
        out,
        "loading_start_time:{}\r\nloading_total_bytes:{}\r\nloading_rdb_used_mem:0\r\n\
         loading_loaded_bytes:{}\r\nloading_loaded_perc:{:.2}\r\nloading_eta_seconds:{}\r\n",
        info.start_unix,
        info.total_bytes,
        info.loaded_bytes,
        perc(info.loaded_bytes, info.total_bytes),
        eta
    );
}

/// The six fields Redis shows only with `appendonly yes`, then aofd's own.
pub fn info_aof_fields(srv: &ServerState, out: &mut String) {
    use std::fmt::Write as _;
    let stats = srv.aof.writer.as_ref().map(AofWriter::stats);
    let buffer = stats.as_ref().map_or(0, |s| s.buffer_len);
    let _ = write!(
        out,
        "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\n\
         aof_buffer_length:{buffer}\r\naof_pending_bio_fsync:{}\r\naof_delayed_fsync:0\r\n",
        srv.aof.current_size(),
        srv.aof.base_size,
        u8::from(srv.rewrite.scheduled),
        stats.as_ref().map_or(0, |s| u8::from(s.fsync_in_flight)),
    );
}

/// aofd's own persistence fields, after all of Redis's (only while the writer is open):
/// the fsync policy, fdatasync latency (last and max, microseconds), counts, and the unsynced
/// tail (bytes written but not yet durable, its age, and the bound the policy keeps it under:
/// 2000 ms for `everysec`, 0 for `always`, -1 (none) for `no`).
pub fn info_aofd_fields(srv: &ServerState, out: &mut String) {
    use std::fmt::Write as _;
    let Some(s) = srv.aof.writer.as_ref().map(AofWriter::stats) else {
        return;
    };
    let age_ms = s
        .unsynced_age
        .map_or(0, |a| u64::try_from(a.as_millis()).unwrap_or(u64::MAX));
    let _ = write!(
        out,
        "aof_fsync_policy:{}\r\naof_fsync_latency_last_usec:{}\r\n\
         aof_fsync_latency_max_usec:{}\r\naof_fsyncs:{}\r\naof_fsync_failures:{}\r\n\
         aof_unsynced_bytes:{}\r\naof_unsynced_age_ms:{age_ms}\r\n\
         aof_unsynced_age_bound_ms:{}\r\n",
        s.policy.as_str(),
        s.fsync_latency_last.as_micros(),
        s.fsync_latency_max.as_micros(),
        s.fsyncs,
        s.fsync_failures,
        s.unsynced_bytes,
        match s.policy {
            FsyncPolicy::EverySec => 2000,
            FsyncPolicy::Always => 0,
            FsyncPolicy::No => -1,
        },
    );
}

/// INFO `aof_last_write_status`.
pub fn last_write_ok(srv: &ServerState) -> bool {
    srv.aof.writer.as_ref().is_none_or(|w| !w.in_error())
}
