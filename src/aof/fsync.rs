//! The fsync policy and the fsync worker thread (Redis: `appendfsync`, the bio `BIO_AOF_FSYNC`
//! job and the fsync half of `flushAppendOnlyFile`).
//!
//! The worker is the only place aofd calls fdatasync on the AOF during normal operation, so the
//! data thread never waits for a disk flush. The data thread publishes "written up to W"; the
//! worker syncs and publishes "durable up to D", then signals a `watch` channel the data thread
//! (and connections waiting for their replies) can await from tokio. Writes that arrive while a
//! sync is in flight are covered by the next one: group commit.
//!
//! When it syncs: `always` as soon as W > D; `everysec` when W > D and at least one interval
//! (1 s) has passed since the previous sync started — whether or not anything new is being
//! written, so data written just before clients went quiet is synced within the interval;
//! `no` only when asked ([`Shared::request_sync`]: shutdown, stopping the AOF).
//!
//! A failed fdatasync is never retried and then trusted: the worker publishes the error and
//! syncs nothing more until the data thread has cut the untrusted bytes and written them again
//! (see `writer`), because after a failed writeback Linux may report later syncs as successful
//! without the earlier data ever reaching the disk.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::file::AofFile;

/// `appendfsync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// fdatasync after every write, before any reply that depends on it is released.
    Always,
    /// fdatasync in the background about once per second.
    #[default]
    EverySec,
    /// Never fdatasync (the kernel decides), except at shutdown.
    No,
}

impl FsyncPolicy {
    /// Parses a config value (`always`, `everysec`, `no`; case-insensitive as Redis enums).
    pub fn parse(s: &str) -> Option<FsyncPolicy> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Some(FsyncPolicy::Always),
            "everysec" => Some(FsyncPolicy::EverySec),
            "no" => Some(FsyncPolicy::No),
            _ => None,
        }
    }

    /// The config value.
    pub fn as_str(self) -> &'static str {
        match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySec => "everysec",
            FsyncPolicy::No => "no",
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            FsyncPolicy::Always => 0,
            FsyncPolicy::EverySec => 1,
            FsyncPolicy::No => 2,
        }
    }

    fn from_u8(v: u8) -> FsyncPolicy {
        match v {
            0 => FsyncPolicy::Always,
            2 => FsyncPolicy::No,
            _ => FsyncPolicy::EverySec,
        }
    }
}

/// State shared between the data thread and the worker. Offsets are the writer's stream
/// offsets (bytes appended since the writer was opened).
#[derive(Debug)]
pub struct Shared {
    /// W: every byte below it has been written to the file (stored by the data thread).
    written: AtomicU64,
    /// D: every byte below it is durable (stored by the worker).
    durable: AtomicU64,
    policy: AtomicU8,
    /// A sync up to at least this offset was requested regardless of the policy.
    requested: AtomicU64,
    /// errno of a failed fdatasync not yet handled by the data thread; 0 when none. While set,
    /// the worker does not sync.
    error: AtomicI32,
    in_flight: AtomicBool,
    shutdown: AtomicBool,
    last_latency_us: AtomicU64,
    max_latency_us: AtomicU64,
    syncs: AtomicU64,
    failures: AtomicU64,
    interval: Duration,
    progress: watch::Sender<u64>,
}

