//! The AOF writer (Redis `aof.c`: `feedAppendOnlyFile`, `flushAppendOnlyFile`, `aofWrite`, the
//! write-error handling of §3.3, `stopAppendOnly`'s final sync): the data thread appends
//! propagated records to an in-memory buffer while it executes commands, and writes the whole
//! buffer with one `write(2)` per event-loop iteration ([`AofWriter::flush`]); the fsync worker
//! ([`super::fsync`]) makes it durable on its own thread. The data thread never waits for a sync.
//!
//! # Reply-gating contract (for the connection layer)
//!
//! A reply — to any client, reads included — may leave only once the records appended before it
//! are as safe as the policy promises. Per batch of commands a connection executes:
//!
//! 1. `let before = writer.appended_end();` then execute; every propagated command goes through
//!    [`AofWriter::append_command`] / [`AofWriter::append_unit`] during execution.
//! 2. `let gate = writer.gate(before);` and keep it with the batch's replies.
//! 3. Once per event-loop iteration, after executing and before sending replies, call
//!    [`AofWriter::flush`]; at least once a second (cron) call [`AofWriter::tick`]. Both return
//!    [`AofFatal`] when the policy is `always` and a write or fsync failed: log it and exit
//!    non-zero without sending the held replies.
//! 4. Send the replies when [`AofWriter::is_released`]`(&gate)`. Otherwise wait on
//!    [`AofWriter::subscribe`] (`changed().await`, it fires after every fdatasync), call
//!    [`AofWriter::poll`] on the data thread, and check again.
//!
//! What `is_released` waits for:
//! - `always`: D ≥ `gate.seen` — everything appended before the reply is written *and*
//!   fdatasync'ed. Syncs run on the worker; all records written while one is in flight share the
//!   next (group commit).
//! - `everysec`: W ≥ `gate.seen` (written, which `flush` achieves in the same iteration), and the
//!   oldest written-but-not-durable byte is younger than `max_unsynced_age` (2 s). **Bound:** the
//!   acknowledged records a power loss can destroy were all acknowledged within 2 s of the oldest
//!   of them being written; with a healthy disk they are at most ~1 s (the sync interval plus one
//!   fdatasync) old. When the disk is too slow for that, replies wait for it instead of widening
//!   the window (Redis instead postpones writes for up to 2 s and then acknowledges anyway).
//! - `no`: W ≥ `gate.seen`.
//! - While a write or fsync error is unresolved (`everysec`/`no`): only `gate.own` (the end of
//!   the batch's own records) must be written, so reads and rejected writes are answered at
//!   once (Redis keeps serving reads) while a write whose record is stuck in the buffer waits
//!   for the retry instead of being acknowledged. [`AofWriter::misconf`] gives the
//!   `-MISCONF Errors writing to the AOF file: <reason>` text for writes and PING meanwhile.
//!
//! # Errors
//! A failed or short write (§3.3): the partial record is truncated away, the rest stays in the
//! buffer, the reason is kept for MISCONF, and every `flush`/`tick` retries; success logs Redis's
//! `AOF write error looks solved, Redis can write again.`. A failed fdatasync is never retried
//! and then trusted: under `always` it is fatal; otherwise the bytes written since the last good
//! sync (kept in memory for exactly this) are cut from the file and written again, and MISCONF
//! lasts until a later fdatasync covers them.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::file::AofFile;
use super::fsync::{FsyncPolicy, FsyncWorker};
use super::record::RecordEncoder;
use super::{io_strerror, strerror, AofEvent, AofLogger, LogLevel};

/// Redis's `AOF_WRITE_LOG_ERROR_RATE`: write errors are logged at most once per 30 seconds.
const WRITE_ERROR_LOG_RATE: Duration = Duration::from_secs(30);

/// An fdatasync slower than this is logged (`slow_fsync`): `everysec` promises at most about
/// two seconds of writes at risk, and Redis warns at the same bound ("Asynchronous AOF fsync
/// is taking too long").
pub const SLOW_FSYNC: Duration = Duration::from_secs(2);

/// Samples of the write history closer together than this are merged (keeping the older time,
/// which only overstates the age of unsynced data).
const SAMPLE_GRANULARITY: Duration = Duration::from_millis(10);