impl Shared {
    /// W as last published.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// D as last published.
    pub fn durable(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// The current policy.
    pub fn policy(&self) -> FsyncPolicy {
        FsyncPolicy::from_u8(self.policy.load(Ordering::Acquire))
    }

    /// errno of an unhandled fsync failure.
    pub fn error(&self) -> Option<i32> {
        match self.error.load(Ordering::Acquire) {
            0 => None,
            e => Some(e),
        }
    }

    /// Whether an fdatasync is running right now (INFO `aof_pending_bio_fsync`).
    pub fn in_flight(&self) -> bool {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Latency of the last fdatasync.
    pub fn last_latency(&self) -> Duration {
        Duration::from_micros(self.last_latency_us.load(Ordering::Relaxed))
    }

    /// Longest fdatasync so far.
    pub fn max_latency(&self) -> Duration {
        Duration::from_micros(self.max_latency_us.load(Ordering::Relaxed))
    }

    /// fdatasync calls that succeeded.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// fdatasync calls that failed.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    pub(crate) fn set_written(&self, w: u64) {
        self.written.store(w, Ordering::Release);
    }

    pub(crate) fn set_durable(&self, d: u64) {
        self.durable.fetch_max(d, Ordering::AcqRel);
    }

    pub(crate) fn set_policy(&self, p: FsyncPolicy) {
        self.policy.store(p.to_u8(), Ordering::Release);
    }

    pub(crate) fn clear_error(&self) {
        self.error.store(0, Ordering::Release);
    }

    /// Asks for a sync of everything written so far, whatever the policy.
    pub(crate) fn request_sync(&self) {
        self.requested.fetch_max(self.written(), Ordering::AcqRel);
    }

    fn record_latency(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.last_latency_us.store(us, Ordering::Relaxed);
        self.max_latency_us.fetch_max(us, Ordering::Relaxed);
        // After a disk flush, so the recorder's lookup is noise; a no-op without an admin API.
        metrics::histogram!("aofd_aof_fsync_duration_seconds").record(took.as_secs_f64());
    }

    /// Tells waiters that D or the error state may have changed.
    pub(crate) fn signal(&self) {
        self.progress
            .send_modify(|epoch| *epoch = epoch.wrapping_add(1));
    }
}

/// The fsync worker thread. Dropping it stops the thread (after any sync in flight).
#[derive(Debug)]
pub struct FsyncWorker {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
    file: Arc<Mutex<Arc<dyn AofFile>>>,
}

impl FsyncWorker {
    /// Starts the worker for `file`, with `written` = `durable` = 0.
    ///
    /// # Errors
    /// The thread could not be spawned.
    pub fn spawn(
        file: Arc<dyn AofFile>,
        policy: FsyncPolicy,
        interval: Duration,
    ) -> std::io::Result<FsyncWorker> {
        let (progress, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            written: AtomicU64::new(0),
            durable: AtomicU64::new(0),
            policy: AtomicU8::new(policy.to_u8()),
            requested: AtomicU64::new(0),
            error: AtomicI32::new(0),
            in_flight: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            last_latency_us: AtomicU64::new(0),
            max_latency_us: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            interval,
            progress,
        });
        let file = Arc::new(Mutex::new(file));
        let (s, f) = (Arc::clone(&shared), Arc::clone(&file));
        let handle = thread::Builder::new()
            .name("aof-fsync".to_string())
            .spawn(move || run(&s, &f))?;
        Ok(FsyncWorker {
            shared,
            handle: Some(handle),
            file,
        })
    }

    /// The shared state.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// A receiver that changes after every fdatasync (success or failure).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.progress.subscribe()
    }

    /// Wakes the worker to look at the shared state now.
    pub fn wake(&self) {
        if let Some(h) = &self.handle {
            h.thread().unpark();
        }
    }

    /// The file being synced (the writer switches it when a new INCR opens).
    pub fn set_file(&self, file: Arc<dyn AofFile>) {
        if let Ok(mut f) = self.file.lock() {
            *f = file;
        }
    }

    /// Stops the thread and waits for it.
    pub fn stop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