/// A buffer that grew beyond this is released after it is written (Redis frees `aof_buf` above
/// 4000 bytes; a larger threshold keeps allocations rare under load).
const BUFFER_KEEP: usize = 4 * 1024 * 1024;

/// Settings of a writer.
#[derive(Clone, Debug)]
pub struct WriterConfig {
    /// `appendfsync`.
    pub policy: FsyncPolicy,
    /// `aof-timestamp-enabled`.
    pub timestamps: bool,
    /// Time between two `everysec` syncs (1 s; tests shorten it).
    pub everysec_interval: Duration,
    /// Under `everysec`, replies are held while the oldest unsynced byte is older than this
    /// (2 s; tests shorten it). See the module docs.
    pub max_unsynced_age: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            policy: FsyncPolicy::EverySec,
            timestamps: false,
            everysec_interval: Duration::from_secs(1),
            max_unsynced_age: Duration::from_secs(2),
        }
    }
}

/// What a batch's replies wait for (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gate {
    /// End of the last record the batch itself appended; 0 if it appended none.
    pub own: u64,
    /// End of everything appended when the batch finished.
    pub seen: u64,
}

/// An error the process must exit on (Redis `exit(1)`): under `always`, a write or fsync
/// failed, so acknowledged durability can no longer be promised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofFatal {
    /// What was logged, Redis's wording.
    pub message: String,
}

impl fmt::Display for AofFatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AofFatal {}

/// A snapshot of the writer's state for INFO persistence and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterStats {
    /// `appendfsync`.
    pub policy: FsyncPolicy,
    /// Bytes appended but not yet written (INFO `aof_buffer_length`).
    pub buffer_len: u64,
    /// Current length of the INCR file (Redis `aof_last_incr_size`).
    pub file_size: u64,
    /// Bytes written since the writer opened (W).
    pub written: u64,
    /// Bytes durable since the writer opened (D).
    pub durable: u64,
    /// Written but not yet durable (W − D).
    pub unsynced_bytes: u64,
    /// Age of the oldest written-but-not-durable byte.
    pub unsynced_age: Option<Duration>,
    /// An fdatasync is running (INFO `aof_pending_bio_fsync`).
    pub fsync_in_flight: bool,
    /// Latency of the last fdatasync.
    pub fsync_latency_last: Duration,
    /// Longest fdatasync so far.
    pub fsync_latency_max: Duration,
    /// Successful fdatasync calls.
    pub fsyncs: u64,
    /// Failed fdatasync calls.
    pub fsync_failures: u64,
    /// INFO `aof_last_write_status`: no unresolved write error.
    pub write_ok: bool,
    /// No unresolved fsync error.
    pub fsync_ok: bool,
    /// errno of the unresolved write or fsync error, if any.
    pub last_errno: Option<i32>,
}

/// An fdatasync failure being repaired.
#[derive(Clone, Copy, Debug)]
struct FsyncFailure {
    errno: i32,
    /// W when the failure was seen: recovered once D reaches it.
    target: u64,
    /// The untrusted bytes are still in memory and can be written again.
    repairable: bool,
}

/// The AOF writer; owned by the data thread. See the module docs.
pub struct AofWriter {
    file: Arc<dyn AofFile>,
    worker: FsyncWorker,
    log: Arc<dyn AofLogger>,
    encoder: RecordEncoder,
    /// Appended records not yet written (Redis `aof_buf`).
    buf: Vec<u8>,
    /// W, in stream offsets (bytes since the writer opened).
    written: u64,
    /// Length of the current file when the stream was at `stream_base` (when it was opened or
    /// switched to): stream offset `s` is file offset `file_base + (s - stream_base)`.
    file_base: u64,
    /// Stream offset at which the current file was opened or switched to. Stream offsets stay
    /// monotonic across a switch to a new INCR, so gates taken before it stay meaningful.
    stream_base: u64,
    /// Bytes `[retained_from, written)`: written but maybe not durable, kept so a failed
    /// fdatasync can be repaired by writing them again (not kept under `no`).
    retained: Vec<u8>,
    retained_from: u64,
    /// (end offset, time of the first write in the sample) of recent writes not yet durable.
    samples: VecDeque<(u64, Instant)>,
    write_errno: Option<i32>,
    last_error_log: Option<Instant>,
    fsync_failure: Option<FsyncFailure>,
    max_age: Duration,
    /// fdatasync calls (successful or not) seen by the last [`Self::tick`].
    syncs_seen: u64,
    /// Since when the tick has seen the same fdatasync in flight, and whether that was logged.
    slow_since: Option<(Instant, bool)>,
}

impl fmt::Debug for AofWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AofWriter")
            .field("written", &self.written)
            .field("buffered", &self.buf.len())
            .field("write_errno", &self.write_errno)
            .finish_non_exhaustive()
    }
}

impl AofWriter {
    /// Starts writing at the end of `file` (the INCR just opened or reopened), starting its
    /// fsync worker. What the file already holds is fdatasync'ed first, so a previous run's
    /// unsynced tail cannot be lost after this run acknowledges anything.
    ///
    /// # Errors
    /// The file's length or that first sync failed, or the worker could not start.
    pub fn open(
        file: Arc<dyn AofFile>,
        cfg: &WriterConfig,
        log: Arc<dyn AofLogger>,
    ) -> std::io::Result<AofWriter> {
        Self::open_at(file, cfg, log, 0)
    }

    /// [`Self::open`] with stream offsets starting at `stream_start` instead of 0: a writer that
    /// replaces an earlier one (the AOF turned on again) continues its offsets, so a gate a
    /// connection took from the earlier writer can never wait for an offset the new one has
    /// already passed or will only reach by accident.
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn open_at(
        file: Arc<dyn AofFile>,
        cfg: &WriterConfig,
        log: Arc<dyn AofLogger>,
        stream_start: u64,
    ) -> std::io::Result<AofWriter> {
        let file_base = file.len()?;
        file.fdatasync()?;
        let worker = FsyncWorker::spawn(Arc::clone(&file), cfg.policy, cfg.everysec_interval)?;
        worker.shared().set_written(stream_start);
        worker.shared().set_durable(stream_start);
        Ok(AofWriter {
            file,
            worker,
            log,
            encoder: RecordEncoder::new(cfg.timestamps),
            buf: Vec::with_capacity(64 * 1024),
            written: stream_start,
            file_base,
            stream_base: stream_start,
            retained: Vec::new(),
            retained_from: stream_start,
            samples: VecDeque::new(),
            write_errno: None,
            last_error_log: None,
            fsync_failure: None,
            max_age: cfg.max_unsynced_age,
            syncs_seen: 0,
            slow_since: None,
        })
    }

    /// Appends one propagated command (unit of one) executed in `db` at unix time `now_secs`.
    /// Returns [`Self::appended_end`].
    pub fn append_command<A: AsRef<[u8]>>(&mut self, now_secs: i64, db: usize, args: &[A]) -> u64 {
        self.encoder
            .encode_command(&mut self.buf, now_secs, db, args);
        self.appended_end()
    }

    /// Appends the commands of one execution unit, wrapped in `MULTI`/`EXEC` when there are
    /// several and `wrap` is set (see [`RecordEncoder::encode_unit`]). Returns
    /// [`Self::appended_end`].
    pub fn append_unit<A: AsRef<[u8]>>(
        &mut self,
        now_secs: i64,
        ops: &[(usize, Vec<A>)],
        wrap: bool,
    ) -> u64 {
        self.encoder.encode_unit(&mut self.buf, now_secs, ops, wrap);
        self.appended_end()
    }

    /// Stream offset up to which everything is fdatasync'ed (D), without gathering the rest of
    /// [`Self::stats`].
    pub fn durable(&self) -> u64 {
        self.worker.shared().durable()
    }

    /// Stream offset just past everything appended so far.
    pub fn appended_end(&self) -> u64 {
        self.written + self.buf.len() as u64
    }

    /// The gate for a batch that started when [`Self::appended_end`] was `appended_before`.
    pub fn gate(&self, appended_before: u64) -> Gate {
        let end = self.appended_end();
        Gate {
            own: if end > appended_before { end } else { 0 },
            seen: end,
        }
    }

    /// Whether replies gated by `gate` may be sent now (see the module docs).
    pub fn is_released(&self, gate: &Gate) -> bool {
        let shared = self.worker.shared();
        let policy = shared.policy();
        if policy != FsyncPolicy::Always && self.in_error() {
            return self.written >= gate.own;
        }
        match policy {
            FsyncPolicy::Always => shared.durable() >= gate.seen,
            FsyncPolicy::EverySec => self.written >= gate.seen && !self.stalled(),
            FsyncPolicy::No => self.written >= gate.seen,
        }
    }