impl Drop for FsyncWorker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The worker's loop; see the module docs for when it syncs.
fn run(shared: &Shared, file: &Mutex<Arc<dyn AofFile>>) {
    let mut last_start: Option<Instant> = None;
    // How long to sleep when there is nothing to do; the data thread wakes the worker whenever
    // it matters sooner (a write under `always`, a policy change, a sync request).
    let idle = shared.interval.max(Duration::from_millis(1));
    loop {
        if shared.shutdown.load(Ordering::Acquire) {
            return;
        }
        let w = shared.written();
        let d = shared.durable();
        let pending = w > d && shared.error().is_none();
        let requested = shared.requested.load(Ordering::Acquire) > d;
        let since_last = last_start.map(|t| t.elapsed());
        let due = pending
            && (requested
                || match shared.policy() {
                    FsyncPolicy::Always => true,
                    FsyncPolicy::EverySec => since_last.is_none_or(|e| e >= shared.interval),
                    FsyncPolicy::No => false,
                });
        if !due {
            let wait = match (shared.policy(), since_last) {
                (FsyncPolicy::EverySec, Some(e)) if pending => shared.interval.saturating_sub(e),
                _ => idle,
            };
            thread::park_timeout(wait.max(Duration::from_micros(100)));
            continue;
        }
        let f = match file.lock() {
            Ok(f) => Arc::clone(&f),
            Err(_) => return,
        };
        let start = Instant::now();
        last_start = Some(start);
        shared.in_flight.store(true, Ordering::Release);
        let result = f.fdatasync();
        shared.record_latency(start.elapsed());
        match result {
            Ok(()) => {
                shared.syncs.fetch_add(1, Ordering::Relaxed);
                shared.set_durable(w);
            }
            Err(e) => {
                shared.failures.fetch_add(1, Ordering::Relaxed);
                shared
                    .error
                    .store(e.raw_os_error().unwrap_or(libc::EIO), Ordering::Release);
            }
        }
        shared.in_flight.store(false, Ordering::Release);
        shared.signal();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aof::file::SimFile;

    fn wait_until(mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cond() {
            assert!(Instant::now() < deadline, "condition not reached in time");
            thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn policy_names() {
        assert_eq!(FsyncPolicy::parse("EVERYSEC"), Some(FsyncPolicy::EverySec));
        assert_eq!(
            FsyncPolicy::parse("always").map(FsyncPolicy::as_str),
            Some("always")
        );
        assert_eq!(FsyncPolicy::parse("no"), Some(FsyncPolicy::No));
        assert_eq!(FsyncPolicy::parse("sometimes"), None);
    }

    #[test]
    fn always_syncs_what_was_written_and_groups_commits() {
        let file = Arc::new(SimFile::new());
        let w =
            FsyncWorker::spawn(file.clone(), FsyncPolicy::Always, Duration::from_secs(1)).unwrap();
        let mut rx = w.subscribe();
        file.hold_fsync(true);
        file.write(b"aaaa").unwrap();
        w.shared().set_written(4);
        w.wake();
        wait_until(|| w.shared().in_flight());
        // Writes during the sync in flight share the next one.
        file.write(b"bb").unwrap();
        w.shared().set_written(6);
        file.write(b"cc").unwrap();
        w.shared().set_written(8);
        w.wake();
        file.hold_fsync(false);
        wait_until(|| w.shared().durable() == 8);
        assert_eq!(file.fsyncs(), 2);
        assert!(rx.has_changed().unwrap());
        rx.borrow_and_update();
        assert_eq!(file.durable_len(), 8);
    }

    #[test]
    fn everysec_syncs_once_per_interval_even_when_idle() {
        let file = Arc::new(SimFile::new());
        let w = FsyncWorker::spawn(
            file.clone(),
            FsyncPolicy::EverySec,
            Duration::from_millis(50),
        )
        .unwrap();
        file.write(b"x").unwrap();
        w.shared().set_written(1);
        // Nobody wakes the worker: it syncs on its own within the interval.
        wait_until(|| w.shared().durable() == 1);
        let first = Instant::now();
        file.write(b"y").unwrap();
        w.shared().set_written(2);
        w.wake();
        wait_until(|| w.shared().durable() == 2);
        assert!(
            first.elapsed() >= Duration::from_millis(30),
            "at most once per interval"
        );
        assert_eq!(file.fsyncs(), 2);
    }

    #[test]
    fn no_syncs_only_on_request_and_errors_block_until_cleared() {
        let file = Arc::new(SimFile::new());
        let w =
            FsyncWorker::spawn(file.clone(), FsyncPolicy::No, Duration::from_millis(5)).unwrap();
        file.write(b"x").unwrap();
        w.shared().set_written(1);
        thread::sleep(Duration::from_millis(30));
        assert_eq!(file.fsyncs(), 0);
        file.fail_next_fsync(libc::EIO);
        w.shared().request_sync();
        w.wake();
        wait_until(|| w.shared().error() == Some(libc::EIO));
        assert_eq!(w.shared().durable(), 0);
        w.shared().set_policy(FsyncPolicy::Always);
        w.wake();
        thread::sleep(Duration::from_millis(30));
        assert_eq!(file.fsyncs(), 1, "no sync while the failure is unhandled");
        w.shared().clear_error();
        w.wake();
        wait_until(|| w.shared().durable() == 1);
        assert_eq!(w.shared().failures(), 1);
        assert_eq!(w.shared().syncs(), 1);
    }
}