    /// A receiver that changes after every fdatasync the worker completes or fails.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.worker.subscribe()
    }

    /// The MISCONF error text for writes and PING while a write or fsync error is unresolved
    /// (without the leading `-`).
    pub fn misconf(&self) -> Option<String> {
        let errno = self
            .write_errno
            .or(self.fsync_failure.map(|f| f.errno))
            .or(self.worker.shared().error())?;
        Some(format!(
            "MISCONF Errors writing to the AOF file: {}",
            strerror(errno)
        ))
    }

    /// Whether a write or fsync error is unresolved (INFO `aof_last_write_status:err`).
    pub fn in_error(&self) -> bool {
        self.write_errno.is_some()
            || self.fsync_failure.is_some()
            || self.worker.shared().error().is_some()
    }

    /// Whether the oldest unsynced byte is older than the `everysec` bound.
    fn stalled(&self) -> bool {
        self.unsynced_age().is_some_and(|age| age > self.max_age)
    }

    /// Age of the oldest written-but-not-durable byte.
    pub fn unsynced_age(&self) -> Option<Duration> {
        let d = self.worker.shared().durable();
        self.samples
            .iter()
            .find(|(end, _)| *end > d)
            .map(|(_, t)| t.elapsed())
    }

    /// Length of the file being appended to (Redis `aof_last_incr_size`), without gathering
    /// the rest of [`Self::stats`].
    pub fn file_size(&self) -> u64 {
        self.file_offset(self.written)
    }

    /// Bytes appended and not yet written (Redis `sdslen(aof_buf)`).
    pub fn buffered(&self) -> u64 {
        self.buf.len() as u64
    }

    /// The current policy.
    pub fn policy(&self) -> FsyncPolicy {
        self.worker.shared().policy()
    }

    /// `CONFIG SET appendfsync`: takes effect at once (a switch to `always` makes the next
    /// replies wait for a sync of the pending tail, which the worker starts now).
    pub fn set_policy(&mut self, policy: FsyncPolicy) {
        let old = self.policy();
        self.worker.shared().set_policy(policy);
        if policy == FsyncPolicy::No || old == FsyncPolicy::No {
            // Under `no` nothing is kept for repairs; coming back, keeping starts from here.
            self.retained.clear();
            self.retained_from = self.written;
        }
        self.worker.wake();
    }

    /// `CONFIG SET aof-timestamp-enabled`.
    pub fn set_timestamps(&mut self, on: bool) {
        self.encoder.set_timestamps(on);
    }

    /// Forgets the selected database (the next record starts with `SELECT`).
    pub fn reset_db(&mut self) {
        self.encoder.reset_db();
    }

    /// Writes the buffer (one `write(2)`, continued after short writes), once per event-loop
    /// iteration before replies are sent. Also picks up the fsync worker's results first.
    ///
    /// # Errors
    /// [`AofFatal`] under `always` when the write or an fsync failed.
    pub fn flush(&mut self) -> Result<(), AofFatal> {
        self.poll()?;
        if self.buf.is_empty() {
            return Ok(());
        }
        let expected = self.buf.len();
        let (mut n, err) = write_all(&*self.file, &self.buf);
        if n == expected {
            self.commit(n);
            if self.write_errno.take().is_some() {
                self.event(
                    LogLevel::Warning,
                    "aof_write_recovered",
                    "AOF write error looks solved, Redis can write again.",
                );
            }
            if self.buf.capacity() > BUFFER_KEEP {
                self.buf = Vec::with_capacity(64 * 1024);
            }
            return Ok(());
        }
        let errno;
        if n > 0 {
            self.log_write_error(&format!(
                "Short write while writing to the AOF file: (nwritten={n}, expected={expected})"
            ));
            match self.file.ftruncate(self.file_offset(self.written)) {
                Ok(()) => n = 0,
                Err(e) => self.log_write_error(&format!(
                    "Could not remove short write from the append-only file.  Redis may refuse \
                     to load the AOF the next time it starts.  ftruncate: {}",
                    io_strerror(&e)
                )),
            }
            // Redis reports a short write as a full disk, whatever the real cause.
            errno = libc::ENOSPC;
        } else {
            errno = err
                .as_ref()
                .and_then(std::io::Error::raw_os_error)
                .unwrap_or(libc::EIO);
            self.log_write_error(&format!(
                "Error writing to the AOF file: {}",
                strerror(errno)
            ));
        }
        if self.policy() == FsyncPolicy::Always {
            return Err(self.fatal(
                "Can't recover from AOF write error when the AOF fsync policy is 'always'. \
                 Exiting...",
            ));
        }
        if n > 0 {
            // The partial record could not be cut: it is in the file now, account for it.
            self.commit(n);
        }
        self.write_errno = Some(errno);
        Ok(())
    }

    /// The once-a-second duty (Redis's cron): picks up fsync results and retries a failed
    /// write.
    ///
    /// # Errors
    /// As [`Self::flush`].
    pub fn tick(&mut self) -> Result<(), AofFatal> {
        self.watch_slow_fsync();
        self.flush()
    }

    /// Logs an fdatasync that takes longer than [`SLOW_FSYNC`]: once while it is still running
    /// (Redis's warning), and once it is done, with how long it took.
    fn watch_slow_fsync(&mut self) {
        let shared = Arc::clone(self.worker.shared());
        let seen = shared.syncs().saturating_add(shared.failures());
        if seen != self.syncs_seen {
            self.syncs_seen = seen;
            self.slow_since = None;
            let took = shared.last_latency();
            if took >= SLOW_FSYNC {
                let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
                self.event_with(
                    LogLevel::Warning,
                    "slow_fsync",
                    Some(ms),
                    &format!("An fdatasync of the AOF took {ms} ms (disk is busy?)."),
                );
            }
        }
        if !shared.in_flight() {
            self.slow_since = None;
            return;
        }
        match self.slow_since {
            None => self.slow_since = Some((Instant::now(), false)),
            Some((since, false)) if since.elapsed() >= SLOW_FSYNC => {
                self.slow_since = Some((since, true));
                self.event(
                    LogLevel::Warning,
                    "slow_fsync",
                    "Asynchronous AOF fsync is taking too long (disk is busy?). Replies that \
                     wait for it are delayed until it completes.",
                );
            }
            Some(_) => {}
        }
    }

    /// Logs `msg` as event `name`, with the current file and the offset written so far.
    fn event(&self, level: LogLevel, name: &'static str, msg: &str) {
        self.event_with(level, name, None, msg);
    }

    /// [`Self::event`] with a duration.
    fn event_with(&self, level: LogLevel, name: &'static str, ms: Option<u64>, msg: &str) {
        let file = self.file.name();
        let event = AofEvent {
            name,
            file: file.as_deref(),
            offset: Some(self.file_offset(self.written)),
            duration_ms: ms,
        };
        self.log.event(level, &event, msg);
    }

    /// Applies what the fsync worker published: drops what is durable from the repair copy,
    /// handles a failed fdatasync (fatal under `always`, else cut and re-stage the untrusted
    /// bytes), and notices recovery. Call it when [`Self::subscribe`] fires.
    ///
    /// # Errors
    /// [`AofFatal`] when an fdatasync failed under `always`.
    pub fn poll(&mut self) -> Result<(), AofFatal> {
        let shared = Arc::clone(self.worker.shared());
        self.prune(shared.durable());
        if let Some(errno) = shared.error() {
            self.handle_fsync_error(errno)?;
        }
        if let Some(f) = self.fsync_failure {
            if f.repairable && shared.error().is_none() && shared.durable() >= f.target {
                self.fsync_failure = None;
                self.event(
                    LogLevel::Warning,
                    "aof_write_recovered",
                    "AOF fsync error looks solved, the rewritten tail is durable: Redis can \
                     write again.",
                );
            }
        }
        Ok(())
    }

    /// Asks the worker to sync everything written so far whatever the policy, without waiting
    /// (e.g. before handing the file over at a rewrite); [`Self::subscribe`] fires when done.
    pub fn request_sync(&self) {
        self.worker.shared().request_sync();
        self.worker.wake();
    }

    /// Flushes, then fdatasyncs on the calling thread (shutdown, `appendonly no`), whatever the
    /// policy. Logs Redis's `Calling fsync() on the AOF file.`.
    ///
    /// # Errors
    /// The buffer could not be written, or the sync failed.
    pub fn sync_now(&mut self) -> Result<(), String> {
        self.flush().map_err(|e| e.message)?;
        if let Some(errno) = self.write_errno {
            return Err(format!(
                "Error writing to the AOF file: {}",
                strerror(errno)
            ));
        }
        self.log
            .log(LogLevel::Notice, "Calling fsync() on the AOF file.");
        self.sync_written()
    }

    /// fdatasyncs what is written on the calling thread and publishes it as durable.
    fn sync_written(&mut self) -> Result<(), String> {
        let target = self.written;
        match self.file.fdatasync() {
            Ok(()) => {
                let shared = self.worker.shared();
                if shared.error().is_none() && self.fsync_failure.is_none() {
                    shared.set_durable(target);
                    shared.signal();
                }
                Ok(())
            }
            Err(e) => {
                let msg = format!("Fail to fsync the AOF file: {}", io_strerror(&e));
                self.event(LogLevel::Warning, "aof_write_error", &msg);
                Err(msg)
            }
        }
    }

    /// Continues in `file` (the next INCR, at a rewrite): everything appended so far is
    /// written and fdatasync'ed to the current file first, on the calling thread, so the fsync
    /// worker — which from now on syncs only `file` — never leaves old bytes behind. Stream
    /// offsets continue, so gates taken before the switch stay valid; the next record starts
    /// with `SELECT` (a new file must not depend on the previous one's state).
    ///
    /// # Errors
    /// The buffer could not be written or synced, or `file`'s length could not be read; the
    /// writer then still appends to the current file.
    pub fn switch_file(&mut self, file: Arc<dyn AofFile>) -> Result<(), String> {
        if let Some(reason) = self.misconf() {
            // The repair of a failed write or fsync works on the current file only.
            return Err(reason);
        }
        let len = file.len().map_err(|e| io_strerror(&e))?;
        self.flush().map_err(|e| e.message)?;
        if let Some(reason) = self.misconf() {
            return Err(reason);
        }
        self.sync_written()?;
        self.worker.set_file(Arc::clone(&file));
        self.file = file;
        self.file_base = len;
        self.stream_base = self.written;
        self.retained.clear();
        self.retained_from = self.written;
        self.samples.clear();
        self.encoder.reset_db();
        Ok(())
    }

    /// The file offset of stream offset `stream` (at or after the current file's start).
    fn file_offset(&self, stream: u64) -> u64 {
        self.file_base + stream.saturating_sub(self.stream_base)
    }

    /// Shutdown: [`Self::sync_now`], then stops the fsync worker.
    ///
    /// # Errors
    /// As [`Self::sync_now`]; the worker is stopped anyway.
    pub fn shutdown(&mut self) -> Result<(), String> {
        let r = self.sync_now();
        self.worker.stop();
        r
    }

    /// A snapshot for INFO and metrics.
    pub fn stats(&self) -> WriterStats {
        let shared = self.worker.shared();
        let durable = shared.durable();
        WriterStats {
            policy: shared.policy(),
            buffer_len: self.buffered(),
            file_size: self.file_size(),
            written: self.written,
            durable,
            unsynced_bytes: self.written.saturating_sub(durable),
            unsynced_age: self.unsynced_age(),
            fsync_in_flight: shared.in_flight(),
            fsync_latency_last: shared.last_latency(),
            fsync_latency_max: shared.max_latency(),
            fsyncs: shared.syncs(),
            fsync_failures: shared.failures(),
            write_ok: self.write_errno.is_none(),
            fsync_ok: self.fsync_failure.is_none() && shared.error().is_none(),
            last_errno: self
                .write_errno
                .or(self.fsync_failure.map(|f| f.errno))
                .or(shared.error()),
        }
    }

    /// Records that the first `n` buffered bytes are in the file.
    fn commit(&mut self, n: usize) {
        let had_unsynced = self.written > self.worker.shared().durable();
        if self.policy() == FsyncPolicy::No {
            self.retained.clear();
            self.retained_from = self.written + n as u64;
        } else {
            self.retained.extend_from_slice(&self.buf[..n]);
        }
        if n == self.buf.len() {
            self.buf.clear();
        } else {
            self.buf.drain(..n);
        }
        self.written += n as u64;
        let now = Instant::now();
        match self.samples.back_mut() {
            Some(last) if now.duration_since(last.1) < SAMPLE_GRANULARITY => last.0 = self.written,
            _ => self.samples.push_back((self.written, now)),
        }
        let shared = self.worker.shared();
        shared.set_written(self.written);
        // `always` syncs at once; `everysec` starts its interval clock when data first waits.
        if self.policy() == FsyncPolicy::Always || !had_unsynced {
            self.worker.wake();
        }
    }

    fn prune(&mut self, durable: u64) {
        if durable > self.retained_from {
            let k = usize::try_from(durable - self.retained_from)
                .unwrap_or(usize::MAX)
                .min(self.retained.len());
            self.retained.drain(..k);
            self.retained_from = durable;
        }
        while self.samples.front().is_some_and(|(end, _)| *end <= durable) {
            self.samples.pop_front();
        }
    }

    fn handle_fsync_error(&mut self, errno: i32) -> Result<(), AofFatal> {
        if self.policy() == FsyncPolicy::Always {
            return Err(self.fatal(&format!(
                "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. \
                 Exiting...",
                strerror(errno)
            )));
        }
        let first = self.fsync_failure.is_none();
        if first {
            self.event(
                LogLevel::Warning,
                "aof_write_error",
                &format!("Fail to fsync the AOF file: {}", strerror(errno)),
            );
        }
        let shared = Arc::clone(self.worker.shared());
        let durable = shared.durable();
        let target = self
            .fsync_failure
            .map_or(self.written, |f| f.target.max(self.written));
        if self.retained_from > durable {
            if first || self.fsync_failure.is_some_and(|f| f.repairable) {
                self.log.log(
                    LogLevel::Warning,
                    "The AOF bytes written since the last successful fsync are no longer in \
                     memory (appendfsync was 'no'), so they cannot be written again: writes \
                     stay refused until the AOF is rewritten or aofd restarts.",
                );
            }
            // The worker stays blocked by the unhandled error: nothing is synced and trusted.
            self.fsync_failure = Some(FsyncFailure {
                errno,
                target,
                repairable: false,
            });
            return Ok(());
        }
        self.fsync_failure = Some(FsyncFailure {
            errno,
            target,
            repairable: true,
        });
        if let Err(e) = self.file.ftruncate(self.file_offset(durable)) {
            // Retried at the next poll; until then nothing is synced.
            self.log_write_error(&format!(
                "Could not cut the unsynced AOF tail after the failed fsync: ftruncate: {}",
                io_strerror(&e)
            ));
            return Ok(());
        }
        let keep = usize::try_from(durable - self.retained_from).unwrap_or(usize::MAX);
        let mut restaged = self.retained.split_off(keep.min(self.retained.len()));
        let again = restaged.len();
        restaged.extend_from_slice(&self.buf);
        self.buf = restaged;
        self.written = durable;
        self.samples.clear();
        shared.set_written(durable);
        shared.clear_error();
        self.log.log(
            LogLevel::Warning,
            &format!(
                "Writing the last {again} bytes of the AOF file again, because the fsync that \
                 should have made them durable failed."
            ),
        );
        Ok(())
    }

    fn log_write_error(&mut self, msg: &str) {
        let now = Instant::now();
        if self
            .last_error_log
            .is_none_or(|t| now.duration_since(t) >= WRITE_ERROR_LOG_RATE)
        {
            self.last_error_log = Some(now);
            self.event(LogLevel::Warning, "aof_write_error", msg);
        }
    }

    fn fatal(&self, msg: &str) -> AofFatal {
        self.event(LogLevel::Warning, "aof_write_error", msg);
        AofFatal {
            message: msg.to_string(),
        }
    }
}

/// Redis's `aofWrite`: writes until everything is written or an error stops it; returns the
/// bytes written and the error, if any.
fn write_all(file: &dyn AofFile, buf: &[u8]) -> (usize, Option<std::io::Error>) {
    let mut done = 0;
    while done < buf.len() {
        match file.write(&buf[done..]) {
            Ok(0) => return (done, Some(std::io::Error::from_raw_os_error(libc::ENOSPC))),
            Ok(k) => done += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return (done, Some(e)),
        }
    }
    (done, None)
}

#[cfg(test)]
mod tests;
